"""The outbox: an event is written to MongoDB beside the change it describes,
and the relay publishes it later, so an event is never published before its
write is durable and never lost when the broker is down at that moment.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from pymongo.database import Database

from .events import Event
from .mongo import ASC, Index, insert_unique


def outbox_collection(service: str) -> str:
    return f"{service}_outbox"


def outbox_indexes(service: str) -> list[Index]:
    return [Index(outbox_collection(service), (("published", ASC), ("created_at", ASC)))]


def record_event(db: Database, event: Event) -> bool:
    """Store the event for publishing; idempotent on event_id (False if already there)."""
    return insert_unique(
        db[outbox_collection(event.source)],
        {
            "_id": event.event_id,
            "exchange": f"{event.source}.events",
            "routing_key": event.type,
            "body": event.to_wire(),
            "created_at": datetime.now(timezone.utc),
            "published": False,
        },
    )


def event_recorded(db: Database, service: str, event_id: str) -> bool:
    return db[outbox_collection(service)].count_documents({"_id": event_id}, limit=1) > 0


def _unpublished(skip_types) -> dict:
    query: dict = {"published": False}
    if skip_types:
        query["routing_key"] = {"$nin": list(skip_types)}
    return query


def pending_events(db: Database, service: str, limit: int = 100, skip_types=()) -> list[dict]:
    """Unpublished events due now, oldest first (a deferred one waits for its retry_at;
    events of the types in `skip_types` are held back by the relay)."""
    due = {"$or": [{"retry_at": {"$exists": False}}, {"retry_at": {"$lte": datetime.now(timezone.utc)}}]}
    return list(
        db[outbox_collection(service)].find({**_unpublished(skip_types), **due}).sort("created_at", ASC).limit(limit)
    )


def oldest_pending(db: Database, service: str, skip_types=()) -> dict | None:
    """The oldest unpublished event, deferred or not, leaving out the types in `skip_types`."""
    return db[outbox_collection(service)].find_one(_unpublished(skip_types), sort=[("created_at", ASC)])


def count_pending(db: Database, service: str, types) -> int:
    """How many unpublished events of these types wait."""
    types = list(types)
    if not types:
        return 0
    return db[outbox_collection(service)].count_documents({"published": False, "routing_key": {"$in": types}})


def defer(db: Database, service: str, event_id: str, delay: timedelta) -> None:
    """Try this event again after `delay` (the broker could not route it), letting later ones go first."""
    # Written only by the relay, like `published`.
    db[outbox_collection(service)].update_one(
        {"_id": event_id}, {"$set": {"retry_at": datetime.now(timezone.utc) + delay}}
    )


def mark_published(db: Database, service: str, event_id: str) -> None:
    # Only the relay writes this flag, and a second publish is harmless
    # (consumers are idempotent on event_id), so a plain update is safe here.
    db[outbox_collection(service)].update_one(
        {"_id": event_id}, {"$set": {"published": True, "published_at": datetime.now(timezone.utc)}}
    )
