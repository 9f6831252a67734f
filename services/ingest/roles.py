"""Who may do what in a project: the member roles and what each allows (pure rules).

Roles are cumulative: an owner can do what an editor can, an editor what a
viewer can. Admins are not members; they may do everything in every project.
"""
from __future__ import annotations

ROLES = ("owner", "editor", "viewer")  # most to least

# Each action, and the least role that may do it.
ACTIONS = {
    "view": "viewer",            # see the project, its assets and versions; watch
    "comment": "viewer",         # notes
    "upload": "editor",          # new versions
    "manage_members": "owner",
    "manage_links": "owner",
    "manage_gates": "owner",
}

# What a role's 403 message calls the action.
ACTION_WORDS = {
    "view": "see this project",
    "comment": "write notes",
    "upload": "upload",
    "manage_members": "manage members",
    "manage_links": "manage review links",
    "manage_gates": "manage gates",
}


def can(role: str | None, action: str) -> bool:
    """Whether a member with `role` (None: not a member) may do `action`."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    if role not in ROLES:
        return False
    return ROLES.index(role) <= ROLES.index(ACTIONS[action])


def roles_that_can(action: str) -> list[str]:
    """The roles allowed to do `action`, most powerful first."""
    return [role for role in ROLES if can(role, action)]


def refusal(role: str, action: str) -> str:
    """Why a member may not do something, naming their role and the roles that may."""
    who = " or ".join(reversed(roles_that_can(action)))  # "editor or owner"
    return f"You are {_a(role)} in this project; only {_a(who)} can {ACTION_WORDS[action]}."


def _a(noun: str) -> str:
    return ("an " if noun[0] in "aeiou" else "a ") + noun


def check_role(value: object) -> str:
    """A role given by a client, or ValueError naming the choices."""
    if value not in ROLES:
        raise ValueError(f"The role must be one of {', '.join(ROLES)}.")
    return value


def owners_left(members: list[dict], user_id: str, new_role: str | None) -> int:
    """How many owners a project would have if `user_id` got `new_role` (None: removed)."""
    return sum(1 for m in members if m["user_id"] != user_id and m["role"] == "owner") + (new_role == "owner")
