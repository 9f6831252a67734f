"""Approval use cases: set a workflow and gates, submit a version, decide,
read a stage, advance. Each reads top to bottom: check, decide by insert,
record the events."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from pymongo.database import Database

from services.common import events
from services.common.outbox import record_event

from . import store
from .gates import Decider, Gate, GateError, check_decision, gate_state, parse_gate
from .templates import Template

DEFAULT_TEMPLATE = "standard"


@dataclass
class Context:
    db: Database
    templates: Callable[[], dict[str, Template]]
    on_close: Callable[[dict], None] = lambda closure: None  # e.g. make the certificate


@dataclass(frozen=True)
class Person:
    """Who decides and from where: what the record keeps."""

    email: str
    name: str
    ip: str
    user_agent: str
    roles: frozenset = frozenset()
    link_id: str | None = None  # decided through this review link, account-free


def template(ctx: Context, name: str) -> Template:
    found = ctx.templates().get(name)
    if found is None:
        raise GateError("unknown_template", f"No workflow template {name!r}; one of "
                        f"{', '.join(sorted(ctx.templates()))}.", 404)
    return found


def _stages(ctx: Context, project_id: str) -> list[dict]:
    doc = store.workflow(ctx.db, project_id) or store.create_workflow(
        ctx.db, project_id, template(ctx, DEFAULT_TEMPLATE).to_dict())
    return doc["stages"]


def _started(ctx: Context, project_id: str, stage: str) -> bool:
    return store.latest_round(ctx.db, store.gate_id_for(project_id, stage)) is not None


def ensure_not_archived(ctx: Context, project_id: str) -> None:
    """Refuse any change to an archived project (409): it stays readable, nothing changes."""
    found = store.archive(ctx.db, project_id)
    if found is not None:
        why = "its final stage closed" if found["reason"] == "final_stage_closed" else f"by {found['archived_by']}"
        raise GateError("project_archived", f"This project was archived ({why}, {store.iso(found['archived_at'])}); "
                        "it is read-only.", 409)


def set_workflow(ctx: Context, project_id: str, name: str) -> dict:
    """Pick the project's template; refused once its first stage has a version up."""
    ensure_not_archived(ctx, project_id)
    chosen = template(ctx, name)
    stages = _stages(ctx, project_id)
    if any(_started(ctx, project_id, s["name"]) for s in stages):
        raise GateError("workflow_started", "This project's workflow has started; its template cannot change.", 409)
    store.replace_workflow(ctx.db, project_id, chosen.to_dict())
    return workflow_view(ctx, project_id)


def workflow_view(ctx: Context, project_id: str) -> dict:
    doc = store.workflow(ctx.db, project_id) or {}
    stages = _stages(ctx, project_id)
    return {"project_id": project_id, "template": doc.get("template", DEFAULT_TEMPLATE),
            "current_stage": _current_index(ctx, project_id, stages),
            "archived": archive_view(store.archive(ctx.db, project_id)),
            "stages": [{"name": s["name"], "title": s["title"], "gate_id": store.gate_id_for(project_id, s["name"]),
                        "gate": _gate(ctx, project_id, s).to_dict()} for s in stages]}


def _gate(ctx: Context, project_id: str, stage: dict) -> Gate:
    defined = store.gate_definition(ctx.db, store.gate_id_for(project_id, stage["name"]))
    return parse_gate(defined if defined is not None else stage.get("gate") or {})


def _current_index(ctx: Context, project_id: str, stages: list[dict]) -> int:
    return min(len(store.advances(ctx.db, project_id)), len(stages))


def _stage_at(ctx: Context, project_id: str, name: str | None = None) -> tuple[int, dict, list[dict]]:
    stages = _stages(ctx, project_id)
    current = _current_index(ctx, project_id, stages)
    if name is None:
        if current >= len(stages):
            raise GateError("workflow_complete", "Every stage of this project is closed.", 409)
        return current, stages[current], stages
    for i, s in enumerate(stages):
        if s["name"] == name:
            return i, s, stages
    raise GateError("unknown_stage", f"No stage {name!r}; stages: {', '.join(s['name'] for s in stages)}.", 404)


def set_gate(ctx: Context, project_id: str, stage_name: str, raw: dict, by: str) -> dict:
    """Define a stage's gate; refused once a version is up for it or the stage is past."""
    ensure_not_archived(ctx, project_id)
    index, stage, stages = _stage_at(ctx, project_id, stage_name)
    gate = parse_gate(raw)
    if not gate.is_set:
        raise GateError("invalid_gate", "A gate needs at least one approver.")
    if index < _current_index(ctx, project_id, stages):
        raise GateError("stage_closed", f"Stage {stage_name!r} is already closed.", 409)
    if _started(ctx, project_id, stage_name):
        raise GateError("stage_started", f"A version is already up for {stage_name!r}; its gate cannot change.", 409)
    store.set_gate_definition(ctx.db, project_id, stage_name, gate.to_dict(), by)
    return stage_view(ctx, project_id, stage_name)


def submit(ctx: Context, project_id: str, version: dict, by: str, production: str = "") -> dict:
    """Put a ready version up for the current stage's gate: a new round starts."""
    if version.get("project_id") != project_id:
        raise GateError("wrong_project", "That version belongs to another project.", 409)
    ensure_not_archived(ctx, project_id)
    if version.get("status") != "ready":
        raise GateError("version_not_ready", f"Version {version['id']} is {version.get('status')}, not ready; "
                        "submit it once its renditions are done.", 409)
    _index, stage, _stages_ = _stage_at(ctx, project_id)
    gate = _gate(ctx, project_id, stage)
    if not gate.is_set:
        raise GateError("gate_not_set", f"Stage {stage['name']!r} has no approvers yet: set its gate first.", 409)
    gate_id = store.gate_id_for(project_id, stage["name"])
    last = store.latest_round(ctx.db, gate_id)
    if last and last["version_id"] == version["id"]:
        if _round_state(ctx, gate_id, last, gate)[1].status == "changes_requested":
            raise GateError("new_version_needed", f"Changes were requested on version {version['number']}; "
                            "submit a new version.", 409)
        return stage_view(ctx, project_id)  # the same submission again changes nothing
    renditions = version.get("renditions") or {}
    opened = store.open_round(ctx.db, gate_id, {
        "project_id": project_id, "stage": stage["name"], "stage_title": stage["title"],
        "gate": gate.to_dict(), "version_id": version["id"], "version_number": version["number"],
        "sha256": version["sha256"], "asset_id": version["asset_id"], "asset_name": version.get("asset_name", ""),
        "poster_bucket": renditions.get("bucket"), "poster_key": renditions.get("poster"),
        "production": production, "submitted_by": by})
    record_event(ctx.db, events.VersionSubmitted(
        event_id=events.event_id_for("version_submitted", opened["_id"]), project_id=project_id, gate_id=gate_id,
        stage=stage["name"], round=opened["n"], asset_id=version["asset_id"], version_id=version["id"],
        version_number=version["number"], approvers=[a for path in gate.paths for a in path.approvers],
        rule=gate.rule, submitted_by=by))
    return stage_view(ctx, project_id)


def _round_state(ctx: Context, gate_id: str, round_doc: dict | None, gate: Gate):
    found = store.decisions(ctx.db, gate_id, round_doc["n"]) if round_doc else []
    closed = store.closure(ctx.db, gate_id) is not None
    return found, gate_state(gate, round_doc is not None, found, closed)


def decide(ctx: Context, gate_id: str, person: Person, decision: str, reason: str,
           version_id: str | None) -> tuple[dict, bool]:
    """Record one decision; returns (decision, created). Closes the gate when its rule is met."""
    round_doc = store.latest_round(ctx.db, gate_id)
    if round_doc is None:
        raise GateError("no_version_submitted", "No version is up for this gate; submit one first.", 409)
    gate = parse_gate(round_doc["gate"])
    found, state = _round_state(ctx, gate_id, round_doc, gate)
    if state.status != "closed":  # a closed gate says so itself
        ensure_not_archived(ctx, round_doc["project_id"])
    if state.status == "met":  # a crash left the rule met but the gate open: close it first
        _repair(ctx, gate_id)
        found, state = _round_state(ctx, gate_id, round_doc, gate)
    allowed = check_decision(gate, state, found, Decider(person.email, person.roles), decision, reason or "",
                             version_id or round_doc["version_id"], round_doc["version_id"])
    if allowed.repeat is not None:
        return allowed.repeat, False
    record = {
        "project_id": round_doc["project_id"], "gate_id": gate_id, "stage": round_doc["stage"],
        "round": round_doc["n"], "slot": allowed.slot, "seq": allowed.seq, "decision": decision,
        "reason": (reason or "").strip(), "version_id": round_doc["version_id"],
        "version_number": round_doc["version_number"], "sha256": round_doc["sha256"],
        "name": person.name, "email": person.email.lower(), "decided_at": store.iso(store.now()),
        "ip": person.ip, "user_agent": person.user_agent[:500],
    }
    if person.link_id:
        record["link_id"] = person.link_id
    saved = store.insert_decision(ctx.db, record)
    if saved is None:
        raise GateError("decision_raced", "Another decision for this approver landed at the same moment; "
                        "look at the stage and try again.", 409)
    record_event(ctx.db, events.ApprovalRecorded(
        event_id=events.event_id_for("approval_recorded", saved["_id"]), project_id=saved["project_id"],
        gate_id=gate_id, stage=saved["stage"], round=saved["round"], decision_id=saved["_id"],
        version_id=saved["version_id"], version_number=saved["version_number"], decision=decision,
        email=saved["email"], reason=saved["reason"]))
    _close_if_met(ctx, gate_id, round_doc, gate)
    return saved, True


def _close_if_met(ctx: Context, gate_id: str, round_doc: dict, gate: Gate) -> None:
    found, state = _round_state(ctx, gate_id, round_doc, gate)
    if state.status != "met":
        return
    closure = store.close_gate(ctx.db, gate_id, {
        "project_id": round_doc["project_id"], "stage": round_doc["stage"], "round": round_doc["n"],
        "version_id": round_doc["version_id"], "version_number": round_doc["version_number"],
        "sha256": round_doc["sha256"], "decision_ids": [d["_id"] for d in found]})
    if closure is not None:  # None: a racing request closed it and announces it
        _announce(ctx, closure, round_doc)


def _announce(ctx: Context, closure: dict, round_doc: dict) -> None:
    """Everything that follows a closure; idempotent (event ids come from the gate), so a
    repair after a crash between the closure and its events lands on the same records."""
    project_id, gate_id = round_doc["project_id"], closure["_id"]
    record_event(ctx.db, events.GateClosed(
        event_id=events.event_id_for("gate_closed", gate_id), project_id=project_id, gate_id=gate_id,
        stage=round_doc["stage"], round=round_doc["n"], version_id=round_doc["version_id"],
        version_number=round_doc["version_number"], sha256=round_doc["sha256"],
        decision_ids=closure["decision_ids"]))
    record_event(ctx.db, events.VersionLocked(
        event_id=events.event_id_for("version_locked", gate_id), project_id=project_id,
        asset_id=round_doc["asset_id"], version_id=round_doc["version_id"], gate_id=gate_id))
    _advance_past(ctx, project_id, round_doc["stage"])
    ctx.on_close(closure)


def _repair(ctx: Context, gate_id: str) -> None:
    """Finish what a crash may have left half-way: a met rule without a closure, or a
    closure whose events, advance or certificate are missing."""
    round_doc = store.latest_round(ctx.db, gate_id)
    if round_doc is None:
        return
    closure = store.closure(ctx.db, gate_id)
    if closure is None:
        _close_if_met(ctx, gate_id, round_doc, parse_gate(round_doc["gate"]))
    else:
        _announce(ctx, closure, ctx.db.approval_rounds.find_one({"_id": f"{gate_id}:{closure['round']}"}))


def _advance_past(ctx: Context, project_id: str, stage_name: str) -> None:
    index, stage, stages = _stage_at(ctx, project_id, stage_name)
    store.record_advance(ctx.db, project_id, index, stage_name, store.gate_id_for(project_id, stage_name))
    following = stages[index + 1]["name"] if index + 1 < len(stages) else None
    record_event(ctx.db, events.StageAdvanced(  # idempotent on its id, like the advance itself
        event_id=events.event_id_for("stage_advanced", project_id, str(index)), project_id=project_id,
        from_stage=stage_name, to_stage=following))
    if following is None:  # the final stage closed: the production's record is complete
        archive(ctx, project_id, "workflow", "final_stage_closed")


def advance(ctx: Context, project_id: str) -> dict:
    """Move past the current stage; refused while its gate is open, naming who is pending."""
    ensure_not_archived(ctx, project_id)
    _index, stage, _stages_ = _stage_at(ctx, project_id)
    gate_id = store.gate_id_for(project_id, stage["name"])
    _repair(ctx, gate_id)
    if store.closure(ctx.db, gate_id) is None:
        view = stage_view(ctx, project_id)
        who = ", ".join(view["pending"]) or "nobody has been asked: submit a version"
        raise GateError("gate_open", f"Stage {stage['name']!r} cannot advance while its gate is open; "
                        f"pending: {who}.", 409, pending=view["pending"], stage=stage["name"])
    return workflow_view(ctx, project_id)


def stage_view(ctx: Context, project_id: str, stage_name: str | None = None) -> dict:
    """The stage as `framegate stage` shows it (the current one by default)."""
    stages = _stages(ctx, project_id)
    if stage_name is None:
        index = _current_index(ctx, project_id, stages)
        if index >= len(stages):
            index = len(stages) - 1  # a finished workflow shows its final, closed stage
        stage = stages[index]
    else:
        _index, stage, _s = _stage_at(ctx, project_id, stage_name)
    gate_id = store.gate_id_for(project_id, stage["name"])
    round_doc = store.latest_round(ctx.db, gate_id)
    gate = parse_gate(round_doc["gate"]) if round_doc else _gate(ctx, project_id, stage)
    found, state = _round_state(ctx, gate_id, round_doc, gate)
    latest = {d["slot"]: d for d in found}
    approvers = [{"email": a, "path": p.name, "decision": latest[a]["decision"] if a in latest else None,
                  "reason": latest[a]["reason"] if a in latest else None}
                 for p in gate.paths for a in p.approvers]
    return {
        "project_id": project_id, "stage": stage["name"], "title": stage["title"], "gate_id": gate_id,
        "scope": gate.scope, "rule": gate.rule if gate.is_set else None, "status": state.status,
        "round": round_doc["n"] if round_doc else None,
        "version_id": round_doc["version_id"] if round_doc else None,
        "version_number": round_doc["version_number"] if round_doc else None,
        "approvers": approvers, "pending": list(state.pending),
        "paths": [{"name": ps.name, "rule": ps.rule, "sequential": ps.sequential, "turn": ps.turn,
                   "met": ps.met, "pending": list(ps.pending)} for ps in state.paths],
        "changes_requested_by": state.changes_by, "closed": state.status == "closed",
        "certificate_id": store.certificate_id(ctx.db, gate_id) if state.status == "closed" else None,
        "archived": archive_view(store.archive(ctx.db, project_id)),
    }


def locks(ctx: Context, project_id: str, version_id: str | None = None) -> dict:
    """What is frozen: the version's lock (the closure of the first gate that approved it).

    The closure is the lock, not the `version_locked` event that follows it, so
    the answer is right from the moment the gate closes."""
    closure = store.version_lock(ctx.db, project_id, version_id) if version_id else None
    return {"project_id": project_id, "archived": archive_view(store.archive(ctx.db, project_id)),
            "version": None if closure is None else {
        "version_id": closure["version_id"], "version_number": closure["version_number"],
        "gate_id": closure["_id"], "stage": closure["stage"], "locked_at": store.iso(closure["closed_at"])}}


def decide_on_version(ctx: Context, project_id: str, version_id: str, person: Person, decision: str,
                      reason: str) -> tuple[dict, bool, dict]:
    """A decision on whichever gate this version is up for (a review link knows its version,
    not the gate); (decision, created, the stage as it now stands)."""
    found = list(ctx.db.approval_rounds.find({"project_id": project_id, "version_id": version_id})
                 .sort("opened_at", -1).limit(1))
    if not found:
        raise GateError("not_up_for_approval", "This version is not up for approval at any stage; "
                        "ask the production to submit it.", 409)
    gate_id, stage = found[0]["gate_id"], found[0]["stage"]
    saved, created = decide(ctx, gate_id, person, decision, reason, version_id)
    return saved, created, stage_view(ctx, project_id, stage)


def archive(ctx: Context, project_id: str, by: str, reason: str = "archived") -> dict:
    """Freeze the project (once; again is a no-op) and announce it: review expires its links
    and refuses notes, ingest refuses uploads, approval refuses gates and decisions."""
    found = store.archive_project(ctx.db, project_id, by, reason)
    record_event(ctx.db, events.ProjectArchived(  # idempotent on its id: a retry lands on the same event
        event_id=events.event_id_for("project_archived", project_id), project_id=project_id,
        archived_by=found["archived_by"], reason=found["reason"]))
    return archive_view(found)


def archive_view(found: dict | None) -> dict | None:
    return None if found is None else {"archived_at": store.iso(found["archived_at"]),
                                       "archived_by": found["archived_by"], "reason": found["reason"]}
