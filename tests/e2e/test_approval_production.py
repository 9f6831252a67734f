"""A three-stage production through the approval API on the real stack:
a sequential internal chain, a client stage with a parallel legal path where
changes force a new version and the final approvals race, and a client final.
Gates refuse early advances, versions lock, certificates verify."""
from __future__ import annotations

import threading

import requests

from services.common.outbox import outbox_collection
from tests import media
from tests.integration.test_approval_api import signed_in
from tests.integration.uploading import upload, wait_for_status

A = "/api/v1/approval"


def ready(admin, project_id, path):
    done = upload(admin, project_id, path, asset="Hero 30s")
    assert done.status_code in (200, 201), done.text
    return wait_for_status(admin, done.json()["id"], {"ready"})


def decide(who, gate_id, decision="approve", reason="", version_id=None):
    body = {"decision": decision, "reason": reason}
    if version_id:
        body["version_id"] = version_id
    return who.post(f"{A}/gates/{gate_id}/decisions", json=body)


def test_a_three_stage_production(api_url, db, admin, project, media_dir):
    p = f"{A}/projects/{project['id']}"
    cd, ad, client, legal, brand = (signed_in(api_url, db, n, admin, project) for n in ("director", "account", "client", "legal", "brand"))
    v1 = ready(admin, project["id"], media.make_h264_2398(media_dir))
    v2 = ready(admin, project["id"], media.make_mov_25_tc(media_dir))
    assert (v1["asset_id"], v1["number"], v2["number"]) == (v2["asset_id"], 1, 2)
    assert admin.put(f"{p}/workflow", json={"template": "commercial"}).status_code == 200

    # Stage 1, internal rough cut: creative director, then account director, then client.
    admin.put(f"{p}/stages/treatment/gate", json={"approvers": [cd.email, ad.email, client.email], "sequential": True})
    gate1 = admin.post(f"{p}/submit", json={"version_id": v1["id"]}).json()["gate_id"]
    early = admin.post(f"{p}/advance")
    assert early.status_code == 409 and early.json()["pending"] == [cd.email, ad.email, client.email]
    assert decide(client, gate1).json()["error"] == "out_of_turn"
    assert decide(cd, gate1).status_code == 201
    assert decide(client, gate1).json()["error"] == "out_of_turn"
    assert decide(ad, gate1).status_code == 201
    assert decide(client, gate1).json()["stage"]["closed"] is True
    assert admin.get(f"{p}/stage").json()["stage"] == "offline-edit"

    # Stage 2, client rough cut: the client, and legal + brand on their own path, all required.
    admin.put(f"{p}/stages/offline-edit/gate", json={"scope": "Cut and story; grade and mix come later.", "paths": [
        {"name": "client", "approvers": [client.email]},
        {"name": "legal", "approvers": [legal.email, brand.email], "rule": "all"}]})
    gate2 = admin.post(f"{p}/submit", json={"version_id": v1["id"]}).json()["gate_id"]
    assert decide(legal, gate2).status_code == 201
    changes = decide(client, gate2, "changes", "The end card logo is too small.")
    assert changes.status_code == 201 and changes.json()["stage"]["status"] == "changes_requested"
    assert decide(brand, gate2).json()["error"] == "round_ended"
    again = admin.post(f"{p}/submit", json={"version_id": v1["id"]})
    assert again.status_code == 409 and again.json()["error"] == "new_version_needed"
    stage = admin.post(f"{p}/submit", json={"version_id": v2["id"]}).json()
    assert (stage["round"], stage["version_id"]) == (2, v2["id"])
    assert set(stage["pending"]) == {client.email, legal.email, brand.email}  # v1's approval no longer counts
    assert decide(legal, gate2, version_id=v1["id"]).json()["error"] == "wrong_version"
    assert decide(legal, gate2, version_id=v2["id"]).status_code == 201
    early = admin.post(f"{p}/advance")
    assert early.status_code == 409 and set(early.json()["pending"]) == {client.email, brand.email}

    results = []
    start = threading.Barrier(2)

    def final(who):
        start.wait()
        results.append(decide(who, gate2))

    racers = [threading.Thread(target=final, args=(w,)) for w in (client, brand)]
    for t in racers:
        t.start()
    for t in racers:
        t.join()
    assert sorted(r.status_code for r in results) == [201, 201]
    assert admin.get(f"{p}/stage", params={"stage": "offline-edit"}).json()["closed"] is True

    # Stage 3, client final.
    admin.put(f"{p}/stages/client-offline/gate", json={"approvers": [client.email]})
    gate3 = admin.post(f"{p}/submit", json={"version_id": v2["id"]}).json()["gate_id"]
    assert decide(client, gate3, version_id=v2["id"]).json()["stage"]["closed"] is True
    assert decide(client, gate3, "changes", "one more thing").json()["error"] == "gate_closed"

    events = list(db[outbox_collection("approval")].find({"body.project_id": project["id"]}))
    closed = [e["body"]["gate_id"] for e in events if e["routing_key"] == "gate_closed"]
    assert sorted(closed) == sorted([gate1, gate2, gate3])  # each gate closed exactly once
    locked = sorted(e["body"]["version_id"] for e in events if e["routing_key"] == "version_locked")
    assert locked == sorted([v1["id"], v2["id"], v2["id"]])
    assert len([e for e in events if e["routing_key"] == "stage_advanced"]) == 3

    for gate_id, version in ((gate1, v1), (gate2, v2), (gate3, v2)):
        pdf = admin.get(f"{A}/gates/{gate_id}/certificate").content
        result = requests.post(f"{api_url}{A}/certificates/verify", files={"file": ("c.pdf", pdf)}).json()
        assert result["valid"] is True, result
        assert (result["facts"]["version_number"], result["facts"]["sha256"]) == (version["number"], version["sha256"])
    assert db.approval_certificates.count_documents({"project_id": project["id"]}) == 3
    facts = requests.post(f"{api_url}{A}/certificates/verify",
                          files={"file": ("c.pdf", admin.get(f"{A}/gates/{gate2}/certificate").content)}).json()["facts"]
    assert [d["email"] for d in facts["decisions"]] [:1] == [legal.email]  # round 2 only: v1's decisions are not on it
    assert {d["email"] for d in facts["decisions"]} == {legal.email, client.email, brand.email}
