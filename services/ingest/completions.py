"""Completing uploads in the background, durably.

POST .../complete only records a completion request (a MongoDB document) and
answers 202; the slow part (joining the parts, hashing the stored master,
probing it) runs in a completion runner thread that every ingest process
starts. Nothing lives only in a process's memory: a request is picked up by
whichever ingest process claims it first, and a process that dies mid-way
stops renewing its claim's lease, so another process claims the next attempt.

Claims are inserts against a unique `_id` (`<upload_id>:<attempt>`), never
updates (FerretDB's updates are not atomic). Only a claim's owner updates it
(lease renewal, finished). Two attempts running at once (a lease that expired
under a live but stalled owner) are harmless: every record a completion makes
has an id derived from the upload, so both land on the same version.

Why a thread in ingest and not a Celery queue: it needs no new deployable or
queue, the durable record is the work queue, and the ingest pods that answer
the polls are the ones that can run it.
"""
from __future__ import annotations

import atexit
import logging
import os
import socket
import threading
import uuid
from datetime import datetime, timedelta
from typing import Callable

from pymongo.database import Database

from services.common.mongo import ASC, DESC, Index, insert_unique

from . import records

log = logging.getLogger(__name__)

INDEXES = [
    Index("completions", (("state", ASC), ("requested_at", ASC))),
    Index("completion_claims", (("upload_id", ASC), ("attempt", DESC))),
]

PENDING, DONE, FAILED = "pending", "done", "failed"
MAX_ATTEMPTS = 5  # unexpected errors (store or database) before a completion fails as retryable


# Records ----------------------------------------------------------------------

def get(db: Database, upload_id: str) -> dict | None:
    return db.completions.find_one({"_id": upload_id})


def request(db: Database, upload: dict, sha256: str, user_id: str) -> tuple[dict, bool]:
    """(completion, created): the first request for an upload wins; a retry finds it."""
    doc = {
        "_id": upload["_id"], "state": PENDING, "sha256": sha256, "filename": upload["filename"],
        "project_id": upload["project_id"], "created_by": upload["created_by"],
        "requested_by": user_id, "requested_at": records.now(),
        "failure": None, "version_id": None,
    }
    if insert_unique(db.completions, doc):
        return doc, True
    return get(db, upload["_id"]), False


def retry(db: Database, upload_id: str, sha256: str) -> dict:
    """A failed completion asked again: pending once more (the next claim is a new attempt)."""
    db.completions.update_one({"_id": upload_id, "state": FAILED},
                              {"$set": {"state": PENDING, "sha256": sha256, "failure": None,
                                        "requested_at": records.now()}})
    return get(db, upload_id)


def mark_done(db: Database, upload_id: str, version_id: str) -> None:
    db.completions.update_one({"_id": upload_id},
                              {"$set": {"state": DONE, "version_id": version_id, "failure": None,
                                        "finished_at": records.now()}})


def mark_failed(db: Database, upload_id: str, code: str, message: str, retryable: bool) -> None:
    # A version already made wins over a late failure of a stalled second attempt.
    db.completions.update_one({"_id": upload_id, "state": {"$ne": DONE}},
                              {"$set": {"state": FAILED, "finished_at": records.now(),
                                        "failure": {"error": code, "message": message, "retryable": retryable}}})


def pending(db: Database, limit: int = 20) -> list[dict]:
    return list(db.completions.find({"state": PENDING}).sort("requested_at", ASC).limit(limit))


# Claims -----------------------------------------------------------------------

def claim_is_live(claim: dict, now: datetime) -> bool:
    """A claim holds while its owner renews the lease and has not finished."""
    lease = claim["lease_until"]
    if lease.tzinfo is None:  # BSON dates come back naive (UTC)
        lease = lease.replace(tzinfo=now.tzinfo)
    return not claim.get("finished") and lease > now


def try_claim(db: Database, upload_id: str, owner: str, lease: timedelta) -> dict | None:
    """The next attempt's claim if nobody holds a live one; decided by a unique insert."""
    latest = db.completion_claims.find_one({"upload_id": upload_id}, sort=[("attempt", DESC)])
    now = records.now()
    if latest and claim_is_live(latest, now):
        return None
    attempt = (latest["attempt"] + 1) if latest else 1
    claim = {"_id": f"{upload_id}:{attempt}", "upload_id": upload_id, "attempt": attempt, "owner": owner,
             "claimed_at": now, "lease_until": now + lease, "finished": False}
    return claim if insert_unique(db.completion_claims, claim) else None


def renew(db: Database, claim: dict, lease: timedelta) -> None:
    db.completion_claims.update_one({"_id": claim["_id"]}, {"$set": {"lease_until": records.now() + lease}})


def release(db: Database, claim: dict) -> None:
    """Give a claim up now (this process is stopping): the next runner need not wait for the lease."""
    db.completion_claims.update_one({"_id": claim["_id"]}, {"$set": {"lease_until": records.now()}})


def finish(db: Database, claim: dict) -> None:
    db.completion_claims.update_one({"_id": claim["_id"]}, {"$set": {"finished": True}})


def claim_period(db: Database, chore: str, period_seconds: float) -> bool:
    """True for the one process that claims this period of a periodic chore (an insert)."""
    slot = int(records.now().timestamp() // max(period_seconds, 1.0))
    return insert_unique(db.completion_claims, {"_id": f"{chore}:{slot}", "chore": chore, "at": records.now()})


class LeaseKeeper:
    """Renews a claim's lease while the work runs (hashing 60 GB takes minutes)."""

    def __init__(self, db: Database, claim: dict, lease: timedelta):
        self.db, self.claim, self.lease = db, claim, lease
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="completion-lease", daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(5)

    def _run(self):
        while not self.stop.wait(self.lease.total_seconds() / 3):
            try:
                renew(self.db, self.claim, self.lease)
            except Exception:  # a missed renewal only risks a harmless second attempt
                log.exception("could not renew a completion lease")


# The runner -------------------------------------------------------------------

class CompletionRunner:
    """A thread that runs pending completions (and other periodic upload chores) until stopped."""

    def __init__(self, db: Database, work: Callable[[dict], None], *, lease_seconds: float, poll_seconds: float,
                 chores: Callable[[], None] | None = None):
        self.db, self.work, self.chores = db, work, chores
        self.lease = timedelta(seconds=lease_seconds)
        self.poll_seconds = poll_seconds
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.wake_event, self.stopping = threading.Event(), threading.Event()
        self.thread = threading.Thread(target=self._loop, name="completion-runner", daemon=True)
        self.current: dict | None = None  # the claim being worked on

    def start(self) -> "CompletionRunner":
        self.thread.start()
        # gunicorn's graceful stop ends the process with the runner mid-job (a daemon
        # thread): hand the job over at once instead of after the lease.
        atexit.register(self.stop_and_release)
        return self

    def stop_and_release(self) -> None:
        self.stop()
        claim = self.current
        if claim is not None:
            try:
                release(self.db, claim)
            except Exception:  # the lease still runs out
                log.exception("could not release a completion claim")

    def wake(self) -> None:
        self.wake_event.set()

    def stop(self) -> None:
        self.stopping.set()
        self.wake_event.set()

    def _loop(self) -> None:
        while not self.stopping.is_set():
            self.wake_event.clear()
            try:
                self.run_pending()
                if self.chores:
                    self.chores()
            except Exception:  # the store or database is down: try again on the next tick
                log.exception("completion runner tick failed")
            self.wake_event.wait(self.poll_seconds)

    def run_pending(self) -> int:
        """Claim and run what is pending; returns how many this runner ran."""
        ran = 0
        for completion in pending(self.db):
            if self.stopping.is_set():
                break
            claim = try_claim(self.db, completion["_id"], self.owner, self.lease)
            if claim is None:
                continue
            self.current = claim
            with LeaseKeeper(self.db, claim, self.lease):
                try:
                    self.work(completion)
                except Exception:
                    # The store or database stumbled: leave it pending for another
                    # attempt (the next tick, any process), a few times, then say so.
                    log.exception("completion failed unexpectedly", extra={"upload_id": completion["_id"],
                                                                           "attempt": claim["attempt"]})
                    if claim["attempt"] >= MAX_ATTEMPTS:
                        mark_failed(self.db, completion["_id"], "completion_error",
                                    f"Completing the upload failed on the server {MAX_ATTEMPTS} times; the uploaded "
                                    "file is kept. Complete it again to retry.", retryable=True)
            self.current = None
            finish(self.db, claim)
            ran += 1
        return ran
