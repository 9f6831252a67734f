"""Idempotent event consumers.

A consumer claims an event by inserting `<consumer>:<event_id>` against the
unique `_id` index, so a redelivered or duplicated event is handled once even
when several processes receive it at the same moment.

A claim that was started but never finished (its process died) is taken over
after a lease; the handler's own writes must therefore be idempotent too,
which inserts keyed by ids are. The takeover is itself decided by an insert,
keyed by the abandoned claim's start, so of several processes that find the
same stale claim exactly one takes it over.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from typing import Callable

from pymongo.database import Database

from .events import Event
from .mongo import insert_unique

log = logging.getLogger(__name__)

HANDLED = "handled_events"
TAKEOVERS = "handled_event_takeovers"
# Shorter than the redelivery window of services.common.reliable (about two
# minutes), so an event whose claim was abandoned is taken over before it is
# dead-lettered; longer than any handler that uses a claim takes.
DEFAULT_LEASE = timedelta(minutes=1)


class ClaimedElsewhere(Exception):
    """Another process is handling this event now; the message should be retried later."""


def handle_once(
    db: Database, consumer: str, event: Event, handler: Callable[[Event], None], lease: timedelta = DEFAULT_LEASE
) -> bool:
    """Run handler(event) unless this consumer already handled it; True if it ran."""
    claims = db[HANDLED]
    claim_id = f"{consumer}:{event.event_id}"
    now = datetime.now(timezone.utc)
    if not insert_unique(claims, {"_id": claim_id, "state": "started", "started_at": now}):
        existing = claims.find_one({"_id": claim_id}) or {}
        if existing.get("state") == "done":
            log.info("duplicate event skipped", extra={"consumer": consumer, "event_id": event.event_id})
            return False
        started_at = existing.get("started_at", now)
        if now - started_at < lease:
            raise ClaimedElsewhere(claim_id)
        if not insert_unique(db[TAKEOVERS], {"_id": f"{claim_id}:{started_at.isoformat()}", "taken_at": now}):
            raise ClaimedElsewhere(claim_id)  # another process took this abandoned claim over first
        log.warning("taking over an abandoned claim", extra={"consumer": consumer, "event_id": event.event_id})
        # Only the winner writes this; the claim's new start begins its own lease.
        claims.update_one({"_id": claim_id}, {"$set": {"started_at": now}})
    try:
        handler(event)
    except Exception:
        claims.delete_one({"_id": claim_id, "state": "started"})  # let a redelivery try again
        raise
    claims.update_one({"_id": claim_id}, {"$set": {"state": "done", "done_at": datetime.now(timezone.utc)}})
    return True
