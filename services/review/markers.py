"""Notes as timeline markers the editing tools import, with source timecode.

Pure functions, no I/O: each `to_*` takes a version's notes and its `Clock`
and returns the file's text. A marker sits at the master's start timecode
plus the note's frame; a range note lasts its frame count. The shapes follow
`FORMATS.md` (Resolve's `|C:` EDL comments, Avid locators, FCP 7 XML for
Premiere, OpenTimelineIO); OpenTimelineIO and its FCP adapter write the two
formats they write correctly, the rest is written here.
"""
from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from fractions import Fraction

import opentimelineio as otio

from services.common.timecode import frames_to_smpte, is_drop_frame_rate, nominal_fps, parse_rate, smpte_to_frames

MAX_EDL_EVENTS = 999  # CMX3600 event numbers have three digits


class ExportRefused(ValueError):
    """The notes cannot be written in this format (e.g. more markers than it holds)."""


@dataclass(frozen=True)
class Clock:
    """How a version's frame numbers read as timecode: exact rate, start label, drop-frame."""

    rate: Fraction
    drop_frame: bool = False
    start_frames: int = 0

    @classmethod
    def from_facts(cls, facts: dict) -> "Clock":
        """From ingest's MediaFacts dict (fps, drop_frame, start_timecode)."""
        rate = parse_rate(facts.get("fps") or 25)
        drop = bool(facts.get("drop_frame")) and is_drop_frame_rate(rate)
        start = facts.get("start_timecode")
        return cls(rate, drop, smpte_to_frames(start, rate, drop) if start else 0)

    def timecode(self, frame: int) -> str:
        return frames_to_smpte(frame, self.rate, self.drop_frame, self.start_frames)

    @property
    def ntsc(self) -> bool:
        return self.rate.denominator == 1001


@dataclass(frozen=True)
class MarkerNote:
    """What a marker needs from a note."""

    note_id: str
    frame: int
    text: str
    author: str = ""
    status: str = "open"  # open | resolved | out_of_scope
    to_frame: int | None = None  # last frame of a range, inclusive

    @property
    def duration(self) -> int:
        """Frames the marker spans: 1 for a point note."""
        return (self.to_frame - self.frame + 1) if self.to_frame is not None else 1


# Colour per note status, in each tool's own palette.
RESOLVE_COLOURS = {"open": "Red", "resolved": "Green", "out_of_scope": "Yellow"}
AVID_COLOURS = {"open": "red", "resolved": "green", "out_of_scope": "yellow"}
OTIO_COLOURS = {"open": otio.schema.MarkerColor.RED, "resolved": otio.schema.MarkerColor.GREEN,
                "out_of_scope": otio.schema.MarkerColor.YELLOW}


def _one_line(text: str, forbidden: str = "") -> str:
    """Notes are multi-line; marker fields are not."""
    flat = " ".join(text.split())
    for ch in forbidden:
        flat = flat.replace(ch, "/")
    return flat


def _marker_name(note: MarkerNote) -> str:
    return note.author or f"Note {note.note_id[:8]}"


def _in_order(notes: list[MarkerNote]) -> list[MarkerNote]:
    return sorted(notes, key=lambda n: (n.frame, n.note_id))


# ---------------------------------------------------------------- CSV

CSV_COLUMNS = ["note_id", "frame", "to_frame", "timecode", "to_timecode", "author", "status", "text"]


def to_csv(notes: list[MarkerNote], clock: Clock) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for n in _in_order(notes):
        writer.writerow([n.note_id, n.frame, "" if n.to_frame is None else n.to_frame, clock.timecode(n.frame),
                         "" if n.to_frame is None else clock.timecode(n.to_frame), n.author, n.status,
                         _csv_safe(n.text)])
    return out.getvalue()


def _csv_safe(text: str) -> str:
    # A cell starting with = + - @ is a formula to a spreadsheet; a quote makes it text.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


# ------------------------------------------------- DaVinci Resolve EDL

def to_resolve_edl(notes: list[MarkerNote], clock: Clock, title: str) -> str:
    """CMX3600 with one 1-frame event per marker and Resolve's `|C: |M: |D:` comment.

    Resolve keeps one marker per frame, so notes on the same frame are joined
    into one marker rather than silently dropped by the importer.
    """
    by_frame: dict[int, list[MarkerNote]] = {}
    for n in _in_order(notes):
        by_frame.setdefault(n.frame, []).append(n)
    if len(by_frame) > MAX_EDL_EVENTS:
        raise ExportRefused(f"an EDL holds {MAX_EDL_EVENTS} markers; these notes need {len(by_frame)}. "
                            "Export fewer (e.g. only open notes) or use another format.")
    lines = [f"TITLE: {_one_line(title)[:70]}", f"FCM: {'DROP FRAME' if clock.drop_frame else 'NON-DROP FRAME'}", ""]
    for number, (frame, group) in enumerate(sorted(by_frame.items()), start=1):
        first = group[0]
        tc_in, tc_out = clock.timecode(frame), clock.timecode(frame + 1)
        lines.append(f"{number:03d}  001      V     C        {tc_in} {tc_out} {tc_in} {tc_out}  ")
        text = " / ".join(_one_line(n.text, "|") for n in group)
        colour = RESOLVE_COLOURS.get(first.status, "Red")
        name = _one_line(", ".join(dict.fromkeys(_marker_name(n) for n in group)), "|")
        lines.append(f"{text} |C:ResolveColor{colour} |M:{name} |D:{max(n.duration for n in group)}")
        lines.append("")
    return "\n".join(lines)


# --------------------------------------------------- Avid locators

def to_avid_locators(notes: list[MarkerNote], clock: Clock, track: str = "V1") -> str:
    """Media Composer's locator import: `user⇥timecode⇥track⇥colour⇥comment⇥duration` a line."""
    rows = []
    for n in _in_order(notes):
        rows.append("\t".join([_one_line(_marker_name(n), "\t"), clock.timecode(n.frame), track,
                               AVID_COLOURS.get(n.status, "red"), _one_line(n.text, "\t"), str(n.duration)]))
    return "\n".join(rows) + "\n"


# ------------------------------------------------------ OpenTimelineIO

def to_timeline(notes: list[MarkerNote], clock: Clock, title: str, frames: int, media_name: str) -> otio.schema.Timeline:
    """One clip (the version's master at its source timecode) with a marker per note."""
    rate = float(clock.rate)
    tc_meta = {"timecode": {"displayformat": "DF" if clock.drop_frame else "NDF",
                            "rate": {"timebase": str(nominal_fps(clock.rate)), "ntsc": "TRUE" if clock.ntsc else "FALSE"}}}
    timeline = otio.schema.Timeline(name=title, metadata={"fcp_xml": tc_meta})
    timeline.global_start_time = otio.opentime.RationalTime(clock.start_frames, rate)
    available = otio.opentime.TimeRange(otio.opentime.RationalTime(clock.start_frames, rate),
                                        otio.opentime.RationalTime(max(frames, 1), rate))
    reference = otio.schema.ExternalReference(target_url=media_name, available_range=available)
    track = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    track.append(otio.schema.Clip(name=media_name, media_reference=reference, source_range=available))
    timeline.tracks.append(track)
    for n in _in_order(notes):
        marked = otio.opentime.TimeRange(otio.opentime.RationalTime(n.frame, rate),
                                         otio.opentime.RationalTime(n.duration if n.to_frame is not None else 0, rate))
        timeline.tracks.markers.append(otio.schema.Marker(
            name=_marker_name(n), marked_range=marked, color=OTIO_COLOURS.get(n.status, otio.schema.MarkerColor.RED),
            metadata={"framegate": {"note_id": n.note_id, "author": n.author, "status": n.status, "text": n.text,
                                    "timecode": clock.timecode(n.frame)},
                      "fcp_xml": {"comment": n.text}}))
    return timeline


def to_otio(notes: list[MarkerNote], clock: Clock, title: str, frames: int, media_name: str) -> str:
    return otio.adapters.write_to_string(to_timeline(notes, clock, title, frames, media_name), "otio_json")


def to_fcp7_xml(notes: list[MarkerNote], clock: Clock, title: str, frames: int, media_name: str) -> str:
    """FCP 7 XML (xmeml), Premiere Pro's marker import: sequence markers with comments.

    The adapter writes `<in>`/`<out>` frames at the sequence timebase; a point
    marker gets `<out>-1</out>`, the form Premiere reads as a point.
    """
    xml = otio.adapters.write_to_string(to_timeline(notes, clock, title, frames, media_name), "fcp_xml")
    root = ET.fromstring(xml)
    points = {n.note_id for n in notes if n.to_frame is None}
    ordered = _in_order(notes)
    for marker, note in zip(root.iter("marker"), ordered):
        if note.note_id in points:
            marker.find("out").text = "-1"
    return '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE xmeml>\n' + ET.tostring(root, encoding="unicode")


FORMATS = {"csv": "text/csv", "edl": "text/plain", "avid": "text/plain", "fcp7": "application/xml",
           "otio": "application/json"}
