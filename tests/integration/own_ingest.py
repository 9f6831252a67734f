"""An ingest process of a test's own, on the test stack's servers, for settings
the stack's ingest does not have (tiny limits, ages and timeouts) and for
stopping or killing it. With `own_db` it also has its own MongoDB database, so
the stack's ingest (which also runs completions) never touches its records."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid

import requests

from services.common import accounts
from services.common.mongo import connect
from services.common.settings import load_settings
from tests.conftest import Api


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=10).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} never became healthy")


class OwnIngest:
    """gunicorn running services.ingest.app with extra FRAMEGATE_* settings."""

    def __init__(self, env: dict[str, str] | None = None, db_name: str | None = None):
        self.db_name = db_name
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        extra = dict(env or {})
        if db_name:
            extra["FRAMEGATE_MONGO_DB"] = db_name
        self.process = subprocess.Popen(
            [os.path.join(os.path.dirname(sys.executable), "gunicorn"), "-c", "python:services.common.gunicorn_conf",
             "--bind", f"127.0.0.1:{self.port}", "services.ingest.app:create_app()"],
            env={**os.environ, "FRAMEGATE_SERVICE": "ingest", **extra}, stderr=subprocess.PIPE, text=True,
        )
        try:
            wait_healthy(self.base + "/healthz")
        except BaseException:
            self.stop()  # never leave a server behind
            raise

    def login(self, email: str) -> Api:
        """`email` (from make_admin) signed in on this ingest."""
        response = requests.post(self.base + "/api/v1/auth/login", json={"email": email, "password": PASSWORD},
                                 timeout=30)
        assert response.status_code == 200, response.text
        return Api(self.base, response.json()["token"])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(30)


def own_database_name() -> str:
    return f"framegate_own_{uuid.uuid4().hex[:8]}"


PASSWORD = "correct horse battery"


def make_admin(db_name: str | None) -> str:
    """A new admin in that database (None: the stack's); returns the e-mail."""
    db = connect(load_settings())
    if db_name:
        db = db.client[db_name]
    email = f"own-{uuid.uuid4().hex[:8]}@example.test"
    accounts.create_user(db, email, "Own Admin", "admin", PASSWORD)
    return email
