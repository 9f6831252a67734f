"""From upload to ready through the real services: event, dispatch, Celery
worker, ffmpeg, renditions in the store, status back on the version."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from kombu import Connection

from framegate import stack
from services.common.outbox import outbox_collection
from services.transcode.queues import DELIVERY_LIMIT, transcode_queue
from tests import media
from tests.browser.framecode import make_clip, read_indexes
from tests.integration.uploading import upload, wait_for_status

FRAMEGATE = [sys.executable, "-m", "framegate.cli"]


def data_dir() -> Path:
    return Path(os.environ["FRAMEGATE_DATA"])


def test_cli_wait_ends_ready_with_renditions_in_the_store(media_dir, store, settings):
    clip = media.make_mov_2997_df(media_dir)
    result = subprocess.run(
        [*FRAMEGATE, "upload", str(clip), "--project", f"Flow {uuid.uuid4().hex[:6]}", "--wait", "--json"],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout)
    assert record["status"] == "ready"
    assert "transcoding" in result.stderr or "ready" in result.stderr
    keys = set(store.keys(settings.bucket("renditions"), prefix=f"{record['project_id']}/{record['version_id']}/"))
    prefix = f"{record['project_id']}/{record['version_id']}"
    assert f"{prefix}/hls/master.m3u8" in keys and f"{prefix}/poster.jpg" in keys and f"{prefix}/proxy.mp4" in keys
    assert any(k.endswith(".m4s") for k in keys)


def test_a_master_that_cannot_be_transcoded_fails_with_a_reason(admin, project, media_dir):
    done = upload(admin, project["id"], media.make_garbage_mp4(media_dir))
    assert done.status_code == 201, done.text  # ingest can read its header, so it is accepted
    version = wait_for_status(admin, done.json()["id"], {"ready", "failed"})
    assert version["status"] == "failed"
    assert version["failure"]["reason"] and version["failure"]["code"]


def test_every_rung_shows_every_frame_of_the_master_once_in_order(admin, project, media_dir, store, settings,
                                                                  tmp_path):
    """Frame identity, not only counts: each frame of the master carries its index
    in its pixels; after the real worker's transcode, frame k of every rung shows k.
    720p is the smallest master with two rungs (720p, 360p); 3 s crosses a segment."""
    master = make_clip(Path(media_dir) / "framecode-720p-3s.mp4", "25", seconds=3, size="1280x720")
    assert read_indexes(master) == list(range(75))  # the reader reads the master right
    done = upload(admin, project["id"], master, asset="Frame identity")
    assert done.status_code == 201, done.text
    version = wait_for_status(admin, done.json()["id"], {"ready", "failed"})
    assert version["status"] == "ready", version.get("failure")

    prefix = f"{project['id']}/{version['id']}/"
    bucket = settings.bucket("renditions")
    for key in store.keys(bucket, prefix=prefix):
        target = tmp_path / key[len(prefix):]
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("wb") as out:
            store.copy_to_file(bucket, key, out)
    rungs = sorted(p.parent.name for p in (tmp_path / "hls").glob("*/index.m3u8"))
    assert rungs == ["360p", "720p"]
    for rung in rungs:
        shown = read_indexes(tmp_path / "hls" / rung / "index.m3u8")
        assert shown == list(range(75)), (rung, [(k, i) for k, i in enumerate(shown) if k != i][:10])


def ffmpeg_children_of(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid), "ffmpeg"], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


@pytest.mark.slow
def test_a_worker_killed_mid_transcode_hands_the_job_to_another(admin, project, media_dir, db, store, settings):
    second = "transcode-worker-2"
    stack.start_component(data_dir(), second)
    try:
        done = upload(admin, project["id"], media.make_hd(media_dir, seconds=20, size="1280x720"))
        version_id = done.json()["id"]
        wait_for_status(admin, version_id, {"transcoding", "playable"}, timeout=60)
        victim = None
        deadline = time.monotonic() + 60
        while victim is None and time.monotonic() < deadline:
            for name in ("transcode-worker-1", second):
                pid = stack.status(data_dir())[name]["pid"]
                if pid and ffmpeg_children_of(pid):
                    victim = (name, pid)
            time.sleep(0.2)
        assert victim, "no worker was running ffmpeg"
        os.kill(victim[1], signal.SIGKILL)

        version = wait_for_status(admin, version_id, {"ready", "failed"}, timeout=300)
        assert version["status"] == "ready", version.get("failure")
        ready_events = db[outbox_collection("transcode")].count_documents(
            {"routing_key": "version_ready", "body.version_id": version_id})
        assert ready_events == 1
        stored = set(store.keys(settings.bucket("renditions"), prefix=f"{project['id']}/{version_id}/"))
        assert stored == set(version["renditions"]["keys"])  # one set, nothing half-written left over
    finally:
        stack.stop_component(data_dir(), second)
        stack.start_component(data_dir(), "transcode-worker-1")


def test_a_job_that_keeps_killing_its_worker_ends_in_the_dead_letter_queue(admin, project, media_dir, settings):
    """We play a worker that dies on this job: each delivery goes back unacknowledged
    until the quorum queue's delivery limit moves it to the dead-letter queue, where
    the dispatcher fails the version with a reason instead of retrying forever."""
    stack.stop_component(data_dir(), "transcode-worker-1")
    try:
        version_id = upload(admin, project["id"], media.make_png(media_dir)).json()["id"]
        deliveries = 0
        with Connection(settings.amqp_url) as conn:
            queue = transcode_queue(conn.channel())
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                message = queue.get(no_ack=False)
                if message is None:
                    if deliveries:
                        break
                    time.sleep(0.2)
                    continue
                assert message.headers["id"] == version_id
                deliveries += 1
                message.requeue()
        assert deliveries == DELIVERY_LIMIT + 1
        version = wait_for_status(admin, version_id, {"ready", "failed"}, timeout=60)
        assert version["status"] == "failed"
        assert version["failure"]["code"] == "worker_lost"
        assert "upload it again" in version["failure"]["reason"]
    finally:
        stack.start_component(data_dir(), "transcode-worker-1")


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_framegate_worker_adds_capacity_and_stops_cleanly(admin, project, media_dir):
    """Ops add a worker by starting one: here it is the only worker, so it does the job."""
    import requests

    stack.stop_component(data_dir(), "transcode-worker-1")
    port = free_port()
    worker = subprocess.Popen([*FRAMEGATE, "worker", "--data", str(data_dir()), "--ops-port", str(port),
                               "--name", "extra"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        version_id = upload(admin, project["id"], media.make_wav_stereo(media_dir)).json()["id"]
        version = wait_for_status(admin, version_id, {"ready", "failed"}, timeout=120)
        assert version["status"] == "ready"
        metrics = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
        assert 'framegate_transcode_jobs_total{outcome="ready"} 1.0' in metrics
        assert "framegate_transcode_queue_depth" in metrics
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(60) == 0
    finally:
        if worker.poll() is None:
            worker.kill()
        stack.start_component(data_dir(), "transcode-worker-1")


def test_the_signed_hls_url_plays_in_any_hls_client(admin, project, media_dir):
    version_id = upload(admin, project["id"], media.make_mov_25_tc(media_dir)).json()["id"]
    version = wait_for_status(admin, version_id, {"ready"})
    hls_url = version["playback"]["hls_url"]
    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries",
         "stream=nb_read_frames", "-of", "json", hls_url], capture_output=True, text=True, timeout=120)
    assert probe.returncode == 0, probe.stderr
    assert int(json.loads(probe.stdout)["streams"][0]["nb_read_frames"]) == version["facts"]["frames"]
    tampered = hls_url.replace("/cdn/", "/cdn/x", 1)
    refused = subprocess.run(["ffprobe", "-v", "error", tampered], capture_output=True, text=True, timeout=60)
    assert refused.returncode != 0 and "403" in refused.stderr
