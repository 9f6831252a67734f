"""Exact-still benchmark: request -> last byte of frame N's PNG, cold and cached,
next to raw `ffmpeg -ss T -i FILE -frames:v 1 out.png` on the same master in the same run.

    make bench-still                                   # against the `make up` stack
    make bench-still DATA=.data-bench PORT_BASE=24000 WORKERS=0
    .venv/bin/python bench/still/run.py --data .data-bench --frames 9 --seconds 6

Generates three 1080p masters (H.264 long GOP: one keyframe per 250 frames;
ProRes 422 Proxy; HEVC long GOP), uploads them, then for N frames spread over
each master times:

  cold    GET /api/v1/review/versions/<id>/stills/<n> (the review service cuts
          the frame from the master over a presigned URL and stores the PNG),
          then GET the signed CDN URL to its last byte
  cached  the same two requests again (the PNG is kept; the CDN has it)
  raw     ffmpeg -ss <frame time> -i <the local master> -frames:v 1 -y out.png

and prints median and p95 of each, and cold / raw. Goals (issue 12): cached <=
50 ms, cold <= 1.5 x raw. Run it with no transcode worker busy (WORKERS=0, or
after the uploads' transcodes finished), or the numbers measure the worker.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
FFMPEG = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y"]
SOURCE = "testsrc2=size=1920x1080:rate=25"
MASTERS = {
    "1080p H.264 long GOP": ("h264.mp4", ["-c:v", "libx264", "-preset", "veryfast", "-g", "250",
                                           "-keyint_min", "250", "-sc_threshold", "0", "-pix_fmt", "yuv420p"]),
    "1080p ProRes 422 Proxy": ("prores.mov", ["-c:v", "prores_ks", "-profile:v", "0", "-pix_fmt", "yuv422p10le"]),
    "1080p HEVC long GOP": ("hevc.mp4", ["-c:v", "libx265", "-preset", "ultrafast", "-x265-params",
                                         "log-level=error:keyint=250:min-keyint=250:scenecut=0",
                                         "-pix_fmt", "yuv420p", "-tag:v", "hvc1"]),
}


def load_stack_env(data_dir: Path) -> None:
    for line in (data_dir / "stack.env").read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            os.environ.setdefault(key, value)


def make_master(workdir: Path, name: str, codec: list[str], seconds: float) -> Path:
    path = workdir / name
    if not path.exists():
        subprocess.run([*FFMPEG, "-f", "lavfi", "-i", f"{SOURCE}:duration={seconds}", *codec, str(path)],
                       check=True, timeout=1800)
    return path


def upload(path: Path, project: str) -> str:
    done = subprocess.run([str(ROOT / ".venv" / "bin" / "framegate"), "upload", "--project", project,
                           "--asset", path.stem, "--json", str(path)],
                          capture_output=True, text=True, timeout=1800, cwd=ROOT)
    if done.returncode != 0:
        sys.exit(f"upload of {path} failed: {done.stderr.strip()}")
    line = [json.loads(x) for x in done.stdout.splitlines() if x.strip()][-1]
    return line.get("version_id") or line["version"]["id"]


def timed_still(http: requests.Session, base: str, version_id: str, frame: int) -> tuple[float, bool, int]:
    """Seconds from the API request to the PNG's last byte; whether the PNG was cut now; its size."""
    started = time.perf_counter()
    answer = http.get(f"{base}/api/v1/review/versions/{version_id}/stills/{frame}", timeout=300)
    answer.raise_for_status()
    still = answer.json()
    url = still["url"] if still["url"].startswith("http") else base + still["url"]
    png = http.get(url, timeout=300)
    png.raise_for_status()
    body = png.content
    return time.perf_counter() - started, still["made"], len(body)


def timed_raw(master: Path, frame: int, fps: float, out: Path) -> float:
    started = time.perf_counter()
    subprocess.run([*FFMPEG, "-ss", f"{(frame - 0.25) / fps:.6f}", "-i", str(master), "-frames:v", "1", str(out)],
                   check=True, timeout=300)
    return time.perf_counter() - started


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def line(label: str, values: list[float]) -> str:
    return f"  {label:<7} median {statistics.median(values) * 1000:7.0f} ms   p95 {p95(values) * 1000:7.0f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(ROOT / ".data"))
    parser.add_argument("--frames", type=int, default=9, help="frames per master (each cut cold once)")
    parser.add_argument("--seconds", type=float, default=6, help="length of each generated master")
    parser.add_argument("--workdir", default=None, help="where generated masters go (default: a temp dir)")
    args = parser.parse_args()
    load_stack_env(Path(args.data))
    sys.path.insert(0, str(ROOT))
    from framegate.config import load_credentials  # noqa: E402 (after the stack's environment)

    creds = load_credentials(os.environ)
    if creds is None:
        sys.exit("not signed in: run `framegate login` against this stack (or `make up`, which signs the admin in)")
    http = requests.Session()
    http.trust_env = False
    http.headers["Authorization"] = f"Bearer {creds.token}"
    base = creds.url.rstrip("/")
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="framegate-bench-still-"))
    workdir.mkdir(parents=True, exist_ok=True)
    project = f"bench-still-{time.strftime('%Y%m%d-%H%M%S')}"
    fps = 25.0
    total = int(args.seconds * fps)
    # Spread over the master, never a keyframe (frame 0), the far end of the GOP included.
    frames = sorted({max(1, round((i + 1) * (total - 1) / args.frames)) for i in range(args.frames)})

    print(f"{len(frames)} frames per master, {args.seconds:g} s masters at 1920x1080 25 fps; "
          f"cores: {os.cpu_count()}, load average {os.getloadavg()[0]:.1f}")
    results = {}
    for label, (name, codec) in MASTERS.items():
        master = make_master(workdir, name, codec, args.seconds)
        version_id = upload(master, project)
        cold, cached, raw, sizes = [], [], [], []
        for frame in frames:
            raw.append(timed_raw(master, frame, fps, workdir / "raw.png"))
            seconds, made, size = timed_still(http, base, version_id, frame)
            if not made:
                sys.exit(f"frame {frame} of {label} was already cut: use a fresh project")
            cold.append(seconds)
            sizes.append(size)
        for frame in frames:
            timed_still(http, base, version_id, frame)  # the CDN's first fetch of each (a MISS) warms it
            cached.append(timed_still(http, base, version_id, frame)[0])
        results[label] = (cold, cached, raw)
        print(f"\n{label}  ({master.stat().st_size / 1e6:.0f} MB, PNG {statistics.median(sizes) / 1e6:.1f} MB)")
        print(line("cold", cold))
        print(line("cached", cached))
        print(line("raw", raw))
        print(f"  cold / raw (median) = {statistics.median(cold) / statistics.median(raw):.2f}   (goal <= 1.5)")
        print(f"  cached median = {statistics.median(cached) * 1000:.0f} ms   (goal <= 50 ms)")
    load = os.getloadavg()[0]
    if load > (os.cpu_count() or 1):
        print(f"\nnote: load average {load:.1f} on {os.cpu_count()} cores: other work shared the machine; "
              "the ratios hold better than the absolute times")


if __name__ == "__main__":
    main()
