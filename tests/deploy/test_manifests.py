"""Every overlay renders, every object validates against the Kubernetes schemas
(strict, pinned version; KEDA objects against the fields KEDA documents), and
every workload follows the platform's rules: probes, resources, restricted pod
security, a PodDisruptionBudget, default-deny NetworkPolicies, metrics scraped,
and transcode workers that scale on the queue and outlive their longest job."""
from __future__ import annotations

import subprocess

import kubernetes_validate
import pytest

from tests.deploy.manifests import K8S, OVERLAYS, REPO, kustomize_missing, render
from tests.deploy.needs import need

# The oldest Kubernetes minor the manifests support (autoscaling/v2, policy/v1,
# PodSecurity admission, networking/v1 are all GA well before it).
KUBERNETES_VERSION = "1.30.0"
SERVICES = {"ingest": 8080, "ingest-relay": 9101, "transcode": 9102, "ingest-status": 9103,
            "transcode-dispatch": 9104, "transcode-relay": 9105, "review": 8080, "ingest-reconciler": 9106,
            "approval": 8080, "approval-relay": 9107, "review-relay": 9108}
ORIGIN_PORT = 8081  # review's CDN origin
# Time a worker needs after its job limit to store what it made and record the outcome.
SHUTDOWN_MARGIN_SECONDS = 600
KEDA_KINDS = {"ScaledObject", "TriggerAuthentication"}


@pytest.fixture(scope="module", autouse=True)
def kustomize_built():
    need(kustomize_missing())


@pytest.fixture(scope="module", params=OVERLAYS)
def overlay(request):
    return request.param, render(request.param)


def test_the_overlays_are_dev_prod_and_prod_without_keda():
    assert OVERLAYS == ["dev", "prod", "prod-hpa"]


def of_kind(objects, kind):
    return [o for o in objects if o["kind"] == kind]


def named(objects, kind, name):
    found = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert found, f"no {kind} {name}"
    return found[0]


def test_every_object_validates_strictly_against_the_kubernetes_schemas(overlay):
    name, objects = overlay
    errors = []
    for obj in objects:
        if obj["kind"] in KEDA_KINDS:
            continue  # CRDs: checked against KEDA's documented fields below
        try:
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as err:
            errors.append(f"{obj['kind']}/{obj['metadata']['name']}: {err.message} at {list(err.path)}")
    assert not errors, "\n".join(errors)


# ---------------------------------------------------------------- KEDA objects

# Fields of ScaledObject (keda.sh/v1alpha1) and of the rabbitmq trigger, as
# KEDA 2.x documents them (keda.sh/docs/2.x/concepts/scaling-deployments and
# /scalers/rabbitmq-queue).
SCALED_OBJECT_SPEC = {"scaleTargetRef", "pollingInterval", "cooldownPeriod", "initialCooldownPeriod",
                      "idleReplicaCount", "minReplicaCount", "maxReplicaCount", "fallback", "advanced",
                      "triggers"}
SCALE_TARGET_REF = {"apiVersion", "kind", "name", "envSourceContainerName"}
TRIGGER = {"type", "name", "metadata", "authenticationRef", "metricType", "useCachedMetrics"}
RABBITMQ_METADATA = {"host", "protocol", "mode", "value", "activationValue", "queueName", "vhostName",
                     "hostFromEnv", "usernameFromEnv", "passwordFromEnv", "useRegex",
                     "excludeUnacknowledged", "pageSize", "operation", "timeout", "unsafeSsl"}
RABBITMQ_AUTH_PARAMETERS = {"host", "username", "password", "ca", "cert", "key", "keyPassword", "tls",
                            "unsafeSsl"}


def test_keda_objects_use_only_the_fields_keda_documents_for_the_rabbitmq_scaler(overlay):
    name, objects = overlay
    scaled = of_kind(objects, "ScaledObject")
    if name != "prod":
        assert not scaled, f"{name} should scale transcode with the HPA, not KEDA"
        assert named(objects, "HorizontalPodAutoscaler", "transcode")
        return
    (so,) = scaled
    assert so["apiVersion"] == "keda.sh/v1alpha1"
    spec = so["spec"]
    assert set(spec) <= SCALED_OBJECT_SPEC, set(spec) - SCALED_OBJECT_SPEC
    assert set(spec["scaleTargetRef"]) <= SCALE_TARGET_REF
    assert spec["scaleTargetRef"]["name"] == "transcode"
    assert named(objects, "Deployment", spec["scaleTargetRef"]["name"])
    assert 0 <= spec["minReplicaCount"] < spec["maxReplicaCount"]
    assert spec["cooldownPeriod"] >= 300 and spec["pollingInterval"] > 0
    assert set(spec["fallback"]) <= {"failureThreshold", "replicas", "behavior"}
    assert set(spec["advanced"]) <= {"restoreToOriginalReplicaCount", "horizontalPodAutoscalerConfig",
                                     "scalingModifiers"}
    # The HPA behaviour KEDA passes on is the Kubernetes one: validate it as such.
    behavior = spec["advanced"]["horizontalPodAutoscalerConfig"]["behavior"]
    kubernetes_validate.validate({
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "x"},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "transcode"},
                 "minReplicas": 1, "maxReplicas": 2, "behavior": behavior}}, KUBERNETES_VERSION, strict=True)

    (trigger,) = spec["triggers"]
    assert set(trigger) <= TRIGGER and trigger["type"] == "rabbitmq"
    meta = trigger["metadata"]
    assert set(meta) <= RABBITMQ_METADATA, set(meta) - RABBITMQ_METADATA
    assert all(isinstance(v, str) for v in meta.values()), "trigger metadata values are strings"
    assert meta["queueName"] == "transcode" and meta["mode"] == "QueueLength"
    # Over the management API unacked messages (running jobs) count too, so
    # busy workers are not scaled in.
    assert meta["protocol"] == "http" and meta.get("excludeUnacknowledged", "false") == "false"
    assert float(meta["value"]) >= 1
    assert "host" not in meta, "credentials belong in the TriggerAuthentication's Secret"

    auth = named(objects, "TriggerAuthentication", trigger["authenticationRef"]["name"])
    assert auth["apiVersion"] == "keda.sh/v1alpha1" and set(auth["spec"]) == {"secretTargetRef"}
    for ref in auth["spec"]["secretTargetRef"]:
        assert set(ref) == {"parameter", "name", "key"} and ref["parameter"] in RABBITMQ_AUTH_PARAMETERS


def test_the_hpa_fallback_scales_transcode_and_scales_in_slowly(overlay):
    name, objects = overlay
    if name == "prod":
        assert not of_kind(objects, "HorizontalPodAutoscaler"), "KEDA makes its own HPA"
        return
    hpa = named(objects, "HorizontalPodAutoscaler", "transcode")
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "transcode"}
    assert hpa["spec"]["behavior"]["scaleDown"]["stabilizationWindowSeconds"] >= 300


# ------------------------------------------------------------------ workloads


def pod_specs(objects):
    for d in of_kind(objects, "Deployment"):
        yield d["metadata"]["name"], d["spec"]["template"]


def test_every_workload_runs_restricted(overlay):
    _, objects = overlay
    for name, template in pod_specs(objects):
        pod = template["spec"]
        sc = pod["securityContext"]
        assert sc["runAsNonRoot"] is True and sc["runAsUser"] != 0, name
        assert sc["seccompProfile"] == {"type": "RuntimeDefault"}, name
        assert pod.get("automountServiceAccountToken") is False, name
        assert not pod.get("hostNetwork") and not pod.get("hostPID") and not pod.get("hostIPC"), name
        for c in pod["containers"] + pod.get("initContainers", []):
            csc = c["securityContext"]
            assert csc["allowPrivilegeEscalation"] is False, (name, c["name"])
            assert csc["readOnlyRootFilesystem"] is True, (name, c["name"])
            assert csc["capabilities"] == {"drop": ["ALL"]}, (name, c["name"])
            assert csc["runAsNonRoot"] is True and csc.get("privileged") is not True, (name, c["name"])
            assert csc["seccompProfile"] == {"type": "RuntimeDefault"}, (name, c["name"])
            # A read-only root needs a writable /tmp volume.
            assert any(m["mountPath"] == "/tmp" for m in c["volumeMounts"]), (name, c["name"])
        assert not any("hostPath" in v for v in pod.get("volumes", [])), name


def test_every_workload_has_probes_requests_and_limits(overlay):
    _, objects = overlay
    for name, template in pod_specs(objects):
        for c in template["spec"]["containers"]:
            res = c["resources"]
            for key in ("cpu", "memory"):
                assert key in res["requests"] and key in res["limits"], (name, c["name"], key)
            assert "readinessProbe" in c and "livenessProbe" in c, (name, c["name"])
            assert c["image"].split(":")[-1] not in ("latest", c["image"]), f"{name}: pin a tag"
            if name in SERVICES:
                port = {p["name"]: p["containerPort"] for p in c["ports"]}
                for probe in ("readinessProbe", "livenessProbe"):
                    get = c[probe]["httpGet"]
                    assert get["path"] == "/healthz", (name, probe)
                    assert port[get["port"]] == SERVICES[name], (name, probe)
                # A dependency outage takes a pod out of service quickly but
                # restarts it only after a sustained failure.
                live, ready = c["livenessProbe"], c["readinessProbe"]
                assert (live["periodSeconds"] * live["failureThreshold"]
                        > ready["periodSeconds"] * ready["failureThreshold"]), name


def selects(selector: dict, labels: dict) -> bool:
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for expr in selector.get("matchExpressions", []):
        value = labels.get(expr["key"])
        if expr["operator"] == "In" and value not in expr["values"]:
            return False
        if expr["operator"] == "NotIn" and value in expr["values"]:
            return False
        if expr["operator"] == "Exists" and expr["key"] not in labels:
            return False
    return True


def test_every_workload_has_a_pod_disruption_budget_that_allows_a_drain(overlay):
    _, objects = overlay
    replicas = {d["metadata"]["name"]: d["spec"].get("replicas", 1) for d in of_kind(objects, "Deployment")}
    for name, template in pod_specs(objects):
        pdbs = [p for p in of_kind(objects, "PodDisruptionBudget")
                if selects(p["spec"]["selector"], template["metadata"]["labels"])]
        assert len(pdbs) == 1, f"{name}: {len(pdbs)} PodDisruptionBudgets"
        spec = pdbs[0]["spec"]
        if "minAvailable" in spec:  # a drain must still be possible
            assert spec["minAvailable"] < replicas[name], name


def test_network_policies_deny_by_default_and_open_only_named_ports(overlay):
    _, objects = overlay
    policies = of_kind(objects, "NetworkPolicy")
    deny = named(objects, "NetworkPolicy", "default-deny")
    assert deny["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    for p in policies:
        for rule in p["spec"].get("ingress", []) + p["spec"].get("egress", []):
            assert rule.get("ports"), f"{p['metadata']['name']}: a rule without ports opens everything"
            for peer in rule.get("from", []) + rule.get("to", []):
                assert "ipBlock" not in peer or peer["ipBlock"]["cidr"] != "0.0.0.0/0" or peer[
                    "ipBlock"].get("except"), p["metadata"]["name"]
    # Every workload can reach DNS and is reachable on its ports only through a policy.
    for name, template in pod_specs(objects):
        labels = template["metadata"]["labels"]
        mine = [p for p in policies if selects(p["spec"]["podSelector"], labels)]
        assert any(p["metadata"]["name"] == "allow-dns" for p in mine), name
        if name in SERVICES:
            allowed_in = {port["port"] for p in mine for rule in p["spec"].get("ingress", [])
                          for port in rule["ports"]}
            assert SERVICES[name] in allowed_in, f"{name}: Prometheus cannot scrape it"


def test_services_are_scraped_and_http_is_behind_services_and_an_ingress(overlay):
    _, objects = overlay
    services = {s["metadata"]["name"]: s for s in of_kind(objects, "Service")}
    for name, template in pod_specs(objects):
        if name not in SERVICES:
            continue
        ann = template["metadata"]["annotations"]
        assert ann["prometheus.io/scrape"] == "true" and ann["prometheus.io/path"] == "/metrics"
        assert int(ann["prometheus.io/port"]) == SERVICES[name]
        assert selects({"matchLabels": services[name]["spec"]["selector"]}, template["metadata"]["labels"])
    (ingress,) = of_kind(objects, "Ingress")
    for rule in ingress["spec"]["rules"]:
        for path in rule["http"]["paths"]:
            backend = path["backend"]["service"]
            svc = services[backend["name"]]
            assert backend["port"]["name"] in {p["name"] for p in svc["spec"]["ports"]}


def test_transcode_outlives_its_longest_job_and_rolls_without_killing_jobs(overlay):
    _, objects = overlay
    transcode = named(objects, "Deployment", "transcode")
    spec = transcode["spec"]
    (config,) = [c for c in of_kind(objects, "ConfigMap") if c["metadata"]["name"].startswith("framegate-config")]
    limit = float(config["data"]["FRAMEGATE_TRANSCODE_TIME_LIMIT"])  # the workers enforce it
    assert spec["template"]["spec"]["terminationGracePeriodSeconds"] == limit + SHUTDOWN_MARGIN_SECONDS
    assert spec["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    args = spec["template"]["spec"]["containers"][0]["args"]
    assert args[:6] == ["celery", "-A", "services.transcode.tasks", "worker", "-Q", "transcode"]
    assert "--prefetch-multiplier" in args and args[args.index("--prefetch-multiplier") + 1] == "1"


def test_every_workload_reads_its_settings_from_the_configmap_and_secrets(overlay):
    name, objects = overlay
    configmaps = {c["metadata"]["name"] for c in of_kind(objects, "ConfigMap")}
    secrets = {s["metadata"]["name"] for s in of_kind(objects, "Secret")}
    for workload, template in pod_specs(objects):
        if workload not in SERVICES:
            continue
        (container,) = template["spec"]["containers"]
        sources = container["envFrom"]
        assert any(s.get("configMapRef", {}).get("name") in configmaps for s in sources), workload
        secret = [s["secretRef"]["name"] for s in sources if "secretRef" in s]
        assert secret, workload
        if name == "dev":
            assert secret[0] in secrets  # generated, with a content hash
        else:
            assert secret == ["framegate-secrets"]  # made outside the repository
        for env in container.get("env", []):
            assert "SECRET" not in env["name"] and "PASSWORD" not in env["name"] or "valueFrom" in env


def test_prod_commits_no_secret_and_dev_secrets_are_git_ignored(overlay):
    name, objects = overlay
    if name != "dev":
        assert not of_kind(objects, "Secret")
        return
    for f in ("secrets.env", "infra-secrets.env"):
        path = K8S / "overlays" / "dev" / f
        assert subprocess.run(["git", "-C", str(REPO), "check-ignore", "-q", str(path)]).returncode == 0, f
    tracked = subprocess.run(["git", "-C", str(REPO), "ls-files", "k8s"], capture_output=True,
                             text=True).stdout.split()
    assert not [t for t in tracked if t.endswith("secrets.env")]


def test_the_namespace_enforces_the_restricted_pod_security_standard(overlay):
    _, objects = overlay
    (ns,) = of_kind(objects, "Namespace")
    assert ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    namespaced = [o for o in objects if o["kind"] != "Namespace"]
    assert {o["metadata"].get("namespace") for o in namespaced} == {ns["metadata"]["name"]}


# ------------------------------------------------------------- the dev CDN


def test_the_dev_cdn_is_the_single_front_door_and_reaches_only_ingest_and_review(overlay):
    """dev: nginx (framegate-dev-cdn) behind the Ingress, as in the local stack;
    prod: no CDN in the cluster (a real one in front of it, k8s/README.md)."""
    name, objects = overlay
    deployments = {d["metadata"]["name"]: d for d in of_kind(objects, "Deployment")}
    if name != "dev":
        assert "cdn" not in deployments, f"{name}: production uses an external CDN"
        return
    template = deployments["cdn"]["spec"]["template"]
    (c,) = template["spec"]["containers"]
    assert c["image"] == "localhost/framegate-dev-cdn:dev"
    env = {e["name"]: e for e in c["env"]}
    # Only the key the CDN secrets derive from, by reference: not envFrom the
    # services' Secret (the database and broker credentials are not nginx's).
    assert "envFrom" not in c
    secrets = {s["metadata"]["name"] for s in of_kind(objects, "Secret")}
    ref = env["FRAMEGATE_SECRET_KEY"]["valueFrom"]["secretKeyRef"]
    assert ref["key"] == "FRAMEGATE_SECRET_KEY" and ref["name"] in secrets and ref["name"].startswith(
        "framegate-secrets")
    services = {s["metadata"]["name"]: s for s in of_kind(objects, "Service")}
    for var, svc in (("NGINX_INGEST_UPSTREAM", "ingest"), ("NGINX_REVIEW_UPSTREAM", "review"),
                     ("NGINX_APPROVAL_UPSTREAM", "approval")):
        host, port = env[var]["value"].split(":")
        assert host == svc and int(port) in {p["port"] for p in services[svc]["spec"]["ports"]}, var
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    assert int(env["NGINX_LISTEN"]["value"]) == ports["http"]
    assert selects({"matchLabels": services["cdn"]["spec"]["selector"]}, template["metadata"]["labels"])

    # Everything of the platform's host goes through the CDN.
    (ingress,) = of_kind(objects, "Ingress")
    platform = [r for r in ingress["spec"]["rules"] if r["host"].startswith("framegate.")]
    assert {p["backend"]["service"]["name"] for r in platform for p in r["http"]["paths"]} == {"cdn"}

    policies = of_kind(objects, "NetworkPolicy")
    labels_of = {n: d["spec"]["template"]["metadata"]["labels"] for n, d in deployments.items()}

    def rules(workload: str, direction: str):
        key, peers = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
        for p in policies:
            if direction in p["spec"]["policyTypes"] and selects(p["spec"]["podSelector"], labels_of[workload]):
                for rule in p["spec"].get(key, []):
                    yield p["metadata"]["name"], rule.get(peers, []), {port["port"] for port in rule["ports"]}

    # In: from the ingress controller, on nginx's port, and nothing else.
    for policy, peers, port_set in rules("cdn", "Ingress"):
        assert port_set == {ports["http"]}, policy
        assert peers and all(set(peer) == {"namespaceSelector"} and peer["namespaceSelector"] == {
            "matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}} for peer in peers), policy
    # Out: DNS, then ingest's, review's and approval's pods on their HTTP port,
    # review's origin port, nothing else.
    reached = set()
    for policy, peers, port_set in rules("cdn", "Egress"):
        if policy == "allow-dns":
            continue
        assert port_set in ({8080}, {ORIGIN_PORT}), policy
        for peer in peers:
            assert set(peer) == {"podSelector"} and peer["podSelector"], policy
            targets = {n for n, labels in labels_of.items() if selects(peer["podSelector"], labels)}
            assert port_set == {8080} or targets == {"review"}, policy
            reached |= targets
    assert reached == {"approval", "ingest", "review"}
    assert env["NGINX_REVIEW_ORIGIN_UPSTREAM"]["value"] == f"review:{ORIGIN_PORT}"
    # ... which let it in; the ingress controller reaches them no longer.
    for svc in ("approval", "ingest", "review"):
        froms = [(peers, port_set) for _, peers, port_set in rules(svc, "Ingress")]
        assert any(8080 in port_set and any("podSelector" in peer and selects(peer["podSelector"], labels_of["cdn"])
                                            for peer in peers) for peers, port_set in froms), svc
        assert not any(peer.get("namespaceSelector", {}).get("matchLabels", {}).get("kubernetes.io/metadata.name")
                       == "ingress-nginx" for peers, _ in froms for peer in peers), svc


# ------------------------------------------------- what is public, and what is not


def ingress_backend(ingress: dict, path: str) -> str | None:
    """The Service a request path reaches (Exact first, then the longest Prefix, as Kubernetes matches)."""
    best, best_len = None, -1
    for rule in ingress["spec"]["rules"]:
        if not rule["host"].startswith("framegate."):
            continue
        for p in rule["http"]["paths"]:
            rule_path, kind = p["path"], p["pathType"]
            if kind == "Exact" and path == rule_path:
                return p["backend"]["service"]["name"]
            prefix = rule_path.rstrip("/")
            if kind == "Prefix" and (path == rule_path or path.startswith(prefix + "/")) and len(prefix) > best_len:
                best, best_len = p["backend"]["service"]["name"], len(prefix)
    return best


NOT_PUBLIC = ("/metrics", "/healthz", "/_origin/renditions/p/v/poster.jpg")
PUBLIC = {"/api/v1/projects": "ingest", "/": "review", "/signin": "review", "/projects/p": "review",
          "/versions/v": "review", "/static/app.js": "review",
          "/api/v1/review/versions/v/notes": "review", "/l/token": "review", "/links/l/access": "review",
          "/api/v1/approval/projects/p/stage": "approval", "/verify/c": "approval"}


def test_metrics_health_and_the_origin_are_not_on_the_public_ingress(overlay):
    name, objects = overlay
    (ingress,) = of_kind(objects, "Ingress")
    if name == "dev":
        # One front door: the dev CDN (the local stack's nginx template) gets
        # everything and refuses these itself (checked against the local stack
        # in tests/integration/test_access.py).
        assert {ingress_backend(ingress, path) for path in (*NOT_PUBLIC, *PUBLIC)} == {"cdn"}
        return
    for path in NOT_PUBLIC:
        assert ingress_backend(ingress, path) is None, f"{name}: the Ingress routes {path}"
    for path, service in PUBLIC.items():
        assert ingress_backend(ingress, path) == service, (name, path)


def test_reviews_origin_has_its_own_port_open_only_to_the_cdn(overlay):
    name, objects = overlay
    review = named(objects, "Deployment", "review")["spec"]["template"]
    (c,) = review["spec"]["containers"]
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    env = {e["name"]: e.get("value") for e in c["env"]}
    assert ports["origin"] == ORIGIN_PORT != ports["http"]
    assert env["FRAMEGATE_ORIGIN_PORT"] == str(ORIGIN_PORT) and env["FRAMEGATE_ORIGIN_BIND"].endswith(f":{ORIGIN_PORT}")
    # probes stay on the http port, where /healthz answers
    assert c["readinessProbe"]["httpGet"]["port"] == c["livenessProbe"]["httpGet"]["port"] == "http"
    service = named(objects, "Service", "review")
    assert {"name": "origin", "port": ORIGIN_PORT, "targetPort": "origin", "protocol": "TCP"} in service["spec"]["ports"]
    admitted = []
    for p in of_kind(objects, "NetworkPolicy"):
        if "Ingress" not in p["spec"]["policyTypes"] or not selects(p["spec"]["podSelector"], review["metadata"]["labels"]):
            continue
        for rule in p["spec"].get("ingress", []):
            if ORIGIN_PORT in {port["port"] for port in rule["ports"]}:
                for peer in rule["from"]:
                    assert set(peer) == {"podSelector"} and peer["podSelector"] == {
                        "matchLabels": {"app.kubernetes.io/name": "cdn"}}, p["metadata"]["name"]
                admitted.append(p["metadata"]["name"])
    assert admitted == ["review-origin-from-cdn"]


def test_sign_in_hashing_fits_the_memory_limit_of_ingest_and_review(overlay):
    """Argon2id holds its memory while it hashes; the hashes a pod runs at once
    (FRAMEGATE_MAX_CONCURRENT_HASHES) must fit well inside its limit."""
    from services.common.settings import Settings

    _, objects = overlay
    config = named(objects, "ConfigMap", next(c["metadata"]["name"] for c in of_kind(objects, "ConfigMap")
                                              if c["metadata"]["name"].startswith("framegate-config")))["data"]
    defaults = Settings()
    memory = int(config.get("FRAMEGATE_ARGON2_MEMORY_KIB", defaults.argon2_memory_kib)) * 1024
    at_once = int(config.get("FRAMEGATE_MAX_CONCURRENT_HASHES", defaults.max_concurrent_hashes))
    assert memory >= 19 * 1024 * 1024 and at_once >= 1
    units = {"Mi": 1024**2, "Gi": 1024**3}
    for name in ("ingest", "review"):
        (c,) = named(objects, "Deployment", name)["spec"]["template"]["spec"]["containers"]
        limit = c["resources"]["limits"]["memory"]
        limit_bytes = int(limit[:-2]) * units[limit[-2:]]
        assert at_once * memory <= limit_bytes / 4, f"{name}: {at_once} hashes of {memory} bytes in {limit}"
