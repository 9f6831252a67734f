"""The service images run the platform: started with podman on the host network
against the local stack, the containerised ingest takes an upload to a version
and the containerised relay publishes its event. Each runs as a non-root user on
a read-only root filesystem with only /tmp writable, under tini as PID 1, and
stops on SIGTERM within seconds with exit code 0."""
from __future__ import annotations

import json
import os
import time
import uuid

import pytest
import requests
from kombu import Connection, Exchange, Queue

from framegate import stack
from tests import media
from tests.deploy.needs import need
from tests.deploy.podman import Container, image, podman, available, stack_env, wait_healthy
from tests.integration.uploading import upload

pytestmark = pytest.mark.slow

# Host ports of the containers: the stack's port base plus offsets that the
# stack itself does not use (services.common.settings.PORT_OFFSETS).
INGEST_OFFSET, RELAY_OFFSET, NAMEKO_OFFSET, REVIEW_OFFSET, APPROVAL_OFFSET = 201, 202, 203, 204, 205
# Every container runs like this, as on Kubernetes with readOnlyRootFilesystem
# and an emptyDir on /tmp.
LOCKED_DOWN = ["--read-only", "--tmpfs", "/tmp:rw,size=256m,mode=1777"]
SERVICE_UID = "10001"


@pytest.fixture(scope="module", autouse=True)
def images_built():
    need(available())


def port(offset: int) -> int:
    return int(os.environ.get("FRAMEGATE_PORT_BASE", "18000")) + offset


@pytest.fixture
def containers():
    started: list[Container] = []

    def run(name: str, env: dict[str, str], args=()) -> Container:
        c = Container(name, image(name), {**stack_env(), **env}, [*LOCKED_DOWN, *args])
        started.append(c)
        return c

    yield run
    for c in started:
        c.remove()


@pytest.fixture
def ingest(containers):
    c = containers("ingest", {"FRAMEGATE_BIND": f"127.0.0.1:{port(INGEST_OFFSET)}"})
    c.url = f"http://127.0.0.1:{port(INGEST_OFFSET)}"
    wait_healthy(c.url + "/healthz", c)
    return c


@pytest.fixture
def relay(containers):
    c = containers("relay", {"FRAMEGATE_RELAY_PORT": str(port(RELAY_OFFSET)), "FRAMEGATE_BIND_HOST": "127.0.0.1"})
    c.url = f"http://127.0.0.1:{port(RELAY_OFFSET)}"
    wait_healthy(c.url + "/healthz", c)
    return c


@pytest.fixture
def nameko(containers):
    """The nameko image's default service, ingest-status (one more consumer of
    its events beside the stack's own while it runs; handlers are idempotent)."""
    c = containers("nameko", {"FRAMEGATE_OPS_PORT": str(port(NAMEKO_OFFSET)), "FRAMEGATE_BIND_HOST": "127.0.0.1"})
    c.url = f"http://127.0.0.1:{port(NAMEKO_OFFSET)}"
    assert wait_healthy(c.url + "/healthz", c)["checks"] == {"mongo": "ok"}
    return c


@pytest.fixture
def review(containers):
    c = containers("review", {"FRAMEGATE_BIND": f"127.0.0.1:{port(REVIEW_OFFSET)}",
                              "FRAMEGATE_INGEST_URL": os.environ.get("FRAMEGATE_PUBLIC_URL", "")})
    c.url = f"http://127.0.0.1:{port(REVIEW_OFFSET)}"
    assert wait_healthy(c.url + "/healthz", c)["checks"] == {"mongo": "ok", "s3": "ok"}
    return c


@pytest.fixture
def approval(containers):
    c = containers("approval", {"FRAMEGATE_BIND": f"127.0.0.1:{port(APPROVAL_OFFSET)}",
                                "FRAMEGATE_INGEST_URL": os.environ.get("FRAMEGATE_PUBLIC_URL", "")})
    c.url = f"http://127.0.0.1:{port(APPROVAL_OFFSET)}"
    assert wait_healthy(c.url + "/healthz", c)["checks"] == {"mongo": "ok", "s3": "ok"}
    return c


def test_the_approval_image_lists_its_templates_and_answers_the_verifier(approval):
    # reportlab, pyHanko and qrcode load; the built-in workflow templates are in the image
    assert requests.post(approval.url + "/api/v1/approval/certificates/verify", data=b"%PDF-1.4",
                         headers={"Content-Type": "application/pdf"}, timeout=30).json()["valid"] is False
    assert requests.get(approval.url + "/verify/" + "0" * 32, timeout=30).status_code == 404
    assert "framegate_http_requests_total" in requests_get(approval.url + "/metrics")


def test_the_review_image_serves_its_pages_and_the_players_hls_js(review):
    hls = requests.get(review.url + "/static/vendor/hls.min.js", timeout=5)
    assert hls.status_code == 200 and len(hls.content) > 100_000
    assert "framegate_http_requests_total" in requests_get(review.url + "/metrics")


@pytest.fixture
def only_the_containerised_relay():
    """Stop the stack's own outbox relay for the test, so an event that arrives
    was published by the container; start it again afterwards."""
    data = os.environ["FRAMEGATE_DATA"]
    stack.stop_component(data, "outbox-relay")
    yield
    stack.start_component(data, "outbox-relay")


@pytest.fixture
def version_events(settings):
    exchange = Exchange("ingest.events", type="topic", durable=True)
    queue = Queue(f"test-deploy-{uuid.uuid4().hex[:8]}", exchange, routing_key="version_uploaded",
                  durable=True)
    with Connection(settings.amqp_url) as conn:
        queue(conn.channel()).declare()
    yield queue
    with Connection(settings.amqp_url) as conn:
        queue(conn.channel()).delete()


def receive(settings, queue, predicate, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    with Connection(settings.amqp_url, connect_timeout=5) as conn:
        simple = conn.SimpleQueue(queue)
        try:
            while time.monotonic() < deadline:
                try:
                    message = simple.get(block=True, timeout=1)
                except simple.Empty:
                    continue
                message.ack()
                body = message.payload if isinstance(message.payload, dict) else json.loads(message.payload)
                if predicate(body):
                    return body
        finally:
            simple.close()
    raise AssertionError("no matching version_uploaded event arrived")


def metric(text: str, name: str, default: float | None = None, **labels: str) -> float:
    want = ",".join(f'{k}="{v}"' for k, v in labels.items())
    for line in text.splitlines():
        if line.startswith(f"{name}{{{want}}} ") or (not labels and line.startswith(f"{name} ")):
            return float(line.rsplit(" ", 1)[1])
    if default is not None:
        return default
    raise AssertionError(f"{name}{{{want}}} not in metrics")


def test_upload_through_the_containerised_ingest_is_published_by_the_containerised_relay(
        admin, project, media_dir, settings, version_events, only_the_containerised_relay, ingest, relay):
    health = wait_healthy(ingest.url + "/healthz", ingest)
    assert health["checks"] == {"amqp": "ok", "mongo": "ok", "s3": "ok"}
    assert wait_healthy(relay.url + "/healthz", relay)["status"] == "ok"

    # The signed-in admin of the stack, talking to the containerised ingest instead.
    api = type(admin)(ingest.url, admin.session.headers["Authorization"].split(" ", 1)[1])
    clip = media.make_mov_2997_df(media_dir)
    done = upload(api, project["id"], clip, asset="Containerised")
    assert done.status_code == 201, f"{done.text}\n{ingest.logs()[-3000:]}"
    version = done.json()
    assert (version["number"], version["status"]) == (1, "uploaded")
    assert version["facts"]["frames"] == 60  # ffprobe ran inside the image
    assert api.get(f"/api/v1/versions/{version['id']}").json()["status"] == "uploaded"

    event = receive(settings, version_events, lambda e: version["id"] in json.dumps(e))
    assert event["type"] == "version_uploaded"
    # The relay counts an event once the outbox has it marked published,
    # a moment after the broker took it.
    deadline = time.monotonic() + 10
    while True:
        metrics = requests_get(relay.url + "/metrics")
        published = metric(metrics, "framegate_outbox_published_total", service="ingest", default=0)
        if published >= 1 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert published >= 1, metrics
    ingest_metrics = requests_get(ingest.url + "/metrics")
    assert "framegate_http_requests_total" in ingest_metrics


def requests_get(url: str) -> str:
    response = requests.get(url, timeout=5)
    assert response.status_code == 200
    return response.text


@pytest.mark.parametrize("name", ["ingest", "relay", "nameko", "review", "approval"])
def test_runs_as_non_root_on_a_read_only_root_under_tini_and_stops_on_sigterm(name, request):
    c = request.getfixturevalue(name)
    processes = c.top("user", "args")
    assert processes[0][1].startswith("/usr/bin/tini --"), processes
    assert {user for user, _ in processes} == {"framegate"}, processes
    assert c.exec("id", "-u").stdout.strip() == SERVICE_UID
    assert c.state("Pid") != "0"
    # Nothing but /tmp is writable.
    assert c.exec("sh", "-c", "echo x > /app/probe").returncode != 0
    assert c.exec("sh", "-c", "echo x > /opt/framegate/probe").returncode != 0
    assert c.exec("sh", "-c", "echo x > /tmp/probe && rm /tmp/probe").returncode == 0

    took, code = c.stop(timeout=20)
    assert code == 0, c.logs()[-3000:]
    assert took < 5, f"{name} took {took:.1f}s to stop on SIGTERM"


@pytest.mark.parametrize("name", ["ingest", "relay", "transcode", "nameko", "review", "approval",
                                  "dev-postgres", "dev-ferretdb", "dev-rabbitmq", "dev-s3"])
def test_images_hold_no_build_tools_test_packages_or_caches(name):
    script = (
        "set -u; bad=''; "
        "for t in gcc cc make pip pip3; do command -v $t >/dev/null && bad=\"$bad $t\"; done; "
        "for p in pytest playwright pip setuptools; do "
        "  python -c \"import $p\" 2>/dev/null && bad=\"$bad python:$p\"; done; "
        "ls -A /var/lib/apt/lists | grep -qv '^lock$\\|^partial$\\|^auxfiles$' && bad=\"$bad apt-lists\"; "
        "ls /var/cache/apt/archives/*.deb >/dev/null 2>&1 && bad=\"$bad debs\"; "
        "[ -e /root/.cache ] && bad=\"$bad root-cache\"; "
        "echo \"$bad\""
    )
    out = podman("run", "--rm", "--network", "none", "--entrypoint", "sh", image(name), "-c", script)
    assert out.stdout.strip() == "", f"{image(name)} carries:{out.stdout}"
    config = json.loads(podman("image", "inspect", image(name)).stdout)[0]["Config"]
    assert config["User"] == f"{SERVICE_UID}:{SERVICE_UID}"
    assert config["Entrypoint"][:2] == ["/usr/bin/tini", "--"]


def test_transcode_image_has_ffmpeg_and_the_relay_image_does_not():
    out = podman("run", "--rm", "--network", "none", image("transcode"), "ffmpeg", "-hide_banner", "-version")
    assert out.stdout.startswith("ffmpeg version")
    # The worker's Celery app loads in the image, read-only, with no network
    # (no I/O at import time); test_transcode_containers.py runs transcodes in it.
    app = podman("run", "--rm", "--network", "none", *LOCKED_DOWN, image("transcode"), "python", "-c",
                 "import services.transcode.tasks as t; print(t.app.main)", check=False)
    assert app.returncode == 0, app.stderr
    relay = podman("run", "--rm", "--network", "none", image("relay"), "sh", "-c", "command -v ffmpeg",
                   check=False)
    assert relay.returncode != 0
