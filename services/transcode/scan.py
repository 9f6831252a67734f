"""Is an untagged master interlaced? ffmpeg's idet looks at the pictures.

Most masters say progressive or name their field order; some (MPEG-4 Part 2,
Motion JPEG, raw video, some MXF) say nothing. For those, and for the field
orders containers disagree on (tb/bt), the first frames go through idet and
its multi-frame counts decide. `decide_scan` is pure; `detect_fields` runs ffmpeg.
"""
from __future__ import annotations

import logging
import re
import subprocess
from dataclasses import dataclass, replace
from pathlib import Path

from services.transcode.ffmpeg_args import INPUT_FORMATS
from services.transcode.job import Source

DETECT_FRAMES = 250  # enough to see motion; a 90-minute film is not read through
DETECT_TIMEOUT_SECONDS = 120
_MULTI = re.compile(r"Multi frame detection: TFF:\s*(\d+)\s+BFF:\s*(\d+)\s+Progressive:\s*(\d+)"
                    r"\s+Undetermined:\s*(\d+)")


@dataclass(frozen=True)
class FieldCounts:
    """idet's multi-frame verdicts over the frames it saw."""

    tff: int = 0
    bff: int = 0
    progressive: int = 0
    undetermined: int = 0


def needs_detection(source: Source) -> bool:
    """True when the stream does not say clearly how it was scanned."""
    return source.kind == "video" and source.field_order not in ("progressive", "tt", "bb")


def decide_scan(source: Source, counts: FieldCounts | None) -> Source:
    """The source with `interlaced` and `field_parity` settled by what idet counted.

    Interlaced when more frames look interlaced than progressive (static frames,
    undetermined, do not count); the field seen first more often is the parity."""
    if counts is None:
        return source
    interlaced_votes = counts.tff + counts.bff
    parity = None
    if interlaced_votes:
        parity = "tff" if counts.tff >= counts.bff else "bff"
    if source.interlaced:  # tagged tb/bt: interlaced for sure; idet names the parity
        return replace(source, field_parity=parity or source.field_parity)
    if interlaced_votes > counts.progressive and interlaced_votes >= 2:
        return replace(source, interlaced=True, field_parity=parity, scan_detected=True)
    return source


def parse_idet(stderr: str) -> FieldCounts | None:
    """The last multi-frame summary idet logged, or None if it logged none."""
    found = _MULTI.findall(stderr)
    if not found:
        return None
    return FieldCounts(*(int(n) for n in found[-1]))


def detect_fields(master: Path, log: logging.Logger, threads: int = 0) -> FieldCounts | None:
    """Run idet over the master's first frames; None if ffmpeg could not say."""
    argv = ["ffmpeg", "-nostdin", "-hide_banner", "-nostats", "-loglevel", "info",
            "-protocol_whitelist", "file", "-format_whitelist", ",".join(INPUT_FORMATS)]
    if threads > 0:
        argv += ["-threads", str(threads)]
    argv += ["-i", f"file:{master.resolve()}", "-map", "0:v:0", "-frames:v", str(DETECT_FRAMES),
             "-vf", "idet", "-an", "-f", "null", "-"]
    try:
        done = subprocess.run(argv, capture_output=True, timeout=DETECT_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        log.warning("field detection timed out; the master is taken as progressive")
        return None
    stderr = done.stderr.decode("utf-8", "replace")
    counts = parse_idet(stderr)
    if done.returncode != 0 or counts is None:
        log.warning("field detection failed; the master is taken as progressive",
                    extra={"argv": argv, "stderr_tail": stderr[-2000:]})
        return None
    return counts
