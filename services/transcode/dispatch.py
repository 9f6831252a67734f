"""Turns version_uploaded events into transcode jobs on the Celery queue.

    nameko run services.transcode.dispatch:TranscodeDispatch --config <yaml>

The event is acknowledged only after the job is queued (with publisher
confirms); a failure sends it back for another try (services.common.reliable),
and the claim on event_id keeps a redelivered event from queueing the same job
twice.
"""
from __future__ import annotations

from dataclasses import asdict

from services.common.consumer import handle_once
from services.common.events import VersionFailed, VersionUploaded, event_id_for, from_wire
from services.common.outbox import outbox_indexes, record_event
from services.common.nameko_deps import Database, OpsEndpoints
from services.common.reliable import reliable_consume, reliable_event_handler
from services.common.settings import load_settings

from .celery_app import TRANSCODE_TASK, app
from .job import TranscodeJob
from .queues import DELIVERY_LIMIT, dead_letter_queue


def job_for(event: VersionUploaded, renditions_bucket: str) -> TranscodeJob:
    return TranscodeJob(
        project_id=event.project_id, asset_id=event.asset_id, version_id=event.version_id,
        master_bucket=event.master_bucket, master_key=event.master_key, facts=event.facts,
        renditions_bucket=renditions_bucket,
    )


def enqueue(event: VersionUploaded) -> None:
    job = job_for(event, load_settings().bucket("renditions"))
    # The task id is the version id, so the queue and the logs name the version.
    app.send_task(TRANSCODE_TASK, args=[asdict(job)], task_id=event.version_id)


def fail_dead_job(db, job: dict) -> None:
    """A job that killed its worker on every delivery: the version fails, with a reason."""
    record_event(db, VersionFailed(
        event_id=event_id_for("version_failed", job["version_id"]),
        project_id=job["project_id"], asset_id=job["asset_id"], version_id=job["version_id"],
        code="worker_lost",
        reason=f"The transcode stopped {DELIVERY_LIMIT + 1} times without finishing (the worker was killed, "
               "for example out of memory). Check the master plays locally, then upload it again.",
    ))


class TranscodeDispatch(OpsEndpoints):
    name = "transcode_dispatch"
    db = Database(outbox_indexes("transcode"))

    @reliable_event_handler("ingest", "version_uploaded")
    def on_version_uploaded(self, payload: dict) -> None:
        handle_once(self.db, self.name, from_wire(payload), enqueue)

    @reliable_consume(dead_letter_queue)
    def on_dead_job(self, body) -> None:
        # A Celery message body (protocol 2) is [args, kwargs, embed]; args[0] is the job.
        fail_dead_job(self.db, body[0][0])
