"""probe_file against real ffprobe on tiny generated media (needs only ffmpeg)."""
import logging
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from services.common.timecode import frames_to_smpte, smpte_to_frames
from services.ingest import probe
from services.ingest.media_facts import MediaRejected
from services.ingest.probe import ffprobe_argv, probe_file

from tests import media

REPO = Path(__file__).resolve().parents[2]



@pytest.fixture(scope="module")
def media_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("media")


def facts_of(media_dir, name):
    return probe_file(media.MEDIA[name](media_dir), timeout_seconds=30)


def rejection(media_dir, name):
    with pytest.raises(MediaRejected) as err:
        facts_of(media_dir, name)
    return err.value


def test_h264_2398_counts_every_frame(media_dir):
    facts = facts_of(media_dir, "h264_2398")
    # 2 s at 24000/1001 is 47.95 frames; ffmpeg emits 48 and the file holds 48.
    assert (facts.kind, facts.container, facts.video_codec, facts.audio_codec) == \
        ("video", "mp4", "h264", "aac")
    assert (facts.fps, facts.frames, facts.width, facts.height) == ("24000/1001", 48, 160, 90)
    assert facts.fps_float == pytest.approx(23.976, abs=1e-3)
    assert (facts.drop_frame, facts.variable_frame_rate, facts.start_timecode) == \
        (False, False, None)
    assert facts.duration == pytest.approx(2.0, abs=0.01)


def test_25fps_mov_start_timecode(media_dir):
    facts = facts_of(media_dir, "mov_25_tc")
    assert (facts.container, facts.fps, facts.frames) == ("mov", "25/1", 50)
    assert (facts.start_timecode, facts.drop_frame) == ("10:00:00:00", False)


def test_2997_drop_frame_mov(media_dir):
    facts = facts_of(media_dir, "mov_2997_df")
    assert (facts.fps, facts.frames) == ("30000/1001", 60)
    assert (facts.start_timecode, facts.drop_frame) == ("01:00:00;00", True)
    # What a reviewer sees on the last frame.
    start = smpte_to_frames(facts.start_timecode, facts.fps, facts.drop_frame)
    assert frames_to_smpte(facts.frames - 1, facts.fps, True, start) == "01:00:01;29"


def test_5994_mp4(media_dir):
    facts = facts_of(media_dir, "mp4_5994")
    assert (facts.fps, facts.frames, facts.start_timecode) == ("60000/1001", 60, None)
    assert facts.drop_frame is True  # no timecode track: NTSC convention


@pytest.mark.parametrize("name,container,codec,frames,fps", [
    ("h265", "mp4", "hevc", 25, "25/1"),
    ("prores", "mov", "prores", 24, "24000/1001"),
    ("dnxhd_mxf", "mxf", "dnxhd", 25, "25/1"),
    ("large_avi", "avi", "rawvideo", 60, "25/1"),
])
def test_codecs_and_containers(media_dir, name, container, codec, frames, fps):
    facts = facts_of(media_dir, name)
    assert (facts.kind, facts.container, facts.video_codec, facts.frames, facts.fps) == \
        ("video", container, codec, frames, fps)


def test_mxf_start_timecode_comes_from_the_format(media_dir):
    assert facts_of(media_dir, "dnxhd_mxf").start_timecode == "00:59:58:00"


def test_phone_video_is_rotated_90_clockwise(media_dir):
    facts = facts_of(media_dir, "rotated_phone")
    assert (facts.rotation, facts.width, facts.height) == (90, 160, 90)


def test_colour_tags(media_dir):
    tagged = facts_of(media_dir, "colour_tagged")
    assert (tagged.color_primaries, tagged.color_transfer, tagged.color_space,
            tagged.color_range) == ("bt709", "bt709", "bt709", "tv")
    untagged = facts_of(media_dir, "untagged")
    assert (untagged.color_primaries, untagged.color_transfer, untagged.color_space) == \
        (None, None, None)


def test_variable_frame_rate(media_dir):
    facts = facts_of(media_dir, "vfr")
    # 30 frames in the first second, 10 in the second.
    assert (facts.variable_frame_rate, facts.frames) == (True, 40)


def test_wav_is_stereo_audio(media_dir):
    facts = facts_of(media_dir, "wav_stereo")
    assert (facts.kind, facts.audio_channels, facts.audio_sample_rate, facts.frames) == \
        ("audio", 2, 48000, None)
    assert facts.duration == pytest.approx(1.0)


def test_png_is_an_image(media_dir):
    facts = facts_of(media_dir, "png")
    assert (facts.kind, facts.width, facts.height, facts.frames, facts.fps) == \
        ("image", 320, 180, 1, None)


@pytest.mark.parametrize("name,code", [
    ("truncated_mp4", "truncated"),
    ("empty", "empty_file"),
    ("text", "not_media"),
    ("m3u8", "remote_reference"),
    ("ffconcat", "remote_reference"),
])
def test_bad_files_are_rejected_with_a_code(media_dir, name, code):
    err = rejection(media_dir, name)
    assert err.code == code and err.message


@pytest.mark.parametrize("name", ["m3u8", "ffconcat"])
def test_whitelist_alone_refuses_references(media_dir, name, monkeypatch):
    # Without the sniff, ffprobe's format whitelist still refuses them.
    monkeypatch.setattr(probe, "_reject_reference_text", lambda head: None)
    assert rejection(media_dir, name).code == "remote_reference"


@pytest.mark.parametrize("name,expected", [("mov_2997_df", "video"), ("png", "image"),
                                           ("wav_stereo", "audio"), ("truncated_mp4", "truncated"),
                                           ("m3u8", "remote_reference")])
def test_names_without_an_extension_probe_the_same(media_dir, tmp_path, name, expected):
    # Ingest probes a temp copy named "master-XXXX": detection must not need the extension.
    bare = tmp_path / "master-upload"
    shutil.copy(media.MEDIA[name](media_dir), bare)
    try:
        outcome = probe_file(bare, timeout_seconds=30).kind
    except MediaRejected as err:
        outcome = err.code
    assert outcome == expected


def test_half_an_mxf_is_truncated(media_dir, tmp_path):
    whole = media.make_dnxhd_mxf(media_dir).read_bytes()
    half = tmp_path / "half.mxf"
    half.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(MediaRejected) as err:
        probe_file(half, timeout_seconds=30)
    assert err.value.code == "truncated"


def test_percent_in_a_name_is_not_a_frame_pattern(media_dir, tmp_path):
    odd = tmp_path / "shot_%03d.png"
    shutil.copy(media.make_png(media_dir), odd)
    assert probe_file(odd, timeout_seconds=30).kind == "image"


def test_timeout_kills_ffprobe(media_dir):
    with pytest.raises(MediaRejected) as err:
        probe_file(media.make_h264_2398(media_dir), timeout_seconds=0.001)
    assert err.value.code == "probe_timeout"


def test_failure_logs_argv_and_stderr(media_dir, caplog):
    path = media.make_truncated_mp4(media_dir)
    with caplog.at_level(logging.WARNING, logger="services.ingest.probe"):
        with pytest.raises(MediaRejected):
            probe_file(path, timeout_seconds=30)
    assert "-format_whitelist" in caplog.text and "moov atom not found" in caplog.text


def test_argv_is_locked_down(tmp_path):
    argv = ffprobe_argv(tmp_path / "-x.mov")
    assert argv[argv.index("-protocol_whitelist") + 1] == "file"
    assert "hls" not in argv[argv.index("-format_whitelist") + 1].split(",")
    assert argv[-1] == f"file:{tmp_path}/-x.mov"


@pytest.mark.parametrize("name,source", [("h264_2398", "index"), ("prores", "index"), ("vfr", "index"),
                                         ("dnxhd_mxf", "counted"), ("large_avi", "counted")])
def test_frames_come_from_the_index_only_where_it_is_exact(media_dir, name, source):
    assert facts_of(media_dir, name).frames_source == source


def test_index_probe_reads_only_the_header_and_the_last_second(media_dir, monkeypatch):
    runs = []
    real = probe._run
    monkeypatch.setattr(probe, "_run", lambda argv, timeout: runs.append(argv) or real(argv, timeout))
    facts_of(media_dir, "h264_2398")
    full_reads = [a for a in runs if "-count_packets" in a and "-read_intervals" not in a]
    assert full_reads == [] and any("-read_intervals" in a for a in runs), runs


def test_a_faststart_mp4_cut_short_is_truncated(media_dir, tmp_path):
    # faststart: the index is up front, so the header alone looks whole.
    faststart = tmp_path / "faststart.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(media.make_h264_2398(media_dir)), "-c", "copy",
                    "-movflags", "+faststart", str(faststart)], check=True)
    cut = tmp_path / "cut.mp4"
    data = faststart.read_bytes()
    cut.write_bytes(data[: len(data) * 2 // 3])
    with pytest.raises(MediaRejected) as err:
        probe_file(cut, timeout_seconds=30)
    assert err.value.code == "truncated"


def test_url_probe_allows_only_http_protocols():
    argv = probe.probe_argv("http://store/m.mov?X-Amz-Signature=s", probe.URL_PROTOCOLS, probe.HEADER)
    assert argv[argv.index("-protocol_whitelist") + 1] == "http,https,tcp,tls"
    assert "-count_packets" not in argv


class FlakyStore:
    """The flaky store (tests/integration/flaky_store.py) in its own process."""

    def __init__(self, path, workdir):
        self.deadline_file = workdir / "failing-until"
        self.deadline_file.write_text("0")
        port_file = workdir / "port"
        self.process = subprocess.Popen([sys.executable, "-m", "tests.integration.flaky_store", str(path),
                                         str(self.deadline_file), str(port_file)], cwd=REPO)
        deadline = time.monotonic() + 30
        while not (port_file.exists() and port_file.read_text()):
            assert self.process.poll() is None and time.monotonic() < deadline, "the flaky store did not start"
            time.sleep(0.05)
        self.url = f"http://127.0.0.1:{port_file.read_text()}/m.mp4"

    def fail_for(self, seconds: float) -> None:
        """Cut every read short for the next `seconds`."""
        self.deadline_file.write_text(str(time.time() + seconds))

    def close(self):
        self.process.kill()
        self.process.wait()


def test_a_store_that_cuts_a_read_short_is_not_taken_for_a_truncated_file(media_dir, tmp_path):
    """The chaos run found it: the S3 gateway killed mid-probe made a good master
    read as truncated, and the upload was discarded. A bad verdict must hold on a
    second read; when it does not, the store is blamed and the master kept."""
    clip = media.make_h264_2398(media_dir)
    store = FlakyStore(clip, tmp_path)
    try:
        head = clip.read_bytes()[:512]
        store.fail_for(3600)
        with pytest.raises(MediaRejected) as err:
            probe.probe_url(store.url, clip.stat().st_size, head, 30, confirm_pause_seconds=0.1)
        assert err.value.code == "truncated"  # cut short both times: the verdict stands

        store.fail_for(0.5)  # then the store comes back, before the confirming read
        facts = probe.probe_url(store.url, clip.stat().st_size, head, 30, confirm_pause_seconds=1.5)
        assert facts.frames == 48 and facts.kind == "video"
    finally:
        store.close()


def test_network_errors_from_ffprobe_blame_the_store_not_the_file():
    refused = probe._failure("[tcp @ 0x55] Connection to tcp://127.0.0.1:9 failed: Connection refused\n"
                             "http://127.0.0.1:9/m.mov: Connection refused")
    assert refused.code == "store_unavailable" and "kept" in refused.message
    assert probe._failure("[http @ 0x1] HTTP error 503 Server returned 5XX Server Error reply").code == "store_unavailable"
    assert probe._failure("[mov,mp4 @ 0x1] moov atom not found").code == "truncated"
