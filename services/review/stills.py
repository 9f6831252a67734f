"""Stills: the exact frame a player pauses on, cut from the master, and the
small stills of noted frames for the notes PDF, cut from the proxy MP4.

ffmpeg reads from the store over a short-lived presigned URL with ranged
reads, so neither the review pod's disk nor its memory holds the file.

An exact still is frame N of the master at full size, upright, through the
same colour conversion as the renditions (services/common/picture.py,
tone-mapped for HDR), as a lossless PNG. It is found by timestamp: an
accurate seek to a quarter frame before N outputs frame N first (a quarter
frame absorbs timestamp rounding either way). A variable-frame-rate master's
timestamps do not say which frame is N (the renditions number its frames in
order), so there the Nth decoded frame is selected by index instead.
"""
from __future__ import annotations

import logging
import subprocess
import threading
from dataclasses import dataclass
from datetime import timedelta
from fractions import Fraction
from types import SimpleNamespace

from services.common.picture import TO_RGB, colour_filters, rotation_filters
from services.common.storage import ObjectStore
from services.common.timecode import parse_rate

log = logging.getLogger(__name__)
STILL_WIDTH = 640
URL_LIFETIME = timedelta(minutes=10)
EXACT_TIMEOUT = 120  # seconds: a long-GOP master decodes up to a GOP before frame N
# The same demuxers the transcode worker accepts (ingest checked the master already).
INPUT_FORMATS = ("mov", "mp4", "m4a", "3gp", "3g2", "mj2", "matroska", "webm", "mxf", "avi",
                 "mpegts", "png_pipe", "jpeg_pipe", "tiff_pipe", "image2")
PNG = "image/png"


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


# --- exact stills of the master ----------------------------------------------

class StillRefused(Exception):
    """A still that cannot be made (not a video, frame out of range, ffmpeg failed)."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.status, self.code, self.message = status, code, message


@dataclass(frozen=True)
class StillSize:
    width: int
    height: int


def still_key(project_id: str, version_id: str, frame: int) -> str:
    """Where frame N's still is kept in the renditions bucket (under the version's CDN scope)."""
    return f"{project_id}/{version_id}/stills/frame_{frame:07d}.png"


def check_frame(facts: dict, frame: int) -> None:
    """Refuse what has no frame N: audio, images, and frames past the end."""
    kind = facts.get("kind") or "video"
    if kind != "video":
        raise StillRefused(400, "no_frames", f"This version is {'an' if kind[0] in 'aeiou' else 'a'} {kind}; "
                                             "only video versions have frames to cut a still from.")
    frames = int(facts.get("frames") or 0)
    if frame < 0 or (frames and frame >= frames):
        last = f"0 to {frames - 1}" if frames else "from 0"
        raise StillRefused(400, "frame_out_of_range", f"Frame {frame} is not in this version (frames {last}).")


INTERLACED_FIELD_ORDERS = {"tt", "bb", "tb", "bt"}  # ffprobe's field_order values for interlaced pictures
_PARITY = {"tt": "tff", "bb": "bff"}


def pixel_shape(facts: dict) -> Fraction:
    """The master's sample (pixel) aspect ratio; 1 when square or unknown."""
    try:
        value = Fraction(str(facts.get("sample_aspect_ratio") or 1).replace(":", "/"))
    except (ValueError, ZeroDivisionError):
        return Fraction(1)
    return value if value > 0 else Fraction(1)


def display_size(facts: dict) -> StillSize:
    """The still's size: the master's with square pixels, upright (as the renditions show it)."""
    width, height = int(facts.get("width") or 0), int(facts.get("height") or 0)
    width = max(1, round(width * pixel_shape(facts))) if width else 0
    if int(facts.get("rotation") or 0) % 180 == 90:
        width, height = height, width
    return StillSize(width, height)


def exact_still_args(url: str, facts: dict, frame: int) -> list[str]:
    """The ffmpeg command that writes frame `frame` of the master at `url` as a PNG on stdout."""
    colour_source = SimpleNamespace(**{k: facts.get(k) for k in
                                       ("color_primaries", "color_transfer", "color_space", "color_range")})
    colour, _ = colour_filters(colour_source, out_format="yuv444p")  # full chroma: nothing lost before RGB
    # As the renditions: interlaced masters deinterlaced (bwdif, one picture per frame), then
    # square pixels, upright, BT.709 SDR.
    chain = []
    if facts.get("field_order") in INTERLACED_FIELD_ORDERS:
        chain.append(f"bwdif=mode=send_frame:parity={_PARITY.get(facts['field_order'], 'auto')}:deint=all")
    if pixel_shape(facts) != 1:
        size = display_size(dict(facts, rotation=0))
        chain.append(f"scale={size.width}:{size.height}:flags=bicubic:in_color_matrix=bt709:"
                     "out_color_matrix=bt709:in_range=tv:out_range=tv,setsar=1")
    chain += rotation_filters(int(facts.get("rotation") or 0) % 360) + colour + [TO_RGB]
    seek: list[str] = []
    if facts.get("variable_frame_rate"):
        chain = [f"select=eq(n\\,{frame})"] + chain
    else:
        seek = ["-ss", f"{seek_seconds(frame, parse_rate(facts.get('fps') or 25)):.6f}"]
    return ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error",
            "-protocol_whitelist", "http,https,tcp,tls", "-format_whitelist", ",".join(INPUT_FORMATS),
            "-noautorotate", *seek, "-i", url, "-map", "0:v:0", "-an", "-sn", "-dn",
            "-vf", ",".join(chain), "-frames:v", "1", "-fps_mode", "passthrough",
            "-c:v", "png", "-compression_level", "1", "-f", "image2pipe", "pipe:1"]


def render_exact_still(url: str, facts: dict, frame: int, timeout: float = EXACT_TIMEOUT) -> bytes:
    """Frame `frame` of the master as PNG bytes; StillRefused (502) when ffmpeg cannot cut it."""
    args = exact_still_args(url, facts, frame)
    try:
        done = subprocess.run(args, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        log.warning("exact still timed out", extra={"frame": frame})
        raise StillRefused(504, "still_timed_out", f"Cutting frame {frame} from the master took longer "
                                                   f"than {timeout} s; try again.") from None
    if done.returncode != 0 or not done.stdout.startswith(b"\x89PNG"):
        log.warning("exact still failed", extra={"frame": frame, "args": args[:-1],
                                                 "stderr": done.stderr[-800:].decode(errors="replace")})
        raise StillRefused(502, "still_failed", f"ffmpeg could not cut frame {frame} from the master.")
    return done.stdout


class ExactStills:
    """Frame N of a version's master as a PNG in the renditions bucket, made once.

    Two viewers asking for the same new frame at once may both cut it; they
    write the same bytes to the same key, so the second write changes nothing.
    """

    def __init__(self, store: ObjectStore, masters_bucket: str, renditions_bucket: str, concurrent: int = 2):
        self.store = store
        self.masters = masters_bucket
        self.renditions = renditions_bucket
        # ffmpeg runs at most this many at a time per process: a scrubbing
        # viewer must not take every core from playback and uploads.
        self.slots = threading.BoundedSemaphore(concurrent)

    def ensure(self, version: dict, frame: int) -> tuple[str, bool]:
        """(key, made_now): the still's key in the renditions bucket, cut from the master if missing."""
        facts = version.get("facts") or {}
        check_frame(facts, frame)
        key = still_key(version["project_id"], version["id"], frame)
        if self.store.exists(self.renditions, key):
            return key, False
        master_key = version.get("master_key")
        if not master_key:
            raise StillRefused(409, "no_master", "This version's master is not known to the review service.")
        url = self.store.presign_internal_get(self.masters, master_key, URL_LIFETIME)
        with self.slots:
            png = render_exact_still(url, facts, frame)
        self.store.put_bytes(self.renditions, key, png, PNG)
        return key, True
