"""What a reviewer without an account does through a link (the link's token,
its password if set, a name and an e-mail → a viewing session):

    GET  /l/<token>                                           the link page: form, then the player
    POST /l/<token>                                           the form (same checks as the API)
    POST /api/v1/review/links/<token>/sessions                {name, email, password?} → session cookie
    GET  /api/v1/review/link-sessions/<link_id>/playback      fresh short-lived CDN URLs (410 once closed)
    GET  /api/v1/review/link-sessions/<link_id>/version       the version's status for the player
    GET  /api/v1/review/link-sessions/<link_id>/stills/<n>    frame n from the master (stills_api)
    GET  /api/v1/review/link-sessions/<link_id>/notes         the notes this link's audience may see
    POST /api/v1/review/link-sessions/<link_id>/notes         a note (if the link allows comments)
    POST /api/v1/review/link-sessions/<link_id>/notes/<note_id>/replies
    POST /api/v1/review/link-sessions/<link_id>/notes/<note_id>/status     (if the link allows comments)
    POST /api/v1/review/link-sessions/<link_id>/notes/<note_id>/revisions  (their own notes, ditto)
    GET  /api/v1/review/link-sessions/<link_id>/notes/<note_id>/history
    POST /api/v1/review/link-sessions/<link_id>/download      a short-lived URL of the proxy MP4 (if allowed; logged)
    POST /api/v1/review/link-sessions/<link_id>/progress      {ranges: [[first, last], …], ended?} played

The session secret lives in an HttpOnly cookie named after the link, so a
session opens only its own link, and reviews of two links sit side by side.
Every call checks the link again: revoked or expired is 410 from that moment.
"""
from __future__ import annotations

from flask import Blueprint, jsonify, make_response, redirect, render_template, request

from services.common import cdn
from services.common.web import CSRF_HEADER, ApiError, json_body, public

from . import approval_locks, links, links_store, notes_store
from .ingest_client import IngestClient, IngestNotFound
from .link_rules import LinkRefused, audience, ensure_live, ensure_may_comment, ensure_may_download, is_reviewers_own
from .links_api import refused_response
from .notes_api import change_status, edit_note, members_of, new_note, new_reply, revisions_view
from .notes_rules import NoteRefused, visible_notes, visible_to
from .pages import harden, link_notes_config, player_config
from .stills_api import frame_number, still_answer
from .watching import BadRanges, check_ranges, merge_ranges


def cookie_name(link_id: str) -> str:
    return f"framegate_link_{link_id}"


def link_reviewer_blueprint(settings, db, ingest: IngestClient, stills=None) -> Blueprint:
    bp = Blueprint("link_reviewer", __name__, template_folder="templates")
    secure_cookie = settings.public_url.startswith("https://")
    harden(bp, settings)
    bp.register_error_handler(LinkRefused, refused_response)

    @bp.errorhandler(NoteRefused)
    def note_refused(err: NoteRefused):
        return jsonify({"error": err.code, "message": err.message}), 400

    def client_ip() -> str:
        return request.remote_addr or ""

    def set_session_cookie(response, link: dict, secret: str) -> None:
        response.set_cookie(cookie_name(link["_id"]), secret, httponly=True, samesite="Lax",
                            secure=secure_cookie, path="/")

    def reviewer_session(link_id: str) -> tuple[dict, dict]:
        """(link, session) for this request's cookie; 401 without one, 410 once the link is closed."""
        link = links_store.get_link(db, link_id)
        session = links_store.session_for(db, link_id, request.cookies.get(cookie_name(link_id), "")) if link else None
        if session is None:
            raise LinkRefused(401, "no_link_session", "Open the review link first (name and e-mail).")
        ensure_live(link, links.now())
        approval_locks.ensure_link_project_live(link)
        if request.method != "GET" and not request.headers.get(CSRF_HEADER):
            raise LinkRefused(403, "csrf_required", f"Send the {CSRF_HEADER} header.")
        return link, session

    def version_for(session: dict) -> dict:
        try:
            return ingest.version(None, session["version_id"])
        except IngestNotFound:
            raise LinkRefused(404, "nothing_to_watch", "The version on this link is gone.") from None

    def reviewer(session: dict) -> dict:
        return {"name": session["name"], "email": session["email"], "user_id": None}

    def visible_note(link: dict, session: dict, note_id: str) -> dict:
        """A note of this session's version that the link's audience may see; 404 for any other."""
        note = notes_store.get_note(db, note_id)
        if (note is None or note["version_id"] != session["version_id"] or not visible_to(
                notes_store.current_revision(db, note_id).visibility, audience(link))):
            raise ApiError(404, "unknown_note", f"There is no note {note_id!r}.")
        return note

    def notes_for(link: dict, version_id: str) -> list[dict]:
        return visible_notes(notes_store.notes_of_version(db, version_id), audience(link))

    # The page -----------------------------------------------------------------
    @bp.get("/l/<token>")
    @public
    def page(token):
        link = links_store.link_by_token(db, token)
        if link is None:
            return make_response(render_template("not_found.html"), 404)
        try:
            ensure_live(link, links.now())
            approval_locks.ensure_link_project_live(link)
        except LinkRefused as err:
            return make_response(render_template("link.html", link=link, gone=err.message), err.status)
        session = links_store.session_for(db, link["_id"], request.cookies.get(cookie_name(link["_id"]), ""))
        if session is None:
            return render_template("link.html", link=link, name="", email="", error=None, gone=None)
        version = version_for(session)
        player = player_config(settings, version) | {
            "version_url": f"/api/v1/review/link-sessions/{link['_id']}/version",
            "playback_url": f"/api/v1/review/link-sessions/{link['_id']}/playback",
            "progress_url": f"/api/v1/review/link-sessions/{link['_id']}/progress",
        } | ({"stills_url": f"/api/v1/review/link-sessions/{link['_id']}/stills/"} if stills else {})
        # The team's notes panel, on this link session's notes API (it lists only this link's audience's notes).
        return render_template("link_player.html", link=link, session=session, version=version,
                               project={"id": link["project_id"], "name": link["stage"]}, player=player,
                               notes=link_notes_config(version, link, session),
                               gate=approval_locks.gate_for_link(link, session["version_id"]))

    @bp.post("/l/<token>")
    @public
    def page_form(token):
        link = links_store.link_by_token(db, token)
        if link is None:
            return make_response(render_template("not_found.html"), 404)
        form = request.form
        try:
            _, secret = links.open_session(db, ingest, link, {"name": form.get("name"), "email": form.get("email"),
                                                              "password": form.get("password")},
                                           client_ip(), request.headers.get("User-Agent", ""), settings)
        except LinkRefused as err:
            gone = err.message if err.status == 410 else None
            return make_response(render_template("link.html", link=link, name=form.get("name", ""),
                                                 email=form.get("email", ""), error=err.message, gone=gone),
                                 err.status)
        response = redirect(request.path, 303)
        set_session_cookie(response, link, secret)
        return response

    # The API ------------------------------------------------------------------
    @bp.post("/api/v1/review/links/<token>/sessions")
    @public
    def open_session(token):
        body = json_body()
        link = links.live_link(db, token)
        session, secret = links.open_session(db, ingest, link, body, client_ip(),
                                             request.headers.get("User-Agent", ""), settings)
        response = jsonify({"session_id": session["_id"], "link_id": link["_id"], "kind": link["kind"],
                            "stage": link["stage"], "brief": link["brief"], "version_id": session["version_id"],
                            "comments": link["comments"], "download": link["download"],
                            "api": f"/api/v1/review/link-sessions/{link['_id']}"})
        set_session_cookie(response, link, secret)
        return response, 201

    @bp.get("/api/v1/review/link-sessions/<link_id>/playback")
    @public
    def playback(link_id):
        link, session = reviewer_session(link_id)
        return jsonify(cdn.playback_grant(settings, link["project_id"], session["version_id"]))

    @bp.get("/api/v1/review/link-sessions/<link_id>/version")
    @public
    def version(link_id):
        _, session = reviewer_session(link_id)
        found = version_for(session)
        keep = ("id", "asset_name", "number", "status", "progress", "failure", "renditions", "filename", "facts")
        return jsonify({k: found.get(k) for k in keep})

    @bp.get("/api/v1/review/link-sessions/<link_id>/stills/<frame>")
    @public
    def still(link_id, frame):
        _, session = reviewer_session(link_id)
        if stills is None:
            raise ApiError(404, "no_stills", "This server cuts no stills.")
        return still_answer(settings, stills, version_for(session), frame_number(frame))

    @bp.get("/api/v1/review/link-sessions/<link_id>/notes")
    @public
    def list_notes(link_id):
        link, session = reviewer_session(link_id)
        return jsonify({"notes": notes_for(link, session["version_id"]), "audience": audience(link)})

    @bp.post("/api/v1/review/link-sessions/<link_id>/notes")
    @public
    def add_note(link_id):
        link, session = reviewer_session(link_id)
        ensure_may_comment(link)
        body = json_body()
        version = version_for(session)
        forced = "client" if link["kind"] == "client" else None
        view, created = new_note(db, version, body, reviewer(session), session["_id"],
                                 members=lambda: members_of(ingest, None, link["project_id"]),
                                 link_id=link_id, visibility=forced)
        return jsonify(view), 201 if created else 200

    @bp.post("/api/v1/review/link-sessions/<link_id>/notes/<note_id>/replies")
    @public
    def reply(link_id, note_id):
        link, session = reviewer_session(link_id)
        ensure_may_comment(link)
        body = json_body()
        parent = visible_note(link, session, note_id)
        forced = "client" if link["kind"] == "client" else None
        view, created = new_reply(db, parent, body, reviewer(session), session["_id"],
                                  members=lambda: members_of(ingest, None, link["project_id"]),
                                  link_id=link_id, visibility=forced)
        return jsonify(view), 201 if created else 200

    @bp.post("/api/v1/review/link-sessions/<link_id>/notes/<note_id>/status")
    @public
    def set_status(link_id, note_id):
        link, session = reviewer_session(link_id)
        ensure_may_comment(link)
        body = json_body()
        view, changed = change_status(db, visible_note(link, session, note_id), body, by=session["name"])
        return jsonify(view), 201 if changed else 200

    @bp.post("/api/v1/review/link-sessions/<link_id>/notes/<note_id>/revisions")
    @public
    def edit(link_id, note_id):
        link, session = reviewer_session(link_id)
        ensure_may_comment(link)
        body = json_body()
        note = visible_note(link, session, note_id)
        if not is_reviewers_own(note, link, session):
            raise ApiError(403, "not_your_note", "Only its author can edit a note; reply to it instead.")
        return jsonify(edit_note(db, note, body, by=session["name"],
                                 members=lambda: members_of(ingest, None, link["project_id"]))), 201

    @bp.get("/api/v1/review/link-sessions/<link_id>/notes/<note_id>/history")
    @public
    def history(link_id, note_id):
        link, session = reviewer_session(link_id)
        visible_note(link, session, note_id)
        return jsonify({"revisions": revisions_view(db, note_id)})

    @bp.post("/api/v1/review/link-sessions/<link_id>/download")
    @public
    def download(link_id):
        link, session = reviewer_session(link_id)
        ensure_may_download(link)
        return jsonify(links.download_grant(db, settings, session, version_for(session), client_ip()))

    @bp.post("/api/v1/review/link-sessions/<link_id>/progress")
    @public
    def progress(link_id):
        link, session = reviewer_session(link_id)
        body = json_body()
        frames = int((version_for(session).get("facts") or {}).get("frames") or 0)
        try:
            ranges = merge_ranges(check_ranges(body.get("ranges"), frames))
        except BadRanges as err:
            raise LinkRefused(400, "bad_ranges", str(err)) from None
        ended = body.get("ended", False)
        if not isinstance(ended, bool):
            raise LinkRefused(400, "bad_ended", "'ended' is true when the viewing ends (the page goes), else false.")
        watched, percent = links.report_played(db, session, ranges, frames, ended)
        return jsonify({"watched": watched, "percent_watched": percent})

    return bp
