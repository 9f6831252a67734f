"""Events into deliveries: which subscriptions want an event, what each may
read, batching a reviewer session's notes, @mentions; and sending the Celery
tasks that deliver them.

Every delivery is a unique insert keyed by the event (or the digest) and its
target, so an event delivered twice makes no second message; the task is sent
again on a duplicate (harmless: each attempt is claimed by an insert), so an
event whose first handling died between the insert and the send still goes out.
"""
from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta

from pymongo.database import Database

from services.common import accounts
from services.common.events import event_id_for

from . import rules, store
from .celery_app import DELIVER_TASK, FLUSH_NOTES_TASK, app
from .config import NotifyConfig

log = logging.getLogger(__name__)


def enqueue(delivery_id: str, attempt: int = 1, last_attempt: int | None = None, countdown: float = 0) -> None:
    app.send_task(DELIVER_TASK, args=[delivery_id, attempt, last_attempt], countdown=countdown or None)


def enqueue_flush(batch_key: str, countdown: float) -> None:
    app.send_task(FLUSH_NOTES_TASK, args=[batch_key], countdown=countdown or None)


def deliver(db: Database, doc: dict) -> str:
    """Insert the delivery (once) and send its first attempt's task; returns its id."""
    if not store.create_delivery(db, doc):
        existing = store.delivery(db, doc["_id"]) or {}
        if existing.get("status") != "pending" or existing.get("attempts", 0) > 0:
            return doc["_id"]  # already under way or done
    enqueue(doc["_id"])
    return doc["_id"]


def delivery_doc(sub: dict, kind: str, events: list[dict], *key: str) -> dict:
    first = events[0]
    return {"_id": store.delivery_id(*key, sub["_id"]), "subscription_id": sub["_id"], "channel": sub["channel"],
            "target": sub["target"], "kind": kind, "event_type": first.get("type"),
            "project_id": first.get("project_id"), "events": events}


@dataclass
class Fanout:
    db: Database
    config: NotifyConfig
    member_ids: callable  # project_id -> set of user ids (ingest, service key)

    def team_address(self, sub: dict) -> bool:
        if sub["channel"] != "email":
            return True
        if sub["scope"] == "person":
            return True
        return accounts.find_user(self.db, email=sub["target"]) is not None

    def handle(self, event: dict) -> list[str]:
        """Deliveries (or batched notes) for one event; returns the delivery ids made now."""
        kind, project_id = event["type"], event["project_id"]
        if kind == "link_opened" and not store.first_open(self.db, event["link_id"], event.get("reviewer_email", ""),
                                                          event["event_id"]):
            return []  # only a reviewer's first opening is news
        made = []
        subs = [s for s in store.candidates_for(self.db, project_id) if rules.wants(s, kind)]
        members = self.member_ids(project_id) if any(s["scope"] == "person" for s in subs) else set()
        for sub in subs:
            if not rules.in_reach(sub, project_id, members):
                continue
            if not rules.may_read(event, sub["channel"], self.team_address(sub)):
                continue
            if kind == "note_added" and sub["channel"] in rules.BATCHED_CHANNELS:
                self.batch_note(sub, event)
                continue
            made.append(deliver(self.db, delivery_doc(sub, "event", [event], event["event_id"])))
        if kind in ("note_added", "note_replied"):
            made += self.mentions(event)
        return made

    def batch_note(self, sub: dict, event: dict) -> None:
        key = rules.batch_key(sub["_id"], event)
        store.add_note_item(self.db, event_id_for("notify-note", event["event_id"], sub["_id"]), key, event, sub["_id"])
        # Every note schedules a flush after the quiet window; only the flush
        # that finds the session quiet makes the digest (see flush_notes).
        enqueue_flush(key, self.config.note_quiet_seconds)

    def mentions(self, event: dict) -> list[str]:
        """An @mention reaches the person by e-mail whatever they subscribed to."""
        made = []
        for user in accounts.users_by_id(self.db, [m for m in event.get("mentions") or [] if isinstance(m, str)]).values():
            if user.disabled:
                continue
            sub = {"_id": f"mention:{user.id}", "channel": "email", "target": user.email}
            mention = {"type": "mention", "event_id": event["event_id"], "project_id": event["project_id"],
                       "note": event}
            made.append(deliver(self.db, delivery_doc(sub, "mention", [mention], event["event_id"])))
        return made


def flush_notes(db: Database, batch_key: str, quiet: float) -> str | None:
    """Make the digest of a session's notes once none came for `quiet` seconds; its id, or None."""
    items = store.open_note_items(db, batch_key)
    if not items:
        return None
    newest = items[-1]["created_at"]
    if store.now() - newest < timedelta(seconds=quiet * 0.9):
        return None  # a later note's own flush will make the digest
    sub = store.subscription(db, items[0]["subscription_id"])
    if sub is None:
        return None  # unsubscribed meanwhile
    doc = delivery_doc(sub, "digest", [i["event"] for i in items], "digest", items[-1]["_id"])
    deliver(db, doc)
    store.mark_in_digest(db, [i["_id"] for i in items], doc["_id"])
    return doc["_id"]


def send_test(db: Database, sub: dict, requested_by: str) -> dict:
    event = {"type": "notification_test", "event_id": uuid.uuid4().hex, "project_id": sub.get("project_id"),
             "occurred_at": store.now().isoformat(timespec="milliseconds").replace("+00:00", "Z"),
             "subscription_id": sub["_id"], "requested_by": requested_by}
    doc = delivery_doc(sub, "test", [event], event["event_id"])
    deliver(db, doc)
    return store.delivery(db, doc["_id"])


def retry_dead(db: Database, delivery: dict) -> int:
    """One more attempt of a dead-lettered delivery; the attempt's number."""
    attempt = store.attempts_made(db, delivery["_id"]) + 1
    enqueue(delivery["_id"], attempt, attempt)
    return attempt
