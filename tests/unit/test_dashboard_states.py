"""The dashboard's view of a production, derived from event sequences alone."""
import random

import pytest

from services.common import events as ev
from services.dashboard.production import (CONSUMED, BadQuery, board_row, fold, needed_approvals,
                                           select_rows)

P = "p1"


class Clock:
    """Events a minute apart, in the order a test writes them."""

    def __init__(self):
        self.minute = 0

    def at(self) -> str:
        self.minute += 1
        return f"2026-12-02T{9 + self.minute // 60:02d}:{self.minute % 60:02d}:00.000Z"


@pytest.fixture
def story():
    clock = Clock()
    made = []

    def add(cls, **fields):
        made.append(cls(project_id=P, occurred_at=clock.at(), **fields).to_wire())
        return made

    add.events = made
    return add


def created(add):
    add(ev.ProjectCreated, name="Acme Spring", created_by="u1", created_by_email="pat@studio.example")


def uploaded(add, number=1, version_id=None):
    vid = version_id or f"v{number}"
    add(ev.VersionUploaded, asset_id="a1", version_id=vid, version_number=number, master_bucket="m",
        master_key="k", sha256="0" * 64, size=1, media_kind="video", uploaded_by="u1")
    add(ev.VersionReady, asset_id="a1", version_id=vid, renditions={})


def client_link(add, link_id="l1", version_id="v1"):
    add(ev.LinkCreated, link_id=link_id, asset_id="a1", version_id=version_id, kind="client", stage="First cut",
        created_by="u1")


def opened(add, link_id="l1", session="s1", email="ann@agency.example"):
    add(ev.LinkOpened, link_id=link_id, session_id=session, asset_id="a1", version_id="v1", kind="client",
        reviewer_name="Ann", reviewer_email=email)


def client_note(add, note_id="n1", link_id="l1", version_id="v1"):
    add(ev.NoteAdded, note_id=note_id, asset_id="a1", version_id=version_id, frame=10, to_frame=None,
        timecode="01:00:00:10", text="Logo bigger", visibility="client", author_name="Ann",
        author_email="ann@agency.example", link_id=link_id)


def submitted(add, version=2, approvers=("client@brand.test", "ed@studio.example"), rule="all", round_=1):
    add(ev.VersionSubmitted, gate_id="g1", stage="client-cut", round=round_, asset_id="a1",
        version_id=f"v{version}", version_number=version, approvers=list(approvers), rule=rule,
        submitted_by="pat@studio.example")


def decided(add, email, decision="approve", version=2, round_=1):
    add(ev.ApprovalRecorded, gate_id="g1", stage="client-cut", round=round_, decision_id=f"d-{email}-{round_}",
        version_id=f"v{version}", version_number=version, decision=decision, email=email)


def closed(add, version=2, to_stage="grade"):
    add(ev.GateClosed, gate_id="g1", stage="client-cut", round=1, version_id=f"v{version}",
        version_number=version, sha256="0" * 64)
    add(ev.StageAdvanced, from_stage="client-cut", to_stage=to_stage)


def test_a_new_production_is_in_production_with_its_name_and_producer(story):
    created(story)
    uploaded(story)
    view = fold(story.events)
    assert view["state"] == "in production"
    assert (view["name"], view["producer"]) == ("Acme Spring", "pat@studio.example")
    assert [(v["number"], v["status"]) for v in view["versions"]] == [(1, "ready")]


def test_a_client_link_puts_it_in_client_review_and_opening_counts_as_link_activity(story):
    created(story)
    uploaded(story)
    client_link(story)
    opened(story)
    opened(story, session="s2", email="bob@agency.example")
    story(ev.PlaybackProgress, session_id="s1", asset_id="a1", version_id="v1",
          watched=[{"first": 0, "last": 47}], percent_watched=62.5, link_id="l1")
    view = fold(story.events)
    assert view["state"] == "in client review"
    assert view["link_activity"] == {"out": 1, "opened": 1, "opens": 2, "percent_watched": 62.5}
    assert view["clients"] == ["agency.example"]


def test_an_internal_link_is_not_client_review(story):
    created(story)
    uploaded(story)
    story(ev.LinkCreated, link_id="l9", asset_id="a1", version_id="v1", kind="internal", stage="", created_by="u1")
    assert fold(story.events)["state"] == "in production"


def test_reviewer_notes_make_notes_received_and_team_notes_do_not(story):
    created(story)
    uploaded(story)
    story(ev.NoteAdded, note_id="n0", asset_id="a1", version_id="v1", frame=1, to_frame=None, timecode="",
          text="internal", visibility="internal", author_name="Ed", author_email="ed@studio.example",
          author_user_id="u2")
    assert fold(story.events)["state"] == "in production"
    client_link(story)
    client_note(story, "n1")
    client_note(story, "n2")
    view = fold(story.events)
    assert view["state"] == "notes received"
    assert view["open_notes"] == 3


def test_resolving_a_note_moves_to_revision_and_lowers_open_notes(story):
    created(story)
    uploaded(story)
    client_link(story)
    client_note(story, "n1")
    client_note(story, "n2")
    story(ev.NoteStatusChanged, note_id="n1", asset_id="a1", version_id="v1", status="resolved",
          previous_status="open", visibility="client", changed_by="Ed")
    view = fold(story.events)
    assert (view["state"], view["open_notes"]) == ("in revision", 1)


def test_a_team_reply_moves_to_revision_but_a_reviewer_reply_does_not(story):
    created(story)
    uploaded(story)
    client_link(story)
    client_note(story, "n1")
    story(ev.NoteReplied, note_id="r1", parent_note_id="n1", asset_id="a1", version_id="v1", text="?",
          visibility="client", author_name="Ann", author_email="ann@agency.example", link_id="l1")
    assert fold(story.events)["state"] == "notes received"
    story(ev.NoteReplied, note_id="r2", parent_note_id="n1", asset_id="a1", version_id="v1", text="on it",
          visibility="client", author_name="Ed", author_email="ed@studio.example", author_user_id="u2")
    view = fold(story.events)
    assert view["state"] == "in revision"
    assert view["open_notes"] == 1  # replies are not notes of their own


def test_a_new_version_after_feedback_is_revision_until_it_goes_out_again(story):
    created(story)
    uploaded(story)
    client_link(story)
    client_note(story)
    uploaded(story, 2)
    assert fold(story.events)["state"] == "in revision"
    client_link(story, "l2", "v2")
    view = fold(story.events)
    assert view["state"] == "in client review"
    assert view["revisions"] and len(view["versions"]) == 2


def test_submission_awaits_approval_names_pending_approvers_and_holds_against_notes(story):
    created(story)
    uploaded(story)
    uploaded(story, 2)
    submitted(story)
    client_link(story, "l2", "v2")
    client_note(story, "n5", "l2", "v2")  # notes while the gate is open do not move it off approval
    decided(story, "client@brand.test")
    view = fold(story.events)
    assert view["state"] == "awaiting approval"
    assert view["stage"] == "client-cut"
    assert view["pending_approvers"] == ["ed@studio.example"]


def test_changes_requested_ends_the_round_and_means_revision(story):
    created(story)
    uploaded(story)
    uploaded(story, 2)
    submitted(story)
    decided(story, "client@brand.test", "changes")
    view = fold(story.events)
    assert view["state"] == "in revision"
    assert view["pending_approvers"] == []
    assert view["changes_requested"]


def test_a_closed_gate_is_approved_and_the_timeline_shows_stage_and_gate(story):
    created(story)
    uploaded(story)
    uploaded(story, 2)
    submitted(story)
    decided(story, "client@brand.test")
    decided(story, "ed@studio.example")
    closed(story)
    view = fold(story.events)
    assert view["state"] == "approved"
    assert view["stage"] == "grade"
    assert [s["name"] for s in view["stages"]] == ["client-cut", "grade"]
    assert view["stages"][0]["closed_at"] and view["stages"][0]["version_number"] == 2
    kinds = [m["kind"] for m in view["timeline"]]
    assert kinds.index("submitted") < kinds.index("gate") < kinds.index("stage")


def test_the_final_gate_delivers_and_later_notes_do_not_undo_it(story):
    created(story)
    uploaded(story)
    submitted(story, 1, approvers=["client@brand.test"])
    decided(story, "client@brand.test", version=1)
    closed(story, 1, to_stage=None)
    client_link(story, "l3")
    client_note(story, "n9", "l3")
    assert fold(story.events)["state"] == "delivered"


def test_archived_wins_over_everything(story):
    created(story)
    uploaded(story)
    client_link(story)
    story.events.append({"type": "project_archived", "version": 1, "source": "approval", "project_id": P,
                         "event_id": "x", "occurred_at": "2026-12-03T00:00:00.000Z"})
    assert fold(story.events)["state"] == "archived"


def test_order_of_arrival_does_not_matter_only_when_things_happened(story):
    created(story)
    uploaded(story)
    client_link(story)
    client_note(story)
    uploaded(story, 2)
    submitted(story)
    decided(story, "client@brand.test")
    shuffled = list(story.events)
    random.Random(7).shuffle(shuffled)
    assert fold(shuffled) == fold(story.events)


def test_events_of_the_same_millisecond_apply_cause_before_effect():
    at = "2026-12-02T09:00:00.000Z"
    same = [cls(project_id=P, occurred_at=at, event_id=f"{9 - i}", **fields).to_wire() for i, (cls, fields) in
            enumerate([(ev.LinkCreated, dict(link_id="l1", asset_id="a1", version_id="v1", kind="client", stage="",
                                             created_by="u1")),
                       (ev.NoteAdded, dict(note_id="n1", asset_id="a1", version_id="v1", frame=1, to_frame=None,
                                           timecode="", text="x", visibility="client", author_name="Ann",
                                           author_email="ann@agency.example", link_id="l1"))])]
    view = fold(reversed(same))
    assert (view["state"], view["links"][0]["notes"]) == ("notes received", 1)


def test_any_and_n_of_m_rules_count_what_is_needed():
    assert needed_approvals(["a", "b", "c"], "any") == 1
    assert needed_approvals(["a", "b", "c"], "2") == 2
    assert needed_approvals(["a", "b"], "all") == 2
    assert needed_approvals(["a", "b"], "all paths") == 2


def test_board_rows_filter_and_sort(story):
    rows = []
    for i, (state, client, producer, at) in enumerate([
            ("in client review", ["agency.example"], "pat@studio.example", "2026-12-02T10:00:00Z"),
            ("notes received", ["brand.test"], "sam@studio.example", "2026-12-02T12:00:00Z"),
            ("archived", [], "pat@studio.example", "2026-12-02T13:00:00Z")]):
        rows.append({"project_id": f"p{i}", "name": f"Film {i}", "stage": "", "state": state, "open_notes": i,
                     "pending_approvers": [], "last_activity": at, "clients": client, "producer": producer})
    assert [r["project_id"] for r in select_rows(rows)] == ["p1", "p0"]  # newest first, archived hidden
    assert [r["project_id"] for r in select_rows(rows, sort="name")] == ["p0", "p1"]
    assert [r["project_id"] for r in select_rows(rows, producer="pat")] == ["p0"]
    assert [r["project_id"] for r in select_rows(rows, client="brand")] == ["p1"]
    assert [r["project_id"] for r in select_rows(rows, state="archived")] == ["p2"]
    with pytest.raises(BadQuery) as err:
        select_rows(rows, state="lost")
    assert err.value.field == "state"
    with pytest.raises(BadQuery):
        select_rows(rows, sort="colour")


def test_board_row_has_the_cli_fields(story):
    created(story)
    uploaded(story)
    row = board_row(fold(story.events))
    for key in ("project_id", "name", "stage", "state", "open_notes", "pending_approvers", "last_activity"):
        assert key in row


def test_every_consumed_event_is_in_the_contract_with_its_source():
    for source, event_type in CONSUMED:
        assert ev.EVENT_TYPES[event_type].source == source
