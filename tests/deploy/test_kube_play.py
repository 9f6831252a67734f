"""The dev overlay's service Deployments run under `podman kube play` with the
locally built images (host network) against the local stack, and answer on
/healthz. kube play runs Deployments only: Services, the Ingress, NetworkPolicies
and the HPA are validated offline (test_manifests.py); the dev overlay's own
RabbitMQ/FerretDB/S3 Deployments are replaced by the local stack's servers."""
from __future__ import annotations

import copy
import os
import time

import pytest
import requests
import yaml

from tests.deploy.manifests import kustomize_missing, render
from tests.deploy.needs import need
from tests.deploy.podman import available, podman, stack_env

pytestmark = pytest.mark.slow
PLAYED = {"ingest": 301, "ingest-relay": 302}  # Deployment -> host port offset from the stack's base


@pytest.fixture(scope="module", autouse=True)
def tools():
    need(kustomize_missing())
    need(available())


def port(offset: int) -> int:
    return int(os.environ.get("FRAMEGATE_PORT_BASE", "18000")) + offset


def for_host_network(deployment: dict) -> dict:
    """The Deployment as rendered, with what kube play cannot resolve made
    concrete: the ConfigMap/Secret become the local stack's settings, and the
    ports move off the defaults so they do not collide on the host network."""
    d = copy.deepcopy(deployment)
    name = d["metadata"]["name"]
    d["spec"]["replicas"] = 1
    (c,) = d["spec"]["template"]["spec"]["containers"]
    c.pop("envFrom")
    env = {e["name"]: e["value"] for e in c.get("env", [])}
    env.update(stack_env())
    host_port = port(PLAYED[name])
    if name == "ingest":
        env["FRAMEGATE_BIND"] = f"127.0.0.1:{host_port}"
    else:
        env["FRAMEGATE_RELAY_PORT"] = str(host_port)
        env["FRAMEGATE_BIND_HOST"] = "127.0.0.1"
    c["env"] = [{"name": k, "value": v} for k, v in env.items()]
    # On the host network the process's own port is the host port; podman
    # refuses port mappings there.
    c.pop("ports")
    # podman turns probes into healthchecks that run curl, which the images
    # do not carry; the test checks /healthz from outside instead.
    c.pop("readinessProbe"), c.pop("livenessProbe")
    d["metadata"]["name"] = f"fg-play-{name}"
    return d


@pytest.fixture
def played(tmp_path):
    objects = render("dev")
    deployments = [for_host_network(o) for o in objects
                   if o["kind"] == "Deployment" and o["metadata"]["name"] in PLAYED]
    assert len(deployments) == len(PLAYED)
    path = tmp_path / "dev-deployments.yaml"
    path.write_text(yaml.safe_dump_all(deployments))
    podman("kube", "down", str(path), check=False)
    podman("kube", "play", "--network", "host", str(path), timeout=180)
    yield deployments
    podman("kube", "down", str(path), check=False, timeout=180)


def test_dev_deployments_run_under_kube_play_and_answer_on_healthz(played):
    urls = {name: f"http://127.0.0.1:{port(offset)}/healthz" for name, offset in PLAYED.items()}
    deadline = time.monotonic() + 60
    answers: dict[str, object] = {}
    while time.monotonic() < deadline and set(answers) != set(urls):
        for name, url in urls.items():
            try:
                r = requests.get(url, timeout=2)
                if r.status_code == 200:
                    answers[name] = r.json()
            except requests.RequestException:
                pass
        time.sleep(0.5)
    logs = podman("pod", "ps", "--format", "{{.Name}} {{.Status}}", check=False).stdout
    assert set(answers) == set(urls), f"answered: {answers}\npods:\n{logs}"
    assert answers["ingest"]["checks"] == {"amqp": "ok", "mongo": "ok", "s3": "ok"}
    assert answers["ingest-relay"]["status"] == "ok"
    # The restricted settings of the manifests were applied by podman.
    for name in PLAYED:
        info = podman("ps", "--format", "{{.Names}}", check=False).stdout.split()
        workload = [n for n in info if n.startswith(f"fg-play-{name}-pod") and not n.endswith("-infra")]
        assert workload, f"no container for {name}: {info}"
        inspect = podman("inspect", "--format", "{{.HostConfig.ReadonlyRootfs}} {{.Config.User}}",
                         workload[0]).stdout.split()
        assert inspect[0] == "true", (name, inspect)
