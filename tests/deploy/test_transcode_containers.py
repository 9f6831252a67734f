"""Transcoding through the images: the stack's own transcode worker, transcode
relay, dispatcher and ingest-status are stopped and the same processes run from
the images instead (podman, host network, read-only root, tmpfs /tmp), with
an upload through the containerised ingest turning `ready`. Then the scale-in
handoff: a worker that gets SIGTERM mid-transcode (what Kubernetes sends when
the autoscaler removes its pod) finishes that job, exits 0 and takes no other;
the job queued behind it goes to another worker."""
from __future__ import annotations

import os
import subprocess
import time
import uuid

import pytest
import requests

from framegate import stack
from services.transcode.tasks import queue_depth
from tests import media
from tests.deploy.needs import need
from tests.deploy.podman import Container, available, env as podman_env, image, stack_env, wait_healthy
from tests.integration.uploading import upload, wait_for_status

pytestmark = pytest.mark.slow

LOCKED_DOWN = ["--read-only", "--tmpfs", "/tmp:rw,size=512m,mode=1777"]
# Host ports: the stack's port base plus offsets it does not use
# (services.common.settings.PORT_OFFSETS; test_images.py uses 201-202).
INGEST, TRANSCODE_RELAY, DISPATCH, STATUS = 211, 212, 213, 214
WORKER_OFFSETS = (221, 222)
# What the stack runs that the containers replace.
REPLACED = ("ingest-status", "transcode-relay", "transcode-dispatch")
WORKER_COMMAND = ["celery", "-A", "services.transcode.tasks", "worker", "-Q", "transcode", "--pool", "threads",
                  "--concurrency", "1", "--prefetch-multiplier", "1", "--loglevel", "INFO"]
NAMEKO = ["nameko", "run", "--config", "/app/deploy/nameko/config.yaml"]


def port(offset: int) -> int:
    return int(os.environ.get("FRAMEGATE_PORT_BASE", "18000")) + offset


def url(offset: int) -> str:
    return f"http://127.0.0.1:{port(offset)}"


def run(name: str, img: str, extra_env: dict, command: list[str] = ()) -> Container:
    return Container(name, image(img), {**stack_env(), "FRAMEGATE_BIND_HOST": "127.0.0.1", **extra_env},
                     LOCKED_DOWN, list(command))


class Pipeline:
    """The containerised transcode side of the platform, plus ingest."""

    def __init__(self):
        self.containers: list[Container] = []

    def start(self, name, img, extra_env, command=(), health: int | None = None) -> Container:
        c = run(name, img, extra_env, command)
        self.containers.append(c)
        if health is not None:
            c.url = url(health)
            wait_healthy(c.url + "/healthz", c, timeout=90)
        return c

    def worker(self, index: int) -> Container:
        offset = WORKER_OFFSETS[index]
        return self.start(f"transcode-{index}", "transcode", {"FRAMEGATE_OPS_PORT": str(port(offset))},
                          [*WORKER_COMMAND, "-n", f"fg-test-{index}-{uuid.uuid4().hex[:6]}@%h"], health=offset)

    def logs(self) -> str:
        return "\n".join(f"--- {c.name}\n{c.logs()[-2500:]}" for c in self.containers)

    def remove(self) -> None:
        for c in self.containers:
            c.remove()


@pytest.fixture(scope="module")
def pipeline():
    need(available())
    data = os.environ["FRAMEGATE_DATA"]
    running = [name for name, info in stack.status(data).items()
               if info["state"] == "running" and (name in REPLACED or name.startswith("transcode-worker-"))]
    for name in running:
        stack.stop_component(data, name)
    p = Pipeline()
    try:
        p.ingest = p.start("ingest", "ingest", {"FRAMEGATE_BIND": f"127.0.0.1:{port(INGEST)}"}, health=INGEST)
        p.start("transcode-relay", "relay", {"FRAMEGATE_SERVICE": "transcode-relay",
                                             "FRAMEGATE_RELAY_PORT": str(port(TRANSCODE_RELAY))},
                ["python", "-m", "services.common.outbox_relay", "--service", "transcode"], health=TRANSCODE_RELAY)
        p.start("transcode-dispatch", "nameko", {"FRAMEGATE_SERVICE": "transcode-dispatch",
                                                 "FRAMEGATE_OPS_PORT": str(port(DISPATCH))},
                [*NAMEKO, "services.transcode.dispatch:TranscodeDispatch"], health=DISPATCH)
        # The image's default command is ingest-status.
        p.start("ingest-status", "nameko", {"FRAMEGATE_OPS_PORT": str(port(STATUS))}, health=STATUS)
        yield p
    finally:
        p.remove()
        for name in running:
            stack.start_component(data, name)


def api_of(admin, ingest):
    """The stack's signed-in admin, talking to the containerised ingest."""
    return type(admin)(ingest.url, admin.session.headers["Authorization"].split(" ", 1)[1])


def jobs_done(worker: Container, outcome: str = "ready") -> float:
    text = requests.get(worker.url + "/metrics", timeout=5).text
    for line in text.splitlines():
        if line.startswith(f'framegate_transcode_jobs_total{{outcome="{outcome}"}} '):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_an_upload_through_the_containerised_ingest_turns_ready_through_the_containerised_transcode(
        pipeline, admin, project, media_dir, store, settings):
    worker = pipeline.worker(0)
    try:
        health = requests.get(worker.url + "/healthz", timeout=5).json()
        assert health["checks"] == {"mongo": "ok", "s3": "ok", "amqp": "ok"}
        api = api_of(admin, pipeline.ingest)
        done = upload(api, project["id"], media.make_mov_2997_df(media_dir), asset="Containerised transcode")
        assert done.status_code == 201, f"{done.text}\n{pipeline.logs()}"
        version = wait_for_status(api, done.json()["id"], {"ready", "failed"}, 180, explain=pipeline.logs)
        assert version["status"] == "ready", (version.get("failure"), pipeline.logs())
        prefix = f"{project['id']}/{version['id']}/"
        keys = set(store.keys(settings.bucket("renditions"), prefix=prefix))
        assert {prefix + "hls/master.m3u8", prefix + "poster.jpg", prefix + "proxy.mp4"} <= keys
        # The stack's own worker is stopped: the container did the job.
        assert jobs_done(worker) == 1
        assert version["id"] in worker.logs()
        # Every process of the worker runs as the image's user (ffmpeg too).
        assert {user for user, _ in worker.top("user", "args")} == {"framegate"}
    finally:
        worker.remove()


def test_a_worker_stopped_mid_transcode_finishes_its_job_exits_0_and_takes_no_other(
        pipeline, admin, project, media_dir, settings):
    api = api_of(admin, pipeline.ingest)
    leaving = pipeline.worker(0)
    # Long enough to be mid-transcode when SIGTERM arrives (seconds on 2 cores).
    long_job = upload(api, project["id"], media.make_hd(media_dir, seconds=20, size="1280x720"), asset="Long")
    assert long_job.status_code == 201, long_job.text
    long_id = long_job.json()["id"]
    wait_for_status(api, long_id, {"transcoding", "playable"}, 60, explain=pipeline.logs)
    queued = upload(api, project["id"], media.make_mov_25_tc(media_dir), asset="Queued behind")
    assert queued.status_code == 201, queued.text
    queued_id = queued.json()["id"]
    # The second job waits in the queue: the busy worker holds no other (prefetch 1).
    deadline = time.monotonic() + 30
    while queue_depth(settings.amqp_url) < 1:
        assert time.monotonic() < deadline, f"the second job was never queued\n{pipeline.logs()}"
        time.sleep(0.2)
    assert api.get(f"/api/v1/versions/{long_id}").json()["status"] in {"transcoding", "playable"}, \
        "the long job ended before SIGTERM; make it longer"

    # What the kubelet does when the autoscaler removes the pod: SIGTERM, then
    # SIGKILL after the grace period (here 300 s; 4.5 h in the manifests).
    started = time.monotonic()
    stopping = subprocess.Popen(["podman", "stop", "-t", "300", leaving.name], env=podman_env(),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        version = wait_for_status(api, long_id, {"ready", "failed"}, 300, explain=pipeline.logs)
        assert version["status"] == "ready", (version.get("failure"), pipeline.logs())
        stopping.wait(timeout=120)
        took = time.monotonic() - started
        assert stopping.returncode == 0, stopping.stderr
        assert leaving.state("ExitCode") == "0", leaving.logs()[-3000:]
        assert took < 280, f"the worker was killed at the end of its grace period ({took:.0f}s)"
        logs = leaving.logs()
        assert long_id in logs and queued_id not in logs, logs[-3000:]
        assert api.get(f"/api/v1/versions/{queued_id}").json()["status"] == "uploaded"

        # The queued job goes to the next worker.
        other = pipeline.worker(1)
        version = wait_for_status(api, queued_id, {"ready", "failed"}, 180, explain=pipeline.logs)
        assert version["status"] == "ready", (version.get("failure"), pipeline.logs())
        assert queued_id in other.logs()
    finally:
        if stopping.poll() is None:
            stopping.kill()
