"""How records look on the wire (JSON for the API and the CLI)."""
from __future__ import annotations

from .version_status import current_status


def _progress(status: str, progress: dict | None) -> float:
    if status in ("ready", "failed"):
        return 100.0
    return float(progress["percent"]) if progress else 0.0


def _iso(value):
    return value.isoformat().replace("+00:00", "Z") if value else None


def project_view(p: dict) -> dict:
    return {"id": p["_id"], "name": p["name"], "created_at": _iso(p.get("created_at"))}


def asset_view(a: dict) -> dict:
    return {"id": a["_id"], "project_id": a["project_id"], "name": a["name"]}


def version_view(v: dict, states: list[dict] | None = None, progress: dict | None = None) -> dict:
    """A version on the wire; its status is derived from its recorded states."""
    status = current_status(states or [])
    return {
        "id": v["_id"],
        "project_id": v["project_id"],
        "asset_id": v["asset_id"],
        "asset_name": v["asset_name"],
        "number": v["number"],
        "status": status["status"],
        "progress": _progress(status["status"], progress),
        "failure": {"code": status.get("code"), "reason": status.get("reason")} if status["status"] == "failed" else None,
        "renditions": status.get("renditions"),
        "notes": status.get("notes", []),
        "filename": v["filename"],
        "size": v["size"],
        "sha256": v["sha256"],
        # Where the master is kept in the masters bucket: the review service cuts exact stills from it.
        "master_key": v.get("master_key"),
        "facts": v.get("facts", {}),
        "created_at": _iso(v.get("created_at")),
        "created_by": v.get("created_by"),
    }


def member_view(m: dict, user) -> dict:
    """A membership on the wire, with the user's name and e-mail (None if the user is gone)."""
    return {
        "project_id": m["project_id"],
        "user_id": m["user_id"],
        "email": user.email if user else None,
        "name": user.name if user else None,
        "role": m["role"],
        "added_at": _iso(m.get("added_at")),
    }
