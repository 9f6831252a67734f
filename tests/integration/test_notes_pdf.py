"""The notes PDF: each note's drawing lands on its still where it was drawn,
and note text prints as typed (markup is never interpreted). Rendered back
with poppler (pdftotext, pdftoppm) the way a reader sees it."""
from __future__ import annotations

import subprocess
from pathlib import Path

from PIL import Image

from services.review.notes_pdf import notes_pdf

STILL = (40, 160, 200)  # a colour nothing else on the page has


def plain_still(path: Path) -> Path:
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                    "color=c=0x28A0C8:size=320x180", "-frames:v", "1", str(path)], check=True)
    return path


def bbox(image: Image.Image, match) -> tuple[int, int, int, int]:
    px = image.load()
    xs, ys = [], []
    for y in range(image.height):
        for x in range(image.width):
            if match(px[x, y]):
                xs.append(x)
                ys.append(y)
    assert xs, "no pixel matched"
    return min(xs), min(ys), max(xs), max(ys)


def test_drawing_sits_on_the_still_where_it_was_drawn_and_text_prints_as_typed(tmp_path):
    still = plain_still(tmp_path / "frame.jpg")
    note = {"note_id": "n1", "frame": 1800, "to_frame": None, "timecode": "01:01:00;02", "status": "open",
            "author_name": "Ann <Agency>", "text": "<script>alert(1)</script> too dark\nsecond line",
            "drawing": [{"tool": "rect", "x": 0.25, "y": 0.5, "w": 0.5, "h": 0.25, "color": "#FF0000", "size": 8}],
            "replies": [{"author_name": "Ed", "text": "fixed <b>in v4</b>"}]}
    pdf = tmp_path / "notes.pdf"
    pdf.write_bytes(notes_pdf("Hero 60s v3 — notes", "Acme Spring", [note], {"n1": still}, aspect=16 / 9))

    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    for expected in ("01:01:00;02", "<script>alert(1)</script> too dark", "second line", "Ann <Agency>",
                     "fixed <b>in v4</b>", "Open"):
        assert expected in text, f"{expected!r} missing from:\n{text}"

    subprocess.run(["pdftoppm", "-png", "-r", "100", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "page")], check=True)
    page = Image.open(next(tmp_path.glob("page*.png"))).convert("RGB")
    gx0, gy0, gx1, gy1 = bbox(page, lambda p: all(abs(c - g) < 12 for c, g in zip(p, STILL)))
    rx0, ry0, rx1, ry1 = bbox(page, lambda p: p[0] > 200 and p[1] < 60 and p[2] < 60)
    width, height = gx1 - gx0, gy1 - gy0
    assert abs(width / height - 16 / 9) < 0.05
    # The rectangle's outline, as fractions of the still: x 0.25..0.75, y 0.5..0.75 (line width aside).
    for got, want in (((rx0 - gx0) / width, 0.25), ((rx1 - gx0) / width, 0.75),
                      ((ry0 - gy0) / height, 0.5), ((ry1 - gy0) / height, 0.75)):
        assert abs(got - want) < 0.03, (got, want)
