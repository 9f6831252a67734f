"""The notes panel's config on the team's player (pages.notes_config): the team
notes API for that version, every action, the CSRF header; no panel on audio
and stills. On a review link's page (pages.link_notes_config): the link
session's notes API; notes, replies, status and edits of one's own only where
the link allows comments."""
from __future__ import annotations

from services.common.accounts import User
from services.common.web import CSRF_HEADER
from services.review.pages import link_notes_config, notes_config

USER = User(id="u1", email="ed@studio.example", name="Ed", role="member")


def test_a_video_gets_the_team_notes_api_and_every_action():
    config = notes_config({"id": "v9", "facts": {"kind": "video"}}, USER, "tok")
    assert config["notes_url"] == "/api/v1/review/versions/v9/notes"
    assert config["note_url"] == "/api/v1/review/notes/"
    assert config["export_url"] == "/api/v1/review/versions/v9/notes/export"
    assert config["headers"] == {CSRF_HEADER: "tok"}
    assert config["me"] == {"email": "ed@studio.example"}
    assert all(config[k] for k in ("can_comment", "can_reply", "can_change_status", "can_set_visibility"))


def test_audio_and_stills_have_no_notes_panel_yet():
    assert notes_config({"id": "v1", "facts": {"kind": "audio"}}, USER, "t") is None
    assert notes_config({"id": "v2", "facts": {"kind": "image"}}, USER, "t") is None
    assert notes_config({"id": "v3", "facts": {}}, USER, "t") is not None  # facts not probed yet: a video


SESSION = {"email": "cleo@client.example"}


def test_a_link_page_gets_its_session_notes_api_and_only_what_a_reviewer_may_do():
    config = link_notes_config({"id": "v9", "facts": {"kind": "video"}}, {"_id": "L1", "comments": True}, SESSION)
    assert config["notes_url"] == "/api/v1/review/link-sessions/L1/notes"
    assert config["note_url"] == "/api/v1/review/link-sessions/L1/notes/"  # + <note_id>/replies
    assert CSRF_HEADER in config["headers"]
    assert config["can_comment"] and config["can_reply"]
    # The server decides a link note's visibility; no exports for link sessions.
    assert not config["can_set_visibility"] and config["export_url"] is None
    # Status, and edits of the notes this e-mail wrote through this link.
    assert config["can_change_status"] and config["me"] == {"email": "cleo@client.example", "link_id": "L1"}


def test_a_link_without_comments_shows_the_notes_but_no_way_to_write():
    config = link_notes_config({"id": "v9", "facts": {}}, {"_id": "L1", "comments": False}, SESSION)
    assert config["notes_url"] == "/api/v1/review/link-sessions/L1/notes"
    assert not config["can_comment"] and not config["can_reply"]
    assert not config["can_change_status"] and config["me"] is None
    assert link_notes_config({"id": "v1", "facts": {"kind": "audio"}}, {"_id": "L1", "comments": True}, SESSION) is None
