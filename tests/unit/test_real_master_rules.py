"""Rules for real masters, pure: scan decision, pixel shape, the stereo pair, stills."""
from fractions import Fraction

import pytest

from services.transcode.audio_mix import stereo_mix
from services.transcode.ffmpeg_args import plan_transcode
from services.transcode.job import Source
from services.transcode.scan import FieldCounts, decide_scan, needs_detection, parse_idet


def video(**kw):
    base = dict(kind="video", width=1920, height=1080, fps=Fraction(25), frames=250, duration=10.0,
                has_audio=True)
    return Source(**{**base, **kw})


def facts(**kw):
    return {"kind": "video", "width": 1920, "height": 1080, "fps": "25/1", "frames": 25,
            "duration": 1.0, **kw}


def graph(plan):
    return plan.argv[plan.argv.index("-filter_complex") + 1]


# --- scan ---------------------------------------------------------------------

@pytest.mark.parametrize("order,interlaced,parity", [
    ("tt", True, "tff"), ("bb", True, "bff"), ("tb", True, None), ("bt", True, None),
    ("progressive", False, None), (None, False, None)])
def test_field_order_from_the_facts(order, interlaced, parity):
    source = Source.from_facts(facts(field_order=order))
    assert (source.interlaced, source.field_parity) == (interlaced, parity)


def test_only_unclear_scans_are_looked_at():
    assert not needs_detection(video(field_order="progressive"))
    assert not needs_detection(video(field_order="tt", interlaced=True, field_parity="tff"))
    assert needs_detection(video(field_order=None))
    assert needs_detection(video(field_order="bt", interlaced=True))
    assert not needs_detection(Source(kind="image", width=10, height=10))


def test_idet_decides_untagged_masters():
    combed = decide_scan(video(), FieldCounts(tff=2, bff=20, progressive=1, undetermined=2))
    assert (combed.interlaced, combed.field_parity, combed.scan_detected) == (True, "bff", True)
    clean = decide_scan(video(), FieldCounts(tff=1, bff=0, progressive=200, undetermined=40))
    assert not clean.interlaced
    still = decide_scan(video(), FieldCounts(undetermined=250))  # a static picture says nothing
    assert not still.interlaced
    assert decide_scan(video(), None) == video()


def test_idet_names_the_parity_of_a_tb_or_bt_stream():
    dv = decide_scan(video(field_order="bt", interlaced=True), FieldCounts(bff=30))
    assert (dv.interlaced, dv.field_parity, dv.scan_detected) == (True, "bff", False)
    unsure = decide_scan(video(field_order="bt", interlaced=True), FieldCounts(progressive=30))
    assert (unsure.interlaced, unsure.field_parity) == (True, None)  # each frame's flag decides


def test_parse_idet_takes_the_last_multi_frame_summary():
    log = ("[Parsed_idet_0 @ 0x1] Single frame detection: TFF:     9 BFF:     0 Progressive:     1 Undetermined:     0\n"
           "[Parsed_idet_0 @ 0x1] Multi frame detection: TFF:    10 BFF:     0 Progressive:     0 Undetermined:     0\n")
    assert parse_idet(log) == FieldCounts(tff=10)
    assert parse_idet("nothing") is None


def test_interlaced_master_is_deinterlaced_first_one_frame_per_frame():
    plan = plan_transcode(video(interlaced=True, field_parity="tff", field_order="tt"), "/m/i.mov")
    assert graph(plan).startswith("[0:v]bwdif=mode=send_frame:parity=tff:deint=all,split=")
    assert any("top field first" in n and "as the master says" in n for n in plan.notes)
    assert "-r" not in plan.argv and "fps=" not in graph(plan)
    assert "bwdif" not in graph(plan_transcode(video(field_order="progressive"), "/m/p.mov"))


# --- pixel shape --------------------------------------------------------------

@pytest.mark.parametrize("coded,sar,shown", [
    ((1440, 1080), "4:3", (1920, 1080)), ((720, 480), "10:11", (655, 480)),
    ((720, 576), "64:45", (1024, 576)), ((1920, 1080), None, (1920, 1080)),
    ((1920, 1080), "0:1", (1920, 1080))])
def test_display_size_uses_the_pixel_shape(coded, sar, shown):
    source = Source.from_facts(facts(width=coded[0], height=coded[1], sample_aspect_ratio=sar))
    assert source.display_size == shown


def test_anamorphic_rungs_are_square_pixels_at_the_display_aspect():
    plan = plan_transcode(video(width=1440, sample_aspect_ratio=Fraction(4, 3)), "/m/hdv.m2t")
    assert [(r.width, r.height) for r in plan.ladder.rungs] == [(1920, 1080), (1280, 720), (640, 360)]
    assert "scale=1920:1080" in graph(plan) and "setsar=1" in graph(plan)
    assert any("1440x1080 at a 4:3 pixel aspect ratio" in n for n in plan.notes)


def test_rotated_anamorphic_turns_the_widened_picture():
    source = Source.from_facts(facts(width=1440, height=1080, sample_aspect_ratio="4:3", rotation=90))
    assert source.display_size == (1080, 1920)


# --- the stereo pair -----------------------------------------------------------

def mono(name=None, layout=None):
    return {"channels": 1, "layout": layout, "name": name}


def test_one_stream_is_used_as_it_is():
    mix = stereo_mix(video(audio_channels=2), 48000)
    assert mix.graph == ["[0:a:0]aresample=48000,aformat=sample_fmts=fltp:channel_layouts=stereo[amix]"]
    assert mix.note is None


def test_five_one_is_downmixed_with_a_note():
    mix = stereo_mix(video(audio_channels=6), 48000)
    assert "pan=stereo|c0=c0+0.707*c2+0.707*c4|c1=c1+0.707*c2+0.707*c5" in mix.graph[0]
    assert mix.note.startswith("5.1 sound was downmixed to stereo")


def test_the_first_two_of_several_mono_tracks_are_left_and_right():
    mix = stereo_mix(video(audio_channels=1, audio_tracks=tuple(mono() for _ in range(8))), 48000)
    assert mix.graph[0].startswith("[0:a:0]") and mix.graph[1].startswith("[0:a:1]")
    assert "join=inputs=2:channel_layout=stereo:map=0.0-FL|1.0-FR" in mix.graph[2]
    assert mix.note == ("The master has 8 mono audio tracks; the stereo pair is the first two: "
                        "track 1 on the left, track 2 on the right. Tracks 3–8 are not in the renditions.")


@pytest.mark.parametrize("tracks,left,right", [
    ((mono("Dialogue"), mono("Music"), mono("Left"), mono("Right")), 2, 3),
    ((mono("Mix R"), mono("Mix L"), mono("M&E")), 1, 0),
    ((mono("x"), mono("dialogue_right"), mono("dialogue_left")), 2, 1),
    ((mono("Lights"), mono("Rain"), mono("Rt")), 0, 1),  # words that only start with L or R
    ((mono(), mono(), mono(layout="FL"), mono(layout="FR")), 2, 3),
    ((mono("Left"), mono("Music")), 0, 1),  # only one side named: the usual rule
])
def test_tracks_named_left_and_right_win(tracks, left, right):
    mix = stereo_mix(video(audio_channels=1, audio_tracks=tracks), 48000)
    assert mix.graph[0].startswith(f"[0:a:{left}]") and mix.graph[1].startswith(f"[0:a:{right}]")


def test_a_stereo_first_track_is_used_and_the_others_are_named():
    tracks = ({"channels": 2, "layout": "stereo", "name": None}, mono(), mono())
    mix = stereo_mix(video(audio_channels=2, audio_tracks=tracks), 48000)
    assert mix.graph[0].startswith("[0:a:0]aresample")
    assert "renditions carry track 1 only (tracks 2 and 3 are not in them)" in mix.note


def test_the_waveform_is_drawn_from_the_stereo_pair():
    plan = plan_transcode(video(audio_channels=1, audio_tracks=(mono(), mono("Left"), mono("Right"))),
                          "/m/m.mxf")
    g = graph(plan)
    assert "[amix]asplit=2[aenc][apeak]" in g and g.count("[0:a:") == 2


# --- stills --------------------------------------------------------------------

def test_exr_is_tone_mapped_and_jpeg_keeps_its_own_range():
    exr = plan_transcode(Source(kind="image", video_codec="exr", width=64, height=32), "/m/a.exr")
    assert "tonemap=tonemap=mobius" in graph(exr) and "transfer=iec61966-2-1" in graph(exr)
    assert any("OpenEXR" in n for n in exr.notes)
    jpeg = plan_transcode(Source(kind="image", video_codec="mjpeg", width=64, height=32), "/m/a.jpg")
    assert "tonemap" not in graph(jpeg) and "in_range" not in graph(jpeg) and jpeg.notes == ()


def test_one_mono_track_beside_a_stereo_one_is_not_a_pair():
    tracks = (mono(), {"channels": 2, "layout": "stereo", "name": None})
    mix = stereo_mix(video(audio_channels=1, audio_tracks=tracks), 48000)
    assert len(mix.graph) == 1 and mix.graph[0].startswith("[0:a:0]aresample")
    assert "track 1 only" in mix.note
