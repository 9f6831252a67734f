"""MongoDB access: one client per process, indexes declared by each owner.

Locally this is FerretDB on PostgreSQL, which loses concurrent
read-modify-write updates; anything two processes race on is decided by an
insert against a unique index (`insert_unique`), never by an update's filter.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from pymongo import ASCENDING, DESCENDING, MongoClient
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Index:
    collection: str
    keys: tuple[tuple[str, int], ...]
    unique: bool = False

    @property
    def name(self) -> str:
        return "_".join(f"{k}_{d}" for k, d in self.keys)


ASC, DESC = ASCENDING, DESCENDING


def connect(settings) -> Database:
    client = MongoClient(
        settings.mongo_url,
        serverSelectionTimeoutMS=5000,
        connectTimeoutMS=5000,
        w="majority",
        tz_aware=True,
        uuidRepresentation="standard",
    )
    return client[settings.mongo_db]


def ensure_indexes(db: Database, indexes: list[Index]) -> None:
    """Create the owner's indexes at start-up; creating an existing index is a no-op."""
    for index in indexes:
        db[index.collection].create_index(list(index.keys), unique=index.unique, name=index.name)


def insert_unique(collection, document: dict) -> bool:
    """Insert; False when a unique index says someone else got there first."""
    try:
        collection.insert_one(document)
        return True
    except DuplicateKeyError:
        return False


def ping(db: Database) -> None:
    db.command("ping")
