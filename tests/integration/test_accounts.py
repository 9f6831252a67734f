"""Admins manage users; everyone can change their own password."""
from __future__ import annotations

import uuid

import requests


def login(api_url, email, password):
    return requests.post(api_url + "/api/v1/auth/login", json={"email": email, "password": password}, timeout=30)


def test_an_admin_adds_a_member_who_can_then_sign_in(admin, api_url):
    email = f"new-{uuid.uuid4().hex[:6]}@example.test"
    created = admin.post("/api/v1/users", json={"email": email, "name": "New Editor"})
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["role"] == "member" and len(body["password"]) >= 12
    assert login(api_url, email, body["password"]).status_code == 200
    assert email in [u["email"] for u in admin.get("/api/v1/users").json()["users"]]
    again = admin.post("/api/v1/users", json={"email": email.upper()})
    assert again.status_code == 409 and again.json()["error"] == "user_exists"


def test_members_cannot_manage_users(member):
    assert member.get("/api/v1/users").status_code == 403
    refused = member.post("/api/v1/users", json={"email": "x@example.test", "role": "admin"})
    assert refused.status_code == 403 and refused.json()["error"] == "admins_only"


def test_bad_user_requests_are_refused_with_a_reason(admin):
    for body, code in (({"email": "not-an-address"}, "bad_email"),
                       ({"email": "a@example.test", "role": "owner"}, "bad_role"),
                       ({"email": "b@example.test", "password": "short"}, "weak_password"),
                       ({"email": "c@example.test", "name": 5}, "bad_field")):
        response = admin.post("/api/v1/users", json=body)
        assert response.status_code == 400 and response.json()["error"] == code


def test_changing_a_password_signs_out_other_sessions(admin, api_url):
    email = f"pw-{uuid.uuid4().hex[:6]}@example.test"
    password = admin.post("/api/v1/users", json={"email": email}).json()["password"]
    first = login(api_url, email, password).json()["token"]
    second = login(api_url, email, password).json()["token"]
    headers = {"Authorization": f"Bearer {first}"}

    wrong = requests.post(api_url + "/api/v1/me/password", json={"current": "nope", "new": "a-brand-new-passphrase"},
                          headers=headers, timeout=30)
    assert wrong.status_code == 403
    weak = requests.post(api_url + "/api/v1/me/password", json={"current": password, "new": "short"},
                         headers=headers, timeout=30)
    assert weak.status_code == 400 and weak.json()["error"] == "weak_password"
    changed = requests.post(api_url + "/api/v1/me/password",
                            json={"current": password, "new": "a-brand-new-passphrase"}, headers=headers, timeout=30)
    assert changed.status_code == 204

    assert requests.get(api_url + "/api/v1/me", headers=headers, timeout=30).status_code == 200  # this session stays
    other = requests.get(api_url + "/api/v1/me", headers={"Authorization": f"Bearer {second}"}, timeout=30)
    assert other.status_code == 401
    assert login(api_url, email, password).status_code == 401
    assert login(api_url, email, "a-brand-new-passphrase").status_code == 200


def test_sign_in_with_a_field_that_is_not_text_is_a_400_naming_it(api_url, db):
    email = f"typed-{uuid.uuid4().hex[:6]}@example.test"
    for body, field in (({"email": "", "password": ["x"]}, "password"),
                        ({"email": {"$ne": ""}, "password": "x"}, "email"),
                        ({"password": "x"}, "email"),
                        ({"email": email, "password": "x", "token_name": ["cli"]}, "token_name")):
        response = requests.post(api_url + "/api/v1/auth/login", json=body, timeout=30)
        assert response.status_code == 400, (body, response.text)
        assert response.json()["error"] == "bad_field" and response.json()["field"] == field
    # Refused before the password check: not counted against anyone's sign-in limit.
    assert db.login_attempts.count_documents({"email": email}) == 0
    assert login(api_url, email, "x").status_code == 401


def test_changing_a_password_with_fields_that_are_not_text_is_a_400(member):
    for body, field in (({"current": [None, None], "new": "000000000000"}, "current"),
                        ({"current": "whatever it was", "new": 123456789012}, "new")):
        response = member.post("/api/v1/me/password", json=body)
        assert response.status_code == 400, (body, response.text)
        assert response.json()["error"] == "bad_field" and response.json()["field"] == field


def test_text_the_database_cannot_store_is_a_400_not_a_500(api_url, admin, project):
    nul = requests.post(api_url + "/api/v1/auth/login", json={"email": "a\u0000@example.test", "password": "x"}, timeout=30)
    assert nul.status_code == 400 and nul.json()["error"] == "invalid_text", nul.text
    surrogate = admin.post("/api/v1/projects", data=b'{"name": "half \\ud800 a pair"}',
                           headers={"Content-Type": "application/json"})
    assert surrogate.status_code == 400 and surrogate.json()["error"] == "invalid_text", surrogate.text
    in_query = admin.get(f"/api/v1/projects/{project['id']}/versions?asset_id=%00")
    assert in_query.status_code == 400 and in_query.json()["error"] == "invalid_text", in_query.text


def test_bootstrap_with_the_setup_key_but_a_bad_body_is_a_400_and_claims_nothing(api_url, settings, db):
    key = {"X-Setup-Key": settings.setup_key}
    claims = db.bootstrap.count_documents({})
    for body, code in (([1, 2], "invalid_json"), ({"email": ["a@example.test"]}, "bad_email"),
                       ({"email": "not an address"}, "bad_email")):
        response = requests.post(api_url + "/api/v1/auth/bootstrap", json=body, headers=key, timeout=30)
        assert response.status_code == 400 and response.json()["error"] == code, (body, response.text)
    assert db.bootstrap.count_documents({}) == claims
    again = requests.post(api_url + "/api/v1/auth/bootstrap", json={}, headers=key, timeout=30)
    assert again.status_code == 409  # `up` made the first admin already
