"""What the board knows about one production, folded from its events (no I/O).

`fold(events)` replays a production's events in the order they happened and
returns its view: stage, state, versions, open notes, pending approvers, link
activity, last activity and the timeline of stages and gates. The same
function serves the live projection and the rebuild, so the two cannot differ.

States, as a producer reads them:

- in production: nothing has gone out for review yet;
- in client review: a client link is out and no notes have come back on it;
- notes received: a reviewer left notes through a link that the team has not
  acted on yet;
- in revision: the team is working on feedback (a note resolved or answered,
  changes requested at a gate, or a new version made after feedback);
- awaiting approval: a version is up for a gate whose round is still open;
- approved: a gate closed and nothing has happened since;
- delivered: the last stage's gate closed;
- archived: the project was archived.

Archived and delivered hold whatever comes after; an open approval round
holds against notes arriving meanwhile (the approvers' decision is what moves
it on); otherwise the latest event that changes the phase decides.
"""
from __future__ import annotations

from typing import Iterable

STATES = ("in production", "in client review", "notes received", "in revision", "awaiting approval",
          "approved", "delivered", "archived")

# Events the dashboard records; transcode_progress (once a second per job) is
# left out: the board shows versions by their outcome, not their percent.
CONSUMED = (
    ("ingest", "project_created"), ("ingest", "version_uploaded"),
    ("transcode", "version_playable"), ("transcode", "version_ready"), ("transcode", "version_failed"),
    ("review", "link_created"), ("review", "link_opened"), ("review", "link_revoked"),
    ("review", "note_added"), ("review", "note_replied"), ("review", "note_status_changed"),
    ("review", "playback_progress"),
    ("approval", "version_submitted"), ("approval", "approval_recorded"), ("approval", "gate_closed"),
    ("approval", "stage_advanced"), ("approval", "version_locked"),
)


# Within one millisecond (or between services whose clocks agree to the
# millisecond), causes sort before their effects: a link before its opening,
# a note before its status, a closed gate before the stage it advances.
LIFECYCLE = ("project_created", "version_uploaded", "version_playable", "version_ready", "version_failed",
             "link_created", "link_opened", "playback_progress", "note_added", "note_replied",
             "note_status_changed", "link_revoked", "version_submitted", "approval_recorded", "gate_closed",
             "version_locked", "stage_advanced", "project_archived")


def event_order(event: dict) -> tuple:
    """Events sort by when they happened, then cause before effect; the id breaks what is
    left so every replay agrees."""
    kind = event.get("type") or ""
    rank = LIFECYCLE.index(kind) if kind in LIFECYCLE else len(LIFECYCLE)
    return (event.get("occurred_at") or "", rank, event.get("event_id") or "")


def needed_approvals(approvers: list, rule: str) -> int:
    """How many approvals close a round (the gate's own rule; several paths count as all)."""
    if rule == "any":
        return 1 if approvers else 0
    if isinstance(rule, str) and rule.isdigit():
        return min(int(rule), len(approvers))
    return len(approvers)


def _domain(email: str) -> str:
    return email.rpartition("@")[2].lower() if "@" in (email or "") else ""


class _Fold:
    def __init__(self):
        self.view = {
            "project_id": "", "name": "", "producer": "", "producer_name": "", "clients": [],
            "created_at": None, "stage": "", "stages": [], "state": "in production", "state_since": None,
            "versions": [], "open_notes": 0, "notes_total": 0, "pending_approvers": [], "open_round": None,
            "links": [], "last_activity": None, "timeline": [], "revisions": [], "changes_requested": [],
            "delivered_at": None, "event_count": 0,
        }
        self.phase = "in production"
        self.phase_since = None
        self.archived_at = None
        self.note_status: dict[str, str] = {}
        self.versions: dict[str, dict] = {}
        self.links: dict[str, dict] = {}
        self.sessions: dict[str, str] = {}  # session -> link
        self.reviewed = False  # anything has gone out for review (a link or a gate)

    # helpers ---------------------------------------------------------------
    def set_phase(self, phase: str, at: str) -> None:
        if phase != self.phase:
            self.phase, self.phase_since = phase, at

    def stage_entry(self, name: str, at: str) -> dict:
        for entry in self.view["stages"]:
            if entry["name"] == name:
                return entry
        entry = {"name": name, "entered_at": at, "gate_id": "", "rounds": 0, "submitted_at": None,
                 "closed_at": None, "version_number": None, "decisions": []}
        self.view["stages"].append(entry)
        if not self.view["stage"]:
            self.view["stage"] = name
        return entry

    def milestone(self, at: str, kind: str, text: str) -> None:
        self.view["timeline"].append({"at": at, "kind": kind, "text": text})

    def link_for(self, link_id: str | None) -> dict | None:
        return self.links.get(link_id) if link_id else None

    # events ------------------------------------------------------------------
    def apply(self, e: dict) -> None:
        at = e.get("occurred_at")
        v = self.view
        v["event_count"] += 1
        v["project_id"] = v["project_id"] or e.get("project_id", "")
        if self.phase_since is None:
            self.phase_since = at
        handler = getattr(self, "on_" + e.get("type", ""), None)
        if handler is not None:
            handler(e, at)
        v["last_activity"] = max(v["last_activity"] or "", at or "") or None

    def on_project_created(self, e, at):
        v = self.view
        v.update(name=e.get("name", ""), producer=e.get("created_by_email", ""),
                 producer_name=e.get("created_by_name", ""), created_at=at)
        self.milestone(at, "project", f"Production {e.get('name', '')!s} created")

    def on_version_uploaded(self, e, at):
        version = {"version_id": e["version_id"], "asset_id": e.get("asset_id", ""),
                   "number": e.get("version_number", 0), "status": "processing", "uploaded_at": at}
        self.versions[e["version_id"]] = version
        self.view["versions"].append(version)
        if version["number"] > 1:
            self.view["revisions"].append(at)
        if self.reviewed:  # a new cut after review is revision work until it goes out again
            self.set_phase("in revision", at)
        self.milestone(at, "version", f"Version {version['number']} uploaded")

    def _version_status(self, e, status):
        version = self.versions.get(e.get("version_id"))
        if version is not None and not (version["status"] == "ready" and status == "playable"):
            version["status"] = status

    def on_version_playable(self, e, at):
        self._version_status(e, "playable")

    def on_version_ready(self, e, at):
        self._version_status(e, "ready")

    def on_version_failed(self, e, at):
        self._version_status(e, "failed")

    def on_link_created(self, e, at):
        link = {"link_id": e["link_id"], "kind": e.get("kind", ""), "stage": e.get("stage", ""),
                "version_id": e.get("version_id"), "created_at": at, "revoked": False, "opens": 0,
                "viewers": [], "percent_watched": 0.0, "first_opened_at": None, "first_note_at": None, "notes": 0}
        self.links[link["link_id"]] = link
        self.view["links"].append(link)
        if link["kind"] == "client":
            self.reviewed = True
            self.set_phase("in client review", at)
            self.milestone(at, "link", f"Sent to the client ({link['stage'] or 'review'})")

    def on_link_opened(self, e, at):
        link = self.link_for(e.get("link_id"))
        if link is None:
            return
        link["opens"] += 1
        link["first_opened_at"] = link["first_opened_at"] or at
        self.sessions[e.get("session_id", "")] = link["link_id"]
        email = (e.get("reviewer_email") or "").lower()
        if email and email not in link["viewers"]:
            link["viewers"].append(email)
        if link["kind"] == "client":
            domain = _domain(email)
            if domain and domain not in self.view["clients"]:
                self.view["clients"].append(domain)

    def on_link_revoked(self, e, at):
        link = self.link_for(e.get("link_id"))
        if link is not None:
            link["revoked"] = True

    def on_playback_progress(self, e, at):
        link = self.link_for(e.get("link_id") or self.sessions.get(e.get("session_id", "")))
        if link is not None:
            link["percent_watched"] = max(link["percent_watched"], float(e.get("percent_watched") or 0))

    def on_note_added(self, e, at):
        self.note_status[e["note_id"]] = "open"
        self.view["notes_total"] += 1
        link = self.link_for(e.get("link_id"))
        if link is not None:
            link["notes"] += 1
            if not link["first_note_at"]:
                link["first_note_at"] = at
                self.milestone(at, "notes", f"Notes back from {e.get('author_email') or e.get('author_name')} "
                                            f"({link['stage'] or 'review'})")
        if e.get("link_id"):  # feedback from a reviewer, not the team's own notes
            self.reviewed = True
            self.set_phase("notes received", at)

    def on_note_replied(self, e, at):
        if not e.get("link_id") and self.phase == "notes received":
            self.set_phase("in revision", at)  # the team answers the feedback

    def on_note_status_changed(self, e, at):
        if e["note_id"] in self.note_status:
            self.note_status[e["note_id"]] = e.get("status", "open")
        if e.get("status") != "open" and self.phase == "notes received":
            self.set_phase("in revision", at)

    def on_version_submitted(self, e, at):
        entry = self.stage_entry(e.get("stage", ""), at)
        self.view["stage"] = entry["name"]
        entry.update(gate_id=e.get("gate_id", ""), rounds=max(entry["rounds"], e.get("round", 1)),
                     submitted_at=at, version_number=e.get("version_number"))
        self.view["open_round"] = {
            "gate_id": e.get("gate_id", ""), "stage": entry["name"], "round": e.get("round", 1),
            "version_id": e.get("version_id"), "version_number": e.get("version_number"),
            "approvers": list(e.get("approvers") or []), "rule": e.get("rule", "all"),
            "needed": needed_approvals(list(e.get("approvers") or []), e.get("rule", "all")),
            "approved_by": [], "submitted_at": at, "changes": False,
        }
        self.reviewed = True
        self.set_phase("awaiting approval", at)
        self.milestone(at, "submitted", f"Version {e.get('version_number')} up for the {entry['name']} gate "
                                        f"(round {e.get('round', 1)})")

    def on_approval_recorded(self, e, at):
        entry = self.stage_entry(e.get("stage", ""), at)
        entry["decisions"].append({"email": e.get("email", ""), "decision": e.get("decision", ""), "at": at,
                                   "round": e.get("round", 1)})
        open_round = self.view["open_round"]
        in_round = open_round is not None and open_round["gate_id"] == e.get("gate_id") \
            and open_round["round"] == e.get("round")
        if e.get("decision") == "changes":
            self.view["changes_requested"].append(at)
            if in_round:
                open_round["changes"] = True
                self.view["open_round"] = None
            self.set_phase("in revision", at)
            self.milestone(at, "changes", f"{e.get('email', '')} asked for changes on {entry['name']}")
        elif in_round and e.get("email") not in open_round["approved_by"]:
            open_round["approved_by"].append(e.get("email", ""))

    def on_gate_closed(self, e, at):
        entry = self.stage_entry(e.get("stage", ""), at)
        entry.update(closed_at=at, version_number=e.get("version_number"), gate_id=e.get("gate_id", ""))
        open_round = self.view["open_round"]
        if open_round is not None and open_round["gate_id"] == e.get("gate_id"):
            self.view["open_round"] = None
        self.set_phase("approved", at)
        self.milestone(at, "gate", f"{entry['name']} gate closed on version {e.get('version_number')}")

    def on_stage_advanced(self, e, at):
        self.stage_entry(e.get("from_stage", ""), at)
        if e.get("to_stage"):
            self.stage_entry(e["to_stage"], at)
            self.view["stage"] = e["to_stage"]
            self.milestone(at, "stage", f"Advanced to {e['to_stage']}")
        else:
            self.view["delivered_at"] = self.view["delivered_at"] or at
            self.milestone(at, "delivered", "Final gate closed: delivered")

    def on_version_locked(self, e, at):
        version = self.versions.get(e.get("version_id"))
        if version is not None:
            version["locked"] = True

    def on_project_archived(self, e, at):  # no such event yet; ready for when approval publishes it
        self.archived_at = self.archived_at or at

    # result --------------------------------------------------------------------
    def result(self) -> dict:
        v = self.view
        v["open_notes"] = sum(1 for status in self.note_status.values() if status == "open")
        open_round = v["open_round"]
        if open_round is not None:
            done = set(open_round["approved_by"])
            v["pending_approvers"] = [a for a in open_round["approvers"] if a not in done]
        else:
            v["pending_approvers"] = []
        if self.archived_at:
            v["state"], v["state_since"] = "archived", self.archived_at
        elif v["delivered_at"]:
            v["state"], v["state_since"] = "delivered", v["delivered_at"]
        elif open_round is not None:
            v["state"], v["state_since"] = "awaiting approval", open_round["submitted_at"]
        else:
            v["state"], v["state_since"] = self.phase, self.phase_since
        v["link_activity"] = link_activity(v["links"])
        return v


def link_activity(links: list[dict]) -> dict:
    """A line's worth about review links: how many are out, opened, and the best percent watched."""
    live = [link for link in links if not link["revoked"]]
    return {"out": len(live), "opened": sum(1 for link in live if link["opens"]),
            "opens": sum(link["opens"] for link in links),
            "percent_watched": round(max((link["percent_watched"] for link in live), default=0.0), 1)}


def fold(events: Iterable[dict]) -> dict:
    """The production's view after these events (in any order; they are sorted here)."""
    state = _Fold()
    for event in sorted(events, key=event_order):
        state.apply(event)
    return state.result()


BOARD_FIELDS = ("project_id", "name", "stage", "state", "open_notes", "pending_approvers", "last_activity")


def board_row(view: dict) -> dict:
    """One line of the board: what `framegate dashboard --json` prints, and a little more for the page."""
    versions = view.get("versions") or []
    latest = max((v["number"] for v in versions), default=0)
    return {
        "project_id": view["project_id"], "name": view.get("name") or "", "stage": view.get("stage") or "",
        "state": view["state"], "state_since": view.get("state_since"), "open_notes": view.get("open_notes", 0),
        "pending_approvers": list(view.get("pending_approvers") or []),
        "last_activity": view.get("last_activity"), "versions": len(versions), "latest_version": latest,
        "link_activity": view.get("link_activity") or link_activity(view.get("links") or []),
        "producer": view.get("producer") or "", "clients": list(view.get("clients") or []),
    }


SORT_KEYS = {
    "name": lambda r: (r["name"] or r["project_id"]).casefold(),
    "state": lambda r: STATES.index(r["state"]) if r["state"] in STATES else len(STATES),
    "last_activity": lambda r: r["last_activity"] or "",
    "open_notes": lambda r: r["open_notes"],
    "pending": lambda r: len(r["pending_approvers"]),
}
DESCENDING_BY_DEFAULT = {"last_activity", "open_notes", "pending"}


class BadQuery(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def select_rows(rows: list[dict], state: str = "", client: str = "", producer: str = "", sort: str = "",
                include_archived: bool = False) -> list[dict]:
    """Filter and sort board rows; unknown states or sort keys are a BadQuery naming the field."""
    if state and state not in STATES:
        raise BadQuery("state", f"Unknown state {state!r}; one of: {', '.join(STATES)}.")
    key = sort.lstrip("-") or "last_activity"
    if key not in SORT_KEYS:
        raise BadQuery("sort", f"Unknown sort {sort!r}; one of: {', '.join(SORT_KEYS)} (prefix - to reverse).")
    chosen = [
        r for r in rows
        if (r["state"] == state if state else (include_archived or r["state"] != "archived"))
        and (not client or any(client.lower() in c for c in r["clients"]))
        and (not producer or producer.lower() in r["producer"].lower())
    ]
    descending = (key in DESCENDING_BY_DEFAULT) != sort.startswith("-")
    return sorted(chosen, key=SORT_KEYS[key], reverse=descending)
