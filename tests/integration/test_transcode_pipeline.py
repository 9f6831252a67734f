"""The transcode pipeline against real ffmpeg and the stack's S3 gateway.

Each test uploads a generated master, runs `transcode_version`, downloads what
landed under `<project>/<version>/` in the renditions bucket and checks it
with ffprobe: the bucket's copy, not the worker's scratch files, is what
players get.
"""
from __future__ import annotations

import json
import logging
import math
import re
import subprocess
import time
import uuid
from fractions import Fraction
from pathlib import Path

import pytest

from services.ingest.probe import probe_file
from services.transcode.job import TranscodeFailed, TranscodeJob
from services.transcode.pipeline import transcode_version
from tests import media

log = logging.getLogger("test.transcode")
# Mean absolute error per RGB channel allowed between master and rendition, in
# 8-bit codes, after both are decoded with their tagged matrix: lossy H.264 at
# a low bitrate plus 4:2:0 chroma at the bars' hard edges; a BT.601/709 mix-up
# shifts the bars by 10-20 codes, far outside this.
RGB_TOLERANCE = 3.0


@pytest.fixture(scope="module")
def masters(tmp_path_factory):
    return tmp_path_factory.mktemp("transcode-masters")


class Run:
    def __init__(self, job: TranscodeJob, result, files: Path, progress: list):
        self.job, self.result, self.files, self.progress = job, result, files, progress

    def path(self, key: str) -> Path:
        return self.files / key[len(self.job.prefix) + 1:]

    def rung(self, name: str) -> Path:
        return self.files / "hls" / name / "index.m3u8"


def make_job(store, settings, master: Path, facts: dict | None = None, version_id=None):
    key = f"transcode-test/{uuid.uuid4().hex}/{master.name}"
    store.client.fput_object(settings.bucket("masters"), key, str(master))
    return TranscodeJob(project_id="ptest", asset_id="a1", version_id=version_id or uuid.uuid4().hex,
                        master_bucket=settings.bucket("masters"), master_key=key,
                        facts=facts or probe_file(master).to_dict(),
                        renditions_bucket=settings.bucket("renditions"))


def transcode(store, settings, master: Path, tmp_path: Path, **kw) -> Run:
    job = make_job(store, settings, master)
    progress: list = []
    result = transcode_version(job, store, tmp_path / "work", progress.append, log, **kw)
    files = tmp_path / "bucket"
    for key in store.keys(job.renditions_bucket, job.prefix + "/"):
        target = files / key[len(job.prefix) + 1:]
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("wb") as out:
            store.copy_to_file(job.renditions_bucket, key, out)
    return Run(job, result, files, progress)


def ffprobe(path: Path, *args: str) -> dict:
    done = subprocess.run(["ffprobe", "-v", "error", *args, "-of", "json", str(path)],
                          capture_output=True, check=True, timeout=60)
    return json.loads(done.stdout)


def video_frames(path: Path) -> list[dict]:
    return ffprobe(path, "-select_streams", "v:0", "-show_entries",
                   "frame=pts,pkt_dts,key_frame,best_effort_timestamp_time", "-show_frames")["frames"]


def counted_frames(path: Path) -> int:
    info = ffprobe(path, "-count_frames", "-select_streams", "v:0", "-show_entries",
                   "stream=nb_read_frames")
    return int(info["streams"][0]["nb_read_frames"])


def keyframe_indexes(path: Path) -> list[int]:
    return [i for i, f in enumerate(video_frames(path)) if f["key_frame"] == 1]


def rgb_frame(path: Path, index: int, size: tuple[int, int], *pre: str) -> bytes:
    """Frame `index` as rgb24 at `size`, decoded with the BT.709 matrix and limited range."""
    w, h = size
    vf = (f"select=eq(n\\,{index}),scale={w}:{h}:in_color_matrix=bt709:in_range=tv,"
          "format=rgb24")
    done = subprocess.run(["ffmpeg", "-v", "error", *pre, "-i", str(path), "-vf", vf,
                           "-frames:v", "1", "-f", "rawvideo", "-"],
                          capture_output=True, check=True, timeout=60)
    assert len(done.stdout) == w * h * 3
    return done.stdout


def mean_abs_error(a: bytes, b: bytes) -> list[float]:
    return [sum(abs(a[i] - b[i]) for i in range(c, len(a), 3)) / (len(a) / 3) for c in range(3)]


def master_attributes(text: str) -> list[dict]:
    variants = []
    for line in text.splitlines():
        if line.startswith("#EXT-X-STREAM-INF:"):
            attrs = dict(re.findall(r'([A-Z-]+)=("[^"]*"|[^,]*)', line.split(":", 1)[1]))
            variants.append({k: v.strip('"') for k, v in attrs.items()})
    return variants


# --- frame-exact ladders -------------------------------------------------------

@pytest.mark.parametrize("maker,rate,keyframes", [
    (lambda d: media.make_h264_keyframes(d, "24000/1001"), "24000/1001", [0, 48, 96]),
    (lambda d: media.make_h264_keyframes(d, "25"), "25/1", [0, 50, 100]),
    (lambda d: media.make_h264_keyframes(d, "30000/1001"), "30000/1001", [0, 60, 120]),
])
def test_rungs_keep_every_frame_and_keyframes_every_two_seconds(store, settings, masters, tmp_path,
                                                                 maker, rate, keyframes):
    master = maker(masters)
    run = transcode(store, settings, master, tmp_path)
    facts = run.job.facts
    assert facts["fps"] == rate
    for rung in run.result.rungs:
        playlist = run.rung(rung["name"])
        assert counted_frames(playlist) == facts["frames"]
        # The first frame at or after 0, 2, 4 s: 2.002 s is frame 48 at 23.976.
        assert keyframe_indexes(playlist) == keyframes
        text = playlist.read_text()
        assert "#EXT-X-PLAYLIST-TYPE:VOD" in text and text.rstrip().endswith("#EXT-X-ENDLIST")
        stream = ffprobe(playlist, "-show_streams", "-select_streams", "v:0")["streams"][0]
        assert Fraction(stream["avg_frame_rate"]) == Fraction(rate)
    assert run.result.frames == facts["frames"] and run.result.notes == []


def test_drop_frame_mov_with_timecode(store, settings, masters, tmp_path):
    run = transcode(store, settings, media.make_mov_2997_df(masters), tmp_path)
    assert run.job.facts["start_timecode"] == "01:00:00;00"
    assert counted_frames(run.rung(run.result.rungs[0]["name"])) == run.job.facts["frames"] == 60
    assert master_attributes(run.path(run.result.master_playlist).read_text())[0]["FRAME-RATE"] == "29.970"


@pytest.mark.parametrize("maker", [media.make_h265, media.make_prores, media.make_dnxhd_mxf],
                         ids=["hevc-mp4", "prores-mov", "dnxhd-mxf"])
def test_mezzanine_and_camera_codecs(store, settings, masters, tmp_path, maker):
    run = transcode(store, settings, maker(masters), tmp_path)
    rung = run.result.rungs[0]
    assert counted_frames(run.rung(rung["name"])) == run.job.facts["frames"]
    assert run.result.proxy and counted_frames(run.path(run.result.proxy)) == run.job.facts["frames"]


def test_full_ladder_master_playlist_matches_the_streams(store, settings, masters, tmp_path):
    # 5 s at 25 fps: keyframes at 0, 2 and 4 s are frames 0, 50 and 100.
    run = transcode(store, settings, media.make_hd(masters, seconds=5), tmp_path)
    assert run.job.facts["frames"] == 125
    master = run.path(run.result.master_playlist)
    variants = master_attributes(master.read_text())
    assert [v["RESOLUTION"] for v in variants] == ["1920x1080", "1280x720", "640x360"]
    assert len(run.result.rungs) == 3
    for variant, rung in zip(variants, run.result.rungs):
        playlist = run.rung(rung["name"])
        # Every rung, not only the first: every frame, and keyframes every 2 s exactly.
        assert counted_frames(playlist) == 125, rung["name"]
        assert keyframe_indexes(playlist) == [0, 50, 100], rung["name"]
        stream = ffprobe(playlist, "-show_streams", "-select_streams", "v:0")["streams"][0]
        assert f"{stream['width']}x{stream['height']}" == variant["RESOLUTION"]
        assert variant["FRAME-RATE"] == "25.000"
        # CODECS names the profile, constraint flags and level the init segment's avcC carries.
        init = (playlist.parent / re.search(r'URI="([^"]+)"', playlist.read_text()).group(1)).read_bytes()
        at = init.index(b"avcC") + 4
        assert variant["CODECS"] == f"avc1.{init[at + 1:at + 4].hex().upper()},mp4a.40.2"
        assert stream["profile"] == "High" and stream["color_space"] == "bt709"
        # BANDWIDTH is at least the peak bit rate of any segment (video plus audio).
        peak = max(_segment_bits_per_second(playlist))
        audio = max(_segment_bits_per_second(run.files / "hls" / "audio" / "index.m3u8"))
        assert peak + audio <= int(variant["BANDWIDTH"])
        assert stream.get("side_data_list") is None
    opened = ffprobe(master, "-show_streams")["streams"]
    assert sorted(s["codec_type"] for s in opened).count("video") == 3
    assert any(s["codec_name"] == "aac" and s["sample_rate"] == "48000" and s["channels"] == 2
               for s in opened)
    assert run.result.proxy and ffprobe(run.path(run.result.proxy), "-show_streams")["streams"][0]["height"] == 720


def _segment_bits_per_second(playlist: Path) -> list[float]:
    text = playlist.read_text().splitlines()
    rates = []
    for i, line in enumerate(text):
        if line.startswith("#EXTINF:"):
            seconds = float(line[8:].rstrip(","))
            rates.append((playlist.parent / text[i + 1]).stat().st_size * 8 / seconds)
    return rates


# --- picture ---------------------------------------------------------------------

@pytest.mark.parametrize("tagged", [True, False], ids=["bt709", "untagged"])
def test_colour_bars_survive_in_rgb(store, settings, masters, tmp_path, tagged):
    master = media.make_bars(masters, tagged=tagged)
    run = transcode(store, settings, master, tmp_path)
    rung = run.result.rungs[0]
    size = (rung["width"], rung["height"])
    assert size == (320, 180)
    expected = rgb_frame(master, 12, size)
    error = mean_abs_error(expected, rgb_frame(run.rung(rung["name"]), 12, size))
    assert max(error) < RGB_TOLERANCE, error
    stream = ffprobe(run.rung(rung["name"]), "-show_streams", "-select_streams", "v:0")["streams"][0]
    assert (stream["color_space"], stream["color_transfer"], stream["color_primaries"]) == ("bt709",) * 3
    # The poster is a JPEG (BT.601 full range by definition); decoded, it shows the same colours.
    poster = subprocess.run(["ffmpeg", "-v", "error", "-i", str(run.path(run.result.poster)),
                             "-vf", "format=rgb24", "-f", "rawvideo", "-"],
                            capture_output=True, check=True).stdout
    assert max(mean_abs_error(expected, poster)) < RGB_TOLERANCE + 2


def test_hdr_pq_master_gets_a_tone_mapped_bt709_ladder_and_a_note(store, settings, masters, tmp_path):
    run = transcode(store, settings, media.make_hdr_pq(masters), tmp_path)
    stream = ffprobe(run.rung(run.result.rungs[0]["name"]), "-show_streams")["streams"][0]
    assert (stream["color_transfer"], stream["pix_fmt"]) == ("bt709", "yuv420p")
    assert any("tone-mapped" in note for note in run.result.notes)
    assert counted_frames(run.rung(run.result.rungs[0]["name"])) == 25


def test_rotated_phone_video_is_upright(store, settings, masters, tmp_path):
    master = media.make_rotated_phone(masters)
    run = transcode(store, settings, master, tmp_path)
    assert run.job.facts["rotation"] == 90
    rung = run.result.rungs[0]
    assert (rung["width"], rung["height"]) == (90, 160)
    playlist = run.rung(rung["name"])
    stream = ffprobe(playlist, "-show_streams", "-select_streams", "v:0")["streams"][0]
    assert (stream["width"], stream["height"]) == (90, 160) and not stream.get("side_data_list")
    # ffmpeg's own autorotate applied to the master gives the same picture.
    error = mean_abs_error(rgb_frame(master, 5, (90, 160)), rgb_frame(playlist, 5, (90, 160)))
    assert max(error) < 8, error
    sideways = mean_abs_error(rgb_frame(master, 5, (90, 160), "-noautorotate"),
                              rgb_frame(playlist, 5, (90, 160)))
    assert max(sideways) > 20


def test_odd_sized_rgb_master(store, settings, masters, tmp_path):
    run = transcode(store, settings, media.make_odd_size_rgb(masters), tmp_path)
    rung = run.result.rungs[0]
    assert (rung["width"], rung["height"]) == (160, 90)
    assert counted_frames(run.rung(rung["name"])) == 25


def test_variable_frame_rate_keeps_every_frame_once_at_the_average_rate(store, settings, masters,
                                                                       tmp_path):
    run = transcode(store, settings, media.make_vfr(masters), tmp_path)
    facts = run.job.facts
    assert facts["variable_frame_rate"] and facts["frames"] == 40
    playlist = run.rung(run.result.rungs[0]["name"])
    frames = video_frames(playlist)
    assert len(frames) == 40
    times = [float(f["best_effort_timestamp_time"]) for f in frames]
    step = 1 / Fraction(facts["fps"])
    assert all(math.isclose(b - a, step, abs_tol=0.002) for a, b in zip(times, times[1:]))
    assert any("retimed" in note for note in run.result.notes)


# --- sound, stills, extras ------------------------------------------------------

def test_wav_gives_audio_hls_and_waveform(store, settings, masters, tmp_path):
    run = transcode(store, settings, media.make_wav_stereo(masters), tmp_path)
    assert run.result.kind == "audio" and run.result.rungs == [] and run.result.proxy is None
    variants = master_attributes(run.path(run.result.master_playlist).read_text())
    assert variants == [{"BANDWIDTH": variants[0]["BANDWIDTH"],
                         "AVERAGE-BANDWIDTH": variants[0]["AVERAGE-BANDWIDTH"], "CODECS": "mp4a.40.2"}]
    audio = ffprobe(run.path(run.result.master_playlist), "-show_streams")["streams"]
    assert [(s["codec_name"], s["channels"], s["sample_rate"]) for s in audio] == [("aac", 2, "48000")]
    wave = json.loads(run.path(run.result.waveform).read_text())
    assert wave["length"] == 20 and len(wave["data"]) == 40  # 1 s at 20 peaks a second
    # ffmpeg's sine source is at 1/8 full scale: about +-16 in 8 bits.
    assert all(14 <= abs(v) <= 17 for v in wave["data"])


def test_png_gives_poster_and_full_size_image(store, settings, masters, tmp_path):
    run = transcode(store, settings, media.make_png(masters), tmp_path)
    assert run.result.kind == "image" and run.result.master_playlist is None
    image = ffprobe(run.path(run.result.image), "-show_streams")["streams"][0]
    poster = ffprobe(run.path(run.result.poster), "-show_streams")["streams"][0]
    assert (image["codec_name"], image["width"], image["height"]) == ("png", 320, 180)
    assert (poster["codec_name"], poster["width"], poster["height"]) == ("mjpeg", 320, 180)
    assert sorted(p.name for p in run.files.rglob("*") if p.is_file()) == ["image.png", "poster.jpg"]


def test_poster_sprite_thumbnails_and_proxy(store, settings, masters, tmp_path):
    run = transcode(store, settings, media.make_h264_keyframes(masters, "25"), tmp_path)
    vtt = run.path(run.result.thumbnails_vtt).read_text()
    cues = re.findall(r"(\S+) --> (\S+)\n(sprite_\d+\.jpg)#xywh=(\d+),(\d+),(\d+),(\d+)", vtt)
    assert [c[:2] for c in cues] == [("00:00:00.000", "00:00:01.000"), ("00:00:01.000", "00:00:02.000"),
                                     ("00:00:02.000", "00:00:03.000"), ("00:00:03.000", "00:00:04.000"),
                                     ("00:00:04.000", "00:00:05.000")]
    sheet = ffprobe(run.path(run.result.sprite[0]), "-show_streams")["streams"][0]
    assert (sheet["width"], sheet["height"]) == (5 * 160, 90)
    assert cues[-1][2:] == ("sprite_001.jpg", "640", "0", "160", "90")
    proxy = run.path(run.result.proxy)
    streams = ffprobe(proxy, "-show_streams")["streams"]
    assert [s["codec_name"] for s in streams] == ["h264", "aac"]
    assert counted_frames(proxy) == 125
    head = proxy.read_bytes()[:4096]
    assert head.find(b"moov") < head.find(b"mdat") or b"mdat" not in head  # faststart


# --- failures, idempotency, progressive publishing -------------------------------

def test_corrupt_master_fails_with_a_reason_within_bounded_time(store, settings, masters, tmp_path):
    master = media.make_garbage_mp4(masters)
    job = make_job(store, settings, master, facts=probe_file(media.make_h264_2398(masters)).to_dict())
    started = time.monotonic()
    with pytest.raises(TranscodeFailed) as failed:
        transcode_version(job, store, tmp_path, lambda p: None, log, stall_seconds=10, time_limit=30)
    assert time.monotonic() - started < 30
    assert failed.value.code in ("master_unreadable", "master_corrupt")
    assert "upload a new version" in failed.value.reason


def test_master_damaged_after_probing_fails_as_unreadable(store, settings, masters, tmp_path):
    facts = probe_file(media.make_h264_2398(masters)).to_dict()
    job = make_job(store, settings, media.make_truncated_mp4(masters), facts=facts)
    with pytest.raises(TranscodeFailed) as failed:
        transcode_version(job, store, tmp_path, lambda p: None, log)
    assert failed.value.code == "master_unreadable" and "incomplete" in failed.value.reason


def test_rerun_overwrites_one_set_of_renditions(store, settings, masters, tmp_path):
    master = media.make_h264_keyframes(masters, "25")
    job = make_job(store, settings, master)
    first = transcode_version(job, store, tmp_path / "one", lambda p: None, log)
    stray = f"{job.prefix}/hls/90p/seg_00099.m4s"  # as a killed earlier attempt could leave
    store.client.put_object(job.renditions_bucket, stray, __import__("io").BytesIO(b"x"), 1)
    second = transcode_version(job, store, tmp_path / "two", lambda p: None, log)
    assert first.keys == second.keys
    assert sorted(store.keys(job.renditions_bucket, job.prefix + "/")) == second.keys


def test_progress_reaches_100_and_playable_comes_before_done(store, settings, masters, tmp_path):
    run = transcode(store, settings, media.make_h264_keyframes(masters, "25"), tmp_path)
    percents = [p.percent for p in run.progress]
    assert percents == sorted(percents) and percents[-1] == 100.0
    assert run.progress[-1].stage == "done" and run.progress[-1].playable


def test_progress_climbs_and_a_slow_start_of_the_sprite_is_not_a_stall(store, settings, masters, tmp_path):
    """ffmpeg's -progress stays silent until every output has a frame; the sprite
    sheet's first frame comes only at the end of a short master. Progress comes from
    the segments the renditions list, so it climbs, and a stall limit shorter than
    that silence does not kill a healthy transcode."""
    # 10 s: longer than a busy CI machine needs for one segment, shorter than
    # the -progress silence of a 30 s master.
    master = media.make_hd(masters, seconds=30, size="1280x720")
    run = transcode(store, settings, master, tmp_path, stall_seconds=10.0)
    encoding = sorted({int(p.percent) for p in run.progress if p.stage == "encoding" and 0 < p.percent < 99})
    assert len(encoding) >= 3, run.progress
    assert run.progress[-1].percent == 100.0
