"""Notes are append-only on the real FerretDB: a retried note lands once with
one event, racing edits all survive in order, status changes are events."""
from __future__ import annotations

import concurrent.futures
import uuid

import pytest

from services.common.events import NoteAdded, NoteReplied, event_id_for
from services.common.mongo import ensure_indexes
from services.common.outbox import outbox_collection
from services.review import notes_store


@pytest.fixture
def version_id(db):
    ensure_indexes(db, notes_store.INDEXES)
    return f"v-{uuid.uuid4().hex[:8]}"


def a_note(version_id: str, key: str, frame: int = 10, parent: str | None = None, visibility: str = "client"):
    note_id = notes_store.note_id_for("ann@agency.example", f"{version_id}:{key}")
    note = {"_id": note_id, "project_id": "p1", "asset_id": "a1", "version_id": version_id, "parent_id": parent,
            "frame": frame, "to_frame": None, "timecode": "01:00:00:10", "text": f"note {key}", "status": "open",
            "visibility": visibility, "drawing": [], "author": {"name": "Ann", "email": "ann@agency.example"}}
    if parent:
        event = NoteReplied(event_id=event_id_for("note_replied", note_id), project_id="p1", note_id=note_id,
                            parent_note_id=parent, asset_id="a1", version_id=version_id, text=note["text"],
                            visibility=visibility, author_name="Ann", author_email="ann@agency.example")
    else:
        event = NoteAdded(event_id=event_id_for("note_added", note_id), project_id="p1", note_id=note_id,
                          asset_id="a1", version_id=version_id, frame=frame, to_frame=None,
                          timecode="01:00:00:10", text=note["text"], visibility=visibility, author_name="Ann",
                          author_email="ann@agency.example")
    return note, event


def events_about(db, note_id: str, kind: str) -> list[dict]:
    return list(db[outbox_collection("review")].find({"body.note_id": note_id, "routing_key": kind}))


def test_a_retried_note_is_stored_once_with_one_event(db, version_id):
    note, event = a_note(version_id, "k1")
    _, created = notes_store.add_note(db, note, event)
    again, created_again = notes_store.add_note(db, *a_note(version_id, "k1"))
    assert created and not created_again and again["_id"] == note["_id"]
    assert db.notes.count_documents({"version_id": version_id}) == 1
    assert len(events_about(db, note["_id"], "note_added")) == 1


def test_racing_edits_all_land_as_numbered_revisions(db, version_id):
    note, event = a_note(version_id, "race")
    notes_store.add_note(db, note, event)

    def edit(i: int):
        return notes_store.add_revision(db, note["_id"], {"text": f"edit {i}"}, by=f"editor {i}").number

    with concurrent.futures.ThreadPoolExecutor(10) as pool:
        numbers = sorted(pool.map(edit, range(10)))
    assert numbers == list(range(2, 12))
    revisions = notes_store.history(db, note["_id"])
    assert [r.number for r in revisions] == list(range(1, 12))
    assert revisions[0].text == "note race"
    assert sorted(r.text for r in revisions[1:]) == sorted(f"edit {i}" for i in range(10))
    assert notes_store.current_revision(db, note["_id"]).text == revisions[-1].text


def test_status_changes_are_revisions_with_events_and_the_thread_reads_in_order(db, version_id):
    later, e1 = a_note(version_id, "later", frame=50)
    first, e2 = a_note(version_id, "first", frame=5)
    notes_store.add_note(db, later, e1)
    notes_store.add_note(db, first, e2)
    reply, e3 = a_note(version_id, "reply", parent=first["_id"])
    notes_store.add_note(db, reply, e3)
    notes_store.add_revision(db, first["_id"], {"status": "resolved"}, by="Ed",
                             event_for=notes_store.status_event(first, "Ed"))
    shown = notes_store.notes_of_version(db, version_id)
    assert [n["note_id"] for n in shown] == [first["_id"], later["_id"]]
    assert shown[0]["status"] == "resolved" and shown[0]["edited"] and shown[0]["text"] == "note first"
    assert [r["note_id"] for r in shown[0]["replies"]] == [reply["_id"]]
    changed = events_about(db, first["_id"], "note_status_changed")
    assert len(changed) == 1
    assert changed[0]["body"]["status"] == "resolved" and changed[0]["body"]["previous_status"] == "open"
