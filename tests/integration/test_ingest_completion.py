"""Big masters: completion in the background (202 + a polled status), durable
across a killed ingest, never discarding a master because the server was slow;
hashing and probing without a local copy; abandoned uploads swept; open
uploads limited."""
from __future__ import annotations

import signal
import sys
import time

import pytest

from services.ingest import completions, uploads
from services.ingest.uploads import Ingest
from tests import media
from tests.integration.own_ingest import OwnIngest, make_admin, own_database_name
from tests.integration.uploading import complete, file_sha256, put_parts, start, wait_for_completion


def started(api, project_id, path, **kw) -> dict:
    response = start(api, project_id, path, **kw)
    assert response.status_code == 201, response.text
    return response.json()["uploads"][0]


def test_complete_answers_202_and_the_completion_is_polled_to_the_version(admin, project, media_dir):
    clip = media.make_h264_2398(media_dir)
    item = started(admin, project["id"], clip)
    put_parts(item, clip)
    asked = admin.post(f"/api/v1/uploads/{item['upload_id']}/complete", json={"sha256": file_sha256(clip)})
    assert asked.status_code == 202, asked.text
    assert asked.headers["Location"] == f"/api/v1/uploads/{item['upload_id']}/completion"
    assert asked.json()["state"] in ("completing", "done")
    done = wait_for_completion(admin, item["upload_id"])
    assert done["state"] == "done" and done["failure"] is None
    version = done["version"]
    assert version["number"] == 1 and version["sha256"] == file_sha256(clip)
    # MP4 lists every sample in its index: counted without reading the file.
    assert (version["facts"]["frames"], version["facts"]["frames_source"]) == (48, "index")
    # While and after completing, the upload takes no more parts.
    assert admin.get(f"/api/v1/uploads/{item['upload_id']}").json()["parts"] == []
    again = admin.post(f"/api/v1/uploads/{item['upload_id']}/complete", json={"sha256": file_sha256(clip)})
    assert again.status_code == 202 and again.json()["version"]["id"] == version["id"]


def test_frames_are_counted_where_the_container_has_no_exact_index(admin, project, media_dir):
    clip = media.make_dnxhd_mxf(media_dir)
    item = started(admin, project["id"], clip)
    put_parts(item, clip)
    facts = complete(admin, item["upload_id"], file_sha256(clip))["version"]["facts"]
    assert (facts["frames"], facts["frames_source"]) == (25, "counted")


def test_an_unknown_completion_is_404(admin):
    response = admin.get("/api/v1/uploads/nope/completion")
    assert response.status_code == 404 and response.json()["error"] == "unknown_completion"


def test_completing_streams_the_master_and_writes_no_local_copy(admin, project, db, store, settings, tmp_path):
    big = media.make_large_avi(tmp_path)  # 20 MB, two parts
    item = started(admin, project["id"], big)
    put_parts(item, big)
    upload = db.uploads.find_one({"_id": item["upload_id"]})
    ctx = Ingest(db=db, store=store, settings=settings)
    completion, _ = completions.request(db, upload, file_sha256(big), upload["created_by"])

    written, ffprobe_targets = [], []
    watching = [True]

    def audit(event, args):
        if not watching[0]:
            return
        if event == "open":
            path, mode, flags = args
            writing = any(m in mode for m in "wax+") if isinstance(mode, str) else bool((flags or 0) & 0o3)
            if writing:  # O_WRONLY / O_RDWR
                written.append(path)
        elif event == "subprocess.Popen" and "ffprobe" in str(args[0]):
            ffprobe_targets.append(list(args[1])[-1])

    sys.addaudithook(audit)
    try:
        uploads.run_completion(ctx, completion)
    finally:
        watching[0] = False
    assert completions.get(db, item["upload_id"])["state"] == "done"
    assert written == [], f"completing wrote local files: {written}"
    assert ffprobe_targets and all(t.startswith("http://") for t in ffprobe_targets), ffprobe_targets


@pytest.fixture
def own_db():
    return own_database_name()


def test_a_probe_timeout_keeps_the_master_and_completing_again_finishes(own_db, media_dir, store, settings):
    email = make_admin(own_db)
    slow = OwnIngest({"FRAMEGATE_FFPROBE_TIMEOUT": "0.001", "FRAMEGATE_FFPROBE_COUNT_TIMEOUT": "0.001"}, own_db)
    try:
        api = slow.login(email)
        project = api.post("/api/v1/projects", json={"name": "Slow probe"}).json()
        clip = media.make_mov_25_tc(media_dir)
        item = started(api, project["id"], clip)
        put_parts(item, clip)
        failed = complete(api, item["upload_id"], file_sha256(clip))
        assert failed["state"] == "failed", failed
        assert failed["failure"]["error"] == "probe_timeout" and failed["failure"]["retryable"] is True
        # The master is kept: the assembled object and the upload are still there.
        assert store.keys(settings.bucket("masters"), prefix=f"{project['id']}/") != []
        assert api.get(f"/api/v1/uploads/{item['upload_id']}").status_code == 200
    finally:
        slow.stop()
    patient = OwnIngest({}, own_db)
    try:
        api = patient.login(email)
        done = complete(api, item["upload_id"], file_sha256(clip))
        assert done["state"] == "done", done
        assert done["version"]["facts"]["frames"] == 50
    finally:
        patient.stop()


def test_an_acknowledged_completion_survives_a_killed_ingest(own_db, tmp_path):
    email = make_admin(own_db)
    first = OwnIngest({"FRAMEGATE_COMPLETION_LEASE_SECONDS": "2"}, own_db)
    try:
        api = first.login(email)
        project = api.post("/api/v1/projects", json={"name": "Killed"}).json()
        big = media.make_large_avi(tmp_path)
        item = started(api, project["id"], big)
        put_parts(item, big)
        asked = api.post(f"/api/v1/uploads/{item['upload_id']}/complete", json={"sha256": file_sha256(big)})
        assert asked.status_code == 202, asked.text
        first.process.send_signal(signal.SIGKILL)
        first.process.wait(10)
    finally:
        first.stop()
    second = OwnIngest({"FRAMEGATE_COMPLETION_POLL_SECONDS": "0.5"}, own_db)
    try:
        done = wait_for_completion(second.login(email), item["upload_id"], timeout=60)
        assert done["state"] == "done", done
        assert done["version"]["number"] == 1 and done["version"]["facts"]["frames"] == 60
    finally:
        second.stop()


def test_a_users_open_uploads_are_limited(own_db, media_dir):
    email = make_admin(own_db)
    ingest = OwnIngest({"FRAMEGATE_MAX_OPEN_UPLOADS": "2"}, own_db)
    try:
        api = ingest.login(email)
        project = api.post("/api/v1/projects", json={"name": "Limited"}).json()
        clip = media.make_png(media_dir)
        specs = [{"filename": f"still{i}.png", "size": clip.stat().st_size, "fingerprint": f"limit-fingerprint-{i}"}
                 for i in range(3)]
        answer = api.post("/api/v1/uploads", json={"project_id": project["id"], "files": specs})
        assert answer.status_code == 201, answer.text
        items = answer.json()["uploads"]
        assert ["upload_id" in i for i in items] == [True, True, False]
        assert items[2]["error"] == "too_many_open_uploads" and "2" in items[2]["message"]
        # Resuming an open one is still allowed; finishing one makes room.
        assert api.post("/api/v1/uploads", json={"project_id": project["id"], "files": specs[:1]}).status_code == 201
        assert api.delete(f"/api/v1/uploads/{items[0]['upload_id']}").status_code == 204
        again = api.post("/api/v1/uploads", json={"project_id": project["id"], "files": specs[2:]})
        assert again.status_code == 201, again.text
    finally:
        ingest.stop()


def test_abandoned_uploads_are_discarded_after_the_set_age(own_db, store, settings, tmp_path):
    email = make_admin(own_db)
    ingest = OwnIngest({"FRAMEGATE_ABANDONED_UPLOAD_SECONDS": "2", "FRAMEGATE_COMPLETION_POLL_SECONDS": "0.5"},
                       own_db)
    try:
        api = ingest.login(email)
        project = api.post("/api/v1/projects", json={"name": "Abandoned"}).json()
        big = media.make_large_avi(tmp_path)
        item = started(api, project["id"], big)
        put_parts(item, big, only={1})
        bucket = settings.bucket("masters")
        # ...and a multipart upload nobody recorded (a process died right after opening it).
        store.start_multipart(bucket, f"{project['id']}/orphan/x.mov", "video/quicktime")
        assert len(store.open_multipart_uploads(bucket, prefix=f"{project['id']}/")) == 2
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and api.get(f"/api/v1/uploads/{item['upload_id']}").status_code == 200:
            time.sleep(0.3)
        assert api.get(f"/api/v1/uploads/{item['upload_id']}").status_code == 404
        while time.monotonic() < deadline and store.open_multipart_uploads(bucket, prefix=f"{project['id']}/"):
            time.sleep(0.3)
        assert store.open_multipart_uploads(bucket, prefix=f"{project['id']}/") == []
        assert store.keys(bucket, prefix=f"{project['id']}/") == []
    finally:
        ingest.stop()


def test_a_stopping_runner_hands_its_claim_over_at_once(db):
    upload_id = f"handover-{time.time_ns()}"
    runner = completions.CompletionRunner(db, lambda c: None, lease_seconds=600, poll_seconds=60)
    claim = completions.try_claim(db, upload_id, runner.owner, runner.lease)
    assert claim is not None
    assert completions.try_claim(db, upload_id, "another-process", runner.lease) is None  # held for 10 minutes
    runner.current = claim  # mid-job, as gunicorn's graceful stop finds it
    runner.stop_and_release()
    taken = completions.try_claim(db, upload_id, "another-process", runner.lease)
    assert taken is not None and taken["attempt"] == 2


def test_an_unexpected_error_leaves_the_completion_pending_for_another_attempt(db, own_db):
    own = db.client[own_db]  # not the stack's database: its runner must not take this one
    completions.request(own, {"_id": "flaky", "filename": "x.mov", "project_id": "p", "created_by": "u"},
                        "ab" * 32, "u")
    calls = []

    def flaky(completion):
        calls.append(completion["_id"])
        if len(calls) == 1:
            raise ConnectionError("the store stumbled")
        completions.mark_done(own, completion["_id"], "version-id")

    runner = completions.CompletionRunner(own, flaky, lease_seconds=60, poll_seconds=60)
    assert runner.run_pending() == 1
    assert completions.get(own, "flaky")["state"] == "pending"
    assert runner.run_pending() == 1
    assert completions.get(own, "flaky")["state"] == "done" and calls == ["flaky", "flaky"]
