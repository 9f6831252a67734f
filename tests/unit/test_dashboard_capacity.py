"""The capacity view's numbers and charts, and the CLI's board table, from views alone."""
from datetime import datetime, timezone

from framegate.cli_dashboard import board_lines
from services.dashboard import charts
from services.dashboard.capacity import capacity

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=timezone.utc)


def link(link_id, sent, first_note=None, opens=0, kind="client", revoked=False):
    return {"link_id": link_id, "kind": kind, "stage": "First cut", "created_at": sent, "first_note_at": first_note,
            "opens": opens, "percent_watched": 40.0, "revoked": revoked}


def view(project_id, links=(), open_round=None, pending=(), revisions=(), changes=(), state="in client review"):
    return {"project_id": project_id, "name": project_id, "state": state, "links": list(links),
            "open_round": open_round, "pending_approvers": list(pending), "revisions": list(revisions),
            "changes_requested": list(changes)}


def test_notes_are_expected_back_after_the_median_turnaround_once_there_are_three():
    learned = view("past", [link("a", "2026-11-20T10:00:00Z", "2026-11-20T16:00:00Z"),
                            link("b", "2026-11-21T10:00:00Z", "2026-11-21T14:00:00Z"),
                            link("c", "2026-11-22T10:00:00Z", "2026-11-23T10:00:00Z")])
    out = view("spot", [link("d", "2026-12-02T09:00:00Z", opens=1), link("e", "2026-12-01T00:00:00Z", revoked=True),
                        link("f", "2026-12-01T00:00:00Z", kind="internal")])
    data = capacity([learned, out], NOW)
    assert data["turnaround_hours"] == 6.0 and data["turnaround_samples"] == 3
    [review] = data["reviews_out"]
    assert (review["link_id"], review["expected_back"], review["overdue"]) == ("d", "2026-12-02T15:00:00Z", False)


def test_without_history_two_days_is_assumed_and_late_reviews_are_overdue():
    data = capacity([view("spot", [link("d", "2026-11-29T09:00:00Z")])], NOW)
    assert data["turnaround_hours"] == 48.0
    assert data["reviews_out"][0]["overdue"] is True


def test_gates_closest_to_closing_come_first():
    near = view("near", open_round={"stage": "grade", "needed": 2, "approved_by": ["a@x.test"],
                                    "submitted_at": "2026-12-01T00:00:00Z"}, pending=["b@x.test"])
    far = view("far", open_round={"stage": "cut", "needed": 3, "approved_by": [],
                                  "submitted_at": "2026-11-30T00:00:00Z"}, pending=["a", "b", "c"])
    gates = capacity([far, near], NOW)["gates"]
    assert [(g["project_id"], g["remaining"]) for g in gates] == [("near", 1), ("far", 3)]


def test_revision_load_counts_per_iso_week_oldest_first():
    busy = view("busy", revisions=["2026-12-01T10:00:00Z", "2026-11-30T09:00:00Z", "2026-11-24T10:00:00Z"],
                changes=["2026-11-29T10:00:00Z", "2025-01-01T00:00:00Z"])
    load = capacity([busy], NOW)["revision_load"]
    assert len(load) == 8 and load[-1] == {"week": "2026-11-30", "revisions": 2, "changes": 0}
    assert load[-2] == {"week": "2026-11-23", "revisions": 1, "changes": 1}


def test_charts_are_svg_and_escape_names():
    data = capacity([view("<script>", [link("d", "2026-12-02T09:00:00Z")])], NOW)
    svg = str(charts.reviews_chart(data["reviews_out"], NOW))
    assert svg.startswith("<svg") and "<script>" not in svg and "&lt;script&gt;" in svg
    assert "No approval gates open" in str(charts.gates_chart([]))
    assert str(charts.load_chart(data["revision_load"])).count("<rect") >= 16


def test_the_cli_table_has_a_header_and_a_line_per_production():
    rows = [{"project_id": "p1", "name": "Acme Spring", "stage": "grade", "state": "awaiting approval",
             "open_notes": 2, "pending_approvers": ["cd@x.test"], "last_activity": "2026-12-02T11:00:00Z"}]
    lines = board_lines(rows, NOW)
    assert lines[0].split()[:3] == ["PRODUCTION", "STAGE", "STATE"]
    assert "Acme Spring" in lines[1] and "cd@x.test" in lines[1] and lines[1].endswith("1 h ago")
    assert board_lines([], NOW) == ["No productions to show."]
