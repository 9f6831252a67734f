"""Notes of a version as a PDF for the editor: per note, a still of the noted
frame with its drawing drawn over it, the timecode, author, status, text and
replies. reportlab, no I/O besides reading the stills the caller extracted.

Note text is user input: it is escaped before it reaches reportlab's
Paragraph (which reads markup), so `<b>` or `<script>` prints as typed.
"""
from __future__ import annotations

import io
import math
from pathlib import Path
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

STILL_WIDTH = 110 * mm
STATUS_LABEL = {"open": "Open", "resolved": "Resolved", "out_of_scope": "Out of scope"}


class AnnotatedStill(Flowable):
    """A frame with its note's vector shapes, placed in frame-normalised coordinates."""

    def __init__(self, still: bytes | Path | None, shapes: list[dict], aspect: float, width: float = STILL_WIDTH):
        super().__init__()
        self.still, self.shapes = still, shapes
        self.width, self.height = width, width / aspect

    def wrap(self, available_width, available_height):
        return self.width, self.height

    def draw(self):
        c = self.canv
        if isinstance(self.still, bytes):
            c.drawImage(ImageReader(io.BytesIO(self.still)), 0, 0, self.width, self.height)
        elif self.still and Path(self.still).exists():
            c.drawImage(str(self.still), 0, 0, self.width, self.height)
        else:
            c.setFillColor(colors.HexColor("#222222"))
            c.rect(0, 0, self.width, self.height, stroke=0, fill=1)
        for shape in self.shapes:
            self._shape(shape)

    def _xy(self, x: float, y: float) -> tuple[float, float]:
        # Shapes have their origin top left; PDF's is bottom left.
        return x * self.width, (1 - y) * self.height

    def _shape(self, s: dict) -> None:
        c = self.canv
        colour = colors.HexColor(s.get("color", "#F22237"))
        c.setStrokeColor(colour)
        c.setFillColor(colour)
        c.setLineWidth(max(0.5, s.get("size", 4) * self.width / 1000))
        tool = s["tool"]
        if tool in ("rect", "ellipse"):
            x0, y_top = self._xy(s["x"], s["y"])
            w, h = s["w"] * self.width, s["h"] * self.height
            if tool == "rect":
                c.rect(x0, y_top - h, w, h, stroke=1, fill=0)
            else:
                c.ellipse(x0, y_top - h, x0 + w, y_top, stroke=1, fill=0)
        elif tool in ("line", "arrow"):
            x1, y1 = self._xy(s["x1"], s["y1"])
            x2, y2 = self._xy(s["x2"], s["y2"])
            c.line(x1, y1, x2, y2)
            if tool == "arrow":
                self._arrowhead(x1, y1, x2, y2)
        elif tool == "freehand":
            points = [self._xy(x, y) for x, y in s["points"]]
            path = c.beginPath()
            path.moveTo(*points[0])
            for p in points[1:]:
                path.lineTo(*p)
            c.drawPath(path, stroke=1, fill=0)
        elif tool == "text":
            x, y = self._xy(s["x"], s["y"])
            c.setFont("Helvetica-Bold", max(6, s.get("size", 4) * 2))
            c.drawString(x, y - max(6, s.get("size", 4) * 2), s["text"])

    def _arrowhead(self, x1, y1, x2, y2) -> None:
        angle = math.atan2(y2 - y1, x2 - x1)
        size = 3 * mm
        path = self.canv.beginPath()
        path.moveTo(x2, y2)
        for turn in (math.pi * 0.85, -math.pi * 0.85):
            path.lineTo(x2 + size * math.cos(angle + turn), y2 + size * math.sin(angle + turn))
        path.close()
        self.canv.drawPath(path, stroke=0, fill=1)


def notes_pdf(title: str, subtitle: str, notes: list[dict], stills: dict[str, bytes | Path], aspect: float) -> bytes:
    """The PDF's bytes. `notes` are note views (as the audience may see them), `stills` note_id → JPEG."""
    styles = getSampleStyleSheet()
    body, small = styles["BodyText"], styles["Italic"]
    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=landscape(A4), title=title, leftMargin=12 * mm, rightMargin=12 * mm,
                            topMargin=12 * mm, bottomMargin=12 * mm)
    story = [Paragraph(escape(title), styles["Title"]), Paragraph(escape(subtitle), small), Spacer(1, 6 * mm)]
    if not notes:
        story.append(Paragraph("No notes on this version.", body))
    for note in notes:
        heading = (f"<b>{escape(note['timecode'] or '')}</b> · frame {note['frame']}"
                   + (f"–{note['to_frame']}" if note.get("to_frame") is not None else "")
                   + f" · {escape(STATUS_LABEL.get(note['status'], note['status']))}")
        text = [Paragraph(heading, body),
                Paragraph(f"<b>{escape(note['author_name'])}</b>: {_lines(note['text'])}", body)]
        for reply in note.get("replies", []):
            text.append(Paragraph(f"Reply, <b>{escape(reply['author_name'])}</b>: {_lines(reply['text'])}", body))
        row = Table([[AnnotatedStill(stills.get(note["note_id"]), note.get("drawing") or [], aspect), text]],
                    colWidths=[STILL_WIDTH + 4 * mm, None])
        row.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"),
                                 ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.grey),
                                 ("BOTTOMPADDING", (0, 0), (-1, -1), 4 * mm)]))
        story += [row, Spacer(1, 3 * mm)]
    doc.build(story)
    return out.getvalue()


def _lines(text: str) -> str:
    return "<br/>".join(escape(line) for line in text.splitlines())
