"""The approval service's records in MongoDB (FerretDB-safe).

Everything two requests can race on is decided by an insert against a unique
index: a round per (gate, n), a decision per (gate, round, approver, seq), a
decision's place in its project's chain per (project, n), a gate's closure
per gate, a stage advance per (project, stage). Decisions and closures are
never updated.
"""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from services.common.mongo import ASC, Index, insert_unique

from . import chain

INDEXES = [
    Index("approval_rounds", (("gate_id", ASC), ("n", ASC)), unique=True),
    Index("approval_decisions", (("gate_id", ASC), ("round", ASC), ("slot", ASC), ("seq", ASC)), unique=True),
    Index("approval_decisions", (("project_id", ASC), ("chain_n", ASC)), unique=True),
    Index("approval_advances", (("project_id", ASC), ("index", ASC)), unique=True),
    Index("approval_certificates", (("gate_id", ASC),), unique=True),
    Index("approval_closures", (("project_id", ASC), ("version_id", ASC))),
    Index("approval_rounds", (("project_id", ASC), ("version_id", ASC))),
]
CHAIN_RETRIES = 50


def now() -> datetime:
    return datetime.now(timezone.utc)


def iso(at: datetime) -> str:
    return at.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def gate_id_for(project_id: str, stage: str) -> str:
    """A gate's id is derived from its project and stage, so it is stable across retries."""
    return "g" + uuid.uuid5(uuid.NAMESPACE_URL, f"framegate:gate:{project_id}:{stage}").hex[:20]


# ---- workflows and gate definitions ----------------------------------------

def workflow(db: Database, project_id: str) -> dict | None:
    return db.approval_workflows.find_one({"_id": project_id})


def create_workflow(db: Database, project_id: str, template: dict) -> dict:
    """The project's workflow; the first writer wins, later callers get that one."""
    insert_unique(db.approval_workflows, {"_id": project_id, "template": template["name"],
                                          "stages": template["stages"], "created_at": now()})
    return workflow(db, project_id)


def replace_workflow(db: Database, project_id: str, template: dict) -> None:
    # Only before the first stage starts (the caller checks), and only owners do it.
    db.approval_workflows.replace_one({"_id": project_id}, {
        "template": template["name"], "stages": template["stages"], "created_at": now()}, upsert=True)
    db.approval_gate_defs.delete_many({"project_id": project_id})


def gate_definition(db: Database, gate_id: str) -> dict | None:
    doc = db.approval_gate_defs.find_one({"_id": gate_id})
    return doc["definition"] if doc else None


def set_gate_definition(db: Database, project_id: str, stage: str, definition: dict, by: str) -> str:
    gate_id = gate_id_for(project_id, stage)
    db.approval_gate_defs.replace_one({"_id": gate_id}, {
        "project_id": project_id, "stage": stage, "definition": definition, "set_by": by, "set_at": now()},
        upsert=True)
    return gate_id


# ---- rounds: one per version put up for a gate -----------------------------

def rounds(db: Database, gate_id: str) -> list[dict]:
    return list(db.approval_rounds.find({"gate_id": gate_id}).sort("n", ASC))


def latest_round(db: Database, gate_id: str) -> dict | None:
    found = list(db.approval_rounds.find({"gate_id": gate_id}).sort("n", -1).limit(1))
    return found[0] if found else None


def open_round(db: Database, gate_id: str, fields: dict) -> dict:
    """A new round for a submitted version; the round number is decided by a unique insert."""
    for _ in range(CHAIN_RETRIES):
        last = latest_round(db, gate_id)
        n = last["n"] + 1 if last else 1
        doc = {"_id": f"{gate_id}:{n}", "gate_id": gate_id, "n": n, "opened_at": now(), **fields}
        if insert_unique(db.approval_rounds, doc):
            return doc
    raise RuntimeError(f"could not open a round on {gate_id}")


# ---- decisions: append-only, chained per project ---------------------------

def decisions(db: Database, gate_id: str, round_n: int) -> list[dict]:
    return list(db.approval_decisions.find({"gate_id": gate_id, "round": round_n}).sort("chain_n", ASC))


def project_chain(db: Database, project_id: str) -> list[dict]:
    return list(db.approval_decisions.find({"project_id": project_id}).sort("chain_n", ASC))


def _chain_head(db: Database, project_id: str) -> tuple[int, str]:
    found = list(db.approval_decisions.find({"project_id": project_id}).sort("chain_n", -1).limit(1))
    return (found[0]["chain_n"], found[0]["hash"]) if found else (0, chain.GENESIS)


def insert_decision(db: Database, record: dict) -> dict | None:
    """Append a decision at the end of its project's chain.

    None when another request already recorded this (gate, round, slot, seq):
    that decision was taken by someone else's racing request. A clash on the
    chain position only means another decision of the project came first: retry.
    """
    key = {k: record[k] for k in ("gate_id", "round", "slot", "seq")}
    for _ in range(CHAIN_RETRIES):
        n, prev = _chain_head(db, record["project_id"])
        doc = {"_id": uuid.uuid4().hex, **record, "chain_n": n + 1, "prev_hash": prev}
        doc["hash"] = chain.record_hash(doc)
        try:
            db.approval_decisions.insert_one(doc)
            return doc
        except DuplicateKeyError:
            if db.approval_decisions.count_documents(key, limit=1):
                return None
    raise RuntimeError(f"could not append to the decision chain of {record['project_id']}")


# ---- closures and advances -------------------------------------------------

def closure(db: Database, gate_id: str) -> dict | None:
    return db.approval_closures.find_one({"_id": gate_id})


def close_gate(db: Database, gate_id: str, fields: dict) -> dict | None:
    """Close a gate once: the closure document's id is the gate's; None if already closed."""
    doc = {"_id": gate_id, "closed_at": now(), **fields}
    return doc if insert_unique(db.approval_closures, doc) else None


def certificate_id(db: Database, gate_id: str) -> str | None:
    found = db.approval_certificates.find_one({"gate_id": gate_id}, {"_id": 1})
    return found["_id"] if found else None


def advances(db: Database, project_id: str) -> list[dict]:
    return list(db.approval_advances.find({"project_id": project_id}).sort("index", ASC))


def record_advance(db: Database, project_id: str, index: int, stage: str, gate_id: str) -> bool:
    return insert_unique(db.approval_advances, {"_id": f"{project_id}:{index}", "project_id": project_id,
                                                "index": index, "stage": stage, "gate_id": gate_id, "at": now()})


def version_lock(db: Database, project_id: str, version_id: str) -> dict | None:
    """The first closure that approved this version (a version may close more than one gate)."""
    found = list(db.approval_closures.find({"project_id": project_id, "version_id": version_id})
                 .sort("closed_at", ASC).limit(1))
    return found[0] if found else None


def archive(db: Database, project_id: str) -> dict | None:
    return db.approval_archives.find_one({"_id": project_id})


def archive_project(db: Database, project_id: str, by: str, reason: str) -> dict:
    """Freeze a project once (the archive's id is the project's); later calls get the first archive."""
    insert_unique(db.approval_archives, {"_id": project_id, "archived_at": now(), "archived_by": by,
                                         "reason": reason})
    return archive(db, project_id)
