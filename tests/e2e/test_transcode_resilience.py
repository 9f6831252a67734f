"""A transcode survives what production does to it: a database blip while it
reports progress, the database down when its last retry fails, ffmpeg killed
(as the OOM killer does), and a job that runs past the worker's time limit."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from kombu import Connection

from framegate import stack
from services.common.outbox import outbox_collection
from services.transcode.celery_app import TRANSCODE_TASK, app
from services.transcode.queues import transcode_queue
from services.transcode.tasks import RETRIES
from tests import media
from tests.e2e.test_transcode_flow import data_dir, ffmpeg_children_of, free_port
from tests.integration.uploading import upload, wait_for_status

FRAMEGATE = [sys.executable, "-m", "framegate.cli"]
WORKER = "transcode-worker-1"
# Longer than pymongo's server selection timeout (5 s), so a write in the gap fails.
OUTAGE_SECONDS = 8


def worker_ffmpeg(name: str = WORKER, timeout: float = 60) -> int:
    """The pid of the ffmpeg the worker runs now (waits for one to start)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pid = stack.status(data_dir())[name]["pid"]
        children = ffmpeg_children_of(pid) if pid else []
        if children:
            return children[0]
        time.sleep(0.1)
    raise AssertionError(f"{name} started no ffmpeg in {timeout} s")


def starts_of(db, version_id: str) -> int:
    """How many times a worker started on the version (each attempt announces 'starting')."""
    return db[outbox_collection("transcode")].count_documents(
        {"routing_key": "transcode_progress", "body.version_id": version_id, "body.stage": "starting"})


def test_a_database_blip_while_progress_is_written_does_not_stop_the_transcode(admin, project, media_dir, db):
    clip = media.make_hd(media_dir, seconds=40, size="1280x720")
    version_id = upload(admin, project["id"], clip).json()["id"]
    worker_ffmpeg()  # encoding has started
    stack.stop_component(data_dir(), "ferretdb")
    try:
        time.sleep(OUTAGE_SECONDS)  # the worker's progress writes fail meanwhile
    finally:
        stack.start_component(data_dir(), "ferretdb")
    version = wait_for_status(admin, version_id, {"ready", "failed"}, timeout=300)
    assert version["status"] == "ready", version.get("failure")
    # One attempt: the ffmpeg that ran through the outage made the renditions.
    assert starts_of(db, version_id) == 1


DATABASE_AWAY = ("AutoReconnect", "ServerSelectionTimeoutError")  # pymongo's "cannot reach it"


def _wait_for_worker_to_meet_the_outage(version_id: str, timeout: float = 60) -> None:
    log_path = stack.status(data_dir())[WORKER]["log"]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in Path(log_path).read_text().splitlines():
            if version_id in line and any(error in line for error in DATABASE_AWAY):
                return
        time.sleep(0.2)
    raise AssertionError(f"the worker never tried {version_id} with the database away")


def test_a_database_blip_as_the_renditions_are_finished_does_not_redo_the_transcode(admin, project, media_dir,
                                                                                   db):
    clip = media.make_hd(media_dir, seconds=40, size="1280x720")
    version_id = upload(admin, project["id"], clip).json()["id"]
    # Away from the start of the encode until the worker has failed to record
    # ready once: waiting for a late percentage instead raced the worker, whose
    # throttled progress can jump straight to 100 as it records ready.
    worker_ffmpeg()
    stack.stop_component(data_dir(), "ferretdb")
    try:
        # Down until the worker has failed to record ready once.
        _wait_for_worker_to_meet_the_outage(version_id, timeout=240)
    finally:
        stack.start_component(data_dir(), "ferretdb")
    version = wait_for_status(admin, version_id, {"ready", "failed"}, timeout=180)
    assert version["status"] == "ready", version.get("failure")
    assert starts_of(db, version_id) == 1  # recorded once the database was back, not made again


def _take_queued_job(settings, version_id: str) -> dict:
    with Connection(settings.amqp_url) as conn:
        queue = transcode_queue(conn.channel())
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            message = queue.get(no_ack=False)
            if message is None:
                time.sleep(0.2)
                continue
            job = message.decode()[0][0]
            message.ack()
            if job["version_id"] == version_id:
                return job
    raise AssertionError(f"no job for {version_id} was queued")


def test_the_last_retry_failure_is_recorded_even_when_the_database_was_down(admin, project, media_dir,
                                                                           settings, store):
    stack.stop_component(data_dir(), WORKER)
    try:
        version_id = upload(admin, project["id"], media.make_png(media_dir)).json()["id"]
        job = _take_queued_job(settings, version_id)
        store.remove(job["master_bucket"], job["master_key"])  # every attempt fails
    finally:
        stack.start_component(data_dir(), WORKER)
    stack.stop_component(data_dir(), "ferretdb")
    try:
        # The job's last try, as Celery sends it after RETRIES failed ones.
        app.send_task(TRANSCODE_TASK, args=[job], task_id=version_id, retries=RETRIES)
        _wait_for_worker_to_meet_the_outage(version_id)
    finally:
        stack.start_component(data_dir(), "ferretdb")
    version = wait_for_status(admin, version_id, {"ready", "failed"}, timeout=120)
    assert version["status"] == "failed"
    assert version["failure"]["code"] and version["failure"]["reason"]


def test_ffmpeg_killed_mid_transcode_is_retried_and_the_version_ends_ready(admin, project, media_dir, db):
    version_id = upload(admin, project["id"], media.make_hd(media_dir, seconds=20, size="1280x720")).json()["id"]
    os.kill(worker_ffmpeg(), signal.SIGKILL)  # what the OOM killer does
    version = wait_for_status(admin, version_id, {"ready", "failed"}, timeout=300)
    assert version["status"] == "ready", version.get("failure")
    assert starts_of(db, version_id) == 2


def test_ffmpeg_killed_on_every_try_fails_the_version_with_the_reason(admin, project, media_dir, db):
    version_id = upload(admin, project["id"], media.make_hd(media_dir, seconds=20, size="1280x720")).json()["id"]
    for _ in range(RETRIES + 1):
        os.kill(worker_ffmpeg(timeout=120), signal.SIGKILL)
        while ffmpeg_children_of(stack.status(data_dir())[WORKER]["pid"]):
            time.sleep(0.1)  # the killed one is reaped before the next try starts
    version = wait_for_status(admin, version_id, {"ready", "failed"}, timeout=120)
    assert version["status"] == "failed"
    assert version["failure"]["code"] == "transcode_killed"
    assert "out-of-memory" in version["failure"]["reason"]
    assert starts_of(db, version_id) == RETRIES + 1


def test_a_job_past_the_worker_time_limit_fails_with_a_reason(admin, project, media_dir):
    stack.stop_component(data_dir(), WORKER)
    env = {**os.environ, "FRAMEGATE_TRANSCODE_TIME_LIMIT": "3"}
    worker = subprocess.Popen([*FRAMEGATE, "worker", "--data", str(data_dir()), "--ops-port", str(free_port()),
                               "--name", "short-limit"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              text=True)
    try:
        clip = media.make_hd(media_dir, seconds=40, size="1280x720")
        version_id = upload(admin, project["id"], clip).json()["id"]
        version = wait_for_status(admin, version_id, {"ready", "failed"}, timeout=180)
        assert version["status"] == "failed"
        assert version["failure"]["code"] == "time_limit"
        assert "3 s" in version["failure"]["reason"]
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(60)
        except subprocess.TimeoutExpired:
            worker.kill()
        stack.start_component(data_dir(), WORKER)
