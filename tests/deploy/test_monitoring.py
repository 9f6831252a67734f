"""The monitoring config is accepted by promtool, its alerts fire on the series
they watch (promtool unit tests), and the dashboard's and alerts' queries parse
and name only metrics the platform exports."""
from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.deploy.manifests import REPO, have_promtool
from tests.deploy.needs import need

MONITORING = REPO / "deploy" / "monitoring"


@pytest.fixture(scope="module", autouse=True)
def promtool():
    need(have_promtool())


def promtool_run(*args: str, cwd: Path = MONITORING) -> str:
    out = subprocess.run(["promtool", *args], capture_output=True, text=True, cwd=cwd)
    assert out.returncode == 0, f"promtool {' '.join(args)}:\n{out.stdout}\n{out.stderr}"
    return out.stdout


def test_promtool_accepts_the_alert_rules():
    assert "SUCCESS" in promtool_run("check", "rules", "alerts.yml")


def test_the_alerts_fire_on_the_series_they_watch():
    promtool_run("test", "rules", "alerts_test.yml")


def test_promtool_accepts_the_scrape_config(tmp_path):
    config = yaml.safe_load((MONITORING / "prometheus.yml").read_text())
    # Debian's promtool is built without Kubernetes service discovery, so
    # kubernetes_sd_configs are checked here by hand and swapped for a static
    # target before promtool checks the rest (relabelling, rule files, ...).
    for job in config["scrape_configs"]:
        for sd in job.pop("kubernetes_sd_configs", []):
            assert sd["role"] in {"node", "service", "pod", "endpoints", "endpointslice", "ingress"}
            assert set(sd) <= {"role", "namespaces", "selectors", "api_server", "attach_metadata"}
            job.setdefault("static_configs", [{"targets": ["placeholder:9090"]}])
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    (tmp_path / "alerts.yml").write_text((MONITORING / "alerts.yml").read_text())
    promtool_run("check", "config", "prometheus.yml", cwd=tmp_path)


def dashboard_queries() -> list[str]:
    dash = json.loads((MONITORING / "grafana-dashboard.json").read_text())
    exprs = [t["expr"] for p in dash["panels"] for t in p.get("targets", [])]
    assert exprs
    return exprs


def test_the_dashboard_queries_parse(tmp_path):
    # Grafana's variables become values, then promtool parses each query as a
    # recording rule.
    rules = [{"record": f"dashboard:query{i}",
              "expr": e.replace("$__rate_interval", "5m").replace("$service", ".*")}
             for i, e in enumerate(dashboard_queries())]
    (tmp_path / "dashboard-rules.yml").write_text(yaml.safe_dump({"groups": [{"name": "d", "rules": rules}]}))
    promtool_run("check", "rules", "dashboard-rules.yml", cwd=tmp_path)


def test_the_dashboard_covers_the_platform_metrics():
    text = " ".join(dashboard_queries())
    for metric in ("framegate_http_requests_total", "framegate_http_request_seconds_bucket",
                   "framegate_outbox_oldest_pending_seconds", "framegate_outbox_published_total",
                   "framegate_outbox_publish_failures_total", "framegate_events_handler_failures_total",
                   "framegate_events_dead_lettered_total"):
        assert metric in text, metric


def test_every_framegate_metric_queried_is_exported_by_a_service():
    rules = yaml.safe_load((MONITORING / "alerts.yml").read_text())
    exprs = [r["expr"] for g in rules["groups"] for r in g["rules"]] + dashboard_queries()
    queried = set(re.findall(r"\bframegate_[a-z_]+", " ".join(exprs)))
    source = " ".join(p.read_text() for p in (REPO / "services").rglob("*.py"))
    missing = []
    for metric in sorted(queried):
        base = re.sub(r"_(bucket|sum|count)$", "", metric)
        if f'"{base}"' not in source and f'"{base.removesuffix("_total")}"' not in source:
            missing.append(metric)
    assert not missing, f"no service exports {missing}"
