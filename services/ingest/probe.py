"""Run ffprobe on an uploaded file and turn every failure into a MediaRejected.

The uploaded bytes are hostile until proven otherwise, so ffprobe runs with
only the `file` protocol (a local file) or only http/https/tcp/tls (one
presigned GET URL of the stored master) and only allowlisted demuxers, from a
list argv (no shell), under a time limit.

Counting frames must not mean reading 60 GB: where the container's index
gives the exact count (MOV/MP4 sample tables) the header and the last second
are read; elsewhere every packet is counted, under a longer limit.
"""
from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import tempfile
import time
from pathlib import Path

from services.ingest.media_facts import (
    INPUT_FORMAT_ALLOWLIST,
    TEXT_FORMATS,
    MediaFacts,
    MediaRejected,
    check_format,
    facts_from_ffprobe,
    frames_from_index,
    tail_problem,
    truncation_problem,
)

logger = logging.getLogger(__name__)

FFPROBE = "ffprobe"
FILE_PROTOCOLS = "file"
# A presigned GET URL: plain or TLS HTTP, nothing else (no file, no pipes, no crypto:).
URL_PROTOCOLS = "http,https,tcp,tls"
HEADER, TAIL, COUNT = "header", "tail", "count"
SNIFF_BYTES = 512
# What ffmpeg logs when a container it recognised ends before it should.
TRUNCATION_MARKERS = ("moov atom not found", "partial file", "file ended prematurely",
                      "truncated", "unexpected end of file")
_REFUSED_DEMUXER = re.compile(r"\[(\w+) @ 0x[0-9a-f]+\] Format not on whitelist")
_EXPORT_AGAIN = "The export or copy was probably interrupted: export or copy it again and re-upload."
# What ffmpeg's HTTP reader logs when the store, not the file, is at fault.
NETWORK_MARKERS = ("connection refused", "connection reset", "connection timed out", "server returned 5",
                   "input/output error", "broken pipe", "network is unreachable")
CONFIRM_PAUSE_SECONDS = 3.0


class StoreUnavailable(MediaRejected):
    """The store could not be read to the end: a fault of the platform, never of the file."""

    def __init__(self, detail: str):
        super().__init__("store_unavailable", f"The stored file could not be read ({detail}). It is kept; "
                                              "complete the upload again to retry.")


def probe_file(path: str | os.PathLike, timeout_seconds: float = 60.0,
               count_timeout_seconds: float | None = None) -> MediaFacts:
    """Media facts of a local file; raises MediaRejected with an API error code."""
    path = Path(path)
    size = path.stat().st_size
    if size == 0:
        raise MediaRejected("empty_file", "The file is empty (0 bytes). Check the export "
                                          "finished, then upload it again.")
    with path.open("rb") as handle:
        _reject_reference_text(handle.read(SNIFF_BYTES))
    if "%" in str(path.resolve()):
        # The image2 demuxer reads '%d' in a name as a frame-number pattern and
        # would open sibling files; probe a plainly named link instead.
        with tempfile.TemporaryDirectory(prefix="probe-") as tmp:
            link = Path(tmp) / ("upload" + path.suffix.replace("%", ""))
            link.symlink_to(path.resolve())
            return _probe(_file_target(link), FILE_PROTOCOLS, timeout_seconds, count_timeout_seconds)
    return _probe(_file_target(path), FILE_PROTOCOLS, timeout_seconds, count_timeout_seconds)


def probe_url(url: str, size: int, head: bytes, timeout_seconds: float = 60.0,
              count_timeout_seconds: float | None = None,
              confirm_pause_seconds: float = CONFIRM_PAUSE_SECONDS) -> MediaFacts:
    """Media facts of a stored object read over HTTP(S) from a short-lived presigned GET
    URL: nothing is copied to local disk. `head` is the object's first bytes.

    Over the network a store that stalls or restarts mid-read looks to ffprobe like a
    cut-off or unreadable file, and that verdict discards the upload. So a verdict
    against the media must hold on a second read; two that disagree blame the store."""
    if size == 0:
        raise MediaRejected("empty_file", "The file is empty (0 bytes). Check the export "
                                          "finished, then upload it again.")
    _reject_reference_text(head[:SNIFF_BYTES])
    try:
        return _probe(url, URL_PROTOCOLS, timeout_seconds, count_timeout_seconds)
    except MediaRejected as first:
        if first.code in ("probe_timeout", "store_unavailable"):
            raise
        logger.warning("ffprobe refused a stored file; reading it again to confirm", extra={"code": first.code})
        time.sleep(confirm_pause_seconds)
        try:
            return _probe(url, URL_PROTOCOLS, timeout_seconds, count_timeout_seconds)
        except MediaRejected as second:
            if second.code != first.code:
                raise StoreUnavailable(f"two reads disagreed: {first.code}, then {second.code}") from None
            raise


def _file_target(path: str | os.PathLike) -> str:
    # "file:" keeps a name like "-x.mov" or "http:x.mov" from being read as an
    # option or a URL.
    return f"file:{os.path.abspath(path)}"


def ffprobe_argv(path: str | os.PathLike) -> list[str]:
    """The exact full-count ffprobe command for a local `path`."""
    return probe_argv(_file_target(path), FILE_PROTOCOLS, COUNT)


def probe_argv(target: str, protocols: str, mode: str, tail_from: float = 0.0) -> list[str]:
    """ffprobe for one target. `mode`: HEADER reads the container's header and index only;
    TAIL also reads the packets from `tail_from` seconds to the end (a cut-off file shows
    there); COUNT reads every packet (the whole file)."""
    argv = [FFPROBE, "-v", "error", "-protocol_whitelist", protocols,
            "-format_whitelist", ",".join(INPUT_FORMAT_ALLOWLIST)]
    if mode == TAIL:
        argv += ["-read_intervals", f"{tail_from:.3f}%", "-count_packets"]
    elif mode == COUNT:
        argv += ["-count_packets"]
    return argv + ["-show_format", "-show_streams", "-of", "json", target]


def _probe(target: str, protocols: str, timeout_seconds: float, count_timeout_seconds: float | None) -> MediaFacts:
    """Frames from the container's index where it is exact (a bounded read: header plus
    the last second, which shows a cut-off file); elsewhere every packet is counted."""
    header = _run(probe_argv(target, protocols, HEADER), timeout_seconds)
    if frames_from_index(header):
        duration = float((header.get("format") or {}).get("duration") or 0)
        try:
            tail = _run(probe_argv(target, protocols, TAIL, max(0.0, duration - 1.0)), timeout_seconds)
        except MediaRejected as exc:
            if exc.code != "probe_timeout":
                raise
            tail = None  # a very long GOP: fall back to counting
        if tail is not None:
            problem = tail_problem(tail)
            if problem:
                raise MediaRejected("truncated", f"The file is incomplete ({problem}). {_EXPORT_AGAIN}")
            return facts_from_ffprobe(header, frames_source="index")
    counted = _run(probe_argv(target, protocols, COUNT), count_timeout_seconds or timeout_seconds)
    problem = truncation_problem(counted)
    if problem:
        raise MediaRejected("truncated", f"The file is incomplete ({problem}). {_EXPORT_AGAIN}")
    return facts_from_ffprobe(counted, frames_source="counted")


def _run(argv: list[str], timeout_seconds: float) -> dict:
    """ffprobe's JSON report; every failure (including a cut-off file) as MediaRejected."""
    try:
        # subprocess.run kills the child when the timeout expires.
        done = subprocess.run(argv, capture_output=True, timeout=timeout_seconds, check=False)
    except subprocess.TimeoutExpired as exc:
        logger.warning("ffprobe timed out after %ss: argv=%s stderr=%s", timeout_seconds,
                       _redacted(argv), _text(exc.stderr))
        raise MediaRejected(
            "probe_timeout",
            f"Reading the file's media information took longer than {timeout_seconds:g} s. "
            "The file is kept; complete the upload again to retry.") from None
    stderr = _text(done.stderr)
    try:
        return _interpret(done.returncode, done.stdout, stderr)
    except MediaRejected as exc:
        logger.warning("ffprobe rejected upload: argv=%s rc=%s stderr=%s code=%s",
                       _redacted(argv), done.returncode, stderr, exc.code)
        raise


def _redacted(argv: list[str]) -> list[str]:
    """Never log a presigned URL's query: it is a credential."""
    return [a.split("?", 1)[0] + "?…" if a.startswith(("http:", "https:")) and "?" in a else a for a in argv]


def _interpret(returncode: int, stdout: bytes, stderr: str) -> dict:
    if returncode != 0:
        raise _failure(stderr)
    try:
        probe = json.loads(stdout or b"{}")
    except ValueError:
        raise MediaRejected("not_media", "ffprobe's report on this file was unreadable.") from None
    check_format((probe.get("format") or {}).get("format_name", ""))
    network = next((m for m in NETWORK_MARKERS if m in stderr.lower()), None)
    if network:
        raise StoreUnavailable(network)
    problem = _truncation_marker(stderr)
    if problem:
        raise MediaRejected("truncated", f"The file is incomplete ({problem}). {_EXPORT_AGAIN}")
    return probe


def _failure(stderr: str) -> MediaRejected:
    """Map a failed ffprobe run to the rejection a person can act on."""
    lowered = stderr.lower()
    network = next((m for m in NETWORK_MARKERS if m in lowered), None)
    if network:
        return StoreUnavailable(network)
    marker = _truncation_marker(stderr)
    if marker:
        return MediaRejected("truncated", f"The file is incomplete ({marker}). {_EXPORT_AGAIN}")
    refused = _REFUSED_DEMUXER.search(stderr)
    if refused and refused.group(1) not in TEXT_FORMATS:
        try:
            check_format(refused.group(1))
        except MediaRejected as exc:
            return exc
    return MediaRejected("not_media", "This is not a video, audio or image file we can read. "
                                      "Upload the exported media (for example .mov, .mp4, "
                                      ".mxf, .wav or .png).")


def _reject_reference_text(head: bytes) -> None:
    """Refuse playlists and concat scripts before any demuxer sees them.

    The whitelists already stop ffprobe from following them, but ffprobe then
    only says "Format not on whitelist"; sniffing gives the precise error code
    without depending on ffmpeg's log wording, and keeps these files away from
    ffmpeg even if the allowlist ever grows.
    """
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith((b"#extm3u", b"#ext-x-", b"ffconcat")) or b"<mpd" in text:
        raise MediaRejected(
            "remote_reference",
            "This is a playlist or concat list (HLS .m3u8, ffconcat, DASH) that points at other "
            "files, not media. Upload the media file itself.")


def _truncation_marker(stderr: str) -> str | None:
    lowered = stderr.lower()
    return next((m for m in TRUNCATION_MARKERS if m in lowered), None)


def _text(raw: bytes | str | None) -> str:
    if isinstance(raw, bytes):
        return raw.decode("utf-8", "replace")
    return raw or ""
