"""What is made from ffmpeg's outputs after the encode: waveform JSON, the
thumbnails WebVTT track, and the proxy MP4 (a remux of one rung, never an encode).
"""
from __future__ import annotations

import math
import shutil
from fractions import Fraction
from pathlib import Path

from services.transcode.ffmpeg_args import INPUT_FORMATS, Thumbnails
from services.transcode.ladder import Ladder, Rung
from services.transcode.playlists import media_uris

PROXY_MAX_SHORT_SIDE = 720


def waveform(peaks_text: str, samples_per_peak: int, sample_rate: int) -> dict:
    """Peaks in the audiowaveform JSON format (version 2, 8-bit, one channel), which
    peaks.js and wavesurfer read: `data` is min, max pairs, one pair per window."""
    data: list[int] = []
    low = None
    for line in peaks_text.splitlines():
        key, _, value = line.strip().partition("=")
        if key.endswith(".Min_level"):
            low = _level(value)
        elif key.endswith(".Max_level") and low is not None:
            data += [_to_8bit(low), _to_8bit(_level(value))]
            low = None
    return {"version": 2, "channels": 1, "sample_rate": sample_rate,
            "samples_per_pixel": samples_per_peak, "bits": 8, "length": len(data) // 2,
            "data": data}


def _level(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        return 0.0
    return 0.0 if math.isnan(value) else max(-1.0, min(1.0, value))


def _to_8bit(level: float) -> int:
    return max(-128, min(127, round(level * 128)))


def thumbnails_vtt(thumbs: Thumbnails, fps: Fraction, frames: int, sheet_name: str) -> str:
    """A WebVTT track: one cue per thumbnail, `sheet#xywh=x,y,w,h`, timed by frame.

    `sheet_name` is a %-pattern ("sprite_%03d.jpg", numbered from 1) relative to the VTT."""
    lines = ["WEBVTT", ""]
    end_of_media = frames / fps
    for i in range(thumbs.count):
        start = i * thumbs.every_frames / fps
        end = min((i + 1) * thumbs.every_frames / fps, end_of_media)
        sheet, cell = divmod(i, thumbs.per_sheet)
        row, column = divmod(cell, thumbs.columns)
        lines += [f"{_vtt_time(start)} --> {_vtt_time(end)}",
                  f"{sheet_name % (sheet + 1)}#xywh={column * thumbs.width},{row * thumbs.height},"
                  f"{thumbs.width},{thumbs.height}", ""]
    return "\n".join(lines)


def _vtt_time(seconds: Fraction) -> str:
    millis = int(seconds * 1000)  # floor: a cue never starts after its frame
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return f"{hours:02d}:{minutes:02d}:{rest // 1000:02d}.{rest % 1000:03d}"


def proxy_rung(ladder: Ladder) -> Rung:
    """The largest rung no bigger than 720p, else the smallest."""
    fitting = [r for r in ladder.rungs if min(r.width, r.height) <= PROXY_MAX_SHORT_SIDE]
    return fitting[0] if fitting else ladder.rungs[-1]


def join_fmp4(playlist_dir: Path, target: Path) -> Path:
    """Init section + segments, in playlist order, as one fragmented MP4 file."""
    init, segments = media_uris((playlist_dir / "index.m3u8").read_text())
    with target.open("wb") as out:
        for name in ([init] if init else []) + segments:
            with (playlist_dir / name).open("rb") as part:
                shutil.copyfileobj(part, out)
    return target


def proxy_argv(video: Path, audio: Path | None, target: Path) -> list[str]:
    """Remux (`-c copy`) a rung and the audio into a faststart MP4."""
    argv = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
            "-protocol_whitelist", "file", "-format_whitelist", ",".join(INPUT_FORMATS),
            "-i", f"file:{video}"]
    if audio is not None:
        argv += ["-i", f"file:{audio}", "-map", "0:v:0", "-map", "1:a:0"]
    return argv + ["-c", "copy", "-movflags", "+faststart", "-f", "mp4", f"file:{target}"]
