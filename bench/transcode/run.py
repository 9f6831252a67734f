"""Transcode benchmark: the raw ffmpeg ladder command against the platform, same master, one run.

    make bench-transcode                                   # against the `make up` stack
    .venv/bin/python bench/transcode/run.py --data DIR [--order platform-first]

Runs against a running local stack (reads <data>/stack.env; the token comes
from --config, else <data>/config.json, else the CLI's own config). In one run:

1. generates a 30 s 1080p25 H.264 + AAC master with ffmpeg;
2. raw: the one ffmpeg command the pipeline would run for it (built by the
   pipeline's own argument builder: same rungs, preset, poster, sprite,
   waveform peaks), in a temp directory, timed;
3. platform: uploads it with framegate.batch (presigned parts, as the CLI
   does), times upload start -> `ready` (GET /api/v1/versions/<id>) and upload
   end -> the first segment of every rendition (each rung and the audio)
   servable through the CDN: its signed playlist lists a segment and the init
   section and that segment answer 200 through nginx. Without a CDN on the
   stack it watches the renditions bucket over S3 instead, and says so.
4. worker_scaling: four shorter masters with one single-threaded worker, then
   two (transcode-worker-2 is started for it and stopped after). Workers are
   made single-threaded with FRAMEGATE_FFMPEG_THREADS=1 (ffmpeg's decoders, encoders
   and filters on one thread; framegate.stack hands the caller's environment to
   the services it starts); worker 1 is restarted as it
   was afterwards. Throughput is 4 masters / (upload start -> all ready).

The 2-core development machine is shared, so before each timed phase the script
waits (--quiet-wait) for a quiet moment, and after it prints how busy the machine
was and with whose work: this stack (per component), this script (the raw ffmpeg
is its child) and everything else. CPU-seconds are printed beside wall times:
they barely move with other load, wall times do. Run it twice, once with
--order platform-first, and compare.

Prints ladder_overhead = platform / raw (target <= 1.15), first_playable =
(upload end -> every rendition servable) / raw (target <= 0.25), realtime
factors, the peak RSS of the worker and of its ffmpeg child, where the
platform's extra time went (from the outboxes, the consumers' claims and the
worker's log), and worker_scaling (target >= 1.8). No timed assertions.
"""
from __future__ import annotations

import argparse
import inspect
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
# Polls: each time measured is late by at most one interval. They cost the machine the
# benchmark measures: a CDN miss goes nginx -> review -> S3, and one GET /api/v1/versions/<id>
# costs FerretDB about 35 ms of CPU, so the API is polled slowly until the end is near.
POLL_SECONDS = 0.25  # CDN playlists; the API once the job is past NEAR_END_PERCENT
SLOW_POLL_SECONDS = 1.0  # the API before that
NEAR_END_PERCENT = 90.0
BATCH_POLL_SECONDS = 0.5  # the scaling runs: one list request for all their versions
NOISY_CORES = 0.2  # other people's work above this during a phase is called out


# --------------------------------------------------------------------- setup


def load_stack_env(data_dir: Path) -> None:
    """The stack named by --data wins over any FRAMEGATE_* already in the environment."""
    for line in (data_dir / "stack.env").read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            os.environ[key.strip()] = value.strip()


def api_client(settings, data_dir: Path, config: str | None):
    from framegate.client import ApiClient
    from framegate.config import load_credentials, read_config

    path = Path(config) if config else data_dir / "config.json"
    token = read_config(path).get("token") if path.exists() else None
    if not token:
        creds = load_credentials()
        token = creds.token if creds else None
    if not token:
        sys.exit(f"no token: pass --config, or keep the stack's CLI config in {data_dir / 'config.json'} "
                 "(`FRAMEGATE_CONFIG=<data>/config.json python -m framegate.stack up ...` writes it)")
    return ApiClient(settings.public_url, token, timeout=120)


def note(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPUs"


def make_master(path: Path, seconds: int, size: str, seed: int = 0) -> Path:
    """An H.264 High + AAC stereo 48 kHz MP4 with light moving noise, so x264 has real work."""
    if not path.exists():
        tmp = path.with_suffix(".part.mp4")
        subprocess.run(
            ["ffmpeg", "-v", "error", "-y",
             "-f", "lavfi", "-i", f"testsrc2=size={size}:rate=25,hue=h={seed * 45},"
                                  f"noise=alls=4:allf=t:all_seed={seed + 1}",
             "-f", "lavfi", "-i", f"sine=frequency={330 + 110 * seed}:sample_rate=48000",
             "-t", str(seconds), "-c:v", "libx264", "-preset", "veryfast", "-crf", "18",
             "-pix_fmt", "yuv420p", "-g", "50", "-c:a", "aac", "-b:a", "192k", "-ac", "2",
             "-movflags", "+faststart", str(tmp)],
            check=True)
        tmp.rename(path)
    return path


def warm(path: Path) -> None:
    with open(path, "rb") as f:
        while f.read(64 * 1024 * 1024):
            pass


def pipeline_preset() -> str:
    """The preset the worker uses: transcode_version's default (handlers pass none)."""
    from services.transcode.pipeline import transcode_version

    return inspect.signature(transcode_version).parameters["preset"].default


def plan_for(master: Path, facts: dict, preset: str):
    from services.transcode.ffmpeg_args import plan_transcode
    from services.transcode.job import Source

    return plan_transcode(Source.from_facts(facts), master, preset)


# ----------------------------------------------------------------- processes


def rss_bytes(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


def children(pid: int) -> list[int]:
    kids: list[int] = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            kids += [int(k) for k in (task / "children").read_text().split()]
    except (FileNotFoundError, ProcessLookupError):
        pass
    return kids


def comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except (FileNotFoundError, ProcessLookupError):
        return ""


TICK = os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """CPU-seconds all CPUs spent busy since boot (/proc/stat: everything but idle and iowait)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system + irq + softirq + steal) / TICK


def process_cpu(pid: int) -> tuple[float, float]:
    """(own, reaped children's) CPU-seconds of a process: utime+stime, cutime+cstime."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0, 0.0
    return (int(fields[11]) + int(fields[12])) / TICK, (int(fields[13]) + int(fields[14])) / TICK


def stack_cpu_seconds(data_dir: Path) -> dict[str, float]:
    """CPU-seconds used so far by each component of this stack (each one runs as its own session)."""
    from framegate import stack

    sessions = {info["pid"]: name for name, info in stack.status(data_dir).items() if info.get("pid")}
    used = dict.fromkeys(sessions.values(), 0.0)
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        name = sessions.get(int(fields[3]))  # session id
        if name:  # own and reaped children's time: a child is counted once, alive or reaped
            used[name] += sum(int(v) for v in fields[11:15]) / TICK
    return used


def own_cpu_seconds() -> float:
    """This script and the children it waited for (the raw ffmpeg)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


class CpuWindow:
    """How busy the machine was between start and stop(), and how much of it was not us."""

    def __init__(self, data_dir: Path | None = None):
        self.data_dir = data_dir
        self.stack0 = stack_cpu_seconds(data_dir) if data_dir else {}
        self.by_component: dict[str, float] = {}
        self.me0, self.busy0, self.t0 = own_cpu_seconds(), machine_busy_seconds(), time.monotonic()
        self.busy = self.cores = self.stack = self.me = self.wall = 0.0

    def stop(self) -> "CpuWindow":
        self.busy = machine_busy_seconds() - self.busy0
        self.me = own_cpu_seconds() - self.me0
        if self.data_dir:
            now = stack_cpu_seconds(self.data_dir)
            # a component (re)started inside the window counts from zero
            self.by_component = {k: v - self.stack0.get(k, 0.0) for k, v in now.items()}
            self.stack = sum(self.by_component.values())
        self.wall = max(1e-6, time.monotonic() - self.t0)
        self.cores = self.busy / self.wall
        return self

    @property
    def others_cores(self) -> float:
        """Cores busy with work that was neither this stack nor this script (other people's)."""
        return max(0.0, self.busy - self.stack - self.me) / self.wall

    def __str__(self) -> str:
        text = f"machine busy {self.cores:.2f} of {os.cpu_count()} cores ({self.busy:.0f} CPU-s)"
        if self.data_dir:
            text += (f": this stack {self.stack:.0f} CPU-s, this script {self.me:.0f} CPU-s, "
                     f"everything else ~{self.others_cores:.2f} cores")
        return text

    def top(self, skip: tuple[str, ...] = (), n: int = 6) -> str:
        ranked = sorted(((v, k) for k, v in self.by_component.items() if k not in skip), reverse=True)
        return ", ".join(f"{k} {v:.1f}" for v, k in ranked[:n] if v >= 0.05) or "nothing measurable"


def wait_quiet(max_wait: float, below_cores: float = 0.5) -> str:
    """Wait (up to max_wait s) for a 3 s stretch with the machine nearly idle; say how it went."""
    started = time.monotonic()
    while True:
        window = CpuWindow()
        time.sleep(3)
        window.stop()
        if window.cores < below_cores:
            return f"quiet ({window.cores:.2f} cores busy before start)"
        waited = time.monotonic() - started
        if waited >= max_wait:
            return f"NOT quiet: {window.cores:.2f} cores busy before start after waiting {waited:.0f} s"
        note(f"machine busy ({window.cores:.2f} cores); waiting for a quiet moment")


class PeakRss(threading.Thread):
    """Peak VmRSS of a worker process, of its ffmpeg children, and of both together."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.done = pid, threading.Event()
        self.worker = self.ffmpeg = self.total = 0

    def run(self) -> None:
        while not self.done.is_set():
            worker = rss_bytes(self.pid)
            ffmpeg = sum(rss_bytes(k) for k in children(self.pid) if comm(k) == "ffmpeg")
            self.worker, self.ffmpeg = max(self.worker, worker), max(self.ffmpeg, ffmpeg)
            self.total = max(self.total, worker + ffmpeg)
            self.done.wait(0.05)

    def stop(self) -> "PeakRss":
        self.done.set()
        self.join()
        return self


def worker_pids(data_dir: Path) -> dict[str, int]:
    from framegate import stack

    return {name: info["pid"] for name, info in stack.status(data_dir).items()
            if name.startswith("transcode-worker-") and info["state"] == "running"}


# ----------------------------------------------------------------------- raw


def raw_ladder(master: Path, facts: dict, preset: str, workdir: Path, data_dir: Path) -> dict:
    """The pipeline's ffmpeg command, run as the worker runs it (cwd = output directory)."""
    from services.transcode.ffmpeg_args import SPRITE_DIR

    plan = plan_for(master, facts, preset)
    out = workdir / "raw-out"
    shutil.rmtree(out, ignore_errors=True)
    (out / SPRITE_DIR).mkdir(parents=True)
    warm(master)
    with open(workdir / "raw-ffmpeg.stderr", "wb") as err:
        window = CpuWindow(data_dir)
        started = time.perf_counter()
        proc = subprocess.Popen(plan.argv, cwd=out, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - started
        window.stop()
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped by wait4 (for its rusage)
    if proc.returncode != 0:
        stderr = (workdir / "raw-ffmpeg.stderr").read_text()[-2000:]
        sys.exit(f"raw ffmpeg failed ({proc.returncode}): {stderr}")
    segments = {name: len(list((out / "hls" / name).glob("seg_*.m4s"))) for name in plan.hls_names}
    shutil.rmtree(out, ignore_errors=True)
    return {"seconds": elapsed, "cpu_seconds": usage.ru_utime + usage.ru_stime,
            "peak_rss": usage.ru_maxrss * 1024, "segments": segments, "argv": plan.argv,
            "machine": window}


# ------------------------------------------------------------------ platform


class PlayableWatch(threading.Thread):
    """When each rendition's first segment becomes servable: playlist lists one, init + segment 200."""

    def __init__(self, names: tuple[str, ...], fetch_text, fetch_ok, deadline: float):
        super().__init__(daemon=True)
        self.names, self.fetch_text, self.fetch_ok = names, fetch_text, fetch_ok
        self.deadline, self.stopped = deadline, threading.Event()
        self.servable: dict[str, float] = {}
        self.listed: dict[str, float] = {}  # playlist with a segment first seen
        self.errors: list[str] = []

    def run(self) -> None:
        from services.transcode.playlists import media_uris

        while len(self.servable) < len(self.names) and not self.stopped.is_set():
            for name in self.names:
                if name in self.servable:
                    continue
                try:
                    text = self.fetch_text(f"hls/{name}/index.m3u8")
                    if text is None:
                        continue
                    init, segments = media_uris(text)
                    if not segments:
                        continue
                    self.listed.setdefault(name, time.time())
                    if all(self.fetch_ok(f"hls/{name}/{uri}") for uri in [init, segments[0]] if uri):
                        self.servable[name] = time.time()
                except requests.RequestException as exc:
                    self.errors.append(f"{name}: {exc}")
            if time.time() > self.deadline:
                break
            self.stopped.wait(POLL_SECONDS)


def loopback_session() -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # never through an HTTP proxy from the environment, nor ~/.netrc
    return session


def cdn_fetchers(settings, project_id: str, version_id: str, session: requests.Session):
    from services.common import cdn

    base = settings.public_url.rstrip("/") + cdn.sign_playback_path(settings, project_id, version_id, "")

    def text(path: str) -> str | None:
        r = session.get(base + path, timeout=10)
        return r.text if r.status_code == 200 else None

    def ok(path: str) -> bool:
        with session.get(base + path, timeout=30, stream=True) as r:
            for _ in r.iter_content(256 * 1024):  # the whole body, as a player would
                pass
            return r.status_code == 200
    return text, ok


def s3_fetchers(store, bucket: str, prefix: str):
    from minio.error import S3Error

    def text(path: str) -> str | None:
        try:
            obj = store.client.get_object(bucket, f"{prefix}/{path}")
        except S3Error:
            return None
        try:
            return obj.read().decode()
        finally:
            obj.close()
            obj.release_conn()

    def ok(path: str) -> bool:
        try:
            store.client.stat_object(bucket, f"{prefix}/{path}")
            return True
        except S3Error:
            return False
    return text, ok


def cdn_check(settings) -> str | None:
    """None when signed CDN URLs work on this stack; else why not."""
    try:
        from services.common import cdn
    except ImportError as exc:
        return f"services/common/cdn.py cannot be imported ({exc})"
    try:
        url = settings.public_url.rstrip("/") + cdn.sign_playback_path(
            settings, "benchprobe", "benchprobe", "hls/master.m3u8")
        session = loopback_session()
        signed = session.get(url, timeout=10)
        unsigned = session.get(settings.public_url.rstrip("/") + "/cdn/x/1/benchprobe/benchprobe/a.m3u8",
                               timeout=10)
    except Exception as exc:  # noqa: BLE001 - any failure means: use the fallback
        return f"the CDN did not answer ({type(exc).__name__}: {exc})"
    if signed.status_code == 404 and unsigned.status_code == 403:
        return None
    return (f"a signed URL for a missing key answered {signed.status_code} and an unsigned one "
            f"{unsigned.status_code} (want 404 and 403)")


def log_offsets(data_dir: Path) -> dict[Path, int]:
    logs = sorted((data_dir / "logs").glob("transcode-worker-*.log"))
    return {p: p.stat().st_size for p in logs}


def _log_time(line: str) -> float | None:
    # Celery's format: "[2026-11-26 20:06:22,067: INFO/MainProcess] ..." in local time
    try:
        return datetime.strptime(line[1:24], "%Y-%m-%d %H:%M:%S,%f").timestamp()
    except ValueError:
        return None


def worker_timeline(offsets: dict[Path, int], version_id: str) -> dict:
    """From the worker log holding this job: received, ffmpeg start, playable, ready, succeeded."""
    marks = {"received": f"[{version_id}] received", "succeeded": f"[{version_id}] succeeded"}
    for path, offset in offsets.items():
        with open(path, "rb") as f:
            f.seek(offset)
            lines = f.read().decode(errors="replace").splitlines()
        start = next((i for i, line in enumerate(lines) if marks["received"] in line), None)
        if start is None:
            continue
        found = {"worker": path.stem, "received": _log_time(lines[start])}
        for line in lines[start + 1:]:
            for key, text in (("ffmpeg_start", "ffmpeg start"), ("playable", "renditions playable"),
                              ("ready", "transcode ready")):
                if key not in found and line.endswith(f"] {text}"):
                    found[key] = _log_time(line)
            if marks["succeeded"] in line:
                found["succeeded"] = _log_time(line)
                break
        return found
    return {}


def outbox_timeline(db, version_id: str) -> dict:
    """Event times from the outboxes and the consumers' claims (MongoDB, all UTC-aware)."""
    from services.common.events import event_id_for

    out: dict[str, float] = {}

    def stamp(key: str, value) -> None:
        if value is not None:
            out[key] = value.timestamp()

    uploaded = db["ingest_outbox"].find_one({"_id": event_id_for("version_uploaded", version_id)}) or {}
    stamp("uploaded_recorded", uploaded.get("created_at"))
    stamp("uploaded_published", uploaded.get("published_at"))
    claim = db["handled_events"].find_one(
        {"_id": f"transcode_dispatch:{event_id_for('version_uploaded', version_id)}"}) or {}
    stamp("dispatch_claimed", claim.get("started_at"))
    stamp("dispatch_done", claim.get("done_at"))
    for kind in ("version_playable", "version_ready"):
        doc = db["transcode_outbox"].find_one({"_id": event_id_for(kind, version_id)}) or {}
        stamp(f"{kind}_recorded", doc.get("created_at"))
        stamp(f"{kind}_published", doc.get("published_at"))
        state = db["version_states"].find_one({"_id": event_id_for(kind, version_id)}) or {}
        stamp(f"{kind}_applied", state.get("at"))  # ingest-status recorded it
    return out


def platform_ladder(client, settings, store, db, data_dir: Path, project_id: str, master: Path,
                    names: tuple[str, ...], cdn_problem: str | None, timeout: float) -> dict:
    from framegate.batch import upload_files

    pids = worker_pids(data_dir)
    if "transcode-worker-1" not in pids:
        sys.exit("transcode-worker-1 is not running on this stack; `python -m framegate.stack up` first")
    rss = PeakRss(pids["transcode-worker-1"])
    offsets = log_offsets(data_dir)
    warm(master)
    rss.start()
    cpu0 = process_cpu(pids["transcode-worker-1"])
    window = CpuWindow(data_dir)
    t0 = time.time()
    [result] = upload_files(client, project_id, [master])
    t_uploaded = time.time()
    if not result.ok:
        rss.stop()
        sys.exit(f"upload failed: {result.error}: {result.message}")
    version_id = result.version["id"]
    if cdn_problem is None:
        text, ok = cdn_fetchers(settings, project_id, version_id, loopback_session())
    else:
        text, ok = s3_fetchers(store, settings.bucket("renditions"), f"{project_id}/{version_id}")
    watch = PlayableWatch(names, text, ok, deadline=t_uploaded + timeout)
    watch.start()
    seen: dict[str, float] = {}
    version = result.version
    while True:
        version = client.version(version_id)
        seen.setdefault(version["status"], time.time())
        if version["status"] in ("ready", "failed") or time.time() - t0 > timeout:
            break
        near_end = (version.get("progress") or 0.0) >= NEAR_END_PERCENT
        time.sleep(POLL_SECONDS if near_end else SLOW_POLL_SECONDS)
    t_ready = time.time()
    watch.join(timeout=max(0.0, t_uploaded + timeout - time.time()))
    watch.stopped.set()
    rss.stop()
    window.stop()
    cpu1 = process_cpu(pids["transcode-worker-1"])
    if version["status"] != "ready":
        sys.exit(f"version {version_id} ended {version['status']!r}: {version.get('failure')}")
    missing = [n for n in names if n not in watch.servable]
    if missing:
        sys.exit(f"renditions {missing} never became servable ({watch.errors[-3:]})")
    return {"version": version, "t0": t0, "uploaded": t_uploaded, "ready": t_ready, "seen": seen,
            "servable": watch.servable, "listed": watch.listed,
            "rss": rss, "worker": worker_timeline(offsets, version_id), "machine": window,
            "worker_cpu": cpu1[0] - cpu0[0], "ffmpeg_cpu": cpu1[1] - cpu0[1],
            "events": outbox_timeline(db, version_id)}


# ------------------------------------------------------------------- scaling


def batch(client, data_dir: Path, project_id: str, masters: list[Path], timeout: float) -> dict:
    """Upload the masters together and wait until every one is ready."""
    from framegate.batch import upload_files

    offsets = log_offsets(data_dir)
    for m in masters:
        warm(m)
    window = CpuWindow(data_dir)
    t0 = time.time()
    results = upload_files(client, project_id, masters)
    bad = [r for r in results if not r.ok]
    if bad:
        sys.exit(f"upload failed: {[(r.filename, r.error, r.message) for r in bad]}")
    pending = {r.version["id"] for r in results}
    while pending and time.time() - t0 < timeout:
        for version in client.versions(project_id):
            if version["id"] in pending and version["status"] == "failed":
                sys.exit(f"version {version['id']} failed in the scaling run: {version.get('failure')}")
            if version["status"] == "ready":
                pending.discard(version["id"])
        if pending:
            time.sleep(BATCH_POLL_SECONDS)
    t_end = time.time()
    window.stop()
    if pending:
        sys.exit(f"{len(pending)} versions not ready after {timeout:.0f} s")
    jobs = [worker_timeline(offsets, r.version["id"]) for r in results]
    received = [j["received"] for j in jobs if j.get("received")]
    done = [j["succeeded"] for j in jobs if j.get("succeeded")]
    per_worker: dict[str, int] = {}
    for j in jobs:
        per_worker[j.get("worker", "?")] = per_worker.get(j.get("worker", "?"), 0) + 1
    return {"seconds": t_end - t0,
            "worker_seconds": (max(done) - min(received)) if received and done else None,
            "per_worker": per_worker, "machine": window}


def start_worker(data_dir: Path, name: str, attempts: int = 10) -> None:
    """start_component, retried: the stack's ports may sit in the kernel's ephemeral range
    (32768-60999 here), where another program's outgoing connection or port-0 server can hold
    a worker's ops port for a few seconds."""
    from framegate import stack

    for attempt in range(attempts):
        try:
            stack.start_component(data_dir, name)
            return
        except stack.StackError as exc:
            if "already taken" not in str(exc) or attempt == attempts - 1:
                raise
            note(f"{name}: its port is held by another program for now; retrying in 3 s")
            time.sleep(3)


def single_threaded_worker(data_dir: Path, name: str) -> None:
    """(Re)start a worker whose ffmpeg runs on one thread (FRAMEGATE_FFMPEG_THREADS=1)."""
    from framegate import stack

    stack.stop_component(data_dir, name)
    previous = os.environ.get("FRAMEGATE_FFMPEG_THREADS")
    os.environ["FRAMEGATE_FFMPEG_THREADS"] = "1"  # framegate.stack passes our environment on
    try:
        start_worker(data_dir, name)
    finally:
        if previous is None:
            os.environ.pop("FRAMEGATE_FFMPEG_THREADS")
        else:
            os.environ["FRAMEGATE_FFMPEG_THREADS"] = previous
    pid = worker_pids(data_dir).get(name)
    environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0") if pid else []
    if b"FRAMEGATE_FFMPEG_THREADS=1" not in environ:
        sys.exit(f"{name} did not start with FRAMEGATE_FFMPEG_THREADS=1")


def scaling(client, data_dir: Path, workdir: Path, masters: list[Path], stamp: str, timeout: float,
            quiet_wait: float) -> dict:
    from framegate import stack

    runs = {}
    try:
        single_threaded_worker(data_dir, "transcode-worker-1")
        for workers in (1, 2):
            if workers == 2:
                single_threaded_worker(data_dir, "transcode-worker-2")
            pids = list(worker_pids(data_dir).values())
            quiet = wait_quiet(quiet_wait)
            before = load()
            note(f"scaling: {workers} single-threaded worker(s), {len(masters)} masters: {quiet}; {before}")
            project, _ = client.ensure_project(f"bench-transcode-{stamp}-{workers}w")
            cpu0 = sum(sum(process_cpu(pid)) for pid in pids)
            runs[workers] = batch(client, data_dir, project["id"], masters, timeout)
            runs[workers].update(own_cpu=sum(sum(process_cpu(pid)) for pid in pids) - cpu0,
                                 quiet=quiet, load_before=before, load_after=load())
    finally:
        note("scaling: stopping transcode-worker-2, restarting transcode-worker-1 as it was")
        stack.stop_component(data_dir, "transcode-worker-2")
        stack.stop_component(data_dir, "transcode-worker-1")
        start_worker(data_dir, "transcode-worker-1")
    return runs


# --------------------------------------------------------------------- report


def mb(n: int) -> str:
    return f"{n / 1e6:.0f} MB"


def span(a: float | None, b: float | None) -> str:
    return f"{b - a:6.2f} s" if a is not None and b is not None else "     ? s"


def conditions(result: dict, own_cpu: float, own: str) -> str:
    """The machine during a phase: CPU by whom, and the load averages."""
    return (f"[{result['quiet']}; during it: {result['machine']} ({own}: {own_cpu:.0f} CPU-s); "
            f"{result['load_before']} before, {result['load_after'].split(' on ')[0]} after]")


def report_platform(p: dict, raw: dict, duration: float, cdn_problem: str | None) -> None:
    total = p["ready"] - p["t0"]
    first = max(p["servable"].values()) - p["uploaded"]
    version = p["version"]
    rend = version.get("renditions") or {}
    rtf = rend.get("realtime_factor")
    encode = duration / rtf if rtf else None
    via = "through the CDN (signed URLs, nginx)" if cdn_problem is None else \
        f"in the renditions bucket over S3 -- NO CDN on this stack: {cdn_problem}"
    print(f"platform, upload start -> ready:      {total:7.2f} s   realtime factor {duration / total:.2f}x")
    print(f"  upload (create, parts, complete):   {p['uploaded'] - p['t0']:7.2f} s")
    print(f"  upload end -> every rendition's first segment servable {via}:")
    for name, at in sorted(p["servable"].items(), key=lambda kv: kv[1]):
        print(f"    {name:<6} {at - p['uploaded']:6.2f} s   (playlist first listed a segment at "
              f"{p['listed'][name] - p['uploaded']:.2f} s)")
    print(f"ladder_overhead = {total / raw['seconds']:.2f}   (target <= 1.15)")
    print(f"first_playable  = {first:.2f} / {raw['seconds']:.2f} = {first / raw['seconds']:.2f}   "
          f"(target <= 0.25)")
    rss = p["rss"]
    print(f"peak RSS: worker process {mb(rss.worker)}, its ffmpeg {mb(rss.ffmpeg)}, together "
          f"{mb(rss.total)} (raw ffmpeg: {mb(raw['peak_rss'])})")

    # Where the time went, on one clock (this machine's): upload start = 0.
    w, e, t0 = p["worker"], p["events"], p["t0"]
    ffmpeg_end = w["ffmpeg_start"] + encode if encode and w.get("ffmpeg_start") else None
    steps = [
        ("upload: client hashes + sends parts, ingest hashes + probes", t0, p["uploaded"]),
        ("version_uploaded: ingest outbox -> relay published (0.3 s poll)",
         e.get("uploaded_recorded"), e.get("uploaded_published")),
        ("relay -> nameko dispatch claimed the event", e.get("uploaded_published"), e.get("dispatch_claimed")),
        ("dispatch claimed -> Celery task received by the worker", e.get("dispatch_claimed"), w.get("received")),
        ("worker: master downloaded from S3, plan built", w.get("received"), w.get("ffmpeg_start")),
        ("ffmpeg: the ladder (encode_seconds from the job's realtime factor)", w.get("ffmpeg_start"), ffmpeg_end),
        ("after ffmpeg: proxy remux, VOD playlists, extras uploaded", ffmpeg_end, w.get("ready")),
        ("version_ready: transcode outbox -> relay published (0.3 s poll)",
         e.get("version_ready_recorded"), e.get("version_ready_published")),
        ("relay -> ingest-status (nameko) recorded ready", e.get("version_ready_published"),
         e.get("version_ready_applied")),
        ("recorded -> seen `ready` by the API poll", e.get("version_ready_applied"), p["ready"]),
    ]
    print("where the platform's time went (one clock; upload start = 0):")
    for label, a, b in steps:
        at = f"{a - t0:6.2f} -> {b - t0:6.2f}" if a is not None and b is not None else "    ?  ->     ?"
        print(f"  {span(a, b)}  [{at}]  {label}")
    if encode:
        print(f"  the worker's ffmpeg took {encode:.2f} s against the raw run's {raw['seconds']:.2f} s "
              f"(encode realtime factor {rtf:.2f}x; worker job wall time {rend.get('seconds')} s)")
    print(f"  CPU, which the other load on the machine does not change much: the worker's ffmpeg "
          f"processes (ladder + proxy remux) {p['ffmpeg_cpu']:.1f} CPU-s against the raw ffmpeg's "
          f"{raw['cpu_seconds']:.1f}; the worker process itself (publisher uploads, progress, "
          f"events) {p['worker_cpu']:.1f} CPU-s: "
          f"{(p['ffmpeg_cpu'] + p['worker_cpu']) / raw['cpu_seconds']:.2f}x the raw CPU")
    print(f"  the rest of the stack meanwhile, CPU-s: {p['machine'].top(skip=('transcode-worker-1',))}")
    if w.get("playable") and e.get("version_playable_recorded"):
        print(f"  the worker saw every rendition playable at {w['playable'] - t0:.2f} s; "
              f"`playable` reached the API at {p['seen'].get('playable', float('nan')) - t0:.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(ROOT / ".data"), help="the stack's data directory")
    parser.add_argument("--config", default=None, help="CLI config with a token (default <data>/config.json)")
    parser.add_argument("--workdir", default=None, help="where masters are generated and kept (default: temp)")
    parser.add_argument("--order", choices=("raw-first", "platform-first"), default="raw-first")
    parser.add_argument("--duration", type=int, default=30, help="seconds of the 1080p25 master")
    parser.add_argument("--scaling-masters", type=int, default=4)
    parser.add_argument("--scaling-duration", type=int, default=10, help="seconds of each 720p25 master")
    parser.add_argument("--skip-scaling", action="store_true")
    parser.add_argument("--via-s3", action="store_true",
                        help="watch the renditions bucket over S3 instead of the CDN (the fallback)")
    parser.add_argument("--timeout", type=float, default=900.0, help="per platform phase")
    parser.add_argument("--quiet-wait", type=float, default=180.0,
                        help="before each timed phase, wait up to this long for the machine to be "
                             "nearly idle (0: do not wait); the output says whether it was")
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # results and progress notes in order

    data_dir = Path(args.data).resolve()
    load_stack_env(data_dir)
    from services.common.mongo import connect
    from services.common.settings import load_settings
    from services.common.storage import ObjectStore
    from services.ingest.probe import probe_file

    settings = load_settings()
    client = api_client(settings, data_dir, args.config)
    store, db = ObjectStore(settings), connect(settings)
    keep = args.workdir is not None
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="framegate-bench-transcode-"))
    workdir.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")

    running = worker_pids(data_dir)
    if set(running) != {"transcode-worker-1"}:
        sys.exit(f"want exactly transcode-worker-1 running on {data_dir}, found {sorted(running) or 'none'} "
                 "(FRAMEGATE_WORKERS=1 python -m framegate.stack up ...)")

    note(f"generating a {args.duration} s 1080p25 master in {workdir}")
    master = make_master(workdir / f"master-1080p25-{args.duration}s.mp4", args.duration, "1920x1080")
    facts = probe_file(master).to_dict()
    duration = float(facts["duration"])
    preset = pipeline_preset()
    plan = plan_for(master, facts, preset)
    cdn_problem = "--via-s3 was given" if args.via_s3 else cdn_check(settings)
    project, _ = client.ensure_project(f"bench-transcode-{stamp}")

    print(f"master: {master.stat().st_size / 1e6:.0f} MB, {facts['width']}x{facts['height']} "
          f"{facts['fps']} fps, {duration:.2f} s, {facts['video_codec']} + {facts['audio_codec']}")
    print(f"ladder: {', '.join(r.name for r in plan.ladder.rungs)} + audio, preset {preset}, "
          "poster, sprite and waveform peaks from the same decode (plan_transcode)")
    print(f"stack:  {data_dir} ({settings.public_url}), order {args.order}; polls: CDN every "
          f"{POLL_SECONDS:g} s, API every {SLOW_POLL_SECONDS:g} s, every {POLL_SECONDS:g} s past "
          f"{NEAR_END_PERCENT:g} %")
    if cdn_problem:
        print(f"NOTE: no CDN on this stack ({cdn_problem}): first_playable is measured against the "
              "renditions bucket over the S3 API instead")

    raw = platform = None
    for step in (("raw", "platform") if args.order == "raw-first" else ("platform", "raw")):
        quiet = wait_quiet(args.quiet_wait)
        before = load()
        note(f"{step}: {quiet}; {before}")
        if step == "raw":
            raw = raw_ladder(master, facts, preset, workdir, data_dir)
            raw.update(quiet=quiet, load_before=before, load_after=load())
        else:
            platform = platform_ladder(client, settings, store, db, data_dir, project["id"], master,
                                       plan.hls_names, cdn_problem, args.timeout)
            platform.update(quiet=quiet, load_before=before, load_after=load())
    if platform["version"]["facts"] != facts:
        print("WARNING: the platform's facts differ from the local probe; the raw command may not "
              "be the worker's")

    print(f"raw ffmpeg ladder (one command):      {raw['seconds']:7.2f} s   realtime factor "
          f"{duration / raw['seconds']:.2f}x   ffmpeg CPU {raw['cpu_seconds']:.1f} s   "
          f"segments {raw['segments']}")
    print(f"  {conditions(raw, raw['cpu_seconds'], 'the raw ffmpeg, in this script')}")
    report_platform(platform, raw, duration, cdn_problem)
    own = platform["worker_cpu"] + platform["ffmpeg_cpu"]
    print(f"  {conditions(platform, own, 'the worker + its ffmpeg, in this stack')}")

    runs: dict[int, dict] = {}
    if not args.skip_scaling:
        note(f"generating {args.scaling_masters} x {args.scaling_duration} s 720p25 masters")
        masters = [make_master(workdir / f"master-720p25-{args.scaling_duration}s-{i}.mp4",
                               args.scaling_duration, "1280x720", seed=i)
                   for i in range(1, args.scaling_masters + 1)]
        runs = scaling(client, data_dir, workdir, masters, stamp, args.timeout, args.quiet_wait)
        n = len(masters)
        for workers, run in runs.items():
            ws = f"{run['worker_seconds']:.2f} s" if run["worker_seconds"] else "?"
            print(f"{workers} single-threaded worker{'s' if workers > 1 else ''}: {n} masters in "
                  f"{run['seconds']:.2f} s upload start -> all ready ({n / run['seconds'] * 60:.1f} /min; "
                  f"first received -> last done on the workers {ws}; jobs per worker "
                  f"{json.dumps(run['per_worker'])})")
            print(f"  {conditions(run, run['own_cpu'], 'the workers + their ffmpeg, in this stack')}")
            print(f"  the rest of the stack meanwhile, CPU-s: "
                  f"{run['machine'].top(skip=('transcode-worker-1', 'transcode-worker-2'))}")
        print(f"worker_scaling = {runs[1]['seconds'] / runs[2]['seconds']:.2f}   (target >= 1.8)"
              + (f"   (on the workers alone: {runs[1]['worker_seconds'] / runs[2]['worker_seconds']:.2f})"
                 if runs[1]["worker_seconds"] and runs[2]["worker_seconds"] else ""))
    noisy = [(name, r["machine"].others_cores) for name, r in
             [("raw", raw), ("platform", platform)] + [(f"{w} worker(s)", r) for w, r in runs.items()]
             if r["machine"].others_cores > NOISY_CORES]
    if noisy:
        print("NOISY: work outside this stack and script took "
              + ", ".join(f"~{cores:.2f} cores during {name}" for name, cores in noisy)
              + f" (of {os.cpu_count()}); ratios between phases with different figures are skewed")
    if not keep:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
