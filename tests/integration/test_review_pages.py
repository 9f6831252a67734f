"""The review pages through nginx: sign-in with a cookie session, redirects
for pages and 401 for the API, CSRF on cookie writes, sign-out, the player's
signed URLs."""
from __future__ import annotations

import re
import uuid
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from services.common import accounts
from services.common.web import CSRF_HEADER, SESSION_COOKIE, csrf_token_for
from tests.conftest import add_member

PASSWORD = "a long enough password"


@pytest.fixture
def person(db):
    email = f"viewer-{uuid.uuid4().hex[:8]}@example.test"
    accounts.create_user(db, email, "Vera Viewer", "member", PASSWORD)
    yield email
    # Failed attempts also count against the address (127.0.0.1 for every
    # test): leave none behind for the next tests.
    db.login_attempts.delete_many({"email": email})


def browser() -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    return session


def post_sign_in(api_url: str, data: dict, session: requests.Session | None = None) -> requests.Response:
    """What a browser does: load the form (its CSRF token and pre-session cookie), then post it."""
    session = session or browser()
    form = session.get(api_url + "/signin", timeout=30).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    return session.post(api_url + "/signin", data={**data, "csrf_token": token}, allow_redirects=False, timeout=30)


def sign_in(api_url: str, email: str, password: str = PASSWORD, next_path: str = "") -> requests.Session:
    session = browser()
    response = post_sign_in(api_url, {"email": email, "password": password, "next": next_path}, session)
    assert response.status_code == 303, response.text
    return session


def test_pages_send_strangers_to_sign_in_and_the_api_says_401(api_url):
    for path in ("/", "/projects", f"/projects/{uuid.uuid4().hex}", f"/versions/{uuid.uuid4().hex}"):
        response = browser().get(api_url + path, allow_redirects=False, timeout=30)
        assert response.status_code == 302, path
        location = urlsplit(response.headers["Location"])
        assert location.path == "/signin" and parse_qs(location.query) == {"next": [path]}, location
    api = browser().get(api_url + "/api/v1/projects", timeout=30)
    assert api.status_code == 401 and api.json()["error"] == "unauthorized"


def test_sign_in_sets_an_httponly_samesite_cookie(api_url, person):
    session = browser()
    response = post_sign_in(api_url, {"email": person, "password": PASSWORD, "next": "/projects"}, session)
    assert response.status_code == 303 and response.headers["Location"].endswith("/projects")
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=fg_")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie
    page = session.get(api_url + "/projects", timeout=30)
    assert page.status_code == 200 and "Vera Viewer" in page.text
    assert session.get(api_url + "/api/v1/me", timeout=30).json()["email"] == person  # same session for the API


def test_a_wrong_password_says_so_clearly(api_url, person):
    response = post_sign_in(api_url, {"email": person, "password": "nope"})
    assert response.status_code == 401
    assert "E-mail or password is wrong." in response.text
    assert SESSION_COOKIE not in response.headers.get("Set-Cookie", "")


def test_sign_in_is_rate_limited(api_url, person, settings):
    for _ in range(settings.login_attempts_per_window):
        post_sign_in(api_url, {"email": person, "password": "guess"})
    response = post_sign_in(api_url, {"email": person, "password": PASSWORD})
    assert response.status_code == 429 and "Too many failed sign-ins" in response.text


def test_sign_in_never_redirects_to_another_site(api_url, person):
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        response = post_sign_in(api_url, {"email": person, "password": PASSWORD, "next": target})
        assert response.headers["Location"] == "/projects", target


def test_cookie_writes_need_the_csrf_header(api_url, person):
    session = sign_in(api_url, person)
    name = {"name": f"Cookie project {uuid.uuid4().hex[:6]}"}
    refused = session.post(api_url + "/api/v1/projects", json=name, timeout=30)
    assert refused.status_code == 403 and refused.json()["error"] == "csrf_required"
    made = session.post(api_url + "/api/v1/projects", json=name, headers={CSRF_HEADER: "1"}, timeout=30)
    assert made.status_code == 201


def test_sign_out_needs_the_form_token_and_ends_the_session(api_url, person):
    session = sign_in(api_url, person)
    token = session.cookies[SESSION_COOKIE]
    page = session.get(api_url + "/projects", timeout=30).text
    assert csrf_token_for(token) in page
    assert session.post(api_url + "/signout", allow_redirects=False, timeout=30).status_code == 403
    out = session.post(api_url + "/signout", data={"csrf_token": csrf_token_for(token)}, allow_redirects=False, timeout=30)
    assert out.status_code == 303 and urlsplit(out.headers["Location"]).path == "/signin"
    # The token is revoked, not only forgotten by this browser.
    stale = browser()
    stale.cookies.set(SESSION_COOKIE, token)
    assert stale.get(api_url + "/api/v1/me", timeout=30).status_code == 401
    assert stale.get(api_url + "/projects", allow_redirects=False, timeout=30).status_code == 302


def test_the_player_page_carries_a_signed_master_url(api_url, admin, person, media_dir):
    from tests import media
    from tests.integration.uploading import upload

    project = admin.post("/api/v1/projects", json={"name": f"Review {uuid.uuid4().hex[:6]}"}).json()
    version = upload(admin, project["id"], media.make_mov_25_tc(media_dir)).json()
    add_member(admin, project["id"], person, "viewer")
    session = sign_in(api_url, person)
    page = session.get(api_url + f"/versions/{version['id']}", timeout=30)
    assert page.status_code == 200
    assert "Content-Security-Policy" in page.headers
    master = re.search(r'"master": "([^"]+)"', page.text).group(1)
    assert master.startswith("/cdn/") and master.endswith(f"/{project['id']}/{version['id']}/hls/master.m3u8")
    # Signed correctly: never 403 (404 while the worker has not written it yet, 200 after).
    assert browser().get(api_url + master, timeout=30).status_code in (200, 404)
    assert browser().get(api_url + master.replace(version["id"], uuid.uuid4().hex), timeout=30).status_code == 403
    listing = session.get(api_url + f"/projects/{project['id']}", timeout=30)
    assert version["id"] in listing.text and f"/versions/{version['id']}" in listing.text


def test_an_unknown_version_is_a_404_page(api_url, person):
    session = sign_in(api_url, person)
    response = session.get(api_url + f"/versions/{uuid.uuid4().hex}", timeout=30)
    assert response.status_code == 404 and "Not found" in response.text


def test_the_project_page_offers_upload_to_editors_not_viewers(api_url, admin, person, db):
    project = admin.post("/api/v1/projects", json={"name": f"Roles {uuid.uuid4().hex[:6]}"}).json()
    add_member(admin, project["id"], person, "viewer")
    session = sign_in(api_url, person)
    as_viewer = session.get(api_url + f"/projects/{project['id']}", timeout=30).text
    assert 'id="upload"' not in as_viewer and "You are a viewer here" in as_viewer
    user_id = accounts.find_user(db, email=person).id
    admin.patch(f"/api/v1/projects/{project['id']}/members/{user_id}", json={"role": "editor"})
    assert 'id="upload"' in session.get(api_url + f"/projects/{project['id']}", timeout=30).text
def test_a_cross_site_sign_in_post_is_refused(api_url, person):
    """Login CSRF: another site must not sign a visitor in (to its own account, say)."""
    data = {"email": person, "password": PASSWORD}
    # no form token and no pre-session cookie: a plain cross-site form post
    bare = browser().post(api_url + "/signin", data=data, allow_redirects=False, timeout=30)
    assert bare.status_code == 403 and SESSION_COOKIE not in bare.headers.get("Set-Cookie", "")
    assert "came from another site" in bare.text
    # a token from another browser's form does not fit this browser's cookie
    theirs = browser()
    token = re.search(r'name="csrf_token" value="([^"]+)"', theirs.get(api_url + "/signin", timeout=30).text).group(1)
    mine = browser()
    mine.get(api_url + "/signin", timeout=30)
    forged = mine.post(api_url + "/signin", data={**data, "csrf_token": token}, allow_redirects=False, timeout=30)
    assert forged.status_code == 403
    # the right token, but the browser says the form was on another site
    session = browser()
    token = re.search(r'name="csrf_token" value="([^"]+)"', session.get(api_url + "/signin", timeout=30).text).group(1)
    foreign = session.post(api_url + "/signin", data={**data, "csrf_token": token}, allow_redirects=False,
                           headers={"Origin": "https://evil.example"}, timeout=30)
    assert foreign.status_code == 403
    same = session.post(api_url + "/signin", data={**data, "csrf_token": token}, allow_redirects=False,
                        headers={"Origin": api_url}, timeout=30)
    assert same.status_code == 303 and SESSION_COOKIE in same.headers["Set-Cookie"]


def test_with_a_cdn_url_the_player_mints_playback_urls_on_the_cdn(api_url, admin, person, db, settings, media_dir):
    """FRAMEGATE_CDN_URL (production's CDN): the review app, as configured so, against the real stack."""
    from dataclasses import replace

    from services.review.app import create_app
    from tests import media
    from tests.integration.uploading import upload

    project = admin.post("/api/v1/projects", json={"name": f"CDN {uuid.uuid4().hex[:6]}"}).json()
    version = upload(admin, project["id"], media.make_mov_25_tc(media_dir)).json()
    user = accounts.login(db, person, PASSWORD, "127.0.0.9", settings)
    token = accounts.issue_token(db, user, "test", accounts.lifetime(settings, "browser"), "browser")
    app = create_app(replace(settings, cdn_url="https://cdn.example.test"))
    client = app.test_client()
    client.set_cookie(SESSION_COOKIE, token)
    page = client.get(f"/versions/{version['id']}")
    assert page.status_code == 200
    master = re.search(r'"master": "([^"]+)"', page.text).group(1)
    assert master.startswith("https://cdn.example.test/cdn/")
    assert master.endswith(f"/{project['id']}/{version['id']}/hls/master.m3u8")
    assert "https://cdn.example.test" in page.headers["Content-Security-Policy"]
