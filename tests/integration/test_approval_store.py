"""Approval's records on the real FerretDB: races decided by unique inserts,
the decision chain, and the events that go out through the outbox."""
from __future__ import annotations

import threading
import uuid

import pytest

from services.approval import chain, handlers, store
from services.approval.gates import GateError
from services.approval.templates import load_templates
from services.common.mongo import ensure_indexes
from services.common.outbox import outbox_collection, outbox_indexes


@pytest.fixture
def ctx(db):
    ensure_indexes(db, store.INDEXES + outbox_indexes("approval"))
    return handlers.Context(db, load_templates)


def fake_version(project_id, status="ready", n=1):
    """A version as ingest's API shows it (these tests exercise approval's records only)."""
    return {"id": f"v-{uuid.uuid4().hex[:8]}", "project_id": project_id, "asset_id": "a1", "asset_name": "hero",
            "number": n, "status": status, "sha256": f"{n:064x}", "renditions": {"poster": "p/poster.jpg"}}


def person(email):
    return handlers.Person(email=email, name=email.split("@")[0], ip="203.0.113.9", user_agent="pytest")


def events_of(db, project_id, kind):
    return list(db[outbox_collection("approval")].find({"body.project_id": project_id, "routing_key": kind}))


def test_racing_final_approvals_close_the_gate_exactly_once(ctx, db):
    project_id = "p-" + uuid.uuid4().hex[:8]
    approvers = [f"a{i}@studio.test" for i in range(8)]
    handlers.set_gate(ctx, project_id, "brief-concept", {"approvers": approvers, "rule": "any"}, "owner@x.test")
    handlers.submit(ctx, project_id, fake_version(project_id), "owner@x.test")
    gate_id = store.gate_id_for(project_id, "brief-concept")
    start = threading.Barrier(len(approvers))
    outcomes = []

    def approve(email):
        start.wait()
        try:
            outcomes.append(handlers.decide(ctx, gate_id, person(email), "approve", "", None)[1])
        except GateError as err:  # arriving after the closure is a clear refusal
            outcomes.append(err.code)

    threads = [threading.Thread(target=approve, args=(a,)) for a in approvers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert True in outcomes
    assert set(outcomes) <= {True, "gate_closed"}
    assert len(events_of(db, project_id, "gate_closed")) == 1
    assert len(events_of(db, project_id, "stage_advanced")) == 1
    assert len(events_of(db, project_id, "version_locked")) == 1
    recorded = store.project_chain(db, project_id)
    assert len(events_of(db, project_id, "approval_recorded")) == len(recorded) == outcomes.count(True)
    # every racing decision took its own place in the chain, none lost
    assert [r["chain_n"] for r in recorded] == list(range(1, len(recorded) + 1))
    assert chain.chain_problems(recorded) == []
    assert handlers.stage_view(ctx, project_id)["stage"] == "rough-cut-internal"


def test_an_edited_or_deleted_decision_record_breaks_the_chain(ctx, db):
    project_id = "p-" + uuid.uuid4().hex[:8]
    handlers.set_gate(ctx, project_id, "brief-concept", {"approvers": ["a@x.test", "b@x.test", "c@x.test"]}, "o")
    handlers.submit(ctx, project_id, fake_version(project_id), "o")
    gate_id = store.gate_id_for(project_id, "brief-concept")
    for email in ("a@x.test", "b@x.test", "c@x.test"):
        handlers.decide(ctx, gate_id, person(email), "approve", "", None)
    assert chain.chain_problems(store.project_chain(db, project_id)) == []
    db.approval_decisions.update_one({"project_id": project_id, "chain_n": 2}, {"$set": {"ip": "198.51.100.1"}})
    assert chain.chain_problems(store.project_chain(db, project_id)) == [
        "decision 2 (b@x.test) was edited after it was recorded"]
    db.approval_decisions.delete_one({"project_id": project_id, "chain_n": 2})
    assert "missing" in chain.chain_problems(store.project_chain(db, project_id))[0]


def test_a_version_that_is_not_ready_is_refused_and_nothing_recorded(ctx, db):
    project_id = "p-" + uuid.uuid4().hex[:8]
    handlers.set_gate(ctx, project_id, "brief-concept", {"approvers": ["a@x.test"]}, "o")
    with pytest.raises(GateError) as err:
        handlers.submit(ctx, project_id, fake_version(project_id, status="transcoding"), "o")
    assert err.value.code == "version_not_ready" and "transcoding" in err.value.message
    assert store.latest_round(db, store.gate_id_for(project_id, "brief-concept")) is None


def test_changes_requested_needs_a_new_version_and_old_approvals_stop_counting(ctx, db):
    project_id = "p-" + uuid.uuid4().hex[:8]
    handlers.set_gate(ctx, project_id, "brief-concept", {"approvers": ["a@x.test", "b@x.test"]}, "o")
    first = fake_version(project_id)
    handlers.submit(ctx, project_id, first, "o")
    gate_id = store.gate_id_for(project_id, "brief-concept")
    handlers.decide(ctx, gate_id, person("a@x.test"), "approve", "", first["id"])
    handlers.decide(ctx, gate_id, person("b@x.test"), "changes", "Logo too small", first["id"])
    with pytest.raises(GateError) as err:
        handlers.decide(ctx, gate_id, person("b@x.test"), "approve", "", first["id"])
    assert err.value.code == "round_ended"
    with pytest.raises(GateError) as err:
        handlers.submit(ctx, project_id, first, "o")
    assert err.value.code == "new_version_needed"
    second = fake_version(project_id, n=2)
    view = handlers.submit(ctx, project_id, second, "o")
    assert view["round"] == 2 and view["pending"] == ["a@x.test", "b@x.test"]
    with pytest.raises(GateError) as err:
        handlers.decide(ctx, gate_id, person("a@x.test"), "approve", "", first["id"])
    assert err.value.code == "wrong_version"
    assert len(store.decisions(db, gate_id, 2)) == 0


def test_a_gate_left_met_but_open_by_a_crash_is_closed_and_announced_once(ctx, db):
    project_id = "p-" + uuid.uuid4().hex[:8]
    handlers.set_gate(ctx, project_id, "brief-concept", {"approvers": ["a@x.test"]}, "o")
    version = fake_version(project_id)
    handlers.submit(ctx, project_id, version, "o")
    gate_id = store.gate_id_for(project_id, "brief-concept")
    # the process died after recording the final approval, before closing the gate
    store.insert_decision(db, {"project_id": project_id, "gate_id": gate_id, "stage": "brief-concept", "round": 1,
                               "slot": "a@x.test", "seq": 1, "decision": "approve", "reason": "",
                               "version_id": version["id"], "version_number": 1, "sha256": version["sha256"],
                               "name": "a", "email": "a@x.test", "decided_at": "2026-12-02T06:00:00.000Z",
                               "ip": "203.0.113.9", "user_agent": "pytest"})
    with pytest.raises(GateError) as err:
        handlers.decide(ctx, gate_id, person("a@x.test"), "changes", "late", None)
    assert err.value.code == "gate_closed"
    with pytest.raises(GateError) as err:  # the repair advanced the project; a second changes nothing
        handlers.advance(ctx, project_id)
    assert err.value.code == "gate_open" and "rough-cut-internal" in err.value.message
    assert store.closure(db, gate_id) is not None
    for kind in ("gate_closed", "version_locked", "stage_advanced"):
        assert len(events_of(db, project_id, kind)) == 1, kind
    assert handlers.stage_view(ctx, project_id)["stage"] == "rough-cut-internal"
