"""The capacity view's numbers, from production views alone (no I/O).

- reviews out now, and when their notes are likely back: a client link with no
  note yet is expected back after the typical turnaround, the median time from
  a client link going out to its first note across every production shown
  (two days until there are three to learn from);
- gates about to close: open approval rounds, by how many approvals are still
  needed;
- revision load by week: new versions after the first, and changes requested,
  per ISO week.
"""
from __future__ import annotations

import statistics
from datetime import date, datetime, timedelta, timezone

DEFAULT_TURNAROUND = timedelta(days=2)
MIN_SAMPLES = 3
WEEKS = 8


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def iso(value: datetime) -> str:
    return value.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def typical_turnaround(views: list[dict]) -> tuple[timedelta, int]:
    """(median time from a client link to its first note, how many links it learned from)."""
    samples = []
    for view in views:
        for link in view.get("links") or []:
            sent, back = parse_time(link.get("created_at")), parse_time(link.get("first_note_at"))
            if link.get("kind") == "client" and sent and back and back >= sent:
                samples.append((back - sent).total_seconds())
    if len(samples) < MIN_SAMPLES:
        return DEFAULT_TURNAROUND, len(samples)
    return timedelta(seconds=statistics.median(samples)), len(samples)


def reviews_out(views: list[dict], now: datetime) -> list[dict]:
    """Client links out with no notes back yet, soonest expected first."""
    turnaround, _ = typical_turnaround(views)
    out = []
    for view in views:
        if view.get("state") in ("delivered", "archived"):
            continue
        for link in view.get("links") or []:
            if link.get("kind") != "client" or link.get("revoked") or link.get("first_note_at"):
                continue
            sent = parse_time(link["created_at"])
            expected = sent + turnaround
            out.append({"project_id": view["project_id"], "name": view.get("name") or view["project_id"],
                        "link_id": link["link_id"], "stage": link.get("stage", ""), "sent_at": iso(sent),
                        "expected_back": iso(expected), "overdue": expected < now,
                        "opened": link.get("opens", 0) > 0, "percent_watched": link.get("percent_watched", 0.0)})
    return sorted(out, key=lambda r: r["expected_back"])


def gates_about_to_close(views: list[dict]) -> list[dict]:
    """Open approval rounds, fewest approvals still needed first."""
    gates = []
    for view in views:
        round_ = view.get("open_round")
        if not round_:
            continue
        approved = len(round_.get("approved_by") or [])
        needed = round_.get("needed") or 0
        gates.append({"project_id": view["project_id"], "name": view.get("name") or view["project_id"],
                      "stage": round_.get("stage", ""), "version_number": round_.get("version_number"),
                      "approved": approved, "needed": needed, "remaining": max(needed - approved, 0),
                      "pending": list(view.get("pending_approvers") or []),
                      "submitted_at": round_.get("submitted_at")})
    return sorted(gates, key=lambda g: (g["remaining"], g["submitted_at"] or ""))


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def revision_load(views: list[dict], now: datetime, weeks: int = WEEKS) -> list[dict]:
    """Per week (oldest first, the current one last): new versions after v1 and changes requested."""
    this_week = week_start(now.date())
    starts = [this_week - timedelta(weeks=n) for n in range(weeks - 1, -1, -1)]
    rows = {s: {"week": s.isoformat(), "revisions": 0, "changes": 0} for s in starts}
    for view in views:
        for key, field in (("revisions", "revisions"), ("changes", "changes_requested")):
            for at in view.get(field) or []:
                start = week_start(parse_time(at).date())
                if start in rows:
                    rows[start][key] += 1
    return [rows[s] for s in starts]


def capacity(views: list[dict], now: datetime | None = None) -> dict:
    """Everything the capacity view shows, as JSON."""
    now = now or datetime.now(timezone.utc)
    turnaround, samples = typical_turnaround(views)
    return {"now": iso(now), "turnaround_hours": round(turnaround.total_seconds() / 3600, 1),
            "turnaround_samples": samples, "reviews_out": reviews_out(views, now),
            "gates": gates_about_to_close(views), "revision_load": revision_load(views, now)}
