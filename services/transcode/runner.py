"""Run one ffmpeg command under watch: progress, a stall timer, a time limit.

ffmpeg writes `-progress pipe:1` blocks (key=value lines ending in
`progress=continue|end`) to stdout; a reader thread turns them into a
percentage of the master's duration. The calling thread polls: it runs the
caller's `on_tick` (the publisher uploading finished segments), kills ffmpeg
when its output time has not moved for `stall_seconds` or the wall-clock limit
passes, and maps a failure to a reason a person can act on.
"""
from __future__ import annotations

import collections
import ctypes
import logging
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from services.transcode.job import TranscodeFailed, TranscodeInterrupted

PR_SET_PDEATHSIG = 1  # linux/prctl.h
STDERR_TAIL_LINES = 40
POLL_SECONDS = 0.25
DEFAULT_STALL_SECONDS = 60.0
# Generous: a 2-core worker makes a 1080p ladder at about realtime.
LIMIT_BASE_SECONDS = 120.0
LIMIT_PER_MEDIA_SECOND = 20.0

# (marker in ffmpeg's stderr, code, what the person should do)
_REASONS = (
    ("no space left on device", "worker_disk_full",
     "The transcode worker ran out of disk space. Ops: free space in the worker's work "
     "directory; the job can then be retried."),
    ("cannot allocate memory", "worker_out_of_memory",
     "The transcode worker ran out of memory. Ops: give workers more memory or run fewer "
     "per machine, then retry."),
    ("moov atom not found", "master_unreadable",
     "The master is incomplete (its index is missing). Export it again and upload a new version."),
    ("invalid data found when processing input", "master_unreadable",
     "The master could not be read as media: it looks damaged. Export it again and upload a "
     "new version."),
    ("could not find codec parameters", "master_unreadable",
     "The master's streams could not be read. Export it again and upload a new version."),
    ("format not on whitelist", "master_unsupported",
     "The master's format is not one we transcode. Export to MOV, MP4 or MXF and upload a new "
     "version."),
    ("error while decoding", "master_corrupt",
     "The master has damaged frames that could not be decoded. Export it again and upload a "
     "new version."),
)


@dataclass(frozen=True)
class JobDeadline:
    """The whole job's wall-clock limit (FRAMEGATE_TRANSCODE_TIME_LIMIT).

    Celery's time limits do nothing under the threads pool the workers run,
    so this is the limit that holds: the runner kills ffmpeg when it passes.
    """

    limit: float  # seconds
    at: float  # time.monotonic() when it passes

    @classmethod
    def after(cls, limit: float) -> "JobDeadline":
        return cls(limit, time.monotonic() + limit)

    def passed(self, now: float | None = None) -> bool:
        return (time.monotonic() if now is None else now) > self.at

    def failure(self, detail: str) -> TranscodeFailed:
        return TranscodeFailed(
            "time_limit",
            f"Transcoding did not finish within the transcode workers' time limit of {self.limit:g} s "
            f"({detail}). Ops: for masters this long, raise FRAMEGATE_TRANSCODE_TIME_LIMIT and the "
            "workers' shutdown grace period with it, then upload the master again.")


@dataclass
class RunStats:
    seconds: float
    frames: int | None  # frames written to the first video output
    out_time: float  # seconds of media written
    stderr_tail: str


class _ProgressReader(threading.Thread):
    """Parses ffmpeg's -progress blocks from stdout."""

    def __init__(self, stream, duration: float, on_percent: Callable[[float], None] | None):
        super().__init__(daemon=True)
        self.stream, self.duration, self.on_percent = stream, duration, on_percent
        self.out_time = 0.0
        self.frames: int | None = None
        self.last_advance = time.monotonic()
        self.error: BaseException | None = None

    def run(self) -> None:
        block: dict[str, str] = {}
        try:
            for raw in self.stream:
                key, _, value = raw.decode("utf-8", "replace").strip().partition("=")
                block[key] = value
                if key == "progress":
                    self._block_done(block)
                    block = {}
        except BaseException as exc:  # reported by the caller, never swallowed
            self.error = exc

    def _block_done(self, block: dict[str, str]) -> None:
        out_time = _seconds(block.get("out_time_us"))
        frames = _int(block.get("frame"))
        if out_time > self.out_time or (frames or 0) > (self.frames or 0):
            self.last_advance = time.monotonic()
        self.out_time = max(self.out_time, out_time)
        self.frames = frames if frames is not None else self.frames
        if self.on_percent:
            done = block.get("progress") == "end"
            self.on_percent(100.0 if done else percent_done(self.out_time, self.duration))


def percent_done(out_time: float, duration: float) -> float:
    """Percent of the master written, held below 100 until ffmpeg says it ended."""
    if duration <= 0:
        return 0.0
    return round(min(99.0, max(0.0, out_time / duration * 100.0)), 1)


def time_limit_for(duration: float) -> float:
    return LIMIT_BASE_SECONDS + LIMIT_PER_MEDIA_SECOND * max(0.0, duration)


def run_ffmpeg(argv: list[str], cwd: str | Path, duration: float, log: logging.Logger,
               on_percent: Callable[[float], None] | None = None,
               on_tick: Callable[[], bool] | None = None,
               stall_seconds: float = DEFAULT_STALL_SECONDS,
               time_limit: float | None = None, deadline: JobDeadline | None = None) -> RunStats:
    """Run argv in cwd to completion; raise TranscodeFailed with an actionable reason.

    ffmpeg killed by a signal we did not send (the OOM killer, an operator)
    raises TranscodeInterrupted: the job is worth another try.
    """
    limit = time_limit if time_limit is not None else time_limit_for(duration)
    log.info("ffmpeg start", extra={"argv": argv, "cwd": str(cwd)})
    started = time.monotonic()
    proc = subprocess.Popen(argv, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, preexec_fn=_die_with_parent)
    tail: collections.deque[str] = collections.deque(maxlen=STDERR_TAIL_LINES)
    stderr_reader = threading.Thread(target=_collect, args=(proc.stderr, tail), daemon=True)
    progress = _ProgressReader(proc.stdout, duration, on_percent)
    stderr_reader.start()
    progress.start()
    try:
        while True:
            try:
                proc.wait(timeout=POLL_SECONDS)
                break
            except subprocess.TimeoutExpired:
                pass
            now = time.monotonic()
            if on_tick and on_tick():  # the outputs grew: not stalled, whatever -progress says
                progress.last_advance = now
            if now - progress.last_advance > stall_seconds:
                raise _killed(proc, argv, tail, log, "transcode_stalled",
                              f"ffmpeg made no progress for {stall_seconds:g} s "
                              f"(stopped at {progress.out_time:.1f} s of {duration:.1f} s). The "
                              "master may be damaged at that point; export it again and upload a "
                              "new version. If it plays fine, ops: check the worker's load.")
            if now - started > limit:
                raise _killed(proc, argv, tail, log, "transcode_timed_out",
                              f"Transcoding took longer than its limit of {limit:g} s "
                              f"({progress.out_time:.1f} s of {duration:.1f} s done). Ops: "
                              "check the worker's load, or raise the limit for long masters.")
            if deadline and deadline.passed(now):
                _killed(proc, argv, tail, log, "time_limit", "the job's time limit passed")
                raise deadline.failure(f"{progress.out_time:.1f} s of {duration:.1f} s encoded")
    finally:
        if proc.poll() is None:  # an exception from on_tick or on_percent
            proc.kill()
            proc.wait()
        progress.join(timeout=5)
        stderr_reader.join(timeout=5)
    stderr = "\n".join(tail)
    if progress.error:
        raise progress.error
    if proc.returncode < 0:
        log.error("ffmpeg killed by a signal", extra={"argv": argv, "returncode": proc.returncode,
                                                      "stderr_tail": stderr})
        raise TranscodeInterrupted(
            "transcode_killed",
            f"ffmpeg was killed by signal {-proc.returncode} on every try, most likely by the "
            "out-of-memory killer. Ops: give transcode workers more memory (or run fewer per "
            "machine), then upload the master again.")
    if proc.returncode != 0:
        log.error("ffmpeg failed", extra={"argv": argv, "returncode": proc.returncode,
                                          "stderr_tail": stderr})
        code, reason = failure_reason(proc.returncode, stderr)
        raise TranscodeFailed(code, reason)
    return RunStats(seconds=time.monotonic() - started, frames=progress.frames,
                    out_time=progress.out_time, stderr_tail=stderr)


def failure_reason(returncode: int, stderr: str) -> tuple[str, str]:
    """(code, reason) for a failed run, from what ffmpeg printed."""
    lowered = stderr.lower()
    for marker, code, advice in _REASONS:
        if marker in lowered:
            return code, advice
    last = next((line for line in reversed(stderr.splitlines()) if line.strip()), "no message")
    return ("transcode_failed",
            f"ffmpeg could not transcode the master ({last.strip()[:300]}). If the master "
            "plays in other tools, report this to ops with the version id.")


def _die_with_parent() -> None:
    """In the child: a worker killed with SIGKILL must not leave ffmpeg encoding for nobody.
    (The signal follows the thread that started ffmpeg, a long-lived pool thread.)"""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def _killed(proc: subprocess.Popen, argv: list[str], tail, log: logging.Logger,
            code: str, reason: str) -> TranscodeFailed:
    proc.kill()
    proc.wait()
    log.error("ffmpeg killed", extra={"argv": argv, "code": code, "stderr_tail": "\n".join(tail)})
    return TranscodeFailed(code, reason)


def _collect(stream, tail: collections.deque) -> None:
    for raw in stream:
        tail.append(raw.decode("utf-8", "replace").rstrip())


def _seconds(micros: str | None) -> float:
    value = _int(micros)
    return value / 1e6 if value and value > 0 else 0.0


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text not in (None, "", "N/A") else None
    except ValueError:
        return None
