"""Review links, the use cases: make one, list, revoke, open a viewing
session as a reviewer, and what a session may fetch. Rules are in
link_rules, records in links_store; routes (links_api, link_reviewer_api)
only decode and answer.

Who may manage a project's links is ingest's to say (its project list
carries the caller's role); what a reviewer without an account may watch is
asked of ingest with review's read-only service key.
"""
from __future__ import annotations

import math
from datetime import datetime, timezone

from services.common import cdn, passwords
from services.common.events import LinkCreated, LinkOpened, LinkRevoked, PlaybackProgress, event_id_for

from . import approval_locks, links_store
from .ingest_client import IngestClient, IngestNotFound
from .watching import as_objects, merge_ranges, percent_watched, progress_milestone
from .link_rules import (LinkRefused, check_brief, check_domains, check_expiry, check_flag, check_kind,
                         check_new_password, check_stage, ensure_live, link_state, new_token, password_backoff_seconds, reviewer_email, reviewer_name,
                         token_digest)

MAX_USER_AGENT = 300


def now() -> datetime:
    return datetime.now(timezone.utc)


def _iso(when: datetime | None) -> str | None:
    return when.isoformat().replace("+00:00", "Z") if when else None


def link_url(public_url: str, token: str) -> str:
    return f"{public_url.rstrip('/')}/l/{token}"


def link_view(link: dict, at: datetime | None = None) -> dict:
    """A link on the wire (never its token, its digest or its password hash)."""
    return {
        "link_id": link["_id"], "project_id": link["project_id"], "asset_id": link["asset_id"],
        "version_id": link.get("version_id"), "follows": "version" if link.get("version_id") else "current",
        "kind": link["kind"], "stage": link["stage"], "brief": link["brief"],
        "expires_at": _iso(link.get("expires_at")), "password": bool(link.get("password_hash")),
        "allowed_domains": link["allowed_domains"], "comments": link["comments"], "download": link["download"],
        "approve": link.get("approve", False),
        "created_by": link["created_by"]["email"], "created_at": _iso(link.get("created_at")),
        "revoked_at": _iso(link.get("revoked_at")), "state": link_state(link, at or now()),
    }


# ------------------------------------------------------------------ team

def require_owner(ingest: IngestClient, user, token: str, project_id: str) -> None:
    """Only the project's owners (and admins) manage its links; others get 403, outsiders 404."""
    if user.is_admin:
        return
    try:
        project = ingest.project(token, project_id)
    except IngestNotFound:
        raise LinkRefused(404, "unknown_project", f"There is no project with id {project_id!r}.") from None
    role = project.get("role")
    if role != "owner":
        who = f"an {role}" if role and role[0] in "aeiou" else f"a {role}"
        raise LinkRefused(403, "role_forbids",
                          f"You are {who} in this project; only an owner can manage review links.")


def create_link(db, ingest: IngestClient, user, token: str, body: dict, settings) -> dict:
    """Check everything, then store the link and its LinkCreated event; the view plus its URL (shown once)."""
    at = now()
    kind = check_kind(body.get("kind"))
    stage = check_stage(body.get("stage"))
    brief = check_brief(body.get("brief"))
    expires_at = check_expiry(body.get("expires_at"), at)
    domains = check_domains(body.get("allowed_domains"))
    password = check_new_password(body.get("password"))
    comments = check_flag("comments", body.get("comments"), True)
    download = check_flag("download", body.get("download"), False)
    approve = check_flag("approve", body.get("approve"), False)  # its reviewers may decide on the gate
    version_id, asset_id = body.get("version_id"), body.get("asset_id")
    if bool(version_id) == bool(asset_id):
        raise LinkRefused(400, "version_or_asset", "Give either 'version_id' (that version) or 'asset_id' "
                                                   "(its current version, whichever that is when opened).")
    if version_id:
        try:
            version = ingest.version(token, str(version_id))
        except IngestNotFound:
            raise LinkRefused(404, "unknown_version", f"There is no version {version_id!r}.") from None
        project_id, asset_id = version["project_id"], version["asset_id"]
    else:
        try:
            asset = ingest.asset(token, str(asset_id))
        except IngestNotFound:
            raise LinkRefused(404, "unknown_asset", f"There is no asset {asset_id!r}.") from None
        project_id = asset["project_id"]
    require_owner(ingest, user, token, project_id)
    approval_locks.ensure_project_open(project_id)

    link_token = new_token()
    link = {"_id": links_store.new_id(), "token_sha256": token_digest(link_token), "project_id": project_id,
            "asset_id": asset_id, "version_id": version_id or None, "kind": kind, "stage": stage, "brief": brief,
            "expires_at": expires_at, "password_hash": passwords.hash_password(password, settings) if password else None,
            "allowed_domains": domains, "comments": comments, "download": download, "approve": approve,
            "created_by": {"user_id": user.id, "name": user.name, "email": user.email}, "created_at": at}
    event = LinkCreated(event_id=event_id_for("link_created", link["_id"]), project_id=project_id,
                        link_id=link["_id"], asset_id=asset_id, version_id=link["version_id"], kind=kind,
                        stage=stage, created_by=user.email, expires_at=_iso(expires_at),
                        allowed_domains=domains, comments=comments, download=download, password=bool(password))
    links_store.insert_link(db, link, event)
    return {**link_view(link, at), "url": link_url(settings.public_url, link_token)}


def managed_link(db, ingest: IngestClient, user, token: str, link_id: str) -> dict:
    """A link the caller may manage; 404 alike for a missing link and another project's."""
    link = links_store.get_link(db, link_id)
    if link is None:
        raise LinkRefused(404, "unknown_link", f"There is no link {link_id!r}.")
    try:
        require_owner(ingest, user, token, link["project_id"])
    except LinkRefused as err:
        if err.status == 404:
            raise LinkRefused(404, "unknown_link", f"There is no link {link_id!r}.") from None
        raise
    return link


def revoke_link(db, ingest: IngestClient, user, token: str, link_id: str) -> dict:
    """Revoke now: its page, sessions and playback renewals are refused from this moment."""
    link = managed_link(db, ingest, user, token, link_id)
    event = LinkRevoked(event_id=event_id_for("link_revoked", link_id), project_id=link["project_id"],
                        link_id=link_id, asset_id=link["asset_id"], revoked_by=user.email)
    links_store.revoke(db, link_id, user.email, event)
    return link_view(links_store.get_link(db, link_id))


# -------------------------------------------------------------- reviewers

def live_link(db, token: str) -> dict:
    """The link this token opens, if it is live; 404 for a forged token, 410 once revoked or expired."""
    link = links_store.link_by_token(db, token)
    if link is None:
        raise LinkRefused(404, "unknown_link", "This review link does not exist; check the address you were sent.")
    ensure_live(link, now())
    return link


def version_of_link(ingest: IngestClient, link: dict) -> dict:
    """The version a new session watches: the pinned one, or the asset's newest ready one (asked now)."""
    try:
        if link.get("version_id"):
            return ingest.version(None, link["version_id"])
        return ingest.current_version(None, link["project_id"], link["asset_id"])
    except IngestNotFound:
        raise LinkRefused(404, "nothing_to_watch", "There is no ready version on this link yet.") from None


def check_password(db, link: dict, given: object, ip: str, settings) -> None:
    """Wrong guesses from one address make the next wait longer (link_rules.password_backoff_seconds)."""
    if not link.get("password_hash"):
        return
    failures, latest = links_store.password_failures(db, link["_id"], ip)
    wait = password_backoff_seconds(failures)
    if wait and latest is not None:
        remaining = wait - (now() - latest).total_seconds()
        if remaining > 0:
            refused = LinkRefused(429, "too_many_guesses",
                                  f"Too many wrong passwords; try again in {math.ceil(remaining)} s.")
            refused.retry_after = math.ceil(remaining)
            raise refused
    if not isinstance(given, str) or not passwords.verify_password(link["password_hash"], given, settings):
        links_store.record_password_failure(db, link["_id"], ip)
        code = "password_required" if not given else "wrong_password"
        raise LinkRefused(403, code, "This link needs its password." if not given else "That password is wrong.")


def open_session(db, ingest: IngestClient, link: dict, body: dict, ip: str, user_agent: str,
                 settings) -> tuple[dict, str]:
    """A reviewer's viewing session on a live link: (session, secret for the cookie), and a LinkOpened event."""
    ensure_live(link, now())
    approval_locks.ensure_link_project_live(link)
    name = reviewer_name(body.get("name"))
    email = reviewer_email(body.get("email"), link["allowed_domains"])
    check_password(db, link, body.get("password"), ip, settings)
    version = version_of_link(ingest, link)
    secret = links_store.new_session_secret()
    session = {"_id": links_store.new_id(), "link_id": link["_id"], "project_id": link["project_id"],
               "asset_id": link["asset_id"], "version_id": version["id"], "name": name, "email": email,
               "ip": ip, "user_agent": (user_agent or "")[:MAX_USER_AGENT]}
    event = LinkOpened(event_id=event_id_for("link_opened", session["_id"]), project_id=link["project_id"],
                       link_id=link["_id"], session_id=session["_id"], asset_id=link["asset_id"],
                       version_id=version["id"], kind=link["kind"], reviewer_name=name, reviewer_email=email)
    links_store.insert_session(db, session, secret, event)
    return session, secret


def report_played(db, session: dict, ranges: list[list[int]], frames: int, ended: bool) -> tuple[list, float]:
    """Log what a session played (checked, merged ranges); (watched so far, percent).

    A playback_progress event goes out when the session reaches another
    quarter of the version or the viewing ends, not on every report.
    """
    before = links_store.watched_of(db, session["_id"])
    if ranges:
        links_store.add_watched(db, session, ranges)
    watched = merge_ranges(before + ranges)
    percent = percent_watched(watched, frames)
    milestone = progress_milestone(percent_watched(before, frames), percent, ended, watched)
    if milestone:
        links_store.record_progress(db, PlaybackProgress(
            event_id=event_id_for("playback_progress", session["_id"], milestone),
            project_id=session["project_id"], session_id=session["_id"], asset_id=session["asset_id"],
            version_id=session["version_id"], watched=as_objects(watched), percent_watched=percent,
            link_id=session["link_id"], viewer_email=session["email"]))
    return watched, percent


def download_grant(db, settings, session: dict, version: dict, ip: str) -> dict:
    """A short-lived signed URL of the version's proxy MP4 (the link allows downloads: the caller checked), logged."""
    key = (version.get("renditions") or {}).get("proxy")
    if not key:
        raise LinkRefused(409, "no_download_yet", "This version has no download copy yet; try again once it is ready.")
    prefix = f"{version['project_id']}/{version['id']}/"
    ttl = settings.playback_ttl_seconds
    url = cdn.sign_playback_link(settings, version["project_id"], version["id"], key.removeprefix(prefix), ttl=ttl)
    links_store.record_download(db, session, version["id"], ip)
    return {"url": url, "filename": f"{version.get('asset_name') or 'version'} v{version.get('number')}.mp4",
            "expires_in": ttl}
