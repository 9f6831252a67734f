"""Pieces of the services' OpenAPI documents (ingest's and review's), so both describe
operations and errors the same way."""
from __future__ import annotations

ERROR = {"$ref": "#/components/schemas/Error"}


def json_content(schema: dict) -> dict:
    return {"content": {"application/json": {"schema": schema}}}


def operation(summary: str, ok: str, ok_schema: dict, body: dict | None = None, errors=(400, 401, 404), public=False) -> dict:
    op = {"summary": summary, "responses": {ok: {"description": "OK", **json_content(ok_schema)}}}
    for code in errors:
        op["responses"][str(code)] = {"description": "Error", **json_content(ERROR)}
    if body:
        op["requestBody"] = {"required": True, **json_content(body)}
    if public:
        op["security"] = []
    return op
