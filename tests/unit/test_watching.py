"""What a viewing session played: frame ranges merged, percent of the version's frames."""
from __future__ import annotations

import pytest

from services.review.access_log import device_of, ranges_text, to_csv
from services.review.watching import (BadRanges, as_objects, check_ranges, merge_ranges, percent_watched,
                                     progress_milestone)


def test_overlapping_and_touching_ranges_merge_in_order():
    assert merge_ranges([[50, 60], [0, 9], [10, 20], [55, 70], [100, 100]]) == [[0, 20], [50, 70], [100, 100]]
    assert merge_ranges([]) == []


def test_a_replay_counts_once_and_a_skip_not_at_all():
    # 0-49 watched twice, 150-199 once: 100 of 200 frames.
    assert percent_watched([[0, 49], [0, 49], [150, 199]], 200) == 50.0
    assert percent_watched([[0, 199]], 200) == 100.0
    assert percent_watched([[0, 0]], 3) == 33.3
    assert percent_watched([[0, 10]], 0) == 0.0


def test_reported_ranges_are_clipped_to_the_version():
    assert check_ranges([[190, 400], [500, 600]], 200) == [[190, 199]]


@pytest.mark.parametrize("ranges", [[[5, 1]], [[-1, 3]], [["0", 3]], [[0, 1, 2]], "0-5", [[True, 3]],
                                    [[0, 1]] * 201])
def test_nonsense_ranges_are_refused(ranges):
    with pytest.raises(BadRanges):
        check_ranges(ranges, 100)


def test_devices_read_from_user_agents():
    mac_chrome = ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
                  "Chrome/120.0 Safari/537.36")
    iphone = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
              "Version/17.0 Mobile/15E148 Safari/604.1")
    assert device_of(mac_chrome) == "Chrome on macOS"
    assert device_of(iphone) == "Safari on iPhone"
    assert device_of("") == "unknown browser"


def test_the_access_csv_keeps_formulas_as_text():
    row = {"opened_at": "2026-12-02T10:00:00Z", "name": "=HYPERLINK(\"x\")", "email": "a@b.example",
           "device": "Chrome on Linux", "ip": "10.0.0.1", "version_id": "v1", "watched": [[0, 9], [20, 20]],
           "percent_watched": 11.0, "downloads": 2}
    text = to_csv([row])
    assert "'=HYPERLINK" in text and "0-9, 20" in text and text.splitlines()[1].endswith(",11.0,2")
    assert ranges_text([[3, 3]]) == "3"


def test_progress_is_announced_per_quarter_reached_not_per_report():
    assert progress_milestone(0.0, 10.0, False, [[0, 9]]) is None
    assert progress_milestone(10.0, 30.0, False, [[0, 29]]) == "step:1"
    assert progress_milestone(30.0, 45.0, False, [[0, 44]]) is None  # still the same quarter
    assert progress_milestone(30.0, 80.0, False, [[0, 79]]) == "step:3"  # a jump: one event, the latest quarter
    assert progress_milestone(99.0, 100.0, False, [[0, 99]]) == "step:4"


def test_the_end_of_a_viewing_is_announced_once_per_set_of_ranges():
    assert progress_milestone(30.0, 30.0, True, [[0, 14], [20, 29]]) == "end:0-14,20-29"
    assert progress_milestone(0.0, 0.0, True, []) is None  # nothing played: nothing to say
    assert as_objects([[0, 14], [20, 29]]) == [{"first": 0, "last": 14}, {"first": 20, "last": 29}]
