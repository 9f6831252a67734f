"""The OpenAPI 3.1 description of the review API (notes, review links, the
reviewers' link sessions), served at /api/v1/review/openapi.json. Shapes are
described in docs/api-contract.md; this document names every route, who may
call it and its error statuses."""
from __future__ import annotations

from services.common.openapi import operation as _op

OBJ = {"type": "object"}
LINK_SESSION = [{"linkSession": []}]


def _path(*names: str) -> list[dict]:
    return [{"name": n, "in": "path", "required": True, "schema": {"type": "string"}} for n in names]


def _reviewer(op: dict) -> dict:
    """A route for a reviewer with a link session (cookie), not an account."""
    return {**op, "security": LINK_SESSION}


def review_openapi_document() -> dict:
    notes = "/api/v1/review/versions/{version_id}/notes"
    note = "/api/v1/review/notes/{note_id}"
    links = "/api/v1/review/links"
    sessions = "/api/v1/review/link-sessions/{link_id}"
    gone = (400, 401, 403, 404, 410)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Framegate review API", "version": "1"},
        "security": [{"bearer": []}],
        "paths": {
            "/api/v1/review/openapi.json": {"get": _op("This document", "200", OBJ, errors=(401,))},
            notes: {"parameters": _path("version_id"),
                    "get": _op("A version's notes, as the team sees them", "200", OBJ),
                    "post": _op("Pin a note to a frame or range", "201", OBJ, OBJ)},
            notes + "/export": {"parameters": _path("version_id"),
                                "get": _op("Export notes (?format=csv|edl|avid|fcp7|otio|pdf)", "200", OBJ)},
            note + "/replies": {"parameters": _path("note_id"), "post": _op("Reply", "201", OBJ, OBJ)},
            note + "/revisions": {"parameters": _path("note_id"), "post": _op("Edit (a new revision)", "201", OBJ, OBJ,
                                                                              errors=(400, 401, 403, 404))},
            note + "/status": {"parameters": _path("note_id"), "post": _op("Change status", "201", OBJ, OBJ)},
            note + "/history": {"parameters": _path("note_id"), "get": _op("Every revision", "200", OBJ)},
            links: {"post": _op("Make a review link (owners); its URL is shown only here", "201", OBJ, OBJ,
                                errors=(400, 401, 403, 404))},
            "/api/v1/review/projects/{project_id}/links": {
                "parameters": _path("project_id"), "get": _op("A project's links (owners)", "200", OBJ,
                                                              errors=(401, 403, 404))},
            links + "/{link_id}/revoke": {"parameters": _path("link_id"),
                                          "post": _op("Revoke now (owners)", "200", OBJ, errors=(401, 403, 404))},
            links + "/{link_id}/access": {"parameters": _path("link_id"), "get": _op(
                "Access log (?format=json|csv|pdf)", "200", OBJ, errors=(400, 401, 403, 404))},
            links + "/{token}/sessions": {"parameters": _path("token"), "post": {**_op(
                "Open a viewing session on a link: name, e-mail, password if set (sets the session cookie)",
                "201", OBJ, OBJ, errors=(400, 403, 404, 410, 429)), "security": []}},
            sessions + "/playback": {"parameters": _path("link_id"), "get": _reviewer(_op(
                "Fresh short-lived CDN URLs for this session", "200", OBJ, errors=(401, 404, 410)))},
            sessions + "/version": {"parameters": _path("link_id"), "get": _reviewer(_op(
                "The link's version status", "200", OBJ, errors=(401, 404, 410)))},
            sessions + "/notes": {"parameters": _path("link_id"),
                                  "get": _reviewer(_op("The notes this link's audience sees", "200", OBJ,
                                                       errors=(401, 410))),
                                  "post": _reviewer(_op("A note through the link", "201", OBJ, OBJ, errors=gone))},
            sessions + "/notes/{note_id}/replies": {"parameters": _path("link_id", "note_id"), "post": _reviewer(
                _op("A reply through the link", "201", OBJ, OBJ, errors=gone))},
            sessions + "/notes/{note_id}/status": {"parameters": _path("link_id", "note_id"), "post": _reviewer(
                _op("Set a note's status through the link (if it allows comments)", "201", OBJ, OBJ, errors=gone))},
            sessions + "/notes/{note_id}/revisions": {"parameters": _path("link_id", "note_id"), "post": _reviewer(
                _op("Edit a note this reviewer wrote through the link", "201", OBJ, OBJ, errors=gone))},
            sessions + "/notes/{note_id}/history": {"parameters": _path("link_id", "note_id"), "get": _reviewer(
                _op("A note's revisions, oldest first", "200", OBJ, errors=(401, 404, 410)))},
            sessions + "/download": {"parameters": _path("link_id"), "post": _reviewer(_op(
                "A short-lived signed URL of the proxy MP4 (if the link allows downloads; logged)", "200", OBJ,
                errors=(401, 403, 404, 409, 410)))},
            "/api/v1/review/versions/{version_id}/stills/{frame}": {"parameters": _path("version_id", "frame"), "get": _op(
                "Frame N of the master as a lossless PNG: a signed CDN URL (cut now if new)", "200", OBJ,
                errors=(400, 401, 404, 502, 504))},
            sessions + "/stills/{frame}": {"parameters": _path("link_id", "frame"), "get": _reviewer(_op(
                "Frame N of the link's version as a lossless PNG: a signed CDN URL", "200", OBJ,
                errors=(400, 401, 404, 410, 502, 504)))},
            sessions + "/decision": {"parameters": _path("link_id"), "post": _reviewer(_op(
                "Approve or request changes on the gate this session's version is up for (links that allow "
                "approving; the e-mail given must be an approver)", "201", OBJ, OBJ,
                errors=(400, 401, 403, 409, 410, 503)))},
            sessions + "/progress": {"parameters": _path("link_id"), "post": _reviewer(_op(
                "Frame ranges played (ended: true when the viewing ends)", "200", OBJ, OBJ, errors=(400, 401, 403, 410)))},
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"},
                                "linkSession": {"type": "apiKey", "in": "cookie", "name": "framegate_link_<link_id>"}},
            "schemas": {"Error": {"type": "object", "required": ["error", "message"],
                                  "properties": {"error": {"type": "string"}, "message": {"type": "string"}}}},
        },
    }
