"""What a viewing session actually played, as pure functions: frame ranges
reported by the page, merged, and the share of the version's frames they
cover (not time on the page: a replay counts once, a skip counts nothing)."""
from __future__ import annotations

MAX_RANGES_PER_REPORT = 200


class BadRanges(ValueError):
    pass


def check_ranges(ranges: object, frames: int) -> list[list[int]]:
    """Reported ranges [[first, last], …] (inclusive frame numbers), clipped to the version."""
    if not isinstance(ranges, list) or len(ranges) > MAX_RANGES_PER_REPORT:
        raise BadRanges(f"'ranges' is a list of at most {MAX_RANGES_PER_REPORT} [first, last] frame pairs.")
    clean = []
    for pair in ranges:
        if (not isinstance(pair, list) or len(pair) != 2
                or not all(isinstance(f, int) and not isinstance(f, bool) for f in pair)):
            raise BadRanges("Each range is [first_frame, last_frame], whole numbers.")
        first, last = pair
        if first < 0 or last < first:
            raise BadRanges(f"The range {pair} runs backwards or before frame 0.")
        if frames > 0:
            if first >= frames:
                continue
            last = min(last, frames - 1)
        clean.append([first, last])
    return clean


def merge_ranges(ranges: list[list[int]]) -> list[list[int]]:
    """Overlapping or touching inclusive ranges joined, in order."""
    merged: list[list[int]] = []
    for first, last in sorted(ranges):
        if merged and first <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], last)
        else:
            merged.append([first, last])
    return merged


def percent_watched(ranges: list[list[int]], frames: int) -> float:
    """The share of the version's frames played at least once, 0-100, one decimal."""
    if frames <= 0:
        return 0.0
    played = sum(last - first + 1 for first, last in merge_ranges(ranges))
    return round(min(100.0, 100.0 * played / frames), 1)


# playback_progress events: not one per report (the page reports every few
# seconds), but when a session reaches another quarter of the version, and
# when the viewing ends (the page goes, or the media ends) with something played.
PROGRESS_STEP = 25.0  # percent


def progress_milestone(percent_before: float, percent_after: float, ended: bool,
                       watched: list[list[int]]) -> str | None:
    """Why this report deserves a playback_progress event, as a key for its event id; None if not.

    The key makes the event idempotent: two reports that reach the same
    quarter, or end on the same ranges, record one event.
    """
    if ended and watched:
        return "end:" + ",".join(f"{a}-{b}" for a, b in watched)
    step = int(percent_after // PROGRESS_STEP)
    if step > int(percent_before // PROGRESS_STEP):
        return f"step:{step}"
    return None


def as_objects(ranges: list[list[int]]) -> list[dict]:
    """[[a, b], …] as [{"first": a, "last": b}, …]: events and FerretDB take no nested arrays."""
    return [{"first": a, "last": b} for a, b in ranges]
