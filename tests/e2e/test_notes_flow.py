"""Team notes through the real stack: pinned to frames of a transcoded
version with drop-frame timecode, replies, edits kept as history, status
changes as events, bad notes refused with nothing stored, exports the
editing tools read, and a PDF whose stills are the noted frames."""
from __future__ import annotations

import csv
import io
import subprocess
import uuid

import opentimelineio as otio
import pytest
from PIL import Image

from services.common.outbox import outbox_collection
from services.review.stills import stills_for
from tests.browser import framecode
from tests.integration.uploading import upload, wait_for_status

RATE = "30000/1001"
START = "01:00:59;00"  # two seconds cross the minute, where ;00 and ;01 are skipped


@pytest.fixture(scope="module")
def version(admin, media_dir):
    project = admin.post("/api/v1/projects", json={"name": f"Notes {uuid.uuid4().hex[:8]}"}).json()
    clip = framecode.make_clip(media_dir / "index_df_minute.mp4", RATE, seconds=2, start_timecode=START)
    done = upload(admin, project["id"], clip, asset="Hero 60s")
    assert done.status_code in (200, 201), done.text
    return wait_for_status(admin, done.json()["id"], {"ready"}, timeout=240)


def notes_api(version_id: str) -> str:
    return f"/api/v1/review/versions/{version_id}/notes"


def outbox_count(db, **query) -> int:
    return db[outbox_collection("review")].count_documents(query)


def test_a_note_is_pinned_with_timecode_threaded_edited_and_resolved(admin, version, db):
    key = uuid.uuid4().hex
    body = {"frame": 30, "to_frame": 40, "text": "Logo <b>too small</b>\nmake it bigger",
            "drawing": [{"tool": "rect", "x": 0.1, "y": 0.2, "w": 0.3, "h": 0.4, "color": "#ff0000", "size": 6}]}
    first = admin.post(notes_api(version["id"]), json=body, headers={"Idempotency-Key": key})
    assert first.status_code == 201, first.text
    note = first.json()
    assert (note["timecode"], note["to_timecode"]) == ("01:01:00;02", "01:01:00;12")
    assert note["drawing"][0]["color"] == "#FF0000" and note["text"] == body["text"].strip()
    again = admin.post(notes_api(version["id"]), json=body, headers={"Idempotency-Key": key})
    assert again.status_code == 200 and again.json()["note_id"] == note["note_id"]

    reply = admin.post(f"/api/v1/review/notes/{note['note_id']}/replies", json={"text": "On it"})
    assert reply.status_code == 201, reply.text
    edited = admin.post(f"/api/v1/review/notes/{note['note_id']}/revisions", json={"text": "Logo too small"})
    assert edited.status_code == 201 and edited.json()["edited"]
    resolved = admin.post(f"/api/v1/review/notes/{note['note_id']}/status", json={"status": "resolved"})
    assert resolved.status_code == 201 and resolved.json()["status"] == "resolved"

    history = admin.get(f"/api/v1/review/notes/{note['note_id']}/history").json()["revisions"]
    assert [(r["number"], r["text"], r["status"]) for r in history] == [
        (1, body["text"].strip(), "open"), (2, "Logo too small", "open"), (3, "Logo too small", "resolved")]
    listed = [n for n in admin.get(notes_api(version["id"])).json()["notes"] if n["note_id"] == note["note_id"]]
    assert len(listed) == 1 and [r["text"] for r in listed[0]["replies"]] == ["On it"]
    assert outbox_count(db, routing_key="note_added", **{"body.note_id": note["note_id"]}) == 1
    assert outbox_count(db, routing_key="note_replied", **{"body.parent_note_id": note["note_id"]}) == 1
    assert outbox_count(db, routing_key="note_status_changed", **{"body.note_id": note["note_id"]}) == 1


@pytest.mark.parametrize("body, code", [
    ({"frame": 60, "text": "past the end"}, "frame_outside_version"),
    ({"frame": 40, "to_frame": 30, "text": "backwards"}, "range_backwards"),
    ({"frame": 1, "text": "   "}, "empty_note"),
    ({"frame": 1, "text": "x" * 5001}, "note_too_long"),
    ({"frame": 1, "text": "box", "drawing": [{"tool": "rect", "x": 3, "y": 0, "w": 1, "h": 1}]}, "bad_drawing"),
    ({"frame": 1, "text": "scribble", "drawing": [{"tool": "freehand", "points": [[0.5, 0.5]] * 5000}]}, "bad_drawing"),
    ({"frame": "1", "text": "string frame"}, "bad_frame"),
    ({"frame": 1, "text": "who sees it", "visibility": "everyone"}, "bad_visibility"),
])
def test_a_bad_note_is_refused_by_name_and_nothing_is_stored(admin, version, db, body, code):
    before = (db.notes.count_documents({"version_id": version["id"]}), outbox_count(db))
    response = admin.post(notes_api(version["id"]), json=body)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == code and response.json()["message"]
    assert (db.notes.count_documents({"version_id": version["id"]}), outbox_count(db)) == before


def test_an_internal_thread_stays_internal_and_unknown_ids_are_404(admin, version):
    note = admin.post(notes_api(version["id"]), json={"frame": 2, "text": "budget talk", "visibility": "internal"}).json()
    leak = admin.post(f"/api/v1/review/notes/{note['note_id']}/replies", json={"text": "x", "visibility": "client"})
    assert leak.status_code == 400 and leak.json()["error"] == "internal_thread"
    assert admin.get(notes_api("no-such-version")).status_code == 404
    assert admin.post("/api/v1/review/notes/no-such-note/replies", json={"text": "x"}).status_code == 404


def test_someone_outside_the_project_reaches_no_note(member, admin, version):
    note = admin.post(notes_api(version["id"]), json={"frame": 3, "text": "members only"}).json()
    assert member.get(notes_api(version["id"])).status_code == 404
    assert member.post(notes_api(version["id"]), json={"frame": 1, "text": "let me in"}).status_code == 404
    assert member.post(f"/api/v1/review/notes/{note['note_id']}/status", json={"status": "resolved"}).status_code == 404
    assert member.get(f"/api/v1/review/versions/{version['id']}/notes/export?format=csv").status_code == 404


def otio_marker_timecodes(text: str, adapter: str) -> list[str]:
    """The drop-frame timecodes of the markers OpenTimelineIO reads in an export, sorted."""
    read = otio.adapters.read_from_string(text, adapter)
    return sorted(otio.opentime.to_timecode(read.global_start_time + m.marked_range.start_time, 30000 / 1001, True)
                  for m in read.tracks.markers)


def test_exports_read_back_with_every_marker_at_its_notes_timecode(admin, version):
    vid = version["id"]
    for frame in (0, 29, 31):
        admin.post(notes_api(vid), json={"frame": frame, "text": f"export {frame}"})
    notes = admin.get(notes_api(vid)).json()["notes"]
    want = sorted((n["frame"], n["timecode"]) for n in notes)

    def export(fmt):
        response = admin.get(f"/api/v1/review/versions/{vid}/notes/export?format={fmt}")
        assert response.status_code == 200, response.text
        assert "attachment" in response.headers["Content-Disposition"]
        return response

    rows = list(csv.DictReader(io.StringIO(export("csv").text)))
    assert sorted((int(r["frame"]), r["timecode"]) for r in rows) == want
    for fmt, adapter in (("otio", "otio_json"), ("fcp7", "fcp_xml")):
        assert otio_marker_timecodes(export(fmt).text, adapter) == sorted(tc for _, tc in want)
    assert "FCM: DROP FRAME" in export("edl").text
    assert {line.split("\t")[1] for line in export("avid").text.splitlines()} == {tc for _, tc in want}
    pdf = export("pdf").content
    text = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
    assert "export 29" in text and "01:01:00;03" in text  # frame 31
    assert admin.get(f"/api/v1/review/versions/{vid}/notes/export?format=docx").status_code == 400


def frame_index(jpeg: bytes) -> int:
    image = Image.open(io.BytesIO(jpeg)).convert("L")
    w, h = image.size
    value = 0
    for i in range(framecode.BITS):
        value = value * 2 + (image.getpixel((int((i + 0.5) * w / framecode.BITS), h // 2)) > 128)
    return value


def test_pdf_stills_are_the_noted_frames(store, version):
    notes = [{"note_id": f"n{f}", "frame": f} for f in (0, 5, 30, 59)]
    stills = stills_for(store)(version, notes)
    assert {n: frame_index(jpeg) for n, jpeg in stills.items()} == {f"n{f}": f for f in (0, 5, 30, 59)}
