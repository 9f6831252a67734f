"""Archiving freezes a project: everything stays readable, nothing changes
(uploads, notes, links, gates, decisions are refused with 409 project_archived),
its review links expire, and project_archived goes out. Closing the final stage
archives it too."""
from __future__ import annotations

import json

import requests

from services.common.outbox import outbox_collection
from tests import media
from tests.integration.test_approval_api import A, ready_version, signed_in  # noqa: F401 (fixture)
from tests.integration.test_approval_cli import as_user  # noqa: F401 (fixture)
from tests.integration.test_review_links import CSRF, token_of
from tests.integration.uploading import start

NOTES = "/api/v1/review/versions/{}/notes"


def test_an_archived_project_is_read_only_and_its_links_expire(api_url, db, admin, project, ready_version,
                                                                 as_user, media_dir):
    base, version_id = f"{A}/projects/{project['id']}", ready_version["id"]
    director = signed_in(api_url, db, "director", admin, project, role="owner")
    assert admin.put(f"{base}/stages/brief-concept/gate", json={"approvers": [director.email]}).status_code == 200
    gate_id = admin.post(f"{base}/submit", json={"version_id": version_id}).json()["gate_id"]
    note = admin.post(NOTES.format(version_id), json={"frame": 3, "text": "Tighter start"}).json()
    link = admin.post("/api/v1/review/links", json={"version_id": version_id, "kind": "client",
                                                     "stage": "Brief", "approve": True}).json()
    reviewer = requests.Session()
    opened = reviewer.post(f"{api_url}/api/v1/review/links/{token_of(link)}/sessions",
                           json={"name": "Cleo", "email": "cleo@client.example"}, timeout=60)
    assert opened.status_code == 201
    session_api = f"{api_url}/api/v1/review/link-sessions/{link['link_id']}"

    code, _, err = as_user(director.session.headers["Authorization"][7:], "archive", "nope-no-such-project")
    assert code == 1 and "no project named" in err
    code, out, err = as_user(admin.session.headers["Authorization"][7:], "archive", project["name"], "--json")
    assert code == 0, err
    archived = json.loads(out)["archived"]
    assert archived["reason"] == "archived" and archived["archived_at"].endswith("Z")
    again = admin.post(f"{base}/archive")
    assert again.status_code == 200 and again.json()["archived"] == archived  # once; again changes nothing

    refusals = {
        "gate": admin.put(f"{base}/stages/rough-cut-internal/gate", json={"approvers": [director.email]}),
        "submit": admin.post(f"{base}/submit", json={"version_id": version_id}),
        "decision": director.post(f"{A}/gates/{gate_id}/decisions", json={"decision": "approve"}),
        "advance": admin.post(f"{base}/advance"),
        "note": admin.post(NOTES.format(version_id), json={"frame": 4, "text": "One more thing"}),
        "edit": admin.post(f"/api/v1/review/notes/{note['note_id']}/revisions", json={"text": "Changed"}),
        "status": admin.post(f"/api/v1/review/notes/{note['note_id']}/status", json={"status": "resolved"}),
        "link": admin.post("/api/v1/review/links", json={"version_id": version_id, "kind": "client",
                                                          "stage": "Late"}),
        "upload": start(admin, project["id"], media.make_h264_2398(media_dir)),
    }
    for what, response in refusals.items():
        assert response.status_code == 409, (what, response.status_code, response.text)
        assert response.json()["error"] == "project_archived", (what, response.text)
    assert "read-only" in refusals["note"].json()["message"]

    for gone in (reviewer.get(f"{session_api}/notes", timeout=30),
                 reviewer.post(f"{session_api}/decision", json={"decision": "approve"}, headers=CSRF, timeout=30),
                 requests.post(f"{api_url}/api/v1/review/links/{token_of(link)}/sessions",
                               json={"name": "Dan", "email": "dan@client.example"}, timeout=30)):
        assert gone.status_code == 410 and gone.json()["error"] == "project_archived", gone.text
    page = requests.get(link["url"], timeout=30)
    assert page.status_code == 410 and "archived" in page.text

    # everything stays readable
    assert admin.get(f"{base}/stage").json()["archived"] == archived
    assert [n["text"] for n in admin.get(NOTES.format(version_id)).json()["notes"]] == ["Tighter start"]
    assert admin.get(f"/api/v1/versions/{version_id}").status_code == 200
    assert db.approval_decisions.count_documents({"gate_id": gate_id}) == 0
    events = list(db[outbox_collection("approval")].find({"body.project_id": project["id"],
                                                         "body.type": "project_archived"}))
    assert len(events) == 1 and events[0]["body"]["archived_by"] == "admin@framegate.local"


def test_closing_the_final_stage_archives_the_project(api_url, db, admin, project, ready_version):
    base = f"{A}/projects/{project['id']}"
    director = signed_in(api_url, db, "director", admin, project)
    assert admin.put(f"{base}/workflow", json={"template": "commercial"}).status_code == 200
    stages = [s["name"] for s in admin.get(f"{base}/workflow").json()["stages"]]
    for i, stage in enumerate(stages):
        assert admin.put(f"{base}/stages/{stage}/gate", json={"approvers": [director.email]}).status_code == 200
        gate_id = admin.post(f"{base}/submit", json={"version_id": ready_version["id"]}).json()["gate_id"]
        assert admin.get(f"{base}/workflow").json()["archived"] is None, stage
        decided = director.post(f"{A}/gates/{gate_id}/decisions", json={"decision": "approve"})
        assert decided.status_code == 201 and decided.json()["stage"]["closed"] is True
    archived = admin.get(f"{base}/workflow").json()["archived"]
    assert (archived["reason"], archived["archived_by"]) == ("final_stage_closed", "workflow")
    late = admin.post(NOTES.format(ready_version["id"]), json={"frame": 1, "text": "After the final"})
    assert late.status_code == 409 and late.json()["error"] == "project_archived"
