"""A version's status, derived from the append-only record of what happened.

uploaded → transcoding → playable → ready, or failed. Each transition is an
insert keyed by the event that caused it, so replays and races cannot move a
version backwards; the status shown is the furthest one reached.
"""
from __future__ import annotations

RANK = {"uploaded": 0, "transcoding": 1, "playable": 2, "ready": 3, "failed": 3}
# The reconciler's `stuck` is its guess that the job was lost: if the job
# finishes after all, its renditions prove the guess wrong.
STUCK_RANK = 2.5


def _rank(state: dict) -> float:
    if state["status"] == "failed" and state.get("code") == "stuck":
        return STUCK_RANK
    return RANK[state["status"]]


def current_status(states: list[dict]) -> dict:
    """The furthest state reached, with its reason and renditions when it has them."""
    best = {"status": "uploaded"}
    for state in sorted(states, key=lambda s: s["at"]):
        if _rank(state) > _rank(best):
            best = state
    return {k: best[k] for k in ("status", "reason", "code", "renditions", "notes") if k in best}


def state_for_event(event_type: str, body: dict) -> dict | None:
    """The state a transcode event records, or None for events that are only progress."""
    if event_type == "transcode_progress":
        return {"status": "transcoding"}
    if event_type == "version_playable":
        return {"status": "playable", "master_playlist": body.get("master_playlist")}
    if event_type == "version_ready":
        return {"status": "ready", "renditions": body.get("renditions"), "notes": body.get("notes", [])}
    if event_type == "version_failed":
        return {"status": "failed", "code": body.get("code"), "reason": body.get("reason")}
    return None
