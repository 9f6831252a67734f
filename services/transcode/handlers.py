"""The transcode use case around the pipeline: announce progress, playable,
ready or failed through the outbox, and time and count each job.

Progress is best-effort: a database blip while it is written is logged and
counted, never raised into the ffmpeg run. The outcome (playable, ready,
failed) is not: if it cannot be recorded the job raises, so it is not
acknowledged as done and is tried again.
"""
from __future__ import annotations

import logging
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from prometheus_client import Counter, Gauge, Histogram
from pymongo.database import Database
from pymongo.errors import PyMongoError

from services.common.events import TranscodeProgress, VersionFailed, VersionPlayable, VersionReady, event_id_for
from services.common.outbox import event_recorded, record_event
from services.common.storage import ObjectStore

from .job import Progress, TranscodeFailed, TranscodeInterrupted, TranscodeJob
from .pipeline import transcode_version
from .runner import JobDeadline

log = logging.getLogger(__name__)

JOBS = Counter("framegate_transcode_jobs_total", "Transcode jobs by outcome", ["outcome"])
SECONDS = Histogram(
    "framegate_transcode_seconds", "Wall time of a transcode job",
    buckets=(1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400),
)
REALTIME = Gauge("framegate_transcode_realtime_factor", "Media seconds per wall second of the last job")
PROGRESS_WRITE_FAILURES = Counter("framegate_transcode_progress_write_failures_total",
                                  "Progress reports that could not be written (the job went on)")
PROGRESS_EVERY_SECONDS = 1.0
# After a failed progress write, wait this long before the next one: each
# failure can take pymongo's server selection timeout, time the job's
# segment uploads would otherwise lose.
PROGRESS_BACKOFF_SECONDS = 10.0
# The renditions are made: ride out a short database blip before giving up the
# whole transcode to a retry (each try also waits pymongo's server selection).
READY_WRITE_TRIES = 4
READY_WRITE_PAUSE_SECONDS = 5.0


@dataclass
class TranscodeContext:
    db: Database
    store: ObjectStore
    settings: object
    workdir: str | None = None
    ffmpeg_threads: int = 0  # 0: ffmpeg's own choice (all cores)
    time_limit: float | None = None  # seconds one job may run (settings.transcode_time_limit_seconds)


class ProgressAnnouncer:
    """Turns the pipeline's progress callbacks into events, at most one a second.

    Called inside the ffmpeg run, so it never raises for the database: a
    playable event that could not be written is tried again on later calls
    and, at the latest, by `flush()` before the job's outcome is recorded.
    """

    def __init__(self, ctx: TranscodeContext, job: TranscodeJob):
        self.ctx, self.job = ctx, job
        self.next_send = 0.0
        self.playable_pending = False
        self.playable_sent = False

    def __call__(self, progress: Progress) -> None:
        if progress.playable and not self.playable_sent:
            self.playable_pending = True
        now = time.monotonic()
        if now < self.next_send and progress.percent < 100:
            return
        self.next_send = now + PROGRESS_EVERY_SECONDS
        try:
            self.flush()
            record_event(self.ctx.db, TranscodeProgress(
                project_id=self.job.project_id, asset_id=self.job.asset_id, version_id=self.job.version_id,
                percent=round(progress.percent, 1), stage=progress.stage,
            ))
        except PyMongoError as err:
            PROGRESS_WRITE_FAILURES.inc()
            self.next_send = now + PROGRESS_BACKOFF_SECONDS
            log.warning("progress not recorded, transcode continues",
                        extra={"version_id": self.job.version_id, "error": repr(err)})

    def flush(self) -> None:
        """Record the playable event if it is due; raises if the database is away."""
        if self.playable_pending and not self.playable_sent:
            record_event(self.ctx.db, VersionPlayable(
                event_id=event_id_for("version_playable", self.job.version_id),
                project_id=self.job.project_id, asset_id=self.job.asset_id, version_id=self.job.version_id,
                master_playlist=f"{self.job.prefix}/hls/master.m3u8",
            ))
            self.playable_sent = True


def announce_failure(ctx: TranscodeContext, job: TranscodeJob, code: str, reason: str) -> None:
    """Record the failure; raises if the database is away (the job must then not be acknowledged)."""
    log.warning("transcode failed", extra={"version_id": job.version_id, "code": code, "reason": reason})
    record_event(ctx.db, VersionFailed(
        event_id=event_id_for("version_failed", job.version_id),
        project_id=job.project_id, asset_id=job.asset_id, version_id=job.version_id, code=code, reason=reason,
    ))
    JOBS.labels("failed").inc()


def fail_after_retries(ctx: TranscodeContext, job: dict, error: Exception) -> None:
    if isinstance(error, TranscodeInterrupted):
        announce_failure(ctx, TranscodeJob(**job), error.code, error.reason)
        return
    announce_failure(
        ctx, TranscodeJob(**job), "internal_error",
        f"Transcoding stopped on an internal error after retries ({type(error).__name__}: {error}). "
        "An operator can find it in the transcode worker's log; uploading the master again retries it.",
    )


def run_job(ctx: TranscodeContext, job: TranscodeJob) -> None:
    """Transcode one version; the outcome is announced, never raised for a bad master."""
    if event_recorded(ctx.db, "transcode", event_id_for("version_ready", job.version_id)):
        log.info("already ready, skipping a redelivered job", extra={"version_id": job.version_id})
        return
    started = time.monotonic()
    announce = ProgressAnnouncer(ctx, job)
    announce(Progress(percent=0.0, stage="starting"))
    with tempfile.TemporaryDirectory(prefix="transcode-", dir=ctx.workdir) as work:
        try:
            result = transcode_version(job, ctx.store, Path(work), announce, log, threads=ctx.ffmpeg_threads,
                                       deadline=JobDeadline.after(ctx.time_limit) if ctx.time_limit else None)
        except TranscodeFailed as err:
            announce_failure(ctx, job, err.code, err.reason)
            return
    elapsed = time.monotonic() - started
    SECONDS.observe(elapsed)
    if result.realtime_factor:
        REALTIME.set(result.realtime_factor)
    ready = VersionReady(
        event_id=event_id_for("version_ready", job.version_id),
        project_id=job.project_id, asset_id=job.asset_id, version_id=job.version_id,
        renditions=result.to_dict(), notes=list(result.notes),
    )
    for attempt in range(1, READY_WRITE_TRIES + 1):
        try:
            announce.flush()
            record_event(ctx.db, ready)
            break
        except PyMongoError as err:
            if attempt == READY_WRITE_TRIES:
                raise  # not acknowledged: the task retries the job
            log.warning("ready of %s not recorded yet (%r), trying again", job.version_id, err,
                        extra={"version_id": job.version_id, "error": repr(err), "attempt": attempt})
            time.sleep(READY_WRITE_PAUSE_SECONDS)
    JOBS.labels("ready").inc()
    log.info("transcode ready", extra={"version_id": job.version_id, "seconds": round(elapsed, 2)})
