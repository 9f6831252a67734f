"""The approval API through the stack's front door, with a real uploaded,
transcoded version: gates, submissions, decisions, refusals, advancing."""
from __future__ import annotations

import uuid

import pytest
import requests
from kombu import Connection, Exchange, Queue

from services.common import accounts
from services.common.outbox import outbox_collection
from tests import media
from tests.conftest import Api, add_member
from tests.integration.test_events_delivery import receive
from tests.integration.uploading import upload, wait_for_status

A = "/api/v1/approval"


def signed_in(api_url, db, name, admin=None, project=None, role="viewer"):
    """A signed-in user, made a member of the project (approvers must be able to see it)."""
    email = f"{name}-{uuid.uuid4().hex[:6]}@studio.test"
    accounts.create_user(db, email, name.title(), "member", "correct horse battery")
    token = requests.post(api_url + "/api/v1/auth/login",
                          json={"email": email, "password": "correct horse battery"}).json()["token"]
    api = Api(api_url, token)
    api.email = email
    if project is not None:
        add_member(admin, project["id"], email, role)
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


@pytest.fixture
def approval_listener(settings):
    """A durable queue bound to every approval event, as a consumer service would have."""
    queue = Queue(f"test-approval-{uuid.uuid4().hex[:8]}", Exchange("approval.events", type="topic", durable=True),
                  routing_key="#", durable=True)
    with Connection(settings.amqp_url) as conn:
        queue(conn.channel()).declare()
    yield queue
    with Connection(settings.amqp_url) as conn:
        queue(conn.channel()).delete()


def test_a_sequential_gate_from_submit_to_close(api_url, db, admin, project, ready_version, settings,
                                                approval_listener):
    base = f"{A}/projects/{project['id']}"
    cd, client = signed_in(api_url, db, "director", admin, project), signed_in(api_url, db, "client", admin, project)
    stranger = signed_in(api_url, db, "stranger", admin, project)
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
    assert sorted(kinds) == sorted(["version_submitted", "approval_recorded", "approval_recorded", "gate_closed",
                                    "version_locked", "stage_advanced"])
    # the approval relay publishes them to approval.events, where a consumer's queue receives them
    arrived = [receive(settings, approval_listener, lambda body: body["project_id"] == project["id"])["type"]
               for _ in kinds]
    assert sorted(arrived) == sorted(kinds)


def test_bad_json_is_refused(admin, project):
    response = admin.post(f"{A}/projects/{project['id']}/submit", data="nope",
                          headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and response.json()["error"] == "invalid_json"
    assert admin.get(f"{A}/projects/unknown-project/stage").status_code == 404


def test_only_members_see_a_project_and_only_owners_manage_its_gates(api_url, db, admin, project, ready_version):
    base = f"{A}/projects/{project['id']}"
    outsider = signed_in(api_url, db, "outsider")
    editor = signed_in(api_url, db, "editor", admin, project, role="editor")
    owner = signed_in(api_url, db, "owner", admin, project, role="owner")
    assert outsider.get(f"{base}/stage").status_code == 404
    refused = editor.put(f"{base}/stages/brief-concept/gate", json={"approvers": [editor.email]})
    assert refused.status_code == 403 and refused.json()["error"] == "owners_only"
    assert editor.post(f"{base}/submit", json={"version_id": ready_version["id"]}).status_code == 403
    assert editor.get(f"{base}/stage").json()["status"] == "not_set"  # nothing changed
    assert owner.put(f"{base}/stages/brief-concept/gate", json={"approvers": ["role:editor"]}).status_code == 200
    gate_id = owner.post(f"{base}/submit", json={"version_id": ready_version["id"]}).json()["gate_id"]
    assert outsider.post(f"{A}/gates/{gate_id}/decisions", json={"decision": "approve"}).status_code == 404
    assert owner.post(f"{A}/gates/{gate_id}/decisions", json={"decision": "approve"}).json()["error"] == "not_an_approver"
    decided = editor.post(f"{A}/gates/{gate_id}/decisions", json={"decision": "approve"})  # an editor fills role:editor
    assert decided.status_code == 201 and decided.json()["stage"]["closed"] is True
