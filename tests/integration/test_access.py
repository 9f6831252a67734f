"""Access: every route needs a user or a token; sign-in is checked and limited;
a signed-in user who is not a member of a project gets nothing of it."""
from __future__ import annotations

import math
import re
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
import requests
import requests.adapters
from argon2 import PasswordHasher

from services.common import accounts, passwords
from services.common.settings import local_port
from services.ingest.app import create_app
from services.review.app import create_app as create_review_app
from tests import media
from tests.conftest import add_member
from tests.integration.uploading import start, upload

PUBLIC = {"/healthz", "/metrics", "/api/v1/auth/login", "/api/v1/auth/bootstrap"}
# Review: sign-in itself, static files and hls.js; the origin answers only nginx (checked in test_cdn).
REVIEW_PUBLIC = {"/signin", "/static/<path:filename>", "/static/vendor/hls.min.js", "/_origin/renditions/<path:key>"}
# Review links: reached without an account, through the link's token and then a link session
# (test_review_links checks them; the walk below checks they refuse a caller without one).
LINK_PUBLIC = {"/l/<token>", "/api/v1/review/links/<token>/sessions"}
LINK_SESSION_PREFIX = "/api/v1/review/link-sessions/"


def ingest_routes(settings, factory=create_app):
    app = factory(settings)
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        path = re.sub(r"<[^>]+>", "x" + uuid.uuid4().hex[:6], rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule.rule, method, path


def test_every_route_refuses_callers_without_credentials(settings, api_url):
    checked = 0
    for rule, method, path in ingest_routes(settings):
        if rule in PUBLIC:
            continue
        for headers in ({}, {"Authorization": "Bearer fg_not-a-real-token"}, {"Authorization": "Basic YWRtaW46YWRtaW4="}):
            response = requests.request(method, api_url + path, headers=headers, json={}, timeout=30)
            assert response.status_code == 401, (method, path, headers, response.status_code)
            assert response.json()["error"] == "unauthorized"
        checked += 1
    assert checked >= 10


def test_every_review_page_sends_strangers_to_sign_in(settings, api_url):
    checked = 0
    for rule, method, path in ingest_routes(settings, create_review_app):
        if rule in PUBLIC | REVIEW_PUBLIC | LINK_PUBLIC or rule.startswith(LINK_SESSION_PREFIX):
            continue
        for cookies in ({}, {"framegate_session": "fg_not-a-real-session"}):
            response = requests.request(method, api_url + path, cookies=cookies, allow_redirects=False, timeout=30)
            if path.startswith("/api/"):  # review's own API answers like every API: 401 JSON
                assert response.status_code == 401 and response.json()["error"] == "unauthorized", (method, path)
            elif method == "GET":
                assert response.status_code in (302, 303), (method, path, response.status_code)
                assert "/signin" in response.headers["Location"]
            else:
                assert response.status_code in (401, 403), (method, path, response.status_code)
        checked += 1
    assert checked >= 5


def test_every_link_session_route_refuses_callers_without_a_link_session(settings, api_url, member):
    checked = 0
    for rule, method, path in ingest_routes(settings, create_review_app):
        if not rule.startswith(LINK_SESSION_PREFIX):
            continue
        # Neither a member's session nor a made-up link cookie is a link session.
        for cookies in ({}, {"framegate_session": member.session.headers["Authorization"][7:]},
                        {"framegate_link_x": "made-up"}):
            response = requests.request(method, api_url + path, cookies=cookies, json={}, timeout=30,
                                        headers={"X-Framegate-CSRF": "1"})
            assert response.status_code == 401, (method, path, response.status_code)
            assert response.json()["error"] == "no_link_session"
        checked += 1
    assert checked >= 5


def test_the_service_key_only_reads(settings, api_url):
    """Review's read-only service key (for link reviewers) reads ingest; it never writes, and a guess is refused."""
    from services.common.web import SERVICE_KEY_HEADER, service_key

    key = {SERVICE_KEY_HEADER: service_key(settings.secret_key)}
    assert requests.get(api_url + "/api/v1/projects", headers=key, timeout=30).status_code == 200
    guess = requests.get(api_url + "/api/v1/projects", headers={SERVICE_KEY_HEADER: "0" * 64}, timeout=30)
    assert guess.status_code == 401
    write = requests.post(api_url + "/api/v1/projects", headers=key, json={"name": "By a key"}, timeout=30)
    assert write.status_code == 401


def test_bootstrap_needs_the_setup_key_and_happens_once(api_url, settings):
    wrong = requests.post(api_url + "/api/v1/auth/bootstrap", headers={"X-Setup-Key": "guess"}, timeout=30)
    assert wrong.status_code == 401
    again = requests.post(api_url + "/api/v1/auth/bootstrap", headers={"X-Setup-Key": settings.setup_key}, timeout=30)
    assert again.status_code == 409
    assert again.json()["error"] == "already_bootstrapped"


def test_sign_in_with_the_right_password_only(api_url, db):
    email = f"editor-{uuid.uuid4().hex[:8]}@example.test"
    accounts.create_user(db, email, "Editor", "member", "s3cret-enough")
    bad = requests.post(api_url + "/api/v1/auth/login", json={"email": email, "password": "wrong"}, timeout=30)
    assert bad.status_code == 401 and bad.json()["error"] == "invalid_credentials"
    good = requests.post(api_url + "/api/v1/auth/login", json={"email": email.upper(), "password": "s3cret-enough"}, timeout=30)
    assert good.status_code == 200
    token = good.json()["token"]
    me = requests.get(api_url + "/api/v1/me", headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert me.json()["email"] == email and me.json()["role"] == "member"


def test_tokens_are_random_and_stored_only_as_hashes(api_url, db, member):
    token = member.session.headers["Authorization"][7:]
    assert len(token) >= 3 + 43  # "fg_" + 32 random bytes in base64url
    assert db.api_tokens.find_one({"_id": token}) is None
    assert not any(token in str(doc) for doc in db.api_tokens.find())


def test_passwords_are_stored_as_argon2id(db, member):
    doc = db.users.find_one({"role": "member"})
    assert doc["password_hash"].startswith("$argon2id$")


def test_repeated_wrong_passwords_are_rate_limited(api_url, db, settings):
    email = f"target-{uuid.uuid4().hex[:8]}@example.test"
    accounts.create_user(db, email, "Target", "member", "the-real-one")
    codes = [
        requests.post(api_url + "/api/v1/auth/login", json={"email": email, "password": f"guess{i}"}, timeout=30).status_code
        for i in range(settings.login_attempts_per_window + 1)
    ]
    assert codes[:-1] == [401] * settings.login_attempts_per_window
    assert codes[-1] == 429
    # even the right password is refused while the limit holds
    right = requests.post(api_url + "/api/v1/auth/login", json={"email": email, "password": "the-real-one"}, timeout=30)
    assert right.status_code == 429
    # Our failures also count against 127.0.0.1; leave room for the other sign-in tests.
    db.login_attempts.delete_many({"email": email})


def test_logout_revokes_the_token(member):
    assert member.get("/api/v1/me").status_code == 200
    assert member.post("/api/v1/auth/logout").status_code == 204
    assert member.get("/api/v1/me").status_code == 401


@pytest.mark.parametrize("path", ["/healthz", "/metrics"])
def test_health_and_metrics_are_open_on_the_services_ports_not_at_the_front_door(api_url, path):
    for service in ("ingest", "review"):
        assert requests.get(f"http://127.0.0.1:{local_port(service)}{path}", timeout=30).status_code == 200
    assert requests.get(api_url + path, timeout=30).status_code == 404
    assert requests.get(api_url + "/_origin/renditions/p/v/poster.jpg", timeout=30).status_code == 404


# Signed in, but not a member -------------------------------------------------
# Routes that name something of a project (its id, or a version's or upload's)
# answer a non-member exactly as if it did not exist. The other signed-in
# routes are the user's own (account, token, their projects) and listed here;
# a new route must be placed in one group or the other.
PROJECT_PLACEHOLDERS = {"<project_id>", "<version_id>", "<upload_id>"}
NOT_PROJECT_ROUTES = {
    "/api/v1/auth/logout", "/api/v1/me", "/api/v1/me/password", "/api/v1/users", "/api/v1/openapi.json",
    "/api/v1/projects", "/api/v1/uploads", "/api/v1/me/tokens", "/api/v1/me/tokens/<token_id>",
    "/api/v1/users/<user_id>/disable", "/api/v1/users/<user_id>/enable", "/api/v1/users/<user_id>/password",
}
NOT_FOUND_CODES = {"unknown_project", "unknown_version", "unknown_upload", "unknown_completion"}


@pytest.fixture(scope="module")
def walled_project(admin, tmp_path_factory):
    """An admin's project with a version, an open upload and a second member: what an outsider must not reach."""
    media_dir = tmp_path_factory.mktemp("walled")
    project = admin.post("/api/v1/projects", json={"name": f"Walled {uuid.uuid4().hex[:8]}"}).json()
    completed = upload(admin, project["id"], media.make_png(media_dir), asset="Still")
    assert completed.status_code == 201, completed.text
    opened = start(admin, project["id"], media.make_h264_2398(media_dir), asset="Open")
    assert opened.status_code == 201, opened.text
    admin_id = admin.get("/api/v1/me").json()["id"]
    return {"project_id": project["id"], "version_id": completed.json()["id"],
            "upload_id": opened.json()["uploads"][0]["upload_id"], "user_id": admin_id, "name": project["name"]}


def what_the_admin_sees(admin, ids: dict) -> dict:
    """Everything a non-member's requests could have changed."""
    project_id = ids["project_id"]
    upload_state = admin.get(f"/api/v1/uploads/{ids['upload_id']}").json()
    return {
        "members": admin.get(f"/api/v1/projects/{project_id}/members").json(),
        "assets": admin.get(f"/api/v1/projects/{project_id}/assets").json(),
        "versions": [(v["id"], v["number"]) for v in admin.get(f"/api/v1/projects/{project_id}/versions").json()["versions"]],
        "upload": (upload_state["state"], upload_state["part_count"]),
    }


def test_every_project_route_gives_a_signed_in_non_member_nothing(settings, api_url, admin, member, walled_project):
    ids = walled_project
    before = what_the_admin_sees(admin, ids)
    # A body that would do something on every write route that forgot to check.
    body = {"role": "owner", "email": member.get("/api/v1/me").json()["email"], "sha256": "0" * 64,
            "project_id": ids["project_id"], "name": "Renamed",
            "files": [{"filename": "x.mov", "size": 10, "fingerprint": "fp-outsider"}]}
    walked = []
    for rule, method, _ in ingest_routes(settings):
        placeholders = set(re.findall(r"<[^>]+>", rule))
        if rule in PUBLIC or rule in NOT_PROJECT_ROUTES:
            continue
        assert placeholders & PROJECT_PLACEHOLDERS, f"{method} {rule}: say whether it is about a project"
        path = rule
        for name in placeholders:
            path = path.replace(name, ids[name.strip("<>")])
        response = member.session.request(method, api_url + path, json=body, timeout=60)
        assert response.status_code == 404, (method, path, response.status_code, response.text)
        assert response.json()["error"] in NOT_FOUND_CODES, (method, path, response.json())
        assert ids["name"] not in response.text
        walked.append((method, rule))
    assert len(walked) >= 10, walked

    listed = member.get("/api/v1/projects")
    assert listed.status_code == 200
    assert ids["project_id"] not in listed.text and ids["name"] not in listed.text
    started = member.post("/api/v1/uploads", json=body)
    assert started.status_code == 404 and started.json()["error"] == "unknown_project"
    # Creating a project of the same name tells the outsider only that the name is taken.
    same_name = member.post("/api/v1/projects", json={"name": ids["name"]})
    assert same_name.status_code == 409 and ids["project_id"] not in same_name.text
    assert what_the_admin_sees(admin, ids) == before


def test_every_review_page_of_a_project_is_not_found_for_a_non_member(api_url, member, walled_project):
    ids = walled_project
    session = requests.Session()
    session.cookies.set("framegate_session", member.session.headers["Authorization"][7:])
    for path in (f"/projects/{ids['project_id']}", f"/versions/{ids['version_id']}"):
        response = session.get(api_url + path, allow_redirects=False, timeout=30)
        assert response.status_code == 404, (path, response.status_code)
        assert ids["name"] not in response.text
    listed = session.get(api_url + "/projects", timeout=30)
    assert listed.status_code == 200 and ids["name"] not in listed.text


def test_a_viewer_cannot_upload_and_is_told_their_role(admin, member, walled_project, tmp_path):
    ids = walled_project
    add_member(admin, ids["project_id"], member.get("/api/v1/me").json()["email"], "viewer")
    assert member.get(f"/api/v1/projects/{ids['project_id']}/versions").status_code == 200  # a viewer watches
    refused = start(member, ids["project_id"], media.make_png(tmp_path), asset="Viewer's")
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"] == "role_forbids" and "viewer" in refused.json()["message"]
    assert "Viewer's" not in admin.get(f"/api/v1/projects/{ids['project_id']}/assets").text

# Sign-in limits: by (e-mail, address) pair with backoff, and per address ---------

class FromAddress(requests.adapters.HTTPAdapter):
    """Connect from another loopback address, as another machine would (nginx
    passes the peer address on; ingest trusts one proxy hop)."""

    def __init__(self, ip: str):
        self.ip = ip
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.ip, 0)
        return super().init_poolmanager(*args, **kwargs)


def client_at(ip: str) -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    session.mount("http://", FromAddress(ip))
    return session


def sign_in_from(ip, api_url, email, password):
    return client_at(ip).post(api_url + "/api/v1/auth/login", json={"email": email, "password": password}, timeout=60)


@pytest.fixture
def target(db):
    email = f"target-{uuid.uuid4().hex[:8]}@example.test"
    accounts.create_user(db, email, "Target", "member", "the-real-one")
    yield email
    db.login_attempts.delete_many({"email": email})


def test_a_stranger_guessing_from_one_address_cannot_lock_the_user_out(api_url, settings, target):
    codes = [sign_in_from("127.0.0.2", api_url, target, f"guess{i}").status_code
             for i in range(settings.login_attempts_per_window + 2)]
    assert codes == [401] * settings.login_attempts_per_window + [429, 429]
    assert sign_in_from("127.0.0.2", api_url, target, "the-real-one").status_code == 429
    # the user, from their own address, signs in as usual
    assert sign_in_from("127.0.0.3", api_url, target, "the-real-one").status_code == 200


def test_the_wait_after_the_free_attempts_doubles(api_url, db, settings, target):
    for i in range(settings.login_attempts_per_window):
        assert sign_in_from("127.0.0.4", api_url, target, f"guess{i}").status_code == 401
    refused = sign_in_from("127.0.0.4", api_url, target, "guess")
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) == math.ceil(settings.login_backoff_seconds)
    # Let the first wait pass (move the failures into the past), then fail once more.
    past = datetime.now(timezone.utc) - timedelta(seconds=settings.login_backoff_seconds + 1)
    db.login_attempts.update_many({"email": target, "ip": "127.0.0.4"}, {"$set": {"at": past}})
    assert sign_in_from("127.0.0.4", api_url, target, "guess again").status_code == 401
    refused = sign_in_from("127.0.0.4", api_url, target, "guess")
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) == math.ceil(2 * settings.login_backoff_seconds)


def test_a_concurrent_burst_of_guesses_checks_no_more_passwords_than_the_limit(api_url, settings, target):
    burst = 3 * settings.login_attempts_per_window
    with ThreadPoolExecutor(burst) as pool:
        codes = list(pool.map(lambda i: sign_in_from("127.0.0.5", api_url, target, f"burst{i}").status_code,
                              range(burst)))
    checked = codes.count(401)
    assert 1 <= checked <= settings.login_attempts_per_window, codes
    assert set(codes) <= {401, 429, 503}, codes


def test_one_address_guessing_across_many_e_mails_is_stopped(api_url, db, settings):
    emails = [f"spray-{uuid.uuid4().hex[:8]}@example.test" for _ in range(settings.login_attempts_per_address + 1)]
    try:
        codes = [sign_in_from("127.0.0.6", api_url, email, "Winter2026!").status_code for email in emails]
        assert codes[:-1] == [401] * settings.login_attempts_per_address and codes[-1] == 429
    finally:
        db.login_attempts.delete_many({"ip": "127.0.0.6"})


def test_a_busy_sign_in_waits_briefly_then_says_try_again(settings, db, target):
    """Every hashing slot taken (here: held by the test) → 503 with a clear JSON error."""
    busy = replace(settings, max_concurrent_hashes=1, hash_wait_seconds=0.05)
    app = create_app(busy)
    gate = passwords.hash_gate(busy)
    assert gate.acquire(timeout=5)
    try:
        response = app.test_client().post("/api/v1/auth/login", json={"email": target, "password": "the-real-one"})
    finally:
        gate.release()
    assert response.status_code == 503 and response.json["error"] == "busy"
    assert "try again" in response.json["message"] and response.headers["Retry-After"]
    again = app.test_client().post("/api/v1/auth/login", json={"email": target, "password": "the-real-one"})
    assert again.status_code == 200


def test_the_api_sign_in_takes_json_only_so_a_cross_site_form_cannot_use_it(api_url, target):
    """A form on another site can post url-encoded or text/plain, never application/json without CORS."""
    for body in ({"data": {"email": target, "password": "the-real-one"}},
                 {"data": '{"email": "%s", "password": "the-real-one"}' % target, "headers": {"Content-Type": "text/plain"}}):
        response = requests.post(api_url + "/api/v1/auth/login", timeout=30, **body)
        assert response.status_code == 400 and response.json()["error"] == "invalid_json"


def test_old_password_hashes_are_upgraded_at_sign_in(api_url, db, target):
    old = PasswordHasher(time_cost=3, memory_cost=65536, parallelism=4).hash("the-real-one")
    db.users.update_one({"email": target}, {"$set": {"password_hash": old}})
    assert sign_in_from("127.0.0.7", api_url, target, "the-real-one").status_code == 200
    assert db.users.find_one({"email": target})["password_hash"].startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert sign_in_from("127.0.0.7", api_url, target, "the-real-one").status_code == 200
