"""`framegate workflow|gate|submit|stage|advance|approve|certificate` against
the real stack: --json output, and a non-zero exit with the reason on failure."""
from __future__ import annotations

import json
import uuid

import pytest

from framegate import cli
from tests.integration.test_approval_api import ready_version, signed_in  # noqa: F401 (fixture)


def run(capsys, *argv, token=None, monkeypatch=None):
    if token:
        monkeypatch.setenv("FRAMEGATE_TOKEN", token)
    elif monkeypatch:
        monkeypatch.delenv("FRAMEGATE_TOKEN", raising=False)
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def as_user(capsys, monkeypatch):
    def call(token, *argv):
        return run(capsys, *argv, token=token, monkeypatch=monkeypatch)
    return call


def test_a_gate_from_the_command_line(api_url, db, admin, project, ready_version, as_user, tmp_path):
    cd, client = signed_in(api_url, db, "director", admin, project), signed_in(api_url, db, "client", admin, project)
    boss = admin.session.headers["Authorization"][7:]
    ckey, dkey = client.session.headers["Authorization"][7:], cd.session.headers["Authorization"][7:]
    name = project["name"]

    code, out, _ = as_user(boss, "workflow", "list", "--json")
    assert code == 0 and {"name": "episodic", "title": "Episodic (per episode)", "stages": 12} in map(json.loads, out.splitlines())
    code, out, _ = as_user(boss, "workflow", "show", "commercial")
    assert code == 0 and "client-final" in out
    code, _, err = as_user(boss, "workflow", "show", "nope")
    assert code == 1 and "unknown_template" in err

    code, _, err = as_user(boss, "gate", "set", name, "--stage", "brief-concept", "--approver", "not-an-email")
    assert code == 1 and "not an e-mail" in err
    code, out, _ = as_user(boss, "gate", "set", name, "--stage", "brief-concept", "--approver", cd.email,
                           client.email, "--sequential", "--json")
    assert code == 0 and (json.loads(out)["status"], json.loads(out)["rule"]) == ("awaiting_version", "all")
    code, out, _ = as_user(boss, "submit", name, "--version", ready_version["id"], "--json")
    gate_id = json.loads(out)["gate_id"]
    assert code == 0 and json.loads(out)["status"] == "open"

    code, _, err = as_user(boss, "advance", name)
    assert code == 1 and cd.email in err and client.email in err
    code, _, err = as_user(ckey, "approve", "--gate", gate_id, "--decision", "approve")
    assert code == 1 and "out_of_turn" in err
    assert as_user(dkey, "approve", "--gate", gate_id, "--decision", "approve")[0] == 0
    code, out, _ = as_user(ckey, "approve", "--gate", gate_id, "--decision", "approve", "--json")
    assert code == 0 and json.loads(out)["stage"]["closed"] is True

    code, out, _ = as_user(boss, "stage", name, "--stage", "brief-concept", "--json")
    stage = json.loads(out)
    assert code == 0 and stage["closed"] and [a["decision"] for a in stage["approvers"]] == ["approve", "approve"]
    assert stage["version_id"] == ready_version["id"] and stage["pending"] == []

    pdf = tmp_path / "cert.pdf"
    code, out, _ = as_user(boss, "certificate", "get", gate_id, "-o", str(pdf), "--json")
    assert code == 0 and json.loads(out)["certificate_id"] == stage["certificate_id"]
    code, out, _ = as_user(boss, "certificate", "verify", str(pdf))
    assert code == 0 and out.startswith("VALID")
    data = bytearray(pdf.read_bytes())
    data[len(data) // 2] ^= 0x01
    pdf.write_bytes(bytes(data))
    code, out, _ = as_user(boss, "certificate", "verify", str(pdf), "--json")
    assert code == 1 and json.loads(out)["valid"] is False


def test_projects_create_with_a_workflow_and_a_gate_with_a_parallel_path(api_url, admin, as_user):
    boss = admin.session.headers["Authorization"][7:]
    name = f"Spot {uuid.uuid4().hex[:6]}"
    code, out, err = as_user(boss, "projects", "create", name, "--workflow", "episodic", "--json")
    assert code == 0, err
    code, out, _ = as_user(boss, "stage", name, "--json")
    assert json.loads(out)["stage"] == "script"
    code, out, err = as_user(boss, "gate", "set", name, "--stage", "script", "--approver", "cd@studio.test",
                             "--path", "legal=legal@studio.test,brand@brand.test:1", "--json")
    assert code == 0, err
    paths = json.loads(out)["paths"]
    assert [(p["name"], p["rule"]) for p in paths] == [("main", "all"), ("legal", "1")]
    code, _, err = as_user(boss, "gate", "set", name, "--stage", "script", "--path", "legal")
    assert code == 1 and "NAME=EMAIL" in err
    refused = f"x {uuid.uuid4().hex[:6]}"
    code, _, err = as_user(boss, "projects", "create", refused, "--workflow", "nope")
    assert code == 1 and "unknown_template" in err
    assert refused not in as_user(boss, "projects")[1]  # nothing was created
