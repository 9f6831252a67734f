"""The reconciler: finds versions whose transcode stopped half-way and acts.

    python -m services.ingest.reconciler [--port N]

A version that has sat in `uploaded`, `transcoding` or `playable` with nothing
happening for longer than its job could take (`job_bound_seconds`) lost its
job somewhere: an event that never became a job, a job dropped by a broker or
a worker that died without a trace. The reconciler sends it again as a new
version_uploaded event (a new event id per attempt, so the dispatcher's claim
lets it through; the job's task id is still the version id), a bounded number
of times, then fails the version with code `stuck` and a reason.

Two reconcilers may run at once: each attempt is an insert keyed
`<version_id>:<n>` and the failure a state keyed by its event id, so a race
has one winner. A job that is only waiting behind a long queue looks stuck
too; keep the floor above the queue's usual wait (the backlog alerts cover it).
"""
from __future__ import annotations

import argparse
import logging
import math
import os
import signal
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from prometheus_client import Counter, Gauge
from pymongo.database import Database

from services.common.events import VersionUploaded, event_id_for
from services.common.logs import configure_logging
from services.common.mongo import ASC, Index, connect, ensure_indexes, insert_unique
from services.common.ops_server import serve_ops
from services.common.outbox import record_event
from services.common.settings import load_settings, local_port

from . import records
from .version_status import current_status

log = logging.getLogger("framegate.ingest.reconciler")

ATTEMPTS = "reconcile_attempts"
INDEXES = records.INDEXES + [Index(ATTEMPTS, (("version_id", ASC),))]
UNFINISHED = ("uploaded", "transcoding", "playable")

VERSIONS = Counter("framegate_ingest_reconciler_versions_total",
                   "Versions the reconciler found stuck, sent again or failed", ["action"])
STUCK = Gauge("framegate_ingest_stuck_versions", "Versions found stuck by the last reconcile pass")
LAST_PASS = Gauge("framegate_ingest_reconciler_last_pass_timestamp_seconds",
                  "When the last reconcile pass finished (Unix time)")


@dataclass(frozen=True)
class Policy:
    floor_seconds: float = 1800.0  # no version is stuck sooner, whatever its size
    per_media_second: float = 20.0  # worst-case encode time per second of media (the runner's limit)
    bytes_per_second: float = 20e6  # worst-case transfer: master down, renditions up
    job_limit_seconds: float = 4 * 3600.0  # the workers' time limit caps the encode
    max_redispatches: int = 2
    lookback: timedelta = timedelta(days=7)  # older versions were settled long ago

    @classmethod
    def from_env(cls, settings) -> "Policy":
        return cls(floor_seconds=float(os.environ.get("FRAMEGATE_RECONCILE_FLOOR_SECONDS", "1800")),
                   job_limit_seconds=settings.transcode_time_limit_seconds,
                   max_redispatches=int(os.environ.get("FRAMEGATE_RECONCILE_MAX_REDISPATCHES", "2")))


# Rules (pure) ---------------------------------------------------------------

def job_bound_seconds(duration: float | None, size: int | None, policy: Policy) -> float:
    """The longest a version's job could take: encode plus transfer, never under the floor."""
    encode = min(policy.job_limit_seconds, policy.per_media_second * max(0.0, duration or 0.0))
    transfer = 2 * max(0, size or 0) / policy.bytes_per_second
    return max(policy.floor_seconds, encode + transfer)


def next_step(status: str, idle_seconds: float, bound: float, redispatches: int, policy: Policy) -> str:
    """wait | redispatch | fail, for a version idle for `idle_seconds` in `status`."""
    if status not in UNFINISHED or idle_seconds <= bound:
        return "wait"
    return "redispatch" if redispatches < policy.max_redispatches else "fail"


def stuck_reason(bound: float, tries: int) -> str:
    return (f"Transcoding did not finish in {math.ceil(bound / 60)} min, {tries} times. Upload the "
            "master again; if it gets stuck again, ops: check the transcode workers and their queue.")


# One pass -------------------------------------------------------------------

def _redispatch(db: Database, version: dict, attempt: int, now: datetime) -> bool:
    """Send the version's job again; False if another reconciler made this attempt."""
    vid = version["_id"]
    if not insert_unique(db[ATTEMPTS], {"_id": f"{vid}:{attempt}", "version_id": vid, "attempt": attempt, "at": now}):
        return False
    facts = version.get("facts") or {}
    record_event(db, VersionUploaded(
        event_id=event_id_for("version_uploaded", vid, "reconcile", str(attempt)),
        project_id=version["project_id"], asset_id=version["asset_id"], version_id=vid,
        version_number=version["number"], master_bucket=version["master_bucket"],
        master_key=version["master_key"], sha256=version["sha256"], size=version["size"],
        media_kind=facts.get("kind", ""), uploaded_by=version.get("created_by", ""), facts=facts,
    ))
    log.warning("stuck version sent again", extra={"version_id": vid, "attempt": attempt})
    return True


def _fail(db: Database, version: dict, bound: float, tries: int) -> bool:
    vid = version["_id"]
    reason = stuck_reason(bound, tries)
    failed = records.insert_state(db, event_id_for("version_stuck", vid), vid,
                                  {"status": "failed", "code": "stuck", "reason": reason})
    if failed:
        log.error("stuck version failed", extra={"version_id": vid, "reason": reason})
    return failed


def reconcile_once(db: Database, policy: Policy, scope: dict | None = None,
                   now: datetime | None = None) -> dict:
    """One pass over unfinished versions (optionally within `scope`, a query); counts what it did."""
    now = now or datetime.now(timezone.utc)
    query = {**(scope or {}), "created_at": {"$gte": now - policy.lookback,
                                             "$lte": now - timedelta(seconds=policy.floor_seconds)}}
    versions = list(db.versions.find(query))
    ids = [v["_id"] for v in versions]
    states, progress = records.states_of(db, ids), records.progress_of(db, ids)
    attempts: dict[str, list[dict]] = {i: [] for i in ids}
    for attempt in db[ATTEMPTS].find({"version_id": {"$in": ids}}):
        attempts[attempt["version_id"]].append(attempt)

    counts = {"found": 0, "redispatched": 0, "failed": 0}
    for version in versions:
        vid = version["_id"]
        status = current_status(states[vid])["status"]
        moments = [version["created_at"], *(s["at"] for s in states[vid]), *(a["at"] for a in attempts[vid])]
        if vid in progress:
            moments.append(progress[vid]["at"])
        bound = job_bound_seconds((version.get("facts") or {}).get("duration"), version.get("size"), policy)
        step = next_step(status, (now - max(moments)).total_seconds(), bound, len(attempts[vid]), policy)
        if step == "wait":
            continue
        counts["found"] += 1
        if step == "redispatch" and _redispatch(db, version, len(attempts[vid]) + 1, now):
            counts["redispatched"] += 1
        elif step == "fail" and _fail(db, version, bound, len(attempts[vid]) + 1):
            counts["failed"] += 1
    for action, n in counts.items():
        VERSIONS.labels(action).inc(n)
    STUCK.set(counts["found"])
    LAST_PASS.set(now.timestamp())
    return counts


# The process ----------------------------------------------------------------

def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=None, help="port for /healthz and /metrics")
    args = parser.parse_args(argv)
    configure_logging("ingest-reconciler")
    settings = load_settings()
    db = connect(settings)
    policy = Policy.from_env(settings)
    interval = float(os.environ.get("FRAMEGATE_RECONCILE_INTERVAL", "60"))
    port = args.port or int(os.environ.get("FRAMEGATE_OPS_PORT", local_port("ingest_reconciler")))
    serve_ops(port, lambda: (db.command("ping"), {"mongo": "ok"})[1],
              host=os.environ.get("FRAMEGATE_BIND_HOST", "127.0.0.1"))
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    log.info("reconciler started", extra={"floor_seconds": policy.floor_seconds, "interval": interval})
    indexed = False
    while not stopping.is_set():
        try:
            if not indexed:
                ensure_indexes(db, INDEXES)
                indexed = True
            counts = reconcile_once(db, policy)
            if counts["found"]:
                log.info("reconcile pass", extra=counts)
        except Exception as err:  # database away: try again next round
            log.warning("reconcile pass failed", extra={"error": repr(err)})
        stopping.wait(interval)
    log.info("reconciler stopped")


if __name__ == "__main__":
    main()
