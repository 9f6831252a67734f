"""The decision chain: every decision record carries the hash of the one
before it in its project, so an edited or deleted record breaks the chain."""
from __future__ import annotations

import hashlib
import json

GENESIS = "0" * 64
# The fields a decision's hash covers: everything a certificate states about it.
HASHED = ("project_id", "gate_id", "stage", "round", "slot", "seq", "decision", "reason", "version_id",
          "version_number", "sha256", "name", "email", "decided_at", "ip", "user_agent", "chain_n", "prev_hash")


def record_hash(record: dict) -> str:
    body = {k: record.get(k) for k in HASHED}
    if record.get("link_id"):  # decided through a review link; absent from older records, whose hashes stand
        body["link_id"] = record["link_id"]
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def chain_problems(records: list[dict]) -> list[str]:
    """What is wrong with a project's chain (records in any order); empty when intact."""
    problems = []
    prev = GENESIS
    for expected_n, record in enumerate(sorted(records, key=lambda r: r["chain_n"]), 1):
        n = record["chain_n"]
        if n != expected_n:
            problems.append(f"decision {expected_n} of the chain is missing (deleted?)")
            return problems
        if record.get("prev_hash") != prev:
            problems.append(f"decision {n} does not follow decision {n - 1} (deleted or reordered)")
        if record_hash(record) != record.get("hash"):
            problems.append(f"decision {n} ({record.get('email')}) was edited after it was recorded")
        prev = record.get("hash")
    return problems
