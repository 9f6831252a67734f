"""The dashboard's own records: an append-only log of every event it consumed,
and one projection per production recomputed from that log.

Only this module touches the dashboard's collections. It never reads another
service's collections: everything it knows came through `record`.

Single writer per production, FerretDB-safe: a projection is never updated
field by field (FerretDB loses concurrent read-modify-writes). Each write is the
whole view folded from the production's log, and a writer checks afterwards
that the stored projection counted as many events as the log holds, folding
again if another writer's stale fold landed last. The log only grows, so the
last writer always leaves the projection of the full log.
"""
from __future__ import annotations

import json
import threading
from datetime import datetime, timezone

from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from services.common.mongo import ASC, Index, insert_unique

from .production import event_order, fold

EVENTS = "dashboard_events"
PRODUCTIONS = "dashboard_productions"
INDEXES = [
    Index(EVENTS, (("project_id", ASC), ("occurred_at", ASC))),
    Index(PRODUCTIONS, (("updated_at", ASC),)),
]
CONVERGE_ATTEMPTS = 20
_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


class BadEvent(ValueError):
    """An event without the envelope every event carries."""


def now() -> datetime:
    return datetime.now(timezone.utc)


def _lock(project_id: str) -> threading.Lock:
    # In one process, one fold per production at a time (saves work; correctness
    # across processes comes from the convergence check, not from this lock).
    with _locks_guard:
        return _locks.setdefault(project_id, threading.Lock())


def record(db: Database, body: dict) -> bool:
    """Append the event to the log; False when it was already there (a redelivery)."""
    for key in ("event_id", "type", "project_id", "occurred_at"):
        if not isinstance(body.get(key), str) or not body[key]:
            raise BadEvent(f"event without {key}: {str(body)[:200]}")
    return insert_unique(db[EVENTS], {
        "_id": body["event_id"], "project_id": body["project_id"], "type": body["type"],
        "occurred_at": body["occurred_at"], "received_at": now(), "body": json.dumps(body),
    })


def events_of(db: Database, project_id: str) -> list[dict]:
    """The production's logged events, in the order they happened."""
    found = [json.loads(d["body"]) for d in db[EVENTS].find({"project_id": project_id}, {"body": 1})]
    return sorted(found, key=event_order)


def logged_projects(db: Database) -> list[str]:
    return sorted(row["_id"] for row in db[EVENTS].aggregate([{"$group": {"_id": "$project_id"}}]))


def _write(db: Database, project_id: str, view: dict) -> None:
    doc = {"_id": project_id, "event_count": view["event_count"], "state": view["state"],
           "updated_at": now(), "view": json.dumps(view)}
    try:
        db[PRODUCTIONS].replace_one({"_id": project_id}, doc, upsert=True)
    except DuplicateKeyError:  # two first writes raced on the upsert: the other one's insert won
        db[PRODUCTIONS].replace_one({"_id": project_id}, doc)


def refresh(db: Database, project_id: str) -> dict:
    """Fold the production's log into its projection until the stored one counts the whole log."""
    with _lock(project_id):
        view = {}
        for _ in range(CONVERGE_ATTEMPTS):
            view = fold(events_of(db, project_id))
            _write(db, project_id, view)
            stored = db[PRODUCTIONS].find_one({"_id": project_id}, {"event_count": 1}) or {}
            if stored.get("event_count") == db[EVENTS].count_documents({"project_id": project_id}):
                return view
        return view


def consume(db: Database, body: dict) -> bool:
    """Log the event and refresh its production; False when it was a duplicate.

    A duplicate still refreshes: the first delivery may have died between the
    log and the projection."""
    fresh = record(db, body)
    refresh(db, body["project_id"])
    return fresh


def rebuild(db: Database) -> int:
    """Throw every projection away and fold each production again from the log; returns how many."""
    db[PRODUCTIONS].delete_many({})
    projects = logged_projects(db)
    for project_id in projects:
        refresh(db, project_id)
    return len(projects)


def views(db: Database, project_ids: list[str] | None = None) -> list[dict]:
    """Stored views, all or of these productions."""
    query = {} if project_ids is None else {"_id": {"$in": list(project_ids)}}
    return [json.loads(d["view"]) for d in db[PRODUCTIONS].find(query, {"view": 1})]


def view_of(db: Database, project_id: str) -> dict | None:
    doc = db[PRODUCTIONS].find_one({"_id": project_id}, {"view": 1})
    return json.loads(doc["view"]) if doc else None


def changed_since(db: Database, since: datetime) -> list[dict]:
    """Projections written at or after `since`: (_id, event_count, view)."""
    return list(db[PRODUCTIONS].find({"updated_at": {"$gte": since}}, {"event_count": 1, "view": 1}))
