"""A project's members: list them (any member), add, change and remove them
(the project's owners and admins)."""
from __future__ import annotations

from flask import Blueprint, g, jsonify

from services.common import accounts
from services.common.web import ApiError, json_body

from . import access, records
from .roles import check_role, owners_left
from .views import member_view


def member_blueprint(db) -> Blueprint:
    bp = Blueprint("members", __name__)

    def role_from(body: dict) -> str:
        try:
            return check_role(body.get("role"))
        except ValueError as err:
            raise ApiError(400, "bad_role", str(err)) from None

    def existing(project_id: str, user_id: str) -> dict:
        member = records.get_member(db, project_id, user_id)
        if member is None:
            raise ApiError(404, "unknown_member", f"User {user_id!r} is not a member of this project.")
        return member

    def keep_an_owner(project_id: str, user_id: str, new_role: str | None) -> None:
        # A project always keeps an owner, who can manage it without an admin.
        # (Two owners demoting each other at the same moment can still both
        # succeed: FerretDB has no atomic check-and-set; an admin repairs it.)
        if owners_left(records.list_members(db, project_id), user_id, new_role) == 0:
            raise ApiError(409, "last_owner", "A project needs an owner: make someone else owner first.")

    def answer(member: dict):
        return member_view(member, accounts.find_user(db, user_id=member["user_id"]))

    @bp.get("/api/v1/projects/<project_id>/members")
    def members(project_id):
        access.require(db, g.user, project_id, "view")
        found = records.list_members(db, project_id)
        users = accounts.users_by_id(db, [m["user_id"] for m in found])
        return jsonify({"members": [member_view(m, users.get(m["user_id"])) for m in found]})

    @bp.post("/api/v1/projects/<project_id>/members")
    def add_member(project_id):
        access.require(db, g.user, project_id, "manage_members")
        body = json_body()
        role = role_from(body)
        user_id, email = body.get("user_id"), body.get("email")
        if not isinstance(user_id, str) and not isinstance(email, str):
            raise ApiError(400, "no_user", "Name the user to add: 'email' or 'user_id'.")
        user = accounts.find_user(db, user_id=user_id if isinstance(user_id, str) else None,
                                  email=email if isinstance(email, str) else None)
        if user is None:
            raise ApiError(404, "unknown_user", f"There is no user {email or user_id!r}; an admin adds users first.")
        member = records.add_member(db, project_id, user.id, role, g.user.id)
        if member is None:
            raise ApiError(409, "already_member", f"{user.email} is already a member; change their role instead.",
                           member=answer(records.get_member(db, project_id, user.id)))
        return jsonify(member_view(member, user)), 201

    @bp.patch("/api/v1/projects/<project_id>/members/<user_id>")
    def change_member(project_id, user_id):
        access.require(db, g.user, project_id, "manage_members")
        role = role_from(json_body())
        member = existing(project_id, user_id)
        if member["role"] != role:
            keep_an_owner(project_id, user_id, role)
            records.set_member_role(db, project_id, user_id, role, g.user.id)
        return jsonify(answer({**member, "role": role}))

    @bp.delete("/api/v1/projects/<project_id>/members/<user_id>")
    def remove_member(project_id, user_id):
        access.require(db, g.user, project_id, "manage_members")
        existing(project_id, user_id)
        keep_an_owner(project_id, user_id, None)
        records.remove_member(db, project_id, user_id, g.user.id)
        return "", 204

    return bp
