"""Project members: the creator owns the project; owners (and admins) add,
change and remove members; each role reaches what it may; every change is kept."""
from __future__ import annotations

import time
import uuid

import pytest

from services.common import cdn
from tests import media
from tests.conftest import new_member
from tests.integration.uploading import start, upload


def me(api) -> dict:
    return api.get("/api/v1/me").json()


@pytest.fixture
def owned(member):
    """A project the member created (so owns)."""
    response = member.post("/api/v1/projects", json={"name": f"Owned {uuid.uuid4().hex[:8]}"})
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture
def other(api_url, db):
    """A second member account."""
    return new_member(api_url, db, "Olga Other")


def test_the_creator_of_a_project_owns_it(member, owned):
    assert owned["role"] == "owner"
    members = member.get(f"/api/v1/projects/{owned['id']}/members").json()["members"]
    assert [(m["email"], m["role"]) for m in members] == [(me(member)["email"], "owner")]
    listed = member.get("/api/v1/projects").json()["projects"]
    assert [(p["id"], p["role"]) for p in listed] == [(owned["id"], "owner")]


def test_an_owner_adds_changes_and_removes_a_member_who_then_reaches_exactly_that(member, other, owned, tmp_path):
    pid = owned["id"]
    assert other.get(f"/api/v1/projects/{pid}/assets").status_code == 404

    added = member.post(f"/api/v1/projects/{pid}/members", json={"email": me(other)["email"].upper(), "role": "viewer"})
    assert added.status_code == 201, added.text
    assert added.json()["role"] == "viewer" and added.json()["user_id"] == me(other)["id"]
    assert [p["role"] for p in other.get("/api/v1/projects").json()["projects"]] == ["viewer"]
    assert other.get(f"/api/v1/projects/{pid}/assets").status_code == 200
    assert start(other, pid, media.make_png(tmp_path)).status_code == 403
    refused = other.post(f"/api/v1/projects/{pid}/members", json={"email": "x@example.test", "role": "owner"})
    assert refused.status_code == 403 and refused.json()["role"] == "viewer"

    changed = member.patch(f"/api/v1/projects/{pid}/members/{me(other)['id']}", json={"role": "editor"})
    assert changed.status_code == 200 and changed.json()["role"] == "editor"
    assert start(other, pid, media.make_png(tmp_path)).status_code == 201

    assert member.delete(f"/api/v1/projects/{pid}/members/{me(other)['id']}").status_code == 204
    assert other.get(f"/api/v1/projects/{pid}/assets").status_code == 404
    assert other.get("/api/v1/projects").json()["projects"] == []


def test_every_membership_change_is_kept(member, other, owned, db):
    pid, uid = owned["id"], me(other)["id"]
    member.post(f"/api/v1/projects/{pid}/members", json={"user_id": uid, "role": "viewer"})
    member.patch(f"/api/v1/projects/{pid}/members/{uid}", json={"role": "editor"})
    member.delete(f"/api/v1/projects/{pid}/members/{uid}")
    history = [(c["user_id"], c["role"]) for c in db.member_changes.find({"project_id": pid}).sort("at", 1)]
    assert history == [(me(member)["id"], "owner"), (uid, "viewer"), (uid, "editor"), (uid, None)]


def test_a_project_keeps_an_owner(member, other, owned):
    pid, owner_id = owned["id"], me(member)["id"]
    for refused in (member.delete(f"/api/v1/projects/{pid}/members/{owner_id}"),
                    member.patch(f"/api/v1/projects/{pid}/members/{owner_id}", json={"role": "editor"})):
        assert refused.status_code == 409 and refused.json()["error"] == "last_owner"
    member.post(f"/api/v1/projects/{pid}/members", json={"email": me(other)["email"], "role": "owner"})
    assert member.patch(f"/api/v1/projects/{pid}/members/{owner_id}", json={"role": "editor"}).status_code == 200
    roles = {m["user_id"]: m["role"] for m in other.get(f"/api/v1/projects/{pid}/members").json()["members"]}
    assert roles == {owner_id: "editor", me(other)["id"]: "owner"}


def test_bad_member_requests_are_refused_and_change_nothing(member, other, owned):
    pid = owned["id"]
    before = member.get(f"/api/v1/projects/{pid}/members").json()
    cases = [
        ({"email": me(other)["email"], "role": "admin"}, 400, "bad_role"),
        ({"email": me(other)["email"]}, 400, "bad_role"),
        ({"role": "viewer"}, 400, "no_user"),
        ({"email": "nobody@example.test", "role": "viewer"}, 404, "unknown_user"),
        ({"email": me(member)["email"], "role": "viewer"}, 409, "already_member"),
    ]
    for body, status, code in cases:
        response = member.post(f"/api/v1/projects/{pid}/members", json=body)
        assert (response.status_code, response.json()["error"]) == (status, code), body
        assert response.json()["message"]
    missing = member.patch(f"/api/v1/projects/{pid}/members/{me(other)['id']}", json={"role": "viewer"})
    assert missing.status_code == 404 and missing.json()["error"] == "unknown_member"
    assert member.get(f"/api/v1/projects/{pid}/members").json() == before


def test_admins_see_and_manage_every_project(admin, member, other, owned):
    assert owned["id"] in {p["id"] for p in admin.get("/api/v1/projects").json()["projects"]}
    added = admin.post(f"/api/v1/projects/{owned['id']}/members", json={"email": me(other)["email"], "role": "viewer"})
    assert added.status_code == 201
    assert other.get(f"/api/v1/projects/{owned['id']}/versions").status_code == 200


def test_playback_urls_are_short_lived_and_only_for_members(settings, admin, member, other, owned, tmp_path):
    done = upload(member, owned["id"], media.make_png(tmp_path))
    assert done.status_code == 201, done.text
    vid = done.json()["id"]
    member.post(f"/api/v1/projects/{owned['id']}/members", json={"email": me(other)["email"], "role": "viewer"})
    fresh = other.get(f"/api/v1/versions/{vid}/playback")
    assert fresh.status_code == 200, fresh.text
    body = fresh.json()
    assert body["expires_in"] == settings.playback_ttl_seconds
    assert body["expires_at"] == cdn.expiry_of(body["cdn_base"]) <= time.time() + settings.playback_ttl_seconds + 1
    assert body["master"] == body["cdn_base"] + "hls/master.m3u8"
    member.delete(f"/api/v1/projects/{owned['id']}/members/{me(other)['id']}")
    refused = other.get(f"/api/v1/versions/{vid}/playback")
    assert refused.status_code == 404 and refused.json()["error"] == "unknown_version"


def test_an_open_upload_follows_its_uploaders_membership(member, other, owned, tmp_path):
    pid, uid = owned["id"], me(other)["id"]
    member.post(f"/api/v1/projects/{pid}/members", json={"user_id": uid, "role": "editor"})
    started = start(other, pid, media.make_png(tmp_path))
    assert started.status_code == 201, started.text
    upload_id = started.json()["uploads"][0]["upload_id"]
    assert other.get(f"/api/v1/uploads/{upload_id}").status_code == 200

    member.patch(f"/api/v1/projects/{pid}/members/{uid}", json={"role": "viewer"})
    demoted = other.post(f"/api/v1/uploads/{upload_id}/complete", json={"sha256": "0" * 64})
    assert demoted.status_code == 403 and demoted.json()["role"] == "viewer"

    member.delete(f"/api/v1/projects/{pid}/members/{uid}")
    for response in (other.get(f"/api/v1/uploads/{upload_id}"), other.delete(f"/api/v1/uploads/{upload_id}")):
        assert response.status_code == 404 and response.json()["error"] == "unknown_upload"
    assert member.get(f"/api/v1/projects/{pid}/assets").json()["assets"] == []
