"""The player in a real headless Chromium: after play, pause, seeks, steps and
shuttling, the frame index read from the video's own pixels equals the frame
number the page shows, and the timecode shown is that frame's."""
from __future__ import annotations

import time
import uuid
from fractions import Fraction
from pathlib import Path

import pytest

from services.common.timecode import frames_to_smpte, smpte_to_frames
from tests.browser.conftest import sign_in
from tests.conftest import add_member
from tests.browser.framecode import DECODE_JS as DECODE, make_clip, make_renditions
from tests.integration.uploading import upload

SCREENSHOTS = Path("/tmp")


CLIPS = {
    "25fps": ("25", None),
    "29.97DF": ("30000/1001", "01:00:00;00"),
}


@pytest.fixture(scope="module", params=list(CLIPS))
def playable(request, admin, store, settings, media_dir, reviewer):
    rate, start_tc = CLIPS[request.param]
    return (request.param, *make_playable(admin, store, settings, media_dir, reviewer, request.param, rate, start_tc))


def make_playable(admin, store, settings, media_dir, reviewer, label: str, rate: str, start_tc: str | None):
    """A real version (uploaded through the API, so it has facts) whose
    renditions are put where the transcode worker would put them: (project, version)."""
    name = label.replace(".", "")
    master = make_clip(Path(media_dir) / f"framecode-{name}.mp4", rate, start_timecode=start_tc)
    project = admin.post("/api/v1/projects", json={"name": f"Player {name} {uuid.uuid4().hex[:6]}"}).json()
    add_member(admin, project["id"], reviewer[0], "viewer")
    response = upload(admin, project["id"], master, asset=f"Frame code {label}")
    assert response.status_code == 201, response.text
    version = wait_for_any_transcode(admin, response.json())
    renditions = make_renditions(master, Path(media_dir) / f"renditions-{name}", rate)
    prefix = f"{project['id']}/{version['id']}/"
    for key, path in renditions.items():
        store.client.fput_object(settings.bucket("renditions"), prefix + key, str(path))
    return project, version


def wait_for_any_transcode(admin, version: dict, quiet: float = 10.0, limit: float = 180.0) -> dict:
    """Let a transcode worker, if the stack runs one, finish with this version
    first, so it cannot overwrite the fixture's renditions half-way through."""
    started = time.monotonic()
    while True:
        version = admin.get(f"/api/v1/versions/{version['id']}").json()
        waited = time.monotonic() - started
        if version["status"] in ("ready", "failed") or waited > limit:
            return version
        if version["status"] == "uploaded" and waited > quiet:
            return version  # no worker picked it up
        time.sleep(0.5)


def read_state(page) -> dict:
    page.wait_for_function("() => document.getElementById('player').dataset.settled === '1'", timeout=15000)
    # Two animation frames: the picture on screen is the one just presented.
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    shown = page.evaluate("""() => ({
        frame: Number(document.getElementById('frame').textContent),
        timecode: document.getElementById('timecode').textContent,
        settled: document.getElementById('player').dataset.settled })""")
    return {**shown, **page.evaluate(DECODE)}


def check(page, facts: dict, what: str, log: list) -> int:
    state = read_state(page)
    log.append((what, state))
    assert state["pixels"] == state["frame"], (what, state)
    start = smpte_to_frames(facts["start_timecode"], facts["fps"], facts["drop_frame"]) \
        if facts.get("start_timecode") else 0
    assert state["timecode"] == frames_to_smpte(state["frame"], facts["fps"], facts["drop_frame"], start), (what, state)
    return state["frame"]


def test_the_frame_shown_is_the_frame_in_the_picture(page, playable, reviewer):
    name, project, version = playable
    facts = version["facts"]
    last = facts["frames"] - 1
    sign_in(page, *reviewer, next_path=f"/versions/{version['id']}")
    page.wait_for_selector("#quality option:nth-child(2)", state="attached", timeout=20000)
    log: list = []

    assert check(page, facts, "loaded", log) == 0
    if name == "29.97DF":
        assert page.text_content("#timecode") == "01:00:00;00"

    page.click("#play")
    page.wait_for_function("() => document.getElementById('video').currentTime > 0.6", timeout=15000)
    page.click("#play")  # pause
    paused_at = check(page, facts, "play then pause", log)
    assert 10 <= paused_at < last

    page.click("#fwd1")
    assert check(page, facts, "+1", log) == paused_at + 1
    page.click("#back10")
    assert check(page, facts, "-10", log) == paused_at - 9
    page.click("#fwd10")
    assert check(page, facts, "+10", log) == paused_at + 1
    page.keyboard.press("ArrowLeft")
    assert check(page, facts, "← key", log) == paused_at

    box = page.locator("#seekbar").bounding_box()
    for fraction in (0.3, 0.75):
        page.mouse.click(box["x"] + box["width"] * fraction, box["y"] + box["height"] / 2)
        expected = round(fraction * last)
        assert abs(check(page, facts, f"seek {fraction:.0%}", log) - expected) <= 1

    # A frame just across a segment boundary (keyframes every second).
    page.keyboard.press("Home")
    assert check(page, facts, "Home", log) == 0
    boundary = round(Fraction(facts["fps"]))  # the second segment starts there
    page.keyboard.press("Shift+ArrowRight")
    page.keyboard.press("Shift+ArrowRight")
    for _ in range(boundary - 21):
        page.keyboard.press("ArrowRight")
    assert check(page, facts, "last frame of a segment", log) == boundary - 1
    page.keyboard.press("ArrowRight")
    assert check(page, facts, "first frame of the next", log) == boundary

    page.keyboard.press("End")
    assert check(page, facts, "End", log) == last

    page.keyboard.press("j")  # shuttle backwards
    page.wait_for_timeout(600)
    page.keyboard.press("k")
    assert check(page, facts, "J then K", log) < last

    page.keyboard.press("Home")
    page.keyboard.press("l")  # play forwards
    page.wait_for_function("() => document.getElementById('video').currentTime > 0.5", timeout=15000)
    page.keyboard.press("k")
    assert check(page, facts, "L then K", log) > 0

    # The other rung shows the same frames.
    level = page.select_option("#quality", label="180p")[0]
    page.wait_for_function(f"() => document.getElementById('player').dataset.level === '{level}'", timeout=15000)
    assert read_state(page)["height"] == 180
    check(page, facts, "switched to 180p", log)
    page.keyboard.press("ArrowRight")
    after_switch = read_state(page)
    assert after_switch["height"] == 180, after_switch
    check(page, facts, "+1 on the 180p rung", log)

    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] / 2)
    page.wait_for_selector("#preview:not([hidden])")
    preview_style = page.get_attribute("#preview-image", "style") or ""
    assert "sprite_001.jpg" in preview_style and "background-position" in preview_style

    page.screenshot(path=str(SCREENSHOTS / f"framegate-player-{name.replace('.', '')}.png"))
    assert len(log) >= 10
    errors = [m for m in page.console_messages if m.startswith(("error", "pageerror", "http"))]
    assert not errors, errors


def test_a_link_to_a_noted_frame_opens_the_player_on_that_frame(page, playable, reviewer):
    """Notifications link to the player at a note's frame (?frame=N)."""
    _, _, version = playable
    facts = version["facts"]
    sign_in(page, *reviewer, next_path=f"/versions/{version['id']}")
    page.goto(f"/versions/{version['id']}?frame=37")
    assert check(page, facts, "opened at ?frame=37", []) == 37


def test_the_versions_list_shows_status_and_links_to_the_player(page, playable, reviewer):
    _, project, version = playable
    sign_in(page, *reviewer, next_path=f"/projects/{project['id']}")
    row = page.locator(f"tr[data-version-id='{version['id']}']")
    assert row.locator("[data-field=status]").text_content() == version["status"]
    page.wait_for_timeout(2500)  # one live refresh from the API went through
    page.screenshot(path=str(SCREENSHOTS / "framegate-list.png"), full_page=True)
    row.locator("a.play").click()
    page.wait_for_url(f"**/versions/{version['id']}")
    page.wait_for_function("() => document.getElementById('player').dataset.settled === '1'", timeout=15000)


@pytest.fixture(scope="module")
def minute_crossing(admin, store, settings, media_dir, reviewer):
    """29.97 DF from 01:00:59;28: its third frame is the first of minute 1, where
    the labels ;00 and ;01 are dropped."""
    return make_playable(admin, store, settings, media_dir, reviewer, "29.97DF-minute", "30000/1001", "01:00:59;28")


def test_stepping_across_a_dropped_timecode_label(page, minute_crossing, reviewer):
    project, version = minute_crossing
    facts = version["facts"]
    assert facts["drop_frame"] and facts["start_timecode"] == "01:00:59;28"
    sign_in(page, *reviewer, next_path=f"/versions/{version['id']}")
    log: list = []

    def at(expected_frame: int, timecode: str, what: str) -> None:
        assert check(page, facts, what, log) == expected_frame
        assert page.text_content("#timecode") == timecode, log[-1]

    at(0, "01:00:59;28", "loaded")
    page.keyboard.press("ArrowRight")
    at(1, "01:00:59;29", "last frame of minute 0")
    page.keyboard.press("ArrowRight")
    at(2, "01:01:00;02", "first frame of minute 1: ;00 and ;01 are skipped")
    page.keyboard.press("ArrowRight")
    at(3, "01:01:00;03", "and on")
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    at(1, "01:00:59;29", "back across the minute")
    errors = [m for m in page.console_messages if m.startswith(("error", "pageerror", "http"))]
    assert not errors, errors
