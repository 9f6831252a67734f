"""Who reaches the approval API: every route needs a user or a token, except
the verifier's two (the public page and the PDF check)."""
from __future__ import annotations

import re

import requests

from services.approval.app import create_app
from tests.integration.test_access import ingest_routes

APPROVAL_PUBLIC = {"/healthz", "/metrics", "/verify/<certificate_id>", "/api/v1/approval/certificates/verify",
                   "/api/v1/approval/openapi.json"}


def test_every_approval_route_refuses_callers_without_credentials(settings, api_url):
    checked = 0
    for rule, method, path in ingest_routes(settings, create_app):
        if rule in APPROVAL_PUBLIC:
            continue
        for headers in ({}, {"Authorization": "Bearer fg_not-a-real-token"}):
            response = requests.request(method, api_url + path, headers=headers, json={}, timeout=30)
            assert response.status_code == 401, (method, path, headers, response.status_code)
            assert response.json()["error"] == "unauthorized"
        checked += 1
    assert checked >= 10


def test_the_verifier_needs_nothing(api_url):
    assert requests.get(f"{api_url}/verify/{'0' * 32}").status_code == 404  # answered, not 401
    response = requests.post(f"{api_url}/api/v1/approval/certificates/verify", data=b"%PDF-1.4",
                             headers={"Content-Type": "application/pdf"})
    assert response.status_code == 200 and response.json()["valid"] is False


def test_the_openapi_document_describes_every_route(api_url, settings):
    spec = requests.get(f"{api_url}/api/v1/approval/openapi.json").json()
    documented = {(path, method) for path, ops in spec["paths"].items() for method in ops}
    for rule in create_app(settings).url_map.iter_rules():
        if rule.rule in ("/healthz", "/metrics", "/static/<path:filename>"):
            continue
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (re.sub(r"<([^>]+)>", r"{\1}", rule.rule), method.lower()) in documented, (rule.rule, method)
    public = {path for path, ops in spec["paths"].items() for op in ops.values() if op.get("security") == []}
    assert public == {"/api/v1/approval/openapi.json", "/api/v1/approval/certificates/verify", "/verify/{certificate_id}"}
