"""Admins manage users; everyone can change their own password."""
from __future__ import annotations

import hashlib
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import requests

from services.common import accounts


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
                       ({"email": "b@example.test", "password": "short"}, "weak_password")):
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


# Lifetimes, revocation, disable and reset ------------------------------------------

def new_member(admin, api_url):
    email = f"life-{uuid.uuid4().hex[:6]}@example.test"
    created = admin.post("/api/v1/users", json={"email": email}).json()
    return created, created["password"]


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def me(api_url, token):
    return requests.get(api_url + "/api/v1/me", headers=bearer(token), timeout=30)


def record_of(db, token):
    return db.api_tokens.find_one({"_id": hashlib.sha256(token.encode()).hexdigest()})


def test_tokens_expire_when_idle_and_at_their_absolute_age(admin, api_url, db, settings):
    user, password = new_member(admin, api_url)
    idle, old = (login(api_url, user["email"], password).json()["token"] for _ in range(2))
    record = record_of(db, old)
    assert record["expires_at"] - record["created_at"] == timedelta(seconds=settings.token_absolute_seconds)
    assert record["idle_seconds"] == settings.token_idle_seconds
    assert me(api_url, idle).status_code == me(api_url, old).status_code == 200

    now = datetime.now(timezone.utc)
    db.api_tokens.update_one({"_id": record_of(db, idle)["_id"]},
                             {"$set": {"last_used_at": now - timedelta(seconds=settings.token_idle_seconds + 5)}})
    db.api_tokens.update_one({"_id": record["_id"]}, {"$set": {"expires_at": now - timedelta(seconds=1)}})
    refused = me(api_url, idle)
    assert refused.status_code == 401 and "unused too long" in refused.json()["message"]
    refused = me(api_url, old)
    assert refused.status_code == 401 and "expired" in refused.json()["message"]


def test_last_use_is_written_now_and_then_not_on_every_request(admin, api_url, db, settings):
    user, password = new_member(admin, api_url)
    token = login(api_url, user["email"], password).json()["token"]
    first = record_of(db, token)["last_used_at"]
    assert me(api_url, token).status_code == 200
    assert record_of(db, token)["last_used_at"] == first  # fresh: no write
    stale = datetime.now(timezone.utc) - timedelta(seconds=settings.token_idle_seconds / 2)
    db.api_tokens.update_one({"_id": record_of(db, token)["_id"]}, {"$set": {"last_used_at": stale}})
    assert me(api_url, token).status_code == 200
    assert record_of(db, token)["last_used_at"] > stale + timedelta(seconds=settings.token_idle_seconds / 4)


def test_people_list_and_revoke_their_own_tokens(admin, api_url):
    user, password = new_member(admin, api_url)
    mine, other = (login(api_url, user["email"], password).json()["token"] for _ in range(2))
    listed = requests.get(api_url + "/api/v1/me/tokens", headers=bearer(mine), timeout=30).json()["tokens"]
    assert len(listed) == 2 and [t["current"] for t in listed].count(True) == 1
    assert not any(mine in str(t) or other in str(t) for t in listed)
    other_id = next(t["id"] for t in listed if not t["current"])
    assert requests.delete(api_url + f"/api/v1/me/tokens/{other_id}", headers=bearer(mine), timeout=30).status_code == 204
    assert me(api_url, other).status_code == 401 and me(api_url, mine).status_code == 200
    again = requests.delete(api_url + f"/api/v1/me/tokens/{other_id}", headers=bearer(mine), timeout=30)
    assert again.status_code == 404 and again.json()["error"] == "unknown_token"
    # someone else's token id is not yours to revoke
    theirs = requests.get(api_url + "/api/v1/me/tokens", headers=admin.session.headers, timeout=30).json()["tokens"][0]
    assert requests.delete(api_url + f"/api/v1/me/tokens/{theirs['id']}", headers=bearer(mine), timeout=30).status_code == 404


def test_an_admin_disables_a_user_and_every_token_dies_at_once(admin, api_url):
    user, password = new_member(admin, api_url)
    tokens = [login(api_url, user["email"], password).json()["token"] for _ in range(3)]
    disabled = admin.post(f"/api/v1/users/{user['id']}/disable")
    assert disabled.status_code == 200 and disabled.json()["disabled"] is True
    for token in tokens:
        refused = me(api_url, token)
        assert refused.status_code == 401 and "disabled" in refused.json()["message"]
    refused = login(api_url, user["email"], password)
    assert refused.status_code == 403 and refused.json()["error"] == "account_disabled"
    listed = {u["email"]: u for u in admin.get("/api/v1/users").json()["users"]}
    assert listed[user["email"]]["disabled"] is True

    assert admin.post(f"/api/v1/users/{user['id']}/enable").json()["disabled"] is False
    assert all(me(api_url, token).status_code == 401 for token in tokens)  # enabling revives nothing
    assert login(api_url, user["email"], password).status_code == 200


def test_an_admin_resets_a_password_shown_once_and_old_tokens_die(admin, api_url, member):
    user, password = new_member(admin, api_url)
    token = login(api_url, user["email"], password).json()["token"]
    refused = member.post(f"/api/v1/users/{user['id']}/password")
    assert refused.status_code == 403 and refused.json()["error"] == "admins_only"
    reset = admin.post(f"/api/v1/users/{user['id']}/password")
    assert reset.status_code == 200
    new = reset.json()["password"]
    assert len(new) >= 12 and new != password
    assert me(api_url, token).status_code == 401
    assert login(api_url, user["email"], password).status_code == 401
    assert login(api_url, user["email"], new).status_code == 200
    assert admin.post(f"/api/v1/users/{uuid.uuid4().hex}/password").status_code == 404
    own = admin.get("/api/v1/me").json()["id"]
    assert admin.post(f"/api/v1/users/{own}/disable").json()["error"] == "cannot_disable_self"


def test_a_sign_in_racing_a_password_change_never_leaves_a_live_token(admin, api_url, db):
    """Sign-ins with the old password run while the password changes: every
    token they got must be dead once the change has answered, whichever write
    landed first (decided by the token's credential generation, not timing)."""
    user, password = new_member(admin, api_url)
    keeper = login(api_url, user["email"], password).json()["token"]
    changed = threading.Event()
    issued: list[str] = []

    def sign_in_repeatedly():
        while not changed.is_set():
            response = login(api_url, user["email"], password)
            if response.status_code == 200:
                issued.append(response.json()["token"])

    threads = [threading.Thread(target=sign_in_repeatedly) for _ in range(3)]
    for thread in threads:
        thread.start()
    while len(issued) < 3:
        time.sleep(0.05)
    response = requests.post(api_url + "/api/v1/me/password", headers=bearer(keeper),
                             json={"current": password, "new": "the racing new passphrase"}, timeout=60)
    changed.set()
    for thread in threads:
        thread.join()
    assert response.status_code == 204, response.text
    live = [token for token in issued if me(api_url, token).status_code != 401]
    assert live == [], f"{len(live)} of {len(issued)} sign-ins with the old password kept a live token"
    assert me(api_url, keeper).status_code == 200
    db.login_attempts.delete_many({"email": user["email"]})  # failures from 127.0.0.1 count for every test


def test_concurrent_credential_changes_each_get_their_own_generation(db, settings):
    """Admins' resets and disables racing on one user: every one lands as its own
    generation (a unique insert each, retried), none is lost; two password
    changes from the same old password: one wins, the other is told so."""
    email = f"gen-{uuid.uuid4().hex[:6]}@example.test"
    user = accounts.create_user(db, email, "Gen", "member", "the first password")
    with ThreadPoolExecutor(6) as pool:
        list(pool.map(lambda i: accounts.set_disabled(db, user.id, i % 2 == 0), range(6)))
    generations = sorted(c["n"] for c in db.credentials.find({"user_id": user.id}))
    assert generations == [1, 2, 3, 4, 5, 6]

    signed_in = accounts.find_user(db, user.id)
    token = accounts.issue_token(db, signed_in, "t")
    results = []

    def change(new):
        try:
            accounts.change_password(db, signed_in, "the first password", new, token, settings)
            results.append("changed")
        except accounts.LoginRefused as err:
            results.append(err.code)

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(change, ["racer one's password", "racer two's password"]))
    assert sorted(results) == ["changed", "conflict"]
