"""Run ffprobe on an uploaded file and turn every failure into a MediaRejected.

The uploaded bytes are hostile until proven otherwise, so ffprobe runs with
only the `file` protocol and only allowlisted demuxers, from a list argv
(no shell), under a time limit.
"""
from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import tempfile
from pathlib import Path

from services.ingest.media_facts import (
    INPUT_FORMAT_ALLOWLIST,
    TEXT_FORMATS,
    MediaFacts,
    MediaRejected,
    check_format,
    facts_from_ffprobe,
    truncation_problem,
)

logger = logging.getLogger(__name__)

FFPROBE = "ffprobe"
SNIFF_BYTES = 512
# What ffmpeg logs when a container it recognised ends before it should.
TRUNCATION_MARKERS = ("moov atom not found", "partial file", "file ended prematurely",
                      "truncated", "unexpected end of file")
_REFUSED_DEMUXER = re.compile(r"\[(\w+) @ 0x[0-9a-f]+\] Format not on whitelist")
_EXPORT_AGAIN = "The export or copy was probably interrupted: export or copy it again and re-upload."


def probe_file(path: str | os.PathLike, timeout_seconds: float = 60.0) -> MediaFacts:
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
            return _probe(link, timeout_seconds)
    return _probe(path, timeout_seconds)


def ffprobe_argv(path: str | os.PathLike) -> list[str]:
    """The exact ffprobe command for `path`."""
    # "file:" keeps a name like "-x.mov" or "http:x.mov" from being read as an
    # option or a URL.
    return [FFPROBE, "-v", "error", "-protocol_whitelist", "file",
            "-format_whitelist", ",".join(INPUT_FORMAT_ALLOWLIST),
            "-show_format", "-show_streams", "-count_packets", "-of", "json",
            f"file:{os.path.abspath(path)}"]


def _probe(path: Path, timeout_seconds: float) -> MediaFacts:
    argv = ffprobe_argv(path)
    try:
        # subprocess.run kills the child when the timeout expires.
        done = subprocess.run(argv, capture_output=True, timeout=timeout_seconds, check=False)
    except subprocess.TimeoutExpired as exc:
        logger.warning("ffprobe timed out after %ss: argv=%s stderr=%s", timeout_seconds,
                       argv, _text(exc.stderr))
        raise MediaRejected(
            "probe_timeout",
            f"Reading the file's media information took longer than {timeout_seconds:g} s. "
            "The file may be damaged; re-export it and upload again.") from None
    stderr = _text(done.stderr)
    try:
        return _interpret(done.returncode, done.stdout, stderr)
    except MediaRejected as exc:
        logger.warning("ffprobe rejected upload: argv=%s rc=%s stderr=%s code=%s",
                       argv, done.returncode, stderr, exc.code)
        raise


def _interpret(returncode: int, stdout: bytes, stderr: str) -> MediaFacts:
    if returncode != 0:
        raise _failure(stderr)
    try:
        probe = json.loads(stdout or b"{}")
    except ValueError:
        raise MediaRejected("not_media", "ffprobe's report on this file was unreadable.") from None
    check_format((probe.get("format") or {}).get("format_name", ""))
    problem = _truncation_marker(stderr) or truncation_problem(probe)
    if problem:
        raise MediaRejected("truncated", f"The file is incomplete ({problem}). {_EXPORT_AGAIN}")
    return facts_from_ffprobe(probe)


def _failure(stderr: str) -> MediaRejected:
    """Map a failed ffprobe run to the rejection a person can act on."""
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
