"""Notify's collections: subscriptions, deliveries and what decides their races.

Every race is an insert against a unique index: a subscription's identity
(`key`), a delivery (`_id` from the event and the target), each attempt of a
delivery, a Slack webhook's send slot, a batched note, a digest.
"""
from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import datetime, timezone

from pymongo.database import Database

from services.common.events import event_id_for
from services.common.mongo import ASC, DESC, Index, insert_unique

SUBSCRIPTIONS = "notify_subscriptions"
DELIVERIES = "notify_deliveries"
ATTEMPTS = "notify_attempts"
NOTE_ITEMS = "notify_note_items"
SLOTS = "notify_send_slots"
FIRST_OPENS = "notify_first_opens"

INDEXES = [
    Index(SUBSCRIPTIONS, (("key", ASC),), unique=True),
    Index(SUBSCRIPTIONS, (("project_id", ASC),)),
    Index(DELIVERIES, (("status", ASC), ("created_at", DESC))),
    Index(DELIVERIES, (("subscription_id", ASC), ("created_at", DESC))),
    Index(NOTE_ITEMS, (("batch_key", ASC), ("created_at", ASC))),
]


def now() -> datetime:
    return datetime.now(timezone.utc)


def target_hash(target: str) -> str:
    return hashlib.sha256(target.encode()).hexdigest()[:24]


def new_webhook_secret() -> str:
    """`whsec_` + base64 of 32 random bytes (Standard Webhooks: 24-64 bytes)."""
    import base64

    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


# ------------------------------------------------------------- subscriptions


def subscription_key(scope: str, project_id: str | None, user_id: str | None, channel: str, target: str) -> str:
    return "|".join((scope, project_id or "-", user_id or "-", channel, target_hash(target)))


def add_subscription(db: Database, doc: dict) -> tuple[dict, bool]:
    """(subscription, created): the same scope, owner, channel and target twice is one subscription."""
    doc = dict(doc, _id="sub_" + uuid.uuid4().hex[:20], created_at=now(),
               key=subscription_key(doc["scope"], doc.get("project_id"), doc.get("user_id"), doc["channel"],
                                    doc["target"]))
    if insert_unique(db[SUBSCRIPTIONS], doc):
        return doc, True
    return db[SUBSCRIPTIONS].find_one({"key": doc["key"]}), False


def subscription(db: Database, subscription_id: str) -> dict | None:
    return db[SUBSCRIPTIONS].find_one({"_id": subscription_id})


def subscriptions(db: Database, query: dict | None = None) -> list[dict]:
    return list(db[SUBSCRIPTIONS].find(query or {}).sort("created_at", ASC))


def candidates_for(db: Database, project_id: str) -> list[dict]:
    """Subscriptions an event of this project may concern (the rules decide which)."""
    return subscriptions(db, {"disabled": {"$ne": True}, "$or": [
        {"scope": "installation"}, {"project_id": project_id}, {"scope": "person"}]})


def remove_subscription(db: Database, subscription_id: str) -> None:
    db[SUBSCRIPTIONS].delete_one({"_id": subscription_id})


def disable_subscription(db: Database, subscription_id: str, reason: str) -> None:
    # Written only when an endpoint answers 410 Gone; a later write of the same flag is harmless.
    db[SUBSCRIPTIONS].update_one({"_id": subscription_id}, {"$set": {"disabled": True, "disabled_reason": reason}})


# ---------------------------------------------------------------- deliveries


def delivery_id(*parts: str) -> str:
    """The same event (or digest) to the same target is always the same delivery."""
    return "dlv_" + event_id_for("notify-delivery", *parts)[:24]


def create_delivery(db: Database, doc: dict) -> bool:
    """False when this delivery already exists (a redelivered event)."""
    return insert_unique(db[DELIVERIES], dict(doc, status="pending", attempts=0, created_at=now(),
                                              updated_at=now()))


def delivery(db: Database, delivery_id_: str) -> dict | None:
    return db[DELIVERIES].find_one({"_id": delivery_id_})


def deliveries(db: Database, query: dict, limit: int = 200) -> list[dict]:
    return list(db[DELIVERIES].find(query).sort("created_at", DESC).limit(limit))


def claim_attempt(db: Database, delivery_id_: str, attempt: int) -> bool:
    """Exactly one worker makes attempt n of a delivery, however often its task is sent."""
    return insert_unique(db[ATTEMPTS], {"_id": f"{delivery_id_}:{attempt}", "delivery_id": delivery_id_,
                                        "attempt": attempt, "at": now()})


def attempts_made(db: Database, delivery_id_: str) -> int:
    return db[ATTEMPTS].count_documents({"delivery_id": delivery_id_})


def record_outcome(db: Database, delivery_id_: str, attempt: int, status: str, error: str = "",
                   next_at: datetime | None = None) -> None:
    # Only the holder of attempt n's claim writes here, one attempt at a time.
    fields = {"status": status, "attempts": attempt, "updated_at": now(), "last_error": error, "next_at": next_at}
    if status == "delivered":
        fields["delivered_at"] = now()
    if status == "dead":
        fields["dead_at"] = now()
    db[DELIVERIES].update_one({"_id": delivery_id_}, {"$set": fields})


# ------------------------------------------------------- batches, slots, opens


def add_note_item(db: Database, item_id: str, batch_key: str, event: dict, subscription_id: str) -> bool:
    return insert_unique(db[NOTE_ITEMS], {"_id": item_id, "batch_key": batch_key, "event": event,
                                          "subscription_id": subscription_id, "created_at": now(), "digest_id": None})


def open_note_items(db: Database, batch_key: str) -> list[dict]:
    return list(db[NOTE_ITEMS].find({"batch_key": batch_key, "digest_id": None}).sort("created_at", ASC))


def mark_in_digest(db: Database, item_ids: list[str], digest_id: str) -> None:
    # Only the digest's creator (who won its unique insert) writes this.
    db[NOTE_ITEMS].update_many({"_id": {"$in": item_ids}}, {"$set": {"digest_id": digest_id}})


def claim_slot(db: Database, target: str, slot: int) -> bool:
    return insert_unique(db[SLOTS], {"_id": f"{target_hash(target)}:{slot}", "at": now()})


def first_open(db: Database, link_id: str, reviewer_email: str, event_id: str) -> bool:
    """Whether this event is the reviewer's first opening of the link (a redelivery of it still is)."""
    key = f"{link_id}|{reviewer_email.lower()}"
    if insert_unique(db[FIRST_OPENS], {"_id": key, "event_id": event_id, "at": now()}):
        return True
    return (db[FIRST_OPENS].find_one({"_id": key}) or {}).get("event_id") == event_id
