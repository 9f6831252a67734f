"""Which renditions a master gets, and how the master playlist describes them. Pure.

Rungs are named by their short side (a 1080x1920 phone video's top rung is
"1080p"), capped at the source so nothing is upscaled, with even sizes that
keep the upright picture's aspect ratio. Every rung is H.264 High profile
8-bit 4:2:0 at a level computed from its size, rate and bitrate (ITU-T H.264
Table A-1), so the CODECS string is the one the encoder is told to write.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

from services.transcode.job import Source

TARGET_SHORT_SIDES = (1080, 720, 360)
SEGMENT_SECONDS = 2
AUDIO_KBPS = 128
AUDIO_CODEC = "mp4a.40.2"  # AAC-LC
H264_PROFILE = "high"
H264_PROFILE_IDC = 100
# Bits per pixel per frame for the average bitrate; peaks may reach 1.5x that.
BITS_PER_PIXEL = 0.08
MIN_VIDEO_KBPS = 100
PEAK_FACTOR = 1.5
# fMP4 boxes (moof/mdat, sample tables) on top of the elementary streams.
CONTAINER_OVERHEAD = 1.05
# (level, level_idc, MaxMBPS, MaxFS in macroblocks, MaxBR in kbit/s for Baseline/Main).
# High profile allows 1.25x MaxBR. 3.0 is the floor: every HLS client decodes it.
H264_LEVELS = (
    ("3.0", 30, 40500, 1620, 10000),
    ("3.1", 31, 108000, 3600, 14000),
    ("3.2", 32, 216000, 5120, 20000),
    ("4.0", 40, 245760, 8192, 20000),
    ("4.1", 41, 245760, 8192, 50000),
    ("4.2", 42, 522240, 8704, 50000),
    ("5.0", 50, 589824, 22080, 135000),
    ("5.1", 51, 983040, 36864, 240000),
    ("5.2", 52, 2073600, 36864, 240000),
)
HIGH_PROFILE_BR_FACTOR = 1.25


@dataclass(frozen=True)
class Rung:
    name: str  # "720p"
    width: int
    height: int
    video_kbps: int
    maxrate_kbps: int
    bufsize_kbits: int
    level: str  # "3.1"
    level_idc: int

    @property
    def video_codec(self) -> str:
        # avc1.PPCCLL: profile_idc, constraint flags (none for High), level_idc.
        return f"avc1.{H264_PROFILE_IDC:02X}00{self.level_idc:02X}"


@dataclass(frozen=True)
class Ladder:
    rungs: tuple[Rung, ...]
    fps: Fraction | None
    has_audio: bool
    audio_kbps: int = AUDIO_KBPS

    @property
    def frame_rate_attr(self) -> str | None:
        return f"{float(self.fps):.3f}" if self.fps else None

    def codecs(self, rung: Rung | None) -> str:
        parts = [rung.video_codec] if rung else []
        if self.has_audio:
            parts.append(AUDIO_CODEC)
        return ",".join(parts)

    def bandwidth(self, rung: Rung | None) -> int:
        """Peak bit/s of a segment: VBV allows maxrate plus one buffer per segment."""
        kbps = self.audio_kbps if self.has_audio else 0
        if rung:
            kbps += rung.maxrate_kbps + rung.bufsize_kbits / SEGMENT_SECONDS
        return int(kbps * CONTAINER_OVERHEAD * 1000)

    def average_bandwidth(self, rung: Rung | None) -> int:
        kbps = (self.audio_kbps if self.has_audio else 0) + (rung.video_kbps if rung else 0)
        return int(kbps * CONTAINER_OVERHEAD * 1000)


def choose_ladder(source: Source) -> Ladder:
    """The rungs for a video master, or an audio-only ladder (no rungs) for sound."""
    if source.kind == "audio":
        return Ladder(rungs=(), fps=None, has_audio=True)
    if source.kind != "video":
        raise ValueError(f"no ladder for a {source.kind} version")
    width, height = source.display_size
    if width < 2 or height < 2 or not source.fps:
        raise ValueError(f"cannot build a ladder for {width}x{height} at {source.fps} fps")
    rungs: list[Rung] = []
    for target in TARGET_SHORT_SIDES:
        size = scaled_size(width, height, target)
        if all((r.width, r.height) != size for r in rungs):
            rungs.append(_rung(*size, source.fps))
    return Ladder(rungs=tuple(rungs), fps=source.fps, has_audio=source.has_audio)


def scaled_size(width: int, height: int, short_side: int) -> tuple[int, int]:
    """Even (w, h) with the short side at most `short_side` and never above the source."""
    short = min(width, height)
    scale = min(1.0, short_side / short)
    return _even(width * scale, width), _even(height * scale, height)


def _even(value: float, limit: int) -> int:
    even = int(round(value / 2)) * 2
    return max(2, min(even, limit - limit % 2))


def _rung(width: int, height: int, fps: Fraction) -> Rung:
    kbps = max(MIN_VIDEO_KBPS, round(width * height * min(float(fps), 60.0) * BITS_PER_PIXEL / 1000))
    maxrate = round(kbps * PEAK_FACTOR)
    level, level_idc = h264_level(width, height, fps, maxrate)
    return Rung(name=f"{min(width, height)}p", width=width, height=height, video_kbps=kbps,
                maxrate_kbps=maxrate, bufsize_kbits=maxrate, level=level, level_idc=level_idc)


def h264_level(width: int, height: int, fps: Fraction, maxrate_kbps: int) -> tuple[str, int]:
    """The lowest H.264 level (>= 3.0) whose Table A-1 limits hold this stream."""
    mbs_w, mbs_h = math.ceil(width / 16), math.ceil(height / 16)
    frame_mbs = mbs_w * mbs_h
    for name, idc, max_mbps, max_fs, max_br in H264_LEVELS:
        side_limit = math.sqrt(8 * max_fs)  # A.3.1: no dimension beyond sqrt(8 * MaxFS)
        if (frame_mbs <= max_fs and mbs_w <= side_limit and mbs_h <= side_limit
                and frame_mbs * fps <= max_mbps
                and maxrate_kbps <= max_br * HIGH_PROFILE_BR_FACTOR):
            return name, idc
    raise ValueError(f"{width}x{height} at {float(fps):.3f} fps exceeds H.264 level 5.2")


def master_playlist(ladder: Ladder, audio_uri: str = "audio/index.m3u8") -> str:
    """The master playlist text: one variant per rung, audio as a rendition group."""
    lines = ["#EXTM3U", "#EXT-X-VERSION:7", "#EXT-X-INDEPENDENT-SEGMENTS"]
    group = ""
    if ladder.has_audio and ladder.rungs:
        lines.append('#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="Main",DEFAULT=YES,'
                     f'AUTOSELECT=YES,CHANNELS="2",URI="{audio_uri}"')
        group = ',AUDIO="audio"'
    if not ladder.rungs:
        lines += [f"#EXT-X-STREAM-INF:BANDWIDTH={ladder.bandwidth(None)},"
                  f"AVERAGE-BANDWIDTH={ladder.average_bandwidth(None)},"
                  f'CODECS="{ladder.codecs(None)}"', audio_uri]
    for rung in ladder.rungs:
        lines += [f"#EXT-X-STREAM-INF:BANDWIDTH={ladder.bandwidth(rung)},"
                  f"AVERAGE-BANDWIDTH={ladder.average_bandwidth(rung)},"
                  f'CODECS="{ladder.codecs(rung)}",RESOLUTION={rung.width}x{rung.height},'
                  f"FRAME-RATE={ladder.frame_rate_attr}{group}",
                  f"{rung.name}/index.m3u8"]
    return "\n".join(lines) + "\n"
