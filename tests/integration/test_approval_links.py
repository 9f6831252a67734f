"""Approving through a review link that allows it: the reviewer's e-mail must be
an approver of the gate the link's version is up for; everything else is
refused with nothing recorded. Through the API and `framegate approve --link`."""
from __future__ import annotations

import json

import requests

from tests.integration.test_approval_api import A, ready_version, signed_in  # noqa: F401 (fixture)
from tests.integration.test_approval_cli import as_user  # noqa: F401 (fixture)
from tests.integration.test_review_links import CSRF, token_of

CLIENT = "cleo@client.example"


def open_session(api_url, link, email, name="Cleo Client"):
    session = requests.Session()
    opened = session.post(f"{api_url}/api/v1/review/links/{token_of(link)}/sessions",
                          json={"name": name, "email": email}, headers={"User-Agent": "Firefox 140 on Mac"},
                          timeout=60)
    assert opened.status_code == 201, opened.text
    return session, f"{api_url}/api/v1/review/link-sessions/{link['link_id']}/decision"


def test_a_client_approves_through_a_link_in_turn(api_url, db, admin, project, ready_version, as_user):
    base = f"{A}/projects/{project['id']}"
    director = signed_in(api_url, db, "director", admin, project)
    assert admin.put(f"{base}/workflow", json={"template": "commercial"}).status_code == 200
    assert admin.put(f"{base}/stages/treatment/gate", json={
        "approvers": [director.email, CLIENT], "sequential": True, "scope": "Story only"}).status_code == 200
    gate_id = admin.post(f"{base}/submit", json={"version_id": ready_version["id"]}).json()["gate_id"]
    make = {"version_id": ready_version["id"], "kind": "client", "stage": "Treatment"}
    plain = admin.post("/api/v1/review/links", json=make).json()
    approving = admin.post("/api/v1/review/links", json=make | {"approve": True}).json()
    assert (plain["approve"], approving["approve"]) == (False, True)

    session, decide = open_session(api_url, plain, CLIENT)
    refused = session.post(decide, json={"decision": "approve"}, headers=CSRF)
    assert refused.status_code == 403 and refused.json()["error"] == "approval_not_allowed"

    session, decide = open_session(api_url, approving, CLIENT)
    early = session.post(decide, json={"decision": "approve"}, headers=CSRF)
    assert early.status_code == 409 and early.json()["error"] == "out_of_turn", early.text
    assert director.email in early.json()["message"]
    assert session.post(decide, json={"decision": "approve"}).json()["error"] == "csrf_required"
    assert session.post(decide, json={"decision": "maybe"}, headers=CSRF).json()["error"] == "invalid_decision"
    stranger, stranger_decide = open_session(api_url, approving, "someone@client.example", "Sam Someone")
    other = stranger.post(stranger_decide, json={"decision": "approve"}, headers=CSRF)
    assert other.status_code == 403 and other.json()["error"] == "not_an_approver"
    assert requests.post(decide, json={"decision": "approve"}, headers=CSRF).json()["error"] == "no_link_session"
    assert db.approval_decisions.count_documents({"gate_id": gate_id}) == 0

    assert director.post(f"{A}/gates/{gate_id}/decisions", json={"decision": "approve"}).status_code == 201
    code, out, err = as_user(None, "approve", "--link", approving["url"], "--name", "Cleo Client", "--email",
                             CLIENT.upper(), "--decision", "approve", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["created"] is True and result["stage"]["closed"] is True
    recorded = result["decision"]
    assert (recorded["email"], recorded["name"], recorded["link_id"], recorded["version_id"]) == (
        CLIENT, "Cleo Client", approving["link_id"], ready_version["id"])
    assert recorded["ip"] and recorded["sha256"] == ready_version["sha256"]

    late = session.post(decide, json={"decision": "changes", "reason": "Second thoughts"}, headers=CSRF)
    assert late.status_code == 409 and late.json()["error"] == "gate_closed"
    code, _, err = as_user(None, "approve", "--link", plain["url"], "--name", "Cleo", "--email", CLIENT,
                           "--decision", "approve")
    assert code == 1 and "approval_not_allowed" in err
    admin.post(f"/api/v1/review/links/{approving['link_id']}/revoke")
    gone = session.post(decide, json={"decision": "approve"}, headers=CSRF)
    assert gone.status_code == 410
    assert db.approval_decisions.count_documents({"gate_id": gate_id}) == 2
    # the record the certificate is made from still verifies: the link is part of the hashed decision
    shown = admin.get(f"{base}/stage", params={"stage": "treatment"}).json()
    assert [(a["email"], a["decision"]) for a in shown["approvers"]] == [(director.email, "approve"),
                                                                           (CLIENT, "approve")]
    pdf = admin.get(f"{A}/gates/{gate_id}/certificate")
    assert pdf.status_code == 200
    verified = requests.post(f"{api_url}{A}/certificates/verify", data=pdf.content,
                             headers={"Content-Type": "application/pdf"}).json()
    assert verified["valid"] is True, verified
