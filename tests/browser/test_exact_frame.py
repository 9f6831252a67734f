"""The true picture on pause, in Chromium: when the player rests on a frame,
its canvas shows the master's own frame (the exact still), not the streamed
one; stepping shows the next frame's still; playing goes back to the stream;
Z shows the still at 100 % (one master pixel per screen pixel), dragged to pan.

The stream here is made deliberately soft (a 320x180 rung at 150 kb/s of a
1280x720 master), so the still and the streamed frame differ measurably."""
from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import pytest

from tests import media
from tests.browser.conftest import sign_in
from tests.browser.framecode import make_renditions
from tests.browser.test_player import wait_for_any_transcode
from tests.conftest import add_member
from tests.integration.uploading import upload

DOCS = Path(__file__).resolve().parents[2] / "docs"
SOFT_RUNGS = (("180p", 320, 180, "150k"), ("90p", 160, 90, "60k"))

# Mean absolute difference (0-255, RGB) between the exact canvas and the still
# drawn the same way, and the video's current frame drawn the same way; and
# the frame index the canvas pixels carry (16 blocks across the middle band).
COMPARE_JS = """async () => {
  const canvas = document.querySelector('canvas.exact-frame');
  const video = document.getElementById('video');
  const exact = window.framegatePlayer.exact;
  const image = new Image();
  image.src = exact.url;
  await image.decode();
  const w = canvas.width, h = canvas.height;
  const scale = Math.min(w / image.naturalWidth, h / image.naturalHeight);
  const box = { left: (w - image.naturalWidth * scale) / 2, top: (h - image.naturalHeight * scale) / 2,
                width: image.naturalWidth * scale, height: image.naturalHeight * scale };
  const pixels = (source) => {
    const c = document.createElement('canvas'); c.width = w; c.height = h;
    const ctx = c.getContext('2d', { willReadFrequently: true });
    ctx.imageSmoothingEnabled = true; ctx.imageSmoothingQuality = 'high';
    if (source) ctx.drawImage(source, box.left, box.top, box.width, box.height);
    else ctx.drawImage(canvas, 0, 0);
    return ctx.getImageData(Math.ceil(box.left), Math.ceil(box.top), Math.floor(box.width) - 1, Math.floor(box.height) - 1);
  };
  const shown = pixels(null), still = pixels(image), stream = pixels(video);
  const diff = (a, b) => {
    let sum = 0, n = 0;
    for (let i = 0; i < a.data.length; i += 4) {
      for (let c = 0; c < 3; c++) sum += Math.abs(a.data[i + c] - b.data[i + c]);
      n += 3;
    }
    return sum / n;
  };
  let index = 0;
  for (let i = 0; i < 16; i++) {
    const x = Math.floor((i + 0.5) * shown.width / 16), y = Math.floor(shown.height / 2);
    const at = (y * shown.width + x) * 4;
    index = index * 2 + ((shown.data[at] + shown.data[at + 1] + shown.data[at + 2]) / 3 > 128 ? 1 : 0);
  }
  return { still: diff(shown, still), stream: diff(shown, stream), index,
           natural: [image.naturalWidth, image.naturalHeight] };
}"""

# The canvas's centre block against the still's own pixels at the pan point, 1:1.
ZOOM_JS = """async ([dx, dy]) => {
  const canvas = document.querySelector('canvas.exact-frame');
  const image = new Image();
  image.src = window.framegatePlayer.exact.url;
  await image.decode();
  const n = 48, cx = Math.floor(canvas.width / 2), cy = Math.floor(canvas.height / 2);
  const shown = canvas.getContext('2d').getImageData(cx - n / 2, cy - n / 2, n, n);
  const c = document.createElement('canvas'); c.width = image.naturalWidth; c.height = image.naturalHeight;
  const ctx = c.getContext('2d'); ctx.drawImage(image, 0, 0);
  // The picture point under the canvas centre: its centre, moved against the drag.
  const px = Math.round(image.naturalWidth / 2 - dx), py = Math.round(image.naturalHeight / 2 - dy);
  let best = Infinity;
  for (let oy = -1; oy <= 1; oy++) for (let ox = -1; ox <= 1; ox++) {  // rounding of the centre
    const want = ctx.getImageData(px - n / 2 + ox, py - n / 2 + oy, n, n);
    let sum = 0;
    for (let i = 0; i < want.data.length; i += 4) for (let k = 0; k < 3; k++) sum += Math.abs(want.data[i + k] - shown.data[i + k]);
    best = Math.min(best, sum / (n * n * 3));
  }
  return best;
}"""


def make_master(dirpath: Path) -> Path:
    """2 s of 1280x720 H.264 at 25 fps, testsrc2 with the frame index burned in."""
    return media._ffmpeg(dirpath, "indexed_720p.mp4",
                         [*media._indexed_source("25", 2, "1280x720"), "-c:v", "libx264", "-preset", "veryfast",
                          "-crf", "16", "-pix_fmt", "yuv420p"])


@pytest.fixture(scope="module")
def soft_version(admin, store, settings, media_dir, reviewer):
    master = make_master(Path(media_dir))
    project = admin.post("/api/v1/projects", json={"name": f"Exact frame {uuid.uuid4().hex[:6]}"}).json()
    add_member(admin, project["id"], reviewer[0], "viewer")
    response = upload(admin, project["id"], master, asset="Grade check")
    assert response.status_code == 201, response.text
    version = wait_for_any_transcode(admin, response.json())
    prefix = f"{project['id']}/{version['id']}/"
    for key, path in make_renditions(master, Path(media_dir) / "renditions-soft", "25", SOFT_RUNGS).items():
        store.client.fput_object(settings.bucket("renditions"), prefix + key, str(path))
    return version


def exact_on(page) -> int:
    """Wait until the player rests on a frame and the canvas shows that frame's still; the frame."""
    try:
        page.wait_for_function("""() => {
            const d = document.getElementById('player').dataset;
            return d.settled === '1' && d.exact !== '' && d.exact === d.frame;
        }""", timeout=30000)
    except Exception:
        state = page.evaluate("() => ({ ...document.getElementById('player').dataset, "
                              "exact: JSON.stringify(window.framegatePlayer.exact) })")
        raise AssertionError(f"no exact frame on the canvas: {state}; console: {page.console_messages}") from None
    return int(page.evaluate("() => document.getElementById('player').dataset.exact"))


def test_paused_the_canvas_shows_the_masters_frame_not_the_stream(page, reviewer, soft_version):
    page.set_viewport_size({"width": 900, "height": 800})
    sign_in(page, *reviewer, next_path=f"/versions/{soft_version['id']}")
    page.wait_for_function("() => window.framegatePlayer && window.framegatePlayer.loaded", timeout=30000)
    page.click("#play")
    page.wait_for_function("() => document.getElementById('video').currentTime > 0.3", timeout=20000)
    assert page.evaluate("() => document.querySelector('canvas.exact-frame').hidden")  # playing: the stream
    page.click("#play")
    frame = exact_on(page)
    assert page.evaluate("() => !document.querySelector('canvas.exact-frame').hidden")

    seen = page.evaluate(COMPARE_JS)
    assert seen["natural"] == [1280, 720]
    assert seen["index"] == frame  # the canvas carries the frame the player says it is on
    assert seen["still"] < 0.5, seen  # the canvas is the still
    assert seen["stream"] > 2, seen  # and measurably not the streamed frame (about 4 here)

    page.keyboard.press("ArrowRight")
    assert exact_on(page) == frame + 1
    assert page.evaluate(COMPARE_JS)["index"] == frame + 1

    # 100 %: one master pixel per screen pixel, centred, then dragged.
    page.keyboard.press("z")
    page.wait_for_function("() => document.getElementById('player').dataset.zoom === '100'")
    assert page.evaluate(ZOOM_JS, [0, 0]) < 0.5
    box = page.locator("canvas.exact-frame").bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(cx, cy)
    page.mouse.down()
    page.mouse.move(cx + 60, cy + 40, steps=5)
    page.mouse.move(cx + 120, cy + 80, steps=5)
    page.mouse.up()
    assert page.evaluate(ZOOM_JS, [120, 80]) < 0.5
    DOCS.mkdir(exist_ok=True)
    page.screenshot(path=str(DOCS / "exact-frame-100.png"))

    # Playing again: back to the stream, and out of 100 %.
    page.click("#play")
    page.wait_for_function("() => document.getElementById('player').dataset.exact === ''", timeout=10000)
    assert page.evaluate("() => document.getElementById('player').dataset.zoom") == "fit"
    page.click("#play")
    exact_on(page)
    errors = [m for m in page.console_messages if m.startswith(("error", "pageerror", "http"))]
    assert not errors, errors
