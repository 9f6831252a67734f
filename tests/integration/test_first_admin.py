"""The first admin: two steps (claim, then create the user) that survive a
crash between them, and an answer that survives being lost on the way to `up`."""
from __future__ import annotations

import json
import threading
import types
import uuid
from dataclasses import replace

import pytest
import requests
from werkzeug.serving import make_server

from framegate import stack
from services.common import accounts
from services.ingest.app import create_app


@pytest.fixture
def fresh(settings, db):
    """An ingest app on a database of its own, where no admin exists yet."""
    name = f"bootstrap_{uuid.uuid4().hex[:8]}"
    app = create_app(replace(settings, mongo_db=name))
    yield app, db.client[name]
    db.client.drop_database(name)


def bootstrap(client, settings, body=None):
    return client.post("/api/v1/auth/bootstrap", json=body or {}, headers={"X-Setup-Key": settings.setup_key})


def test_a_crash_after_the_claim_is_finished_by_the_next_bootstrap(fresh, settings):
    app, db = fresh
    accounts.claim_first_admin(db, "boss@example.test")  # step one, then the process died
    assert db.users.count_documents({}) == 0
    client = app.test_client()
    done = bootstrap(client, settings)
    assert done.status_code == 201, done.json
    assert done.json["email"] == "boss@example.test" and done.json["user"]["role"] == "admin"
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {done.json['token']}"}).status_code == 200
    assert bootstrap(client, settings).status_code == 409  # and only once


def test_a_lost_answer_is_recovered_with_the_same_password_only(fresh, settings):
    app, db = fresh
    client = app.test_client()
    first = bootstrap(client, settings, {"password": "chosen before asking"})
    assert first.status_code == 201 and "password" not in first.json
    again = bootstrap(client, settings, {"password": "chosen before asking"})
    assert again.status_code == 200
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {again.json['token']}"}).json["role"] == "admin"
    assert bootstrap(client, settings, {"password": "somebody else's guess"}).status_code == 409
    assert bootstrap(client, settings).status_code == 409
    assert db.users.count_documents({}) == 1


def test_up_killed_before_saving_the_token_signs_the_cli_in_on_the_next_up(fresh, settings, tmp_path, monkeypatch,
                                                                            capsys):
    app, db = fresh
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}"
        st = types.SimpleNamespace(env={"FRAMEGATE_PUBLIC_URL": url, "FRAMEGATE_SETUP_KEY": settings.setup_key},
                                   path=lambda *parts: tmp_path.joinpath(*parts))
        monkeypatch.setenv("FRAMEGATE_CONFIG", str(tmp_path / "config.json"))
        # The first `up` saved its choice and asked; it died before reading the answer.
        pending = stack._pending_first_admin(st)
        lost = requests.post(url + "/api/v1/auth/bootstrap", json=pending,
                             headers={"X-Setup-Key": settings.setup_key}, timeout=30)
        assert lost.status_code == 201 and not (tmp_path / "config.json").exists()
        stack._bootstrap_admin(st)  # the next `up`
        token = json.loads((tmp_path / "config.json").read_text())["token"]
        me = requests.get(url + "/api/v1/me", headers={"Authorization": f"Bearer {token}"}, timeout=30)
        assert me.status_code == 200 and me.json()["role"] == "admin"
        printed = capsys.readouterr()
        assert pending["password"] in printed.out + printed.err  # shown, once, by the `up` that finished
        assert (tmp_path / stack.BOOTSTRAP_MARKER).exists() and not (tmp_path / stack.BOOTSTRAP_PENDING).exists()
    finally:
        server.shutdown()
