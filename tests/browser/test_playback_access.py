"""Playback follows membership: the player renews its short-lived CDN token
while it plays, and a member removed from the project stops being served
(their renewal is refused, and their last token dies within one lifetime)
while another member keeps playing. The test stack's token lifetime is a few
seconds (Makefile: TEST_PLAYBACK_TTL)."""
from __future__ import annotations

import re
import time
import uuid
from pathlib import Path

import pytest
import requests

from services.common import accounts
from tests.browser.conftest import PASSWORD, sign_in
from tests.browser.framecode import make_clip, make_renditions
from tests.browser.test_player import wait_for_any_transcode
from tests.conftest import add_member
from tests.integration.uploading import upload

TOKEN = re.compile(r"/cdn/([A-Za-z0-9_-]+)/([0-9]+)/")


@pytest.fixture(scope="module")
def shared_version(admin, store, settings, media_dir):
    """A playable version (renditions put where the worker would) in a project two viewers belong to."""
    master = make_clip(Path(media_dir) / "framecode-25.mp4", "25")
    project = admin.post("/api/v1/projects", json={"name": f"Playback access {uuid.uuid4().hex[:6]}"}).json()
    response = upload(admin, project["id"], master, asset="Shared cut")
    assert response.status_code == 201, response.text
    version = wait_for_any_transcode(admin, response.json())
    prefix = f"{project['id']}/{version['id']}/"
    for key, path in make_renditions(master, Path(media_dir) / "renditions-25", "25").items():
        store.client.fput_object(settings.bucket("renditions"), prefix + key, str(path))
    return project, version


def viewer(db, admin, project_id: str, name: str) -> tuple[str, str]:
    email = f"{name.lower()}-{uuid.uuid4().hex[:8]}@example.test"
    accounts.create_user(db, email, name, "member", PASSWORD)
    add_member(admin, project_id, email, "viewer")
    return email, PASSWORD


def open_player(browser, api_url, account, version_id: str):
    context = browser.new_context(base_url=api_url, viewport={"width": 1000, "height": 700})
    page = context.new_page()
    page.cdn = []  # (url, status) of every CDN response, in order
    page.playback = []  # statuses of the token renewals
    page.on("response", lambda r: "/cdn/" in r.url and page.cdn.append((r.url, r.status)))
    page.on("response", lambda r: r.url.endswith("/playback") and page.playback.append(r.status))
    sign_in(page, *account, next_path=f"/versions/{version_id}")
    page.wait_for_function("() => window.framegatePlayer && window.framegatePlayer.loaded", timeout=20000)
    return context, page


def token_of(url: str) -> tuple[str, int]:
    token, expires = TOKEN.search(url).groups()
    return token, int(expires)


def test_a_removed_member_stops_playing_while_a_member_plays_on(browser, api_url, admin, db, settings,
                                                              shared_version):
    ttl = settings.playback_ttl_seconds
    assert ttl <= 15, "run under `make test` (TEST_PLAYBACK_TTL) so this takes seconds, not minutes"
    project, version = shared_version
    staying = viewer(db, admin, project["id"], "Stella")
    leaving = viewer(db, admin, project["id"], "Leon")
    leaving_id = accounts.find_user(db, email=leaving[0]).id
    contexts = []
    try:
        ctx_a, stays = open_player(browser, api_url, staying, version["id"])
        ctx_b, leaves = open_player(browser, api_url, leaving, version["id"])
        contexts += [ctx_a, ctx_b]
        first_token, first_expiry = token_of(stays.cdn[0][0])

        assert admin.delete(f"/api/v1/projects/{project['id']}/members/{leaving_id}").status_code == 204

        # The leaver's next renewal is refused and the page stops the player.
        leaves.wait_for_selector("#player[data-access=ended]", state="attached", timeout=(ttl + 10) * 1000)
        assert 404 in leaves.playback
        assert "no longer have access" in leaves.text_content("#notice")
        assert leaves.evaluate("() => document.getElementById('video').paused")
        # And whatever the page did: the CDN refuses their newest token once it expires.
        last_url = [url for url, status in leaves.cdn if status == 200][-1]
        _, last_expiry = token_of(last_url)
        while time.time() <= last_expiry + 1:
            time.sleep(0.5)
        assert requests.get(last_url, timeout=30).status_code == 403

        # The member who stays has renewed past the first token's lifetime ...
        while time.time() <= first_expiry + 1:
            time.sleep(0.5)
        stays.wait_for_function("() => Number(document.getElementById('player').dataset.refreshes || 0) >= 2",
                                timeout=(ttl + 10) * 1000)
        assert requests.get(stays.cdn[0][0], timeout=30).status_code == 403  # the page's first token is dead
        # ... and new segments (another quality: flushed and fetched again) come with a fresh token.
        seen = len(stays.cdn)
        level = stays.evaluate("() => document.getElementById('player').dataset.level || '0'")
        other = "1" if level == "0" else "0"
        stays.select_option("#quality", other)
        stays.wait_for_function(f"() => document.getElementById('player').dataset.level === '{other}'", timeout=15000)
        stays.click("#play")
        stays.wait_for_function("() => document.getElementById('video').currentTime > 0.5", timeout=15000)
        later = stays.cdn[seen:]
        assert any(url.endswith(".m4s") for url, _ in later), later
        assert all(status == 200 for _, status in later), later
        assert all(token_of(url)[0] != first_token for url, _ in later)
        assert all(status == 200 for status in stays.playback)
        assert not stays.evaluate("() => document.getElementById('player').dataset.access")
    finally:
        for context in contexts:
            context.close()
