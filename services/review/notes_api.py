"""The team's notes API (signed-in members): pin notes to frames, reply, edit,
change status, read the history, export for the editor.

    /api/v1/review/versions/<version_id>/notes          GET list, POST add
    /api/v1/review/notes/<note_id>/replies               POST
    /api/v1/review/notes/<note_id>/revisions             POST (edit text or drawing)
    /api/v1/review/notes/<note_id>/status                POST
    /api/v1/review/notes/<note_id>/history               GET
    /api/v1/review/versions/<version_id>/notes/export    GET ?format=csv|edl|avid|fcp7|otio|pdf

Access is ingest's to decide: the version is fetched from ingest's API with
the caller's own token, so a non-member gets ingest's 404 here too. Routes
are thin; the rules are in notes_rules, the records in notes_store.
"""
from __future__ import annotations

from flask import Blueprint, Response, g, jsonify, request

from services.common.events import NoteAdded, NoteReplied, event_id_for
from services.common.web import ApiError, json_body

from . import approval_locks, markers, notes_store
from .ingest_client import IngestClient, IngestNotFound
from .notes_rules import (NoteRefused, check_drawing, check_frames, check_status, check_text, check_visibility,
                          mention_handles, mentioned)

EXPORT_NAMES = {"csv": "csv", "edl": "edl", "avid": "txt", "fcp7": "xml", "otio": "otio", "pdf": "pdf"}


def notes_blueprint(db, ingest: IngestClient, stills=None) -> Blueprint:
    bp = Blueprint("notes_api", __name__)

    def version_of(version_id: str) -> dict:
        try:
            return ingest.version(g.session_token, version_id)
        except IngestNotFound:
            raise ApiError(404, "unknown_version", f"There is no version {version_id!r}.") from None

    def note_of(note_id: str) -> tuple[dict, dict]:
        note = notes_store.get_note(db, note_id)
        if note is None:
            raise ApiError(404, "unknown_note", f"There is no note {note_id!r}.")
        try:
            return note, version_of(note["version_id"])
        except ApiError:
            raise ApiError(404, "unknown_note", f"There is no note {note_id!r}.") from None

    def author() -> dict:
        return {"name": g.user.name or g.user.email, "email": g.user.email, "user_id": g.user.id}

    @bp.errorhandler(NoteRefused)
    def refused(err: NoteRefused):
        return jsonify({"error": err.code, "message": err.message}), 400

    @bp.get("/api/v1/review/versions/<version_id>/notes")
    def list_notes(version_id):
        version_of(version_id)
        return jsonify({"notes": notes_store.notes_of_version(db, version_id)})

    @bp.post("/api/v1/review/versions/<version_id>/notes")
    def add_note(version_id):
        body = json_body()
        version = version_of(version_id)
        who = author()
        view, created = new_note(db, version, body, who, who["user_id"],
                                 members=lambda: members_of(ingest, g.session_token, version["project_id"]))
        return jsonify(view), 201 if created else 200

    @bp.post("/api/v1/review/notes/<note_id>/replies")
    def reply(note_id):
        body = json_body()
        parent, version = note_of(note_id)
        who = author()
        view, created = new_reply(db, parent, body, who, who["user_id"],
                                  members=lambda: members_of(ingest, g.session_token, version["project_id"]))
        return jsonify(view), 201 if created else 200

    @bp.post("/api/v1/review/notes/<note_id>/revisions")
    def edit(note_id):
        body = json_body()
        note, _ = note_of(note_id)
        if note["author"].get("user_id") != g.user.id and not g.user.is_admin:
            raise ApiError(403, "not_your_note", "Only its author can edit a note; reply to it instead.")
        return jsonify(edit_note(db, note, body, by=author()["name"],
                                 members=lambda: members_of(ingest, g.session_token, note["project_id"]))), 201

    @bp.post("/api/v1/review/notes/<note_id>/status")
    def set_status(note_id):
        body = json_body()
        note, _ = note_of(note_id)
        view, changed = change_status(db, note, body, by=author()["name"])
        return jsonify(view), 201 if changed else 200

    @bp.get("/api/v1/review/notes/<note_id>/history")
    def history(note_id):
        note_of(note_id)
        return jsonify({"revisions": revisions_view(db, note_id)})

    @bp.get("/api/v1/review/versions/<version_id>/notes/export")
    def export(version_id):
        version = version_of(version_id)
        fmt = request.args.get("format", "csv")
        if fmt not in EXPORT_NAMES:
            raise ApiError(400, "bad_format", f"'format' is one of {', '.join(EXPORT_NAMES)}.")
        notes = notes_store.notes_of_version(db, version_id)
        body, mimetype = export_file(version, notes, fmt, stills)
        filename = f"{version['asset_name']} v{version['number']} notes.{EXPORT_NAMES[fmt]}"
        return Response(body, mimetype=mimetype,
                        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{_quote(filename)}"})

    return bp


# Shared by the team's routes and the link reviewers' (link_reviewer_api):
# one way to check, store and record a note, whoever writes it.

def members_of(ingest: IngestClient, token: str | None, project_id: str) -> dict[str, str]:
    """Project members' e-mail → user id, for @mentions (token None: asked as the read-only service)."""
    try:
        found = ingest.get(token, f"/api/v1/projects/{project_id}/members").get("members", [])
    except Exception:  # mentions are a courtesy; a note never fails over them
        return {}
    return {m["email"]: m["user_id"] for m in found if m.get("email") and m.get("user_id")}


def idempotency_key(body: dict) -> str:
    key = request.headers.get("Idempotency-Key") or body.get("idempotency_key")
    if key is None:
        return notes_store.new_key()
    if not isinstance(key, str) or not 8 <= len(key) <= 128:
        raise ApiError(400, "bad_idempotency_key", "An idempotency key is 8 to 128 characters.")
    return key


def new_note(db, version: dict, body: dict, who: dict, author_key: str, members,
             link_id: str | None = None, visibility: str | None = None) -> tuple[dict, bool]:
    """Check and store a note on `version` by `who` ({name, email, user_id}); (view, created).

    `members()` gives the project's members for @mentions; `visibility`, when
    given, overrides the body's (a client link's notes are client notes)."""
    facts = version.get("facts") or {}
    frame, to_frame = check_frames(body.get("frame"), body.get("to_frame"), int(facts.get("frames") or 0))
    text = check_text(body.get("text"))
    drawing = check_drawing(body.get("drawing"))
    visibility = visibility or check_visibility(body.get("visibility", "client"))
    key = idempotency_key(body)
    clock = markers.Clock.from_facts(facts)
    note_id = notes_store.note_id_for(author_key, key)
    team = members()
    mentions, handles = mentioned(text, team), mention_handles(text, team)
    version_id = version["id"]
    note = {"_id": note_id, "project_id": version["project_id"], "asset_id": version["asset_id"],
            "version_id": version_id, "parent_id": None, "frame": frame, "to_frame": to_frame,
            "timecode": clock.timecode(frame), "to_timecode": clock.timecode(to_frame) if to_frame is not None else None,
            "text": text, "status": "open", "visibility": visibility, "drawing": drawing, "author": who,
            "mentions": mentions, "mention_handles": handles, "link_id": link_id,
            "post_approval": approval_locks.mark_for_new_note(version)}
    event = NoteAdded(event_id=event_id_for("note_added", note_id), project_id=version["project_id"],
                      note_id=note_id, asset_id=version["asset_id"], version_id=version_id, frame=frame,
                      to_frame=to_frame, timecode=note["timecode"], text=text, visibility=visibility,
                      author_name=who["name"], author_email=who["email"], author_user_id=who["user_id"],
                      link_id=link_id, mentions=mentions, has_drawing=bool(drawing))
    stored, created = notes_store.add_note(db, note, event)
    return notes_store.note_view(db, stored["_id"]), created


def new_reply(db, parent: dict, body: dict, who: dict, author_key: str, members,
              link_id: str | None = None, visibility: str | None = None) -> tuple[dict, bool]:
    """Check and store a reply in `parent`'s thread; (view, created). Arguments as for new_note."""
    if parent.get("parent_id"):
        raise ApiError(400, "reply_to_reply", "Reply to the note itself; threads are one level deep.")
    text = check_text(body.get("text"))
    parent_visibility = notes_store.current_revision(db, parent["_id"]).visibility
    visibility = visibility or check_visibility(body.get("visibility", parent_visibility))
    if parent_visibility == "internal" and visibility == "client":
        raise ApiError(400, "internal_thread", "This note is internal; its replies are internal too.")
    reply_id = notes_store.note_id_for(author_key, idempotency_key(body))
    team = members()
    mentions, handles = mentioned(text, team), mention_handles(text, team)
    doc = {"_id": reply_id, "project_id": parent["project_id"], "asset_id": parent["asset_id"],
           "version_id": parent["version_id"], "parent_id": parent["_id"], "frame": parent["frame"],
           "to_frame": parent.get("to_frame"), "timecode": parent["timecode"], "text": text, "status": "open",
           "visibility": visibility, "drawing": [], "author": who, "mentions": mentions, "mention_handles": handles,
           "link_id": link_id,
           "post_approval": approval_locks.mark_for_new_note({"project_id": parent["project_id"],
                                                               "id": parent["version_id"]})}
    event = NoteReplied(event_id=event_id_for("note_replied", reply_id), project_id=parent["project_id"],
                        note_id=reply_id, parent_note_id=parent["_id"], asset_id=parent["asset_id"],
                        version_id=parent["version_id"], text=text, visibility=visibility,
                        author_name=who["name"], author_email=who["email"], author_user_id=who["user_id"],
                        link_id=link_id, mentions=mentions)
    stored, created = notes_store.add_note(db, doc, event)
    return notes_store.note_view(db, stored["_id"]), created


def edit_note(db, note: dict, body: dict, by: str, members) -> dict:
    """A new revision of a note's text and/or drawing (the caller checked it is theirs); the note's view.
    New text is read again for @mentions: who it newly mentions hears of it through the event."""
    approval_locks.ensure_note_may_change(note)
    change = {}
    if "text" in body:
        change["text"] = check_text(body["text"])
        team = members()
        change["mentions"] = tuple(mentioned(change["text"], team))
        change["mention_handles"] = tuple(mention_handles(change["text"], team))
    if "drawing" in body:
        change["drawing"] = check_drawing(body["drawing"])
    if not change:
        raise ApiError(400, "nothing_to_change", "Send 'text' and/or 'drawing'.")
    notes_store.add_revision(db, note["_id"], change, by=by, event_for=notes_store.edit_event(note, by))
    return notes_store.note_view(db, note["_id"])


def change_status(db, note: dict, body: dict, by: str) -> tuple[dict, bool]:
    """Set a note's status as a new revision with its event; (view, changed). The same status is no change."""
    status = check_status(body.get("status"))
    if notes_store.current_revision(db, note["_id"]).status == status:
        return notes_store.note_view(db, note["_id"]), False
    approval_locks.ensure_note_may_change(note)
    notes_store.add_revision(db, note["_id"], {"status": status}, by=by,
                             event_for=notes_store.status_event(note, by))
    return notes_store.note_view(db, note["_id"]), True


def revisions_view(db, note_id: str) -> list[dict]:
    """A note's revisions, oldest first, as the history view shows them."""
    return [r.__dict__ | {"drawing": list(r.drawing)} for r in notes_store.history(db, note_id)]


def export_file(version: dict, notes: list[dict], fmt: str, stills=None) -> tuple[bytes | str, str]:
    """One export of a version's notes (as the audience may see them): (body, mimetype)."""
    notes = [approval_locks.flagged_for_export(n) for n in notes]
    facts = version.get("facts") or {}
    clock = markers.Clock.from_facts(facts)
    title = f"{version['asset_name']} v{version['number']}"
    frames = int(facts.get("frames") or 1)
    marker_notes = [markers.MarkerNote(n["note_id"], n["frame"], n["text"], n["author_name"], n["status"],
                                       n.get("to_frame")) for n in notes]
    try:
        if fmt == "csv":
            return markers.to_csv(marker_notes, clock), "text/csv"
        if fmt == "edl":
            return markers.to_resolve_edl(marker_notes, clock, title), "text/plain"
        if fmt == "avid":
            return markers.to_avid_locators(marker_notes, clock), "text/plain"
        if fmt == "fcp7":
            return markers.to_fcp7_xml(marker_notes, clock, title, frames, version["filename"]), "application/xml"
        if fmt == "otio":
            return markers.to_otio(marker_notes, clock, title, frames, version["filename"]), "application/json"
    except markers.ExportRefused as err:
        raise ApiError(422, "export_refused", str(err)) from None
    from .notes_pdf import notes_pdf  # reportlab is only loaded for PDFs

    width, height = int(facts.get("width") or 16), int(facts.get("height") or 9)
    pictures = stills(version, notes) if stills else {}
    return notes_pdf(f"{title} — notes", version.get("project_name", ""), notes, pictures, width / height), "application/pdf"


def _quote(name: str) -> str:
    from urllib.parse import quote

    return quote(name, safe="")
