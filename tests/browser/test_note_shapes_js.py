"""The notes UI's geometry (static/note-shapes.js, note-marks.js) in node: the
picture inside a letterboxed player, pointer to frame fractions and back,
which notes' drawings belong on a frame, where a note sits on the timeline;
and the shapes the drawing tools make pass the API's rules (notes_rules)."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from services.review.notes_rules import check_drawing

STATIC = Path(__file__).resolve().parents[2] / "services" / "review" / "static"


def run_js(body: str) -> dict:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    script = f"""
      import * as shapes from {json.dumps((STATIC / "note-shapes.js").as_uri())};
      import {{ markPosition }} from {json.dumps((STATIC / "note-marks.js").as_uri())};
      const out = (() => {{ {body} }})();
      console.log(JSON.stringify(out));
    """
    done = subprocess.run([node, "--input-type=module", "-e", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_picture_rect_leaves_out_the_letterbox_bars():
    got = run_js("""return {
      wide: shapes.pictureRect(1000, 1000, 640, 360),   // bars above and below
      tall: shapes.pictureRect(1000, 300, 640, 360),    // bars left and right
      exact: shapes.pictureRect(1280, 720, 640, 360),
      unknown: shapes.pictureRect(800, 450, 0, 0) };""")
    assert got["wide"] == {"left": 0, "top": 218.75, "width": 1000, "height": 562.5}
    assert got["tall"] == pytest.approx({"left": 233.33333, "top": 0, "width": 533.33333, "height": 300})
    assert got["exact"] == {"left": 0, "top": 0, "width": 1280, "height": 720}
    assert got["unknown"] == {"left": 0, "top": 0, "width": 800, "height": 450}


def test_a_drag_in_a_letterboxed_picture_becomes_frame_fractions_and_draws_back_at_another_size():
    got = run_js("""
      const rect = shapes.pictureRect(1000, 1000, 640, 360);
      const a = shapes.toFrame(200, 218.75 + 0.25 * 562.5, rect);
      const b = shapes.toFrame(600, 218.75 + 0.75 * 562.5, rect);
      const outside = shapes.toFrame(-50, 5, rect);  // on the bar above: clamped to the frame's edge
      const drawn = shapes.shapeFromDrag("rect", b, a, { color: "#F22237", size: 8 });  // dragged up-left
      return { a, b, outside, drawn, small: shapes.shapeInPixels(drawn, 320, 180),
               big: shapes.shapeInPixels(drawn, 1920, 1080) };""")
    assert got["a"] == [0.2, 0.25] and got["b"] == [0.6, 0.75]
    assert got["outside"] == [0, 0]
    assert got["drawn"] == {"tool": "rect", "color": "#F22237", "size": 8, "x": 0.2, "y": 0.25, "w": 0.4, "h": 0.5}
    assert got["small"]["x"] == pytest.approx(64) and got["small"]["h"] == pytest.approx(90)
    assert got["big"]["x"] == pytest.approx(384) and got["big"]["w"] == pytest.approx(768)
    # Stroke weight scales with the picture (size thousandths of its width).
    assert got["big"]["stroke"] == pytest.approx(6 * got["small"]["stroke"], rel=0.01)


def test_every_tool_makes_shapes_the_api_accepts():
    got = run_js("""
      const style = { color: "#12AB9F", size: 4 };
      const points = Array.from({ length: 5000 }, (_, i) => [i / 5000, 0.5]);
      return [
        shapes.shapeFromDrag("arrow", [0.1, 0.1], [0.9, 0.9], style),
        shapes.shapeFromDrag("line", [0.9, 0.1], [0.1, 0.9], style),
        shapes.shapeFromDrag("rect", [0.5, 0.5], [1, 1], style),
        shapes.shapeFromDrag("ellipse", [0, 0], [0.3, 0.2], style),
        { tool: "freehand", ...style, points: shapes.thinPoints(points) },
        { tool: "text", ...style, x: 0.4, y: 0.4, text: "<b>too dark</b>" },
      ];""")
    assert check_drawing(got) == got
    assert len(got[4]["points"]) == 2000 and got[4]["points"][-1] == [4999 / 5000, 0.5]


def test_a_drawing_shows_on_its_frame_or_range_only():
    got = run_js("""
      const notes = [
        { note_id: "point", frame: 10, to_frame: null, drawing: [{ tool: "rect" }] },
        { note_id: "range", frame: 20, to_frame: 30, drawing: [{ tool: "line" }] },
        { note_id: "plain", frame: 10, to_frame: null, drawing: [] } ];
      return [9, 10, 11, 20, 25, 30, 31].map((f) => shapes.notesOnFrame(notes, f).map((n) => n.note_id));""")
    assert got == [[], ["point"], [], ["range"], ["range"], ["range"], []]


def test_timeline_marks_sit_where_the_seek_head_does():
    got = run_js("""return [markPosition(0, null, 51), markPosition(25, null, 51), markPosition(10, 20, 51),
                            markPosition(50, null, 51)];""")
    assert got == [{"left": 0, "width": 0}, {"left": 50, "width": 0}, {"left": 20, "width": 20},
                   {"left": 100, "width": 0}]
