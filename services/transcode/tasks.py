"""Celery tasks of the transcode workers: thin, the work is in handlers.

    celery -A services.transcode.tasks worker -Q transcode --pool threads --concurrency 1

The threads pool keeps the worker's main thread free for broker heartbeats
while ffmpeg runs, and keeps the job's metrics in the process /metrics serves.
"""
from __future__ import annotations

import functools
import logging
import os
import time

from celery.exceptions import Reject
from celery.signals import worker_ready
from kombu import Connection
from prometheus_client import Gauge

from services.common.mongo import connect, ensure_indexes
from services.common.ops_server import serve_ops
from services.common.outbox import outbox_indexes
from services.common.settings import load_settings
from services.common.storage import ObjectStore

from .celery_app import TRANSCODE_TASK, app
from .handlers import TranscodeContext, fail_after_retries, run_job
from .job import TranscodeJob
from .queues import transcode_queue

log = logging.getLogger(__name__)
QUEUE_DEPTH = Gauge("framegate_transcode_queue_depth", "Jobs waiting in the transcode queue")


@functools.cache
def context() -> TranscodeContext:
    """Built once per worker process, on first use."""
    settings = load_settings()
    db = connect(settings)
    ensure_indexes(db, outbox_indexes("transcode"))
    store = ObjectStore(settings)
    store.ensure_buckets()
    return TranscodeContext(db=db, store=store, settings=settings, workdir=os.environ.get("FRAMEGATE_TMP"),
                            ffmpeg_threads=int(os.environ.get("FRAMEGATE_FFMPEG_THREADS") or 0),
                            time_limit=settings.transcode_time_limit_seconds)


RETRIES = 3
# Before a job whose failure could not be recorded goes back to the queue: a
# database that refuses connections fails a delivery in milliseconds, and the
# delivery limit would dead-letter the job before the database is back.
UNRECORDED_PAUSE_SECONDS = 30.0


@app.task(name=TRANSCODE_TASK, bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=RETRIES)
def transcode_version_task(self, job: dict) -> None:
    """A bad master fails inside run_job; anything else (store or database away, ffmpeg
    killed) is retried, then failed. A job is acknowledged only once its outcome is recorded."""
    try:
        run_job(context(), TranscodeJob(**job))
    except Exception as exc:
        if self.request.retries < RETRIES:
            raise self.retry(exc=exc, countdown=5 * 2**self.request.retries)
        try:
            fail_after_retries(context(), job, exc)
        except Exception as not_recorded:
            # Back to the queue unacknowledged: a later delivery records it, or the
            # delivery limit dead-letters it and the dispatcher fails the version.
            log.error("failure of %s not recorded (%r); the job goes back to the queue in %g s",
                      job.get("version_id"), not_recorded, UNRECORDED_PAUSE_SECONDS,
                      extra={"version_id": job.get("version_id"), "error": repr(not_recorded)})
            time.sleep(UNRECORDED_PAUSE_SECONDS)
            raise Reject(not_recorded, requeue=True) from not_recorded


def queue_depth(amqp_url: str) -> int:
    with Connection(amqp_url, connect_timeout=2) as conn:
        return transcode_queue(conn.channel()).queue_declare(passive=True).message_count


def check_health() -> dict:
    ctx = context()
    ctx.db.command("ping")
    ctx.store.ping()
    QUEUE_DEPTH.set(queue_depth(ctx.settings.amqp_url))
    return {"mongo": "ok", "s3": "ok", "amqp": "ok"}


@worker_ready.connect
def start_ops_server(**_):
    port = os.environ.get("FRAMEGATE_OPS_PORT")
    if port:
        serve_ops(int(port), check_health, host=os.environ.get("FRAMEGATE_BIND_HOST", "127.0.0.1"))
