"""Review links on the team's project page, in a real Chromium: an owner makes
a client link to an asset's current version with a brief, expiry, password,
domains and download, copies its URL (shown once), sees its rules and state,
opens its access log, and revokes it; a bad expiry is refused with the
server's reason and makes nothing; an editor sees no links panel."""
from __future__ import annotations

import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import requests

from services.common import accounts
from tests import media
from tests.browser.conftest import PASSWORD, sign_in
from tests.conftest import add_member
from tests.integration.uploading import upload

SCREENSHOT = Path("/tmp/framegate-links-panel.png")


@pytest.fixture(scope="module")
def project(admin, media_dir, reviewer):
    """A project the reviewer owns, with one asset ("Hero") and its first version."""
    project = admin.post("/api/v1/projects", json={"name": f"Links UI {uuid.uuid4().hex[:6]}"}).json()
    add_member(admin, project["id"], reviewer[0], "owner")
    made = upload(admin, project["id"], media.make_h264_2398(media_dir), asset="Hero")
    assert made.status_code == 201, made.text
    return project, made.json()


def links_of(admin, project_id: str) -> list[dict]:
    return admin.get(f"/api/v1/review/projects/{project_id}/links").json()["links"]


def test_an_owner_makes_copies_and_revokes_a_link_from_the_project_page(browser, api_url, admin, project, reviewer):
    project, version = project
    context = browser.new_context(base_url=api_url, viewport={"width": 1200, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=api_url)
    page = context.new_page()
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.accept()))
    try:
        sign_in(page, *reviewer, next_path=f"/projects/{project['id']}")
        page.wait_for_function("() => document.getElementById('links').dataset.loaded === '1'", timeout=15000)
        assert page.locator("#links [data-part=empty]").is_visible()

        # A bad expiry: the server's reason, nothing made.
        page.fill("#link-form input[name=stage]", "Too late")
        page.fill("#link-form input[name=expires]", "2020-01-01T10:00")
        page.click("#link-form button[type=submit]")
        page.wait_for_selector("#links [data-part=error]:not([hidden])")
        assert "past" in page.text_content("#links [data-part=error]")
        assert links_of(admin, project["id"]) == []

        page.select_option("#link-form select[name=target]", f"asset:{version['asset_id']}")
        page.fill("#link-form input[name=stage]", "Client cut <b>1</b>")
        page.fill("#link-form textarea[name=brief]", "Focus on pacing; music is temporary.")
        later = (datetime.now() + timedelta(days=3)).replace(second=0, microsecond=0)
        page.fill("#link-form input[name=expires]", later.strftime("%Y-%m-%dT%H:%M"))
        page.fill("#link-form input[name=password]", "open sesame")
        page.fill("#link-form input[name=domains]", "@Client.example")
        page.check("#link-form input[name=download]")
        page.click("#link-form button[type=submit]")
        page.wait_for_selector("#links [data-part=made]:not([hidden])")
        url = page.input_value("#links [data-part=url]")
        assert url.startswith(f"{api_url}/l/")
        assert page.locator("#links [data-part=error]").is_hidden()

        [link] = links_of(admin, project["id"])
        assert (link["kind"], link["stage"], link["follows"], link["asset_id"]) == (
            "client", "Client cut <b>1</b>", "current", version["asset_id"])
        assert (link["brief"], link["allowed_domains"], link["password"], link["download"], link["comments"]) == (
            "Focus on pacing; music is temporary.", ["client.example"], True, True, True)
        expires = datetime.fromisoformat(link["expires_at"].replace("Z", "+00:00"))
        assert expires == later.astimezone(timezone.utc)  # the browser's local time, sent as UTC
        opened = requests.get(url, timeout=30)  # the URL shown is the link's
        assert opened.status_code == 200 and "Focus on pacing" in opened.text

        row = page.locator(f"#links tr[data-link-id='{link['link_id']}']")
        assert row.locator(".link-stage").text_content() == "Client cut <b>1</b>"  # text, not markup
        assert page.locator("#links b").count() == 0
        assert row.locator("td").nth(2).text_content() == "Hero: current version"
        assert row.locator("td").nth(3).text_content() == "comments · download · password · only @client.example"
        assert row.locator(".link-state").text_content() == "active"
        assert row.locator("[data-action=access]").get_attribute("href") == f"/links/{link['link_id']}/access"

        page.click("#links [data-part=copy]")
        page.wait_for_function("() => document.querySelector('#links [data-part=copied]').textContent === 'Copied.'")
        assert page.evaluate("() => navigator.clipboard.readText()") == url
        page.screenshot(path=str(SCREENSHOT), full_page=True)

        row.locator("[data-action=revoke]").click()
        page.wait_for_selector(f"#links tr[data-link-id='{link['link_id']}'][data-state=revoked]")
        assert dialogs and "Client cut" in dialogs[0]
        assert page.locator(f"#links tr[data-link-id='{link['link_id']}'] [data-action=revoke]").count() == 0
        assert links_of(admin, project["id"])[0]["state"] == "revoked"
        assert requests.get(url, timeout=30).status_code == 410
    finally:
        context.close()


def test_an_editor_sees_no_links_panel(page, admin, db, project):
    project, _ = project
    email = f"editor-{uuid.uuid4().hex[:8]}@example.test"
    accounts.create_user(db, email, "Eddie Editor", "member", PASSWORD)
    add_member(admin, project["id"], email, "editor")
    sign_in(page, email, PASSWORD, next_path=f"/projects/{project['id']}")
    assert page.locator("#upload").count() == 1 and page.locator("#links").count() == 0


def test_a_reviewer_downloads_the_proxy_through_a_link_that_allows_it(browser, api_url, admin, project):
    project, version = project
    ready = admin.get(f"/api/v1/versions/{version['id']}")
    deadline = time.monotonic() + 240
    while ready.json()["status"] != "ready":  # the proxy MP4 is written at the end of the transcode
        assert time.monotonic() < deadline, "the version did not get ready"
        time.sleep(1)
        ready = admin.get(f"/api/v1/versions/{version['id']}")
    made = admin.post("/api/v1/review/links", json={"version_id": version["id"], "kind": "client",
                                                   "stage": "Delivery check", "download": True})
    assert made.status_code == 201, made.text
    link = made.json()
    context = browser.new_context(base_url=api_url, accept_downloads=True)
    page = context.new_page()
    try:
        page.goto(link["url"])
        page.fill("input[name=name]", "Cleo Client")
        page.fill("input[name=email]", "cleo@client.example")
        page.click("button[type=submit]")
        page.wait_for_selector("#link-download")
        with page.expect_download() as saved:
            page.click("#link-download")
        assert saved.value.suggested_filename == "Hero v1.mp4"
        assert Path(saved.value.path()).read_bytes()[4:8] == b"ftyp"
    finally:
        context.close()
    log = admin.get(f"/api/v1/review/links/{link['link_id']}/access").json()["sessions"]
    assert [(r["name"], r["downloads"]) for r in log] == [("Cleo Client", 1)]
