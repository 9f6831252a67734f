"""The pure parts of `framegate note add` and `notes`: the retry key and the one-line note."""
from framegate.cli_notes import note_key, note_line


def test_the_same_note_gets_the_same_key_and_any_change_a_new_one():
    key = note_key("v1", 30, 40, "Logo too small", "client")
    assert key == note_key("v1", 30, 40, "Logo too small", "client") and 8 <= len(key) <= 128
    changed = [note_key("v2", 30, 40, "Logo too small", "client"), note_key("v1", 31, 40, "Logo too small", "client"),
               note_key("v1", 30, None, "Logo too small", "client"), note_key("v1", 30, 40, "Logo too big", "client"),
               note_key("v1", 30, 40, "Logo too small", "internal")]
    assert len({key, *changed}) == 6


def test_a_note_line_shows_its_range_and_keeps_to_one_line():
    note = {"timecode": "01:01:00;02", "to_timecode": "01:01:00;12", "status": "open", "visibility": "internal",
            "author_name": "Ann", "text": "Cut this\nshot"}
    assert note_line(note) == "01:01:00;02-01:01:00;12  open  internal  Ann: Cut this shot"
    assert note_line({**note, "to_timecode": None}).startswith("01:01:00;02  open")
