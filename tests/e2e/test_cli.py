"""The framegate command against the real stack, as an editor uses it."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import requests

from framegate.batch import LocalFile
from services.common import accounts
from tests import media
from tests.integration.uploading import put_parts

FRAMEGATE = [sys.executable, "-m", "framegate.cli"]


def run(*args, env=None, input=None) -> subprocess.CompletedProcess:
    return subprocess.run([*FRAMEGATE, *args], capture_output=True, text=True, env=env, input=input, timeout=300)


def json_lines(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


@pytest.fixture
def project_name():
    return f"Acme Spring {uuid.uuid4().hex[:6]}"


def test_upload_gives_version_1_with_facts_then_version_2(media_dir, project_name):
    clip = media.make_mov_25_tc(media_dir)
    first = run("upload", str(clip), "--project", project_name, "--asset", "Hero 60s", "--json")
    assert first.returncode == 0, first.stderr
    [record] = json_lines(first.stdout)
    assert record["version"] == 1 and record["status"] == "uploaded" and record["error"] is None
    assert record["frames"] == 50 and record["fps"] == 25 and record["start_timecode"] == "10:00:00:00"
    assert record["duration"] == pytest.approx(2.0, abs=0.05)
    assert record["sha256"] == hashlib.sha256(clip.read_bytes()).hexdigest()
    for key in ("project_id", "asset_id", "version_id"):
        assert record[key]

    second = run("upload", str(clip), "--project", project_name, "--asset", "Hero 60s", "--json")
    assert second.returncode == 0, second.stderr
    assert json_lines(second.stdout)[0]["version"] == 2

    listed = run("versions", "--project", project_name, "--json")
    assert [v["version"] for v in json_lines(listed.stdout)] == [1, 2]
    table = run("versions", "--project", project_name)
    assert "Hero 60s" in table.stdout and "10:00:00:00" in table.stdout


def test_many_files_in_one_command_and_a_bad_one_fails_alone(media_dir, project_name, tmp_path):
    good = [media.make_h264_2398(media_dir), media.make_wav_stereo(media_dir)]
    bad = media.make_truncated_mp4(media_dir)
    result = run("upload", *map(str, good + [bad]), "--project", project_name, "--json")
    assert result.returncode != 0
    records = {Path(r["file"]).name: r for r in json_lines(result.stdout)}
    assert records[good[0].name]["status"] == "uploaded" and records[good[0].name]["fps"] == pytest.approx(23.976, abs=0.001)
    assert records[good[1].name]["status"] == "uploaded"
    assert records[bad.name]["error"] == "truncated" and records[bad.name]["version_id"] is None
    human = run("upload", str(bad), "--project", project_name)
    assert human.returncode != 0 and "truncated" in (human.stderr + human.stdout).lower()


def test_a_rerun_after_an_interruption_sends_only_the_missing_parts(admin, media_dir, project_name, tmp_path):
    big = media.make_large_avi(tmp_path)
    project = admin.post("/api/v1/projects", json={"name": project_name}).json()
    # The interrupted first run: the upload was opened and only part 1 arrived.
    spec = LocalFile.from_path(big).spec()
    item = admin.post("/api/v1/uploads", json={"project_id": project["id"], "files": [spec]}).json()["uploads"][0]
    put_parts(item, big, only={1})

    rerun = run("upload", str(big), "--project", project_name, "--json")
    assert rerun.returncode == 0, rerun.stderr
    [record] = json_lines(rerun.stdout)
    assert record["upload_id"] == item["upload_id"]
    assert record["bytes_resumed"] == item["part_size"]
    assert record["bytes_sent"] == big.stat().st_size - item["part_size"]
    assert record["version"] == 1


def test_wait_ends_at_the_final_status(media_dir, project_name):
    result = run("upload", str(media.make_png(media_dir)), "--project", project_name, "--wait", "--json")
    assert result.returncode == 0, result.stderr
    assert json_lines(result.stdout)[0]["status"] == "ready"


def test_login_saves_a_working_token_and_a_wrong_password_changes_nothing(api_url, db, tmp_path, media_dir, project_name):
    email = f"cli-{uuid.uuid4().hex[:6]}@example.test"
    accounts.create_user(db, email, "CLI User", "member", "a long passphrase")
    env = {**os.environ, "FRAMEGATE_CONFIG": str(tmp_path / "config.json")}
    wrong = run("login", "--url", api_url, "--email", email, "--password-stdin", env=env, input="nope\n")
    assert wrong.returncode != 0 and "wrong" in wrong.stderr.lower()
    assert not (tmp_path / "config.json").exists()

    right = run("login", "--url", api_url, "--email", email, "--password-stdin", env=env, input="a long passphrase\n")
    assert right.returncode == 0, right.stderr
    saved = json.loads((tmp_path / "config.json").read_text())
    assert oct((tmp_path / "config.json").stat().st_mode & 0o777) == "0o600"
    me = requests.get(api_url + "/api/v1/me", headers={"Authorization": f"Bearer {saved['token']}"}, timeout=30)
    assert me.json()["email"] == email
    uploaded = run("upload", str(media.make_h264_2398(media_dir)), "--project", project_name, "--json", env=env)
    assert uploaded.returncode == 0, uploaded.stderr


def test_a_rejected_token_gets_an_actionable_error(api_url, tmp_path, media_dir):
    env = {**os.environ, "FRAMEGATE_CONFIG": str(tmp_path / "c.json"), "FRAMEGATE_URL": api_url, "FRAMEGATE_TOKEN": "fg_not-a-token"}
    result = run("upload", str(media.make_h264_2398(media_dir)), "--project", "X", "--json", env=env)
    assert result.returncode != 0
    assert "framegate login" in result.stderr


def test_progress_bar_on_a_terminal(media_dir, project_name, tmp_path):
    big = media.make_large_avi(tmp_path)
    script = shutil.which("script")
    if script is None:
        pytest.fail("util-linux `script` is needed to give the CLI a terminal")
    command = " ".join([*FRAMEGATE, "upload", str(big), "--project", f"'{project_name}'"])
    result = subprocess.run([script, "-qec", command, "/dev/null"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout
    assert "MB/s" in result.stdout and "100%" in result.stdout


def test_an_admin_adds_a_user_from_the_cli_who_changes_the_password(api_url, tmp_path):
    email = f"cli-added-{uuid.uuid4().hex[:6]}@example.test"
    added = run("users", "add", email, "--name", "Cli Added", "--json")
    assert added.returncode == 0, added.stderr
    password = json_lines(added.stdout)[0]["password"]
    env = {**os.environ, "FRAMEGATE_CONFIG": str(tmp_path / "config.json")}
    assert run("login", "--url", api_url, "--email", email, "--password-stdin", env=env,
               input=password + "\n").returncode == 0
    changed = run("passwd", "--password-stdin", env=env, input=f"{password}\nmy-own-long-passphrase\n")
    assert changed.returncode == 0, changed.stderr
    relogin = run("login", "--url", api_url, "--email", email, "--password-stdin", env=env,
                  input="my-own-long-passphrase\n")
    assert relogin.returncode == 0, relogin.stderr
    listed = run("users")
    assert email in listed.stdout


def test_members_add_list_and_remove(api_url, db, project_name):
    email = f"crew-{uuid.uuid4().hex[:6]}@example.test"
    accounts.create_user(db, email, "Crew Member", "member", "a long passphrase")
    assert run("projects", "create", project_name).returncode == 0

    added = run("members", "add", email, "--project", project_name, "--role", "viewer")
    assert added.returncode == 0, added.stderr
    assert f"added {email} to {project_name} as viewer" in added.stdout
    changed = run("members", "--project", project_name, "set", email, "--role", "editor", "--json")
    assert changed.returncode == 0 and json_lines(changed.stdout)[0]["role"] == "editor"
    listed = json_lines(run("members", "--project", project_name, "--json").stdout)
    assert sorted((m["role"], m["email"] == email) for m in listed) == [("editor", True), ("owner", False)]
    assert email in run("members", "--project", project_name).stdout

    removed = run("members", "remove", email, "--project", project_name)
    assert removed.returncode == 0, removed.stderr
    again = run("members", "remove", email, "--project", project_name)
    assert again.returncode != 0 and "is not a member" in again.stderr
    assert email not in run("members", "--project", project_name).stdout
    bad = run("members", "add", "nobody@example.test", "--project", project_name)
    assert bad.returncode != 0 and "nobody@example.test" in bad.stderr
def test_an_admin_disables_and_resets_a_user_from_the_cli_and_people_revoke_their_tokens(api_url, tmp_path):
    email = f"cli-admin-{uuid.uuid4().hex[:6]}@example.test"
    password = json_lines(run("users", "add", email, "--json").stdout)[0]["password"]
    env = {**os.environ, "FRAMEGATE_CONFIG": str(tmp_path / "config.json")}
    assert run("login", "--url", api_url, "--email", email, "--password-stdin", env=env,
               input=password + "\n").returncode == 0
    # their own tokens: listed, and one revoked
    extra = requests.post(api_url + "/api/v1/auth/login", json={"email": email, "password": password}, timeout=30)
    listed = json_lines(run("tokens", "--json", env=env).stdout)
    assert len(listed) == 2 and sum(t["current"] for t in listed) == 1
    other = next(t["id"] for t in listed if not t["current"])
    assert run("tokens", "revoke", other, env=env).returncode == 0
    assert requests.get(api_url + "/api/v1/me", headers={"Authorization": f"Bearer {extra.json()['token']}"},
                        timeout=30).status_code == 401

    disabled = run("users", "disable", email)
    assert disabled.returncode == 0 and "disabled" in disabled.stdout, disabled.stderr
    assert "disabled" in run("users").stdout
    refused = run("projects", env=env)
    assert refused.returncode != 0 and "disabled" in refused.stderr
    assert run("users", "enable", email).returncode == 0

    reset = run("users", "reset-password", email)
    assert reset.returncode == 0, reset.stderr
    new = reset.stdout.split("new password: ")[1].split()[0]
    assert new != password
    assert run("login", "--url", api_url, "--email", email, "--password-stdin", env=env,
               input=password + "\n").returncode != 0
    assert run("login", "--url", api_url, "--email", email, "--password-stdin", env=env,
               input=new + "\n").returncode == 0
    assert run("users", "disable", "nobody-" + email).returncode != 0
