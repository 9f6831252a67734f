"""The ffmpeg command, playlist text, waveform and thumbnail track: pure functions."""
from fractions import Fraction

from services.transcode import extras
from services.transcode.ffmpeg_args import colour_filters, limit_threads, plan_transcode
from services.transcode.job import Source
from services.transcode.playlists import as_vod, media_uris
from services.transcode.runner import failure_reason, percent_done


def video(**kw):
    base = dict(kind="video", width=1920, height=1080, fps=Fraction(25), frames=250, duration=10.0,
                has_audio=True)
    return Source(**{**base, **kw})


def graph(plan):
    return plan.argv[plan.argv.index("-filter_complex") + 1]


def opt(plan, name):
    return [plan.argv[i + 1] for i, a in enumerate(plan.argv) if a == name]


def test_one_command_decodes_once_and_makes_the_whole_ladder():
    plan = plan_transcode(video(), "/m/master.mov")
    assert plan.argv.count("-i") == 1 and plan.argv[0] == "ffmpeg"
    g = graph(plan)
    assert g.startswith("[0:v]split=5[s0][s1][s2][s3][s4]")  # 3 rungs, poster, sprite
    assert "scale=1920:1080" in g and "scale=1280:720" in g and "scale=640:360" in g
    assert opt(plan, "-var_stream_map") == [
        "v:0,name:1080p,agroup:audio v:1,name:720p,agroup:audio v:2,name:360p,agroup:audio "
        "a:0,agroup:audio,name:audio"]
    assert opt(plan, "-hls_segment_type") == ["fmp4"] and opt(plan, "-hls_time") == ["2"]
    assert opt(plan, "-hls_playlist_type") == ["event"]
    assert opt(plan, "-progress") == ["pipe:1"]
    assert plan.hls_names == ("1080p", "720p", "360p", "audio")


def test_frames_pass_through_and_keyframes_land_every_two_seconds():
    plan = plan_transcode(video(), "/m/master.mov")
    assert opt(plan, "-fps_mode:v") == ["passthrough"]
    assert opt(plan, "-force_key_frames:v") == ["expr:gte(t,n_forced*2)"]
    assert opt(plan, "-sc_threshold:v") == ["0"] and opt(plan, "-flags:v") == ["+cgop"]
    assert "-r" not in plan.argv and "fps=" not in graph(plan)
    assert opt(plan, "-level:v:0") == ["4.0"] and opt(plan, "-level:v:2") == ["3.0"]


def test_output_is_tagged_bt709_and_aac_stereo_48k():
    plan = plan_transcode(video(), "/m/master.mov")
    assert opt(plan, "-colorspace:v") == ["bt709"] and opt(plan, "-color_trc:v") == ["bt709"]
    assert opt(plan, "-color_primaries:v") == ["bt709"]
    assert opt(plan, "-c:a") == ["aac"] and opt(plan, "-ac") == ["2"] and opt(plan, "-ar") == ["48000"]


def test_untagged_and_bt709_sources_are_not_converted():
    assert colour_filters(video()) == ([], None)
    assert colour_filters(video(color_space="bt709", color_primaries="bt709",
                                color_transfer="bt709", color_range="tv")) == ([], None)


def test_bt601_source_is_converted_with_zscale():
    filters, note = colour_filters(video(color_space="smpte170m", color_primaries="smpte170m",
                                         color_transfer="smpte170m"))
    assert filters[0].startswith("zscale=matrixin=170m:primariesin=170m:transferin=601")
    assert "matrix=709:primaries=709:transfer=709:range=limited" in filters[0] and note is None


def test_hdr_is_tone_mapped_with_a_note():
    for transfer in ("smpte2084", "arib-std-b67"):
        filters, note = colour_filters(video(color_space="bt2020nc", color_primaries="bt2020",
                                             color_transfer=transfer))
        assert any(f.startswith("tonemap=") for f in filters) and "tone-mapped" in note


def test_rotation_and_vfr_filters():
    assert "[0:v]transpose=clock," in graph(plan_transcode(video(rotation=90), "/m/x.mp4"))
    assert "[0:v]transpose=cclock," in graph(plan_transcode(video(rotation=270), "/m/x.mp4"))
    plan = plan_transcode(video(variable_frame_rate=True, fps=Fraction(24000, 1001)), "/m/x.mp4")
    assert "settb=1/24000,setpts=N*1001" in graph(plan) and "retimed" in plan.notes[0]
    assert "-noautorotate" in plan.argv


def test_poster_and_sprite_selection_by_frame_number():
    plan = plan_transcode(video(), "/m/master.mov")
    g = graph(plan)
    assert "select=eq(n\\,25)" in g  # 10 % of 250 frames
    assert "select=not(mod(n\\,25))" in g and "tile=10x1" in g  # 1/s, up to 10 a row
    assert plan.thumbnails.count == 10 and (plan.thumbnails.width, plan.thumbnails.height) == (160, 90)


def test_audio_only_and_image_plans():
    audio = plan_transcode(Source(kind="audio", duration=3.0, has_audio=True), "/m/a.wav")
    assert "[0:v]" not in graph(audio) and audio.hls_names == ("audio",) and audio.peaks
    image = plan_transcode(Source(kind="image", width=4000, height=3000), "/m/a.png")
    assert "-f" in image.argv and "hls" not in image.argv and image.image == "image.png"
    assert "scale=1440:1080" in graph(image)


def test_input_is_restricted_to_local_files_and_media_demuxers():
    plan = plan_transcode(video(), "/m/-odd name.mov")
    assert opt(plan, "-protocol_whitelist") == ["file"]
    assert "hls" not in opt(plan, "-format_whitelist")[0].split(",")
    assert opt(plan, "-i") == ["file:/m/-odd name.mov"]


EVENT = """#EXTM3U
#EXT-X-VERSION:7
#EXT-X-TARGETDURATION:2
#EXT-X-MEDIA-SEQUENCE:0
#EXT-X-PLAYLIST-TYPE:EVENT
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-MAP:URI="init_0.mp4"
#EXTINF:2.002000,
seg_00000.m4s
#EXTINF:1.001000,
seg_00001.m4s
"""


def test_playlist_uris_and_vod_rewrite():
    assert media_uris(EVENT) == ("init_0.mp4", ["seg_00000.m4s", "seg_00001.m4s"])
    vod = as_vod(EVENT + "#EXT-X-ENDLIST\n")
    assert "#EXT-X-PLAYLIST-TYPE:VOD" in vod and "EVENT" not in vod
    assert vod.endswith("seg_00001.m4s\n#EXT-X-ENDLIST\n") and vod.count("ENDLIST") == 1
    assert as_vod(EVENT) == vod


def test_thumbnail_track_cues_are_timed_by_frame():
    plan = plan_transcode(video(frames=60, fps=Fraction(24000, 1001), duration=2.5), "/m/x.mov")
    vtt = extras.thumbnails_vtt(plan.thumbnails, Fraction(24000, 1001), 60, "sprite_%03d.jpg")
    assert vtt.startswith("WEBVTT\n\n00:00:00.000 --> 00:00:01.001\nsprite_001.jpg#xywh=0,0,160,90")
    assert "00:00:02.002 --> 00:00:02.502\nsprite_001.jpg#xywh=320,0,160,90" in vtt


def test_waveform_from_astats_lines():
    text = ("frame:0    pts:0       pts_time:0\nlavfi.astats.Overall.Min_level=-0.5\n"
            "lavfi.astats.Overall.Max_level=0.25\nframe:1    pts:2400    pts_time:0.05\n"
            "lavfi.astats.Overall.Min_level=-1.000000\nlavfi.astats.Overall.Max_level=1.000000\n")
    wave = extras.waveform(text, 2400, 48000)
    assert wave["length"] == 2 and wave["data"] == [-64, 32, -128, 127]
    assert wave["samples_per_pixel"] == 2400 and wave["bits"] == 8


def test_progress_and_failure_reasons():
    assert percent_done(1.0, 4.0) == 25.0 and percent_done(9.0, 4.0) == 99.0
    assert percent_done(1.0, 0) == 0.0
    code, reason = failure_reason(1, "x.mov: Invalid data found when processing input")
    assert code == "master_unreadable" and "upload a new version" in reason
    assert failure_reason(1, "Error writing trailer: No space left on device")[0] == "worker_disk_full"
    assert "boom" in failure_reason(1, "first\nboom\n")[1]


def test_limit_threads_caps_the_decoder_the_encoders_and_the_filters():
    argv = ["ffmpeg", "-y", "-i", "in.mov", "-map", "0:v", "out.m3u8", "-i", "b.wav", "x.jpg"]
    assert limit_threads(argv, 1) == [
        "ffmpeg", "-filter_complex_threads", "1", "-filter_threads", "1", "-y",
        "-threads", "1", "-i", "in.mov", "-threads", "1", "-map", "0:v", "out.m3u8",
        "-threads", "1", "-i", "b.wav", "-threads", "1", "x.jpg",
    ]


def test_a_thread_cap_keeps_every_other_argument(tmp_path):
    source = Source.from_facts({"kind": "video", "width": 1920, "height": 1080, "fps": "25/1", "frames": 50,
                                "duration": 2.0, "audio_codec": "aac"})
    free = plan_transcode(source, tmp_path / "m.mov")
    capped = plan_transcode(source, tmp_path / "m.mov", threads=1)
    assert [a for a in capped.argv if a not in ("-threads", "-filter_complex_threads", "-filter_threads", "1")] == \
        [a for a in free.argv if a != "1"]
