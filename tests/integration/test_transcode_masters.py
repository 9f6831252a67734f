"""Real masters through the transcode pipeline (real ffmpeg, the stack's S3 gateway):
interlaced broadcast video, non-square pixels, several mono tracks and 5.1, stills
beyond PNG. Each test checks what landed in the renditions bucket, with ffprobe,
and the note the version carries about what was done.

A master is transcoded once per module and shared by the tests that look at it.
"""
from __future__ import annotations

import json
import logging
import math
import re
import struct
import subprocess
from fractions import Fraction
from pathlib import Path

import pytest

from services.transcode.pipeline import transcode_version
from tests import media
from tests.integration.test_transcode_pipeline import (Run, counted_frames, ffprobe, make_job,
                                                       mean_abs_error)

log = logging.getLogger("test.transcode.masters")


@pytest.fixture(scope="module")
def masters(tmp_path_factory):
    return tmp_path_factory.mktemp("real-masters")


@pytest.fixture(scope="module")
def transcoded(store, settings, masters, tmp_path_factory):
    """transcoded(maker) -> Run, each master transcoded once for the module."""
    runs: dict[str, Run] = {}

    def run(maker) -> Run:
        master = maker(masters)
        if master.name not in runs:
            work = tmp_path_factory.mktemp("run")
            job = make_job(store, settings, master)
            result = transcode_version(job, store, work / "work", lambda p: None, log)
            files = work / "bucket"
            for key in store.keys(job.renditions_bucket, job.prefix + "/"):
                target = files / key[len(job.prefix) + 1:]
                target.parent.mkdir(parents=True, exist_ok=True)
                with target.open("wb") as out:
                    store.copy_to_file(job.renditions_bucket, key, out)
            runs[master.name] = Run(job, result, files, [])
        return runs[master.name]

    return run


def field_counts(path: Path) -> dict[str, int]:
    """idet's multi-frame verdicts over the luma of every frame of the first video stream.
    (Luma only: converting DV's 4:1:1 chroma to 4:2:0 leaves line pairs idet takes for fields.)"""
    done = subprocess.run(["ffmpeg", "-hide_banner", "-nostats", "-i", str(path), "-map", "0:v:0",
                           "-vf", "extractplanes=y,idet", "-an", "-f", "null", "-"],
                          capture_output=True, text=True, check=True, timeout=120)
    found = re.findall(r"Multi frame detection: TFF:\s*(\d+)\s+BFF:\s*(\d+)\s+Progressive:\s*(\d+)",
                       done.stderr)
    tff, bff, progressive = (int(n) for n in found[-1])
    return {"tff": tff, "bff": bff, "progressive": progressive}


def video_stream(path: Path) -> dict:
    return ffprobe(path, "-show_streams", "-select_streams", "v:0")["streams"][0]


def stereo_channels(path: Path) -> list[tuple[float, float]]:
    """(RMS level, frequency in Hz from zero crossings) of each channel of the first
    audio stream, over its middle half second."""
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-map", "0:a:0", "-f", "f32le",
                          "-ar", "48000", "-"], capture_output=True, check=True, timeout=60).stdout
    samples = struct.unpack(f"<{len(raw) // 4}f", raw)
    measured = []
    for channel in (0, 1):
        window = samples[channel::2][12000:36000]
        rms = math.sqrt(sum(x * x for x in window) / len(window))
        crossings = sum(1 for a, b in zip(window, window[1:]) if (a < 0) != (b < 0))
        measured.append((rms, crossings / 2 / (len(window) / 48000)))
    return measured


def audio_rendition(run: Run) -> Path:
    return run.path(run.result.audio_playlist)


def rgb(path: Path, size: tuple[int, int]) -> bytes:
    """The picture as rgb24 at `size`, each decoded with its own colour properties."""
    w, h = size
    return subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-vf", f"scale={w}:{h},format=rgb24",
                           "-frames:v", "1", "-f", "rawvideo", "-"],
                          capture_output=True, check=True, timeout=60).stdout


def notes_about(run: Run, word: str) -> list[str]:
    return [note for note in run.result.notes if word in note]


# --- interlaced ----------------------------------------------------------------

INTERLACED = [
    # maker, frames, rate, field order named in the note, whether the master says so
    (media.make_1080i50, 25, "25/1", "top field first", True),
    (media.make_xdcam_1080i5994_mxf, 30, "30000/1001", "top field first", True),
    (media.make_dv_ntsc, 30, "30000/1001", "bottom field first", True),
    (media.make_pal_anamorphic_untagged, 25, "25/1", "top field first", False),
]


@pytest.mark.parametrize("maker,frames,rate,order,tagged", INTERLACED,
                         ids=["1080i50-mov", "1080i5994-xdcam-mxf", "ntsc-480i-dv", "pal-576i-untagged"])
def test_interlaced_masters_become_progressive_frame_for_frame(transcoded, masters, maker, frames, rate,
                                                              order, tagged):
    master = maker(masters)
    seen = field_counts(master)
    assert seen["tff"] + seen["bff"] > seen["progressive"]  # the fixture really is combed
    run = transcoded(maker)
    assert run.job.facts["frames"] == frames and run.job.facts["fps"] == rate
    assert (run.job.facts.get("field_order") is not None) == tagged
    for rung in run.result.rungs:
        playlist = run.rung(rung["name"])
        # One progressive picture per interlaced frame: same count, same rate.
        assert counted_frames(playlist) == frames, rung["name"]
        stream = video_stream(playlist)
        assert Fraction(stream["avg_frame_rate"]) == Fraction(rate), rung["name"]
        assert stream.get("field_order") in (None, "progressive", "unknown"), rung["name"]
    # No combing left: idet sees progressive pictures where it saw interlaced ones.
    top = field_counts(run.rung(run.result.rungs[0]["name"]))
    assert top["progressive"] > 2 * (top["tff"] + top["bff"]), top
    [note] = notes_about(run, "Interlaced")
    assert order in note and "bwdif" in note and f"{frames} frames" in note
    assert ("field detection (idet)" in note) != tagged


def test_a_progressive_master_is_not_deinterlaced(transcoded):
    run = transcoded(lambda d: media.make_h264_keyframes(d, "25"))
    assert run.job.facts["field_order"] == "progressive"
    assert not notes_about(run, "Interlaced")


# --- non-square pixels ---------------------------------------------------------

@pytest.mark.parametrize("maker,coded,shown", [
    (media.make_hdv, (1440, 1080), (1920, 1080)),
    (media.make_dv_ntsc, (720, 480), (654, 480)),
    (media.make_pal_anamorphic_untagged, (720, 576), (1024, 576)),
], ids=["hdv-1440x1080", "dv-ntsc-720x480", "pal-16x9-720x576"])
def test_non_square_pixels_are_shown_at_their_display_aspect(transcoded, maker, coded, shown):
    run = transcoded(maker)
    facts = run.job.facts
    assert (facts["width"], facts["height"]) == coded and facts["sample_aspect_ratio"]
    display_aspect = Fraction(shown[0], shown[1])
    top = run.result.rungs[0]
    assert (top["width"], top["height"]) == shown
    for rung in run.result.rungs:
        stream = video_stream(run.rung(rung["name"]))
        assert stream["sample_aspect_ratio"] in ("1:1", None)
        assert abs(Fraction(stream["width"], stream["height"]) / display_aspect - 1) < 0.01, rung
    poster = ffprobe(run.path(run.result.poster), "-show_streams")["streams"][0]
    assert (poster["width"], poster["height"]) == shown
    vtt = run.path(run.result.thumbnails_vtt).read_text()
    w, h = (int(n) for n in re.search(r"#xywh=\d+,\d+,(\d+),(\d+)", vtt).groups())
    assert abs(Fraction(w, h) / display_aspect - 1) < 0.02, (w, h)
    sheet = ffprobe(run.path(run.result.sprite[0]), "-show_streams")["streams"][0]
    assert sheet["height"] == h
    [note] = notes_about(run, "Non-square pixels")
    assert f"{shown[0]}x{shown[1]}" in note


# --- sound ----------------------------------------------------------------------

def test_two_mono_tracks_become_left_and_right(transcoded):
    run = transcoded(media.make_mono_tracks_mov)
    assert [t["channels"] for t in run.job.facts["audio_tracks"]] == [1, 1]
    (left_rms, left_hz), (right_rms, right_hz) = stereo_channels(audio_rendition(run))
    assert (round(left_hz), round(right_hz)) == (200, 400)
    [note] = notes_about(run, "mono audio tracks")
    assert "first two" in note and "track 1 on the left, track 2 on the right" in note


def test_eight_mono_tracks_of_an_mxf_become_one_stereo_pair_of_the_first_two(transcoded):
    run = transcoded(media.make_xdcam_1080i5994_mxf)
    assert len(run.job.facts["audio_tracks"]) == 8
    streams = ffprobe(audio_rendition(run), "-show_streams")["streams"]
    assert [(s["codec_name"], s["channels"]) for s in streams] == [("aac", 2)]
    (_, left_hz), (_, right_hz) = stereo_channels(audio_rendition(run))
    assert (round(left_hz), round(right_hz)) == (200, 400)
    proxy_audio = [s for s in ffprobe(run.path(run.result.proxy), "-show_streams")["streams"]
                   if s["codec_type"] == "audio"]
    assert [s["channels"] for s in proxy_audio] == [2]
    [note] = notes_about(run, "mono audio tracks")
    assert "8 mono audio tracks" in note and "Tracks 3–8 are not in the renditions" in note


def test_tracks_named_left_and_right_are_the_pair_and_the_waveform_shows_them(transcoded):
    # Tracks 1 and 2 (Dialogue, Music) are silent; 3 and 4 (Left, Right) carry tones.
    run = transcoded(lambda d: media.make_mono_tracks_mov(d, ("Dialogue", "Music", "Left", "Right")))
    (left_rms, left_hz), (right_rms, right_hz) = stereo_channels(audio_rendition(run))
    assert (round(left_hz), round(right_hz)) == (700, 900)
    [note] = notes_about(run, "mono audio tracks")
    assert "track 3 (Left) on the left, track 4 (Right) on the right" in note
    assert "Tracks 1 and 2 are not in the renditions" in note
    # The waveform is the sound the renditions carry, not the first (silent) track.
    wave = json.loads(run.path(run.result.waveform).read_text())
    assert wave["length"] == 20 and min(abs(v) for v in wave["data"]) >= 10


def test_five_one_is_downmixed_to_stereo(transcoded):
    run = transcoded(media.make_surround_51)
    assert run.job.facts["audio_channels"] == 6
    streams = ffprobe(run.path(run.result.master_playlist), "-show_streams")["streams"]
    assert [s["channels"] for s in streams if s["codec_type"] == "audio"] == [2]
    (left_rms, left_hz), (right_rms, right_hz) = stereo_channels(audio_rendition(run))
    # The centre's 440 Hz tone (1/8 full scale, RMS 0.088) lands in both sides at -3 dB.
    assert round(left_hz) == round(right_hz) == 440
    assert math.isclose(left_rms, right_rms, rel_tol=0.02)
    assert math.isclose(left_rms, 0.125 / math.sqrt(2) * 0.707, rel_tol=0.1), left_rms
    [note] = notes_about(run, "5.1")
    assert "downmixed to stereo" in note


# --- stills -------------------------------------------------------------------

@pytest.mark.parametrize("maker,image_format", [(media.make_jpeg, "rgb24"), (media.make_tiff16, "rgb48be")],
                         ids=["jpeg", "tiff-16bit"])
def test_jpeg_and_16bit_tiff_give_a_poster_and_a_reviewable_image_in_their_colours(
        transcoded, masters, maker, image_format):
    master = maker(masters)
    run = transcoded(maker)
    assert run.result.kind == "image" and run.result.master_playlist is None
    image = ffprobe(run.path(run.result.image), "-show_streams")["streams"][0]
    poster = ffprobe(run.path(run.result.poster), "-show_streams")["streams"][0]
    assert (image["codec_name"], image["width"], image["height"], image["pix_fmt"]) == (
        "png", 320, 180, image_format)
    assert (poster["codec_name"], poster["width"], poster["height"]) == ("mjpeg", 320, 180)
    expected = rgb(master, (320, 180))
    assert max(mean_abs_error(expected, rgb(run.path(run.result.image), (320, 180)))) < 1.0
    # JPEG bars drawn through a poster that read them as limited range shift by ~10 codes.
    assert max(mean_abs_error(expected, rgb(run.path(run.result.poster), (320, 180)))) < 3.0


def test_openexr_is_tone_mapped_into_a_poster_and_an_image(transcoded):
    run = transcoded(media.make_exr)
    assert run.job.facts["kind"] == "image" and run.job.facts["video_codec"] == "exr"
    for key in (run.result.image, run.result.poster):
        picture = rgb(run.path(key), (64, 32))
        bands = [picture[(16 * 64 + x) * 3] for x in (8, 24, 40, 56)]
        # Mid grey (0.18 linear) is sRGB 118 as on any display; diffuse white is no
        # longer clipped; 4x and 12x white stay apart instead of both clipping to 255.
        assert abs(bands[0] - 118) <= 3, bands
        assert bands[0] < bands[1] < bands[2] < bands[3], bands
        assert bands[1] < 230 and bands[2] < 252, bands
    [note] = notes_about(run, "tone-mapped")
    assert "OpenEXR" in note
