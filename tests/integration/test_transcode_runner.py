"""The ffmpeg runner's bounds with a real ffmpeg: a stalled or endless run is killed."""
import logging
import os
import signal
import time

import pytest

from services.transcode.job import TranscodeFailed
from services.transcode.runner import run_ffmpeg

log = logging.getLogger("test.runner")
FFMPEG = ["ffmpeg", "-nostdin", "-v", "error", "-nostats", "-progress", "pipe:1"]


def test_no_progress_is_killed_as_stalled(tmp_path):
    fifo = tmp_path / "never-written"
    os.mkfifo(fifo)  # opening it blocks forever: ffmpeg never reports progress
    started = time.monotonic()
    with pytest.raises(TranscodeFailed) as failed:
        run_ffmpeg([*FFMPEG, "-i", str(fifo), "-f", "null", "-"], tmp_path, 2.0, log,
                   stall_seconds=1.0, time_limit=30)
    assert failed.value.code == "transcode_stalled" and "no progress for 1 s" in failed.value.reason
    assert time.monotonic() - started < 5


def test_wall_clock_limit_kills_a_run_that_keeps_going(tmp_path):
    percents = []
    started = time.monotonic()
    with pytest.raises(TranscodeFailed) as failed:
        run_ffmpeg([*FFMPEG, "-re", "-f", "lavfi", "-i", "testsrc=size=64x36:duration=60",
                    "-f", "null", "-"], tmp_path, 60.0, log, on_percent=percents.append,
                   stall_seconds=10, time_limit=1.5)
    assert failed.value.code == "transcode_timed_out"
    assert time.monotonic() - started < 5
    assert percents and 0 < percents[-1] < 10  # about 1 s of 60 done


def test_progress_ends_at_100(tmp_path):
    percents = []
    stats = run_ffmpeg([*FFMPEG, "-f", "lavfi", "-i", "testsrc=size=64x36:rate=25:duration=2",
                        "-f", "null", "-"], tmp_path, 2.0, log, on_percent=percents.append)
    assert percents[-1] == 100.0 and stats.frames == 50


def test_ffmpeg_killed_from_outside_is_worth_another_try(tmp_path):
    """The OOM killer's SIGKILL is not the master's fault: the job is retried, not failed."""
    from services.transcode.job import TranscodeInterrupted

    def kill_ffmpeg_once_it_runs(percent):
        for pid in os.popen(f"pgrep -P {os.getpid()} ffmpeg").read().split():
            os.kill(int(pid), signal.SIGKILL)

    with pytest.raises(TranscodeInterrupted) as interrupted:
        run_ffmpeg([*FFMPEG, "-re", "-f", "lavfi", "-i", "testsrc=size=64x36:duration=30",
                    "-f", "null", "-"], tmp_path, 30.0, log, on_percent=kill_ffmpeg_once_it_runs,
                   stall_seconds=10, time_limit=20)
    assert interrupted.value.code == "transcode_killed"
    assert "signal 9" in interrupted.value.reason and "memory" in interrupted.value.reason


def test_the_job_deadline_kills_ffmpeg_and_names_the_limit(tmp_path):
    from services.transcode.runner import JobDeadline

    with pytest.raises(TranscodeFailed) as failed:
        run_ffmpeg([*FFMPEG, "-re", "-f", "lavfi", "-i", "testsrc=size=64x36:duration=60",
                    "-f", "null", "-"], tmp_path, 60.0, log, stall_seconds=10, time_limit=50,
                   deadline=JobDeadline.after(1.5))
    assert failed.value.code == "time_limit"
    assert "time limit of 1.5 s" in failed.value.reason
