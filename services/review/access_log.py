"""A link's access log: one row per viewing session (who, when, device, IP,
what they played, percent watched), and its CSV and PDF exports."""
from __future__ import annotations

import csv
import io
import re

from .ingest_client import IngestNotFound
from .watching import percent_watched

COLUMNS = ("opened_at", "name", "email", "device", "ip", "version_id", "watched", "percent_watched", "downloads")
_BROWSERS = (("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"), ("HeadlessChrome/", "Chrome (headless)"),
             ("Chromium/", "Chromium"), ("Chrome/", "Chrome"), ("Safari/", "Safari"), ("curl/", "curl"),
             ("python-requests/", "script"))
_SYSTEMS = (("iPhone", "iPhone"), ("iPad", "iPad"), ("Android", "Android"), ("Windows", "Windows"),
            ("Mac OS X", "macOS"), ("Macintosh", "macOS"), ("Linux", "Linux"))


def device_of(user_agent: str) -> str:
    """'Chrome on macOS' from a User-Agent header, as far as it says."""
    browser = next((name for mark, name in _BROWSERS if mark in (user_agent or "")), "unknown browser")
    system = next((name for mark, name in _SYSTEMS if mark in (user_agent or "")), "")
    return f"{browser} on {system}" if system else browser


def ranges_text(ranges: list[list[int]]) -> str:
    return ", ".join(f"{a}-{b}" if a != b else str(a) for a, b in ranges)


def rows(sessions: list[dict], frames_of: dict[str, int]) -> list[dict]:
    """The log's rows, oldest session first; `frames_of` maps version id → its frame count."""
    return [{
        "session_id": s["_id"], "opened_at": s["created_at"].isoformat().replace("+00:00", "Z"),
        "name": s["name"], "email": s["email"], "device": device_of(s.get("user_agent", "")),
        "user_agent": s.get("user_agent", ""), "ip": s.get("ip", ""), "version_id": s["version_id"],
        "watched": s["watched"], "percent_watched": percent_watched(s["watched"], frames_of.get(s["version_id"], 0)),
        "downloads": s.get("downloads", 0),
    } for s in sessions]


def frames_of_versions(ingest, token, db, link_id: str) -> dict[str, int]:
    """Frame counts of the versions a link's sessions watched (asked of ingest as the caller)."""
    counts = {}
    for version_id in db.link_sessions.distinct("version_id", {"link_id": link_id}):
        try:
            counts[version_id] = int((ingest.version(token, version_id).get("facts") or {}).get("frames") or 0)
        except IngestNotFound:
            counts[version_id] = 0
    return counts


def _cell(value) -> str:
    # A name like "=HYPERLINK(…)" must stay text in a spreadsheet.
    text = ranges_text(value) if isinstance(value, list) else str(value)
    return "'" + text if re.match(r"^[=+\-@\t\r]", text) else text


def to_csv(log: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for row in log:
        writer.writerow([_cell(row[c]) for c in COLUMNS])
    return out.getvalue()


def to_pdf(link: dict, log: list[dict]) -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    out = io.BytesIO()
    styles = getSampleStyleSheet()
    doc = SimpleDocTemplate(out, pagesize=landscape(A4), title=f"Access log: {link['stage']}")
    header = ["Opened (UTC)", "Name", "E-mail", "Device", "IP", "Watched frames", "%", "Downloads"]
    data = [header] + [[Paragraph(_escape(v), styles["BodyText"]) for v in (
        r["opened_at"][:19].replace("T", " "), r["name"], r["email"], r["device"], r["ip"],
        ranges_text(r["watched"]) or "–", f"{r['percent_watched']:.1f}", str(r["downloads"]))] for r in log]
    table = Table(data, repeatRows=1, colWidths=[95, 95, 140, 115, 75, 140, 40, 55])
    table.setStyle(TableStyle([("BACKGROUND", (0, 0), (-1, 0), colors.lightgrey),
                               ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                               ("VALIGN", (0, 0), (-1, -1), "TOP")]))
    story = [Paragraph(_escape(f"Access log — {link['stage']} ({link['kind']} link)"), styles["Title"]),
             Paragraph(_escape(f"Link {link['link_id']} · state {link['state']} · {len(log)} sessions"),
                       styles["Normal"]), Spacer(1, 12), table]
    doc.build(story)
    return out.getvalue()


def _escape(text: str) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
