"""The capacity view's charts as inline SVG (no script, no library): the page
renders them on the server and swaps them in when a change arrives."""
from __future__ import annotations

from datetime import datetime, timedelta

from markupsafe import Markup, escape

from .capacity import parse_time

WIDTH = 1120
ROW = 26
LABEL = 270
COLOURS = {"bar": "#4aa3ff", "late": "#ff6b6b", "done": "#3fb970", "todo": "#2c333b", "muted": "#8b95a1",
           "text": "#e6e9ec", "now": "#ffd166", "changes": "#ff9f43"}


def _svg(height: int, body: list[str], title: str) -> Markup:
    return Markup(
        f'<svg class="chart" role="img" aria-label="{escape(title)}" viewBox="0 0 {WIDTH} {height}" '
        f'xmlns="http://www.w3.org/2000/svg">'
        f'<title>{escape(title)}</title>{"".join(body)}</svg>')


def _text(x: float, y: float, text: str, colour: str = "text", anchor: str = "start", size: int = 12) -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" fill="{COLOURS[colour]}" font-size="{size}" '
            f'text-anchor="{anchor}" font-family="system-ui, sans-serif">{escape(text)}</text>')


def _empty(message: str, title: str) -> Markup:
    return _svg(40, [_text(8, 24, message, "muted")], title)


def reviews_chart(reviews: list[dict], now: datetime) -> Markup:
    """A bar per review out, from when it was sent to when its notes are likely back; a line at now."""
    title = "Reviews out and when their notes are likely back"
    if not reviews:
        return _empty("No client reviews out right now.", title)
    starts = [parse_time(r["sent_at"]) for r in reviews]
    ends = [parse_time(r["expected_back"]) for r in reviews]
    first = min(min(starts), now - timedelta(hours=12))
    last = max(max(ends), now + timedelta(hours=12))
    span = (last - first).total_seconds()
    plot = WIDTH - LABEL - 130

    def x(moment: datetime) -> float:
        return LABEL + plot * (moment - first).total_seconds() / span

    body = []
    for i, (review, start, end) in enumerate(zip(reviews, starts, ends)):
        y = 20 + i * ROW
        colour = COLOURS["late" if review["overdue"] else "bar"]
        body.append(_text(8, y + 13, f"{review['name']} · {review['stage'] or 'review'}"[:40]))
        body.append(f'<rect x="{x(start):.1f}" y="{y}" width="{max(x(end) - x(start), 2):.1f}" height="{ROW - 8}" '
                    f'rx="3" fill="{colour}" opacity="{1 if review["opened"] else 0.55}">'
                    f'<title>{escape(review["name"])}: sent {escape(review["sent_at"])}, notes likely by '
                    f'{escape(review["expected_back"])}</title></rect>')
        body.append(_text(x(end) + 4, y + 13, end.strftime("%a %d %b %H:%M"), "muted", size=11))
    height = 30 + len(reviews) * ROW
    body.append(f'<line x1="{x(now):.1f}" x2="{x(now):.1f}" y1="8" y2="{height - 6}" stroke="{COLOURS["now"]}" '
                f'stroke-dasharray="4 3"/>')
    body.append(_text(x(now), 12, "now", "now", "middle", 11))
    return _svg(height, body, title)


def gates_chart(gates: list[dict]) -> Markup:
    """A bar per open gate: approvals given out of those needed."""
    title = "Gates about to close"
    if not gates:
        return _empty("No approval gates open.", title)
    plot = WIDTH - LABEL - 240
    body = []
    for i, gate in enumerate(gates):
        y = 12 + i * ROW
        needed = max(gate["needed"], 1)
        done = plot * min(gate["approved"], needed) / needed
        body.append(_text(8, y + 13, f"{gate['name']} · {gate['stage']}"[:40]))
        body.append(f'<rect x="{LABEL}" y="{y}" width="{plot}" height="{ROW - 8}" rx="3" fill="{COLOURS["todo"]}"/>')
        body.append(f'<rect x="{LABEL}" y="{y}" width="{done:.1f}" height="{ROW - 8}" rx="3" fill="{COLOURS["done"]}"/>')
        left = "closes on the next approval" if gate["remaining"] == 1 else f"{gate['remaining']} approvals to go"
        body.append(_text(LABEL + plot + 6, y + 13, f"{gate['approved']}/{gate['needed']} · {left}"[:40], "muted", size=11))
    return _svg(24 + len(gates) * ROW, body, title)


def load_chart(weeks: list[dict]) -> Markup:
    """Bars per week: new versions after the first, and changes requested."""
    title = "Revision load by week"
    height, top, bottom = 200, 16, 36
    peak = max([w["revisions"] for w in weeks] + [w["changes"] for w in weeks] + [1])
    slot = (WIDTH - 60) / len(weeks)
    bar = slot * 0.32
    scale = (height - top - bottom) / peak
    body = [f'<line x1="40" x2="{WIDTH - 10}" y1="{height - bottom}" y2="{height - bottom}" stroke="{COLOURS["todo"]}"/>',
            _text(34, top + 4, str(peak), "muted", "end", 11), _text(34, height - bottom, "0", "muted", "end", 11)]
    for i, week in enumerate(weeks):
        x0 = 50 + i * slot
        for j, (key, colour) in enumerate((("revisions", "bar"), ("changes", "changes"))):
            h = week[key] * scale
            body.append(f'<rect x="{x0 + j * (bar + 2):.1f}" y="{height - bottom - h:.1f}" width="{bar:.1f}" '
                        f'height="{h:.1f}" fill="{COLOURS[colour]}"><title>{escape(week["week"])}: {week[key]} '
                        f'{"new versions" if key == "revisions" else "changes requested"}</title></rect>')
        body.append(_text(x0 + bar, height - bottom + 16, week["week"][5:], "muted", "middle", 11))
    body.append(f'<rect x="{WIDTH - 250}" y="{height - 14}" width="10" height="10" fill="{COLOURS["bar"]}"/>')
    body.append(_text(WIDTH - 236, height - 5, "new versions", "muted", size=11))
    body.append(f'<rect x="{WIDTH - 140}" y="{height - 14}" width="10" height="10" fill="{COLOURS["changes"]}"/>')
    body.append(_text(WIDTH - 126, height - 5, "changes requested", "muted", size=11))
    return _svg(height, body, title)
