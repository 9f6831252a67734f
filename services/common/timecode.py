"""SMPTE timecode arithmetic: frame numbers <-> "HH:MM:SS:FF", drop-frame aware.

Pure functions, no I/O. Rates are exact rationals (Fraction) because 29.97 is
really 30000/1001, and float rounding would move comments onto the wrong frame.

Drop-frame (SMPTE 12M) skips frame *labels*, never frames: at 29.97 the labels
;00 and ;01 are skipped at the start of every minute except every tenth
minute (;00-;03 at 59.94), so the displayed clock keeps up with wall time.
"""
from __future__ import annotations

import re
from fractions import Fraction

# Labels skipped per minute, by nominal rate. Only the NTSC rates have a
# standard drop-frame count; anything else is non-drop.
_DROPPED_PER_MINUTE = {30: 2, 60: 4}
_TIMECODE = re.compile(r"^(\d{1,2}):(\d{2}):(\d{2})([:;.,])(\d{2,3})$")
_DECIMAL_NTSC = {"23.976": "24000/1001", "23.98": "24000/1001", "29.97": "30000/1001",
                 "47.952": "48000/1001", "59.94": "60000/1001", "119.88": "120000/1001"}
RateLike = Fraction | str | int


def parse_rate(rate: RateLike) -> Fraction:
    """Parse "24000/1001", "25/1", "25", "29.97" or a Fraction into an exact rate."""
    if isinstance(rate, Fraction):
        value = rate
    elif isinstance(rate, int):
        value = Fraction(rate)
    elif isinstance(rate, str):
        text = rate.strip()
        # Decimal NTSC spellings mean the 1000/1001 rate, not the decimal.
        text = _DECIMAL_NTSC.get(text, text)
        try:
            value = Fraction(text)
        except (ValueError, ZeroDivisionError):
            raise ValueError(f"not a frame rate: {rate!r}") from None
    else:
        raise TypeError(f"frame rate must be a Fraction, str or int, not {type(rate).__name__}")
    if value <= 0:
        raise ValueError(f"frame rate must be positive: {rate!r}")
    return value


def nominal_fps(rate: RateLike) -> int:
    """The whole-number frame count a timecode second has (24 for 23.976, 30 for 29.97)."""
    value = parse_rate(rate)
    return max(1, int(value + Fraction(1, 2)))


def is_drop_frame_rate(rate: RateLike) -> bool:
    """True for the rates drop-frame timecode is defined for: 29.97 and 59.94."""
    value = parse_rate(rate)
    nominal = nominal_fps(value)
    return nominal in _DROPPED_PER_MINUTE and value == Fraction(nominal * 1000, 1001)


def frames_per_day(rate: RateLike, drop_frame: bool) -> int:
    """How many frames the timecode clock counts before it wraps at 24:00:00:00."""
    nominal = nominal_fps(rate)
    if drop_frame:
        _check_drop_frame(rate)
        return 24 * 6 * (nominal * 600 - _DROPPED_PER_MINUTE[nominal] * 9)
    return 24 * 3600 * nominal


def smpte_to_frames(tc: str, rate: RateLike, drop_frame: bool) -> int:
    """Frame count since 00:00:00:00 for a timecode label.

    `drop_frame` decides the counting; the separator (':' or ';') is not
    trusted because people type either. Labels that drop-frame skips raise.
    """
    match = _TIMECODE.match(tc.strip()) if isinstance(tc, str) else None
    if not match:
        raise ValueError(f"not a timecode (HH:MM:SS:FF): {tc!r}")
    hours, minutes, seconds, _, frames = (match.group(i) for i in range(1, 6))
    hh, mm, ss, ff = int(hours), int(minutes), int(seconds), int(frames)
    nominal = nominal_fps(rate)
    if hh > 23 or mm > 59 or ss > 59 or ff >= nominal:
        raise ValueError(f"timecode {tc!r} is out of range at {nominal} fps")
    total = (hh * 3600 + mm * 60 + ss) * nominal + ff
    if not drop_frame:
        return total
    _check_drop_frame(rate)
    dropped = _DROPPED_PER_MINUTE[nominal]
    if ss == 0 and ff < dropped and mm % 10 != 0:
        raise ValueError(f"timecode {tc!r} does not exist in drop-frame (labels skipped)")
    minutes_total = hh * 60 + mm
    return total - dropped * (minutes_total - minutes_total // 10)


def frames_to_smpte(frame: int, rate: RateLike, drop_frame: bool,
                    start_frames: int = 0) -> str:
    """Timecode label of `frame` for media whose first frame is `start_frames`.

    Wraps at 24 hours like a real timecode clock, so a negative offset before
    00:00:00:00 reads as 23:59:59:xx. Drop-frame labels use ';' before frames.
    """
    nominal = nominal_fps(rate)
    total = (start_frames + frame) % frames_per_day(rate, drop_frame)
    separator = ":"
    if drop_frame:
        separator = ";"
        dropped = _DROPPED_PER_MINUTE[nominal]
        per_minute = nominal * 60 - dropped
        per_ten_minutes = nominal * 600 - dropped * 9
        tens, rest = divmod(total, per_ten_minutes)
        # Add back the labels skipped so far; the first minute of each
        # ten-minute block skips none, hence the max().
        skipped_minutes = 9 * tens + max(0, (rest - dropped) // per_minute)
        total += dropped * skipped_minutes
    ff = total % nominal
    seconds_total = total // nominal
    hh, rem = divmod(seconds_total, 3600)
    mm, ss = divmod(rem, 60)
    return f"{hh:02d}:{mm:02d}:{ss:02d}{separator}{ff:0{2 if nominal <= 100 else 3}d}"


def _check_drop_frame(rate: RateLike) -> None:
    if not is_drop_frame_rate(rate):
        raise ValueError(f"drop-frame timecode is only defined for 29.97 and 59.94, not {rate}")
