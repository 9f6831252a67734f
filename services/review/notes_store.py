"""Notes in MongoDB, append-only: review's adapter for the `notes` and
`note_revisions` collections.

A note (or a reply) is one immutable document: where it is pinned, who wrote
it, and its first text. Every edit or status change is a new revision,
numbered 2, 3 … per note by an insert against the unique `_id`
`<note_id>:<number>`, so two people editing at once both land, in an order,
and nothing is overwritten (FerretDB loses concurrent updates; inserts hold).

Ids come from the writer's idempotency key, so a client that retries after
a lost answer lands on the same note and the same event.
"""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

from pymongo.database import Database

from services.common.events import NoteAdded, NoteEdited, NoteReplied, NoteStatusChanged, event_id_for
from services.common.mongo import ASC, Index, insert_unique
from services.common.outbox import outbox_indexes, record_event

from .notes_rules import Revision, current

INDEXES = [
    Index("notes", (("version_id", ASC), ("created_at", ASC))),
    Index("notes", (("parent_id", ASC), ("created_at", ASC))),
    Index("note_revisions", (("note_id", ASC), ("number", ASC))),
    *outbox_indexes("review"),
]
MAX_REVISION_RACES = 20


def now() -> datetime:
    return datetime.now(timezone.utc)


def note_id_for(author_key: str, idempotency_key: str) -> str:
    """The same writer sending the same key gets the same note id."""
    return event_id_for("note", author_key, idempotency_key)


def new_key() -> str:
    """An idempotency key for a writer that sent none (its retries may then repeat the note)."""
    return uuid.uuid4().hex


def add_note(db: Database, note: dict, event: NoteAdded | NoteReplied) -> tuple[dict, bool]:
    """Store a note or reply (revision 1 lives in the note itself), then its event.

    Returns (note, created). A retry of the same note finds it stored and
    still records the event, in case the first attempt died in between.
    """
    created = insert_unique(db.notes, {**note, "drawing": _drawing_to_store(note.get("drawing")),
                                       "created_at": note.get("created_at") or now()})
    record_event(db, event)
    return db.notes.find_one({"_id": note["_id"]}), created


def add_revision(db: Database, note_id: str, change: dict, by: str, event_for=None) -> Revision:
    """Append a revision on top of the current one; `change` holds the fields that change.

    The number is decided by the unique insert; a racer that loses re-reads
    and applies its change on top of the winner's, so both changes survive
    in history and the later one reads as current.
    """
    for _ in range(MAX_REVISION_RACES):
        latest = current_revision(db, note_id)
        doc = {
            "_id": f"{note_id}:{latest.number + 1}", "note_id": note_id, "number": latest.number + 1,
            "text": change.get("text", latest.text), "status": change.get("status", latest.status),
            "visibility": latest.visibility, "drawing": _drawing_to_store(change.get("drawing", latest.drawing)),
            "mentions": list(change.get("mentions", latest.mentions)),
            "mention_handles": list(change.get("mention_handles", latest.mention_handles)),
            "by": by, "at": now().isoformat(),
        }
        if insert_unique(db.note_revisions, doc):
            revision = _revision(doc)
            if event_for is not None:
                record_event(db, event_for(latest, revision))
            return revision
    raise RuntimeError(f"note {note_id}: {MAX_REVISION_RACES} edits raced; try again")


def current_revision(db: Database, note_id: str) -> Revision:
    note = db.notes.find_one({"_id": note_id})
    if note is None:
        raise KeyError(note_id)
    return current([_first_revision(note), *(_revision(r) for r in db.note_revisions.find({"note_id": note_id}))])


def history(db: Database, note_id: str) -> list[Revision]:
    """Every revision of a note, oldest first."""
    note = db.notes.find_one({"_id": note_id})
    if note is None:
        raise KeyError(note_id)
    later = [_revision(r) for r in db.note_revisions.find({"note_id": note_id})]
    return sorted([_first_revision(note), *later], key=lambda r: r.number)


def notes_of_version(db: Database, version_id: str) -> list[dict]:
    """Every note of a version as it reads now, with its replies, in frame order."""
    docs = list(db.notes.find({"version_id": version_id}))
    revisions: dict[str, list[Revision]] = {d["_id"]: [_first_revision(d)] for d in docs}
    for r in db.note_revisions.find({"note_id": {"$in": list(revisions)}}):
        revisions[r["note_id"]].append(_revision(r))
    views = {d["_id"]: _view(d, current(revisions[d["_id"]]), len(revisions[d["_id"]])) for d in docs}
    top = [v for v in views.values() if not v["parent_id"]]
    for v in views.values():
        if v["parent_id"] in views:
            views[v["parent_id"]]["replies"].append(v)
    for v in top:
        v["replies"].sort(key=lambda r: r["created_at"])
    return sorted(top, key=lambda v: (v["frame"], v["created_at"]))


def get_note(db: Database, note_id: str) -> dict | None:
    return db.notes.find_one({"_id": note_id})


def note_view(db: Database, note_id: str) -> dict:
    """One note (or reply) as it reads now, with its replies."""
    note = db.notes.find_one({"_id": note_id})
    if note is None:
        raise KeyError(note_id)
    revisions = history(db, note_id)
    view = _view(note, revisions[-1], len(revisions))
    if not note.get("parent_id"):
        view["replies"] = [note_view(db, r["_id"]) for r in db.notes.find({"parent_id": note_id}).sort("created_at", ASC)]
    return view


def edit_event(note: dict, edited_by: str):
    """The event an edit records; it names who the edit newly mentions, so they hear of it."""
    def build(before: Revision, after: Revision) -> NoteEdited:
        return NoteEdited(
            event_id=event_id_for("note_edited", after.note_id, str(after.number)), project_id=note["project_id"],
            note_id=note["_id"], parent_note_id=note.get("parent_id"), asset_id=note["asset_id"],
            version_id=note["version_id"], revision=after.number, text=after.text, visibility=after.visibility,
            edited_by=edited_by, link_id=note.get("link_id"), mentions=list(after.mentions),
            new_mentions=[m for m in after.mentions if m not in before.mentions])
    return build


def status_event(note: dict, changed_by: str):
    """The event a status change records, built from the revisions it sits between."""
    def build(before: Revision, after: Revision) -> NoteStatusChanged:
        return NoteStatusChanged(
            event_id=event_id_for("note_status", after.note_id, str(after.number)), project_id=note["project_id"],
            note_id=note["_id"], asset_id=note["asset_id"], version_id=note["version_id"], status=after.status,
            previous_status=before.status, visibility=after.visibility, changed_by=changed_by)
    return build


def _first_revision(note: dict) -> Revision:
    return Revision(note["_id"], 1, note["text"], note.get("status", "open"), note["visibility"],
                    _drawing_from_store(note.get("drawing")), note["author"]["name"], note["created_at"].isoformat(),
                    tuple(note.get("mentions", ())), tuple(note.get("mention_handles", ())))


def _revision(doc: dict) -> Revision:
    return Revision(doc["note_id"], doc["number"], doc["text"], doc["status"], doc["visibility"],
                    _drawing_from_store(doc.get("drawing")), doc.get("by", ""), doc.get("at", ""),
                    tuple(doc.get("mentions", ())), tuple(doc.get("mention_handles", ())))


def _drawing_to_store(shapes) -> list[dict]:
    # FerretDB refuses nested arrays, so a freehand stroke's [x, y] points are stored as {"x", "y"}.
    return [{**s, "points": [{"x": x, "y": y} for x, y in s["points"]]} if "points" in s else dict(s)
            for s in shapes or ()]


def _drawing_from_store(shapes) -> tuple:
    return tuple({**s, "points": [[p["x"], p["y"]] for p in s["points"]]} if "points" in s else s
                 for s in shapes or ())


def _view(note: dict, now_reads: Revision, revisions: int) -> dict:
    return {
        "note_id": note["_id"], "version_id": note["version_id"], "parent_id": note.get("parent_id"),
        "frame": note.get("frame"), "to_frame": note.get("to_frame"), "timecode": note.get("timecode"),
        "to_timecode": note.get("to_timecode"),
        "text": now_reads.text, "status": now_reads.status, "visibility": now_reads.visibility,
        "drawing": list(now_reads.drawing), "author_name": note["author"]["name"],
        "author_email": note["author"]["email"], "link_id": note.get("link_id"),
        "mentions": list(now_reads.mentions), "mention_handles": list(now_reads.mention_handles),
        "created_at": note["created_at"].isoformat(),
        "edited": revisions > 1, "revisions": revisions, "replies": [],
        # added after the version's gate closed: the record of a retroactive request
        "post_approval_scope_change": bool(note.get("post_approval")), "post_approval": note.get("post_approval"),
    }
