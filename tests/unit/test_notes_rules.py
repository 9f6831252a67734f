"""The rules of notes: valid frames, ranges, drawings and text; who sees
what; which revision is current; whom a note mentions."""
from __future__ import annotations

import pytest

from services.review.notes_rules import (MAX_POINTS, MAX_SHAPES, NoteRefused, Revision, check_drawing, check_frames,
                                         check_status, check_text, current, mention_handles, mentioned,
                                         visible_notes)


def refused(code, fn, *args):
    with pytest.raises(NoteRefused) as err:
        fn(*args)
    assert err.value.code == code, err.value.message
    return err.value.message


def test_frames_inside_the_version_and_ranges_forwards():
    assert check_frames(0, None, 48) == (0, None)
    assert check_frames(10, 20, 48) == (10, 20)
    assert check_frames(10, 10, 48) == (10, None)  # a one-frame range is a point
    assert "frames 0 to 47" in refused("frame_outside_version", check_frames, 48, None, 48)
    refused("frame_outside_version", check_frames, -1, None, 48)
    refused("frame_outside_version", check_frames, 10, 48, 48)
    assert "before it starts" in refused("range_backwards", check_frames, 20, 10, 48)
    refused("bad_frame", check_frames, 1.5, None, 48)
    refused("bad_frame", check_frames, True, None, 48)
    refused("bad_frame", check_frames, "3", None, 48)


def test_text_is_trimmed_plain_text_never_empty_or_oversized():
    assert check_text("  <b>too</b> dark\n") == "<b>too</b> dark"  # kept as text; pages escape it
    refused("empty_note", check_text, "   ")
    refused("empty_note", check_text, None)
    refused("note_too_long", check_text, "x" * 5001)
    refused("bad_characters", check_text, "bell\x07")


def test_drawing_shapes_are_normalised_and_absurd_ones_refused():
    shapes = check_drawing([
        {"tool": "rect", "x": 0.27, "y": 0.12, "w": 0.31, "h": 0.53, "color": "#f22237", "size": 8, "evil": "<script>"},
        {"tool": "arrow", "x1": 0, "y1": 0, "x2": 1, "y2": 1},
        {"tool": "freehand", "points": [[0.1, 0.1], [0.2, 0.25]]},
        {"tool": "text", "x": 0.5, "y": 0.5, "text": " logo "},
    ])
    assert shapes[0] == {"tool": "rect", "x": 0.27, "y": 0.12, "w": 0.31, "h": 0.53, "color": "#F22237", "size": 8}
    assert shapes[3]["text"] == "logo"
    assert check_drawing(None) == []
    refused("bad_drawing", check_drawing, [{"tool": "rect", "x": 5, "y": 0, "w": 0.1, "h": 0.1}])
    refused("bad_drawing", check_drawing, [{"tool": "rect", "x": 0.9, "y": 0, "w": 0.5, "h": 0.1}])
    refused("bad_drawing", check_drawing, [{"tool": "line", "x1": float("nan"), "y1": 0, "x2": 1, "y2": 1}])
    refused("bad_drawing", check_drawing, [{"tool": "freehand", "points": [[0.1, 0.1]] * (MAX_POINTS + 1)}])
    refused("bad_drawing", check_drawing, [{"tool": "freehand", "points": [[0.1]]}])
    refused("bad_drawing", check_drawing, [{"tool": "laser"}])
    refused("bad_drawing", check_drawing, [{"tool": "rect", "x": 0, "y": 0, "w": 0.1, "h": 0.1, "color": "red"}])
    refused("drawing_too_big", check_drawing, [{"tool": "arrow", "x1": 0, "y1": 0, "x2": 1, "y2": 1}] * (MAX_SHAPES + 1))
    refused("bad_drawing", check_drawing, {"tool": "rect"})


def test_client_audience_never_sees_internal_notes_or_replies():
    notes = [
        {"id": "a", "visibility": "internal", "replies": [{"id": "a1", "visibility": "client"}]},
        {"id": "b", "visibility": "client", "replies": [{"id": "b1", "visibility": "internal"},
                                                         {"id": "b2", "visibility": "client"}]},
    ]
    client = visible_notes(notes, "client")
    assert [n["id"] for n in client] == ["b"] and [r["id"] for r in client[0]["replies"]] == ["b2"]
    team = visible_notes(notes, "team")
    assert [n["id"] for n in team] == ["a", "b"] and len(team[1]["replies"]) == 2
    with pytest.raises(ValueError):
        visible_notes(notes, "everyone")


def test_current_revision_is_the_highest_number_not_the_latest_listed():
    revs = [Revision("n", 2, "edited", "open", "client"), Revision("n", 3, "edited", "resolved", "client"),
            Revision("n", 1, "first", "open", "client")]
    assert current(revs).status == "resolved"


def test_mentions_by_email_or_name_of_members_only():
    members = {"ann@studio.example": "u-ann", "bo.lee@studio.example": "u-bo"}
    text = "@ann please check, cc @bo.lee@studio.example and @stranger; mail me at me@ann.example."
    assert mentioned(text, members) == ["u-ann", "u-bo"]
    assert mentioned("@ANN twice @ann", members) == ["u-ann"]
    # What pages highlight: the handles as written (lower case), only members', a sentence's full stop left out.
    assert mention_handles(text, members) == ["ann", "bo.lee@studio.example"]
    assert mention_handles("Thanks @Ann. And @ann again", members) == ["ann"]
    assert check_status("out_of_scope") == "out_of_scope"
    refused("bad_status", check_status, "done")
