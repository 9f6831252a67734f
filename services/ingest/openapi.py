"""The OpenAPI 3.1 description of the ingest API, served at /api/v1/openapi.json.

Project routes answer 404 to a signed-in user who is not a member (as for an
id that does not exist) and 403 `role_forbids` to a member whose role does not
allow the action (docs/api-contract.md)."""
from __future__ import annotations

from services.common.openapi import ERROR, json_content as _json, operation as _op  # noqa: F401


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _list(key: str, item: str) -> dict:
    return {"type": "object", "properties": {key: {"type": "array", "items": _ref(item)}}}


def openapi_document() -> dict:
    obj = {"type": "object"}
    path_id = lambda name: {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}  # noqa: E731
    role = {"type": "string", "enum": ["owner", "editor", "viewer"]}
    member_body = {"type": "object", "required": ["role"], "properties": {
        "email": {"type": "string"}, "user_id": {"type": "string"}, "role": role}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "Framegate ingest API", "version": "1"},
        "security": [{"bearer": []}],
        "paths": {
            "/api/v1/auth/login": {"post": _op(
                "Sign in; returns an API token", "200", obj,
                {"type": "object", "required": ["email", "password"],
                 "properties": {"email": {"type": "string"}, "password": {"type": "string"},
                                "token_name": {"type": "string"}}},
                errors=(400, 401, 403, 429, 503), public=True)},
            "/api/v1/auth/bootstrap": {"post": {
                **_op("Create the first admin (needs X-Setup-Key); with the password it was created with, "
                      "a repeat returns 200 and a fresh token", "201", obj, errors=(400, 401, 409), public=True),
                "parameters": [{"name": "X-Setup-Key", "in": "header", "required": True, "schema": {"type": "string"}}],
                "requestBody": {"required": False, **_json({"type": "object", "properties": {
                    "email": {"type": "string"}, "password": {"type": "string", "minLength": 12}}})},
            }},
            "/api/v1/auth/logout": {"post": {"summary": "Revoke this token", "responses": {"204": {"description": "Revoked"}}}},
            "/api/v1/openapi.json": {"get": _op("This document", "200", obj, errors=(401,))},
            "/api/v1/me": {"get": _op("The signed-in user", "200", _ref("User"), errors=(401,))},
            "/api/v1/me/password": {"post": {
                "summary": "Change one's password (other tokens of the user are revoked)",
                "requestBody": {"required": True, **_json({"type": "object", "required": ["current", "new"],
                    "properties": {"current": {"type": "string"}, "new": {"type": "string", "minLength": 12}}})},
                "responses": {"204": {"description": "Changed"},
                              **{str(c): {"description": "Error", **_json(ERROR)} for c in (400, 401, 403, 409)}}}},
            "/api/v1/me/tokens": {"get": _op("One's own tokens and browser sessions (never the secrets)", "200",
                                             {"type": "object", "properties": {"tokens": {"type": "array"}}},
                                             errors=(401,))},
            "/api/v1/me/tokens/{token_id}": {"parameters": [path_id("token_id")], "delete": {
                "summary": "Revoke one of one's own tokens or sessions",
                "responses": {"204": {"description": "Revoked"},
                              **{str(c): {"description": "Error", **_json(ERROR)} for c in (401, 404)}}}},
            "/api/v1/users/{user_id}/disable": {"parameters": [path_id("user_id")], "post": _op(
                "Disable a user (admins only): sign-in refused, every token revoked at once", "200", _ref("User"),
                errors=(400, 401, 403, 404))},
            "/api/v1/users/{user_id}/enable": {"parameters": [path_id("user_id")], "post": _op(
                "Enable a disabled user (admins only)", "200", _ref("User"), errors=(401, 403, 404))},
            "/api/v1/users/{user_id}/password": {"parameters": [path_id("user_id")], "post": _op(
                "Reset a user's password (admins only): a generated one, returned once; their tokens are revoked",
                "200", _ref("User"), errors=(401, 403, 404))},
            "/api/v1/users": {
                "get": _op("List users (admins only)", "200", _list("users", "User"), errors=(401, 403)),
                "post": _op("Create a user (admins only); without a password one is generated and returned once",
                            "201", _ref("User"),
                            {"type": "object", "required": ["email"], "properties": {
                                "email": {"type": "string"}, "name": {"type": "string"},
                                "role": {"type": "string", "enum": ["admin", "member"]},
                                "password": {"type": "string", "minLength": 12}}},
                            errors=(400, 401, 403, 409)),
            },
            "/api/v1/projects": {
                "get": _op("List the caller's projects (admins: all)", "200", _list("projects", "Project"), errors=(401,)),
                "post": _op("Create a project; the caller becomes its owner", "201", _ref("Project"),
                            {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}},
                            errors=(400, 401, 409)),
            },
            "/api/v1/projects/{project_id}/members": {"parameters": [path_id("project_id")],
                "get": _op("List a project's members (any member)", "200", _list("members", "Member")),
                "post": _op("Add a member (owners, admins)", "201", _ref("Member"), member_body,
                            errors=(400, 401, 403, 404, 409))},
            "/api/v1/projects/{project_id}/members/{user_id}": {
                "parameters": [path_id("project_id"), path_id("user_id")],
                "patch": _op("Change a member's role (owners, admins)", "200", _ref("Member"),
                             {"type": "object", "required": ["role"], "properties": {"role": role}},
                             errors=(400, 401, 403, 404, 409)),
                "delete": {"summary": "Remove a member (owners, admins); their playback stops within one URL lifetime",
                           "responses": {"204": {"description": "Removed"},
                                         **{str(c): {"description": "Error", **_json(ERROR)} for c in (401, 403, 404, 409)}}}},
            "/api/v1/projects/{project_id}/assets": {"parameters": [path_id("project_id")],
                "get": _op("List a project's assets", "200", _list("assets", "Asset"))},
            "/api/v1/projects/{project_id}/versions": {"parameters": [path_id("project_id")],
                "get": _op("List a project's versions (optionally ?asset_id=)", "200", _list("versions", "Version"))},
            "/api/v1/versions/{version_id}": {"parameters": [path_id("version_id")],
                "get": _op("One version", "200", _ref("Version"))},
            "/api/v1/versions/{version_id}/playback": {"parameters": [path_id("version_id")],
                "get": _op("Fresh short-lived signed CDN URLs for one viewing session (members only)", "200",
                           _ref("Playback"), errors=(401, 404))},
            "/api/v1/uploads": {"post": _op(
                "Start or resume uploads of many files (presigned multipart part URLs)", "201",
                {"type": "object", "properties": {"uploads": {"type": "array", "items": _ref("Upload")}}},
                {"type": "object", "required": ["project_id", "files"], "properties": {
                    "project_id": {"type": "string"},
                    "files": {"type": "array", "items": {"type": "object", "required": ["filename", "size", "fingerprint"],
                              "properties": {"filename": {"type": "string"}, "size": {"type": "integer"},
                                             "asset": {"type": "string"}, "fingerprint": {"type": "string"}}}}}})},
            "/api/v1/uploads/{upload_id}": {"parameters": [path_id("upload_id")],
                "get": _op("An upload: stored parts and URLs for the rest", "200", _ref("Upload")),
                "delete": {"summary": "Abort an upload", "responses": {"204": {"description": "Aborted"},
                           "404": {"description": "Error", **_json(ERROR)}}}},
            "/api/v1/uploads/{upload_id}/complete": {"parameters": [path_id("upload_id")],
                "post": _op("Ask for the uploaded master to become a version: verified, probed and numbered "
                            "in the background; poll the completion (Location)", "202", _ref("Completion"),
                            {"type": "object", "required": ["sha256"], "properties": {"sha256": {"type": "string"}}},
                            errors=(400, 401, 404, 409))},
            "/api/v1/uploads/{upload_id}/completion": {"parameters": [path_id("upload_id")],
                "get": _op("An upload's completion: completing, done (with the version) or failed (with a reason, "
                           "retryable or not)", "200", _ref("Completion"))},
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {"type": "object", "required": ["error", "message"],
                          "properties": {"error": {"type": "string"}, "message": {"type": "string"}}},
                "User": {"type": "object", "properties": {k: {"type": "string"} for k in ("id", "email", "name", "role")}},
                "Project": {"type": "object", "properties": {
                    **{k: {"type": "string"} for k in ("id", "name", "created_at")},
                    "role": {"type": ["string", "null"], "enum": ["owner", "editor", "viewer", None]}}},
                "Member": {"type": "object", "properties": {
                    **{k: {"type": "string"} for k in ("project_id", "user_id", "email", "name", "added_at")},
                    "role": role}},
                "Playback": {"type": "object", "properties": {
                    "cdn_base": {"type": "string"}, "master": {"type": "string"},
                    "expires_in": {"type": "integer"}, "expires_at": {"type": "integer"}}},
                "Asset": {"type": "object", "properties": {k: {"type": "string"} for k in ("id", "project_id", "name")}},
                "Version": {"type": "object", "properties": {
                    "id": {"type": "string"}, "project_id": {"type": "string"}, "asset_id": {"type": "string"},
                    "asset_name": {"type": "string"}, "number": {"type": "integer"}, "status": {"type": "string"},
                    "filename": {"type": "string"}, "size": {"type": "integer"}, "sha256": {"type": "string"},
                    "master_key": {"type": ["string", "null"]},
                    "facts": {"type": "object"}, "created_at": {"type": "string"}}},
                "Completion": {"type": "object", "properties": {
                    "upload_id": {"type": "string"}, "filename": {"type": "string"},
                    "state": {"type": "string", "enum": ["completing", "done", "failed"]},
                    "sha256": {"type": "string"}, "version_id": {"type": "string"}, "version": _ref("Version"),
                    "failure": {"type": "object", "properties": {
                        "error": {"type": "string"}, "message": {"type": "string"}, "retryable": {"type": "boolean"}}}}},
                # One file of a batch: an open upload, or {filename, error, message} when
                # that file was refused. asset_id and version_id stay null until completion;
                # a refused file's name is null when what was sent was not a string.
                "Upload": {"type": "object", "properties": {
                    "upload_id": {"type": "string"}, "filename": {"type": ["string", "null"]},
                    "state": {"type": "string", "enum": ["open", "completing", "completed"]},
                    "asset_name": {"type": "string"},
                    "asset_id": {"type": ["string", "null"]}, "version_id": {"type": ["string", "null"]},
                    "size": {"type": "integer"}, "part_size": {"type": "integer"}, "part_count": {"type": "integer"},
                    "parts": {"type": "array", "items": {"type": "object", "properties": {
                        "number": {"type": "integer"}, "url": {"type": "string"}}}},
                    "parts_done": {"type": "array", "items": {"type": "object"}},
                    "error": {"type": "string"}, "message": {"type": "string"}}},
            },
        },
    }
