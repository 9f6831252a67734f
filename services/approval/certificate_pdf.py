"""The certificate's pages (reportlab): what was approved, by whom, when and
from where, with a QR code to the public verification page. No I/O here:
the facts and the poster's bytes come in, unsigned PDF bytes go out."""
from __future__ import annotations

from io import BytesIO

import qrcode
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from xml.sax.saxutils import escape

INK = colors.HexColor("#1d2433")
MUTED = colors.HexColor("#5b6475")
RULE = colors.HexColor("#c9ced8")


def _qr_png(url: str) -> BytesIO:
    image = qrcode.make(url, box_size=6, border=2)
    out = BytesIO()
    image.save(out, format="PNG")
    out.seek(0)
    return out


def _styles() -> dict[str, ParagraphStyle]:
    base = getSampleStyleSheet()
    return {
        "title": ParagraphStyle("title", parent=base["Title"], textColor=INK, fontSize=20, alignment=0, spaceAfter=2),
        "sub": ParagraphStyle("sub", parent=base["Normal"], textColor=MUTED, fontSize=9),
        "label": ParagraphStyle("label", parent=base["Normal"], textColor=MUTED, fontSize=8, leading=10),
        "value": ParagraphStyle("value", parent=base["Normal"], textColor=INK, fontSize=10, leading=12),
        "mono": ParagraphStyle("mono", parent=base["Normal"], fontName="Courier", textColor=INK, fontSize=7.5,
                               leading=9),
        "h2": ParagraphStyle("h2", parent=base["Heading2"], textColor=INK, fontSize=12, spaceBefore=8),
        "cell": ParagraphStyle("cell", parent=base["Normal"], textColor=INK, fontSize=7.5, leading=9),
    }


def _p(text, style) -> Paragraph:
    return Paragraph(escape(str(text if text is not None else "")), style)


def render(facts: dict, poster: bytes | None = None) -> bytes:
    """An unsigned certificate PDF from its facts (see certificates.certificate_facts)."""
    s = _styles()
    out = BytesIO()
    doc = SimpleDocTemplate(out, pagesize=A4, leftMargin=16 * mm, rightMargin=16 * mm, topMargin=14 * mm,
                            bottomMargin=14 * mm, title=f"Approval certificate {facts['certificate_id']}",
                            author="Framegate", subject=f"{facts['production']} - {facts['stage_title']}")
    rows = [
        ("Production", _p(facts["production"], s["value"])),
        ("Asset", _p(facts["asset"], s["value"])),
        ("Stage", _p(facts["stage_title"], s["value"])),
        ("Scope", _p(facts["scope"] or "(no scope text)", s["value"])),
        ("Version", _p(f"v{facts['version_number']}  ({facts['version_id']})", s["value"])),
        ("Master SHA-256", _p(facts["sha256"], s["mono"])),
        ("Gate closed (UTC)", _p(facts["closed_at"], s["value"])),
        ("Rule", _p(facts["rule"], s["value"])),
    ]
    fact_table = Table([[_p(k, s["label"]), v] for k, v in rows], colWidths=[32 * mm, 88 * mm])
    fact_table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
                                    ("LINEBELOW", (0, 0), (-1, -2), 0.25, RULE)]))
    side = Image(BytesIO(poster), width=55 * mm, height=31 * mm, kind="proportional") if poster else \
        _p("(no poster frame)", s["sub"])
    top = Table([[fact_table, side]], colWidths=[122 * mm, 56 * mm])
    top.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))

    head = ["#", "Name / e-mail", "Decision", "Time (UTC)", "IP / device", "Reason"]
    body = [[_p(str(i), s["cell"]), Paragraph(f"{escape(d['name'])}<br/>{escape(d['email'])}", s["cell"]),
             _p("Approved" if d["decision"] == "approve" else "Changes requested", s["cell"]),
             _p(d["decided_at"], s["cell"]), _p(f"{d['ip']} / {d['user_agent']}", s["cell"]),
             _p(d.get("reason") or "", s["cell"])] for i, d in enumerate(facts["decisions"], 1)]
    decisions = Table([[_p(h, s["label"]) for h in head]] + body,
                      colWidths=[7 * mm, 40 * mm, 24 * mm, 37 * mm, 40 * mm, 30 * mm], repeatRows=1)
    decisions.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LINEBELOW", (0, 0), (-1, 0), 0.6, INK),
                                   ("LINEBELOW", (0, 1), (-1, -1), 0.25, RULE)]))

    qr = Image(_qr_png(facts["verify_url"]), width=30 * mm, height=30 * mm)
    proof = Table([[qr, [_p("Verify this certificate", s["h2"]),
                         _p(f"Scan the code or open {facts['verify_url']}. The PDF carries this installation's "
                            "signature (certified, no changes allowed); every decision above is chained by hash "
                            "to the one before it in the project's record.", s["sub"]),
                         Spacer(1, 3 * mm), _p("Certificate id", s["label"]), _p(facts["certificate_id"], s["mono"]),
                         _p("Decision chain head", s["label"]), _p(facts["chain_head"], s["mono"])]]],
                  colWidths=[34 * mm, 144 * mm])
    proof.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))

    doc.build([_p("Approval certificate", s["title"]),
               _p(f"{facts['production']} - {facts['stage_title']} - issued by Framegate", s["sub"]),
               Spacer(1, 5 * mm), top, _p(f"Decisions of round {facts['round']}", s["h2"]), decisions,
               Spacer(1, 6 * mm), proof])
    return out.getvalue()
