"""Review links in MongoDB: review's adapter for `review_links`,
`link_revocations`, `link_sessions`, `link_access`, `link_downloads` and
`link_password_failures`.

A link is written once. Revoking it inserts a revocation (its `_id` is the
link's), so two owners revoking at once both succeed and one event is
recorded. A reviewer's viewing session is one insert; what it played is
appended as reports and merged on reading. Nothing here is read-modify-write
(FerretDB would lose it). Tokens and session secrets are stored only as their
SHA-256.
"""
from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import datetime, timedelta, timezone

from pymongo.database import Database

from services.common.events import Event
from services.common.mongo import ASC, DESC, Index, insert_unique
from services.common.outbox import outbox_indexes, record_event

from .watching import merge_ranges

INDEXES = [
    Index("review_links", (("token_sha256", ASC),), unique=True),
    Index("review_links", (("project_id", ASC), ("created_at", ASC))),
    Index("link_sessions", (("secret_sha256", ASC),), unique=True),
    Index("link_sessions", (("link_id", ASC), ("created_at", ASC))),
    Index("link_access", (("session_id", ASC), ("at", ASC))),
    Index("link_access", (("link_id", ASC), ("at", ASC))),
    Index("link_password_failures", (("link_id", ASC), ("ip", ASC), ("at", DESC))),
    Index("link_downloads", (("link_id", ASC), ("at", ASC))),
    *outbox_indexes("review"),
]
PASSWORD_WINDOW = timedelta(minutes=30)  # wrong guesses older than this are forgotten


def now() -> datetime:
    return datetime.now(timezone.utc)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_id() -> str:
    return uuid.uuid4().hex


def insert_link(db: Database, link: dict, event: Event) -> None:
    """Store a new link, then its event (link ids are fresh: no retry lands here twice)."""
    db.review_links.insert_one({**link, "created_at": link.get("created_at") or now()})
    record_event(db, event)


def _with_revocation(db: Database, link: dict | None) -> dict | None:
    if link is None:
        return None
    revocation = db.link_revocations.find_one({"_id": link["_id"]})
    if revocation:
        link = {**link, "revoked_at": revocation["at"], "revoked_by": revocation["by"]}
    return link


def link_by_token(db: Database, token: str) -> dict | None:
    if not isinstance(token, str) or not 20 <= len(token) <= 100:
        return None
    return _with_revocation(db, db.review_links.find_one({"token_sha256": digest(token)}))


def get_link(db: Database, link_id: str) -> dict | None:
    return _with_revocation(db, db.review_links.find_one({"_id": link_id}))


def links_of_project(db: Database, project_id: str) -> list[dict]:
    links = list(db.review_links.find({"project_id": project_id}).sort("created_at", ASC))
    revoked = {r["_id"]: r for r in db.link_revocations.find({"_id": {"$in": [l["_id"] for l in links]}})}
    return [{**l, "revoked_at": revoked[l["_id"]]["at"], "revoked_by": revoked[l["_id"]]["by"]}
            if l["_id"] in revoked else l for l in links]


def revoke(db: Database, link_id: str, by: str, event: Event) -> bool:
    """Revoke for good; False if it already was. The event is recorded either way (a retry's)."""
    created = insert_unique(db.link_revocations, {"_id": link_id, "by": by, "at": now()})
    if created:
        record_event(db, event)
    return created


# ------------------------------------------------------------- passwords

def password_failures(db: Database, link_id: str, ip: str) -> tuple[int, datetime | None]:
    """Recent wrong guesses at a link's password from one address: (count, latest)."""
    since = now() - PASSWORD_WINDOW
    query = {"link_id": link_id, "ip": ip, "at": {"$gte": since}}
    count = db.link_password_failures.count_documents(query)
    latest = db.link_password_failures.find_one(query, sort=[("at", DESC)]) if count else None
    return count, latest["at"] if latest else None


def record_password_failure(db: Database, link_id: str, ip: str) -> None:
    # One insert per guess: counting inserts is exact under concurrency, a counter is not.
    db.link_password_failures.insert_one({"link_id": link_id, "ip": ip, "at": now()})


# -------------------------------------------------------------- sessions

def new_session_secret() -> str:
    return secrets.token_urlsafe(32)  # 256 bits, like the link token


def insert_session(db: Database, session: dict, secret: str, event: Event) -> None:
    db.link_sessions.insert_one({**session, "secret_sha256": digest(secret), "created_at": now()})
    record_event(db, event)


def session_for(db: Database, link_id: str, secret: str) -> dict | None:
    """The viewing session this secret opened on this link (a secret of another link is nothing here)."""
    if not secret:
        return None
    found = db.link_sessions.find_one({"secret_sha256": digest(secret)})
    return found if found and found["link_id"] == link_id else None


def add_watched(db: Database, session: dict, ranges: list[list[int]]) -> None:
    """Append one report of played frame ranges; the log merges them when read."""
    # As {first, last} documents: FerretDB 1.24 refuses nested arrays.
    db.link_access.insert_one({"session_id": session["_id"], "link_id": session["link_id"],
                               "ranges": [{"first": a, "last": b} for a, b in ranges], "at": now()})


def record_progress(db: Database, event: Event) -> None:
    """A playback_progress event (its id says which milestone, so a repeat records nothing)."""
    record_event(db, event)


def _pairs(doc: dict) -> list[list[int]]:
    return [[r["first"], r["last"]] for r in doc["ranges"]]


def watched_of(db: Database, session_id: str) -> list[list[int]]:
    return merge_ranges([r for doc in db.link_access.find({"session_id": session_id}) for r in _pairs(doc)])


def record_download(db: Database, session: dict, version_id: str, ip: str) -> None:
    """One download URL handed to a session (one insert each: the log counts them)."""
    db.link_downloads.insert_one({"session_id": session["_id"], "link_id": session["link_id"],
                                  "version_id": version_id, "ip": ip, "at": now()})


def sessions_of(db: Database, link_id: str) -> list[dict]:
    """Every viewing session of a link, oldest first, each with its merged watched ranges and downloads."""
    sessions = list(db.link_sessions.find({"link_id": link_id}).sort("created_at", ASC))
    reports: dict[str, list] = {s["_id"]: [] for s in sessions}
    for doc in db.link_access.find({"link_id": link_id}):
        reports.setdefault(doc["session_id"], []).extend(_pairs(doc))
    downloads: dict[str, int] = {}
    for doc in db.link_downloads.find({"link_id": link_id}):
        downloads[doc["session_id"]] = downloads.get(doc["session_id"], 0) + 1
    return [{**s, "watched": merge_ranges(reports[s["_id"]]), "downloads": downloads.get(s["_id"], 0)}
            for s in sessions]
