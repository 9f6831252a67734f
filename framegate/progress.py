"""Progress bars and the small text formats the CLI shows (sizes, rates, times).

The formatting functions are pure; `TerminalProgress` only decides when to redraw.
"""
from __future__ import annotations

import math
import os
import sys
import threading
import time
from typing import Callable, Protocol, TextIO

REDRAW_INTERVAL = 0.1  # at most ~10 redraws a second


class Progress(Protocol):
    """What the uploader reports to; called from several threads."""

    def start(self, total: int, resumed: int = 0) -> None: ...
    def advance(self, nbytes: int) -> None: ...
    def finish(self, ok: bool = True) -> None: ...


class NullProgress:
    def start(self, total: int, resumed: int = 0) -> None:
        pass

    def advance(self, nbytes: int) -> None:
        pass

    def finish(self, ok: bool = True) -> None:
        pass


# Pure formatting --------------------------------------------------------------

def format_bytes(n: float | None) -> str:
    """Decimal units, like the MB/s rate: 1.2 GB, 850.0 MB, 512 B."""
    if n is None:
        return "-"
    if abs(n) < 1000:
        return f"{int(n)} B"
    for unit in ("kB", "MB", "GB", "TB"):
        n /= 1000
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.1f} {unit}"
    raise AssertionError("unreachable")


def format_rate(bytes_per_second: float | None) -> str:
    if bytes_per_second is None or bytes_per_second <= 0 or math.isinf(bytes_per_second):
        return "-- MB/s"
    return f"{bytes_per_second / 1e6:.1f} MB/s"


def format_clock(seconds: float | None) -> str:
    """M:SS under an hour, H:MM:SS above; --:-- when unknown."""
    if seconds is None or seconds < 0 or math.isinf(seconds) or math.isnan(seconds):
        return "--:--"
    whole = int(round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def eta_seconds(remaining: int, bytes_per_second: float | None) -> float | None:
    if remaining <= 0:
        return 0.0
    if not bytes_per_second or bytes_per_second <= 0:
        return None
    return remaining / bytes_per_second


def format_eta(remaining: int, bytes_per_second: float | None) -> str:
    return "ETA " + format_clock(eta_seconds(remaining, bytes_per_second))


def format_duration(seconds: float | None) -> str:
    """Media durations: 0:59.96, 1:02:05.50."""
    if seconds is None:
        return "-"
    hours, rest = divmod(float(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{int(hours)}:{int(minutes):02d}:{secs:05.2f}"
    return f"{int(minutes)}:{secs:05.2f}"


def format_fps(fps: float | None) -> str:
    """23.976, 29.97, 25, 59.94."""
    if fps is None:
        return "-"
    text = f"{float(fps):.3f}".rstrip("0").rstrip(".")
    return text or "0"


def progress_line(label: str, done: int, total: int, rate: float | None, width: int = 80,
                  *, finished: bool = False, elapsed: float | None = None) -> str:
    """One bar line: label, bar, percent, bytes, rate, ETA (or elapsed time when finished)."""
    pct = 100.0 if total <= 0 else min(100.0, 100.0 * done / total)
    tail_time = format_clock(elapsed) if finished else format_eta(total - done, rate)
    tail = f" {pct:3.0f}%  {format_bytes(done)} / {format_bytes(total)}  {format_rate(rate)}  {tail_time}"
    label_width = max(8, min(len(label), width // 3))
    shown = label if len(label) <= label_width else label[: label_width - 1] + "…"
    bar_width = width - len(shown) - len(tail) - 3
    if bar_width < 5:
        return (shown + tail)[:width]
    filled = int(bar_width * pct / 100)
    return f"{shown} [{'#' * filled}{'-' * (bar_width - filled)}]{tail}"


# Terminal bar -------------------------------------------------------------------

class TerminalProgress:
    """A bar redrawn in place on a terminal; the rate counts only bytes sent this run."""

    def __init__(self, label: str, stream: TextIO | None = None, *,
                 clock: Callable[[], float] = time.monotonic, width: int | None = None):
        self.label = label
        self.stream = stream or sys.stderr
        self.clock = clock
        self.width = width
        self.total = self.resumed = self.sent = 0
        self.started = self.last_draw = None
        self.lock = threading.Lock()

    def start(self, total: int, resumed: int = 0) -> None:
        with self.lock:
            self.total, self.resumed, self.sent = total, resumed, 0
            self.started = self.clock()
            self._draw(force=True)

    def advance(self, nbytes: int) -> None:
        with self.lock:
            self.sent += nbytes  # negative when a failed attempt is taken back
            self._draw()

    def finish(self, ok: bool = True) -> None:
        with self.lock:
            self._draw(force=True, finished=ok)
            self.stream.write("\n")
            self.stream.flush()

    def rate(self) -> float | None:
        elapsed = self.clock() - self.started if self.started is not None else 0
        return self.sent / elapsed if elapsed > 0 and self.sent > 0 else None

    def _draw(self, force: bool = False, finished: bool = False) -> None:
        now = self.clock()
        if not force and self.last_draw is not None and now - self.last_draw < REDRAW_INTERVAL:
            return
        self.last_draw = now
        line = progress_line(self.label, self.resumed + self.sent, self.total, self.rate(),
                             self._width(), finished=finished,
                             elapsed=now - self.started if self.started is not None else None)
        self.stream.write("\r" + line + "\x1b[K")
        self.stream.flush()

    def _width(self) -> int:
        if self.width:
            return self.width
        try:
            columns = os.get_terminal_size(self.stream.fileno()).columns
        except (OSError, ValueError, AttributeError):
            columns = 0
        return max(40, columns - 1) if columns else 79  # a pty without a size says 0


class NoticeProgress(NullProgress):
    """Without a terminal: no bar, only a line when an upload resumes."""

    def __init__(self, label: str, stream: TextIO | None = None):
        self.label, self.stream = label, stream or sys.stderr

    def start(self, total: int, resumed: int = 0) -> None:
        if resumed:
            self.stream.write(f"resuming {self.label}: {format_bytes(resumed)} of {format_bytes(total)} "
                              "already stored\n")
            self.stream.flush()


def progress_for(label: str, stream: TextIO | None = None) -> Progress:
    """A bar on a terminal, otherwise nothing but a resume notice."""
    stream = stream or sys.stderr
    isatty = getattr(stream, "isatty", None)
    return TerminalProgress(label, stream) if isatty and isatty() else NoticeProgress(label, stream)
