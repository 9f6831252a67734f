"""Notify's subscription API: who may subscribe what, the webhook secret shown
once, one subscription per target, and targets refused against SSRF."""
from __future__ import annotations

import uuid

from services.notify import store
from tests.conftest import add_member, new_member

API = "/api/v1/notify/subscriptions"


def hook_url(name: str) -> str:
    return f"http://127.0.0.1:9/{name}-{uuid.uuid4().hex[:6]}"  # loopback: the test stack allows 127.0.0.0/8


def me(api) -> dict:
    return api.get("/api/v1/me").json()


def test_a_webhook_subscription_shows_its_secret_once(admin, project):
    made = admin.post(API, json={"channel": "webhook", "target": hook_url("h"), "project_id": project["id"],
                                 "events": ["gate_closed", "note_added"]})
    assert made.status_code == 201, made.text
    sub = made.json()
    assert sub["secret"].startswith("whsec_") and sub["scope"] == "project"
    assert sub["events"] == ["gate_closed", "note_added"]
    listed = admin.get(API, params={"project_id": project["id"]}).json()["subscriptions"]
    assert [s["id"] for s in listed] == [sub["id"]]
    assert "secret" not in listed[0] and "secret" not in admin.get(f"{API}/{sub['id']}").json()


def test_the_same_target_twice_is_one_subscription(admin, project):
    body = {"channel": "slack", "target": hook_url("slack"), "project_id": project["id"]}
    first = admin.post(API, json=body)
    again = admin.post(API, json=body)
    assert first.status_code == 201 and again.status_code == 409
    assert again.json()["id"] == first.json()["id"]


def test_targets_outside_the_allowed_networks_are_refused_and_nothing_is_stored(admin, project, db):
    before = db[store.SUBSCRIPTIONS].count_documents({})
    for target in ("http://10.0.0.1/hook", "http://169.254.169.254/latest/meta-data/", "http://[::1]:9/hook",
                   "http://192.168.1.20/hook"):
        refused = admin.post(API, json={"channel": "webhook", "target": target, "project_id": project["id"]})
        assert refused.status_code == 400, target
        assert refused.json()["error"] == "target_not_allowed"
        assert "FRAMEGATE_NOTIFY_ALLOW" in refused.json()["message"]
    bad = admin.post(API, json={"channel": "email", "target": "x@y.example\r\nBcc: all@y.example",
                                "project_id": project["id"]})
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_email"
    unknown = admin.post(API, json={"channel": "slack", "target": hook_url("s"), "events": ["note_deleted"]})
    assert unknown.status_code == 400 and "note_deleted" in unknown.json()["message"]
    assert db[store.SUBSCRIPTIONS].count_documents({}) == before


def test_owners_manage_their_projects_subscriptions_and_people_their_own(admin, project, api_url, db):
    editor, owner, stranger = (new_member(api_url, db, n) for n in ("Ed Itor", "Olive Owner", "Stan Ger"))
    add_member(admin, project["id"], me(editor)["email"], "editor")
    add_member(admin, project["id"], me(owner)["email"], "owner")
    body = {"channel": "webhook", "target": hook_url("p"), "project_id": project["id"]}
    assert stranger.post(API, json=body).status_code == 404
    assert editor.post(API, json=body).status_code == 403
    made = owner.post(API, json=body)
    assert made.status_code == 201, made.text
    assert editor.post(API, json={"channel": "slack", "target": hook_url("all")}).status_code == 403  # installation

    mine = editor.post(API, json={"channel": "email", "scope": "person"})
    assert mine.status_code == 201, mine.text
    assert mine.json()["target"] == me(editor)["email"]
    other = editor.post(API, json={"channel": "email", "scope": "person", "target": "boss@elsewhere.example"})
    assert other.status_code == 400 and other.json()["error"] == "not_your_address"

    assert [s["id"] for s in editor.get(API).json()["subscriptions"]] == [mine.json()["id"]]
    assert made.json()["id"] in [s["id"] for s in owner.get(API).json()["subscriptions"]]
    assert stranger.delete(f"{API}/{made.json()['id']}").status_code == 404
    assert editor.delete(f"{API}/{made.json()['id']}").status_code == 404
    assert owner.delete(f"{API}/{made.json()['id']}").status_code == 200
    assert admin.get(f"{API}/{made.json()['id']}").status_code == 404


def test_every_notify_route_refuses_callers_without_credentials(settings, api_url):
    from tests.integration.test_access import ingest_routes
    from services.notify.app import create_app

    import requests

    checked = 0
    for rule, method, path in ingest_routes(settings, create_app):
        if rule in ("/healthz", "/metrics", "/notify/signin"):
            continue
        for headers in ({}, {"Authorization": "Bearer fg_not-a-real-token"}):
            response = requests.request(method, api_url + path, headers=headers, json={}, timeout=30,
                                        allow_redirects=False)
            if rule.startswith("/notify/") and method == "GET":  # a page: off to sign in first
                assert response.status_code == 302 and "/notify/signin" in response.headers["Location"], path
            else:
                assert response.status_code == 401, (method, path, response.status_code)
        checked += 1
    assert checked >= 9


def test_a_stranger_sees_no_deliveries_and_cannot_retry_them(admin, project, api_url, db):
    sub = admin.post(API, json={"channel": "webhook", "target": hook_url("d"), "project_id": project["id"]}).json()
    test = admin.post(f"{API}/{sub['id']}/test")
    assert test.status_code == 202, test.text
    stranger = new_member(api_url, db, "Sly Stranger")
    assert test.json()["id"] not in [d["id"] for d in stranger.get("/api/v1/notify/deliveries").json()["deliveries"]]
    assert stranger.get(f"/api/v1/notify/deliveries/{test.json()['id']}").status_code == 404
    assert stranger.post(f"/api/v1/notify/deliveries/{test.json()['id']}/retry").status_code == 404
    assert admin.get(f"/api/v1/notify/deliveries/{test.json()['id']}").json()["subscription_id"] == sub["id"]
