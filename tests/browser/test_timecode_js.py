"""The player's timecode module (static/timecode.js) gives the same labels as
services/common/timecode.py, on a table of values around the edges that
matter: drop-frame minute boundaries, the tenth minute, the 24-hour wrap."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from services.common.timecode import frames_to_smpte, smpte_to_frames

MODULE = Path(__file__).resolve().parents[2] / "services" / "review" / "static" / "timecode.js"
RATES = [("24000/1001", False), ("24", False), ("25", False), ("30000/1001", False), ("30000/1001", True),
         ("30", False), ("50", False), ("60000/1001", True), ("60", False), ("29.97", True), ("23.976", False)]
FRAMES = [0, 1, 29, 30, 59, 1799, 1800, 1801, 17981, 17982, 17983, 107892, 215784, 2589407, 2589408, 5178815]
STARTS = [0, 107892, -1]


def table() -> list[dict]:
    rows = []
    for rate, drop in RATES:
        for start in STARTS:
            for frame in FRAMES:
                rows.append({"rate": rate, "drop": drop, "start": start, "frame": frame,
                             "tc": frames_to_smpte(frame, rate, drop, start)})
    return rows


def run_js(rows: list[dict]) -> list[dict]:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    script = f"""
      import {{ framesToSmpte, smpteToFrames }} from {json.dumps(MODULE.as_uri())};
      const rows = JSON.parse(process.argv[1]);
      console.log(JSON.stringify(rows.map(r => ({{
        tc: framesToSmpte(r.frame, r.rate, r.drop, r.start),
        back: smpteToFrames(r.tc, r.rate, r.drop) }}))));
    """
    out = subprocess.run([node, "--input-type=module", "-e", script, json.dumps(rows)],
                         capture_output=True, text=True, timeout=60, check=True)
    return json.loads(out.stdout)


def test_js_and_python_give_the_same_timecodes():
    rows = table()
    results = run_js(rows)
    assert len(results) == len(rows) > 500
    for row, got in zip(rows, results):
        assert got["tc"] == row["tc"], (row, got)
        assert got["back"] == smpte_to_frames(row["tc"], row["rate"], row["drop"]), (row, got)


def test_known_drop_frame_labels():
    rows = [{"rate": "30000/1001", "drop": True, "start": 0, "frame": f, "tc": ""} for f in (1799, 1800, 17982)]
    rows = [dict(r, tc=frames_to_smpte(r["frame"], r["rate"], True)) for r in rows]
    assert [r["tc"] for r in run_js(rows)] == ["00:00:59;29", "00:01:00;02", "00:10:00;00"]
