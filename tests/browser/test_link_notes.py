"""The notes panel on a client review link's page, in a real Chromium: a client
reviewer opens the link with a name and an e-mail, plays, steps to a frame,
draws a rectangle and leaves a range note and a reply; a team member on the
internal player finds them on that frame (read from the picture's pixels) with
the drawing over the same part of the picture. The team's internal note never
reaches the link page, neither its DOM nor its API."""
from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from tests.browser.test_link_playback import make_link, open_link
from tests.browser.test_notes_panel import (add_note, note_item, notes_of, on_screen, open_player,  # noqa: F401
                                            overlay_geometry, version)

# docs/link-notes.png is a copy of this screenshot (the test leaves the checkout alone).
SCREENSHOT = Path("/tmp/framegate-link-notes.png")
HISTORY_SCREENSHOT = Path("/tmp/framegate-link-note-history.png")


def step_to(page, frame: int) -> None:
    page.keyboard.press("Home")
    for _ in range(frame // 10):
        page.keyboard.press("Shift+ArrowRight")
    for _ in range(frame % 10):
        page.keyboard.press("ArrowRight")
    assert on_screen(page) == {"frame": frame, "pixels": frame}


def test_a_client_notes_and_draws_through_a_link_and_the_team_sees_it_on_that_frame(
        browser, api_url, admin, version, page, reviewer):
    vid = version["id"]
    secret = f"Internal only {uuid.uuid4().hex[:6]}"
    internal = add_note(admin, vid, frame=40, text=secret, visibility="internal")
    shared = add_note(admin, vid, frame=44, text=f"From the team {uuid.uuid4().hex[:6]}", visibility="client")
    link = make_link(admin, vid)
    context, client = open_link(browser, api_url, link["url"])
    try:
        client.fill("input[name=name]", "Cleo Client")
        client.fill("input[name=email]", "cleo@client.example")
        client.click("button[type=submit]")
        client.wait_for_function("() => document.getElementById('notes-panel').dataset.loaded === '1'",
                                 timeout=20000)
        # What a client reviewer may do: write, reply, set statuses, edit her own; no visibility choice or export.
        panel = client.locator("#notes-panel")
        assert panel.locator("[data-part=compose]").is_visible()
        assert panel.locator("select[name=visibility]").is_hidden()
        assert panel.locator("[data-part=exports]").is_hidden()

        client.click("#play")
        client.wait_for_function("() => document.getElementById('video').currentTime > 0.3", timeout=15000)
        client.click("#play")
        client.evaluate("() => document.activeElement.blur()")
        step_to(client, 18)
        client.keyboard.press("o")
        step_to(client, 12)
        client.keyboard.press("i")
        assert client.text_content("[data-part=here]") == "00:00:00:12 – 00:00:00:18"
        client.click("[data-part=draw]")
        client.click("[data-tool=rect]")
        pic = overlay_geometry(client)["picture"]
        client.mouse.move(pic["x"] + 0.2 * pic["width"], pic["y"] + 0.3 * pic["height"])
        client.mouse.down()
        client.mouse.move(pic["x"] + 0.65 * pic["width"], pic["y"] + 0.8 * pic["height"], steps=8)
        client.mouse.up()
        text = f"Logo too small {uuid.uuid4().hex[:6]}"
        client.fill(".note-compose textarea[name=text]", text)
        client.click(".note-compose button[type=submit]")
        client.wait_for_selector(f".notes-list > .note:has-text('{text}') .note-has-drawing")
        [note] = [n for n in notes_of(admin, vid) if n["text"] == text]
        assert (note["frame"], note["to_frame"], note["visibility"]) == (12, 18, "client")
        assert (note["author_name"], note["author_email"], note["link_id"]) == (
            "Cleo Client", "cleo@client.example", link["link_id"])
        [shape] = note["drawing"]
        assert shape["tool"] == "rect" and shape["x"] == pytest.approx(0.2, abs=2 / pic["width"])
        assert shape["h"] == pytest.approx(0.5, abs=2 / pic["height"])

        mine = note_item(client, note["note_id"])
        # The team's client note: its status is hers to set, its text is not hers to edit.
        teams = note_item(client, shared["note_id"])
        assert teams.locator("[data-action=resolve]").count() == 1 and teams.locator("[data-action=edit]").count() == 0
        mine.locator("[data-action=reply]").click()
        mine.locator(".note-editor textarea").fill("And the end card")
        mine.locator(".note-editor button[type=submit]").click()
        client.wait_for_selector(f".note[data-note-id='{note['note_id']}'] .note-reply:has-text('And the end card')")
        mine.locator(":scope > .note-text").click()
        assert on_screen(client) == {"frame": 12, "pixels": 12}
        assert len(overlay_geometry(client)["rects"]) == 1
        client.screenshot(path=str(SCREENSHOT), full_page=True)

        # She edits her note and resolves it; both are kept as revisions she can look back on.
        text = text + " (twice as big)"
        mine.locator(":scope > .note-actions [data-action=edit]").click()
        mine.locator(".note-editor textarea").fill(text)
        mine.locator(".note-editor button[type=submit]").click()
        client.wait_for_selector(f".note[data-note-id='{note['note_id']}'] > .note-text:has-text('twice as big')")
        mine.locator(":scope > .note-actions [data-action=resolve]").click()
        client.wait_for_selector(f".note[data-note-id='{note['note_id']}'][data-status=resolved]")
        mine.locator(":scope > .note-actions [data-action=history]").click()
        client.wait_for_selector(f".note[data-note-id='{note['note_id']}'] .note-history .note-revision")
        rows = mine.locator(".note-history .note-revision")
        assert rows.count() == 3
        assert rows.nth(1).locator(".note-text").text_content() == text
        assert rows.nth(2).locator(".note-status").text_content() == "Resolved"
        assert "Cleo Client" in rows.nth(2).text_content()
        mine.screenshot(path=str(HISTORY_SCREENSHOT))

        # The team's internal note: not on the page, not from the link's API.
        assert secret not in client.content()
        assert panel.locator(f".note[data-note-id='{internal['note_id']}']").count() == 0
        listed = client.evaluate("(u) => fetch(u).then(r => r.json())",
                                 f"/api/v1/review/link-sessions/{link['link_id']}/notes")
        ids = {n["note_id"] for n in listed["notes"]}
        assert note["note_id"] in ids and internal["note_id"] not in ids and secret not in str(listed)
    finally:
        context.close()

    # A team member on the internal player: the note on its frame, the drawing over the same place.
    open_player(page, reviewer, vid)
    item = note_item(page, note["note_id"])
    assert item.locator(".note-reply .note-text").text_content() == "And the end card"
    assert item.locator(".note-author").first.text_content() == "Cleo Client"
    item.locator(":scope > .note-text").click()
    assert on_screen(page) == {"frame": 12, "pixels": 12}
    geometry = overlay_geometry(page)
    pic = geometry["picture"]
    [rect] = geometry["rects"]
    corners = (rect["x"], rect["y"], rect["x"] + rect["width"], rect["y"] + rect["height"])
    expected = (pic["x"] + shape["x"] * pic["width"], pic["y"] + shape["y"] * pic["height"],
                pic["x"] + (shape["x"] + shape["w"]) * pic["width"], pic["y"] + (shape["y"] + shape["h"]) * pic["height"])
    assert corners == pytest.approx(expected, abs=1)
    assert note_item(page, internal["note_id"]).count() == 1  # the team does see its own internal note
