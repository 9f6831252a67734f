"""What an uploaded file is, read from ffprobe's JSON. Pure: no I/O.

Input is the output of `ffprobe -show_format -show_streams -of json`, with
`-count_packets` where the container's index does not give exact frame counts;
probe.py runs it.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from fractions import Fraction
from typing import Any

from services.common.timecode import is_drop_frame_rate

# ffprobe format_name tokens (demuxer names) we accept. Several demuxers have
# comma-joined names ("mov,mp4,m4a,3gp,3g2,mj2"), so this is per token. It is
# passed to ffprobe as -format_whitelist, which makes it a security boundary:
# demuxers that open other files or URLs (hls, concat, dash, imf, ...) are out.
INPUT_FORMAT_ALLOWLIST: tuple[str, ...] = (
    "mov", "mp4", "m4a", "3gp", "3g2", "mj2",
    "matroska", "webm",
    "mxf", "avi", "mpegts",
    "wav", "aiff", "flac", "mp3", "ogg",
    "png_pipe", "jpeg_pipe", "tiff_pipe", "exr_pipe", "image2",
)
# Demuxers whose input is a list of other resources, not media.
REFERENCE_FORMATS = frozenset({"hls", "applehttp", "concat", "dash", "imf", "sdp", "rtsp",
                               "rtp", "avisynth", "vapoursynth"})
# ffprobe names text files by extension (.txt -> tty, .bin -> bin); they are not media.
TEXT_FORMATS = frozenset({"tty", "bin", "adf", "idf", "xbin"})
IMAGE_CODECS = frozenset({"png", "mjpeg", "jpegls", "tiff", "bmp", "webp", "jpeg2000", "exr"})
# ffprobe's field_order values for an interlaced stream (the letters say which
# field is coded and which displayed first; containers disagree on that order).
INTERLACED_FIELD_ORDERS = frozenset({"tt", "bb", "tb", "bt"})
_UNSET = {"unknown", "unspecified", "reserved", ""}
# A file is variable frame rate when its average rate strays from the stream
# rate by more than this: about one frame of drift every 1000 frames.
VFR_TOLERANCE = Fraction(1, 1000)


class MediaRejected(Exception):
    """An upload that is not acceptable media; `code` is the API error code."""

    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass(frozen=True)
class MediaFacts:
    kind: str  # "video" | "audio" | "image"
    container: str
    video_codec: str | None = None
    audio_codec: str | None = None
    width: int | None = None  # coded size; apply `rotation` for display size
    height: int | None = None
    fps: str | None = None  # exact rational, "24000/1001"
    fps_float: float | None = None
    variable_frame_rate: bool = False
    drop_frame: bool = False
    frames: int | None = None
    duration: float = 0.0
    start_timecode: str | None = None
    audio_channels: int | None = None
    audio_sample_rate: int | None = None
    color_primaries: str | None = None
    color_transfer: str | None = None
    color_space: str | None = None
    color_range: str | None = None
    rotation: int = 0  # clockwise degrees to turn the picture upright: 0/90/180/270
    # Where `frames` came from: "index" (the container's sample table, exact) or
    # "counted" (every packet read).
    frames_source: str | None = None
    # "progressive", or an interlaced order (tt/bb/tb/bt) as the stream says; None
    # when the stream does not say (transcode then looks at the pictures).
    field_order: str | None = None
    # Pixel shape "w:h" when pixels are not square (HDV 1440x1080 is "4:3"); None when square.
    sample_aspect_ratio: str | None = None
    # Every audio stream in order, when there is more than one: channels, layout, name.
    audio_tracks: list[dict] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def check_format(format_name: str) -> None:
    """Raise MediaRejected unless ffprobe's format_name is on the allowlist."""
    tokens = [t.strip() for t in (format_name or "").split(",") if t.strip()]
    if any(t in INPUT_FORMAT_ALLOWLIST for t in tokens):
        return
    if any(t in REFERENCE_FORMATS or "m3u" in t or "playlist" in t for t in tokens):
        raise MediaRejected(
            "remote_reference",
            "This is a playlist or reference file that points at other media "
            f"({format_name}), not the media itself. Upload the media file it refers to.")
    raise MediaRejected(
        "unsupported_format",
        f"The format '{format_name or 'unknown'}' is not accepted. Export to MOV/MP4, MXF, "
        "Matroska/WebM, AVI, MPEG-TS, WAV, AIFF, FLAC, MP3, Ogg, PNG, JPEG, TIFF or OpenEXR and "
        "upload again.")


def frames_from_index(probe_json: dict) -> bool:
    """True when the container's index gives every stream's exact frame count without
    reading the packets: MOV/MP4 list every sample in their sample tables (stts/stsz)."""
    tokens = ((probe_json.get("format") or {}).get("format_name") or "").split(",")
    streams = _media_streams(probe_json)
    return "mov" in tokens and bool(streams) and all((_int(s.get("nb_frames")) or 0) > 0 for s in streams)


def tail_problem(tail_json: dict) -> str | None:
    """Why the packets read from near the end (ffprobe -read_intervals) show a cut-off file."""
    for stream in _media_streams(tail_json):
        if _int(stream.get("nb_read_packets")) == 0:
            return f"its {stream.get('codec_type')} stream has no data where its index says it ends"
    return None


def facts_from_ffprobe(probe_json: dict, frames_source: str | None = None) -> MediaFacts:
    """Interpret ffprobe JSON; raise MediaRejected("not_media") if it has no picture or sound."""
    fmt = probe_json.get("format") or {}
    video = _primary(probe_json, "video")
    audio = _primary(probe_json, "audio")
    if video is None and audio is None:
        raise MediaRejected("not_media", "The file has no video, audio or image stream to review.")
    container = _container_name(fmt, video)
    audio_facts = _audio_facts(audio)
    tracks = _audio_tracks(probe_json)
    if len(tracks) > 1:
        audio_facts["audio_tracks"] = tracks
    if video is None:
        return MediaFacts(kind="audio", container=container, duration=_duration(fmt, audio),
                          frames_source=frames_source, **audio_facts)

    frames = _frame_count(video)
    is_image = frames == 1 and (video.get("codec_name") in IMAGE_CODECS
                                or _is_image_format(fmt.get("format_name", "")))
    common = dict(
        container=container, video_codec=video.get("codec_name"),
        width=_int(video.get("width")), height=_int(video.get("height")),
        color_primaries=_tag(video.get("color_primaries")),
        color_transfer=_tag(video.get("color_transfer")),
        color_space=_tag(video.get("color_space")),
        color_range=_tag(video.get("color_range")),
        rotation=_rotation(video), sample_aspect_ratio=_sample_aspect_ratio(video),
        **audio_facts)
    if is_image:
        # A still's "frame rate" is the demuxer's default (25/1), not a fact.
        return MediaFacts(kind="image", frames=1, frames_source=frames_source, **common)

    rate, vfr = _frame_rate(video)
    timecode = _start_timecode(probe_json, video)
    if timecode is not None:
        drop_frame = ";" in timecode and rate is not None and is_drop_frame_rate(rate)
    else:
        # No timecode track: 29.97/59.94 default to drop-frame, the broadcast
        # convention, so displayed timecode keeps pace with the wall clock.
        drop_frame = rate is not None and is_drop_frame_rate(rate)
    return MediaFacts(
        kind="video", frames=frames, duration=_duration(fmt, video),
        fps=f"{rate.numerator}/{rate.denominator}" if rate else None,
        fps_float=round(float(rate), 6) if rate else None,
        variable_frame_rate=vfr, drop_frame=drop_frame, start_timecode=timecode,
        frames_source=frames_source, field_order=_field_order(video), **common)


def truncation_problem(probe_json: dict) -> str | None:
    """Why a probe that succeeded still looks cut short, or None.

    Containers that keep their index up front (faststart MP4, MXF, Matroska)
    open fine when the tail is missing; the evidence is fewer packets than
    the header promises.
    """
    fmt = probe_json.get("format") or {}
    for stream in _media_streams(probe_json):
        kind = stream.get("codec_type")
        packets = _int(stream.get("nb_read_packets"))
        if packets is None:
            continue
        if packets == 0:
            return f"the {kind} stream has no data"
        promised = _int(stream.get("nb_frames"))
        # MOV counts PCM audio in samples, not packets, so only compare the rest.
        counts_packets = kind == "video" or not (stream.get("codec_name") or "").startswith("pcm_")
        if promised and counts_packets and packets < promised:
            return f"the {kind} stream holds {packets} of the {promised} frames its header lists"
        if kind != "video":
            continue
        rate, vfr = _frame_rate(stream)
        duration = _duration(stream, fmt)
        if rate and not vfr and duration and packets > 1:
            expected = float(rate) * duration
            # Generous margin: only a file missing a real part of its picture trips this.
            if packets < expected * 0.75 - 2:
                return (f"the video stream holds {packets} frames but its header says "
                        f"{duration:.2f} s, about {round(expected)} frames")
    return None


# --- helpers ---------------------------------------------------------------

def _media_streams(probe_json: dict) -> list[dict]:
    # Cover art in MP3/M4A is a one-frame "video" stream; it is not the picture.
    return [s for s in probe_json.get("streams") or []
            if s.get("codec_type") in ("video", "audio")
            and not (s.get("disposition") or {}).get("attached_pic")]


def _primary(probe_json: dict, codec_type: str) -> dict | None:
    streams = [s for s in _media_streams(probe_json) if s.get("codec_type") == codec_type]
    defaults = [s for s in streams if (s.get("disposition") or {}).get("default")]
    return (defaults or streams or [None])[0]


def _container_name(fmt: dict, video: dict | None) -> str:
    name = fmt.get("format_name") or "unknown"
    first = name.split(",")[0]
    if first == "mov":
        # One demuxer reads both; the brand says which the file claims to be.
        brand = ((fmt.get("tags") or {}).get("major_brand") or "").strip()
        return "mov" if brand == "qt" else "mp4"
    if first.endswith("_pipe"):
        return first[: -len("_pipe")]
    if first == "image2" and video is not None:
        return video.get("codec_name") or first
    return first


def _is_image_format(format_name: str) -> bool:
    return format_name == "image2" or format_name.endswith("_pipe")


def _audio_facts(audio: dict | None) -> dict[str, Any]:
    if audio is None:
        return {}
    return dict(audio_codec=audio.get("codec_name"), audio_channels=_int(audio.get("channels")),
                audio_sample_rate=_int(audio.get("sample_rate")))


def _audio_tracks(probe_json: dict) -> list[dict]:
    """Every audio stream in stream order (the order of ffmpeg's `0:a:N`)."""
    tracks = []
    for stream in probe_json.get("streams") or []:
        if stream.get("codec_type") != "audio":
            continue
        tags = {k.lower(): v for k, v in (stream.get("tags") or {}).items()}
        name = (tags.get("title") or tags.get("handler_name") or "").strip()
        if name in ("SoundHandler", "Core Media Audio"):  # muxers' defaults, not names
            name = ""
        layout = stream.get("channel_layout")
        tracks.append({"channels": _int(stream.get("channels")) or 0,
                       "layout": None if layout in (None, "unknown") else layout,
                       "name": name or None})
    return tracks


def _field_order(video: dict) -> str | None:
    value = video.get("field_order")
    return value if value == "progressive" or value in INTERLACED_FIELD_ORDERS else None


def _sample_aspect_ratio(video: dict) -> str | None:
    ratio = _rational(str(video.get("sample_aspect_ratio") or "").replace(":", "/"))
    if ratio is None or ratio == 1:
        return None
    return f"{ratio.numerator}:{ratio.denominator}"


def _rational(text: Any) -> Fraction | None:
    try:
        value = Fraction(str(text))
    except (ValueError, ZeroDivisionError):  # "0/0" means unknown
        return None
    return value if value > 0 else None


def _frame_rate(video: dict) -> tuple[Fraction | None, bool]:
    """(rate, variable): r_frame_rate when it matches the average, else the average."""
    stream_rate = _rational(video.get("r_frame_rate"))
    average = _rational(video.get("avg_frame_rate"))
    if stream_rate is None or average is None:
        return stream_rate or average, False
    if abs(average - stream_rate) / stream_rate > VFR_TOLERANCE:
        return average, True
    return stream_rate, False


def _frame_count(video: dict) -> int | None:
    """Header frame count when it is believable, else the packets ffprobe counted."""
    header = _int(video.get("nb_frames"))
    packets = _int(video.get("nb_read_packets"))
    # A header that promises more frames than the file holds is lying (cut-off file).
    if header and header > 0 and (packets is None or header <= packets):
        return header
    return packets


def _duration(*sources: dict | None) -> float:
    """The first positive duration among the sources, in seconds."""
    for source in sources:
        value = _float((source or {}).get("duration"))
        if value is not None and value > 0:
            return round(value, 6)
    return 0.0


def _start_timecode(probe_json: dict, video: dict) -> str | None:
    # MOV/MP4: a tmcd data stream, also mirrored onto the video stream's tags.
    # MXF and MKV: a format-level tag.
    data = [s for s in probe_json.get("streams") or [] if s.get("codec_type") == "data"]
    for source in (*data, video, probe_json.get("format") or {}):
        value = ((source.get("tags") or {}).get("timecode") or "").strip()
        if value:
            return value
    return None


def _rotation(video: dict) -> int:
    """Clockwise degrees, snapped to 0/90/180/270."""
    for side_data in video.get("side_data_list") or []:
        if side_data.get("side_data_type") == "Display Matrix" and "rotation" in side_data:
            # ffprobe gives the matrix's counter-clockwise angle: a phone held
            # upright (90 degrees clockwise) reads -90.
            return _snap(-float(side_data["rotation"]))
    rotate = _float((video.get("tags") or {}).get("rotate"))
    # The older `rotate` tag is already clockwise.
    return _snap(rotate) if rotate is not None else 0


def _snap(degrees: float) -> int:
    return int(round(degrees / 90.0)) * 90 % 360


def _tag(value: Any) -> str | None:
    return None if value is None or str(value) in _UNSET else str(value)


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _float(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
