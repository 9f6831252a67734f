"""The signed-in pages: sign-in and out, projects, a project's assets and
versions, and the player. Data comes from the ingest API as the user."""
from __future__ import annotations

import hmac
import re
import secrets
from urllib.parse import urlsplit

from flask import Blueprint, g, make_response, redirect, render_template, request, url_for

from services.common import accounts, cdn
from services.common.web import CSRF_FIELD, CSRF_HEADER, SESSION_COOKIE, csrf_token_for, page, public, safe_next

from .ingest_client import IngestNotFound, IngestUnauthorized

SECURITY_HEADERS = {
    # hls.js runs its demuxer in a blob: worker and feeds the video a blob: URL.
    "Content-Security-Policy": ("default-src 'self'; script-src 'self'; style-src 'self'; "
                                "img-src 'self' data: blob:; media-src 'self' blob:; "
                                "worker-src 'self' blob:; connect-src 'self'; frame-ancestors 'none'"),
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}


def security_headers(settings) -> dict:
    """SECURITY_HEADERS, with the object store's public endpoint in connect-src: the
    project page's upload PUTs parts to presigned URLs there (a virtual-host-style
    URL, as for AWS, puts the bucket in front of the host name)."""
    scheme = "https" if settings.s3_secure else "http"
    host = settings.s3_public_endpoint
    origins = f"{scheme}://{host}"
    if not re.fullmatch(r"[0-9.]+(:[0-9]+)?|\[[0-9a-fA-F:]+\](:[0-9]+)?", host):
        origins += f" {scheme}://*.{host}"
    headers = dict(SECURITY_HEADERS)
    policy = headers["Content-Security-Policy"].replace("connect-src 'self'", f"connect-src 'self' {origins}")
    playback = cdn.cdn_origin(settings)
    if playback:  # FRAMEGATE_CDN_URL: the player fetches playlists, segments and posters there
        for directive in ("img-src 'self'", "media-src 'self'", "connect-src 'self'"):
            policy = policy.replace(directive, f"{directive} {origin_of(playback)}")
    headers["Content-Security-Policy"] = policy
    return headers


# Sign-in has no session yet to tie a CSRF token to, so the form's token is
# tied to this pre-session cookie (HttpOnly: another site can neither read it
# nor compute the token), and a POST from another origin is refused outright.
SIGNIN_COOKIE = "framegate_signin"


def same_origin(origin: str | None, allowed: set[str]) -> bool:
    """A missing Origin (older browsers, non-browser clients) passes; a foreign or opaque one does not."""
    return origin is None or origin in allowed


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def harden(bp: Blueprint, settings) -> None:
    """Every response of the blueprint carries the security headers (CSP and friends)."""
    headers = security_headers(settings)

    @bp.after_request
    def add_headers(response):
        for name, value in headers.items():
            response.headers.setdefault(name, value)
        return response


THUMBNAILS_VTT = "sprite/thumbnails.vtt"  # where the transcode worker puts the filmstrip track


def player_config(settings, version: dict) -> dict:
    """What the player scripts need: signed CDN URLs (a short-lived token the page renews) and the master's facts.

    Renditions that may not exist yet (poster, image, waveform: written at the end of
    the transcode) are None until the version's renditions list them; `cdn_base`
    lets the page build their URLs once the polled version JSON does."""
    facts = version.get("facts") or {}
    ttl = settings.playback_ttl_seconds
    base = cdn.sign_playback_link(settings, version["project_id"], version["id"], ttl=ttl)
    renditions = version.get("renditions") or {}
    prefix = f"{version['project_id']}/{version['id']}/"

    def stored(name: str) -> str | None:
        key = renditions.get(name)
        return base + key.removeprefix(prefix) if key else None

    vtt = (renditions.get("thumbnails_vtt") or prefix + THUMBNAILS_VTT).removeprefix(prefix)
    return {
        "version_id": version["id"],
        "version_url": f"/api/v1/versions/{version['id']}",
        # The page renews its short-lived CDN token here (playback-session.js).
        "playback_url": f"/api/v1/versions/{version['id']}/playback",
        "expires_in": ttl,
        "kind": facts.get("kind") or "video",
        "cdn_base": base,
        "prefix": prefix,
        "master": base + "hls/master.m3u8",
        "poster": stored("poster"),
        "image": stored("image"),
        "waveform": stored("waveform"),
        "filmstrip": base + vtt,
        # Frame N from the master when paused (stills_api); the link page asks through its session.
        "stills_url": f"/api/v1/review/versions/{version['id']}/stills/"
        if (facts.get("kind") or "video") == "video" else None,
        "fps": facts.get("fps") or "25/1",
        "drop_frame": bool(facts.get("drop_frame")),
        "start_timecode": facts.get("start_timecode"),
        "frames": facts.get("frames"),
        "duration": facts.get("duration"),
        "width": facts.get("width"),
        "height": facts.get("height"),
        "has_audio": bool(facts.get("audio_codec")),
        "status": version.get("status"),
        "progress": version.get("progress"),
        "reason": (version.get("failure") or {}).get("reason"),
    }


def notes_config(version: dict, user, csrf_token: str) -> dict | None:
    """The notes panel's config on the team's player (see static/notes-panel.js):
    the team notes API, every action, exports. None where there is no panel
    (audio and stills have no frames to pin a drawing to yet)."""
    if not has_notes_panel(version):
        return None
    return {
        "notes_url": f"/api/v1/review/versions/{version['id']}/notes",
        "note_url": "/api/v1/review/notes/",
        "export_url": f"/api/v1/review/versions/{version['id']}/notes/export",
        "headers": {CSRF_HEADER: csrf_token},
        "can_comment": True, "can_reply": True, "can_change_status": True, "can_set_visibility": True,
        "default_visibility": "client",
        "me": {"email": user.email},
    }


def link_notes_config(version: dict, link: dict, session: dict) -> dict | None:
    """The same panel on a review link's page: the link session's notes API (its
    cookie and the CSRF header); notes, replies, status changes and edits of the
    reviewer's own notes (by this link and e-mail) only if the link allows
    comments; no visibility choice (the server decides by the link's kind), no exports."""
    if not has_notes_panel(version):
        return None
    notes_url = f"/api/v1/review/link-sessions/{link['_id']}/notes"
    comments = bool(link["comments"])
    return {
        "notes_url": notes_url,
        "note_url": f"{notes_url}/",
        "export_url": None,
        "headers": {CSRF_HEADER: "1"},
        "can_comment": comments, "can_reply": comments, "can_change_status": comments, "can_set_visibility": False,
        "me": {"email": session["email"], "link_id": link["_id"]} if comments else None,
    }


def has_notes_panel(version: dict) -> bool:
    """Audio and stills have no frames to pin a drawing to yet."""
    return ((version.get("facts") or {}).get("kind") or "video") == "video"


def pages_blueprint(settings, db, ingest) -> Blueprint:
    bp = Blueprint("pages", __name__, template_folder="templates")
    secure_cookie = settings.public_url.startswith("https://")
    harden(bp, settings)

    @bp.app_context_processor
    def session_context():
        token = getattr(g, "session_token", None)
        return {"current_user": getattr(g, "user", None), "csrf_token": csrf_token_for(token) if token else ""}

    def signed_in_user():
        token = request.cookies.get(SESSION_COOKIE, "")
        return accounts.user_for_token(db, token) if token else None

    def fetch(call, *args):
        """Ask ingest as the signed-in user; a refused token ends the session."""
        try:
            return call(g.session_token, *args)
        except IngestUnauthorized:
            response = redirect(url_for("pages.sign_in", next=request.path))
            response.delete_cookie(SESSION_COOKIE, path="/")
            raise _Respond(response) from None
        except IngestNotFound:
            raise _Respond(make_response(render_template("not_found.html"), 404)) from None

    @bp.errorhandler(_Respond)
    def respond(err):
        return err.response

    # Sign-in ---------------------------------------------------------------
    def sign_in_form(target: str, email: str, error: str | None, status: int = 200):
        """The form with a CSRF token for this browser's pre-session cookie (made if missing)."""
        pre = request.cookies.get(SIGNIN_COOKIE) or secrets.token_urlsafe(32)
        response = make_response(render_template("signin.html", next=target, email=email, error=error,
                                                 signin_csrf=csrf_token_for(pre)), status)
        response.set_cookie(SIGNIN_COOKIE, pre, httponly=True, samesite="Lax", secure=secure_cookie, path="/signin")
        return response

    def sign_in_forged() -> bool:
        allowed = {origin_of(settings.public_url), origin_of(request.host_url)}
        pre = request.cookies.get(SIGNIN_COOKIE, "")
        field = request.form.get(CSRF_FIELD, "")
        return (not same_origin(request.headers.get("Origin"), allowed) or not pre or not field
                or not hmac.compare_digest(field, csrf_token_for(pre)))

    @bp.get("/signin")
    @public
    def sign_in():
        target = safe_next(request.args.get("next"), url_for("pages.projects"))
        if signed_in_user():
            return redirect(target)
        return sign_in_form(target, "", None)

    @bp.post("/signin")
    @public
    def sign_in_submit():
        target = safe_next(request.form.get("next"), url_for("pages.projects"))
        email = request.form.get("email", "")
        if sign_in_forged():
            return sign_in_form(target, email, "This sign-in form expired or came from another site; "
                                               "please sign in again.", 403)
        try:
            user = accounts.login(db, email, request.form.get("password", ""), request.remote_addr or "", settings)
        except accounts.LoginRefused as err:
            status = {"too_many_attempts": 429, "busy": 503, "account_disabled": 403}.get(err.code, 401)
            return sign_in_form(target, email, err.message, status)
        token = accounts.issue_token(db, user, "browser session", accounts.lifetime(settings, "browser"), "browser")
        response = redirect(target, 303)
        response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="Lax", secure=secure_cookie, path="/")
        return response

    @bp.post("/signout")
    def sign_out():
        accounts.revoke_token(db, g.session_token)
        response = redirect(url_for("pages.sign_in"), 303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    # Lists -------------------------------------------------------------------
    @bp.get("/")
    @page
    def home():
        return redirect(url_for("pages.projects"))

    @bp.get("/projects")
    @page
    def projects():
        return render_template("projects.html", projects=fetch(ingest.projects))

    @bp.get("/projects/<project_id>")
    @page
    def project(project_id):
        found = fetch(ingest.project, project_id)
        versions = fetch(ingest.versions, project_id)
        assets = [dict(a, versions=[v for v in versions if v["asset_id"] == a["id"]])
                  for a in fetch(ingest.assets, project_id)]
        return render_template("project.html", project=found, assets=assets)

    # Player ------------------------------------------------------------------
    @bp.get("/versions/<version_id>")
    @page
    def player(version_id):
        version = fetch(ingest.version, version_id)
        found = fetch(ingest.project, version["project_id"])
        return render_template("player.html", version=version, project=found,
                               player=player_config(settings, version),
                               notes=notes_config(version, g.user, csrf_token_for(g.session_token)))

    @bp.get("/compare/<version_a>/<version_b>")
    @page
    def compare(version_a, version_b):
        versions = [fetch(ingest.version, version_a), fetch(ingest.version, version_b)]
        found = fetch(ingest.project, versions[0]["project_id"])
        return render_template("compare.html", versions=versions, project=found,
                               compare=compare_config(versions))

    return bp


def compare_config(versions: list[dict]) -> dict:
    """What compare.js needs of the two versions: their exact stills' API and their frames."""
    sides = []
    for version in versions:
        facts = version.get("facts") or {}
        sides.append({"version_id": version["id"], "label": f"{version['asset_name']} v{version['number']}",
                      "stills_url": f"/api/v1/review/versions/{version['id']}/stills/",
                      "frames": facts.get("frames"), "fps": facts.get("fps") or "25/1",
                      "drop_frame": bool(facts.get("drop_frame")), "start_timecode": facts.get("start_timecode"),
                      "kind": facts.get("kind") or "video"})
    return {"a": sides[0], "b": sides[1]}


class _Respond(Exception):
    """Carries a finished response out of a helper (redirect to sign-in, 404 page)."""

    def __init__(self, response):
        super().__init__("respond")
        self.response = response
