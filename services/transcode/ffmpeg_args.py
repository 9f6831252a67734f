"""The one ffmpeg command that makes a version's renditions. Pure: argv building only.

One decode feeds a split: N scaled H.264 rungs into one HLS (fMP4) output, a
poster JPEG, and filmstrip sprite sheets. The sound is decoded once too: one
AAC encode for the HLS audio rendition and, from the same samples, per-window
peak levels (astats) written as text for the waveform. Nothing is encoded
twice; the proxy MP4 is a remux of a rung afterwards (extras.py).

Paths in the argv are relative: the runner starts ffmpeg in the output
directory, so playlists name their segments and init sections plainly.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path

from services.common.picture import colour_filters, rotation_filters as _rotation_filters
from services.transcode.audio_mix import stereo_mix
from services.transcode.job import Source
from services.transcode.ladder import AUDIO_KBPS, SEGMENT_SECONDS, Ladder, choose_ladder, scaled_size

HLS_DIR = "hls"
AUDIO_NAME = "audio"
POSTER = "poster.jpg"
IMAGE = "image.png"
SPRITE_DIR = "sprite"
SPRITE_PATTERN = f"{SPRITE_DIR}/sprite_%03d.jpg"
PEAKS = "peaks.txt"
THUMB_WIDTH = 160
SPRITE_COLUMNS = 10
SPRITE_ROWS = 10
MAX_THUMBNAILS = 1000  # longer masters get a thumbnail every few seconds instead
PEAKS_PER_SECOND = 20
AUDIO_RATE = 48000
DEFAULT_PRESET = "veryfast"
# Same list ingest accepts; ffmpeg refuses any other demuxer (defence in depth,
# the master was already checked). Reference formats (hls, concat) are absent.
INPUT_FORMATS = ("mov", "mp4", "m4a", "3gp", "3g2", "mj2", "matroska", "webm", "mxf", "avi",
                 "mpegts", "wav", "aiff", "flac", "mp3", "ogg", "png_pipe", "jpeg_pipe",
                 "tiff_pipe", "exr_pipe", "image2")

# JPEG (JFIF) is BT.601 full range; rungs are BT.709 limited range.
_JPEG_SCALE = "in_color_matrix=bt709:out_color_matrix=bt601:in_range=tv:out_range=pc"


@dataclass(frozen=True)
class Thumbnails:
    every_frames: int  # one thumbnail each this many frames, from frame 0
    count: int
    width: int
    height: int
    columns: int
    rows: int

    @property
    def per_sheet(self) -> int:
        return self.columns * self.rows


@dataclass(frozen=True)
class Plan:
    """The command and where its outputs land (relative to the output directory)."""

    argv: list[str]
    kind: str
    ladder: Ladder | None = None
    hls_names: tuple[str, ...] = ()  # one directory per rung (and "audio") under hls/
    poster: str | None = None
    image: str | None = None
    thumbnails: Thumbnails | None = None
    peaks: str | None = None
    peak_samples: int = AUDIO_RATE // PEAKS_PER_SECOND
    notes: tuple[str, ...] = field(default_factory=tuple)


def plan_transcode(source: Source, input_path: str | Path, preset: str = DEFAULT_PRESET, threads: int = 0) -> Plan:
    """The ffmpeg command for this master, by kind; threads > 0 caps ffmpeg's threads."""
    plan = _plan_by_kind(source, input_path, preset)
    if threads > 0:
        plan = replace(plan, argv=limit_threads(plan.argv, threads))
    return plan


def limit_threads(argv: list[str], threads: int) -> list[str]:
    """Cap decoders (-threads before each -i), encoders (after it) and filter graphs.

    One worker per core scales better than one ffmpeg spreading over all cores.
    """
    n = str(threads)
    capped = [argv[0], "-filter_complex_threads", n, "-filter_threads", n]
    for previous, arg in zip(argv, argv[1:]):
        if arg == "-i":
            capped += ["-threads", n]
        capped.append(arg)
        if previous == "-i":
            capped += ["-threads", n]
    return capped


def _plan_by_kind(source: Source, input_path: str | Path, preset: str) -> Plan:
    if source.kind == "video":
        return _video_plan(source, input_path, preset)
    if source.kind == "audio":
        return _audio_plan(source, input_path)
    if source.kind == "image":
        return _image_plan(source, input_path)
    raise ValueError(f"unknown media kind {source.kind!r}")


def _input(path: str | Path, *extra: str) -> list[str]:
    # "file:" keeps a name like "-x.mov" from reading as an option.
    return ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-nostats", "-y",
            "-progress", "pipe:1", "-protocol_whitelist", "file",
            "-format_whitelist", ",".join(INPUT_FORMATS), *extra,
            "-i", f"file:{Path(path).resolve()}"]


# --- video -------------------------------------------------------------------

def _video_plan(source: Source, input_path: str | Path, preset: str) -> Plan:
    ladder = choose_ladder(source)
    notes: list[str] = []
    top = ladder.rungs[0]
    pre = []
    if source.interlaced:
        pre += deinterlace_filters(source)
        notes.append(interlace_note(source))
    pre += _rotation_filters(source.rotation)
    if source.variable_frame_rate:
        pre += _retime_filters(source.fps)
        notes.append(
            f"Variable frame rate master: every one of its {source.frames} frames is kept once and "
            f"retimed to a constant {_rate_text(source.fps)} fps (its average), so frame n of "
            "every rendition is frame n of the master; where the master's frame spacing varied, "
            "picture and sound can drift apart slightly.")
    colour, colour_note = colour_filters(source)
    pre += colour
    if colour_note:
        notes.append(colour_note)

    thumbs = thumbnail_plan(source, top.width, top.height)
    n = len(ladder.rungs)
    graph = [f"[0:v]{','.join(pre + [f'split={n + 2}'])}" + "".join(f"[s{i}]" for i in range(n + 2))]
    for i, rung in enumerate(ladder.rungs):
        graph.append(f"[s{i}]scale={rung.width}:{rung.height}:{_RUNG_SCALE},"
                     f"setsar=1,format=yuv420p[v{i}]")
    poster_frame = source.frames // 10
    graph.append(f"[s{n}]select=eq(n\\,{poster_frame}),scale={top.width}:{top.height}:"
                 f"{_JPEG_SCALE},format=yuvj420p[poster]")
    graph.append(f"[s{n + 1}]select=not(mod(n\\,{thumbs.every_frames})),"
                 f"scale={thumbs.width}:{thumbs.height}:{_JPEG_SCALE},format=yuvj420p,"
                 f"tile={thumbs.columns}x{thumbs.rows}[sprite]")
    if source.sample_aspect_ratio != 1:
        notes.append(pixel_shape_note(source, top.width, top.height))
    if ladder.has_audio:
        mix = stereo_mix(source, AUDIO_RATE)
        graph += _audio_graph(mix.graph)
        if mix.note:
            notes.append(mix.note)

    argv = _input(input_path, "-noautorotate")
    argv += ["-filter_complex", ";".join(graph)]
    argv += [arg for i in range(n) for arg in ("-map", f"[v{i}]")]
    if ladder.has_audio:
        argv += ["-map", "[aenc]", *_aac_args()]
    argv += _x264_args(ladder, preset)
    if source.variable_frame_rate:
        # The encoder's time base would otherwise be the master's nominal rate,
        # and the retimed frames would be rounded onto that grid unevenly.
        argv += ["-enc_time_base:v", f"{source.fps.denominator}/{source.fps.numerator}"]
    names = tuple(r.name for r in ladder.rungs) + ((AUDIO_NAME,) if ladder.has_audio else ())
    stream_map = [f"v:{i},name:{r.name}" + (",agroup:audio" if ladder.has_audio else "")
                  for i, r in enumerate(ladder.rungs)]
    if ladder.has_audio:
        stream_map.append(f"a:0,agroup:audio,name:{AUDIO_NAME}")
    argv += _hls_args(" ".join(stream_map))
    argv += ["-map", "[poster]", "-fps_mode", "passthrough", "-frames:v", "1", "-update", "1",
             "-q:v", "3", "-f", "image2", POSTER]
    argv += ["-map", "[sprite]", "-fps_mode", "passthrough", "-q:v", "5", "-f", "image2",
             SPRITE_PATTERN]
    return Plan(argv=argv, kind="video", ladder=ladder, hls_names=names, poster=POSTER,
                thumbnails=thumbs, peaks=PEAKS if ladder.has_audio else None, notes=tuple(notes))


def deinterlace_filters(source: Source) -> list[str]:
    """bwdif in send_frame mode: one progressive frame for each interlaced frame, at its time.

    Parity from the decision (tag or idet); left to each frame's own flag otherwise."""
    parity = source.field_parity or "auto"
    return [f"bwdif=mode=send_frame:parity={parity}:deint=all"]


def interlace_note(source: Source) -> str:
    order = {"tff": "top field first", "bff": "bottom field first"}.get(
        source.field_parity or "", "field order as each frame is flagged")
    how = ("the master does not say how it was scanned; field detection (idet) found it "
           "interlaced" if source.scan_detected else "as the master says")
    rate = _rate_text(source.fps) if source.fps else "?"
    return (f"Interlaced master ({source.height}i at {rate} frames a second, {order}; {how}): "
            f"deinterlaced with bwdif to progressive at {rate} fps, one picture for each of "
            f"its {source.frames} frames.")


def pixel_shape_note(source: Source, width: int, height: int) -> str:
    sar = source.sample_aspect_ratio
    return (f"Non-square pixels ({source.width}x{source.height} at a {sar.numerator}:"
            f"{sar.denominator} pixel aspect ratio): the renditions, poster and filmstrip "
            f"show it at {width}x{height} with square pixels.")


def _retime_filters(fps: Fraction) -> list[str]:
    # Frame N at exactly N / fps: a time base of 1/numerator, `denominator` ticks a frame.
    return [f"settb=1/{fps.numerator}", f"setpts=N*{fps.denominator}"]


# Both matrices set, so swscale never converts between them: left to itself it
# takes an untagged YUV source as BT.601 and shifts its colours. (An RGB source
# is converted to YUV with the BT.709 matrix.)
_RUNG_SCALE = "flags=bicubic:in_color_matrix=bt709:out_color_matrix=bt709:in_range=tv:out_range=tv"


def thumbnail_plan(source: Source, width: int, height: int) -> Thumbnails:
    """About one filmstrip thumbnail a second, counted in frames so cues are exact."""
    fps = source.fps or Fraction(25)
    seconds = max(1, math.ceil(source.duration / MAX_THUMBNAILS))
    every = max(1, round(seconds * fps))
    count = max(1, math.ceil(source.frames / every))
    thumb_w, thumb_h = scaled_size(width, height, min(width, height) * THUMB_WIDTH // width)
    columns = min(SPRITE_COLUMNS, count)
    rows = min(SPRITE_ROWS, math.ceil(count / columns))
    return Thumbnails(every_frames=every, count=count, width=thumb_w, height=thumb_h,
                      columns=columns, rows=rows)


def _x264_args(ladder: Ladder, preset: str) -> list[str]:
    # Keyframes land on the first frame at or after every 2 s; x264's own GOP
    # limit is set beyond that and scene cuts are off, so no other keyframe appears.
    gop = 2 * math.ceil(SEGMENT_SECONDS * ladder.fps)
    args = ["-c:v", "libx264", "-preset", preset, "-profile:v", "high",
            "-fps_mode:v", "passthrough",
            "-force_key_frames:v", f"expr:gte(t,n_forced*{SEGMENT_SECONDS})",
            "-g:v", str(gop), "-sc_threshold:v", "0", "-forced-idr:v", "1", "-flags:v", "+cgop",
            "-color_primaries:v", "bt709", "-color_trc:v", "bt709", "-colorspace:v", "bt709",
            "-color_range:v", "tv"]
    for i, rung in enumerate(ladder.rungs):
        args += [f"-level:v:{i}", rung.level, f"-b:v:{i}", f"{rung.video_kbps}k",
                 f"-maxrate:v:{i}", f"{rung.maxrate_kbps}k", f"-bufsize:v:{i}", f"{rung.bufsize_kbits}k"]
    return args


# --- audio -------------------------------------------------------------------

def _audio_graph(mix: list[str]) -> list[str]:
    """One decode of the sound: the stereo pair (audio_mix) feeds the AAC branch and
    the peak levels per window, so the waveform shows what the renditions carry."""
    samples = AUDIO_RATE // PEAKS_PER_SECOND
    return [*mix, "[amix]asplit=2[aenc][apeak]",
            f"[apeak]aformat=sample_fmts=flt:channel_layouts=mono,asetnsamples=n={samples}:p=0,"
            "astats=metadata=1:reset=1:measure_perchannel=none:measure_overall=Min_level+Max_level,"
            f"ametadata=mode=print:file={PEAKS},anullsink"]


def _aac_args() -> list[str]:
    return ["-c:a", "aac", "-b:a", f"{AUDIO_KBPS}k", "-ac", "2", "-ar", str(AUDIO_RATE)]


def _hls_args(stream_map: str) -> list[str]:
    return ["-max_muxing_queue_size", "4096",
            "-f", "hls", "-hls_segment_type", "fmp4", "-hls_time", str(SEGMENT_SECONDS),
            "-hls_playlist_type", "event", "-hls_list_size", "0",
            "-hls_flags", "independent_segments+temp_file",
            "-hls_fmp4_init_filename", "init.mp4",
            "-hls_segment_filename", f"{HLS_DIR}/%v/seg_%05d.m4s",
            "-master_pl_name", "ffmpeg_master.m3u8", "-var_stream_map", stream_map,
            f"{HLS_DIR}/%v/index.m3u8"]


def _audio_plan(source: Source, input_path: str | Path) -> Plan:
    ladder = choose_ladder(source)
    mix = stereo_mix(source, AUDIO_RATE)
    argv = _input(input_path) + ["-filter_complex", ";".join(_audio_graph(mix.graph)),
                                 "-map", "[aenc]", *_aac_args()]
    argv += _hls_args(f"a:0,name:{AUDIO_NAME}")
    return Plan(argv=argv, kind="audio", ladder=ladder, hls_names=(AUDIO_NAME,), peaks=PEAKS,
                notes=(mix.note,) if mix.note else ())


# --- image -------------------------------------------------------------------

def _image_plan(source: Source, input_path: str | Path) -> Plan:
    """A still: a poster JPEG no bigger than the top rung would be, and a full-size PNG.

    Scene-linear float stills (OpenEXR) are tone-mapped to sRGB first; 16-bit
    stills keep their 16 bits in the PNG."""
    width, height = source.display_size
    poster_w, poster_h = scaled_size(width, height, 1080)
    pre, notes = _still_filters(source)
    pre += _rotation_filters(source.rotation)
    if (width, height) != (source.width, source.height) and source.rotation in (0, 180):
        # Non-square pixels: the reviewable image is shown with square ones.
        pre += [f"scale={width}:{height}:flags=bicubic", "setsar=1"]
        notes.append(pixel_shape_note(source, width, height))
    graph = (f"[0:v]{','.join(pre + ['split=2'])}[p][i];"
             f"[p]scale={poster_w}:{poster_h}:{_STILL_JPEG_SCALE},format=yuvj420p[poster];"
             "[i]null[image]")
    argv = _input(input_path, "-noautorotate") + [
        "-filter_complex", graph,
        "-map", "[poster]", "-frames:v", "1", "-update", "1", "-q:v", "3", "-f", "image2", POSTER,
        "-map", "[image]", "-frames:v", "1", "-update", "1", "-f", "image2", IMAGE]
    return Plan(argv=argv, kind="image", poster=POSTER, image=IMAGE, notes=tuple(notes))


# A still's own colour properties are read from the frame (JPEG: BT.601 full range,
# RGB formats: none needed); only the JPEG poster's are set.
_STILL_JPEG_SCALE = "flags=bicubic:out_color_matrix=bt601:out_range=pc"
# Scene-linear stills: values up to this many times diffuse white are rolled off
# into the picture (Möbius curve: below 0.3 untouched), brighter ones clip.
EXR_PEAK = 16


def _still_filters(source: Source) -> tuple[list[str], list[str]]:
    if source.color_transfer == "linear" or source.video_codec == "exr":
        return ([f"format=gbrpf32le,tonemap=tonemap=mobius:peak={EXR_PEAK}:desat=0",
                 "zscale=transferin=linear:primariesin=709:transfer=iec61966-2-1:primaries=709",
                 "format=rgb24"],
                [f"Scene-linear still (OpenEXR): tone-mapped to sRGB for review (Möbius curve; "
                 f"highlights up to {EXR_PEAK}x diffuse white are compressed, brighter ones clip). "
                 "Colours will differ from a grading display."])
    return [], []


def _rate_text(fps: Fraction) -> str:
    return f"{float(fps):.3f}".rstrip("0").rstrip(".")
