"""Gate rules as pure functions: who approves, under which rule, in which
order, and whether a gate's round is met, ended, or waiting on someone.

A gate has one or more paths (parallel sign-offs such as legal and brand);
each path has its own approvers, rule and order, and every path must close.
An approver is an e-mail address or a project role written `role:<name>`.
"""
from __future__ import annotations

from dataclasses import dataclass, field

DECISIONS = ("approve", "changes")
ROLES = ("owner", "editor", "viewer")


class GateError(ValueError):
    """A gate definition or a decision that breaks a rule; `code` is stable for clients."""

    def __init__(self, code: str, message: str, status: int = 400, **extra):
        super().__init__(message)
        self.code, self.message, self.status, self.extra = code, message, status, extra


@dataclass(frozen=True)
class Path:
    name: str
    approvers: tuple[str, ...]
    rule: str = "all"  # "all", "any" or a count N of M written as digits
    sequential: bool = False

    @property
    def needed(self) -> int:
        if self.rule == "all":
            return len(self.approvers)
        if self.rule == "any":
            return 1
        return int(self.rule)

    def to_dict(self) -> dict:
        return {"name": self.name, "approvers": list(self.approvers), "rule": self.rule,
                "sequential": self.sequential}


@dataclass(frozen=True)
class Gate:
    paths: tuple[Path, ...] = ()
    scope: str = ""

    @property
    def is_set(self) -> bool:
        return bool(self.paths)

    @property
    def rule(self) -> str:
        return self.paths[0].rule if len(self.paths) == 1 else "all paths"

    def to_dict(self) -> dict:
        return {"scope": self.scope, "paths": [p.to_dict() for p in self.paths]}


def _approver(value) -> str:
    if not isinstance(value, str) or not value.strip():
        raise GateError("invalid_approver", f"An approver must be an e-mail or role:<name>, not {value!r}.")
    value = value.strip().lower()
    if value.startswith("role:"):
        if value[5:] not in ROLES:
            raise GateError("invalid_approver", f"Unknown role {value[5:]!r}; one of {', '.join(ROLES)}.")
        return value
    local, _, domain = value.partition("@")
    if not local or "." not in domain or " " in value:
        raise GateError("invalid_approver", f"{value!r} is not an e-mail address.")
    return value


def _rule(value, count: int) -> str:
    rule = str(value if value is not None else "all").strip().lower()
    if rule in ("all", "any"):
        return rule
    if not rule.isdigit() or not 1 <= int(rule) <= count:
        raise GateError("invalid_rule", f"The rule must be all, any, or a number from 1 to {count}; got {value!r}.")
    return str(int(rule))


def parse_path(raw: dict, default_name: str = "main") -> Path:
    if not isinstance(raw, dict):
        raise GateError("invalid_gate", "Each path must be an object with approvers and a rule.")
    approvers = raw.get("approvers")
    if not isinstance(approvers, list) or not approvers:
        raise GateError("invalid_gate", f"Path {raw.get('name') or default_name!r} needs at least one approver.")
    cleaned = tuple(_approver(a) for a in approvers)
    if len(set(cleaned)) != len(cleaned):
        raise GateError("invalid_gate", "An approver is listed twice in one path.")
    name = str(raw.get("name") or default_name).strip()
    return Path(name, cleaned, _rule(raw.get("rule"), len(cleaned)), bool(raw.get("sequential", False)))


def parse_gate(raw: dict) -> Gate:
    """A gate from its JSON/YAML form: either one path's fields, or `paths: [...]`."""
    if not isinstance(raw, dict):
        raise GateError("invalid_gate", "A gate must be an object.")
    scope = raw.get("scope") or ""
    if not isinstance(scope, str) or len(scope) > 4000:
        raise GateError("invalid_gate", "The scope must be text of at most 4000 characters.")
    if raw.get("paths"):  # an empty list is a gate not set yet
        if not isinstance(raw["paths"], list):
            raise GateError("invalid_gate", "paths must be a list.")
        paths = tuple(parse_path(p, f"path-{i + 1}") for i, p in enumerate(raw["paths"]))
    elif raw.get("approvers"):
        paths = (parse_path(raw),)
    else:
        paths = ()
    if len({p.name for p in paths}) != len(paths):
        raise GateError("invalid_gate", "Two paths have the same name.")
    return Gate(paths, scope.strip())


# ---- decisions -------------------------------------------------------------

@dataclass(frozen=True)
class Decider:
    email: str
    roles: frozenset = field(default_factory=frozenset)  # the decider's roles in the project


def slots_of(path: Path, decider: Decider) -> list[str]:
    """The approver entries of a path this person fills (their e-mail, else a role of theirs)."""
    email = decider.email.lower()
    if email in path.approvers:
        return [email]
    return [a for a in path.approvers if a.startswith("role:") and a[5:] in decider.roles]


def latest_by_slot(decisions: list[dict]) -> dict[str, dict]:
    """The latest decision of each approver entry (decisions in recorded order)."""
    latest: dict[str, dict] = {}
    for d in sorted(decisions, key=lambda d: (d["seq"], d.get("chain_n", 0))):
        latest[d["slot"]] = d
    return latest


@dataclass(frozen=True)
class PathState:
    name: str
    rule: str
    sequential: bool
    approved: tuple[str, ...]
    pending: tuple[str, ...]
    turn: str | None  # in a sequential path, whose turn it is
    met: bool


@dataclass(frozen=True)
class GateState:
    status: str  # not_set | awaiting_version | open | changes_requested | met | closed
    paths: tuple[PathState, ...]
    pending: tuple[str, ...]
    changes_by: str | None = None
    reason: str | None = None


def path_state(path: Path, latest: dict[str, dict]) -> PathState:
    approved = tuple(a for a in path.approvers if latest.get(a, {}).get("decision") == "approve")
    met = len(approved) >= path.needed
    pending = () if met else tuple(a for a in path.approvers if a not in approved)
    turn = pending[0] if (path.sequential and pending) else None
    return PathState(path.name, path.rule, path.sequential, approved, pending, turn, met)


def gate_state(gate: Gate, round_open: bool, decisions: list[dict], closed: bool = False) -> GateState:
    """Where a gate stands, from its definition and the current round's decisions."""
    if not gate.is_set:
        return GateState("not_set", (), ())
    latest = latest_by_slot(decisions)
    paths = tuple(path_state(p, latest) for p in gate.paths)
    pending = tuple(dict.fromkeys(a for p in paths for a in p.pending))
    if closed:
        return GateState("closed", paths, ())
    if not round_open:
        return GateState("awaiting_version", paths, pending)
    changes = [d for d in latest.values() if d["decision"] == "changes"]
    if changes:
        return GateState("changes_requested", paths, pending, changes[0]["email"], changes[0].get("reason"))
    if all(p.met for p in paths):
        return GateState("met", paths, ())
    return GateState("open", paths, pending)


@dataclass(frozen=True)
class Allowed:
    slot: str  # the approver entry the decision is recorded against
    seq: int  # this slot's nth decision in the round
    repeat: dict | None = None  # the identical latest decision, when this is a repeat


def check_decision(gate: Gate, state: GateState, decisions: list[dict], decider: Decider,
                   decision: str, reason: str, version_id: str, round_version_id: str | None) -> Allowed:
    """Whether this person may record this decision now; raises GateError saying why not."""
    if decision not in DECISIONS:
        raise GateError("invalid_decision", f"The decision must be one of {', '.join(DECISIONS)}.")
    if decision == "changes" and not reason.strip():
        raise GateError("reason_required", "Requesting changes needs a reason.")
    if state.status == "not_set":
        raise GateError("gate_not_set", "This stage's gate has no approvers yet.", 409)
    if state.status == "closed":
        raise GateError("gate_closed", "This gate is closed; decisions on it are refused.", 409)
    if state.status == "awaiting_version" or round_version_id is None:
        raise GateError("no_version_submitted", "No version is up for this gate; submit one first.", 409)
    if version_id != round_version_id:
        raise GateError("wrong_version", f"Version {version_id} is not the one up for this gate "
                        f"({round_version_id}).", 409, version_id=round_version_id)
    by_path = [(p, ps, slots_of(p, decider)) for p, ps in zip(gate.paths, state.paths)]
    mine = [(p, ps, s) for p, ps, slots in by_path for s in slots]
    if not mine:
        raise GateError("not_an_approver", f"{decider.email} is not an approver of this gate.", 403)
    latest = latest_by_slot(decisions)
    for _p, _ps, slot in mine:
        if slot in latest and latest[slot]["decision"] == decision:
            return Allowed(slot, latest[slot]["seq"], repeat=latest[slot])
    if state.status == "changes_requested":
        raise GateError("round_ended", f"Changes were requested by {state.changes_by}; "
                        "the gate waits for a new version.", 409)
    if state.status == "met":
        raise GateError("gate_closed", "This gate's rule is already met; it is closing.", 409)
    # In a chain you decide in your turn; one who already approved may still change their mind.
    in_turn = [(p, ps, s) for p, ps, s in mine if not ps.sequential or ps.turn == s or ps.met or s in ps.approved]
    if not in_turn:
        turns = ", ".join(ps.turn for _p, ps, _s in mine if ps.turn)
        raise GateError("out_of_turn", f"Not your turn yet in this sequential chain: waiting for {turns}.",
                        409, waiting_for=turns)
    slot = in_turn[0][2]
    return Allowed(slot, latest[slot]["seq"] + 1 if slot in latest else 1)
