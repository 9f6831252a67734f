"""Schemathesis against the live ingest API, signed in as a user of its own.

Every operation in /api/v1/openapi.json gets a bounded number of generated
requests, valid and invalid. Each must answer without a 5xx, with a status
code, content type and body the document promises, and a request answered
4xx must leave the database as it found it.

The fuzzer is a fresh admin (so it reaches the admin-only routes too) with a
token of its own: nothing it does can sign out the suite's admin. One route
is left out, on purpose:

- POST /api/v1/auth/logout revokes the token it is called with. Valid by
  design, it would sign the fuzzer itself out and turn every later request
  into a 401, so the rest of the API would go untested. Logout has its own
  tests (tests/integration/test_accounts.py).

Failed sign-ins are recorded on purpose (that is the per-address limit), so
`login_attempts` is not part of the state compared, and the attempts the
fuzzer made are removed afterwards so they do not lock later tests out.
The state compared is the database's; the object store is not (no 4xx the
fuzzer can reach touches it: a completion refused for its content, which
does remove the upload by contract, needs parts the fuzzer never sends).

The pytest integration of schemathesis that loads the document from a fixture
does not run on pytest 9.2 (it sets a node attribute pytest no longer has),
so the document is built in-process and checked to be the one served.
"""
from __future__ import annotations

import hashlib
import os
import uuid
from datetime import datetime, timezone

import bson
import pytest
import requests
import schemathesis
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from services.common.outbox import outbox_collection
from services.ingest import records
from services.ingest.openapi import openapi_document

# Generated requests per operation: about a minute for the whole API on a
# quiet 2-core machine.
MAX_EXAMPLES = 15
EXCLUDED = {("POST", "/api/v1/auth/logout")}
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, negative_data_rejection]

# What the API writes while it answers. Content is compared for the records
# only the API changes; for versions and the event outbox, which background
# services update after a request (status, published), only which records exist.
CONTENT = ("users", "api_tokens", "projects", "assets", "uploads", "bootstrap")
IDENTITY = ("versions", outbox_collection("ingest"))


def database_state(db) -> dict[str, str]:
    """A digest per collection: equal digests, nothing written."""
    state = {}
    for name in CONTENT + IDENTITY:
        digest = hashlib.sha256()
        projection = None if name in CONTENT else {"_id": 1}
        for doc in db[name].find({}, projection).sort("_id", 1):
            digest.update(bson.encode(doc))
        state[name] = digest.hexdigest()
    return state


class StateWatch:
    """The state after each request is the state before the next one (only the
    API writes what is compared), so each request costs one snapshot, not two."""

    def __init__(self, db):
        self.db, self.last = db, None

    def before(self) -> dict[str, str]:
        if self.last is None:
            self.last = database_state(self.db)
        return self.last

    def after(self) -> dict[str, str]:
        self.last = database_state(self.db)
        return self.last


@pytest.fixture(scope="module")
def state(db):
    return StateWatch(db)


@pytest.fixture(scope="module")
def fuzz_token(admin, api_url, db):
    """A fresh admin of the fuzzer's own, signed in through the API."""
    email = f"fuzzer-{uuid.uuid4().hex[:8]}@example.test"
    password = "fuzzer " + uuid.uuid4().hex
    created = admin.post("/api/v1/users", json={"email": email, "role": "admin", "password": password})
    assert created.status_code == 201, created.text
    started = datetime.now(timezone.utc)
    signed_in = requests.post(api_url + "/api/v1/auth/login", json={"email": email, "password": password}, timeout=30)
    assert signed_in.status_code == 200, signed_in.text
    yield signed_in.json()["token"]
    db.login_attempts.delete_many({"at": {"$gte": started}})


@pytest.fixture(scope="module")
def fuzz_project(db):
    """The project whose id the fuzzer knows (ids are the server's to choose, so it is made here)."""
    name = f"Fuzz {PROJECT_ID[:8]}"
    db.projects.insert_one({"_id": PROJECT_ID, "name": name, "name_key": records.name_key(name),
                            "created_at": records.now(), "created_by": "test"})


@pytest.fixture(scope="module")
def fuzz_headers(fuzz_token, fuzz_project):
    return {"Authorization": f"Bearer {fuzz_token}"}


# The document the fuzzer reads is the one the API serves (checked below); it
# is built here, not fetched, because pytest collects the operations before
# any fixture can say where the stack is. Half the generated project ids are
# that of a real project (the `fuzz_project` fixture makes it), so requests
# get past "unknown project" too. Likewise half the e-mail addresses are real
# addresses (so user creation gets past its e-mail check), and half the
# bootstrap calls carry the stack's real setup key (`make test` exports it).
PROJECT_ID = uuid.uuid4().hex
SETUP_KEY = os.environ.get("FRAMEGATE_SETUP_KEY") or "not set"
schema = schemathesis.openapi.from_dict(openapi_document(), config=schemathesis.Config.from_dict({
    # No example database: each run starts fresh, like the stack it runs against.
    "generation": {"max-examples": MAX_EXAMPLES, "with-security-parameters": False, "database": "none"},
    "dictionaries": {"project": {"values": [PROJECT_ID]}, "setup-key": {"values": [SETUP_KEY]},
                     "email": {"values": [f"fuzzed-{PROJECT_ID[:8]}-{n}@example.test" for n in range(3)]}},
    "parameters": {
        "body.email": {"dictionary": "email", "probability": 0.5},
        "path.project_id": {"dictionary": "project", "probability": 0.5},
        "body.project_id": {"dictionary": "project", "probability": 0.5},
        "header.X-Setup-Key": {"dictionary": "setup-key", "probability": 0.5},
    },
}))
for _method, _path in EXCLUDED:
    schema = schema.exclude(method=_method, path=_path)


def test_the_fuzzed_document_is_the_served_one(admin):
    assert admin.get("/api/v1/openapi.json").json() == openapi_document()


@schema.parametrize()
def test_no_server_error_and_a_refused_request_changes_nothing(case, state, api_url, fuzz_headers):
    before = state.before()
    try:
        response = case.call_and_validate(base_url=api_url, headers=fuzz_headers, checks=CHECKS, timeout=30)
    finally:
        after = state.after()
    if 400 <= response.status_code < 500:
        changed = sorted(name for name in before if before[name] != after[name])
        assert not changed, (f"{case.method} {case.formatted_path} answered {response.status_code} "
                             f"but changed {changed}: {response.text[:300]}")


def test_the_suites_own_admin_is_still_signed_in(admin):
    assert admin.get("/api/v1/me").status_code == 200
