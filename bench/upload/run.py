"""Upload benchmark: the raw minio SDK against `framegate upload`, same file, same store.

    make bench-upload                      # 2 GiB ratio, RSS at 1 and 4 GiB
    .venv/bin/python bench/upload/run.py --size 512M --rss-sizes 256M,1G
    make bench-upload BENCH_ARGS="--size 1G --rss-sizes '' --big 10G"   # a 10 GiB master completes

Runs against the `make up` stack (reads <data>/stack.env). Prints
upload_ratio = platform / raw (the platform's time includes the client's and
the server's SHA-256 and the server's probe) and peak RSS of the CLI and of
the ingest service's processes, which should stay flat as the file grows.

`--big SIZE` uploads one generated master of that size (10G for the "big
masters complete" check), waits for the server's background completion, and
prints peak RSS and the local disk the ingest process wrote meanwhile
(/proc/<pid>/io write_bytes: a full local copy of the master would show as at
least its size). Generated masters are deleted afterwards, whatever happens.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FRAME_BYTES = 1920 * 1080 * 3 // 2  # one raw yuv420p 1080p frame


def parse_size(text: str) -> int:
    units = {"K": 1024, "M": 1024**2, "G": 1024**3}
    text = text.strip().upper().rstrip("IB")
    return int(float(text[:-1]) * units[text[-1]]) if text[-1] in units else int(text)


def load_stack_env(data_dir: Path) -> None:
    for line in (data_dir / "stack.env").read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            os.environ.setdefault(key, value)


def make_master(size: int, directory: Path) -> Path:
    """A real (raw video) master of about `size` bytes, so the probe does real work."""
    path = directory / f"bench-{size}.mkv"
    if not path.exists():
        frames = max(1, size // FRAME_BYTES)
        subprocess.run(
            ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=1920x1080:rate=25",
             "-frames:v", str(frames), "-c:v", "rawvideo", "-pix_fmt", "yuv420p", str(path)],
            check=True,
        )
    return path


def drop_page_cache_hint(path: Path) -> None:
    # Both runs read a warm file: read it once before timing either.
    with open(path, "rb") as f:
        while f.read(64 * 1024 * 1024):
            pass


def raw_upload_seconds(path: Path) -> float:
    from services.common.settings import load_settings
    from services.common.storage import ObjectStore

    store = ObjectStore(load_settings())
    store.ensure_buckets()
    bucket, key = store.bucket("masters"), f"bench-raw/{uuid.uuid4().hex}/{path.name}"
    started = time.perf_counter()
    store.client.fput_object(bucket, key, str(path), part_size=64 * 1024 * 1024)
    elapsed = time.perf_counter() - started
    store.remove(bucket, key)
    return elapsed


def ingest_pids(data_dir: Path) -> list[int]:
    master = int((data_dir / "run" / "ingest.pid").read_text())
    children = subprocess.run(["pgrep", "-P", str(master)], capture_output=True, text=True).stdout.split()
    return [master] + [int(c) for c in children]


def rss_bytes(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


def disk_written(pids: list[int]) -> int:
    """Bytes these processes have written to the storage layer so far."""
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/io").read_text().splitlines():
                if line.startswith("write_bytes:"):
                    total += int(line.split()[1])
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            pass
    return total


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except (FileNotFoundError, ProcessLookupError):  # it has just exited
        return ""


class PeakRss(threading.Thread):
    """Samples the resident memory of some processes until stopped."""

    def __init__(self, pids: list[int], after_exec_of: str = ""):
        super().__init__(daemon=True)
        self.pids, self.peak, self.done = pids, 0, threading.Event()
        self.after_exec_of = after_exec_of  # skip the forked copy of us before exec

    def run(self):
        while not self.done.is_set():
            for pid in self.pids:
                if self.after_exec_of and self.after_exec_of not in cmdline(pid):
                    continue
                self.peak = max(self.peak, rss_bytes(pid))
            time.sleep(0.05)


def platform_upload(path: Path, data_dir: Path, project: str) -> dict:
    """Time `framegate upload` and sample the resident memory of it and of ingest.

    The CLI's memory is sampled from /proc rather than taken from rusage:
    ru_maxrss would count the benchmark's own pages copied by fork().
    """
    pids = ingest_pids(data_dir)
    ingest = PeakRss(pids)
    written_before = disk_written(pids)
    started = time.perf_counter()
    proc = subprocess.Popen(
        [str(ROOT / ".venv/bin/framegate"), "upload", str(path), "--project", project, "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    cli = PeakRss([proc.pid], after_exec_of="framegate")
    ingest.start()
    cli.start()
    out, err = proc.communicate()
    elapsed = time.perf_counter() - started
    for sampler in (ingest, cli):
        sampler.done.set()
        sampler.join()
    if proc.returncode != 0:
        sys.exit(f"framegate upload failed: {out} {err}")
    result = json.loads(out.strip().splitlines()[-1])
    return {"seconds": elapsed, "cli_peak_rss": cli.peak, "ingest_peak_rss": ingest.peak, "result": result,
            "ingest_disk_written": disk_written(pids) - written_before}


def big_run(text: str, data_dir: Path, workdir: Path, project: str) -> None:
    """One big generated master end to end; the generated file is removed afterwards."""
    size = parse_size(text)
    free = os.statvfs(workdir).f_bavail * os.statvfs(workdir).f_frsize
    if free < size * 3:  # the file, and the store's parts plus the assembled object
        sys.exit(f"--big {text}: {free / 1024**3:.1f} GiB free in {workdir}; need about {size * 3 / 1024**3:.0f} GiB")
    master = None
    try:
        master = make_master(size, workdir)
        run = platform_upload(master, data_dir, project)
        result = run["result"]
        print(f"big master: {master.stat().st_size / 1024**3:.2f} GiB -> version {result['version']} "
              f"({result['status']}) in {run['seconds']:.0f} s, {result['frames']} frames")
        print(f"  peak RSS: cli {run['cli_peak_rss'] / 1e6:.0f} MB, ingest {run['ingest_peak_rss'] / 1e6:.0f} MB")
        print(f"  local disk written by ingest: {run['ingest_disk_written'] / 1e6:.1f} MB "
              f"(a local copy of the master would be {master.stat().st_size / 1e6:.0f} MB)")
    finally:
        if master is not None:
            master.unlink(missing_ok=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", default="2G")
    parser.add_argument("--rss-sizes", default="1G,4G")
    parser.add_argument("--data", default=str(ROOT / ".data"))
    parser.add_argument("--workdir", default=None, help="where generated masters go (default: a temp dir)")
    parser.add_argument("--big", default="", help="also upload one generated master of this size (e.g. 10G)")
    args = parser.parse_args()
    data_dir = Path(args.data)
    load_stack_env(data_dir)
    sys.path.insert(0, str(ROOT))
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="framegate-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    project = f"bench-{time.strftime('%Y%m%d-%H%M%S')}"

    if args.big:
        big_run(args.big, data_dir, workdir, project)
        if not args.size:
            return
    size = parse_size(args.size)
    master = make_master(size, workdir)
    drop_page_cache_hint(master)
    raw = raw_upload_seconds(master)
    platform = platform_upload(master, data_dir, project)
    print(f"file: {master.stat().st_size / 1024**3:.2f} GiB raw video")
    print(f"raw minio SDK upload:  {raw:7.2f} s  ({master.stat().st_size / raw / 1e6:.0f} MB/s)")
    print(f"framegate upload:      {platform['seconds']:7.2f} s  (incl. SHA-256 both sides and ffprobe)")
    print(f"upload_ratio = {platform['seconds'] / raw:.2f}   (target <= 1.3)")

    for text in filter(None, args.rss_sizes.split(",")):
        big = make_master(parse_size(text), workdir)
        run = platform_upload(big, data_dir, project)
        print(
            f"peak RSS at {big.stat().st_size / 1024**3:.2f} GiB: "
            f"cli {run['cli_peak_rss'] / 1e6:.0f} MB, ingest {run['ingest_peak_rss'] / 1e6:.0f} MB   (target < 200 MB, flat)"
        )
        big.unlink()
    master.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
