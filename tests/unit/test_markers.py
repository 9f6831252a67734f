"""Notes exported as the markers editing tools import, parsed back: every
marker's timecode is its note's, on drop-frame and non-drop masters."""
from __future__ import annotations

import csv
import io
import re
import xml.etree.ElementTree as ET

import opentimelineio as otio
import pytest

from services.review.markers import (Clock, ExportRefused, MarkerNote, to_avid_locators, to_csv, to_fcp7_xml,
                                     to_otio, to_resolve_edl)

DF = Clock.from_facts({"fps": "30000/1001", "drop_frame": True, "start_timecode": "01:00:00;00"})
NDF = Clock.from_facts({"fps": "25/1", "start_timecode": "10:00:00:00"})

NOTES = [
    MarkerNote("n-late", 1800, "After the minute: label ;02, not ;00", "Client Ann", "open"),
    MarkerNote("n-range", 1799, "Logo too small |C:ResolveColorBlue\nsecond line", "Ed", "resolved", to_frame=1829),
    MarkerNote("n-first", 0, "=HYPERLINK(\"http://evil\")", "", "out_of_scope"),
]


def test_clock_reads_start_timecode_and_crosses_the_dropped_labels():
    assert DF.timecode(0) == "01:00:00;00"
    assert DF.timecode(1799) == "01:00:59;29"
    assert DF.timecode(1800) == "01:01:00;02"  # ;00 and ;01 do not exist at this minute
    assert NDF.timecode(26) == "10:00:01:01"
    assert Clock.from_facts({"fps": "24000/1001"}).timecode(24) == "00:00:01:00"


def parse_resolve_edl(text: str) -> list[dict]:
    events, lines = [], text.splitlines()
    for i, line in enumerate(lines):
        m = re.match(r"^(\d{3})\s+\S+\s+V\s+C\s+(\S+) (\S+) (\S+) (\S+)\s*$", line)
        if m:
            comment = re.match(r"^(.*) \|C:ResolveColor(\w+) \|M:(.*) \|D:(\d+)$", lines[i + 1])
            assert comment, f"no Resolve marker comment after event {m.group(1)}: {lines[i + 1]!r}"
            events.append({"number": m.group(1), "tc_in": m.group(2), "tc_out": m.group(3), "rec_in": m.group(4),
                           "text": comment.group(1), "colour": comment.group(2), "name": comment.group(3),
                           "duration": int(comment.group(4))})
    return events


@pytest.mark.parametrize("clock", [DF, NDF], ids=["29.97DF", "25"])
def test_resolve_edl_markers_sit_on_their_notes_timecode(clock):
    text = to_resolve_edl(NOTES, clock, "Hero v3")
    assert ("FCM: DROP FRAME" if clock.drop_frame else "FCM: NON-DROP FRAME") in text.splitlines()[1]
    events = parse_resolve_edl(text)
    by_frame = sorted(NOTES, key=lambda n: n.frame)
    assert [e["tc_in"] for e in events] == [clock.timecode(n.frame) for n in by_frame]
    assert [e["rec_in"] for e in events] == [e["tc_in"] for e in events]
    assert [e["tc_out"] for e in events] == [clock.timecode(n.frame + 1) for n in by_frame]
    assert [e["number"] for e in events] == ["001", "002", "003"]
    range_event = events[1]
    assert range_event["duration"] == 31 and range_event["colour"] == "Green" and range_event["name"] == "Ed"
    # A pipe or a newline in the text cannot forge another field.
    assert "|" not in range_event["text"] and "second line" in range_event["text"]


def test_resolve_edl_joins_notes_on_one_frame_and_refuses_more_than_999_markers():
    two = [MarkerNote("a", 10, "first"), MarkerNote("b", 10, "second", "Bo")]
    events = parse_resolve_edl(to_resolve_edl(two, NDF, "t"))
    assert len(events) == 1 and events[0]["text"] == "first / second"
    many = [MarkerNote(str(i), i, "x") for i in range(1000)]
    with pytest.raises(ExportRefused, match="999"):
        to_resolve_edl(many, NDF, "t")


def test_resolve_edl_is_a_cmx3600_file_opentimelineio_reads():
    timeline = otio.adapters.read_from_string(to_resolve_edl(NOTES, NDF, "Hero v3"), "cmx_3600", rate=25)
    clips = list(timeline.find_clips())
    assert [otio.opentime.to_timecode(c.source_range.start_time, 25) for c in clips] == \
        [NDF.timecode(n.frame) for n in sorted(NOTES, key=lambda n: n.frame)]


def test_avid_locators_have_six_tab_separated_fields_at_the_notes_timecode():
    rows = [line.split("\t") for line in to_avid_locators(NOTES, DF).splitlines()]
    assert all(len(r) == 6 for r in rows)
    assert [r[1] for r in rows] == ["01:00:00;00", "01:00:59;29", "01:01:00;02"]
    assert [r[3] for r in rows] == ["yellow", "green", "red"]
    assert rows[1][5] == "31" and rows[0][2] == "V1"
    assert "\n" not in rows[1][4] and "second line" in rows[1][4]


def marker_timecodes(timeline: otio.schema.Timeline, clock: Clock) -> list[str]:
    return [otio.opentime.to_timecode(timeline.global_start_time + m.marked_range.start_time,
                                      float(clock.rate), clock.drop_frame)
            for m in timeline.tracks.markers]


@pytest.mark.parametrize("clock", [DF, NDF], ids=["29.97DF", "25"])
def test_fcp7_xml_read_back_by_opentimelineio_has_every_marker_at_its_timecode(clock):
    xml = to_fcp7_xml(NOTES, clock, "Hero v3", frames=3000, media_name="hero_v3.mov")
    timeline = otio.adapters.read_from_string(xml, "fcp_xml")
    ordered = sorted(NOTES, key=lambda n: n.frame)
    assert marker_timecodes(timeline, clock) == [clock.timecode(n.frame) for n in ordered]
    root = ET.fromstring(xml)
    sequence = root.find(".//sequence")
    assert sequence.find("rate/ntsc").text == ("TRUE" if clock.ntsc else "FALSE")
    assert sequence.find("timecode/displayformat").text == ("DF" if clock.drop_frame else "NDF")
    markers = sequence.findall("marker")
    assert [m.find("comment").text for m in markers] == [n.text for n in ordered]
    assert [m.find("out").text for m in markers] == ["-1", str(1799 + 31), "-1"]


@pytest.mark.parametrize("clock", [DF, NDF], ids=["29.97DF", "25"])
def test_otio_file_read_back_keeps_timecode_range_and_note_identity(clock):
    timeline = otio.adapters.read_from_string(to_otio(NOTES, clock, "Hero v3", 3000, "hero_v3.mov"), "otio_json")
    ordered = sorted(NOTES, key=lambda n: n.frame)
    assert marker_timecodes(timeline, clock) == [clock.timecode(n.frame) for n in ordered]
    markers = list(timeline.tracks.markers)
    assert [m.metadata["framegate"]["note_id"] for m in markers] == [n.note_id for n in ordered]
    assert markers[1].marked_range.duration.value == 31 and markers[0].marked_range.duration.value == 0
    assert [m.color for m in markers] == ["YELLOW", "GREEN", "RED"]


def test_csv_lists_notes_in_frame_order_and_defuses_formulas():
    rows = list(csv.DictReader(io.StringIO(to_csv(NOTES, DF))))
    assert [r["timecode"] for r in rows] == ["01:00:00;00", "01:00:59;29", "01:01:00;02"]
    assert rows[1]["to_timecode"] == "01:01:01;01"  # 29 frames after ;02
    assert rows[0]["text"].startswith("'=")
    assert rows[1]["text"] == NOTES[1].text  # newlines kept inside the quoted cell
