"""Text the database cannot store is refused at the door (services/common/web.py)."""
from services.common.web import storable_text


def test_ordinary_text_numbers_and_nesting_are_storable():
    assert storable_text({"name": "Grade v2 — “final”", "files": [{"size": 3, "asset": "🎬"}], "n": None})


def test_a_nul_character_anywhere_is_not():
    assert not storable_text("a\x00b")
    assert not storable_text({"files": [{"filename": "x\x00.mov"}]})
    assert not storable_text({"key\x00": 1})


def test_an_unpaired_surrogate_is_not():
    assert not storable_text(["ok", "\ud800"])
    assert storable_text("\U0001f3ac")  # a pair, decoded, is one character
