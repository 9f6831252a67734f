"""Tiny generated media for tests: one ffmpeg call per file, cached by name.

Each `make_*` function takes a directory and returns the path of its file,
creating it only if it is not already there, so a session-scoped directory
pays for each file once. Files are 1-2 s at 160x90 (make_large_avi aside,
which exists to be bigger than an upload part) so the set builds in a second.
"""
from __future__ import annotations

import os
import struct
import subprocess
import uuid
from pathlib import Path
from typing import Callable

SIZE = "160x90"
FFMPEG = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y"]
# A short tone so the video files carry an audio stream like real deliveries.
TONE = ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"]
_IDENTITY_MATRIX = struct.pack(">9i", 1 << 16, 0, 0, 0, 1 << 16, 0, 0, 0, 1 << 30)


def _video_source(rate: str, seconds: float = 2, size: str = SIZE) -> list[str]:
    return ["-f", "lavfi", "-i", f"testsrc2=size={size}:rate={rate}:duration={seconds}"]


def _cached(dirpath: Path | str, name: str, build: Callable[[Path], None]) -> Path:
    """Return dirpath/name, building it via a temp name first so a crash or a
    parallel worker never leaves a half-written file under the real name."""
    path = Path(dirpath) / name
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{uuid.uuid4().hex[:8]}.{name}")
    build(tmp)
    os.replace(tmp, path)
    return path


def _ffmpeg(dirpath: Path | str, name: str, args: list[str]) -> Path:
    # The muxer is picked from the final name's extension, not the temp name.
    fmt = {"mov": "mov", "mp4": "mp4", "mxf": "mxf", "wav": "wav", "png": "image2", "avi": "avi",
           "m2t": "mpegts", "jpg": "image2", "tiff": "image2", "exr": "image2"}
    ext = name.rsplit(".", 1)[-1]

    def build(tmp: Path) -> None:
        subprocess.run([*FFMPEG, *args, "-f", fmt[ext], str(tmp)], check=True,
                       capture_output=True, timeout=60)

    return _cached(dirpath, name, build)


def _h264(*extra: str) -> list[str]:
    return ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", *extra]


def _aac() -> list[str]:
    return ["-c:a", "aac", "-b:a", "32k", "-shortest"]


def _text(dirpath: Path | str, name: str, text: str) -> Path:
    return _cached(dirpath, name, lambda tmp: tmp.write_text(text))


# --- good media ------------------------------------------------------------

def make_h264_2398(dirpath: Path | str) -> Path:
    """2 s of H.264 at 24000/1001 in MP4, with AAC audio."""
    return _ffmpeg(dirpath, "h264_2398.mp4",
                   [*_video_source("24000/1001"), *TONE, *_h264(), *_aac()])


def make_mov_25_tc(dirpath: Path | str) -> Path:
    """2 s of H.264 at 25 fps in MOV with start timecode 10:00:00:00 (tmcd track)."""
    return _ffmpeg(dirpath, "mov_25_tc.mov",
                   [*_video_source("25"), *_h264(), "-timecode", "10:00:00:00"])


def make_mov_2997_df(dirpath: Path | str) -> Path:
    """2 s at 30000/1001 in MOV with drop-frame start timecode 01:00:00;00."""
    return _ffmpeg(dirpath, "mov_2997_df.mov",
                   [*_video_source("30000/1001"), *_h264(), "-timecode", "01:00:00;00"])


def make_mp4_5994(dirpath: Path | str) -> Path:
    """1 s of H.264 at 60000/1001 in MP4."""
    return _ffmpeg(dirpath, "mp4_5994.mp4", [*_video_source("60000/1001", 1), *_h264()])


def make_h265(dirpath: Path | str) -> Path:
    """1 s of HEVC at 25 fps in MP4, tagged hvc1 the way Apple players want it."""
    return _ffmpeg(dirpath, "h265.mp4",
                   [*_video_source("25", 1), "-c:v", "libx265", "-preset", "ultrafast",
                    "-x265-params", "log-level=error", "-pix_fmt", "yuv420p",
                    "-tag:v", "hvc1"])


def make_prores(dirpath: Path | str) -> Path:
    """1 s of ProRes 422 Proxy at 24000/1001 in MOV with PCM audio."""
    return _ffmpeg(dirpath, "prores.mov",
                   [*_video_source("24000/1001", 1), *TONE, "-c:v", "prores_ks",
                    "-profile:v", "0", "-pix_fmt", "yuv422p10le",
                    "-c:a", "pcm_s16le", "-shortest"])


def make_dnxhd_mxf(dirpath: Path | str) -> Path:
    """1 s of DNxHR LB at 25 fps in OP1a MXF with a start timecode."""
    return _ffmpeg(dirpath, "dnxhd.mxf",
                   [*_video_source("25", 1, "256x144"), "-c:v", "dnxhd",
                    "-profile:v", "dnxhr_lb", "-pix_fmt", "yuv422p",
                    "-timecode", "00:59:58:00"])


def make_rotated_phone(dirpath: Path | str) -> Path:
    """1 s of landscape-coded H.264 whose track matrix turns it 90 degrees
    clockwise for display, as a phone held upright records it."""
    # ffmpeg 5.1 ignores `-metadata:s:v rotate=90` when encoding and writes it
    # counter-clockwise on stream copy, so write the matrix QuickTime defines
    # (a=0 b=1 c=-1 d=0, shifted right by the coded height) into the tkhd box.
    plain = _ffmpeg(dirpath, "phone_unrotated.mp4", [*_video_source("30", 1), *_h264()])

    def build(tmp: Path) -> None:
        data = plain.read_bytes()
        at = data.index(_IDENTITY_MATRIX, data.index(b"tkhd"))
        clockwise = struct.pack(">9i", 0, 1 << 16, 0, -1 << 16, 0, 0, 90 << 16, 0, 1 << 30)
        tmp.write_bytes(data[:at] + clockwise + data[at + len(clockwise):])

    return _cached(dirpath, "phone_rot90.mp4", build)


def make_colour_tagged(dirpath: Path | str) -> Path:
    """1 s of H.264 with BT.709 primaries/transfer/matrix and limited range signalled."""
    return _ffmpeg(dirpath, "bt709.mp4",
                   [*_video_source("25", 1),
                    *_h264("-color_primaries", "bt709", "-color_trc", "bt709",
                           "-colorspace", "bt709", "-color_range", "tv")])


def make_untagged(dirpath: Path | str) -> Path:
    """1 s of H.264 with no colour signalling at all."""
    return _ffmpeg(dirpath, "untagged.mp4", [*_video_source("25", 1), *_h264()])


def make_vfr(dirpath: Path | str) -> Path:
    """2 s of H.264: 30 fps for the first second, 10 fps for the second."""
    keep = r"select='lt(n\,30)+not(mod(n\,3))'"
    return _ffmpeg(dirpath, "vfr.mp4",
                   [*_video_source("30"), "-vf", keep, "-fps_mode", "vfr", *_h264()])


def make_wav_stereo(dirpath: Path | str) -> Path:
    """1 s of 48 kHz stereo PCM."""
    return _ffmpeg(dirpath, "stereo_48k.wav",
                   ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=1",
                    "-ac", "2", "-c:a", "pcm_s16le"])


def make_png(dirpath: Path | str) -> Path:
    """One 320x180 PNG frame."""
    return _ffmpeg(dirpath, "still.png",
                   [*_video_source("25", 1, "320x180"), "-frames:v", "1", "-update", "1"])


def make_large_avi(dirpath: Path | str) -> Path:
    """About 20 MiB of uncompressed 640x360 video (60 frames at 25 fps) in AVI:
    larger than one 16 MiB upload part, with a size that does not depend on an encoder."""
    return _ffmpeg(dirpath, "large.avi",
                   [*_video_source("25", 2.4, "640x360"), "-c:v", "rawvideo",
                    "-pix_fmt", "yuv420p"])


# --- bad input -------------------------------------------------------------

def make_truncated_mp4(dirpath: Path | str) -> Path:
    """The first half of a valid MP4: the moov atom (written last) is missing."""
    whole = make_h264_2398(dirpath).read_bytes()
    return _cached(dirpath, "truncated.mp4",
                   lambda tmp: tmp.write_bytes(whole[: len(whole) // 2]))


def make_empty(dirpath: Path | str) -> Path:
    return _cached(dirpath, "empty.mov", lambda tmp: tmp.write_bytes(b""))


def make_text(dirpath: Path | str) -> Path:
    return _text(dirpath, "notes.txt", "Client notes: warmer grade on shot 12.\n")


def make_m3u8(dirpath: Path | str) -> Path:
    """An HLS playlist: probing it would make ffmpeg fetch a remote segment."""
    return _text(dirpath, "playlist.m3u8",
                 "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n"
                 "#EXTINF:2.0,\nhttp://example.invalid/seg.ts\n#EXT-X-ENDLIST\n")


def make_ffconcat(dirpath: Path | str) -> Path:
    """An ffconcat script: probing it would make ffmpeg read an arbitrary local file."""
    return _text(dirpath, "list.ffconcat", "ffconcat version 1.0\nfile '/etc/passwd'\n")


MEDIA: dict[str, Callable[[Path | str], Path]] = {
    "h264_2398": make_h264_2398,
    "mov_25_tc": make_mov_25_tc,
    "mov_2997_df": make_mov_2997_df,
    "mp4_5994": make_mp4_5994,
    "h265": make_h265,
    "prores": make_prores,
    "dnxhd_mxf": make_dnxhd_mxf,
    "rotated_phone": make_rotated_phone,
    "colour_tagged": make_colour_tagged,
    "untagged": make_untagged,
    "vfr": make_vfr,
    "wav_stereo": make_wav_stereo,
    "png": make_png,
    "large_avi": make_large_avi,
    "truncated_mp4": make_truncated_mp4,
    "empty": make_empty,
    "text": make_text,
    "m3u8": make_m3u8,
    "ffconcat": make_ffconcat,
}


# --- transcode inputs --------------------------------------------------------

def make_h264_keyframes(dirpath: Path | str, rate: str = "24000/1001") -> Path:
    """5 s of H.264 at `rate` with AAC: long enough for keyframes at 0, 2 and 4 s."""
    name = "gop_" + rate.replace("/", "_") + ".mp4"
    return _ffmpeg(dirpath, name, [*_video_source(rate, 5), *TONE, *_h264(), *_aac()])


def make_bars(dirpath: Path | str, tagged: bool = True) -> Path:
    """1 s of SMPTE HD colour bars at 320x180 in H.264 4:2:0, BT.709-tagged or untagged."""
    tags = ["-color_primaries", "bt709", "-color_trc", "bt709", "-colorspace", "bt709",
            "-color_range", "tv"] if tagged else []
    # The bars are RGB; the conversion to YUV uses BT.709 either way.
    bars = ["-f", "lavfi", "-i", "smptehdbars=size=320x180:rate=25:duration=1",
            "-vf", "scale=out_color_matrix=bt709:out_range=tv,format=yuv420p"]
    return _ffmpeg(dirpath, f"bars_{'bt709' if tagged else 'untagged'}.mp4",
                   [*bars, "-c:v", "libx264", "-preset", "ultrafast", "-qp", "0", *tags])


def make_hdr_pq(dirpath: Path | str) -> Path:
    """1 s of 10-bit HEVC tagged BT.2020 / PQ (HDR10), 160x90."""
    return _ffmpeg(dirpath, "hdr_pq.mp4",
                   [*_video_source("25", 1), "-c:v", "libx265", "-preset", "ultrafast",
                    "-x265-params", "log-level=error", "-pix_fmt", "yuv420p10le",
                    "-color_primaries", "bt2020", "-color_trc", "smpte2084",
                    "-colorspace", "bt2020nc", "-tag:v", "hvc1"])


def make_odd_size_rgb(dirpath: Path | str) -> Path:
    """1 s of 161x91 RGB (QuickTime Animation) in MOV: odd sizes, and an RGB source."""
    return _ffmpeg(dirpath, "odd_161x91.mov",
                   [*_video_source("25", 1, "161x91"), "-c:v", "qtrle", "-pix_fmt", "rgb24"])


def make_hd(dirpath: Path | str, seconds: float = 2, size: str = "1920x1080") -> Path:
    """H.264 1080p25 with AAC (big enough for the whole 1080/720/360 ladder)."""
    return _ffmpeg(dirpath, f"hd_{size}_{seconds:g}s.mp4",
                   [*_video_source("25", seconds, size), *TONE, *_h264(), *_aac()])


def make_garbage_mp4(dirpath: Path | str) -> Path:
    """A valid MP4 header and index whose video payload is overwritten with noise."""
    whole = bytearray(make_h264_2398(dirpath).read_bytes())
    at = whole.index(b"mdat")
    size = struct.unpack(">I", whole[at - 4:at])[0]
    # Keep the first packets so the decoder opens, then noise to the end of mdat.
    start = at + 4 + 4096
    noise = bytes((i * 151 + 89) % 256 for i in range(at - 4 + size - start))
    whole[start:start + len(noise)] = noise
    return _cached(dirpath, "garbage.mp4", lambda tmp: tmp.write_bytes(bytes(whole)))



# --- real masters: interlaced, anamorphic, several audio tracks, stills ------------
# Interlaced pictures are woven from a source at the field rate (`interlace`), so
# neighbouring fields show different moments: combing that idet sees, and that a
# missing deinterlace would leave in the renditions.

def _weave(order: str) -> list[str]:
    """The output filter that weaves pairs of frames into interlaced frames."""
    return ["-vf", f"interlace=scan={order},setfield={order}"]


def _tones(*frequencies: int | None, seconds: float = 1) -> list[str]:
    """One mono input per entry: a sine at that frequency, or silence for None."""
    args: list[str] = []
    for frequency in frequencies:
        source = (f"sine=frequency={frequency}:sample_rate=48000:duration={seconds}" if frequency
                  else f"anullsrc=r=48000:cl=mono:d={seconds}")
        args += ["-f", "lavfi", "-i", source]
    return args


def _map_audio(count: int) -> list[str]:
    return [arg for i in range(1, count + 1) for arg in ("-map", f"{i}:a")]


def make_1080i50(dirpath: Path | str) -> Path:
    """1 s of 1080i50 (25 interlaced frames, top field first, tagged) H.264 in MOV."""
    return _ffmpeg(dirpath, "1080i50.mov",
                   [*_video_source("50", 1, "1920x1080"), *_weave("tff"),
                    *_h264("-flags", "+ildct+ilme", "-x264opts", "tff=1"), "-field_order", "tt"])


def make_xdcam_1080i5994_mxf(dirpath: Path | str) -> Path:
    """1 s of 1080i59.94 MPEG-2 4:2:2 (top field first) in MXF with eight mono PCM
    tracks, as an XDCAM HD422 delivery: track 1 a 200 Hz tone, track 2 400 Hz, 3-8 silent."""
    return _ffmpeg(dirpath, "xdcam_1080i5994.mxf",
                   [*_video_source("60000/1001", 1, "1920x1080"), *_tones(200, 400, *[None] * 6),
                    *_weave("tff"), "-map", "0:v", *_map_audio(8), "-c:v", "mpeg2video", "-flags", "+ildct+ilme",
                    "-top", "1", "-b:v", "20M", "-pix_fmt", "yuv422p", "-c:a", "pcm_s24le",
                    "-t", "1"])


def make_hdv(dirpath: Path | str) -> Path:
    """1 s of HDV: 1440x1080 MPEG-2 with 4:3 pixels (16:9 on screen), 1080i50 top field
    first, in MPEG-TS with MP2 sound."""
    weave = "interlace=scan=tff,setfield=tff,scale=1440:1080,setsar=4/3"
    return _ffmpeg(dirpath, "hdv.m2t",
                   [*_video_source("50", 1, "1920x1080"), *TONE, "-vf", weave,
                    "-c:v", "mpeg2video", "-flags", "+ildct+ilme", "-top", "1", "-b:v", "15M",
                    "-c:a", "mp2", "-t", "1"])


def make_dv_ntsc(dirpath: Path | str) -> Path:
    """1 s of DV NTSC: 720x480 at 30000/1001, 10:11 pixels (4:3), bottom field first, in MOV."""
    return _ffmpeg(dirpath, "dv_ntsc.mov",
                   [*_video_source("60000/1001", 1, "720x480"), "-vf",
                    "interlace=scan=bff,setfield=bff,setsar=10/11", "-c:v", "dvvideo",
                    "-pix_fmt", "yuv411p"])


def make_pal_anamorphic_untagged(dirpath: Path | str) -> Path:
    """1 s of PAL 16:9 anamorphic (720x576, 64:45 pixels), interlaced top field first
    but tagged neither way (MPEG-4 Part 2 in AVI): only looking at it tells."""
    return _ffmpeg(dirpath, "pal_169_untagged.avi",
                   [*_video_source("50", 1, "720x576"), "-vf", "interlace=scan=tff,setsar=64/45",
                    "-c:v", "mpeg4", "-q:v", "3", "-pix_fmt", "yuv420p"])


def make_mono_tracks_mov(dirpath: Path | str, names: tuple[str, ...] = ()) -> Path:
    """1 s of 160x90 H.264 in MOV with one mono PCM track per tone below; `names`
    (if given) become the tracks' names. Unnamed: two tracks, 200 Hz and 400 Hz.
    Named Dialogue, Music, Left, Right: silence, silence, 700 Hz, 900 Hz."""
    tones = (200, 400) if not names else (None, None, 700, 900)
    tags = [arg for i, name in enumerate(names)
            for arg in (f"-metadata:s:a:{i}", f"handler_name={name}")]
    label = "_".join(n.lower() for n in names) or "2"
    return _ffmpeg(dirpath, f"mono_tracks_{label}.mov",
                   [*_video_source("25", 1), *_tones(*tones), "-map", "0:v",
                    *_map_audio(len(tones)), *_h264(), "-c:a", "pcm_s16le", *tags])


def make_surround_51(dirpath: Path | str) -> Path:
    """1 s of 160x90 H.264 with 5.1 AAC: a 440 Hz tone in the centre only, the rest silent."""
    joined = ("[1:a][2:a][3:a][4:a][5:a][6:a]join=inputs=6:channel_layout=5.1:"
              "map=0.0-FL|1.0-FR|2.0-FC|3.0-LFE|4.0-BL|5.0-BR[s]")
    return _ffmpeg(dirpath, "surround_51.mp4",
                   [*_video_source("25", 1), *_tones(None, None, 440, None, None, None),
                    "-filter_complex", joined, "-map", "0:v", "-map", "[s]", *_h264(),
                    "-c:a", "aac", "-b:a", "192k"])


def make_jpeg(dirpath: Path | str) -> Path:
    """One 320x180 JPEG of SMPTE HD bars (BT.601 full range, as JPEG is)."""
    return _ffmpeg(dirpath, "bars.jpg", ["-f", "lavfi", "-i", "smptehdbars=size=320x180",
                                         "-frames:v", "1", "-update", "1", "-q:v", "2"])


def make_tiff16(dirpath: Path | str) -> Path:
    """One 320x180 16-bit RGB TIFF of SMPTE HD bars."""
    return _ffmpeg(dirpath, "bars16.tiff", ["-f", "lavfi", "-i", "smptehdbars=size=320x180",
                                            "-frames:v", "1", "-update", "1",
                                            "-pix_fmt", "rgb48le", "-c:v", "tiff"])


# Scene-linear grey levels of the EXR's four vertical bands, left to right: mid grey,
# diffuse white, and two highlights a display-referred picture would clip alike.
EXR_BANDS = (0.18, 1.0, 4.0, 12.0)


def make_exr(dirpath: Path | str) -> Path:
    """One 64x32 float OpenEXR still in four grey bands (EXR_BANDS)."""
    a, b, c, d = EXR_BANDS
    level = f"if(lt(X\\,16)\\,{a}\\,if(lt(X\\,32)\\,{b}\\,if(lt(X\\,48)\\,{c}\\,{d})))"
    return _ffmpeg(dirpath, "bands.exr",
                   ["-f", "lavfi", "-i", "color=c=black:s=64x32:d=1", "-vf",
                    f"format=gbrpf32le,geq=r={level}:g={level}:b={level}",
                    "-frames:v", "1", "-update", "1", "-c:v", "exr"])


# --- masters whose every frame carries its own index --------------------------
# The index is drawn as 16 blocks across the middle band of the picture (30 %
# to 70 % of its height), most significant bit first, white for 1 and black for
# 0, over testsrc2's moving colours: tests/browser/framecode.read_indexes reads
# it back. Neighbouring frames differ in both, so a still of the wrong frame
# is far from the right one.
INDEX_BITS = 16


def _index_boxes() -> str:
    band = "y=ih*0.3:h=ih*0.4"
    boxes = [f"drawbox=x=0:{band}:w=iw:color=black:t=fill"]
    for i in range(INDEX_BITS):
        boxes.append(f"drawbox=x=iw*{i}/{INDEX_BITS}:{band}:w=iw/{INDEX_BITS}+1:color=white:t=fill:"
                     f"enable='mod(floor(n/{2 ** (INDEX_BITS - 1 - i)}),2)'")
    return ",".join(boxes)


def _indexed_source(rate: str, seconds: float, size: str = SIZE) -> list[str]:
    return [*_video_source(rate, seconds, size), "-vf", "format=yuv420p," + _index_boxes()]


def make_indexed_25(dirpath: Path | str) -> Path:
    """2 s of H.264 at 25 fps, one keyframe and B-frames (long GOP), frame index burned in."""
    return _ffmpeg(dirpath, "indexed_25.mp4",
                   [*_indexed_source("25", 2), "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p"])


def make_indexed_2997_df(dirpath: Path | str) -> Path:
    """2 s of H.264 at 30000/1001 in MOV with drop-frame timecode 01:00:00;00, index burned in."""
    return _ffmpeg(dirpath, "indexed_2997_df.mov",
                   [*_indexed_source("30000/1001", 2), "-c:v", "libx264", "-preset", "veryfast",
                    "-pix_fmt", "yuv420p", "-timecode", "01:00:00;00"])


def make_indexed_prores(dirpath: Path | str) -> Path:
    """1 s of ProRes 422 (10-bit 4:2:2) at 24000/1001 in MOV, index burned in."""
    return _ffmpeg(dirpath, "indexed_prores.mov",
                   [*_indexed_source("24000/1001", 1), "-c:v", "prores_ks", "-profile:v", "0",
                    "-pix_fmt", "yuv422p10le"])


def make_indexed_hevc(dirpath: Path | str) -> Path:
    """2 s of HEVC at 25 fps (long GOP, B-frames) in MP4, index burned in."""
    return _ffmpeg(dirpath, "indexed_hevc.mp4",
                   [*_indexed_source("25", 2), "-c:v", "libx265", "-preset", "ultrafast",
                    "-x265-params", "log-level=error:bframes=3:keyint=250", "-pix_fmt", "yuv420p",
                    "-tag:v", "hvc1"])


def make_indexed_rotated(dirpath: Path | str) -> Path:
    """1 s of landscape-coded H.264 at 30 fps turned 90 degrees clockwise by its
    track matrix (see make_rotated_phone), index burned in across the coded picture."""
    plain = _ffmpeg(dirpath, "indexed_unrotated.mp4",
                    [*_indexed_source("30", 1), "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p"])

    def build(tmp: Path) -> None:
        data = plain.read_bytes()
        at = data.index(_IDENTITY_MATRIX, data.index(b"tkhd"))
        clockwise = struct.pack(">9i", 0, 1 << 16, 0, -1 << 16, 0, 0, 90 << 16, 0, 1 << 30)
        tmp.write_bytes(data[:at] + clockwise + data[at + len(clockwise):])

    return _cached(dirpath, "indexed_rot90.mp4", build)


def make_indexed_odd_size(dirpath: Path | str) -> Path:
    """1 s of 161x91 RGB (QuickTime Animation) at 25 fps in MOV, index burned in."""
    return _ffmpeg(dirpath, "indexed_odd_161x91.mov",
                   [*_video_source("25", 1, "161x91"), "-vf",
                    "format=yuv444p," + _index_boxes()
                    + ",scale=in_color_matrix=bt709:in_range=tv:out_range=pc,format=rgb24",
                    "-c:v", "qtrle"])


def make_indexed_hdr(dirpath: Path | str) -> Path:
    """1 s of 10-bit HEVC tagged BT.2020 / PQ (HDR10) at 25 fps, index burned in."""
    return _ffmpeg(dirpath, "indexed_hdr_pq.mp4",
                   [*_indexed_source("25", 1), "-c:v", "libx265", "-preset", "ultrafast",
                    "-x265-params", "log-level=error", "-pix_fmt", "yuv420p10le",
                    "-color_primaries", "bt2020", "-color_trc", "smpte2084",
                    "-colorspace", "bt2020nc", "-tag:v", "hvc1"])


INDEXED: dict[str, Callable[[Path | str], Path]] = {
    "25 fps H.264": make_indexed_25,
    "29.97 DF": make_indexed_2997_df,
    "ProRes": make_indexed_prores,
    "HEVC": make_indexed_hevc,
    "rotated": make_indexed_rotated,
    "odd size": make_indexed_odd_size,
    "HDR PQ": make_indexed_hdr,
}
