"""The wire form of every event is pinned by a golden JSON file."""
import json
from pathlib import Path

import pytest

from services.common import events

GOLDEN = Path(__file__).parent / "golden"

SAMPLES = {
    "version_uploaded": events.VersionUploaded(
        event_id="5f0c6a3e2b1d4c8e9a7b6c5d4e3f2a1b",
        occurred_at="2026-11-26T12:00:00.000Z",
        project_id="p1",
        asset_id="a1",
        version_id="v1",
        version_number=3,
        master_bucket="framegate-masters",
        master_key="p1/a1/u1/hero_v1.mov",
        sha256="0" * 64,
        size=1234,
        media_kind="video",
        uploaded_by="u1",
        facts={"kind": "video", "fps": "24000/1001", "frames": 1440, "start_timecode": "01:00:00:00"},
    ),
    "transcode_progress": events.TranscodeProgress(
        event_id="6a1b", occurred_at="2026-11-26T12:00:01.000Z", project_id="p1", asset_id="a1",
        version_id="v1", percent=42.5, stage="encoding",
    ),
    "version_playable": events.VersionPlayable(
        event_id="6a1c", occurred_at="2026-11-26T12:00:02.000Z", project_id="p1", asset_id="a1",
        version_id="v1", master_playlist="p1/v1/hls/master.m3u8",
    ),
    "version_ready": events.VersionReady(
        event_id="6a1d", occurred_at="2026-11-26T12:00:03.000Z", project_id="p1", asset_id="a1",
        version_id="v1", renditions={"master_playlist": "p1/v1/hls/master.m3u8", "frames": 1440},
        notes=["variable frame rate converted to 24000/1001"],
    ),
    "version_failed": events.VersionFailed(
        event_id="6a1e", occurred_at="2026-11-26T12:00:04.000Z", project_id="p1", asset_id="a1",
        version_id="v1", code="decode_error", reason="The master's video stream could not be decoded at 00:00:01.",
    ),
    "link_created": events.LinkCreated(
        event_id="7b01", occurred_at="2026-12-02T09:00:00.000Z", project_id="p1", link_id="l1", asset_id="a1",
        version_id=None, kind="client", stage="First cut", created_by="u1", expires_at="2026-12-31T18:00:00Z",
        allowed_domains=["agency.example"], comments=True, download=False, password=True,
    ),
    "link_opened": events.LinkOpened(
        event_id="7b02", occurred_at="2026-12-02T09:01:00.000Z", project_id="p1", link_id="l1", session_id="s1",
        asset_id="a1", version_id="v3", kind="client", reviewer_name="Ann Lee", reviewer_email="ann@agency.example",
    ),
    "link_revoked": events.LinkRevoked(
        event_id="7b03", occurred_at="2026-12-02T10:00:00.000Z", project_id="p1", link_id="l1", asset_id="a1",
        revoked_by="u1",
    ),
    "note_added": events.NoteAdded(
        event_id="7b04", occurred_at="2026-12-02T09:02:00.000Z", project_id="p1", note_id="n1", asset_id="a1",
        version_id="v3", frame=1800, to_frame=1829, timecode="01:01:00;02", text="Logo too small @ed",
        visibility="client", author_name="Ann Lee", author_email="ann@agency.example", link_id="l1",
        mentions=["u2"], has_drawing=True,
    ),
    "note_replied": events.NoteReplied(
        event_id="7b05", occurred_at="2026-12-02T09:03:00.000Z", project_id="p1", note_id="n2",
        parent_note_id="n1", asset_id="a1", version_id="v3", text="Fixed in v4", visibility="client",
        author_name="Ed", author_email="ed@studio.example", author_user_id="u2",
    ),
    "note_status_changed": events.NoteStatusChanged(
        event_id="7b06", occurred_at="2026-12-02T09:04:00.000Z", project_id="p1", note_id="n1", asset_id="a1",
        version_id="v3", status="resolved", previous_status="open", visibility="client", changed_by="Ed",
    ),
    "playback_progress": events.PlaybackProgress(
        event_id="7b07", occurred_at="2026-12-02T09:05:00.000Z", project_id="p1", session_id="s1", asset_id="a1",
        version_id="v3", watched=[{"first": 0, "last": 899}, {"first": 1200, "last": 1799}], percent_watched=62.5, link_id="l1",
        viewer_email="ann@agency.example",
    ),
    "approval_recorded": events.ApprovalRecorded(
        event_id="7a1a", occurred_at="2026-11-26T13:00:00.000Z", project_id="p1", gate_id="g1",
        stage="client-rough-cut", round=2, decision_id="d1", version_id="v2", version_number=2,
        decision="changes", email="client@brand.test", reason="Logo too small in the end card.",
    ),
    "gate_closed": events.GateClosed(
        event_id="7a1b", occurred_at="2026-11-26T13:00:01.000Z", project_id="p1", gate_id="g1",
        stage="client-rough-cut", round=3, version_id="v3", version_number=3, sha256="0" * 64,
        decision_ids=["d2", "d3"],
    ),
    "stage_advanced": events.StageAdvanced(
        event_id="7a1c", occurred_at="2026-11-26T13:00:02.000Z", project_id="p1",
        from_stage="client-rough-cut", to_stage="colour-grade",
    ),
    "version_locked": events.VersionLocked(
        event_id="7a1d", occurred_at="2026-11-26T13:00:03.000Z", project_id="p1", asset_id="a1",
        version_id="v3", gate_id="g1",
    ),
    "project_created": events.ProjectCreated(
        event_id="8c01", occurred_at="2026-12-02T08:00:00.000Z", project_id="p1", name="Acme Spring",
        created_by="u1", created_by_email="pat@studio.example", created_by_name="Pat Producer",
    ),
    "version_submitted": events.VersionSubmitted(
        event_id="8c02", occurred_at="2026-12-02T11:00:00.000Z", project_id="p1", gate_id="g1",
        stage="client-rough-cut", round=1, asset_id="a1", version_id="v3", version_number=3,
        approvers=["client@brand.test", "role:owner"], rule="all", submitted_by="pat@studio.example",
    ),
    "project_archived": events.ProjectArchived(
        event_id="7a1e", occurred_at="2026-11-26T13:00:04.000Z", project_id="p1", archived_by="workflow",
        reason="final_stage_closed",
    ),
    "note_edited": events.NoteEdited(
        event_id="9b20", occurred_at="2026-12-02T19:00:00.000Z", project_id="p1", note_id="n7", asset_id="a1",
        version_id="v3", revision=2, text="Logo bigger, @ann please check", visibility="client",
        edited_by="Pat Producer", mentions=["u9"], new_mentions=["u9"],
    ),
}


def test_every_event_type_has_a_golden_sample():
    assert set(SAMPLES) == set(events.EVENT_TYPES)


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_wire_form_matches_golden(name):
    golden = json.loads((GOLDEN / f"{name}.json").read_text())
    assert SAMPLES[name].to_wire() == golden


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_wire_form_round_trips(name):
    wire = json.loads(json.dumps(SAMPLES[name].to_wire()))
    assert events.from_wire(wire) == SAMPLES[name]


def test_unknown_type_and_newer_version_are_refused():
    with pytest.raises(events.UnknownEvent):
        events.from_wire({"type": "nope", "version": 1})
    wire = SAMPLES["version_uploaded"].to_wire() | {"version": 2}
    with pytest.raises(events.UnknownEvent):
        events.from_wire(wire)


def test_deterministic_event_ids_repeat_for_the_same_write():
    assert events.event_id_for("version_uploaded", "v1") == events.event_id_for("version_uploaded", "v1")
    assert events.event_id_for("version_uploaded", "v1") != events.event_id_for("version_uploaded", "v2")
