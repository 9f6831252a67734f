"""The whole dev overlay runs under `podman kube play` from the locally built
images: its own PostgreSQL, FerretDB, RabbitMQ and S3 gateway, then every
service Deployment, each answering on /healthz, then the CDN (nginx, the
platform's front door); an upload through the played front door then turns
`ready` through the played dispatcher, worker, relays and ingest-status, and
its signed HLS URL plays through the played CDN while an unsigned one gets 403.

What kube play cannot do is made concrete here, and only that:
- it runs Deployments only (no Services, so no cluster DNS; the Ingress,
  NetworkPolicies and the HPA are validated offline in test_manifests.py), and
  host networking is the mode that works in this sandbox, so every pod shares
  the host's network: the Service names in the settings (postgres, ferretdb,
  rabbitmq, s3, ingest, and the CDN's ingest and review upstreams) become 127.0.0.1 (podman does not apply hostAliases
  on the host network) and each server moves off its default port to the
  test's port base plus an offset, to collide neither with its neighbours
  (ingest and review both listen on 8080) nor with anything else on the machine;
  the platform's public URL (the Ingress host, which the overlay routes to the
  CDN) becomes the CDN's host port;
- ConfigMap/Secret references and $(VAR) expansions are resolved into plain
  values from the rendered ConfigMap and Secrets of the overlay itself;
- probes are left out (podman would run them with curl, which the images do
  not carry) and /healthz is checked from outside; PersistentVolumeClaims
  become emptyDirs, so nothing outlives the test.
Everything else, images, commands, security contexts, resources and volumes,
is the overlay as rendered.
"""
from __future__ import annotations

import base64
import copy
import os
import re
import socket
import time
import uuid
from urllib.parse import urljoin

import pytest
import requests
import yaml

from tests import media
from tests.deploy.manifests import kustomize_missing, render
from tests.deploy.needs import need
from tests.deploy.podman import available, podman
from tests.integration.uploading import upload

pytestmark = pytest.mark.slow

INFRA = ("postgres", "ferretdb", "rabbitmq", "s3")
SERVICES = ("ingest", "review", "ingest-relay", "transcode", "ingest-status", "transcode-dispatch",
            "transcode-relay", "ingest-reconciler", "approval", "approval-relay", "review-relay")
EDGE = ("cdn",)  # the front door and CDN: nginx in front of ingest and review
# Port offsets from the stack's base (services.common.settings.PORT_OFFSETS
# leaves 3xx free).
OFFSET = {"postgres": 331, "mongo": 332, "ferretdb-debug": 333, "amqp": 334, "amqp-management": 335,
          "amqp-prometheus": 336, "amqp-dist": 337, "s3": 338,
          "ingest": 341, "review": 342, "ingest-relay": 343, "transcode": 344, "ingest-status": 345,
          "transcode-dispatch": 346, "transcode-relay": 347, "cdn": 348, "review-origin": 349,
          "ingest-reconciler": 350, "approval": 351, "approval-relay": 352, "review-relay": 353}


@pytest.fixture(scope="module", autouse=True)
def tools():
    need(kustomize_missing())
    need(available())
    missing = [i for i in (f"localhost/framegate-dev-{n}:{os.environ.get('TAG', 'dev')}" for n in INFRA + EDGE)
               if podman("image", "exists", i, check=False).returncode != 0]
    need(f"dev images not built: {', '.join(missing)} (make dev-images)" if missing else None)


def base() -> int:
    return int(os.environ.get("FRAMEGATE_PORT_BASE", "18000"))


def port(name: str) -> int:
    return base() + OFFSET[name]


def rewrite(value: str) -> str:
    """Service addresses of the overlay -> loopback, on the moved ports."""
    value = value.replace("@postgres:5432/", f"@127.0.0.1:{port('postgres')}/")
    value = value.replace("//ferretdb:27017/", f"//127.0.0.1:{port('mongo')}/")
    value = value.replace("@rabbitmq:5672/", f"@127.0.0.1:{port('amqp')}/")
    value = re.sub(r"^s3:7070$", f"127.0.0.1:{port('s3')}", value)
    value = re.sub(r"^http://approval$", f"http://127.0.0.1:{port('approval')}", value)
    return re.sub(r"^http://ingest$", f"http://127.0.0.1:{port('ingest')}", value)


# What each Deployment needs so that it listens on its own host port, on loopback.
def overrides(name: str) -> dict[str, str]:
    services = {"FRAMEGATE_BIND_HOST": "127.0.0.1"}
    return {
        "postgres": {"POSTGRES_PORT": str(port("postgres")), "POSTGRES_LISTEN_ADDRESSES": "127.0.0.1"},
        "rabbitmq": {"RABBITMQ_AMQP_PORT": str(port("amqp")), "RABBITMQ_MANAGEMENT_PORT": str(port("amqp-management")),
                     "RABBITMQ_PROMETHEUS_PORT": str(port("amqp-prometheus")),
                     "RABBITMQ_DIST_PORT": str(port("amqp-dist")), "RABBITMQ_BIND_IP": "127.0.0.1",
                     "RABBITMQ_NODENAME": f"fgplay{base()}@localhost",
                     "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}"},
        "ingest": {**services, "FRAMEGATE_BIND": f"127.0.0.1:{port('ingest')}"},
        "review": {**services, "FRAMEGATE_BIND": f"127.0.0.1:{port('review')}",
                   "FRAMEGATE_ORIGIN_BIND": f"127.0.0.1:{port('review-origin')}",
                   "FRAMEGATE_ORIGIN_PORT": str(port("review-origin"))},
        "approval": {**services, "FRAMEGATE_BIND": f"127.0.0.1:{port('approval')}"},
        "ingest-relay": {**services, "FRAMEGATE_RELAY_PORT": str(port("ingest-relay"))},
        "approval-relay": {**services, "FRAMEGATE_RELAY_PORT": str(port("approval-relay"))},
        "transcode-relay": {**services, "FRAMEGATE_RELAY_PORT": str(port("transcode-relay"))},
        "review-relay": {**services, "FRAMEGATE_RELAY_PORT": str(port("review-relay"))},
        "transcode": {**services, "FRAMEGATE_OPS_PORT": str(port("transcode"))},
        "ingest-status": {**services, "FRAMEGATE_OPS_PORT": str(port("ingest-status"))},
        "transcode-dispatch": {**services, "FRAMEGATE_OPS_PORT": str(port("transcode-dispatch"))},
        "ingest-reconciler": {**services, "FRAMEGATE_OPS_PORT": str(port("ingest-reconciler"))},
        "cdn": {"NGINX_LISTEN": f"127.0.0.1:{port('cdn')}", "NGINX_INGEST_UPSTREAM": f"127.0.0.1:{port('ingest')}",
                "NGINX_REVIEW_UPSTREAM": f"127.0.0.1:{port('review')}",
                "NGINX_REVIEW_ORIGIN_UPSTREAM": f"127.0.0.1:{port('review-origin')}",
                "NGINX_APPROVAL_UPSTREAM": f"127.0.0.1:{port('approval')}"},
    }.get(name, {})


def args_for(name: str, args: list[str]) -> list[str]:
    if name == "ferretdb":
        return [a.replace("0.0.0.0:27017", f"127.0.0.1:{port('mongo')}")
                 .replace("0.0.0.0:8089", f"127.0.0.1:{port('ferretdb-debug')}") for a in args]
    if name == "s3":
        return [f"127.0.0.1:{port('s3')}" if a == ":7070" else a for a in args]
    return args


def resolve_env(container: dict, configmaps: dict, secrets: dict) -> dict[str, str]:
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            env.update(configmaps[source["configMapRef"]["name"]])
        else:
            env.update(secrets[source["secretRef"]["name"]])
    for e in container.get("env", []):
        if "value" in e:
            # $(VAR) refers to a variable defined before it, as in Kubernetes.
            env[e["name"]] = re.sub(r"\$\((\w+)\)", lambda m: env.get(m.group(1), m.group(0)), e["value"])
        else:
            ref = e["valueFrom"]
            if "secretKeyRef" in ref:
                env[e["name"]] = secrets[ref["secretKeyRef"]["name"]][ref["secretKeyRef"]["key"]]
            else:
                env[e["name"]] = configmaps[ref["configMapKeyRef"]["name"]][ref["configMapKeyRef"]["key"]]
    return env


def for_host_network(d: dict, configmaps: dict, secrets: dict) -> dict:
    d = copy.deepcopy(d)
    name = d["metadata"]["name"]
    d["metadata"] = {"name": f"fg-play-{name}", "labels": d["metadata"].get("labels", {})}
    d["spec"]["replicas"] = 1
    pod = d["spec"]["template"]["spec"]
    (c,) = pod["containers"]
    env = {k: rewrite(v) for k, v in resolve_env(c, configmaps, secrets).items()}
    env.update(overrides(name))
    if "FRAMEGATE_S3_PUBLIC_ENDPOINT" in env:  # presigned URLs the test itself uses
        env["FRAMEGATE_S3_PUBLIC_ENDPOINT"] = f"127.0.0.1:{port('s3')}"
    for key in ("FRAMEGATE_PUBLIC_URL", "FRAMEGATE_CDN_URL"):  # the Ingress host -> the CDN
        if key in env:
            env[key] = front_door()
    c.pop("envFrom", None)
    c["env"] = [{"name": k, "value": v} for k, v in env.items()]
    if "args" in c:
        c["args"] = args_for(name, c["args"])
    # On the host network the process's own port is the host port; podman
    # refuses port mappings there. Probes would run curl, which no image has.
    for key in ("ports", "readinessProbe", "livenessProbe"):
        c.pop(key, None)
    for v in pod.get("volumes", []):
        if "persistentVolumeClaim" in v:
            del v["persistentVolumeClaim"]
            v["emptyDir"] = {}
    return d


def port_open(p: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", p), timeout=1):
            return True
    except OSError:
        return False


def pods_report() -> str:
    out = podman("ps", "-a", "--format", "{{.Names}} {{.Status}}", check=False).stdout
    logs = []
    for line in out.splitlines():
        cname = line.split()[0]
        if cname.startswith("fg-play-") and not cname.endswith("-infra"):
            tail = podman("logs", "--tail", "15", cname, check=False)
            logs.append(f"--- {line}\n{tail.stdout}{tail.stderr}")
    return "\n".join(logs)


@pytest.fixture(scope="module")
def played(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("kube-play")
    objects = render("dev")
    configmaps = {o["metadata"]["name"]: o.get("data", {}) for o in objects if o["kind"] == "ConfigMap"}
    secrets = {o["metadata"]["name"]: {k: base64.b64decode(v).decode() for k, v in o.get("data", {}).items()}
               for o in objects if o["kind"] == "Secret"}
    deployments = {o["metadata"]["name"]: for_host_network(o, configmaps, secrets)
                   for o in objects if o["kind"] == "Deployment"}
    assert set(deployments) == set(INFRA) | set(SERVICES) | set(EDGE), sorted(deployments)
    files = []
    for group in (INFRA, SERVICES, EDGE):
        path = tmp / f"dev-{group[0]}.yaml"
        path.write_text(yaml.safe_dump_all([deployments[n] for n in group]))
        podman("kube", "down", str(path), check=False, timeout=180)
        files.append(path)
    try:
        # The servers first, as a cluster would have them before the services
        # are ready (kube play has no readiness gating of its own).
        podman("kube", "play", "--network", "host", str(files[0]), timeout=180)
        wanted = {"postgres": port("postgres"), "ferretdb": port("mongo"), "rabbitmq": port("amqp"),
                  "s3": port("s3")}
        deadline = time.monotonic() + 120
        while not all(port_open(p) for p in wanted.values()):
            assert time.monotonic() < deadline, f"dev servers not listening: {wanted}\n{pods_report()}"
            time.sleep(0.5)
        podman("kube", "play", "--network", "host", str(files[1]), timeout=180)
        podman("kube", "play", "--network", "host", str(files[2]), timeout=180)
        yield {"deployments": deployments, "secrets": secrets}
    finally:
        for path in reversed(files):
            podman("kube", "down", str(path), check=False, timeout=300)


def healthz(name: str) -> str:
    return f"http://127.0.0.1:{port(name)}/healthz"


def front_door() -> str:
    return f"http://127.0.0.1:{port('cdn')}"


def test_the_whole_dev_overlay_runs_under_kube_play_and_every_service_answers_on_healthz(played):
    deadline = time.monotonic() + 150
    answers: dict[str, dict] = {}
    while time.monotonic() < deadline and set(answers) != set(SERVICES):
        for name in SERVICES:
            try:
                r = requests.get(healthz(name), timeout=2)
                if r.status_code == 200:
                    answers[name] = r.json()
            except requests.RequestException:
                pass
        time.sleep(1)
    assert set(answers) == set(SERVICES), f"answered: {sorted(answers)}\n{pods_report()}"
    assert answers["ingest"]["checks"] == {"amqp": "ok", "mongo": "ok", "s3": "ok"}
    assert answers["transcode"]["checks"] == {"mongo": "ok", "s3": "ok", "amqp": "ok"}
    assert all(a["status"] == "ok" for a in answers.values()), answers
    # The front door (the played CDN) answers, but keeps health and metrics to the pods' own ports.
    deadline = time.monotonic() + 30
    while True:
        try:
            door = requests.get(f"{front_door()}/signin", timeout=5)
            if door.status_code == 200:
                break
        except requests.RequestException as err:
            door = err
        assert time.monotonic() < deadline, f"{door}\n{pods_report()}"
        time.sleep(0.5)
    for path in ("/healthz", "/metrics"):
        assert requests.get(f"{front_door()}{path}", timeout=5).status_code == 404, path
    # The restricted settings of the manifests were applied by podman.
    names = podman("ps", "--format", "{{.Names}}").stdout.split()
    for name in (*INFRA, *SERVICES, *EDGE):
        workload = [n for n in names if n.startswith(f"fg-play-{name}-pod") and not n.endswith("-infra")]
        assert workload, f"no container for {name}: {names}"
        ro, user = podman("inspect", "--format", "{{.HostConfig.ReadonlyRootfs}} {{.Config.User}}",
                          workload[0]).stdout.split()
        assert ro == "true" and user.split(":")[0] == "10001", (name, ro, user)


class Api:
    """The played platform's API, through its front door (the CDN)."""

    def __init__(self, token):
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"

    def __getattr__(self, method):
        return lambda path, **kw: self.session.request(method.upper(), front_door() + path, timeout=120, **kw)


@pytest.fixture(scope="module")
def uploaded(played, tmp_path_factory):
    """A clip uploaded through the played front door; its last status (ready, we hope)."""
    setup_key = played["secrets"][next(s for s in played["secrets"] if s.startswith("framegate-secrets"))][
        "FRAMEGATE_SETUP_KEY"]
    deadline = time.monotonic() + 150
    while True:  # the test above may not have run (-k): wait for the services
        try:
            if requests.get(healthz("ingest"), timeout=5).status_code == 200 \
                    and requests.get(f"{front_door()}/signin", timeout=5).status_code == 200:
                break
        except requests.RequestException:
            pass
        assert time.monotonic() < deadline, pods_report()
        time.sleep(1)
    response = requests.post(f"{front_door()}/api/v1/auth/bootstrap", headers={"X-Setup-Key": setup_key},
                             json={"email": f"play-{uuid.uuid4().hex[:6]}@example.test"}, timeout=30)
    # Each run starts from empty volumes, so the first admin is created here.
    assert response.status_code == 201, response.text
    api = Api(response.json()["token"])
    project = api.post("/api/v1/projects", json={"name": "Played"}).json()
    clip = media.make_mov_2997_df(tmp_path_factory.mktemp("play-media"))
    done = upload(api, project["id"], clip, asset="Played")
    assert done.status_code == 201, f"{done.text}\n{pods_report()}"
    version_id = done.json()["id"]
    deadline = time.monotonic() + 180
    version = None
    while time.monotonic() < deadline:
        version = api.get(f"/api/v1/versions/{version_id}").json()
        if version["status"] in ("ready", "failed"):
            break
        time.sleep(0.5)
    return {"api": api, "version": version}


def test_an_upload_through_the_played_dev_overlay_turns_ready(uploaded):
    status = uploaded["version"]["status"]
    assert status == "ready", f"{status}\n{pods_report()}"


def test_a_signed_rendition_url_plays_through_the_played_cdn_and_an_unsigned_one_is_refused(uploaded):
    version = uploaded["version"]
    assert version["status"] == "ready", version["status"]
    hls_url = version["playback"]["hls_url"]
    assert hls_url.startswith(f"{front_door()}/cdn/"), hls_url
    master = requests.get(hls_url, timeout=30)
    assert master.status_code == 200, f"{master.status_code} {master.text[:300]}\n{pods_report()}"
    assert master.headers["Content-Type"] == "application/vnd.apple.mpegurl"
    assert master.text.startswith("#EXTM3U")
    # The relative URIs inside carry the same token: a rung, then its first segment.
    rung_url = urljoin(hls_url, next(line for line in master.text.splitlines() if line and line[0] != "#"))
    rung = requests.get(rung_url, timeout=30)
    assert rung.status_code == 200 and "#EXT-X-ENDLIST" in rung.text, rung.status_code
    segment_url = urljoin(rung_url, next(line for line in rung.text.splitlines() if line.endswith(".m4s")))
    first, second = (requests.get(segment_url, timeout=30) for _ in range(2))
    assert first.status_code == 200 and first.content and second.content == first.content
    assert second.headers["X-Cache-Status"] == "HIT"  # a second viewer is served from the CDN's cache
    # Unsigned (the same path without token and expiry) and tampered: 403.
    token, expires, rest = hls_url.split("/cdn/", 1)[1].split("/", 2)
    unsigned = requests.get(f"{front_door()}/cdn/{rest}", timeout=30)
    assert unsigned.status_code == 403, unsigned.status_code
    flipped = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    assert requests.get(hls_url.replace(token, flipped), timeout=30).status_code == 403
    assert requests.get(hls_url.replace(f"/{expires}/", f"/{int(expires) + 60}/"), timeout=30).status_code == 403
