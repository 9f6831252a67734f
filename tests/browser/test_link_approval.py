"""Approving from a review link's page, in a real Chromium: someone not on the
gate is told so on the page and nothing is recorded; the approver sees the
gate's stage and scope, is asked for a reason before requesting changes,
approves, and approval's API shows the gate closed with her decision. A note
added to the approved version afterwards carries a visible "Post-approval
scope change" badge in the link page's notes panel."""
from __future__ import annotations

from pathlib import Path

from tests.browser.test_link_playback import make_link, open_link
from tests.integration.test_approval_api import A, ready_version  # noqa: F401 (fixture)

CLIENT = "cleo@client.example"
SCOPE = "Story and pacing only; grade and mix come later."
# The page after approving, to look at.
SCREENSHOT = Path("/tmp/framegate-link-approval.png")


def open_as(browser, api_url, url: str, name: str, email: str):
    context, page = open_link(browser, api_url, url)
    page.fill("input[name=name]", name)
    page.fill("input[name=email]", email)
    page.click("button[type=submit]")
    page.wait_for_selector("#link-approval")
    return context, page


def test_an_approver_approves_from_the_link_page_and_a_stranger_is_told_why_not(
        browser, api_url, admin, project, ready_version):
    base = f"{A}/projects/{project['id']}"
    assert admin.put(f"{base}/workflow", json={"template": "commercial"}).status_code == 200
    assert admin.put(f"{base}/stages/treatment/gate", json={"approvers": [CLIENT], "scope": SCOPE}).status_code == 200
    submitted = admin.post(f"{base}/submit", json={"version_id": ready_version["id"]})
    assert submitted.status_code in (200, 201), submitted.text
    plain = make_link(admin, ready_version["id"], stage="Treatment")
    link = make_link(admin, ready_version["id"], stage="Treatment", approve=True)

    # A plain link shows no approval controls.
    context, page = open_link(browser, api_url, plain["url"])
    try:
        page.fill("input[name=name]", "Cleo Client")
        page.fill("input[name=email]", CLIENT)
        page.click("button[type=submit]")
        page.wait_for_selector("#notes-panel")
        assert page.locator("#link-approval").count() == 0
    finally:
        context.close()

    context, page = open_as(browser, api_url, link["url"], "Sam Someone", "sam@client.example")
    try:
        page.click("#link-approval [data-decision=approve]")
        page.wait_for_selector("#link-approval [data-part=error]:not([hidden])")
        assert page.get_attribute("#link-approval", "data-error") == "not_an_approver"
        assert "approver" in page.text_content("#link-approval [data-part=error]")
        assert page.locator("#link-approval [data-part=outcome]").is_hidden()
    finally:
        context.close()
    assert [a["decision"] for a in admin.get(f"{base}/stage").json()["approvers"]] == [None]

    context, page = open_as(browser, api_url, link["url"], "Cleo Client", CLIENT)
    try:
        panel = page.locator("#link-approval")
        # The gate's stage and scope, as approval has them (not the link's own label and brief).
        assert panel.locator("[data-part=stage]").text_content() == "Treatment & script"
        assert panel.locator("[data-part=scope]").text_content() == SCOPE
        # Requesting changes needs a reason: asked for on the page, nothing sent.
        panel.locator("[data-decision=changes]").click()
        panel.locator("[data-part=reason-form] button[type=submit]").click()
        assert "reason" in panel.locator("[data-part=error]").text_content()
        panel.locator("[data-part=cancel]").click()

        panel.locator("[data-decision=approve]").click()
        page.wait_for_selector("#link-approval[data-decided=approve]")
        outcome = panel.locator("[data-part=outcome]").text_content()
        assert f"You approved v{ready_version['number']}" in outcome and "closed" in outcome
        assert panel.locator("[data-part=scope]").text_content() == SCOPE
        assert panel.locator("[data-part=error]").is_hidden()
        page.screenshot(path=str(SCREENSHOT), full_page=True)

        shown = admin.get(f"{base}/stage", params={"stage": "treatment"}).json()
        assert shown["closed"] is True
        assert [(a["email"], a["decision"]) for a in shown["approvers"]] == [(CLIENT, "approve")]

        # Too late now: the gate is closed, and the page says so.
        panel.locator("[data-decision=changes]").click()
        panel.locator("[data-part=reason-form] textarea").fill("Second thoughts")
        panel.locator("[data-part=reason-form] button[type=submit]").click()
        page.wait_for_selector("#link-approval[data-error=gate_closed]")
        assert panel.locator("[data-part=error]").is_visible()

        # A note added after the approval is marked as a scope change where the reviewer sees it.
        later = admin.post(f"/api/v1/review/versions/{ready_version['id']}/notes",
                           json={"frame": 3, "text": "Can the logo be bigger?", "visibility": "client"})
        assert later.status_code == 201 and later.json()["post_approval_scope_change"] is True, later.text
        page.reload()
        page.wait_for_function("() => document.getElementById('notes-panel').dataset.loaded === '1'",
                               timeout=20000)
        badge = page.locator(f".note[data-note-id='{later.json()['note_id']}'] .note-scope-change")
        assert badge.is_visible() and badge.text_content() == "Post-approval scope change"
    finally:
        context.close()
