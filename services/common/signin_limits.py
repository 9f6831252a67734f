"""How many sign-in attempts may go ahead: per (e-mail, address) pair with
exponential backoff, and per address across e-mails.

A stranger guessing from one address only slows down that address's tries at
the e-mail; the real person, from their own address, signs in as usual.

Every try first inserts its own attempt document ("pending"), then counts the
pending or failed attempts inserted before it. Of a concurrent burst, the
j-th insert sees at least j-1 others, so no more than the limit get to check a
password; no counter is read, changed and written back (FerretDB would lose
such updates). Refused and busy attempts stop counting once marked.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from pymongo.database import Database

from .mongo import ASC, DESC, Index

INDEXES = [
    Index("login_attempts", (("email", ASC), ("ip", ASC), ("at", DESC))),
    Index("login_attempts", (("ip", ASC), ("at", DESC))),
]
COUNTING = ("pending", "failed")


@dataclass(frozen=True)
class Limits:
    free_attempts: int  # per pair, before backoff starts
    per_address: int  # failures per address across e-mails, per window
    window_seconds: float  # failures older than this are forgotten
    backoff_base_seconds: float

    @classmethod
    def from_settings(cls, settings) -> "Limits":
        return cls(settings.login_attempts_per_window, settings.login_attempts_per_address,
                   settings.login_window_seconds, settings.login_backoff_seconds)


def pair_wait_seconds(failures_before: int, last_failure_age: float | None, limits: Limits) -> float:
    """Seconds a pair must still wait: none for the first free attempts, then
    base, 2*base, 4*base ... (capped at the window) after the last failure."""
    if failures_before < limits.free_attempts or last_failure_age is None:
        return 0.0
    backoff = min(limits.window_seconds, limits.backoff_base_seconds * 2 ** (failures_before - limits.free_attempts))
    return max(0.0, backoff - last_failure_age)


class Refused(Exception):
    def __init__(self, wait_seconds: float):
        super().__init__("too many attempts")
        self.wait_seconds = wait_seconds


def begin_attempt(db: Database, email: str, ip: str, limits: Limits, now: datetime) -> str:
    """Record a try and decide it; its id, or Refused (the attempt is then marked refused)."""
    attempt_id = uuid.uuid4().hex
    db.login_attempts.insert_one({"_id": attempt_id, "email": email, "ip": ip, "at": now, "outcome": "pending"})
    window_start = now - timedelta(seconds=limits.window_seconds)
    last_ok = db.login_attempts.find_one({"email": email, "ip": ip, "outcome": "ok"}, sort=[("at", DESC)])
    since = max(window_start, last_ok["at"]) if last_ok else window_start
    pair = {"email": email, "ip": ip, "outcome": {"$in": list(COUNTING)}, "at": {"$gte": since},
            "_id": {"$ne": attempt_id}}
    failures = db.login_attempts.count_documents(pair)
    latest = db.login_attempts.find_one(pair, sort=[("at", DESC)]) if failures else None
    wait = pair_wait_seconds(failures, (now - latest["at"]).total_seconds() if latest else None, limits)
    if not wait:
        by_address = db.login_attempts.count_documents(
            {"ip": ip, "outcome": {"$in": list(COUNTING)}, "at": {"$gte": window_start}, "_id": {"$ne": attempt_id}})
        if by_address >= limits.per_address:
            wait = limits.window_seconds
    if wait:
        finish_attempt(db, attempt_id, "refused")
        raise Refused(wait)
    return attempt_id


def finish_attempt(db: Database, attempt_id: str, outcome: str) -> None:
    """ok, failed, refused or busy; only this try writes its own document."""
    db.login_attempts.update_one({"_id": attempt_id}, {"$set": {"outcome": outcome}})
