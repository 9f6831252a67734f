"""The transcode use case: one master in, one set of renditions in the bucket out.

`transcode_version` is what the Celery task calls. It has no broker or
database code: progress goes to `on_progress`, failures are TranscodeFailed
with a reason a person can act on, and the Result lists every key written.
"""
from __future__ import annotations

import json
import logging
import shutil
import subprocess
import time
from pathlib import Path
from typing import Callable

from services.transcode import extras
from services.transcode.ffmpeg_args import (AUDIO_NAME, HLS_DIR, SPRITE_DIR, SPRITE_PATTERN,
                                            Plan, plan_transcode)
from services.transcode.job import Progress, Result, Source, TranscodeFailed, TranscodeJob
from services.transcode.ladder import master_playlist
from services.transcode.publisher import Publisher
from services.transcode.runner import DEFAULT_STALL_SECONDS, JobDeadline, run_ffmpeg
from services.transcode.scan import decide_scan, detect_fields, needs_detection

REMUX_TIMEOUT_SECONDS = 300


def transcode_version(job: TranscodeJob, store, workdir: str | Path,
                      on_progress: Callable[[Progress], None], log: logging.Logger, *,
                      preset: str = "veryfast", stall_seconds: float = DEFAULT_STALL_SECONDS,
                      time_limit: float | None = None, threads: int = 0,
                      deadline: JobDeadline | None = None) -> Result:
    """Transcode one version into `job.renditions_bucket` under `<project_id>/<version_id>/`.

    `deadline` bounds the whole job: ffmpeg is killed when it passes, and a job
    past it after encoding stops before storing the rest.
    """
    started = time.monotonic()
    try:
        source = Source.from_facts(job.facts)
        workdir = Path(workdir)
        master = _download_master(job, store, workdir)
        if needs_detection(source):
            source = decide_scan(source, detect_fields(master, log, threads))
        plan = plan_transcode(source, master, preset, threads)
    except ValueError as exc:
        raise TranscodeFailed("master_unsupported", f"This master cannot be transcoded: {exc}.")
    out = workdir / "out"
    shutil.rmtree(out, ignore_errors=True)
    (out / SPRITE_DIR).mkdir(parents=True)
    master_text = master_playlist(plan.ladder) if plan.ladder else None
    publisher = Publisher(store, job.renditions_bucket, job.prefix, out, plan.hls_names,
                          master_text, log, HLS_DIR)
    report = _Reporter(on_progress, publisher, source.duration or 0.0)
    stats = run_ffmpeg(plan.argv, out, source.duration or 1.0, log, on_percent=report.percent,
                       on_tick=report.tick, stall_seconds=stall_seconds, time_limit=time_limit,
                       deadline=deadline)
    encode_seconds = stats.seconds
    if deadline and deadline.passed():
        raise deadline.failure("the renditions were encoded but not all stored")
    report.stage("publishing", 99.0)

    result = Result(bucket=job.renditions_bucket, prefix=job.prefix, kind=source.kind,
                    notes=list(plan.notes), frames=stats.frames)
    files = _extras(plan, source, out, log, result)
    keys = publisher.finish(files)
    _describe(result, plan, publisher, keys)
    result.seconds = round(time.monotonic() - started, 3)
    if source.duration and encode_seconds > 0:
        result.realtime_factor = round(source.duration / encode_seconds, 3)
    report.stage("done", 100.0)
    return result


def _download_master(job: TranscodeJob, store, workdir: Path) -> Path:
    workdir.mkdir(parents=True, exist_ok=True)
    suffix = "".join(c for c in Path(job.master_key).suffix.lower() if c.isalnum() or c == ".")
    path = workdir / f"master{suffix[:8]}"
    with path.open("wb") as handle:
        store.copy_to_file(job.master_bucket, job.master_key, handle)
    return path


def _extras(plan: Plan, source: Source, out: Path, log: logging.Logger,
            result: Result) -> dict[str, Path]:
    """Everything uploaded after the playlists, by key suffix."""
    files: dict[str, Path] = {}
    for name in (plan.poster, plan.image):
        if name:
            files[name] = _expect(out / name)
    if plan.thumbnails:
        sheets = sorted((out / SPRITE_DIR).glob("sprite_*.jpg"))
        for sheet in sheets:
            files[f"{SPRITE_DIR}/{sheet.name}"] = sheet
        vtt = out / SPRITE_DIR / "thumbnails.vtt"
        vtt.write_text(extras.thumbnails_vtt(plan.thumbnails, source.fps, source.frames,
                                             Path(SPRITE_PATTERN).name))
        files[f"{SPRITE_DIR}/thumbnails.vtt"] = vtt
    if plan.peaks:
        peaks = (out / plan.peaks).read_text() if (out / plan.peaks).exists() else ""
        target = out / "waveform.json"
        target.write_text(json.dumps(extras.waveform(peaks, plan.peak_samples, 48000),
                                     separators=(",", ":")))
        files["waveform.json"] = target
    if plan.ladder and plan.ladder.rungs:
        files["proxy.mp4"] = _proxy(plan, out, log)
        if source.frames and result.frames is not None and result.frames != source.frames:
            result.notes.append(f"The renditions have {result.frames} frames; the master "
                                f"has {source.frames}.")
    return files


def _proxy(plan: Plan, out: Path, log: logging.Logger) -> Path:
    rung = extras.proxy_rung(plan.ladder)
    video = extras.join_fmp4(out / HLS_DIR / rung.name, out / "proxy_video.mp4")
    audio = None
    if plan.ladder.has_audio:
        audio = extras.join_fmp4(out / HLS_DIR / AUDIO_NAME, out / "proxy_audio.mp4")
    target = out / "proxy.mp4"
    argv = extras.proxy_argv(video, audio, target)
    done = subprocess.run(argv, capture_output=True, timeout=REMUX_TIMEOUT_SECONDS)
    if done.returncode != 0:
        stderr = done.stderr.decode("utf-8", "replace")[-2000:]
        log.error("proxy remux failed", extra={"argv": argv, "stderr_tail": stderr})
        raise TranscodeFailed("proxy_failed", "The download proxy could not be assembled from the "
                              "renditions. Report this to ops with the version id.")
    return target


def _expect(path: Path) -> Path:
    if not path.exists():
        raise TranscodeFailed("transcode_failed", f"ffmpeg finished without writing {path.name}. "
                              "Report this to ops with the version id.")
    return path


def _describe(result: Result, plan: Plan, publisher: Publisher, keys: list[str]) -> None:
    key = publisher.key
    result.keys = keys
    if plan.ladder:
        result.master_playlist = key(f"{HLS_DIR}/master.m3u8")
        if plan.ladder.has_audio:
            result.audio_playlist = key(f"{HLS_DIR}/{AUDIO_NAME}/index.m3u8")
        result.rungs = [
            {"name": r.name, "width": r.width, "height": r.height, "codecs": plan.ladder.codecs(r),
             "bandwidth": plan.ladder.bandwidth(r), "video_kbps": r.video_kbps,
             "frame_rate": plan.ladder.frame_rate_attr,
             "playlist": key(f"{HLS_DIR}/{r.name}/index.m3u8")} for r in plan.ladder.rungs]
    result.poster = key(plan.poster) if plan.poster else None
    result.image = key(plan.image) if plan.image else None
    result.sprite = [k for k in keys if k.startswith(key(f"{SPRITE_DIR}/sprite_"))]
    result.thumbnails_vtt = key(f"{SPRITE_DIR}/thumbnails.vtt") if plan.thumbnails else None
    result.waveform = key("waveform.json") if plan.peaks else None
    result.proxy = key("proxy.mp4") if plan.ladder and plan.ladder.rungs else None


class _Reporter:
    """Calls on_progress when the whole percent changes or the version turns playable.

    ffmpeg's own -progress stays silent until every output has its first frame
    (the sprite sheet's can be minutes in), so the segments the renditions have
    listed count as progress too, for the percentage and for stall detection.
    """

    def __init__(self, on_progress: Callable[[Progress], None], publisher: Publisher, duration: float):
        self.on_progress, self.publisher, self.duration = on_progress, publisher, duration
        self.last: tuple[int, bool] | None = None
        self.current = 0.0
        self.listed = 0.0

    def percent(self, value: float) -> None:
        # Called from the progress reader thread: only record, tick() reports.
        self.current = max(self.current, min(value, 99.0))

    def tick(self) -> bool:
        """Publish what is new; True when the renditions grew (ffmpeg is not stalled)."""
        self.publisher.sync()
        listed = self.publisher.seconds_listed()
        grew = listed > self.listed
        self.listed = max(self.listed, listed)
        if self.duration > 0:
            self.current = max(self.current, min(99.0, round(listed / self.duration * 100, 1)))
        self._emit("encoding")
        return grew

    def stage(self, stage: str, value: float | None = None) -> None:
        if value is not None:
            self.current = value
        self.last = None
        self._emit(stage)

    def _emit(self, stage: str) -> None:
        state = (int(self.current), self.publisher.playable)
        if state != self.last:
            self.last = state
            self.on_progress(Progress(percent=self.current, playable=self.publisher.playable,
                                      stage=stage))