"""Part arithmetic, file identity and the checks made before anything is sent (pure)."""
import hashlib
import os

import pytest

from framegate.config import FramegateError
from framegate.batch import LocalFile, fingerprint_of, local_files
from framegate.transfer import part_count, part_range

MiB = 1024 * 1024


@pytest.mark.parametrize("size, part_size, count", [
    (1, 16 * MiB, 1), (16 * MiB, 16 * MiB, 1), (16 * MiB + 1, 16 * MiB, 2), (100, 10, 10), (101, 10, 11), (0, 10, 1),
])
def test_part_count(size, part_size, count):
    assert part_count(size, part_size) == count


def test_part_ranges_tile_the_file_exactly():
    size, part_size = 1000, 300
    ranges = [part_range(n, part_size, size) for n in range(1, part_count(size, part_size) + 1)]
    assert ranges == [(0, 300), (300, 600), (600, 900), (900, 1000)]


def test_the_last_part_of_an_exact_multiple_is_full():
    assert part_range(2, 16 * MiB, 32 * MiB) == (16 * MiB, 32 * MiB)


@pytest.mark.parametrize("number", [0, 5, -1])
def test_parts_outside_the_file_are_refused(number):
    with pytest.raises(ValueError):
        part_range(number, 300, 1000)


def test_part_size_must_be_positive():
    with pytest.raises(ValueError):
        part_count(10, 0)


def test_fingerprint_is_sha256_of_path_size_and_mtime():
    assert fingerprint_of("/a/b.mov", 10, 123) == hashlib.sha256(b"/a/b.mov|10|123").hexdigest()


def test_fingerprint_is_stable_until_the_file_changes(tmp_path):
    path = tmp_path / "Hero 60s.mov"
    path.write_bytes(b"x" * 10)
    first = LocalFile.from_path(path)
    assert LocalFile.from_path(path).fingerprint == first.fingerprint
    os.utime(path, ns=(first.mtime_ns + 10**9, first.mtime_ns + 10**9))
    assert LocalFile.from_path(path).fingerprint != first.fingerprint
    assert not first.unchanged()


def test_fingerprint_follows_the_real_path_but_the_name_is_the_one_given(tmp_path):
    real = tmp_path / "render_0042.mov"
    real.write_bytes(b"x")
    link = tmp_path / "latest.mov"
    link.symlink_to(real)
    via_link, direct = LocalFile.from_path(link), LocalFile.from_path(real)
    assert via_link.fingerprint == direct.fingerprint
    assert via_link.name == "latest.mov"


def test_spec_names_the_asset_only_when_asked(tmp_path):
    path = tmp_path / "Hero 60s.mov"
    path.write_bytes(b"abc")
    f = LocalFile.from_path(path)
    assert f.spec() == {"filename": "Hero 60s.mov", "size": 3, "fingerprint": f.fingerprint}
    assert f.spec("Hero")["asset"] == "Hero"


def test_every_bad_path_is_reported_before_anything_is_sent(tmp_path):
    (tmp_path / "ok.mov").write_bytes(b"x")
    with pytest.raises(FramegateError) as err:
        local_files([tmp_path / "ok.mov", tmp_path / "missing.mov", tmp_path])
    assert "missing.mov: no such file" in str(err.value)
    assert "is a directory" in str(err.value)


def test_the_same_file_twice_is_uploaded_once(tmp_path):
    (tmp_path / "a.mov").write_bytes(b"x")
    files = local_files([tmp_path / "a.mov", str(tmp_path / "a.mov"), tmp_path / "." / "a.mov"])
    assert len(files) == 1
