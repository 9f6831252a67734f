"""The notes panel's config on the team's player (pages.notes_config): the team
notes API for that version, every action, the CSRF header; no panel on audio
and stills."""
from __future__ import annotations

from services.common.accounts import User
from services.common.web import CSRF_HEADER
from services.review.pages import notes_config

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
