"""The OpenAPI 3.1 description of the approval API, served at
/api/v1/approval/openapi.json."""
from __future__ import annotations

A = "/api/v1/approval"
OBJ = {"type": "object"}
ERROR = {"$ref": "#/components/schemas/Error"}


def _op(summary: str, errors=(400, 401, 404, 409), body: dict | None = None, public=False,
        ok: str = "200", media: str = "application/json") -> dict:
    responses = {ok: {"description": "OK", "content": {media: {"schema": OBJ if media.endswith("json")
                                                                else {"type": "string", "format": "binary"}}}}}
    responses.update({str(c): {"description": "Error", "content": {"application/json": {"schema": ERROR}}}
                      for c in errors})
    op = {"summary": summary, "responses": responses}
    if body:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    if public:
        op["security"] = []
    return op


def _body(required: list[str], **props) -> dict:
    return {"type": "object", "required": required, "properties": props}


STR = {"type": "string"}
GATE = _body([], approvers={"type": "array", "items": STR, "description": "e-mails or role:owner|editor|viewer"},
             rule={"type": "string", "description": "all, any, or N (of the approvers)"},
             sequential={"type": "boolean"}, scope=STR,
             paths={"type": "array", "description": "parallel paths, each {name, approvers, rule, sequential}",
                    "items": OBJ})


def openapi_document() -> dict:
    return {
        "openapi": "3.1.0",
        "info": {"title": "Framegate approval API", "version": "1"},
        "security": [{"bearer": []}],
        "paths": {
            f"{A}/openapi.json": {"get": _op("This document", errors=(), public=True)},
            f"{A}/templates": {"get": _op("Workflow templates", errors=(401,))},
            f"{A}/templates/{{name}}": {"get": _op("A template's stages and default gates", errors=(401, 404))},
            f"{A}/projects/{{project_id}}/workflow": {
                "get": _op("A project's workflow: stages, gates, current stage"),
                "put": _op("Pick the project's template (before its first stage starts; owners)",
                           body=_body(["template"], template=STR))},
            f"{A}/projects/{{project_id}}/stages/{{stage}}/gate": {"put": _op(
                "Set a stage's gate before a version is up for it (owners)", body=GATE)},
            f"{A}/projects/{{project_id}}/submit": {"post": _op(
                "Put a ready version up for the current stage's gate (owners)",
                body=_body(["version_id"], version_id=STR))},
            f"{A}/projects/{{project_id}}/stage": {"get": _op(
                "The current stage (or ?stage=NAME): rule, version, approvers with decisions, pending, closed")},
            f"{A}/projects/{{project_id}}/locks": {"get": _op(
                "What is frozen: archived (or null), and with ?version_id= the version's lock "
                "(gate, stage, locked_at)")},
            f"{A}/projects/{{project_id}}/decisions": {"get": _op(
                "The project's decision chain as stored (hash, prev_hash) and its problems, if any")},
            f"{A}/projects/{{project_id}}/archive": {"post": _op(
                "Archive the project (owners): read-only from now on, links expired; again changes nothing")},
            f"{A}/projects/{{project_id}}/advance": {"post": _op(
                "Move past the current stage; 409 naming who is pending while its gate is open")},
            f"{A}/gates/{{gate_id}}/decisions": {"post": _op(
                "Decide, signed in: approve, or request changes with a reason", ok="201",
                errors=(400, 401, 403, 404, 409),
                body=_body(["decision"], decision={"enum": ["approve", "changes"]}, reason=STR, version_id=STR))},
            f"{A}/link-decisions": {"post": {**_op(
                "A link reviewer's decision on the gate their version is up for; only review calls this, "
                "with its link-decision key", ok="201", errors=(400, 401, 403, 409),
                body=_body(["project_id", "version_id", "link_id", "email", "name", "decision"],
                           project_id=STR, version_id=STR, link_id=STR, email=STR, name=STR, ip=STR,
                           user_agent=STR, decision={"enum": ["approve", "changes"]}, reason=STR)),
                "security": [{"reviewService": []}]}},
            f"{A}/gates/{{gate_id}}/certificate": {"get": _op(
                "The closed gate's signed certificate (PDF)", media="application/pdf")},
            f"{A}/certificates/verify": {"post": _op(
                "Verify a certificate PDF (multipart field 'file' or an application/pdf body): valid and why",
                errors=(400, 413), public=True)},
            "/verify/{certificate_id}": {"get": _op(
                "The public verification page (HTML)", errors=(), public=True, media="text/html")},
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"},
                                "reviewService": {"type": "apiKey", "in": "header",
                                                  "name": "X-Framegate-Service-Key"}},
            "schemas": {"Error": _body(["error", "message"], error=STR, message=STR)},
        },
    }
