"""One attempt at one delivery over its channel: the outcome, never an exception.

The target is checked against SSRF again here (a name may resolve elsewhere
now than when it was subscribed), redirects are not followed, and Slack
webhooks get at most one message a second (a send slot per second, claimed by
a unique insert, so every worker process keeps to it together).
"""
from __future__ import annotations

import math
import smtplib
import socket
import time
from dataclasses import dataclass

import requests

from . import channels, rules, store
from .config import NotifyConfig
from .messages import digest, for_event
from .targets import TargetRefused, check_url


@dataclass(frozen=True)
class Outcome:
    ok: bool
    retry: bool = False
    error: str = ""
    retry_after: float | None = None
    gone: bool = False  # the receiver answered 410: stop sending to it


def message_for(delivery: dict, project: str, public_url: str):
    events = delivery.get("events") or []
    if delivery.get("kind") == "digest":
        return digest(events, project, public_url)
    return for_event(events[0], project, public_url)


def http_outcome(response: requests.Response | None, error: str = "") -> Outcome:
    if response is None:
        return Outcome(False, retry=True, error=error)
    status = response.status_code
    if 200 <= status < 300:
        return Outcome(True)
    detail = f"HTTP {status}: {response.text[:200]}"
    return Outcome(False, retry=rules.retryable(status), error=detail, gone=status == 410,
                   retry_after=rules.parse_retry_after(response.headers.get("Retry-After")))


def post(url: str, body: bytes, headers: dict, timeout: float) -> Outcome:
    session = requests.Session()
    session.trust_env = False  # a proxy from the environment must not carry our requests elsewhere
    try:
        response = session.post(url, data=body, headers=headers, timeout=timeout, allow_redirects=False)
    except requests.RequestException as err:
        return http_outcome(None, f"{type(err).__name__}: {err}"[:300])
    return http_outcome(response)


def take_slack_slot(db, target: str, interval: float, horizon: int = 60) -> bool:
    """Wait for this webhook's next free send slot and send at its start, so two
    messages are never closer than `interval`; False when none is free soon."""
    first = math.ceil(time.time() / interval)
    for slot in range(first, first + horizon):
        if store.claim_slot(db, target, slot):
            time.sleep(max(0.0, slot * interval - time.time()))
            return True
    return False


def send(db, delivery: dict, subscription: dict | None, config: NotifyConfig, project: str,
         public_url: str) -> Outcome:
    channel, target = delivery["channel"], delivery["target"]
    if channel in ("slack", "webhook"):
        try:
            check_url(target, config.allow)
        except TargetRefused as err:
            return Outcome(False, error=f"{err.code}: {err.message}")
    if channel == "webhook":
        if not subscription or not subscription.get("secret"):
            return Outcome(False, error="the subscription was removed; nothing to sign with")
        body = channels.webhook_body(delivery)
        return post(target, body, channels.webhook_headers(delivery["_id"], subscription["secret"], body),
                    config.http_timeout_seconds)
    message = message_for(delivery, project, public_url)
    if channel == "slack":
        if not take_slack_slot(db, target, config.slack_interval_seconds):
            return Outcome(False, retry=True, error="this Slack webhook is busy (one message a second)")
        import json

        body = json.dumps(channels.slack_payload(message)).encode()
        return post(target, body, {"Content-Type": "application/json"}, config.http_timeout_seconds)
    if channel == "email":
        mail = channels.email_message(message, config.smtp_from, target, delivery["_id"])
        try:
            with smtplib.SMTP(config.smtp_host, config.smtp_port, timeout=config.http_timeout_seconds) as smtp:
                smtp.send_message(mail)
            return Outcome(True)
        except smtplib.SMTPRecipientsRefused as err:
            codes = [code for code, _ in err.recipients.values()]
            return Outcome(False, retry=all(400 <= c < 500 for c in codes), error=f"recipient refused: {err.recipients}")
        except smtplib.SMTPResponseException as err:
            return Outcome(False, retry=400 <= err.smtp_code < 500, error=f"SMTP {err.smtp_code}: {err.smtp_error!r}")
        except (OSError, socket.timeout, smtplib.SMTPException) as err:
            return Outcome(False, retry=True, error=f"{type(err).__name__}: {err}"[:300])
    return Outcome(False, error=f"unknown channel {channel!r}")
