from fractions import Fraction

import pytest

from services.common.timecode import (
    frames_per_day,
    frames_to_smpte,
    is_drop_frame_rate,
    nominal_fps,
    parse_rate,
    smpte_to_frames,
)

NTSC = "30000/1001"
NTSC60 = "60000/1001"


@pytest.mark.parametrize("text,expected", [
    ("24000/1001", Fraction(24000, 1001)),
    ("30000/1001", Fraction(30000, 1001)),
    ("60000/1001", Fraction(60000, 1001)),
    ("25/1", Fraction(25)),
    ("25", Fraction(25)),
    ("29.97", Fraction(30000, 1001)),
    (Fraction(50), Fraction(50)),
    (24, Fraction(24)),
])
def test_parse_rate(text, expected):
    assert parse_rate(text) == expected


@pytest.mark.parametrize("bad", ["0/0", "0/1", "-25", "abc", ""])
def test_parse_rate_rejects_nonsense(bad):
    with pytest.raises(ValueError):
        parse_rate(bad)


@pytest.mark.parametrize("rate,nominal,drop", [
    ("24000/1001", 24, False), ("24/1", 24, False), ("25/1", 25, False),
    ("30000/1001", 30, True), ("30/1", 30, False), ("50/1", 50, False),
    ("60000/1001", 60, True), ("60/1", 60, False),
])
def test_nominal_and_drop_frame_rates(rate, nominal, drop):
    assert nominal_fps(rate) == nominal
    assert is_drop_frame_rate(rate) is drop


@pytest.mark.parametrize("tc,rate,df,frame", [
    ("00:00:00:00", "24000/1001", False, 0),
    ("00:59:59:23", "24000/1001", False, 86399),
    ("01:00:00:00", "24000/1001", False, 86400),
    ("10:00:00:00", "25/1", False, 900000),
    ("23:59:59:24", "25/1", False, 2159999),
    ("01:00:00:00", NTSC, False, 108000),
    ("00:00:59;29", NTSC, True, 1799),
    ("00:01:00;02", NTSC, True, 1800),
    ("00:09:59;29", NTSC, True, 17981),
    ("00:10:00;00", NTSC, True, 17982),
    ("00:11:00;02", NTSC, True, 17982 + 1800),
    ("01:00:00;00", NTSC, True, 107892),
    ("23:59:59;29", NTSC, True, 2589407),
    ("00:00:59;59", NTSC60, True, 3599),
    ("00:01:00;04", NTSC60, True, 3600),
    ("00:10:00;00", NTSC60, True, 35964),
    ("01:00:00;00", NTSC60, True, 215784),
])
def test_known_values_both_ways(tc, rate, df, frame):
    assert smpte_to_frames(tc, rate, df) == frame
    assert frames_to_smpte(frame, rate, df) == tc


def test_drop_frame_minute_boundary_skips_two_labels():
    before = smpte_to_frames("00:00:59;29", NTSC, True)
    assert frames_to_smpte(before + 1, NTSC, True) == "00:01:00;02"


def test_every_tenth_minute_is_not_dropped():
    assert frames_to_smpte(smpte_to_frames("00:09:59;29", NTSC, True) + 1, NTSC, True) \
        == "00:10:00;00"
    assert frames_to_smpte(smpte_to_frames("00:19:59;59", NTSC60, True) + 1, NTSC60, True) \
        == "00:20:00;00"


@pytest.mark.parametrize("tc,rate", [("00:01:00;00", NTSC), ("00:01:00;01", NTSC),
                                     ("00:02:00;03", NTSC60)])
def test_skipped_drop_frame_labels_do_not_exist(tc, rate):
    with pytest.raises(ValueError, match="does not exist"):
        smpte_to_frames(tc, rate, True)


@pytest.mark.parametrize("tc,rate,df", [
    ("00:00:00:25", "25/1", False), ("00:60:00:00", "25/1", False),
    ("24:00:00:00", "25/1", False), ("1:2:3", "25/1", False), ("garbage", NTSC, True),
    ("00:00:00:00", "25/1", True),  # no drop-frame at 25 fps
])
def test_invalid_timecodes_raise(tc, rate, df):
    with pytest.raises(ValueError):
        smpte_to_frames(tc, rate, df)


def test_separator_does_not_override_the_flag():
    assert smpte_to_frames("00:01:00:02", NTSC, True) == 1800
    assert smpte_to_frames("00:01:00;00", NTSC, False) == 1800


def _labels_by_counting(rate_nominal: int, dropped: int, count: int):
    """Independent oracle: tick a label clock one frame at a time, skipping dropped labels."""
    hh = mm = ss = ff = 0
    for _ in range(count):
        yield f"{hh:02d}:{mm:02d}:{ss:02d};{ff:02d}"
        ff += 1
        if ff == rate_nominal:
            ff, ss = 0, ss + 1
            if ss == 60:
                ss, mm = 0, mm + 1
                if mm == 60:
                    mm, hh = 0, hh + 1
                if mm % 10:
                    ff = dropped


@pytest.mark.parametrize("rate,nominal,dropped", [(NTSC, 30, 2), (NTSC60, 60, 4)])
def test_drop_frame_matches_a_ticking_clock_for_11_minutes(rate, nominal, dropped):
    count = nominal * 60 * 11
    for frame, label in enumerate(_labels_by_counting(nominal, dropped, count)):
        assert frames_to_smpte(frame, rate, True) == label
        assert smpte_to_frames(label, rate, True) == frame


@pytest.mark.parametrize("rate,df", [("24000/1001", False), ("25/1", False), (NTSC, True),
                                     (NTSC, False), (NTSC60, True)])
def test_round_trip_sampled_over_24_hours(rate, df):
    day = frames_per_day(rate, df)
    samples = list(range(0, day, 997)) + [day - 1]
    for frame in samples:
        label = frames_to_smpte(frame, rate, df)
        assert smpte_to_frames(label, rate, df) == frame
        assert (";" in label) is df


def test_day_lengths():
    assert frames_per_day("25/1", False) == 2_160_000
    assert frames_per_day(NTSC, True) == 2_589_408
    assert frames_per_day(NTSC60, True) == 5_178_816


def test_start_timecode_offsets_and_wraps_at_24_hours():
    start = smpte_to_frames("01:00:00;00", NTSC, True)
    assert frames_to_smpte(0, NTSC, True, start_frames=start) == "01:00:00;00"
    assert frames_to_smpte(1800, NTSC, True, start_frames=start) == "01:01:00;02"
    start25 = smpte_to_frames("23:59:59:24", "25/1", False)
    assert frames_to_smpte(1, "25/1", False, start_frames=start25) == "00:00:00:00"
    assert frames_to_smpte(-1, "25/1", False) == "23:59:59:24"
