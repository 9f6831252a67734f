"""The ingest service describes itself: OpenAPI, health, metrics."""
from __future__ import annotations

import re

import requests

from services.common.settings import local_port
from services.ingest.app import create_app

INGEST = f"http://127.0.0.1:{local_port('ingest')}"  # health and metrics are on the service's own port


def test_openapi_document_describes_every_route(admin, settings):
    spec = admin.get("/api/v1/openapi.json").json()
    assert spec["openapi"].startswith("3.")
    documented = {(path, method) for path, ops in spec["paths"].items() for method in ops if method != "parameters"}
    app = create_app(settings)
    for rule in app.url_map.iter_rules():
        if rule.rule in ("/healthz", "/metrics"):
            continue
        path = re.sub(r"<([^>]+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (path, method.lower()) in documented, (path, method)


def test_healthz_reports_each_dependency():
    body = requests.get(INGEST + "/healthz", timeout=30).json()
    assert body == {"status": "ok", "checks": {"mongo": "ok", "s3": "ok", "amqp": "ok"}}


def test_metrics_count_requests_by_route_not_by_id(admin):
    admin.get("/api/v1/versions/some-id-that-does-not-exist")
    text = requests.get(INGEST + "/metrics", timeout=30).text
    assert 'endpoint="/api/v1/versions/<version_id>"' in text
    assert "some-id-that-does-not-exist" not in text
    assert "framegate_http_request_seconds_bucket" in text
