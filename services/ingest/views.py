"""How records look on the wire (JSON for the API and the CLI)."""
from __future__ import annotations


def _iso(value):
    return value.isoformat().replace("+00:00", "Z") if value else None


def project_view(p: dict) -> dict:
    return {"id": p["_id"], "name": p["name"], "created_at": _iso(p.get("created_at"))}


def asset_view(a: dict) -> dict:
    return {"id": a["_id"], "project_id": a["project_id"], "name": a["name"]}


def version_view(v: dict) -> dict:
    return {
        "id": v["_id"],
        "project_id": v["project_id"],
        "asset_id": v["asset_id"],
        "asset_name": v["asset_name"],
        "number": v["number"],
        "status": v["status"],
        "filename": v["filename"],
        "size": v["size"],
        "sha256": v["sha256"],
        "facts": v.get("facts", {}),
        "created_at": _iso(v.get("created_at")),
        "created_by": v.get("created_by"),
    }
