"""The whole dev overlay runs under `podman kube play` from the locally built
images: its own PostgreSQL, FerretDB, RabbitMQ and S3 gateway, then every
service Deployment, each answering on /healthz; an upload through the played
ingest then turns `ready` through the played dispatcher, worker, relays and
ingest-status.

What kube play cannot do is made concrete here, and only that:
- it runs Deployments only (no Services, so no cluster DNS; the Ingress,
  NetworkPolicies and the HPA are validated offline in test_manifests.py), and
  host networking is the mode that works in this sandbox, so every pod shares
  the host's network: the Service names in the settings (postgres, ferretdb,
  rabbitmq, s3, ingest) become 127.0.0.1 (podman does not apply hostAliases
  on the host network) and each server moves off its default port to the
  test's port base plus an offset, to collide neither with its neighbours
  (ingest and review both listen on 8080) nor with anything else on the machine;
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
            "transcode-relay")
# Port offsets from the stack's base (services.common.settings.PORT_OFFSETS
# leaves 3xx free).
OFFSET = {"postgres": 331, "mongo": 332, "ferretdb-debug": 333, "amqp": 334, "amqp-management": 335,
          "amqp-prometheus": 336, "amqp-dist": 337, "s3": 338,
          "ingest": 341, "review": 342, "ingest-relay": 343, "transcode": 344, "ingest-status": 345,
          "transcode-dispatch": 346, "transcode-relay": 347}


@pytest.fixture(scope="module", autouse=True)
def tools():
    need(kustomize_missing())
    need(available())
    missing = [i for i in (f"localhost/framegate-dev-{n}:{os.environ.get('TAG', 'dev')}" for n in INFRA)
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
        "review": {**services, "FRAMEGATE_BIND": f"127.0.0.1:{port('review')}"},
        "ingest-relay": {**services, "FRAMEGATE_RELAY_PORT": str(port("ingest-relay"))},
        "transcode-relay": {**services, "FRAMEGATE_RELAY_PORT": str(port("transcode-relay"))},
        "transcode": {**services, "FRAMEGATE_OPS_PORT": str(port("transcode"))},
        "ingest-status": {**services, "FRAMEGATE_OPS_PORT": str(port("ingest-status"))},
        "transcode-dispatch": {**services, "FRAMEGATE_OPS_PORT": str(port("transcode-dispatch"))},
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
    assert set(deployments) == set(INFRA) | set(SERVICES), sorted(deployments)
    files = []
    for group in (INFRA, SERVICES):
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
        yield {"deployments": deployments, "secrets": secrets}
    finally:
        for path in reversed(files):
            podman("kube", "down", str(path), check=False, timeout=300)


def healthz(name: str) -> str:
    return f"http://127.0.0.1:{port(name)}/healthz"


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
    # The restricted settings of the manifests were applied by podman.
    names = podman("ps", "--format", "{{.Names}}").stdout.split()
    for name in (*INFRA, *SERVICES):
        workload = [n for n in names if n.startswith(f"fg-play-{name}-pod") and not n.endswith("-infra")]
        assert workload, f"no container for {name}: {names}"
        ro, user = podman("inspect", "--format", "{{.HostConfig.ReadonlyRootfs}} {{.Config.User}}",
                          workload[0]).stdout.split()
        assert ro == "true" and user.split(":")[0] == "10001", (name, ro, user)


def test_an_upload_through_the_played_dev_overlay_turns_ready(played, tmp_path_factory):
    ingest = f"http://127.0.0.1:{port('ingest')}"
    setup_key = played["secrets"][next(s for s in played["secrets"] if s.startswith("framegate-secrets"))][
        "FRAMEGATE_SETUP_KEY"]
    response = requests.post(f"{ingest}/api/v1/auth/bootstrap", headers={"X-Setup-Key": setup_key},
                             json={"email": f"play-{uuid.uuid4().hex[:6]}@example.test"}, timeout=30)
    # Each run starts from empty volumes, so the first admin is created here.
    assert response.status_code == 201, response.text

    class Api:
        def __init__(self, token):
            self.session = requests.Session()
            self.session.headers["Authorization"] = f"Bearer {token}"

        def __getattr__(self, method):
            return lambda path, **kw: self.session.request(method.upper(), ingest + path, timeout=120, **kw)

    api = Api(response.json()["token"])
    project = api.post("/api/v1/projects", json={"name": "Played"}).json()
    clip = media.make_mov_2997_df(tmp_path_factory.mktemp("play-media"))
    done = upload(api, project["id"], clip, asset="Played")
    assert done.status_code == 201, f"{done.text}\n{pods_report()}"
    version_id = done.json()["id"]
    deadline = time.monotonic() + 180
    status = None
    while time.monotonic() < deadline:
        status = api.get(f"/api/v1/versions/{version_id}").json()["status"]
        if status in ("ready", "failed"):
            break
        time.sleep(0.5)
    assert status == "ready", f"{status}\n{pods_report()}"
