"""The rules of notes, as pure functions: what a valid note is, who sees it,
which revision is current, whom it mentions. No I/O; the routes and the
store call these.

A note is pinned to a frame (optionally a range), carries plain text and an
optional drawing of vector shapes in frame-normalised coordinates (0-1,
origin top left), and has a visibility: `internal` (the production team
only) or `client` (also shown on client links).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

MAX_TEXT = 5000
MAX_SHAPES = 50
MAX_POINTS = 2000  # per freehand stroke
MAX_SHAPE_TEXT = 500
TOOLS = ("arrow", "rect", "ellipse", "line", "freehand", "text")
STATUSES = ("open", "resolved", "out_of_scope")
VISIBILITIES = ("internal", "client")
_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
_MENTION = re.compile(r"(?<![\w.@])@([A-Za-z0-9._%+-]+(?:@[A-Za-z0-9.-]+\.[A-Za-z]{2,})?)")


class NoteRefused(ValueError):
    """A note that breaks a rule; `code` is stable, the message says what to change."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


# ------------------------------------------------------------------ text

def check_text(text: object) -> str:
    """The note's text, trimmed; refused when empty or oversized. Stored as plain text, never HTML."""
    if not isinstance(text, str) or not text.strip():
        raise NoteRefused("empty_note", "Write something in the note.")
    text = text.strip()
    if len(text) > MAX_TEXT:
        raise NoteRefused("note_too_long", f"A note holds at most {MAX_TEXT} characters; this one has {len(text)}.")
    if any(ord(c) < 32 and c not in "\n\t" for c in text):
        raise NoteRefused("bad_characters", "The note contains control characters.")
    return text


def mentioned(text: str, members: dict[str, str]) -> list[str]:
    """User ids @mentioned in the text, by e-mail (@ann@studio.example) or e-mail name (@ann).

    `members` maps each project member's e-mail to their user id; a mention of
    anyone else is plain text.
    """
    found: list[str] = []
    for _, user_id in _mentions(text, members):
        if user_id not in found:
            found.append(user_id)
    return found


def mention_handles(text: str, members: dict[str, str]) -> list[str]:
    """The handles (lower case, without '@') in the text that name a member: what pages highlight."""
    found: list[str] = []
    for handle, _ in _mentions(text, members):
        if handle not in found:
            found.append(handle)
    return found


def _mentions(text: str, members: dict[str, str]) -> list[tuple[str, str]]:
    by_handle: dict[str, str] = {}
    for email, user_id in members.items():
        by_handle[email.lower()] = user_id
        by_handle.setdefault(email.split("@", 1)[0].lower(), user_id)
    pairs = []
    for handle in _MENTION.findall(text):
        handle = handle.lower().rstrip(".")
        if handle in by_handle:
            pairs.append((handle, by_handle[handle]))
    return pairs


# ---------------------------------------------------------------- frames

def check_frames(frame: object, to_frame: object, frames: int) -> tuple[int, int | None]:
    """A frame inside the version (0 .. frames-1) and, for a range, an end not before it."""
    if not _is_int(frame):
        raise NoteRefused("bad_frame", "'frame' must be a whole frame number.")
    if frames > 0 and not 0 <= frame < frames:
        raise NoteRefused("frame_outside_version", f"Frame {frame} is outside the version (frames 0 to {frames - 1}).")
    if frame < 0:
        raise NoteRefused("frame_outside_version", "Frame numbers start at 0.")
    if to_frame is None:
        return frame, None
    if not _is_int(to_frame):
        raise NoteRefused("bad_frame", "'to_frame' must be a whole frame number.")
    if to_frame < frame:
        raise NoteRefused("range_backwards", f"The range ends at frame {to_frame}, before it starts ({frame}).")
    if frames > 0 and to_frame >= frames:
        raise NoteRefused("frame_outside_version", f"Frame {to_frame} is outside the version (frames 0 to {frames - 1}).")
    return frame, (to_frame if to_frame != frame else None)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# --------------------------------------------------------------- drawing

def check_drawing(shapes: object) -> list[dict]:
    """Vector shapes in frame-normalised coordinates; returns them cleaned (only known keys)."""
    if shapes is None:
        return []
    if not isinstance(shapes, list):
        raise NoteRefused("bad_drawing", "'drawing' must be a list of shapes.")
    if len(shapes) > MAX_SHAPES:
        raise NoteRefused("drawing_too_big", f"A drawing holds at most {MAX_SHAPES} shapes; this one has {len(shapes)}.")
    return [_check_shape(i, shape) for i, shape in enumerate(shapes)]


def _check_shape(i: int, shape: object) -> dict:
    where = f"shape {i + 1}"
    if not isinstance(shape, dict) or shape.get("tool") not in TOOLS:
        raise NoteRefused("bad_drawing", f"{where}: 'tool' must be one of {', '.join(TOOLS)}.")
    tool = shape["tool"]
    clean: dict = {"tool": tool, "color": _colour(where, shape.get("color", "#F22237")),
                   "size": _size(where, shape.get("size", 4))}
    if tool in ("rect", "ellipse"):
        for key in ("x", "y", "w", "h"):
            clean[key] = _unit(where, key, shape.get(key))
        if clean["x"] + clean["w"] > 1.0001 or clean["y"] + clean["h"] > 1.0001:
            raise NoteRefused("bad_drawing", f"{where}: the shape runs off the frame.")
    elif tool in ("arrow", "line"):
        for key in ("x1", "y1", "x2", "y2"):
            clean[key] = _unit(where, key, shape.get(key))
    elif tool == "freehand":
        points = shape.get("points")
        if not isinstance(points, list) or not 1 <= len(points) <= MAX_POINTS:
            raise NoteRefused("bad_drawing", f"{where}: a stroke has 1 to {MAX_POINTS} points.")
        clean["points"] = [_point(where, p) for p in points]
    elif tool == "text":
        clean["x"], clean["y"] = _unit(where, "x", shape.get("x")), _unit(where, "y", shape.get("y"))
        text = shape.get("text")
        if not isinstance(text, str) or not text.strip() or len(text) > MAX_SHAPE_TEXT:
            raise NoteRefused("bad_drawing", f"{where}: text of 1 to {MAX_SHAPE_TEXT} characters.")
        clean["text"] = text.strip()
    return clean


def _unit(where: str, key: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
        raise NoteRefused("bad_drawing", f"{where}: '{key}' must be between 0 and 1 (a fraction of the frame).")
    return round(float(value), 5)


def _point(where: str, point: object) -> list[float]:
    if not isinstance(point, (list, tuple)) or len(point) != 2:
        raise NoteRefused("bad_drawing", f"{where}: each point is [x, y].")
    return [_unit(where, "x", point[0]), _unit(where, "y", point[1])]


def _colour(where: str, value: object) -> str:
    if not isinstance(value, str) or not _COLOUR.match(value):
        raise NoteRefused("bad_drawing", f"{where}: 'color' must look like #F22237.")
    return value.upper()


def _size(where: str, value: object) -> int:
    if not _is_int(value) or not 1 <= value <= 64:
        raise NoteRefused("bad_drawing", f"{where}: 'size' must be 1 to 64.")
    return value


# ------------------------------------------------------- revisions, views

@dataclass(frozen=True)
class Revision:
    """One state of a note. Edits and status changes add revisions; nothing is overwritten."""

    note_id: str
    number: int  # 1, 2, 3 … per note, decided by a unique insert
    text: str
    status: str
    visibility: str
    drawing: tuple = ()
    by: str = ""
    at: str = ""
    mentions: tuple = ()  # user ids the text mentions
    mention_handles: tuple = ()


def current(revisions: list[Revision]) -> Revision:
    """The note as it reads now: its highest revision."""
    return max(revisions, key=lambda r: r.number)


def visible_to(visibility: str, audience: str) -> bool:
    """Whether a note of this visibility reaches this audience (`team` or `client`)."""
    if audience == "team":
        return True
    if audience == "client":
        return visibility == "client"
    raise ValueError(f"unknown audience {audience!r}")


def visible_notes(notes: list[dict], audience: str) -> list[dict]:
    """The notes (and replies) an audience may see; an internal note takes its whole thread with it."""
    shown = []
    for note in notes:
        if not visible_to(note["visibility"], audience):
            continue
        replies = [r for r in note.get("replies", []) if visible_to(r["visibility"], audience)]
        shown.append({**note, "replies": replies})
    return shown


def check_status(status: object) -> str:
    if status not in STATUSES:
        raise NoteRefused("bad_status", f"'status' must be one of {', '.join(STATUSES)}.")
    return status


def check_visibility(visibility: object) -> str:
    if visibility not in VISIBILITIES:
        raise NoteRefused("bad_visibility", f"'visibility' must be one of {', '.join(VISIBILITIES)}.")
    return visibility
