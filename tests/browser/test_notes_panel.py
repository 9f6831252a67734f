"""The notes panel on the team's player, in a real headless Chromium against the
real stack: notes listed in frame order as plain text, a click on a note or
its timeline mark lands on the note's frame (read back from the picture's own
pixels), a reviewer adds a range note, replies, changes a status and edits
their own note; a rectangle drawn by mouse is stored in frame fractions and
drawn back over the same part of the picture at another player size and shape."""
from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from tests.browser.conftest import sign_in
from tests.browser.framecode import DECODE_JS, make_clip, make_renditions
from tests.browser.test_player import wait_for_any_transcode
from tests.conftest import add_member
from tests.integration.uploading import upload

SCREENSHOTS = Path("/tmp")
HOSTILE = '<img src=x onerror="window.__xss = 1"> look at the <b>sky</b>'


@pytest.fixture(scope="module")
def version(admin, store, settings, media_dir, reviewer):
    """A 25 fps, 50-frame version whose pictures carry their frame index, with
    the reviewer (an editor) in its project."""
    master = make_clip(Path(media_dir) / "framecode-25.mp4", "25")
    project = admin.post("/api/v1/projects", json={"name": f"Notes UI {uuid.uuid4().hex[:6]}"}).json()
    add_member(admin, project["id"], reviewer[0], "editor")
    response = upload(admin, project["id"], master, asset="Notes panel")
    assert response.status_code == 201, response.text
    found = wait_for_any_transcode(admin, response.json())
    prefix = f"{project['id']}/{found['id']}/"
    for key, path in make_renditions(master, Path(media_dir) / "renditions-notes-25", "25").items():
        store.client.fput_object(settings.bucket("renditions"), prefix + key, str(path))
    return found


def add_note(admin, version_id: str, **body) -> dict:
    response = admin.post(f"/api/v1/review/versions/{version_id}/notes", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def notes_of(admin, version_id: str) -> list[dict]:
    return admin.get(f"/api/v1/review/versions/{version_id}/notes").json()["notes"]


@pytest.fixture(scope="module")
def admins_notes(admin, version):
    """Notes the admin left (in an order other than by frame)."""
    vid = version["id"]
    hostile = add_note(admin, vid, frame=30, text=HOSTILE)
    reply = admin.post(f"/api/v1/review/notes/{hostile['note_id']}/replies", json={"text": "Agreed <script>x</script>"})
    assert reply.status_code == 201, reply.text
    internal = add_note(admin, vid, frame=40, text="Grade is temporary", visibility="internal")
    edited = admin.post(f"/api/v1/review/notes/{internal['note_id']}/revisions", json={"text": "Grade is temporary!"})
    assert edited.status_code == 201, edited.text
    ranged = add_note(admin, vid, frame=10, to_frame=20, text="Pacing drags here")
    return {"hostile": hostile, "internal": internal, "range": ranged}


def open_player(page, reviewer, version_id: str) -> None:
    sign_in(page, *reviewer, next_path=f"/versions/{version_id}")
    page.wait_for_function("() => document.getElementById('notes-panel').dataset.loaded === '1'", timeout=20000)
    settled(page)


def settled(page) -> None:
    page.wait_for_function("() => document.getElementById('player').dataset.settled === '1'", timeout=15000)
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")


def on_screen(page) -> dict:
    """The frame the page shows and the frame the picture carries."""
    settled(page)
    return {"frame": int(page.text_content("#frame")), "pixels": page.evaluate(DECODE_JS)["pixels"]}


def note_item(page, note_id: str):
    return page.locator(f".notes-list > .note[data-note-id='{note_id}']")


def test_notes_are_listed_in_frame_order_as_text_and_a_click_lands_on_their_frame(page, admin, version, admins_notes,
                                                                                  reviewer):
    open_player(page, reviewer, version["id"])
    items = page.locator(".notes-list > .note")
    assert [int(f) for f in items.evaluate_all("els => els.map(e => e.dataset.frame)")] == [10, 30, 40]

    # HTML in a note is shown as the characters typed, and never runs.
    hostile = note_item(page, admins_notes["hostile"]["note_id"])
    assert hostile.locator(":scope > .note-text").text_content() == HOSTILE
    assert hostile.locator(".note-reply .note-text").text_content() == "Agreed <script>x</script>"
    assert page.locator("#notes-panel img, #notes-panel b, #notes-panel script").count() == 0
    assert page.evaluate("() => window.__xss") is None

    assert admins_notes["hostile"]["timecode"] in hostile.locator(".note-where").text_content()
    assert hostile.locator(":scope > .note-head .note-status").text_content() == "Open"
    internal = note_item(page, admins_notes["internal"]["note_id"])
    assert internal.locator(".note-internal").text_content() == "internal"
    assert internal.locator(".note-edited").text_content() == "edited"
    assert internal.locator(":scope > .note-text").text_content() == "Grade is temporary!"
    ranged = note_item(page, admins_notes["range"]["note_id"])
    assert f"{admins_notes['range']['timecode']} – {admins_notes['range']['to_timecode']}" in ranged.text_content()
    # Only its author may edit a note: the reviewer sees no Edit on the admin's.
    assert page.locator(".notes-list [data-action=edit]").count() == 0

    hostile.locator(":scope > .note-text").click()
    assert on_screen(page) == {"frame": 30, "pixels": 30}
    assert "selected" in (hostile.get_attribute("class") or "")

    # Timeline: the range as a bar from its in to its out frame, points as ticks.
    bar = page.locator(f".note-bar[data-note-id='{admins_notes['range']['note_id']}']").bounding_box()
    seek = page.locator("#seekbar").bounding_box()
    last = version["facts"]["frames"] - 1
    assert bar["x"] == pytest.approx(seek["x"] + seek["width"] * 10 / last, abs=1)
    assert bar["width"] == pytest.approx(seek["width"] * 10 / last, abs=1)
    tick = page.locator(f".note-tick[data-note-id='{admins_notes['internal']['note_id']}']")
    centre = tick.bounding_box()
    assert centre["x"] + centre["width"] / 2 == pytest.approx(seek["x"] + seek["width"] * 40 / last, abs=1)
    tick.click()
    assert on_screen(page) == {"frame": 40, "pixels": 40}
    page.locator(f".note-bar[data-note-id='{admins_notes['range']['note_id']}']").click()
    assert on_screen(page) == {"frame": 10, "pixels": 10}

    # A note someone else adds meanwhile shows up without a reload.
    later = add_note(admin, version["id"], frame=45, text="Seen from elsewhere")
    page.wait_for_selector(f".notes-list > .note[data-note-id='{later['note_id']}']", timeout=30000)
    assert [int(f) for f in items.evaluate_all("els => els.map(e => e.dataset.frame)")][-1] == 45

    errors = [m for m in page.console_messages if m.startswith(("error", "pageerror", "http"))]
    assert not errors, errors


def test_a_reviewer_adds_a_range_note_replies_resolves_and_edits_their_own(page, admin, version, admins_notes, reviewer):
    vid = version["id"]
    open_player(page, reviewer, vid)
    page.keyboard.press("Home")
    page.keyboard.press("Shift+ArrowRight")
    assert on_screen(page) == {"frame": 10, "pixels": 10}
    page.click("[data-part=mark-in]")
    page.keyboard.press("Shift+ArrowRight")
    page.keyboard.press("ArrowRight")
    assert on_screen(page) == {"frame": 21, "pixels": 21}
    page.keyboard.press("o")  # mark out, as in editing tools
    assert page.text_content("[data-part=here]") == "00:00:00:10 – 00:00:00:21"
    text = f"Cut earlier {uuid.uuid4().hex[:6]}"
    page.fill(".note-compose textarea[name=text]", text)
    page.select_option(".note-compose select[name=visibility]", "internal")
    page.dblclick(".note-compose button[type=submit]")  # an impatient double click adds one note
    page.wait_for_selector(f".notes-list > .note:has-text('{text}')")
    page.wait_for_timeout(1000)  # a second request, if one went out, has landed
    [mine] = [n for n in notes_of(admin, vid) if n["text"] == text]
    assert (mine["frame"], mine["to_frame"], mine["visibility"]) == (10, 21, "internal")
    assert mine["author_email"] == reviewer[0] and mine["drawing"] == []
    item = note_item(page, mine["note_id"])
    assert item.locator(".note-internal").count() == 1

    # A reply to the admin's note.
    hostile = note_item(page, admins_notes["hostile"]["note_id"])
    hostile.locator("[data-action=reply]").click()
    hostile.locator(".note-editor textarea").fill("On it")
    hostile.locator(".note-editor button[type=submit]").click()
    page.wait_for_selector(f".note[data-note-id='{admins_notes['hostile']['note_id']}'] .note-reply:has-text('On it')")
    replies = next(n for n in notes_of(admin, vid) if n["note_id"] == admins_notes["hostile"]["note_id"])["replies"]
    assert [r["text"] for r in replies if r["author_email"] == reviewer[0]] == ["On it"]

    # Status: resolve, then reopen.
    ranged = note_item(page, admins_notes["range"]["note_id"])
    ranged.locator("[data-action=resolve]").click()
    page.wait_for_selector(f".note[data-note-id='{admins_notes['range']['note_id']}'][data-status=resolved]")
    assert next(n for n in notes_of(admin, vid) if n["note_id"] == admins_notes["range"]["note_id"])["status"] == "resolved"
    ranged.locator("[data-action=reopen]").click()
    page.wait_for_selector(f".note[data-note-id='{admins_notes['range']['note_id']}'][data-status=open]")

    # Edit: a new revision, marked "edited".
    item.locator("[data-action=edit]").click()
    item.locator(".note-editor textarea").fill(text + " (two frames)")
    item.locator(".note-editor button[type=submit]").click()
    page.wait_for_selector(f".note[data-note-id='{mine['note_id']}'] .note-edited")
    now = next(n for n in notes_of(admin, vid) if n["note_id"] == mine["note_id"])
    assert now["text"] == text + " (two frames)" and now["edited"]

    # The API's refusal is shown, and nothing is added.
    before = len(notes_of(admin, vid))
    page.fill(".note-compose textarea[name=text]", "   ")
    page.click(".note-compose button[type=submit]")
    page.wait_for_selector("[data-part=error]:not([hidden])")
    assert "Write something" in page.text_content("[data-part=error]")
    assert len(notes_of(admin, vid)) == before


def overlay_geometry(page) -> dict:
    """The video's picture rect (object-fit: contain) and the saved drawing's rect, in page pixels."""
    return page.evaluate("""() => {
      const video = document.getElementById('video');
      const box = video.getBoundingClientRect();
      const scale = Math.min(box.width / video.videoWidth, box.height / video.videoHeight);
      const w = video.videoWidth * scale, h = video.videoHeight * scale;
      const picture = { x: box.left + (box.width - w) / 2, y: box.top + (box.height - h) / 2, width: w, height: h };
      const svg = document.querySelector('.note-overlay');
      const frame = svg.getBoundingClientRect();
      const rects = [...svg.querySelectorAll('rect.shape-saved')].map((r) => {
        const b = r.getBBox();
        return { x: frame.left + b.x, y: frame.top + b.y, width: b.width, height: b.height };
      });
      return { picture, overlay: { x: frame.left, y: frame.top, width: frame.width, height: frame.height }, rects };
    }""")


def test_a_rectangle_drawn_by_mouse_is_stored_in_frame_fractions_and_drawn_back_at_any_size(
        page, admin, version, admins_notes, reviewer):
    vid = version["id"]
    open_player(page, reviewer, vid)
    page.keyboard.press("Home")
    for key in ("Shift+ArrowRight", "Shift+ArrowRight", "ArrowRight", "ArrowRight", "ArrowRight", "ArrowRight", "ArrowRight"):
        page.keyboard.press(key)
    assert on_screen(page) == {"frame": 25, "pixels": 25}
    page.click("[data-part=draw]")
    page.click("[data-tool=rect]")
    geometry = overlay_geometry(page)
    pic = geometry["picture"]
    assert geometry["overlay"] == pytest.approx(pic, abs=1)
    start = (pic["x"] + 0.2 * pic["width"], pic["y"] + 0.3 * pic["height"])
    end = (pic["x"] + 0.65 * pic["width"], pic["y"] + 0.8 * pic["height"])
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(*end, steps=8)
    page.mouse.up()
    text = f"Too bright {uuid.uuid4().hex[:6]}"
    page.fill(".note-compose textarea[name=text]", text)
    page.click(".note-compose button[type=submit]")
    page.wait_for_selector(f".notes-list > .note:has-text('{text}') .note-has-drawing")

    note = next(n for n in notes_of(admin, vid) if n["text"] == text)
    assert note["frame"] == 25 and len(note["drawing"]) == 1
    shape = note["drawing"][0]
    px = 1 / pic["width"]  # one screen pixel, as a fraction of the picture
    assert shape["tool"] == "rect"
    assert shape["x"] == pytest.approx(0.2, abs=1.5 * px) and shape["w"] == pytest.approx(0.45, abs=1.5 * px)
    assert shape["y"] == pytest.approx(0.3, abs=1.5 / pic["height"]) and shape["h"] == pytest.approx(0.5, abs=1.5 / pic["height"])
    page.screenshot(path=str(SCREENSHOTS / "framegate-notes-panel.png"))

    # Another window size, and a stage of another shape (the picture letterboxed
    # with bars above and below): the same corners, as fractions of the picture.
    page.set_viewport_size({"width": 820, "height": 1000})
    page.reload()
    page.wait_for_function("() => document.getElementById('notes-panel').dataset.loaded === '1'", timeout=20000)
    page.evaluate("() => { document.getElementById('stage').style.aspectRatio = '1 / 1'; }")
    settled(page)
    note_item(page, note["note_id"]).locator(":scope > .note-text").click()
    assert on_screen(page) == {"frame": 25, "pixels": 25}
    geometry = overlay_geometry(page)
    pic = geometry["picture"]
    assert pic["y"] > page.locator("#video").bounding_box()["y"] + 50  # really letterboxed
    assert geometry["overlay"] == pytest.approx(pic, abs=1)
    [rect] = geometry["rects"]
    corners = (rect["x"], rect["y"], rect["x"] + rect["width"], rect["y"] + rect["height"])
    expected = (pic["x"] + shape["x"] * pic["width"], pic["y"] + shape["y"] * pic["height"],
                pic["x"] + (shape["x"] + shape["w"]) * pic["width"], pic["y"] + (shape["y"] + shape["h"]) * pic["height"])
    assert corners == pytest.approx(expected, abs=1)
    page.screenshot(path=str(SCREENSHOTS / "framegate-notes-letterboxed.png"), full_page=True)

    # Only on its frame: one frame on, the drawing is gone; back, it returns.
    page.keyboard.press("ArrowRight")
    assert on_screen(page)["pixels"] == 26
    assert overlay_geometry(page)["rects"] == []
    page.keyboard.press("ArrowLeft")
    assert on_screen(page)["pixels"] == 25
    assert len(overlay_geometry(page)["rects"]) == 1


def test_export_links_point_at_every_export_format(page, version, admins_notes, reviewer):
    open_player(page, reviewer, version["id"])
    links = page.locator("[data-part=exports] a")
    formats = links.evaluate_all("els => els.map(e => e.dataset.format)")
    assert formats == ["csv", "pdf", "edl", "avid", "fcp7", "otio"]
    with page.expect_download() as download:
        page.click("[data-part=exports] a[data-format=csv]")
    body = Path(download.value.path()).read_text()
    assert admins_notes["range"]["timecode"] in body and "Pacing drags here" in body



def test_every_drawing_tool_draws_on_the_frame_with_its_colour_and_size(page, admin, version, admins_notes, reviewer):
    vid = version["id"]
    open_player(page, reviewer, vid)
    page.keyboard.press("Home")
    for _ in range(5):
        page.keyboard.press("ArrowRight")
    assert on_screen(page) == {"frame": 5, "pixels": 5}
    page.click("[data-part=draw]")
    pic = overlay_geometry(page)["picture"]

    def at(fx: float, fy: float) -> tuple[float, float]:
        return pic["x"] + fx * pic["width"], pic["y"] + fy * pic["height"]

    def drag(tool: str, a: tuple, b: tuple, via: tuple | None = None) -> None:
        page.click(f"[data-tool={tool}]")
        page.mouse.move(*at(*a))
        page.mouse.down()
        if via:
            page.mouse.move(*at(*via), steps=5)
        page.mouse.move(*at(*b), steps=5)
        page.mouse.up()

    drag("arrow", (0.08, 0.12), (0.3, 0.35))
    page.fill("[data-part=toolbar] input[name=color]", "#22c55e")
    drag("ellipse", (0.55, 0.1), (0.9, 0.45))
    page.select_option("[data-part=toolbar] select[name=size]", "16")
    drag("line", (0.1, 0.9), (0.45, 0.9))
    page.fill("[data-part=toolbar] input[name=color]", "#ffd400")
    page.select_option("[data-part=toolbar] select[name=size]", "8")
    drag("freehand", (0.55, 0.75), (0.9, 0.8), via=(0.7, 0.6))
    page.click("[data-tool=text]")
    page.fill("[data-part=toolbar] input[name=shape-text]", "too bright <b>")
    page.mouse.click(*at(0.35, 0.55))
    drag("rect", (0.4, 0.4), (0.5, 0.5))
    assert page.locator(".note-overlay .shape-draft").count() == 6
    page.click("[data-part=toolbar] [data-action=undo]")  # the rectangle goes again
    assert page.locator(".note-overlay .shape-draft").count() == 5
    assert page.text_content(".note-overlay text") == "too bright <b>"
    page.screenshot(path=str(SCREENSHOTS / "framegate-notes-drawing.png"))

    text = f"Sky and horizon {uuid.uuid4().hex[:6]}"
    page.fill(".note-compose textarea[name=text]", text)
    page.click(".note-compose button[type=submit]")
    page.wait_for_selector(f".notes-list > .note:has-text('{text}') .note-has-drawing")
    note = next(n for n in notes_of(admin, vid) if n["text"] == text)
    drawn = note["drawing"]
    assert [s["tool"] for s in drawn] == ["arrow", "ellipse", "line", "freehand", "text"]
    assert [s["color"] for s in drawn] == ["#F22237", "#22C55E", "#22C55E", "#FFD400", "#FFD400"]
    assert [s["size"] for s in drawn] == [8, 8, 16, 8, 8]
    assert drawn[0]["x1"] == pytest.approx(0.08, abs=0.005) and drawn[0]["y2"] == pytest.approx(0.35, abs=0.005)
    assert len(drawn[3]["points"]) > 5 and drawn[4]["text"] == "too bright <b>"
    assert drawn[4]["x"] == pytest.approx(0.35, abs=0.005)
    # Saved: the drawing is shown from the note now, and the tool bar is put away.
    assert page.locator(".note-overlay .shape-saved").count() == 5
    assert page.locator(".note-overlay .shape-draft").count() == 0
    assert page.locator("[data-part=toolbar]").is_hidden()
    page.screenshot(path=str(SCREENSHOTS / "framegate-notes-saved.png"))

    # Its author redraws it: an edit with the shapes drawn now, then one that removes it.
    page.click("[data-part=draw]")
    drag("rect", (0.6, 0.6), (0.8, 0.9))
    item = note_item(page, note["note_id"])
    item.locator("[data-action=edit]").click()
    assert "Replace its drawing with the 1 shape(s)" in item.locator(".note-redraw").text_content()
    item.locator(".note-redraw input").check()
    item.locator(".note-editor button[type=submit]").click()
    page.wait_for_selector(f".note[data-note-id='{note['note_id']}'] .note-edited")
    [redrawn] = next(n for n in notes_of(admin, vid) if n["note_id"] == note["note_id"])["drawing"]
    assert redrawn["tool"] == "rect" and redrawn["x"] == pytest.approx(0.6, abs=0.005)
    assert page.locator(".note-overlay .shape-saved").count() == 1
    assert page.locator(".note-overlay .shape-draft").count() == 0
    item.locator("[data-action=edit]").click()
    assert item.locator(".note-redraw").text_content().strip() == "Remove its drawing"
    item.locator(".note-redraw input").check()
    item.locator(".note-editor button[type=submit]").click()
    page.wait_for_selector(f".note[data-note-id='{note['note_id']}']:not(:has(.note-has-drawing))")
    assert next(n for n in notes_of(admin, vid) if n["note_id"] == note["note_id"])["drawing"] == []
    assert page.locator(".note-overlay .shape-saved").count() == 0


MOUNT_JS = """async (config) => {
  // A second panel on the same player, the way another page (a review link's) mounts it.
  const { mountNotesPanel } = await import('/static/notes-panel.js');
  const { player } = await import('/static/player.js');
  const copy = document.getElementById('notes-panel').cloneNode(true);
  copy.id = 'notes-panel-2';
  delete copy.dataset.loaded;
  copy.querySelector('[data-part=list]').replaceChildren();
  copy.querySelector('[data-part=exports]').replaceChildren();
  document.querySelector('main').append(copy);
  mountNotesPanel(copy, config, player);
}"""


def test_the_panel_mounts_with_a_narrower_config_for_other_pages(page, admin, version, admins_notes, reviewer):
    vid = version["id"]
    open_player(page, reviewer, vid)
    config = json_config(page)
    config.update(export_url=None, can_change_status=False, can_set_visibility=False, me={"email": "client@example.test"})
    page.evaluate(MOUNT_JS, config)
    page.wait_for_function("() => document.getElementById('notes-panel-2').dataset.loaded === '1'")
    second = page.locator("#notes-panel-2")
    assert second.locator(".notes-list > .note").count() == page.locator("#notes-panel .notes-list > .note").count()
    assert second.locator("[data-action=resolve], [data-action=reopen], [data-action=edit]").count() == 0
    assert second.locator("[data-action=reply]").count() > 0
    assert second.locator("[data-part=exports]").is_hidden()
    assert second.locator("select[name=visibility]").is_hidden()
    text = f"Through another page {uuid.uuid4().hex[:6]}"
    second.locator("textarea[name=text]").fill(text)
    second.locator("button[type=submit]").click()
    second.locator(f".notes-list > .note:has-text('{text}')").wait_for()
    [note] = [n for n in notes_of(admin, vid) if n["text"] == text]
    assert note["visibility"] == "client"  # the API's default: this viewer may not choose

    config.update(can_comment=False)
    page.evaluate("() => document.getElementById('notes-panel-2').remove()")
    page.evaluate(MOUNT_JS, config)
    page.wait_for_function("() => document.getElementById('notes-panel-2').dataset.loaded === '1'")
    assert page.locator("#notes-panel-2 [data-part=compose]").is_hidden()


def json_config(page) -> dict:
    return page.evaluate("() => JSON.parse(document.getElementById('notes-data').textContent)")


def test_mentions_of_members_are_marked_and_anything_else_stays_plain_text(page, admin, version, admins_notes,
                                                                           reviewer):
    handle = reviewer[0].split("@")[0]
    text = f"@{handle} please look. cc @stranger, and me@{handle}.example <b>@{handle}</b>"
    note = add_note(admin, version["id"], frame=45, text=text)
    assert len(note["mentions"]) == 1 and note["mention_handles"] == [handle.lower()]
    open_player(page, reviewer, version["id"])
    item = note_item(page, note["note_id"])
    assert item.locator(":scope > .note-text").text_content() == text
    # The member, twice (once right after "<b>"); not the stranger, not an address.
    assert item.locator(":scope > .note-text .mention").all_text_contents() == [f"@{handle}", f"@{handle}"]
    assert page.locator("#notes-panel b").count() == 0
    item.screenshot(path=str(SCREENSHOTS / "notes-mention.png"))
