"""The local stack's FerretDB is not open to every local user: without the
stack's credentials (PLAIN, passed on to PostgreSQL) nothing reads or writes."""
from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from pymongo import MongoClient
from pymongo.errors import OperationFailure, PyMongoError


def client(url: str) -> MongoClient:
    return MongoClient(url, serverSelectionTimeoutMS=5000, connectTimeoutMS=5000)


def test_a_client_without_the_stacks_credentials_is_refused(settings):
    parts = urlsplit(settings.mongo_url)
    anonymous = f"mongodb://{parts.hostname}:{parts.port}/"
    with client(anonymous) as stranger:
        with pytest.raises(PyMongoError):
            stranger[settings.mongo_db].users.find_one()
        with pytest.raises(PyMongoError):
            stranger["elsewhere"].notes.insert_one({"x": 1})
    wrong = f"mongodb://postgres:guess@{parts.hostname}:{parts.port}/?authMechanism=PLAIN"
    with client(wrong) as guesser:
        with pytest.raises((OperationFailure, PyMongoError)):
            guesser[settings.mongo_db].users.find_one()


def test_the_stacks_own_url_works(settings):
    with client(settings.mongo_url) as own:
        assert own[settings.mongo_db].command("ping")["ok"] == 1
        own[settings.mongo_db].users.find_one()
