"""Project access for one request: the caller's role in a project, and the refusals.

Someone who is not a member gets the same 404 as for an id that does not
exist, so ids of other projects (and their assets, versions and uploads) do
not reveal that they exist. A member whose role does not allow an action gets
a 403 that names their role. Admins reach every project.
"""
from __future__ import annotations

from services.common.web import ApiError

from . import records
from .roles import can, refusal


def role_of(db, user, project_id: str) -> str | None:
    """The user's role in the project, or None if they are not a member."""
    member = records.get_member(db, project_id, user.id)
    return member["role"] if member else None


def require(db, user, project_id: object, action: str = "view", not_found: ApiError | None = None) -> dict:
    """The project, if `user` may do `action` in it; else 404 (not a member) or 403 (role too low)."""
    missing = not_found or ApiError(404, "unknown_project", f"There is no project with id {project_id!r}.")
    project = records.get_project(db, project_id) if isinstance(project_id, str) else None
    if project is None:
        raise missing
    if user.is_admin:
        return project
    role = role_of(db, user, project_id)
    if role is None:
        raise missing
    if not can(role, action):
        raise ApiError(403, "role_forbids", refusal(role, action), role=role)
    return project


def require_version(db, user, version_id: str, action: str = "view") -> dict:
    """The version, if `user` may do `action` in its project; else the same 404 as a missing one."""
    missing = ApiError(404, "unknown_version", f"There is no version {version_id!r}.")
    version = records.get_version(db, version_id)
    if version is None:
        raise missing
    require(db, user, version["project_id"], action, not_found=missing)
    return version
