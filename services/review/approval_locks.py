"""What approval has frozen, as review needs to know it before a note changes
or a link opens.

Once a gate closes, the version it approved is locked: the notes it had then
are part of the approved record and cannot be edited or change status. Notes
added afterwards are allowed but carry a "post-approval scope change" mark
(the record of a retroactive request), and replies to them are ordinary.
An archived project is read-only: no notes, no new links, its links expired.

Review asks approval's API at the moment of each write instead of keeping a
copy built from `version_locked` events: the event arrives a moment after the
closure, and an edit or an unmarked note landing in that moment would change
the approved record without a trace; the closure itself is the only answer
that is right from the instant the gate closes. Reads ask only whether the
project is archived (its links expire), and go on if approval does not answer.
"""
from __future__ import annotations

from dataclasses import dataclass
import requests
from flask import current_app

from services.common.web import SERVICE_KEY_HEADER, ApiError

from .link_rules import LinkRefused

EXTENSION = "framegate_approval_locks"


@dataclass(frozen=True)
class VersionLock:
    gate_id: str
    stage: str
    locked_at: str  # ISO 8601 UTC, the gate's closure

    def as_mark(self) -> dict:
        """What a note added after the lock keeps about it."""
        return {"gate_id": self.gate_id, "stage": self.stage, "locked_at": self.locked_at}


@dataclass(frozen=True)
class Frozen:
    archived: dict | None  # {archived_at, archived_by, reason}
    version: VersionLock | None


class ApprovalLocks:
    """Asks approval (as the read-only service) whether a version is locked or its project archived."""

    def __init__(self, base_url: str, reader_key: str, timeout: float = 10.0):
        self.base = base_url.rstrip("/")
        self.reader_key = reader_key
        self.timeout = timeout
        self.http = requests.Session()
        self.http.trust_env = False  # loopback calls never go through a proxy

    def frozen(self, project_id: str, version_id: str | None = None) -> Frozen:
        try:
            response = self.http.get(f"{self.base}/api/v1/approval/projects/{project_id}/locks",
                                     params={"version_id": version_id} if version_id else None,
                                     timeout=self.timeout, headers={SERVICE_KEY_HEADER: self.reader_key})
            response.raise_for_status()
            found = response.json()
            lock = found["version"]
        except (requests.RequestException, ValueError, KeyError):
            # Without an answer a change might break an approved record: refuse, retryably.
            raise ApiError(503, "approval_unavailable", "Cannot check the version's approval right now; "
                           "try again in a moment.", retry_after=2) from None
        return Frozen(found.get("archived"), None if lock is None else
                      VersionLock(lock["gate_id"], lock["stage"], lock["locked_at"]))


    def current_gate(self, project_id: str, version_id: str) -> dict | None:
        """The project's current stage's title and scope if this version is up for its gate
        (what a link that allows approving shows); None otherwise or when approval does not answer."""
        try:
            response = self.http.get(f"{self.base}/api/v1/approval/projects/{project_id}/stage",
                                     timeout=self.timeout, headers={SERVICE_KEY_HEADER: self.reader_key})
            response.raise_for_status()
            stage = response.json()
        except (requests.RequestException, ValueError):
            return None
        if stage.get("version_id") != version_id:
            return None
        return {"title": stage.get("title") or stage.get("stage"), "scope": stage.get("scope") or ""}


def gate_for_link(link: dict, version_id: str) -> dict | None:
    locks = _locks()
    return locks.current_gate(link["project_id"], version_id) if locks and link.get("approve") else None


def install(app, locks: ApprovalLocks) -> None:
    app.extensions[EXTENSION] = locks


def _locks() -> ApprovalLocks | None:
    return current_app.extensions.get(EXTENSION)


def _frozen(project_id: str, version_id: str | None = None) -> Frozen:
    locks = _locks()
    return locks.frozen(project_id, version_id) if locks else Frozen(None, None)


def archived_message(archived: dict) -> str:
    why = "its final stage closed" if archived.get("reason") == "final_stage_closed" else "by its owners"
    return f"This project was archived ({why}, {archived.get('archived_at')}); it is read-only."


def _refuse_if_archived(frozen: Frozen) -> None:
    if frozen.archived:
        raise ApiError(409, "project_archived", archived_message(frozen.archived))


def archived(project_id: str) -> dict | None:
    """The project's archive, for pages and links; None too when approval does not answer (reading goes on)."""
    try:
        return _frozen(project_id).archived
    except ApiError:
        return None


def ensure_link_project_live(link: dict) -> None:
    """Archiving a project expires its links: 410 from that moment, like an expired link."""
    if archived(link["project_id"]):
        raise LinkRefused(410, "project_archived", "This production is archived and its review links have "
                          "expired; ask whoever sent it for the archive.")


def ensure_project_open(project_id: str) -> None:
    """Refuse (409) a change in an archived project (a new link); 503 when approval does not answer."""
    _refuse_if_archived(_frozen(project_id))


def mark_for_new_note(version: dict) -> dict | None:
    """The post-approval mark a new note on this version carries, or None while it is not locked;
    refused (409) in an archived project."""
    frozen = _frozen(version["project_id"], version["id"])
    _refuse_if_archived(frozen)
    return frozen.version.as_mark() if frozen.version else None


def ensure_note_may_change(note: dict) -> None:
    """Refuse (409) an edit or status change of a note that is part of an approved record."""
    frozen = _frozen(note["project_id"], note["version_id"])
    _refuse_if_archived(frozen)
    lock = frozen.version
    if lock is None or note.get("post_approval"):
        return  # notes added after the approval are the team's to handle
    raise ApiError(409, "version_locked", f"This version was approved at stage {lock.stage!r} "
                   f"({lock.locked_at}); its notes from before the approval cannot change. "
                   "Add a new note instead: it is marked as a post-approval scope change.",
                   gate_id=lock.gate_id, stage=lock.stage, locked_at=lock.locked_at)



SCOPE_CHANGE_TAG = "[Post-approval scope change]"


def flagged_for_export(note: dict) -> dict:
    """The note (and its replies) as exports print it: a note added after the approval says so
    in its text, since marker formats (EDL, Avid, FCP, OTIO) carry nothing else."""
    replies = [flagged_for_export(r) for r in note.get("replies", [])]
    if note.get("post_approval_scope_change"):
        return {**note, "text": f"{SCOPE_CHANGE_TAG} {note['text']}", "replies": replies}
    return {**note, "replies": replies}
