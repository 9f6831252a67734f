import pytest

from services.ingest.naming import BadName, check_filename, default_asset_name
from services.ingest.uploads import MAX_PARTS, MIN_PART, part_count, part_size_for


@pytest.mark.parametrize("name", ["../etc/passwd", "a/b.mov", "a\\b.mov", "bad\nname.mov", "bell\x07.mov", "", "  ", "..", "rtl\u202eevil.mov"])
def test_file_names_with_paths_or_control_characters_are_refused(name):
    with pytest.raises(BadName):
        check_filename(name)


@pytest.mark.parametrize("name", ["hero_v1.mov", "Hero 60s (final).mp4", "été.mxf", "a.b.c.mov"])
def test_plain_file_names_are_kept_as_given(name):
    assert check_filename(name) == name


def test_asset_name_defaults_to_the_file_stem():
    assert default_asset_name("Hero 60s.mov") == "Hero 60s"
    assert default_asset_name("archive.tar.gz") == "archive.tar"
    assert default_asset_name("noext") == "noext"


@pytest.mark.parametrize("size", [1, MIN_PART, 5 * 1024**3, 200 * 1024**3, 5 * 1024**4])
def test_part_size_keeps_parts_within_s3_limits(size):
    part = part_size_for(size)
    assert part >= MIN_PART
    assert part_count(size, part) <= MAX_PARTS
    assert (part_count(size, part) - 1) * part < size <= part_count(size, part) * part


def test_a_completion_claim_holds_until_its_lease_ends_or_it_finishes():
    from datetime import datetime, timedelta, timezone

    from services.ingest.completions import claim_is_live
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    assert claim_is_live({"lease_until": now + timedelta(seconds=5), "finished": False}, now)
    assert not claim_is_live({"lease_until": now - timedelta(seconds=1), "finished": False}, now)
    assert not claim_is_live({"lease_until": now + timedelta(seconds=5), "finished": True}, now)
