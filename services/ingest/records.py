"""The ingest service's MongoDB records: projects, members, assets, versions, uploads.

Every race (two assets of one name, two uploads taking the next version
number, two completions of one upload) is decided by a unique index.
"""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from services.common.mongo import ASC, DESC, Index, insert_unique
from services.common.events import ProjectCreated, event_id_for
from services.common.outbox import outbox_indexes, record_event

INDEXES = [
    Index("projects", (("name_key", ASC),), unique=True),
    Index("project_members", (("user_id", ASC),)),
    Index("project_members", (("project_id", ASC),)),
    Index("member_changes", (("project_id", ASC), ("at", ASC))),
    Index("assets", (("project_id", ASC), ("name_key", ASC)), unique=True),
    Index("versions", (("asset_id", ASC), ("number", ASC)), unique=True),
    Index("versions", (("project_id", ASC), ("created_at", DESC))),
    Index("uploads", (("created_by", ASC), ("created_at", DESC))),
    Index("uploads", (("state", ASC), ("created_at", ASC))),
    Index("uploads", (("s3_upload_id", ASC),)),
    Index("version_states", (("version_id", ASC), ("at", ASC))),
] + outbox_indexes("ingest")

NUMBERING_ATTEMPTS = 50


def now() -> datetime:
    return datetime.now(timezone.utc)


def new_id() -> str:
    return uuid.uuid4().hex


def name_key(name: str) -> str:
    return " ".join(name.split()).casefold()


# Projects -------------------------------------------------------------------

def create_project(db: Database, name: str, user_id: str, user_email: str = "",
                   user_name: str = "") -> tuple[dict, bool]:
    """(project, created): an existing project of the same name is returned as is.
    A new one is announced (project_created) for read models such as the dashboard."""
    doc = {"_id": new_id(), "name": name.strip(), "name_key": name_key(name), "created_at": now(), "created_by": user_id}
    if insert_unique(db.projects, doc):
        record_event(db, ProjectCreated(
            event_id=event_id_for("project_created", doc["_id"]), project_id=doc["_id"], name=doc["name"],
            created_by=user_id, created_by_email=user_email, created_by_name=user_name))
        return doc, True
    return db.projects.find_one({"name_key": doc["name_key"]}), False


def get_project(db: Database, project_id: str) -> dict | None:
    return db.projects.find_one({"_id": project_id})


def list_projects(db: Database, ids: list[str] | None = None) -> list[dict]:
    """All projects, or only those with these ids (a member's)."""
    query = {} if ids is None else {"_id": {"$in": ids}}
    return list(db.projects.find(query).sort("name_key", ASC))


# Members --------------------------------------------------------------------
# One document per (project, user), `_id` "<project_id>:<user_id>", so a user
# is a member once however many requests race to add them. Every change is
# also appended to `member_changes`, the history of who gave whom which role.

def member_id(project_id: str, user_id: str) -> str:
    return f"{project_id}:{user_id}"


def _record_change(db: Database, project_id: str, user_id: str, role: str | None, by: str) -> None:
    db.member_changes.insert_one({"_id": new_id(), "project_id": project_id, "user_id": user_id,
                                  "role": role, "by": by, "at": now()})


def add_member(db: Database, project_id: str, user_id: str, role: str, by: str) -> dict | None:
    """The new membership, or None when the user is a member already."""
    doc = {"_id": member_id(project_id, user_id), "project_id": project_id, "user_id": user_id,
           "role": role, "added_by": by, "added_at": now()}
    if not insert_unique(db.project_members, doc):
        return None
    _record_change(db, project_id, user_id, role, by)
    return doc


def get_member(db: Database, project_id: str, user_id: str) -> dict | None:
    return db.project_members.find_one({"_id": member_id(project_id, user_id)})


def list_members(db: Database, project_id: str) -> list[dict]:
    return list(db.project_members.find({"project_id": project_id}).sort("added_at", ASC))


def memberships_of(db: Database, user_id: str) -> dict[str, str]:
    """{project_id: role} for every project the user belongs to."""
    return {m["project_id"]: m["role"] for m in db.project_members.find({"user_id": user_id})}


def set_member_role(db: Database, project_id: str, user_id: str, role: str, by: str) -> None:
    # Two owners changing one member's role at once: the last write wins, and
    # both changes are in the history. Nothing else depends on the order.
    db.project_members.update_one({"_id": member_id(project_id, user_id)}, {"$set": {"role": role}})
    _record_change(db, project_id, user_id, role, by)


def remove_member(db: Database, project_id: str, user_id: str, by: str) -> bool:
    removed = db.project_members.delete_one({"_id": member_id(project_id, user_id)}).deleted_count > 0
    if removed:
        _record_change(db, project_id, user_id, None, by)
    return removed


# Assets ---------------------------------------------------------------------

def get_or_create_asset(db: Database, project_id: str, name: str, user_id: str) -> dict:
    doc = {
        "_id": new_id(), "project_id": project_id, "name": name.strip(), "name_key": name_key(name),
        "created_at": now(), "created_by": user_id,
    }
    if insert_unique(db.assets, doc):
        return doc
    return db.assets.find_one({"project_id": project_id, "name_key": doc["name_key"]})


def list_assets(db: Database, project_id: str) -> list[dict]:
    return list(db.assets.find({"project_id": project_id}).sort("name_key", ASC))


# Versions -------------------------------------------------------------------

def insert_next_version(db: Database, version: dict) -> dict:
    """Insert with the next free number of its asset (1, 2, 3 …).

    The number is decided by the unique (asset_id, number) index: a racer that
    loses retries with the next number. The version's `_id` is fixed by the
    caller, so a retried completion finds its version instead of making another.
    """
    for _ in range(NUMBERING_ATTEMPTS):
        highest = db.versions.find_one({"asset_id": version["asset_id"]}, sort=[("number", DESC)])
        candidate = {**version, "number": (highest["number"] + 1) if highest else 1}
        try:
            db.versions.insert_one(candidate)
            return candidate
        except DuplicateKeyError:
            existing = db.versions.find_one({"_id": version["_id"]})
            if existing:
                return existing
    raise RuntimeError(f"could not number a version of asset {version['asset_id']}")


def get_version(db: Database, version_id: str) -> dict | None:
    return db.versions.find_one({"_id": version_id})


def list_versions(db: Database, project_id: str, asset_id: str | None = None) -> list[dict]:
    query = {"project_id": project_id}
    if asset_id:
        query["asset_id"] = asset_id
    return list(db.versions.find(query).sort([("asset_name_key", ASC), ("number", ASC)]))


# Uploads --------------------------------------------------------------------

def claim_open_upload(db: Database, resume_key: str, upload_id: str) -> str:
    """The upload id for this file: ours if we are first, else the open one to resume."""
    if insert_unique(db.open_uploads, {"_id": resume_key, "upload_id": upload_id, "at": now()}):
        return upload_id
    existing = db.open_uploads.find_one({"_id": resume_key})
    return existing["upload_id"] if existing else upload_id


def release_open_upload(db: Database, resume_key: str, upload_id: str) -> None:
    # Only this upload's claim: a newer upload of the same file may hold the key now.
    db.open_uploads.delete_one({"_id": resume_key, "upload_id": upload_id})


def count_open_uploads(db: Database, user_id: str) -> int:
    return db.uploads.count_documents({"created_by": user_id, "state": "open"})


def upload_with_s3_id(db: Database, s3_upload_id: str) -> dict | None:
    return db.uploads.find_one({"s3_upload_id": s3_upload_id})


def open_uploads_started_before(db: Database, when: datetime) -> list[dict]:
    return list(db.uploads.find({"state": "open", "created_at": {"$lt": when}}).limit(500))


def insert_upload(db: Database, upload: dict) -> bool:
    """False when another request inserted an upload with this id first."""
    return insert_unique(db.uploads, upload)


def get_upload(db: Database, upload_id: str) -> dict | None:
    return db.uploads.find_one({"_id": upload_id})


def mark_upload_completed(db: Database, upload_id: str, version_id: str, asset_id: str) -> None:
    db.uploads.update_one(
        {"_id": upload_id},
        {"$set": {"state": "completed", "version_id": version_id, "asset_id": asset_id, "completed_at": now()}},
    )


def set_upload_state(db: Database, upload_id: str, state: str) -> None:
    db.uploads.update_one({"_id": upload_id}, {"$set": {"state": state}})


def delete_upload(db: Database, upload_id: str) -> None:
    db.uploads.delete_one({"_id": upload_id})


# Statuses --------------------------------------------------------------------

def insert_state(db: Database, event_id: str, version_id: str, state: dict) -> bool:
    """Append a state; the event id as `_id` makes a replayed event a no-op (False)."""
    return insert_unique(db.version_states, {"_id": event_id, "version_id": version_id, "at": now(), **state})


def states_of(db: Database, version_ids: list[str]) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {v: [] for v in version_ids}
    for state in db.version_states.find({"version_id": {"$in": version_ids}}):
        found[state["version_id"]].append(state)
    return found


def save_progress(db: Database, version_id: str, percent: float, stage: str | None) -> None:
    # Progress is a gauge, not a record: the last report wins, and a lost
    # race only shows a slightly older percentage for a second.
    db.version_progress.replace_one(
        {"_id": version_id}, {"_id": version_id, "percent": percent, "stage": stage, "at": now()}, upsert=True
    )


def progress_of(db: Database, version_ids: list[str]) -> dict[str, dict]:
    return {p["_id"]: p for p in db.version_progress.find({"_id": {"$in": version_ids}})}
