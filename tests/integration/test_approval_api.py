"""The approval API through the stack's front door, with a real uploaded,
transcoded version: gates, submissions, decisions, refusals, advancing."""
from __future__ import annotations

import time
import uuid

import pytest
import requests

from services.common import accounts
from services.common.outbox import outbox_collection
from tests import media
from tests.conftest import Api
from tests.integration.uploading import upload, wait_for_status

A = "/api/v1/approval"


def signed_in(api_url, db, name):
    email = f"{name}-{uuid.uuid4().hex[:6]}@studio.test"
    accounts.create_user(db, email, name.title(), "member", "correct horse battery")
    token = requests.post(api_url + "/api/v1/auth/login",
                          json={"email": email, "password": "correct horse battery"}).json()["token"]
    api = Api(api_url, token)
    api.email = email
    return api


@pytest.fixture
def ready_version(admin, project, media_dir):
    done = upload(admin, project["id"], media.make_h264_2398(media_dir))
    assert done.status_code in (200, 201), done.text
    return wait_for_status(admin, done.json()["id"], {"ready"})


def test_templates_are_listed_and_shown(admin):
    listed = admin.get(f"{A}/templates").json()["templates"]
    assert {"standard": 9, "commercial": 5, "episodic": 12}.items() <= {t["name"]: t["stages"] for t in listed}.items()
    assert admin.get(f"{A}/templates/standard").json()["stages"][8]["title"] == "Client final"
    missing = admin.get(f"{A}/templates/nope")
    assert missing.status_code == 404 and missing.json()["error"] == "unknown_template"


def test_the_api_needs_a_sign_in(api_url):
    assert requests.get(f"{api_url}{A}/templates").status_code == 401


def test_bad_gates_are_refused_and_nothing_changes(admin, project):
    base = f"{A}/projects/{project['id']}"
    for body, code in [({"approvers": ["not-an-email"]}, "invalid_approver"),
                       ({"approvers": ["a@x.test"], "rule": "3"}, "invalid_rule"),
                       ({}, "invalid_gate")]:
        response = admin.put(f"{base}/stages/brief-concept/gate", json=body)
        assert response.status_code == 400 and response.json()["error"] == code, response.text
    assert admin.put(f"{base}/stages/nope/gate", json={"approvers": ["a@x.test"]}).json()["error"] == "unknown_stage"
    assert admin.get(f"{base}/stage").json()["status"] == "not_set"
    assert admin.put(f"{base}/workflow", json={"template": "nope"}).status_code == 404


def test_a_sequential_gate_from_submit_to_close(api_url, db, admin, project, ready_version):
    base = f"{A}/projects/{project['id']}"
    cd, client = signed_in(api_url, db, "director"), signed_in(api_url, db, "client")
    stranger = signed_in(api_url, db, "stranger")
    assert admin.put(f"{base}/workflow", json={"template": "commercial"}).status_code == 200
    refused = admin.post(f"{base}/submit", json={"version_id": ready_version["id"]})
    assert refused.status_code == 409 and refused.json()["error"] == "gate_not_set"
    gate = admin.put(f"{base}/stages/treatment/gate", json={
        "approvers": [cd.email, client.email], "sequential": True, "scope": "Story and tone only."})
    assert gate.status_code == 200, gate.text
    assert admin.post(f"{base}/submit", json={"version_id": "nope"}).status_code == 404
    stage = admin.post(f"{base}/submit", json={"version_id": ready_version["id"]}).json()
    assert (stage["stage"], stage["status"], stage["version_id"]) == ("treatment", "open", ready_version["id"])
    assert admin.put(f"{base}/workflow", json={"template": "standard"}).json()["error"] == "workflow_started"
    gate_id = stage["gate_id"]
    decisions = f"{A}/gates/{gate_id}/decisions"

    out_of_turn = client.post(decisions, json={"decision": "approve", "version_id": ready_version["id"]})
    assert out_of_turn.status_code == 409 and out_of_turn.json()["error"] == "out_of_turn"
    assert cd.email in out_of_turn.json()["message"]
    assert stranger.post(decisions, json={"decision": "approve"}).json()["error"] == "not_an_approver"
    assert cd.post(decisions, json={"decision": "approve", "version_id": "v-old"}).json()["error"] == "wrong_version"
    assert cd.post(decisions, json={"decision": "changes"}).json()["error"] == "reason_required"
    assert cd.post(decisions, json={"decision": "maybe"}).json()["error"] == "invalid_decision"
    assert db.approval_decisions.count_documents({"gate_id": gate_id}) == 0

    first = cd.post(decisions, json={"decision": "approve", "version_id": ready_version["id"]},
                    headers={"User-Agent": "Safari 18 on iPad"})
    assert first.status_code == 201, first.text
    recorded = first.json()["decision"]
    assert (recorded["email"], recorded["version_number"], recorded["sha256"]) == (
        cd.email, ready_version["number"], ready_version["sha256"])
    assert recorded["user_agent"] == "Safari 18 on iPad" and recorded["ip"] and recorded["decided_at"].endswith("Z")
    again = cd.post(decisions, json={"decision": "approve"})
    assert again.status_code == 200 and again.json()["created"] is False
    assert again.json()["decision"]["id"] == recorded["id"]

    early = admin.post(f"{base}/advance")
    assert early.status_code == 409 and client.email in early.json()["message"]
    assert early.json()["pending"] == [client.email]

    last = client.post(decisions, json={"decision": "approve"})
    assert last.status_code == 201 and last.json()["stage"]["closed"] is True
    closed = cd.post(decisions, json={"decision": "changes", "reason": "too late"})
    assert closed.status_code == 409 and closed.json()["error"] == "gate_closed"
    now = admin.get(f"{base}/stage").json()
    assert now["stage"] == "offline-edit" and now["status"] == "not_set"
    shown = admin.get(f"{base}/stage", params={"stage": "treatment"}).json()
    assert [(a["email"], a["decision"]) for a in shown["approvers"]] == [(cd.email, "approve"), (client.email, "approve")]
    assert shown["scope"] == "Story and tone only."
    kinds = [e["routing_key"] for e in db[outbox_collection("approval")].find({"body.project_id": project["id"]})]
    assert sorted(kinds) == sorted(["approval_recorded", "approval_recorded", "gate_closed", "version_locked",
                                    "stage_advanced"])
    # the approval relay publishes them (the outbox marks each one once RabbitMQ confirmed it)
    deadline = time.monotonic() + 60
    outbox = db[outbox_collection("approval")]
    while outbox.count_documents({"body.project_id": project["id"], "published": False}) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert outbox.count_documents({"body.project_id": project["id"], "published": True}) == 5


def test_bad_json_is_refused(admin, project):
    response = admin.post(f"{A}/projects/{project['id']}/submit", data="nope",
                          headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and response.json()["error"] == "invalid_json"
    assert admin.get(f"{A}/projects/unknown-project/stage").status_code == 404
