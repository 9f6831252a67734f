"""Clips whose every frame carries its own index in its pixels, and their HLS
renditions made by ffmpeg directly (the layout services/transcode writes).

The index is drawn as 16 blocks across the middle of the picture, most
significant bit first: white for 1, black for 0. Blocks that large survive
H.264 at any rung, and reading one pixel in the middle of each is enough.
"""
from __future__ import annotations

import subprocess
from pathlib import Path

FFMPEG = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y"]
BITS = 16
# luma: the band from 30 % to 70 % of the height holds the blocks, grey elsewhere
_BLOCKS = (f"if(between(Y,H*0.3,H*0.7),"
           f"if(mod(floor(N/pow(2,{BITS - 1}-floor(X*{BITS}/W))),2),235,16),128)")
RUNGS = (("360p", 640, 360, "800k"), ("180p", 320, 180, "250k"))


def make_clip(path: Path, rate: str, seconds: float = 2, start_timecode: str | None = None,
              size: str = "640x360") -> Path:
    """An H.264 MP4 master (640x360 unless `size` says otherwise), frame index in blocks and as text."""
    if path.exists():
        return path
    label = "drawtext=text='%{frame_num}':x=12:y=12:fontsize=36:fontcolor=yellow"
    # The blocks are drawn small and scaled up (pixel for pixel): geq is slow on a large picture.
    width, height = (int(n) for n in size.split("x"))
    args = [*FFMPEG, "-f", "lavfi", "-i", f"color=c=gray:s=160x90:r={rate}:d={seconds}",
            "-vf", f"geq=lum='{_BLOCKS}':cb=128:cr=128,scale={width}:{height}:flags=neighbor,{label}",
            "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p"]
    if start_timecode:
        args += ["-timecode", start_timecode]
    subprocess.run([*args, str(path)], check=True, capture_output=True, timeout=120)
    return path


def read_indexes(path: Path) -> list[int]:
    """The index each frame of a video (a file or an HLS playlist) carries, in
    decoding order, every frame once: the Python counterpart of DECODE_JS."""
    w, h = 16 * BITS, 9
    done = subprocess.run([*FFMPEG, "-i", str(path), "-map", "0:v:0", "-fps_mode", "passthrough",
                           "-vf", f"scale={w}:{h}:flags=area,format=gray", "-f", "rawvideo", "-"],
                          check=True, capture_output=True, timeout=300)
    frame, middle = w * h, (h // 2) * w
    indexes = []
    for start in range(0, len(done.stdout) - frame + 1, frame):
        row = done.stdout[start + middle:start + middle + w]
        indexes.append(int("".join("1" if row[i * 16 + 8] > 128 else "0" for i in range(BITS)), 2))
    return indexes


def make_renditions(master: Path, out: Path, rate: str, rungs=RUNGS) -> dict[str, Path]:
    """The HLS fMP4 ladder in one ffmpeg command, then poster and filmstrip.

    Returns {key below <project>/<version>/: file}. Keyframes every second in
    every rung, so both segments of a rung start on the same frame.
    """
    out.mkdir(parents=True, exist_ok=True)
    split = f"[0:v]split={len(rungs)}" + "".join(f"[s{i}]" for i in range(len(rungs)))
    scales = "".join(f";[s{i}]scale={w}:{h}[v{i}]" for i, (_, w, h, _) in enumerate(rungs))
    args = [*FFMPEG, "-i", str(master), "-filter_complex", split + scales]
    for i, (_, _, _, bitrate) in enumerate(rungs):
        args += ["-map", f"[v{i}]", f"-b:v:{i}", bitrate]
    args += ["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-r", rate,
             "-force_key_frames", "expr:gte(t,n_forced*1)", "-sc_threshold", "0",
             "-f", "hls", "-hls_time", "1", "-hls_playlist_type", "vod", "-hls_segment_type", "fmp4",
             "-hls_fmp4_init_filename", "init.mp4", "-start_number", "1",
             "-hls_segment_filename", str(out / "hls" / "%v" / "seg_%05d.m4s"),
             "-master_pl_name", "master.m3u8",
             "-var_stream_map", " ".join(f"v:{i},name:{name}" for i, (name, *_rest) in enumerate(rungs)),
             str(out / "hls" / "%v" / "index.m3u8")]
    subprocess.run(args, check=True, capture_output=True, timeout=300)
    # With several variants ffmpeg names the init files init_<n>.mp4; the
    # contract's layout is <rung>/init.mp4.
    for i, (name, *_rest) in enumerate(rungs):
        rung = out / "hls" / name
        (rung / f"init_{i}.mp4").rename(rung / "init.mp4")
        playlist = rung / "index.m3u8"
        playlist.write_text(playlist.read_text().replace(f"init_{i}.mp4", "init.mp4"))
    subprocess.run([*FFMPEG, "-i", str(master), "-frames:v", "1", "-q:v", "3", str(out / "poster.jpg")],
                   check=True, capture_output=True, timeout=60)
    _filmstrip(master, out, rate)
    return {str(p.relative_to(out)): p for p in sorted(out.rglob("*")) if p.is_file()}


def _filmstrip(master: Path, out: Path, rate: str, every: float = 0.25, w: int = 160, h: int = 90) -> None:
    count = 8
    # The transcode worker's layout: sprite sheets and their WebVTT track under sprite/.
    (out / "sprite").mkdir(exist_ok=True)
    subprocess.run([*FFMPEG, "-i", str(master), "-vf", f"fps=1/{every},scale={w}:{h},tile={count}x1",
                    "-frames:v", "1", "-q:v", "4", str(out / "sprite" / "sprite_001.jpg")],
                   check=True, capture_output=True, timeout=60)
    cues = ["WEBVTT", ""]
    for i in range(count):
        cues += [f"{_ts(i * every)} --> {_ts((i + 1) * every)}", f"sprite_001.jpg#xywh={i * w},0,{w},{h}", ""]
    (out / "sprite" / "thumbnails.vtt").write_text("\n".join(cues))


def _ts(seconds: float) -> str:
    ms = round(seconds * 1000)
    return f"{ms // 3600000:02d}:{ms // 60000 % 60:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}"


# Reads the index the picture carries, in the page: one pixel in the middle of each block.
DECODE_JS = """() => {
  const video = document.getElementById('video');
  const w = video.videoWidth, h = video.videoHeight;
  const canvas = document.createElement('canvas');
  canvas.width = w; canvas.height = h;
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  ctx.drawImage(video, 0, 0, w, h);
  let value = 0;
  for (let i = 0; i < %d; i++) {
    const [r, g, b] = ctx.getImageData(Math.floor((i + 0.5) * w / %d), Math.floor(h / 2), 1, 1).data;
    value = value * 2 + ((r + g + b) / 3 > 128 ? 1 : 0);
  }
  return { pixels: value, width: w, height: h };
}""" % (BITS, BITS)
