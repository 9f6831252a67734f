"""A version locks when its gate closes: the notes it had then cannot be edited
or change status, and notes added afterwards are marked as post-approval
scope changes (review asks approval at each write)."""
from __future__ import annotations

from tests.integration.test_approval_api import A, ready_version, signed_in  # noqa: F401 (fixture)

NOTES = "/api/v1/review/versions/{}/notes"


def close_gate_on(admin, approver, project_id: str, version_id: str) -> dict:
    base = f"{A}/projects/{project_id}"
    assert admin.put(f"{base}/workflow", json={"template": "commercial"}).status_code == 200
    assert admin.put(f"{base}/stages/treatment/gate", json={"approvers": [approver.email]}).status_code == 200
    gate_id = admin.post(f"{base}/submit", json={"version_id": version_id}).json()["gate_id"]
    decided = approver.post(f"{A}/gates/{gate_id}/decisions", json={"decision": "approve"})
    assert decided.status_code == 201 and decided.json()["stage"]["closed"] is True, decided.text
    return decided.json()["stage"]


def test_an_approved_versions_notes_are_frozen_and_later_notes_are_scope_changes(api_url, db, admin, project,
                                                                                  ready_version):
    version_id = ready_version["id"]
    locks = f"{A}/projects/{project['id']}/locks"
    assert admin.get(locks, params={"version_id": version_id}).json()["version"] is None
    before = admin.post(NOTES.format(version_id), json={"frame": 5, "text": "Warmer skin tones"})
    assert before.status_code == 201, before.text
    note_id = before.json()["note_id"]
    assert before.json()["post_approval_scope_change"] is False

    director = signed_in(api_url, db, "director", admin, project)
    stage = close_gate_on(admin, director, project["id"], version_id)

    lock = admin.get(locks, params={"version_id": version_id}).json()["version"]
    assert (lock["gate_id"], lock["stage"], lock["version_number"]) == (stage["gate_id"], "treatment",
                                                                        ready_version["number"])
    edit = admin.post(f"/api/v1/review/notes/{note_id}/revisions", json={"text": "Cooler after all"})
    assert edit.status_code == 409 and edit.json()["error"] == "version_locked", edit.text
    assert "treatment" in edit.json()["message"] and edit.json()["gate_id"] == stage["gate_id"]
    status = admin.post(f"/api/v1/review/notes/{note_id}/status", json={"status": "resolved"})
    assert status.status_code == 409 and status.json()["error"] == "version_locked"
    unchanged = admin.get(f"/api/v1/review/notes/{note_id}/history").json()["revisions"]
    assert [(r["text"], r["status"]) for r in unchanged] == [("Warmer skin tones", "open")]

    after = admin.post(NOTES.format(version_id), json={"frame": 9, "text": "Can the logo be bigger?"})
    assert after.status_code == 201, after.text
    assert after.json()["post_approval_scope_change"] is True
    assert after.json()["post_approval"]["gate_id"] == stage["gate_id"]
    reply = admin.post(f"/api/v1/review/notes/{note_id}/replies", json={"text": "Already approved warm"})
    assert reply.status_code == 201 and reply.json()["post_approval_scope_change"] is True
    # a request made after the approval is still the team's to handle
    handled = admin.post(f"/api/v1/review/notes/{after.json()['note_id']}/status", json={"status": "out_of_scope"})
    assert handled.status_code == 201, handled.text

    listed = {n["note_id"]: n for n in admin.get(NOTES.format(version_id)).json()["notes"]}
    assert listed[note_id]["post_approval_scope_change"] is False
    assert listed[note_id]["replies"][0]["post_approval_scope_change"] is True
    assert listed[after.json()["note_id"]]["post_approval_scope_change"] is True
    exported = admin.get(NOTES.format(version_id) + "/export", params={"format": "csv"}).text
    assert "[Post-approval scope change] Can the logo be bigger?" in exported
    assert "Warmer skin tones" in exported and "[Post-approval scope change] Warmer" not in exported
    edl = admin.get(NOTES.format(version_id) + "/export", params={"format": "edl"}).text
    assert "[Post-approval scope change] Can the logo be bigger?" in edl


def test_the_locks_route_is_for_members_and_services(api_url, db, admin, project, member):
    locks = f"{A}/projects/{project['id']}/locks"
    assert member.get(locks).status_code == 404  # not a member: the project is not theirs to see
    assert admin.get(locks).json() == {"project_id": project["id"], "archived": None, "version": None}
