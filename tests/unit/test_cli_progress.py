"""Progress bar text and redraw pacing (pure; the clock is passed in)."""
import io

import pytest

from framegate.progress import (TerminalProgress, eta_seconds, format_bytes, format_clock, format_duration,
                                format_eta, format_fps, format_rate, progress_for, progress_line)


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


class Tty(io.StringIO):
    def isatty(self):
        return True


@pytest.mark.parametrize("bps, text", [
    (None, "-- MB/s"), (0, "-- MB/s"), (300_000, "0.3 MB/s"), (85_300_000, "85.3 MB/s"), (1.2e9, "1200.0 MB/s"),
])
def test_rate_is_in_megabytes_per_second(bps, text):
    assert format_rate(bps) == text


@pytest.mark.parametrize("remaining, bps, text", [
    (0, None, "ETA 0:00"),
    (100, None, "ETA --:--"),
    (100, 0, "ETA --:--"),
    (42_000_000, 1_000_000, "ETA 0:42"),
    (600_000_000, 1_000_000, "ETA 10:00"),
    (3_723_000_000, 1_000_000, "ETA 1:02:03"),
])
def test_eta_text(remaining, bps, text):
    assert format_eta(remaining, bps) == text


def test_eta_is_remaining_over_rate():
    assert eta_seconds(50, 10.0) == 5.0
    assert eta_seconds(-3, 10.0) == 0.0


@pytest.mark.parametrize("seconds, text", [(None, "--:--"), (float("inf"), "--:--"), (-1, "--:--"),
                                           (0, "0:00"), (59.6, "1:00"), (3600, "1:00:00")])
def test_clock_text(seconds, text):
    assert format_clock(seconds) == text


@pytest.mark.parametrize("n, text", [(None, "-"), (0, "0 B"), (999, "999 B"), (1000, "1.0 kB"),
                                     (2_500_000_000, "2.5 GB"), (3 * 10**15, "3000.0 TB")])
def test_sizes_use_decimal_units_like_the_rate(n, text):
    assert format_bytes(n) == text


@pytest.mark.parametrize("fps, text", [(23.976023976, "23.976"), (24.0, "24"), (29.97002997, "29.97"),
                                       (25, "25"), (None, "-")])
def test_fps_text(fps, text):
    assert format_fps(fps) == text


@pytest.mark.parametrize("seconds, text", [(None, "-"), (60.06, "1:00.06"), (3725.5, "1:02:05.50"), (0.5, "0:00.50")])
def test_media_duration_text(seconds, text):
    assert format_duration(seconds) == text


def test_bar_line_shows_percent_bytes_rate_and_eta_within_the_width():
    line = progress_line("Hero 60s.mov", 1_250_000_000, 2_500_000_000, 85_300_000, width=100)
    assert line.startswith("Hero 60s.mov [")
    assert " 50%  1.2 GB / 2.5 GB  85.3 MB/s  ETA 0:15" in line
    assert len(line) == 100


def test_bar_line_shortens_a_long_label_and_shows_elapsed_time_when_finished():
    line = progress_line("a" * 200, 10, 10, 5.0, width=60, finished=True, elapsed=75)
    assert "…" in line and line.endswith("1:15") and "ETA" not in line
    assert len(line) <= 60


def test_terminal_bar_redraws_at_most_ten_times_a_second():
    clock, out = FakeClock(), Tty()
    bar = TerminalProgress("f.mov", out, clock=clock, width=80)
    bar.start(1000)
    for _ in range(50):
        bar.advance(1)
    assert out.getvalue().count("\r") == 1  # only the first draw
    clock.now += 0.15
    bar.advance(1)
    assert out.getvalue().count("\r") == 2
    bar.finish()
    assert out.getvalue().endswith("\n") and "100%" not in out.getvalue()  # 51 of 1000 bytes


def test_rate_counts_only_bytes_sent_in_this_run_not_resumed_ones():
    clock, out = FakeClock(), Tty()
    bar = TerminalProgress("f.mov", out, clock=clock, width=100)
    bar.start(100_000_000, resumed=60_000_000)
    clock.now += 2
    bar.advance(20_000_000)
    last = out.getvalue().split("\r")[-1]
    assert "80%" in last and "10.0 MB/s" in last and "ETA 0:02" in last


def test_a_failed_attempt_is_taken_back():
    clock, out = FakeClock(), Tty()
    bar = TerminalProgress("f.mov", out, clock=clock, width=100)
    bar.start(100)
    bar.advance(40)
    bar.advance(-40)
    clock.now += 1
    bar.advance(0)
    assert " 0%" in out.getvalue().split("\r")[-1]


def test_no_bar_without_a_terminal_only_a_resume_notice():
    out = io.StringIO()
    quiet = progress_for("f.mov", out)
    quiet.start(100)
    quiet.advance(100)
    quiet.finish()
    assert out.getvalue() == ""
    progress_for("f.mov", out).start(2_000_000, resumed=1_000_000)
    assert out.getvalue() == "resuming f.mov: 1.0 MB of 2.0 MB already stored\n"


def test_a_terminal_gets_a_bar():
    out = Tty()
    progress_for("f.mov", out).start(100)
    assert out.getvalue().startswith("\rf.mov")
