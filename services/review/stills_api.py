"""Exact stills over HTTP: frame N of a version's master, as a signed CDN URL.

    GET /api/v1/review/versions/<version_id>/stills/<frame>              team members
    GET /api/v1/review/link-sessions/<link_id>/stills/<frame>            a link's viewing session
                                                                         (link_reviewer_api; 410 once revoked)

Both answer {frame, url, width, height, expires_at, made}: `url` is on the CDN,
signed like playback URLs (same scope, same short lifetime), so who may watch
a version may see its stills, and a removed member or a revoked link stops
getting new ones. The PNG is cut once and kept; the CDN caches it for everyone.
"""
from __future__ import annotations

from flask import Blueprint, g, jsonify

from services.common import cdn
from services.common.web import ApiError

from .ingest_client import IngestClient, IngestNotFound
from .stills import ExactStills, StillRefused, display_size


def frame_number(text: str) -> int:
    """The frame in the URL: a whole number from 0."""
    if not text.isdigit() or len(text) > 9:
        raise ApiError(400, "bad_frame", f"The frame is a whole number from 0, not {text[:20]!r}.")
    return int(text)


def still_answer(settings, stills: ExactStills, version: dict, frame: int):
    """The JSON answer for frame `frame` of `version` (cut now if it is new)."""
    try:
        key, made = stills.ensure(version, frame)
    except StillRefused as err:
        raise ApiError(err.status, err.code, err.message) from None
    path = key.removeprefix(f"{version['project_id']}/{version['id']}/")
    url = cdn.sign_playback_link(settings, version["project_id"], version["id"], path,
                                 ttl=settings.playback_ttl_seconds)
    size = display_size(version.get("facts") or {})
    return jsonify({"version_id": version["id"], "frame": frame, "url": url, "width": size.width,
                    "height": size.height, "expires_at": cdn.expiry_of(url), "made": made})


def stills_blueprint(settings, ingest: IngestClient, stills: ExactStills) -> Blueprint:
    bp = Blueprint("stills_api", __name__)

    @bp.get("/api/v1/review/versions/<version_id>/stills/<frame>")
    def team_still(version_id, frame):
        try:
            version = ingest.version(g.session_token, version_id)
        except IngestNotFound:
            raise ApiError(404, "unknown_version", f"There is no version {version_id!r}.") from None
        return still_answer(settings, stills, version, frame_number(frame))

    return bp
