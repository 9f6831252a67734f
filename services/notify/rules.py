"""Notify's rules as pure functions: which subscriptions want an event, who
may read a note, when to try a delivery again, and escaping for each channel."""
from __future__ import annotations

import re

CHANNELS = ("slack", "email", "webhook")
SCOPES = ("installation", "project", "person")
# The events a subscription can ask for (their names on the wire).
EVENTS = ("version_ready", "version_failed", "link_created", "link_opened", "note_added", "note_replied",
          "note_status_changed", "approval_recorded", "gate_closed", "stage_advanced")
NOTE_EVENTS = ("note_added", "note_replied", "note_status_changed")
# Notes added go out as one digest per reviewer session on these channels;
# webhooks are read by programs and get every event as it happens.
BATCHED_CHANNELS = ("slack", "email")


def parse_events(value) -> list[str]:
    """A subscription's event filter: [] means every event. ValueError names the unknown ones."""
    if value is None or value == "" or value == []:
        return []
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError("'events' must be a list of event names.")
    unknown = sorted(set(value) - set(EVENTS))
    if unknown:
        raise ValueError(f"Unknown events: {', '.join(unknown)}. Known: {', '.join(EVENTS)}.")
    return sorted(set(value))


def wants(subscription: dict, event_type: str) -> bool:
    return not subscription.get("events") or event_type in subscription["events"]


def in_reach(subscription: dict, project_id: str, member_ids: set[str]) -> bool:
    """Whether an event of this project is the subscription's business."""
    scope = subscription["scope"]
    if scope == "installation":
        return True
    if scope == "project":
        return subscription.get("project_id") == project_id
    # A person hears about the projects they belong to (one of them, if they chose one).
    if subscription.get("project_id") and subscription["project_id"] != project_id:
        return False
    return subscription.get("user_id") in member_ids


def may_read(event: dict, channel: str, team_address: bool) -> bool:
    """Internal notes never reach a client: an e-mail address without an account here."""
    if event.get("type") not in NOTE_EVENTS or event.get("visibility") != "internal":
        return True
    return channel != "email" or team_address


def retryable(status: int | None) -> bool:
    """None is a timeout or a connection error."""
    return status is None or status == 429 or status == 408 or status >= 500


def next_delay(attempt: int, delays: tuple[float, ...], retry_after: float | None = None,
               cap: float = 3600.0) -> float | None:
    """Seconds before attempt `attempt + 1` after attempt `attempt` (1-based) failed; None: that was the last."""
    if attempt > len(delays):
        return None
    wait = delays[attempt - 1]
    if retry_after is not None:
        wait = max(wait, min(retry_after, cap))
    return wait


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After in seconds (the HTTP-date form is rare on webhooks and ignored)."""
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def slack_escape(text: str) -> str:
    """Slack mrkdwn: escape only &, < and > so no <!channel> or fake <url|label> links."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")


def header_text(text: str, limit: int = 150) -> str:
    """One line for a mail header: control characters (CR, LF) become spaces, so no header injection."""
    line = CONTROL.sub(" ", str(text)).strip()
    return line if len(line) <= limit else line[: limit - 1] + "…"


def clip(text: str, limit: int) -> str:
    text = str(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def batch_key(subscription_id: str, note: dict) -> str:
    """One reviewer session's notes on one version: the same person, the same link (or none)."""
    who = note.get("author_user_id") or (note.get("author_email") or "").lower()
    return f"{subscription_id}|{note.get('version_id')}|{note.get('link_id') or '-'}|{who}"
