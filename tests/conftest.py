"""Fixtures for tests that talk to the real local stack that `make test` starts.

`make test` exports the test stack's FRAMEGATE_* variables (its own data
directory and ports) and XDG_CONFIG_HOME, where `up` left the first admin's token.
"""
from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import pytest
import requests

from services.common import accounts
from services.common.mongo import connect
from services.common.settings import load_settings
from services.common.storage import ObjectStore


@pytest.fixture(scope="session")
def settings():
    return load_settings()


@pytest.fixture(scope="session")
def db(settings):
    return connect(settings)


@pytest.fixture(scope="session")
def store(settings):
    return ObjectStore(settings)


@pytest.fixture(scope="session")
def api_url(settings):
    return settings.public_url.rstrip("/")


class Api:
    """A signed-in HTTP client of the platform, as the CLI or a browser would be."""

    def __init__(self, base: str, token: str | None):
        self.base = base
        self.session = requests.Session()
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def __getattr__(self, method):
        def call(path, **kwargs):
            kwargs.setdefault("timeout", 120)
            return self.session.request(method.upper(), self.base + path, **kwargs)

        return call


def _cli_config() -> dict:
    path = os.environ.get("FRAMEGATE_CONFIG") or (
        Path(os.environ.get("XDG_CONFIG_HOME", Path.home() / ".config")) / "framegate" / "config.json"
    )
    return json.loads(Path(path).read_text())


@pytest.fixture(scope="session")
def admin(api_url):
    """The first admin that `up` created; its token sits in the CLI config."""
    return Api(api_url, _cli_config()["token"])


def new_member(api_url: str, db, name: str = "Test Member") -> Api:
    """A fresh member account (no projects yet), signed in through the API."""
    email = f"{name.split()[0].lower()}-{uuid.uuid4().hex[:8]}@example.test"
    accounts.create_user(db, email, name, "member", "correct horse battery")
    response = requests.post(api_url + "/api/v1/auth/login", json={"email": email, "password": "correct horse battery"},
                             timeout=30)
    assert response.status_code == 200, response.text
    return Api(api_url, response.json()["token"])


@pytest.fixture
def member(api_url, db):
    """A fresh member account, signed in through the API."""
    return new_member(api_url, db)


def add_member(admin: Api, project_id: str, email: str, role: str = "editor") -> dict:
    """Make a user a member of a project (as the admin), the way an owner would."""
    response = admin.post(f"/api/v1/projects/{project_id}/members", json={"email": email, "role": role})
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture
def project(admin):
    response = admin.post("/api/v1/projects", json={"name": f"Project {uuid.uuid4().hex[:8]}"})
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("media")
