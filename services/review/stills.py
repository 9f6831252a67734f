"""Stills of noted frames for the notes PDF, cut from the version's proxy MP4.

ffmpeg reads the proxy from the store over a short-lived presigned URL with
ranged reads, so neither the review pod's disk nor its memory holds the file.
"""
from __future__ import annotations

import logging
import subprocess
from datetime import timedelta
from fractions import Fraction

from services.common.storage import ObjectStore
from services.common.timecode import parse_rate

log = logging.getLogger(__name__)
STILL_WIDTH = 640
URL_LIFETIME = timedelta(minutes=10)


def seek_seconds(frame: int, rate: Fraction) -> float:
    """A time just before frame `frame` starts: an accurate seek outputs the first frame at or after it."""
    return float(max(Fraction(0), (Fraction(frame) - Fraction(1, 4)) / rate))


def still_of(url: str, frame: int, rate: Fraction, timeout: float = 30) -> bytes | None:
    """One JPEG of `frame`, or None when ffmpeg cannot cut it (the PDF then shows a blank)."""
    args = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-protocol_whitelist", "http,https,tcp,tls",
            "-ss", f"{seek_seconds(frame, rate):.6f}", "-i", url, "-frames:v", "1",
            "-vf", f"scale={STILL_WIDTH}:-2", "-f", "image2", "-c:v", "mjpeg", "-q:v", "3", "pipe:1"]
    try:
        done = subprocess.run(args, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        log.warning("still timed out", extra={"frame": frame})
        return None
    if done.returncode != 0 or not done.stdout:
        log.warning("still failed", extra={"frame": frame, "stderr": done.stderr[-500:].decode(errors="replace")})
        return None
    return done.stdout


def stills_for(store: ObjectStore):
    """A provider for export_file: (version, notes) -> {note_id: JPEG bytes}."""
    def provide(version: dict, notes: list[dict]) -> dict[str, bytes]:
        renditions = version.get("renditions") or {}
        if not renditions.get("proxy"):
            return {}
        url = store.presign_internal_get(renditions.get("bucket") or store.bucket("renditions"),
                                         renditions["proxy"], URL_LIFETIME)
        rate = parse_rate((version.get("facts") or {}).get("fps") or 25)
        found = {}
        for note in notes:
            still = still_of(url, note["frame"], rate)
            if still:
                found[note["note_id"]] = still
        return found
    return provide
