"""MediaFacts from ffprobe JSON, trimmed from real ffprobe 5.1 output."""
import pytest

from services.ingest.media_facts import (
    INPUT_FORMAT_ALLOWLIST,
    MediaFacts,
    MediaRejected,
    check_format,
    facts_from_ffprobe,
    truncation_problem,
)

MOV_FAMILY = "mov,mp4,m4a,3gp,3g2,mj2"


def video(**extra):
    stream = {"index": 0, "codec_type": "video", "codec_name": "h264", "width": 1920,
              "height": 1080, "r_frame_rate": "24000/1001", "avg_frame_rate": "24000/1001",
              "nb_frames": "48", "nb_read_packets": "48", "duration": "2.002000",
              "disposition": {"default": 1, "attached_pic": 0}}
    stream.update(extra)
    return stream


def audio(**extra):
    stream = {"index": 1, "codec_type": "audio", "codec_name": "aac", "channels": 2,
              "sample_rate": "48000", "r_frame_rate": "0/0", "avg_frame_rate": "0/0",
              "nb_frames": "95", "nb_read_packets": "95", "duration": "2.005000",
              "disposition": {"default": 1, "attached_pic": 0}}
    stream.update(extra)
    return stream


def probe(*streams, format_name=MOV_FAMILY, duration="2.006000", **tags):
    return {"streams": list(streams),
            "format": {"format_name": format_name, "duration": duration,
                       "tags": {"major_brand": "isom", **tags}}}


def test_h264_2398_mp4():
    facts = facts_from_ffprobe(probe(video(), audio()))
    assert facts == MediaFacts(
        kind="video", container="mp4", video_codec="h264", audio_codec="aac", width=1920,
        height=1080, fps="24000/1001", fps_float=23.976024, frames=48, duration=2.006,
        audio_channels=2, audio_sample_rate=48000)


def test_to_dict_has_the_api_contract_fields():
    facts = facts_from_ffprobe(probe(video())).to_dict()
    for key in ("container", "video_codec", "audio_codec", "width", "height", "fps",
                "fps_float", "drop_frame", "frames", "duration", "start_timecode",
                "audio_channels", "color_primaries", "color_transfer", "color_space",
                "color_range", "rotation", "kind", "variable_frame_rate", "audio_sample_rate"):
        assert key in facts


def test_mov_drop_frame_timecode_from_tmcd_track():
    tmcd = {"index": 1, "codec_type": "data", "codec_tag_string": "tmcd",
            "tags": {"timecode": "01:00:00;00"}}
    facts = facts_from_ffprobe(probe(
        video(r_frame_rate="30000/1001", avg_frame_rate="30000/1001", nb_frames="60",
              nb_read_packets="60"), tmcd, major_brand="qt  "))
    assert (facts.container, facts.fps, facts.start_timecode, facts.drop_frame) == \
        ("mov", "30000/1001", "01:00:00;00", True)


def test_non_drop_timecode_at_2997_is_not_drop_frame():
    facts = facts_from_ffprobe(probe(video(r_frame_rate="30000/1001", avg_frame_rate="30000/1001",
                                           tags={"timecode": "01:00:00:00"})))
    assert (facts.start_timecode, facts.drop_frame) == ("01:00:00:00", False)


def test_2997_without_timecode_defaults_to_drop_frame():
    facts = facts_from_ffprobe(probe(video(r_frame_rate="30000/1001", avg_frame_rate="30000/1001")))
    assert facts.start_timecode is None and facts.drop_frame is True


def test_mxf_timecode_is_a_format_tag_and_frames_come_from_packets():
    mxf = probe(video(codec_name="dnxhd", r_frame_rate="25/1", avg_frame_rate="25/1",
                      nb_frames=None, nb_read_packets="25", duration="1.0"),
                format_name="mxf", duration="1.000000", timecode="00:59:58:00")
    facts = facts_from_ffprobe(mxf)
    assert (facts.container, facts.frames, facts.start_timecode, facts.drop_frame) == \
        ("mxf", 25, "00:59:58:00", False)


@pytest.mark.parametrize("side_data,tags,expected", [
    ([{"side_data_type": "Display Matrix", "rotation": -90}], {}, 90),  # phone held upright
    ([{"side_data_type": "Display Matrix", "rotation": 90}], {}, 270),
    ([{"side_data_type": "Display Matrix", "rotation": 180}], {}, 180),
    ([{"side_data_type": "Display Matrix", "rotation": -180}], {}, 180),
    ([{"side_data_type": "Display Matrix", "rotation": -89.99}], {}, 90),
    (None, {"rotate": "90"}, 90),  # ffprobe before 5.0: clockwise tag
    (None, {"rotate": "-90"}, 270),
    (None, {}, 0),
])
def test_rotation_is_clockwise_and_normalised(side_data, tags, expected):
    stream = video(tags=tags)
    if side_data:
        stream["side_data_list"] = side_data
    assert facts_from_ffprobe(probe(stream)).rotation == expected


def test_colour_tags_and_unknowns():
    tagged = video(color_primaries="bt709", color_transfer="bt709", color_space="bt709",
                   color_range="tv")
    facts = facts_from_ffprobe(probe(tagged))
    assert (facts.color_primaries, facts.color_transfer, facts.color_space,
            facts.color_range) == ("bt709", "bt709", "bt709", "tv")
    unknown = facts_from_ffprobe(probe(video(color_primaries="unknown", color_space="unknown")))
    assert unknown.color_primaries is None and unknown.color_space is None


def test_vfr_when_average_rate_disagrees():
    facts = facts_from_ffprobe(probe(video(r_frame_rate="30/1", avg_frame_rate="600/29",
                                           nb_frames="40", nb_read_packets="40")))
    assert facts.variable_frame_rate is True
    assert facts.fps == "600/29" and facts.frames == 40


def test_cfr_when_rates_agree_within_rounding():
    facts = facts_from_ffprobe(probe(video(r_frame_rate="30000/1001", avg_frame_rate="2997/100")))
    assert facts.variable_frame_rate is False and facts.fps == "30000/1001"


def test_header_frame_count_larger_than_packets_is_not_trusted():
    facts = facts_from_ffprobe(probe(video(nb_frames="4800", nb_read_packets="48")))
    assert facts.frames == 48


def test_png_is_an_image_without_a_frame_rate():
    png = probe(video(codec_name="png", width=320, height=180, r_frame_rate="25/1",
                      avg_frame_rate="25/1", nb_frames=None, nb_read_packets="1",
                      duration=None), format_name="png_pipe", duration=None)
    facts = facts_from_ffprobe(png)
    assert (facts.kind, facts.container, facts.frames, facts.fps, facts.duration) == \
        ("image", "png", 1, None, 0.0)


def test_jpeg_via_image2_is_an_image():
    jpeg = probe(video(codec_name="mjpeg", nb_frames=None, nb_read_packets="1"),
                 format_name="image2")
    assert facts_from_ffprobe(jpeg).kind == "image"
    assert facts_from_ffprobe(jpeg).container == "mjpeg"


def test_one_frame_h264_is_still_video():
    assert facts_from_ffprobe(probe(video(nb_frames="1", nb_read_packets="1"))).kind == "video"


def test_wav_is_audio():
    wav = probe(audio(codec_name="pcm_s16le", nb_frames=None, nb_read_packets="47",
                      duration="1.0"), format_name="wav", duration="1.000000")
    facts = facts_from_ffprobe(wav)
    assert (facts.kind, facts.container, facts.audio_channels, facts.audio_sample_rate,
            facts.frames, facts.fps, facts.duration) == ("audio", "wav", 2, 48000, None, None, 1.0)


def test_mp3_cover_art_does_not_make_it_video():
    cover = video(codec_name="mjpeg", nb_frames="1", nb_read_packets="1",
                  disposition={"default": 0, "attached_pic": 1})
    facts = facts_from_ffprobe(probe(audio(codec_name="mp3"), cover, format_name="mp3"))
    assert facts.kind == "audio" and facts.video_codec is None


def test_no_video_or_audio_stream_is_not_media():
    data_only = probe({"index": 0, "codec_type": "data", "tags": {"timecode": "01:00:00:00"}})
    with pytest.raises(MediaRejected) as err:
        facts_from_ffprobe(data_only)
    assert err.value.code == "not_media"


@pytest.mark.parametrize("name", [MOV_FAMILY, "matroska,webm", "mxf", "avi", "mpegts", "wav",
                                  "aiff", "flac", "mp3", "ogg", "png_pipe", "jpeg_pipe",
                                  "tiff_pipe", "exr_pipe", "image2"])
def test_allowed_formats(name):
    check_format(name)


@pytest.mark.parametrize("name,code", [
    ("hls", "remote_reference"), ("concat", "remote_reference"), ("dash", "remote_reference"),
    ("imf", "remote_reference"), ("m3u8_custom", "remote_reference"),
    ("gif", "unsupported_format"), ("flv", "unsupported_format"), ("", "unsupported_format"),
    ("webp_pipe", "unsupported_format"),
])
def test_refused_formats(name, code):
    with pytest.raises(MediaRejected) as err:
        check_format(name)
    assert err.value.code == code and err.value.message


def test_allowlist_is_what_ffprobe_gets():
    assert "hls" not in INPUT_FORMAT_ALLOWLIST and "concat" not in INPUT_FORMAT_ALLOWLIST


def test_complete_files_are_not_truncated():
    assert truncation_problem(probe(video(), audio())) is None
    pcm_in_mov = audio(codec_name="pcm_s16le", nb_frames="48128", nb_read_packets="47")
    assert truncation_problem(probe(video(), pcm_in_mov)) is None
    vfr = video(r_frame_rate="60/1", avg_frame_rate="600/29", nb_frames="40",
                nb_read_packets="40", duration="1.93")
    assert truncation_problem(probe(vfr, duration="1.93")) is None


@pytest.mark.parametrize("stream,fmt_duration", [
    (video(nb_frames="48", nb_read_packets="22"), "2.0"),        # faststart MP4 cut in half
    (video(nb_frames=None, nb_read_packets="13", r_frame_rate="25/1", avg_frame_rate="25/1",
           duration="1.0"), "1.0"),                                # MXF cut in half
    (video(nb_frames=None, nb_read_packets="22", duration=None), "2.026"),  # Matroska
    (video(nb_read_packets="0"), "2.0"),
])
def test_cut_short_files_are_truncated(stream, fmt_duration):
    assert truncation_problem(probe(stream, duration=fmt_duration))


def test_frames_from_index_only_for_mov_family_with_every_count():
    from services.ingest.media_facts import frames_from_index
    mov = {"format": {"format_name": "mov,mp4,m4a,3gp,3g2,mj2"},
           "streams": [{"codec_type": "video", "nb_frames": "48"}, {"codec_type": "audio", "nb_frames": "95"}]}
    assert frames_from_index(mov) is True
    assert frames_from_index({**mov, "streams": [{"codec_type": "video"}]}) is False
    assert frames_from_index({**mov, "format": {"format_name": "matroska,webm"}}) is False
    assert frames_from_index({"format": {"format_name": "mxf"}, "streams": [{"codec_type": "video"}]}) is False


def test_tail_problem_names_the_stream_with_no_packets_at_the_end():
    from services.ingest.media_facts import tail_problem
    whole = {"streams": [{"codec_type": "video", "nb_read_packets": "3"}, {"codec_type": "audio", "nb_read_packets": "5"}]}
    assert tail_problem(whole) is None
    cut = {"streams": [{"codec_type": "video", "nb_read_packets": "0"}]}
    assert "video" in tail_problem(cut)


def test_interlaced_field_order_and_non_square_pixels():
    facts = facts_from_ffprobe(probe(video(width=1440, field_order="tt", sample_aspect_ratio="4:3")))
    assert (facts.field_order, facts.sample_aspect_ratio) == ("tt", "4:3")
    plain = facts_from_ffprobe(probe(video(field_order="unknown", sample_aspect_ratio="1:1")))
    assert (plain.field_order, plain.sample_aspect_ratio) == (None, None)
    unset = facts_from_ffprobe(probe(video(sample_aspect_ratio="0:1")))
    assert unset.sample_aspect_ratio is None


def test_several_audio_tracks_are_listed_in_order_with_their_names():
    tracks = [audio(index=i + 1, channels=1, channel_layout="unknown", tags={"handler_name": name})
              for i, name in enumerate(("SoundHandler", "Music", "Left", "Right"))]
    facts = facts_from_ffprobe(probe(video(), *tracks))
    assert facts.audio_channels == 1
    assert facts.audio_tracks == [{"channels": 1, "layout": None, "name": None},
                                  {"channels": 1, "layout": None, "name": "Music"},
                                  {"channels": 1, "layout": None, "name": "Left"},
                                  {"channels": 1, "layout": None, "name": "Right"}]
    assert facts_from_ffprobe(probe(video(), audio())).audio_tracks is None


def test_openexr_is_an_image():
    exr = {"index": 0, "codec_type": "video", "codec_name": "exr", "width": 64, "height": 32,
           "r_frame_rate": "25/1", "avg_frame_rate": "0/0", "nb_read_packets": "1"}
    facts = facts_from_ffprobe({"streams": [exr], "format": {"format_name": "exr_pipe"}})
    assert (facts.kind, facts.container, facts.video_codec) == ("image", "exr", "exr")
