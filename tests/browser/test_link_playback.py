"""A review link in a real Chromium: a client opens it with a name and an
e-mail after its stage and brief, and plays; once the owner revokes it, the
page's next renewal is refused (410), the player stops and says why, and the
CDN serves nothing after the last token's lifetime. An expired link is
refused on opening. The test stack's token lifetime is a few seconds
(Makefile: TEST_PLAYBACK_TTL)."""
from __future__ import annotations

import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import requests

from services.common import accounts
from tests.browser.conftest import PASSWORD, sign_in
from tests.browser.test_playback_access import shared_version, token_of  # noqa: F401 (a fixture)
from tests.conftest import add_member

SCREENSHOTS = Path("/tmp")


def make_link(admin, version_id: str, **fields) -> dict:
    body = {"version_id": version_id, "kind": "client", "stage": "Director's cut",
            "brief": "Focus on pacing; colour and music are temporary."} | fields
    response = admin.post("/api/v1/review/links", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def open_link(browser, api_url, url: str):
    context = browser.new_context(base_url=api_url, viewport={"width": 1000, "height": 760})
    page = context.new_page()
    page.cdn = []  # (url, status) of every CDN response, in order
    page.playback = []  # statuses of the token renewals
    page.on("response", lambda r: "/cdn/" in r.url and page.cdn.append((r.url, r.status)))
    page.on("response", lambda r: r.url.endswith("/playback") and page.playback.append(r.status))
    page.goto(url)
    return context, page


def test_a_revoked_client_link_stops_playing_within_one_lifetime(browser, api_url, admin, settings, shared_version):
    ttl = settings.playback_ttl_seconds
    assert ttl <= 15, "run under `make test` (TEST_PLAYBACK_TTL) so this takes seconds, not minutes"
    project, version = shared_version
    link = make_link(admin, version["id"])
    context, page = open_link(browser, api_url, link["url"])
    try:
        # Before anything plays: the stage, the brief and a form for a name and an e-mail.
        assert page.text_content("#link-stage").strip() == "Director's cut"
        assert "Focus on pacing" in page.text_content("#link-brief")
        assert page.locator("#player").count() == 0 and not page.cdn
        page.screenshot(path=str(SCREENSHOTS / "framegate-link-open.png"))
        page.fill("input[name=name]", "Cleo Client")
        page.fill("input[name=email]", "cleo@client.example")
        page.click("button[type=submit]")
        page.wait_for_function("() => window.framegatePlayer && window.framegatePlayer.loaded", timeout=20000)
        page.click("#play")
        page.wait_for_function("() => document.getElementById('video').currentTime > 0.5", timeout=15000)
        page.screenshot(path=str(SCREENSHOTS / "framegate-link-player.png"))
        assert any(url.endswith(".m4s") and status == 200 for url, status in page.cdn), page.cdn
        # Pausing reports what was played (the page also does every few seconds while playing).
        with page.expect_response(lambda r: r.url.endswith("/progress")) as reported:
            page.click("#play")
        assert reported.value.status == 200

        assert admin.post(f"/api/v1/review/links/{link['link_id']}/revoke").status_code == 200

        page.wait_for_selector("#player[data-access=ended]", state="attached", timeout=(ttl + 10) * 1000)
        assert 410 in page.playback
        assert "revoked" in page.text_content("#notice")
        assert page.evaluate("() => document.getElementById('video').paused")
        # Whatever the page does, the CDN refuses its newest token once that expires.
        last_url = [url for url, status in page.cdn if status == 200][-1]
        _, last_expiry = token_of(last_url)
        assert last_expiry <= time.time() + ttl + 1
        while time.time() <= last_expiry + 1:
            time.sleep(0.5)
        assert requests.get(last_url, timeout=30).status_code == 403
        assert page.evaluate("(u) => fetch(u, {cache: 'no-store'}).then(r => r.status)", last_url) == 403
        # And what the reviewer played before is in the link's access log.
        log = admin.get(f"/api/v1/review/links/{link['link_id']}/access").json()["sessions"]
        assert [(s["name"], s["email"]) for s in log] == [("Cleo Client", "cleo@client.example")]
        assert log[0]["device"].startswith("Chrome") and log[0]["percent_watched"] > 0
        assert log[0]["watched"][0][0] == 0
    finally:
        context.close()


def test_an_expired_link_is_refused_on_opening(browser, api_url, admin, shared_version):
    _, version = shared_version
    expires = datetime.now(timezone.utc) + timedelta(seconds=2)
    link = make_link(admin, version["id"], expires_at=expires.isoformat())
    time.sleep(2.5)
    context, page = open_link(browser, api_url, link["url"])
    try:
        assert "expired" in page.text_content("#link-gone")
        assert page.locator("form").count() == 0 and page.locator("#player").count() == 0
        assert not page.cdn
    finally:
        context.close()


def test_the_owner_reads_the_access_log_page(browser, api_url, admin, db, shared_version):
    project, version = shared_version
    link = make_link(admin, version["id"])
    token = link["url"].split("/l/")[1]
    reviewer = requests.Session()
    reviewer.headers["User-Agent"] = ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 "
                                      "(KHTML, like Gecko) Chrome/120.0 Safari/537.36")
    opened = reviewer.post(f"{api_url}/api/v1/review/links/{token}/sessions",
                           json={"name": "Cleo Client", "email": "cleo@client.example"}, timeout=30)
    assert opened.status_code == 201, opened.text
    played = reviewer.post(f"{api_url}/api/v1/review/link-sessions/{link['link_id']}/progress",
                           json={"ranges": [[0, 24]]}, headers={"X-Framegate-CSRF": "1"}, timeout=30)
    assert played.json()["percent_watched"] == 50.0

    email = f"olive-{uuid.uuid4().hex[:6]}@example.test"
    accounts.create_user(db, email, "Olive Owner", "member", PASSWORD)
    add_member(admin, project["id"], email, "owner")
    context = browser.new_context(base_url=api_url, viewport={"width": 1100, "height": 500})
    page = context.new_page()
    try:
        sign_in(page, email, PASSWORD, next_path=f"/links/{link['link_id']}/access")
        row = page.locator(".access-row")
        assert row.count() == 1
        cells = [c.strip() for c in row.locator("td").all_text_contents()]
        assert cells[1:5] == ["Cleo Client", "cleo@client.example", "Chrome on macOS", "127.0.0.1"]
        assert cells[5:] == ["0-24", "50.0 %", "0"]  # watched frames, percent, downloads
        page.screenshot(path=str(SCREENSHOTS / "framegate-link-access.png"))
    finally:
        context.close()
