"""The reconciler finds versions whose transcode never finished: it sends the
job again a bounded number of times, then fails the version with a reason.

These tests call one reconcile pass against the real stack with a short bound
and a clock moved past it, limited to the test's own project."""
from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone

from kombu import Connection, Queue

from framegate import stack
from services.common.outbox import outbox_collection
from services.common.reliable import queue_name
from services.ingest.reconciler import ATTEMPTS, Policy, reconcile_once
from services.transcode.queues import transcode_queue
from tests import media
from tests.e2e.test_transcode_flow import data_dir
from tests.integration.uploading import upload, wait_for_status

SHORT = Policy(floor_seconds=1, max_redispatches=1)
DISPATCH_QUEUE = queue_name("ingest", "version_uploaded", "transcode_dispatch", "on_version_uploaded")


def later(seconds: float = 60) -> datetime:
    """A clock past the short bound, so the test does not wait for it."""
    return datetime.now(timezone.utc) + timedelta(seconds=seconds)


def wait_published(db, version_id: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if db[outbox_collection("ingest")].count_documents(
                {"routing_key": "version_uploaded", "body.version_id": version_id, "published": True}):
            return
        time.sleep(0.2)
    raise AssertionError(f"version_uploaded of {version_id} was never published")


def purge(settings, queue: Queue) -> None:
    with Connection(settings.amqp_url) as conn:
        queue(conn.channel()).purge()


def test_a_version_whose_event_never_became_a_job_is_sent_again_and_ends_ready(admin, project, media_dir,
                                                                             db, settings):
    stack.stop_component(data_dir(), "transcode-dispatch")
    try:
        version_id = upload(admin, project["id"], media.make_png(media_dir)).json()["id"]
        wait_published(db, version_id)
        # The event is lost on its way to the dispatcher: nothing will transcode it.
        purge(settings, Queue(DISPATCH_QUEUE, no_declare=True))
    finally:
        stack.start_component(data_dir(), "transcode-dispatch")
    assert admin.get(f"/api/v1/versions/{version_id}").json()["status"] == "uploaded"

    # Two reconcilers at once: the attempt is decided by an insert, so one job is sent.
    results, clock = [], later()
    passes = [threading.Thread(target=lambda: results.append(
        reconcile_once(db, SHORT, {"project_id": project["id"]}, now=clock))) for _ in range(2)]
    for p in passes:
        p.start()
    for p in passes:
        p.join()
    assert sum(r["redispatched"] for r in results) == 1
    assert db[ATTEMPTS].count_documents({"version_id": version_id}) == 1

    version = wait_for_status(admin, version_id, {"ready", "failed"}, timeout=120)
    assert version["status"] == "ready", version.get("failure")
    assert reconcile_once(db, SHORT, {"project_id": project["id"]}, now=later(3600))["found"] == 0


def test_a_version_that_cannot_finish_ends_failed_with_the_reason(admin, project, media_dir, db, settings):
    stack.stop_component(data_dir(), "transcode-worker-1")  # no worker takes the job
    try:
        version_id = upload(admin, project["id"], media.make_png(media_dir)).json()["id"]
        wait_published(db, version_id)
        scope = {"project_id": project["id"]}
        first = reconcile_once(db, SHORT, scope, now=later(60))
        assert first == {"found": 1, "redispatched": 1, "failed": 0}
        second = reconcile_once(db, SHORT, scope, now=later(120))
        assert second == {"found": 1, "redispatched": 0, "failed": 1}

        version = admin.get(f"/api/v1/versions/{version_id}").json()
        assert version["status"] == "failed"
        assert version["failure"]["code"] == "stuck"
        assert "did not finish" in version["failure"]["reason"]
        assert reconcile_once(db, SHORT, scope, now=later(180))["found"] == 0
    finally:
        purge(settings, transcode_queue)
        stack.start_component(data_dir(), "transcode-worker-1")
