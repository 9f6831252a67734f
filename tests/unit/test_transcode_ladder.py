"""Ladder choice and master-playlist attributes: pure rules."""
from fractions import Fraction

import pytest

from services.transcode.job import Source
from services.transcode.ladder import choose_ladder, h264_level, master_playlist, scaled_size


def video(width, height, fps="25/1", rotation=0, audio=True):
    return Source(kind="video", width=width, height=height, fps=Fraction(fps), rotation=rotation,
                  frames=50, duration=2.0, has_audio=audio)


def sizes(source):
    return [(r.name, r.width, r.height) for r in choose_ladder(source).rungs]


def test_full_hd_gets_three_rungs():
    assert sizes(video(1920, 1080)) == [("1080p", 1920, 1080), ("720p", 1280, 720), ("360p", 640, 360)]


def test_rungs_are_capped_at_the_source_and_never_upscaled():
    assert sizes(video(1280, 720)) == [("720p", 1280, 720), ("360p", 640, 360)]
    assert sizes(video(160, 90)) == [("90p", 160, 90)]
    assert sizes(video(1000, 562)) == [("562p", 1000, 562), ("360p", 640, 360)]


def test_odd_sizes_become_even_without_growing():
    assert sizes(video(161, 91)) == [("90p", 160, 90)]
    for _, w, h in sizes(video(1921, 1081)):
        assert w % 2 == 0 and h % 2 == 0 and w <= 1921 and h <= 1081


def test_rotation_makes_the_rungs_upright_and_names_them_by_the_short_side():
    assert sizes(video(1920, 1080, rotation=90)) == [
        ("1080p", 1080, 1920), ("720p", 720, 1280), ("360p", 360, 640)]
    assert sizes(video(1920, 1080, rotation=180))[0] == ("1080p", 1920, 1080)


def test_aspect_ratio_is_kept_for_scope():
    assert scaled_size(4096, 1716, 1080) == (2578, 1080)
    assert scaled_size(4096, 1716, 360) == (860, 360)


@pytest.mark.parametrize("size,fps,maxrate,level", [
    ((640, 360), "25", 829, "3.0"),
    ((1280, 720), "30000/1001", 3317, "3.1"),
    ((1920, 1080), "25", 6221, "4.0"),
    ((1920, 1080), "60000/1001", 14930, "4.2"),
    ((1080, 1920), "30", 7465, "4.0"),
    ((3840, 2160), "25", 24000, "5.1"),
])
def test_h264_level_follows_table_a1(size, fps, maxrate, level):
    assert h264_level(*size, Fraction(fps), maxrate)[0] == level


def test_codecs_bandwidth_and_frame_rate_attributes():
    ladder = choose_ladder(video(1920, 1080, fps="24000/1001"))
    top, mid, low = ladder.rungs
    assert ladder.codecs(top) == "avc1.640028,mp4a.40.2"  # High, no constraint flags, level 4.0
    assert ladder.codecs(mid) == "avc1.64001F,mp4a.40.2"  # level 3.1
    assert ladder.codecs(low) == "avc1.64001E,mp4a.40.2"  # level 3.0
    assert ladder.frame_rate_attr == "23.976"
    assert ladder.bandwidth(top) > ladder.bandwidth(mid) > ladder.bandwidth(low)
    # BANDWIDTH covers a segment at the VBV peak (maxrate + one buffer per 2 s) plus audio.
    assert ladder.bandwidth(top) >= (top.maxrate_kbps * 1.5 + 128) * 1000
    assert choose_ladder(video(320, 180, fps="30000/1001")).frame_rate_attr == "29.970"


def test_master_playlist_lists_every_rung_with_an_audio_group():
    text = master_playlist(choose_ladder(video(1280, 720)))
    assert text.startswith("#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-INDEPENDENT-SEGMENTS\n")
    assert '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio"' in text and 'URI="audio/index.m3u8"' in text
    assert ('RESOLUTION=1280x720,FRAME-RATE=25.000,AUDIO="audio"\n720p/index.m3u8\n') in text
    assert 'CODECS="avc1.64001F,mp4a.40.2"' in text and "360p/index.m3u8" in text


def test_video_without_sound_has_no_audio_codec_or_group():
    ladder = choose_ladder(video(640, 360, audio=False))
    text = master_playlist(ladder)
    assert 'CODECS="avc1.64001E"' in text and "AUDIO=" not in text and "EXT-X-MEDIA" not in text


def test_audio_only_ladder():
    ladder = choose_ladder(Source(kind="audio", duration=1.0, has_audio=True))
    text = master_playlist(ladder)
    assert ladder.rungs == ()
    assert 'CODECS="mp4a.40.2"\naudio/index.m3u8' in text and "RESOLUTION" not in text


def test_images_have_no_ladder():
    with pytest.raises(ValueError):
        choose_ladder(Source(kind="image", width=320, height=180))
