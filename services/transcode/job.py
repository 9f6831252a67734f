"""What a transcode job is given and what it gives back. Pure data, no I/O.

The job carries the master's media facts as the plain dict ingest recorded
(`MediaFacts.to_dict()`), so this service never imports ingest's code.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from fractions import Fraction
from typing import Any


class TranscodeFailed(Exception):
    """A job that cannot finish; `code` is stable, `reason` is for a person."""

    def __init__(self, code: str, reason: str):
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason


class TranscodeInterrupted(Exception):
    """ffmpeg was killed from outside (the OOM killer, an operator): worth another try.
    Raised, not announced; after the last retry `code` and `reason` are the failure."""

    def __init__(self, code: str, reason: str):
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason


@dataclass(frozen=True)
class Source:
    """The facts about a master that decide the ladder and the ffmpeg command."""

    kind: str  # video | audio | image
    video_codec: str | None = None
    width: int = 0  # coded size; `rotation` turns it upright
    height: int = 0
    rotation: int = 0  # clockwise degrees to turn the picture upright
    fps: Fraction | None = None  # exact; the average rate for VFR masters
    variable_frame_rate: bool = False
    frames: int = 0
    duration: float = 0.0
    has_audio: bool = False
    audio_channels: int = 0  # of the first audio stream
    color_primaries: str | None = None
    color_transfer: str | None = None
    color_space: str | None = None
    color_range: str | None = None
    # Pixel shape (width/height of one pixel): 4/3 for HDV 1440x1080, 1 for square.
    sample_aspect_ratio: Fraction = Fraction(1)
    # Scan: the stream's field order ("progressive", "tt", "bb", "tb", "bt") or None
    # when untagged; `interlaced` and `field_parity` are what transcode decided
    # (from the tag, or from looking at the pictures: `scan_detected`).
    field_order: str | None = None
    interlaced: bool = False
    field_parity: str | None = None  # "tff" | "bff" | None: as each decoded frame says
    scan_detected: bool = False
    audio_tracks: tuple[dict, ...] = ()  # every audio stream, when there is more than one

    @classmethod
    def from_facts(cls, facts: dict[str, Any]) -> "Source":
        """Build from ingest's MediaFacts dict; unknown keys are ignored."""
        fps = Fraction(facts["fps"]) if facts.get("fps") else None
        frames = int(facts.get("frames") or 0)
        duration = float(facts.get("duration") or 0.0)
        if not frames and fps and duration:
            frames = round(duration * fps)
        return cls(
            kind=facts["kind"], video_codec=facts.get("video_codec"), width=int(facts.get("width") or 0),
            height=int(facts.get("height") or 0), rotation=int(facts.get("rotation") or 0) % 360,
            fps=fps, variable_frame_rate=bool(facts.get("variable_frame_rate")),
            frames=frames, duration=duration, has_audio=bool(facts.get("audio_codec")),
            audio_channels=int(facts.get("audio_channels") or 0),
            color_primaries=facts.get("color_primaries"), color_transfer=facts.get("color_transfer"),
            color_space=facts.get("color_space"), color_range=facts.get("color_range"),
            sample_aspect_ratio=_pixel_shape(facts.get("sample_aspect_ratio")),
            field_order=facts.get("field_order"),
            interlaced=facts.get("field_order") in INTERLACED_FIELD_ORDERS,
            field_parity=_TAGGED_PARITY.get(facts.get("field_order")),
            audio_tracks=tuple(facts.get("audio_tracks") or ()))

    @property
    def display_size(self) -> tuple[int, int]:
        """(width, height) as the picture is meant to be seen: square pixels, upright.

        Non-square pixels widen or narrow the picture and keep its height (HDV
        1440x1080 at 4:3 pixels is 1920x1080), as players show them."""
        width = max(1, round(self.width * self.sample_aspect_ratio)) if self.width else 0
        if self.rotation in (90, 270):
            return self.height, width
        return width, self.height


# ffprobe field orders that mean interlaced. tt and bb say which field comes first;
# containers disagree on what tb and bt mean, so there each frame's own flag decides.
INTERLACED_FIELD_ORDERS = frozenset({"tt", "bb", "tb", "bt"})
_TAGGED_PARITY = {"tt": "tff", "bb": "bff"}


def _pixel_shape(text: Any) -> Fraction:
    try:
        value = Fraction(str(text).replace(":", "/")) if text else Fraction(1)
    except (ValueError, ZeroDivisionError):
        return Fraction(1)
    return value if value > 0 else Fraction(1)


@dataclass(frozen=True)
class TranscodeJob:
    """One version to transcode. Built by the Celery task from version_uploaded."""

    project_id: str
    asset_id: str
    version_id: str
    master_bucket: str
    master_key: str
    facts: dict[str, Any]
    renditions_bucket: str

    @property
    def prefix(self) -> str:
        """Every rendition key of the version starts here; a rerun overwrites the same keys."""
        return f"{self.project_id}/{self.version_id}"


@dataclass
class Progress:
    """What on_progress receives: a percentage, and whether the version can be played yet."""

    percent: float
    playable: bool = False
    stage: str = "encoding"  # encoding | publishing | done


@dataclass
class Result:
    """What a finished job made. Keys are in `bucket`; nothing here is bytes."""

    bucket: str
    prefix: str
    kind: str
    master_playlist: str | None = None  # key of master.m3u8
    rungs: list[dict] = field(default_factory=list)  # name, width, height, bandwidth, codecs, playlist
    audio_playlist: str | None = None
    poster: str | None = None
    image: str | None = None
    sprite: list[str] = field(default_factory=list)
    thumbnails_vtt: str | None = None
    waveform: str | None = None
    proxy: str | None = None
    keys: list[str] = field(default_factory=list)  # every key uploaded
    notes: list[str] = field(default_factory=list)
    frames: int | None = None  # frames ffmpeg encoded in the first rung
    seconds: float = 0.0
    realtime_factor: float | None = None  # media seconds per wall second

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
