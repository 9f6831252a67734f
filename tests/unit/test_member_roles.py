"""Who may do what in a project: owner, editor, viewer (and nobody)."""
import pytest

from services.ingest.roles import ACTIONS, ROLES, can, check_role, owners_left, refusal, roles_that_can

EXPECTED = {
    "owner": {"view", "comment", "upload", "manage_members", "manage_links", "manage_gates"},
    "editor": {"view", "comment", "upload"},
    "viewer": {"view", "comment"},
    None: set(),
}


@pytest.mark.parametrize("role", list(EXPECTED))
def test_each_role_may_do_exactly_its_actions(role):
    assert {action for action in ACTIONS if can(role, action)} == EXPECTED[role]


def test_an_unknown_role_may_do_nothing():
    assert not any(can("admin", action) or can("Owner", action) for action in ACTIONS)


def test_an_unknown_action_is_a_programming_error():
    with pytest.raises(ValueError):
        can("owner", "delete_everything")


def test_the_refusal_names_the_role_and_who_may():
    assert refusal("viewer", "upload") == "You are a viewer in this project; only an editor or owner can upload."
    assert refusal("editor", "manage_members") == "You are an editor in this project; only an owner can manage members."
    assert roles_that_can("upload") == ["owner", "editor"]


@pytest.mark.parametrize("value", ["owner", "editor", "viewer"])
def test_roles_given_by_clients_are_checked(value):
    assert check_role(value) == value


@pytest.mark.parametrize("value", [None, "", "admin", "OWNER", 3, ["owner"]])
def test_anything_else_is_not_a_role(value):
    with pytest.raises(ValueError, match="owner, editor, viewer"):
        check_role(value)


def test_owners_left_counts_the_owners_after_a_change():
    members = [{"user_id": "a", "role": "owner"}, {"user_id": "b", "role": "editor"}]
    assert owners_left(members, "a", None) == 0        # removing the only owner
    assert owners_left(members, "a", "viewer") == 0    # demoting the only owner
    assert owners_left(members, "b", "owner") == 2     # promoting another
    assert owners_left(members, "b", None) == 1
    assert ROLES == ("owner", "editor", "viewer")
