"""What a delivery says, before any channel's format: a title, lines of
text, and links (the player at the noted frame). User text is kept raw here;
each channel escapes it its own way (slack.py, mail.py)."""
from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import quote

MAX_NOTES = 20  # a digest lists at most this many notes, then says how many more


@dataclass(frozen=True)
class Link:
    label: str
    url: str


@dataclass(frozen=True)
class Message:
    title: str
    lines: list[str] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    project: str = ""


def player_url(public_url: str, version_id: str, frame: int | None = None) -> str:
    url = f"{public_url.rstrip('/')}/versions/{quote(str(version_id), safe='')}"
    return url if frame is None else f"{url}?frame={int(frame)}"


def note_line(note: dict) -> str:
    where = note.get("timecode") or f"frame {note.get('frame')}"
    if note.get("to_frame") is not None:
        where += f" (frames {note.get('frame')}–{note['to_frame']})"
    return f"{where}: {note.get('text', '')}"


def for_event(event: dict, project: str, public_url: str) -> Message:
    """One event as a message."""
    kind = event.get("type")
    version_link = [Link("Open in player", player_url(public_url, event["version_id"]))] if event.get(
        "version_id") else []
    if kind == "version_ready":
        return Message("A new version is ready to review", links=version_link, project=project)
    if kind == "version_failed":
        return Message("A version could not be transcoded", [f"{event.get('code')}: {event.get('reason')}"],
                       version_link, project)
    if kind == "link_created":
        return Message(f"A {event.get('kind')} review link was made for {event.get('stage') or 'review'}",
                       [f"by {event.get('created_by')}"], version_link, project)
    if kind == "link_opened":
        return Message(f"{event.get('reviewer_name')} opened the {event.get('kind')} review link",
                       [f"{event.get('reviewer_name')} <{event.get('reviewer_email')}> started watching"],
                       version_link, project)
    if kind == "note_added":
        return digest([event], project, public_url)
    if kind == "note_replied":
        return Message(f"{event.get('author_name')} replied to a note", [event.get("text", "")],
                       version_link, project)
    if kind == "note_status_changed":
        return Message(f"{event.get('changed_by')} marked a note {event.get('status', '').replace('_', ' ')}",
                       [f"was {event.get('previous_status', '').replace('_', ' ')}"], version_link, project)
    if kind == "approval_recorded":
        verb = "approved" if event.get("decision") == "approve" else "requested changes on"
        lines = [f"Reason: {event['reason']}"] if event.get("reason") else []
        return Message(f"{event.get('email')} {verb} version {event.get('version_number')} ({event.get('stage')})",
                       lines, version_link, project)
    if kind == "gate_closed":
        return Message(f"Gate closed: {event.get('stage')} approved version {event.get('version_number')}",
                       [f"SHA-256 {event.get('sha256')}"], version_link, project)
    if kind == "stage_advanced":
        to = event.get("to_stage") or "done (final stage closed)"
        return Message(f"Stage advanced: {event.get('from_stage')} → {to}", project=project)
    if kind == "mention":
        note = event["note"]
        return Message(f"{note.get('author_name')} mentioned you in a note", [note_line(note)],
                       [Link("Open at this frame", player_url(public_url, note["version_id"], note.get("frame")))],
                       project)
    if kind == "notification_test":
        return Message("Test notification from Framegate", [f"Sent by {event.get('requested_by')} to check "
                                                            "this subscription."], project=project)
    return Message(f"{kind}", project=project)


def digest(notes: list[dict], project: str, public_url: str) -> Message:
    """A reviewer session's notes as one message, in frame order: one line and one player button per note."""
    notes = sorted(notes, key=lambda n: (str(n.get("version_id")), n.get("frame") or 0, n.get("to_frame") or 0))
    first = notes[0]
    count = len(notes)
    title = f"{first.get('author_name')} left {count} note{'s' if count != 1 else ''}"
    shown = notes[:MAX_NOTES]
    lines = [note_line(n) for n in shown]
    if count > MAX_NOTES:
        lines.append(f"…and {count - MAX_NOTES} more")
    links = [Link(f"Open {n.get('timecode') or 'frame ' + str(n.get('frame'))}",
                  player_url(public_url, n["version_id"], n.get("frame"))) for n in shown]
    return Message(title, lines, links, project)
