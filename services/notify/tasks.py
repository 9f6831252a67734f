"""Celery tasks of the notify workers: deliver one attempt, flush a note digest.

    celery -A services.notify.tasks worker -Q notify --pool threads --concurrency 4

An attempt that fails on a 5xx, a 429 or a timeout is followed by the next
attempt after the configured delay (or the receiver's Retry-After, if longer);
after the last one the delivery is dead-lettered: status `dead`, shown by the
API and `framegate deliveries --failed`, and sent again by its retry.
"""
from __future__ import annotations

import functools
import logging
import os
from datetime import timedelta

from celery.signals import worker_ready
from prometheus_client import Counter, Gauge

from services.common.mongo import connect, ensure_indexes
from services.common.ops_server import serve_ops
from services.common.settings import load_settings

from . import dispatch, rules, sending, store
from .celery_app import DELIVER_TASK, FLUSH_NOTES_TASK, app
from .config import load_config
from .ingest_client import IngestClient

log = logging.getLogger(__name__)

DELIVERIES = Counter("framegate_notify_deliveries_total", "Delivery attempts by channel and outcome",
                     ["channel", "outcome"])  # outcome: delivered | retried | dead
DEAD_LETTERS = Counter("framegate_notify_dead_letters_total", "Deliveries dead-lettered after their last try",
                       ["channel"])
DEAD_NOW = Gauge("framegate_notify_dead_letters_waiting", "Dead-lettered deliveries waiting for a retry")


@functools.cache
def context():
    settings = load_settings()
    db = connect(settings)
    ensure_indexes(db, store.INDEXES)
    ingest = IngestClient(os.environ.get("FRAMEGATE_INGEST_URL") or settings.public_url, settings.secret_key)
    return settings, load_config(), db, ingest


@app.task(name=DELIVER_TASK, acks_late=True, reject_on_worker_lost=True)
def deliver(delivery_id: str, attempt: int = 1, last_attempt: int | None = None) -> str:
    settings, config, db, ingest = context()
    delivery = store.delivery(db, delivery_id)
    if delivery is None or delivery["status"] == "delivered":
        return "nothing to do"
    if not store.claim_attempt(db, delivery_id, attempt):
        return "attempt made elsewhere"
    last = last_attempt or config.attempts
    sub = store.subscription(db, delivery.get("subscription_id") or "")
    project = ingest.project_name(delivery["project_id"]) if delivery.get("project_id") else ""
    outcome = sending.send(db, delivery, sub, config, project, settings.public_url)
    channel = delivery["channel"]
    facts = {"delivery_id": delivery_id, "attempt": attempt, "channel": channel}
    if outcome.ok:
        store.record_outcome(db, delivery_id, attempt, "delivered")
        DELIVERIES.labels(channel, "delivered").inc()
        log.info("delivered", extra=facts)
        return "delivered"
    if outcome.gone and sub:
        store.disable_subscription(db, sub["_id"], "the endpoint answered 410 Gone")
    delay = rules.next_delay(attempt, config.retry_delays, outcome.retry_after, config.max_retry_after)
    if outcome.retry and attempt < last and delay is not None:
        store.record_outcome(db, delivery_id, attempt, "pending", outcome.error,
                             next_at=store.now() + timedelta(seconds=delay))
        dispatch.enqueue(delivery_id, attempt + 1, last, countdown=delay)
        DELIVERIES.labels(channel, "retried").inc()
        log.warning("delivery failed; trying again", extra={**facts, "error": outcome.error, "in_seconds": delay})
        return "retrying"
    store.record_outcome(db, delivery_id, attempt, "dead", outcome.error)
    DELIVERIES.labels(channel, "dead").inc()
    DEAD_LETTERS.labels(channel).inc()
    log.error("delivery dead-lettered", extra={**facts, "error": outcome.error})
    return "dead"


@app.task(name=FLUSH_NOTES_TASK, acks_late=True, reject_on_worker_lost=True)
def flush_notes(batch_key: str) -> str | None:
    _, config, db, _ = context()
    return dispatch.flush_notes(db, batch_key, config.note_quiet_seconds)


def check_health() -> dict:
    _, _, db, _ = context()
    db.command("ping")
    DEAD_NOW.set(db[store.DELIVERIES].count_documents({"status": "dead"}))
    return {"mongo": "ok"}


@worker_ready.connect
def start_ops_server(**_):
    port = os.environ.get("FRAMEGATE_OPS_PORT")
    if port:
        serve_ops(int(port), check_health, host=os.environ.get("FRAMEGATE_BIND_HOST", "127.0.0.1"))
