"""Compare two versions in Chromium on the masters' exact frames: two masters
identical but for one known rectangle; the difference view is black
everywhere except that rectangle (no compression noise: it is computed from
the lossless stills), the wipe shows A left of its divider and B right of it,
and stepping keeps both sides on the same frame."""
from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from tests import media
from tests.browser.conftest import sign_in
from tests.conftest import add_member
from tests.integration.uploading import upload

DOCS = Path(__file__).resolve().parents[2] / "docs"
RECT = (200, 100, 120, 80)  # x, y, w, h in the 640x360 masters: even, so chroma does not straddle its edge
MARGIN = 4  # pixels around the rectangle where chroma upsampling may blend both sides


def make_pair(dirpath: Path) -> tuple[Path, Path]:
    """Two lossless (x264 -qp 0) 1 s 640x360 masters; B has a cyan rectangle A lacks."""
    x, y, w, h = RECT
    lossless = ["-c:v", "libx264", "-preset", "ultrafast", "-qp", "0", "-pix_fmt", "yuv420p"]
    a = media._ffmpeg(dirpath, "compare_a.mp4", [*media._indexed_source("25", 1, "640x360"), *lossless])
    source = media._indexed_source("25", 1, "640x360")
    source[-1] += f",drawbox=x={x}:y={y}:w={w}:h={h}:color=0x20E0F0:t=fill"
    b = media._ffmpeg(dirpath, "compare_b.mp4", [*source, *lossless])
    return a, b


@pytest.fixture(scope="module")
def pair(admin, media_dir, reviewer):
    project = admin.post("/api/v1/projects", json={"name": f"Compare {uuid.uuid4().hex[:6]}"}).json()
    add_member(admin, project["id"], reviewer[0], "viewer")
    versions = []
    for path in make_pair(Path(media_dir)):
        done = upload(admin, project["id"], path, asset="Hero 30s")
        assert done.status_code == 201, done.text
        versions.append(done.json())
    return versions


# Where the canvas (at the masters' own pixels) is not black, and how much of the rectangle is.
DIFF_JS = """([x0, y0, w, h, margin]) => {
  const canvas = document.getElementById('compare-canvas');
  const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  let outside = 0, inside = 0, insideLit = 0, box = [Infinity, Infinity, -1, -1];
  for (let y = 0; y < canvas.height; y++) for (let x = 0; x < canvas.width; x++) {
    const i = (y * canvas.width + x) * 4, lit = data[i] + data[i + 1] + data[i + 2] > 0;
    if (lit) box = [Math.min(box[0], x), Math.min(box[1], y), Math.max(box[2], x), Math.max(box[3], y)];
    const near = x >= x0 - margin && x < x0 + w + margin && y >= y0 - margin && y < y0 + h + margin;
    const within = x >= x0 + margin && x < x0 + w - margin && y >= y0 + margin && y < y0 + h - margin;
    if (lit && !near) outside++;
    if (within) { inside++; if (lit) insideLit++; }
  }
  return { size: [canvas.width, canvas.height], outside, lit: insideLit / inside, box };
}"""

PIXEL_JS = """([x, y]) => Array.from(document.getElementById('compare-canvas').getContext('2d')
  .getImageData(x, y, 1, 1).data.slice(0, 3))"""


def ready_on(page, frame: int) -> None:
    page.wait_for_function(f"() => document.getElementById('compare').dataset.ready === '1' "
                           f"&& document.getElementById('compare').dataset.shown === '{frame}'", timeout=30000)


def test_the_paused_difference_is_black_except_where_the_versions_differ(page, reviewer, pair):
    a, b = pair
    page.set_viewport_size({"width": 1000, "height": 860})
    sign_in(page, *reviewer, next_path=f"/projects/{a['project_id']}")
    page.click("a.compare-link")  # on v2's row: compare with v1
    page.wait_for_url(f"**/compare/{a['id']}/{b['id']}")
    ready_on(page, 0)
    page.keyboard.press("Shift+ArrowRight")
    ready_on(page, 10)

    page.click(".compare-modes button[data-mode=diff]")
    seen = page.evaluate(DIFF_JS, [*RECT, MARGIN])
    assert seen["size"] == [640, 360]
    assert seen["outside"] == 0, seen  # identical pixels are exactly black: no compression noise
    assert seen["lit"] > 0.8, seen  # the rectangle shows
    x, y, w, h = RECT
    assert abs(seen["box"][0] - x) <= MARGIN and abs(seen["box"][1] - y) <= MARGIN, seen
    assert abs(seen["box"][2] - (x + w - 1)) <= MARGIN and abs(seen["box"][3] - (y + h - 1)) <= MARGIN, seen
    page.check("#heat")
    assert page.evaluate(DIFF_JS, [*RECT, MARGIN])["outside"] == 0
    DOCS.mkdir(exist_ok=True)
    page.screenshot(path=str(DOCS / "compare-difference.png"))

    # Wipe: A left of the divider, B right of it; the divider follows a drag.
    page.click(".compare-modes button[data-mode=wipe]")
    centre = (x + w // 2, y + h // 2)
    box = page.locator("#compare-canvas").bounding_box()
    to_screen = lambda px: box["x"] + px * box["width"] / 640  # noqa: E731
    page.mouse.move(to_screen(100), box["y"] + 20)
    page.mouse.down()
    page.mouse.move(to_screen(150), box["y"] + 20, steps=4)
    page.mouse.up()
    assert abs(page.evaluate("() => window.framegateCompare.wipe") - 150 / 640) < 0.01
    b_colour = page.evaluate(PIXEL_JS, list(centre))  # right of the divider: B, the cyan rectangle
    assert b_colour[2] > 200 and b_colour[0] < 80, b_colour
    page.mouse.move(to_screen(150), box["y"] + 20)
    page.mouse.down()
    page.mouse.move(to_screen(400), box["y"] + 20, steps=4)
    page.mouse.up()
    assert page.evaluate(PIXEL_JS, list(centre)) != b_colour  # left of the divider now: A, no rectangle
    page.mouse.move(to_screen(400), box["y"] + 20)
    page.mouse.down()
    page.mouse.move(to_screen(x + w // 2), box["y"] + 20, steps=4)  # the divider through the rectangle
    page.mouse.up()
    page.screenshot(path=str(DOCS / "compare-wipe.png"))

    page.click(".compare-modes button[data-mode=onion]")
    page.fill("#opacity", "0")
    page.dispatch_event("#opacity", "input")
    assert page.evaluate(PIXEL_JS, list(centre)) != b_colour  # B at 0 %: A alone
    errors = [m for m in page.console_messages if m.startswith(("error", "pageerror", "http"))]
    assert not errors, errors
