"""The command line itself: parsing, stack delegation, errors people can act on, --wait."""
import socket
import sys
import types

import pytest
import requests

from framegate import cli, config
from framegate.client import ApiClient, ApiError, TokenRejected, Unreachable, error_from_response
from framegate.batch import UploadResult, wait_for_results


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    for name in ("FRAMEGATE_URL", "FRAMEGATE_TOKEN", "FRAMEGATE_PORT_BASE", "FRAMEGATE_DATA", "XDG_CONFIG_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FRAMEGATE_CONFIG", str(tmp_path / "config.json"))


@pytest.fixture
def fake_stack(monkeypatch):
    calls = []

    class StackError(RuntimeError):
        pass

    def up(data, port_base):
        calls.append(("up", data, port_base))
        return {"nginx": "started"}

    def down(data):
        calls.append(("down", data))
        raise StackError("no stack in /x; run `up` first")

    def status(data):
        calls.append(("status", data))
        return {"nginx": {"state": "running", "pid": 7, "port": 18080, "healthy": True}}

    module = types.SimpleNamespace(up=up, down=down, status=status, StackError=StackError)
    monkeypatch.setitem(sys.modules, "framegate.stack", module)
    return calls


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def response(status: int, body: str, content_type="application/json") -> requests.Response:
    resp = requests.Response()
    resp.status_code, resp._content, resp.url, resp.reason = status, body.encode(), "http://h/api/v1/x", "Reason"
    resp.headers["Content-Type"] = content_type
    return resp


def test_up_down_status_delegate_to_the_stack_with_the_repo_data_dir(fake_stack, capsys):
    assert cli.main(["up"]) == 0
    assert fake_stack[-1] == ("up", config.default_data_dir(), None)  # None: the data dir's own port base
    assert cli.main(["up", "--data", "/tmp/d", "--port-base", "28000"]) == 0
    assert fake_stack[-1] == ("up", cli.Path("/tmp/d"), 28000)
    assert cli.main(["status", "--data", "/tmp/d"]) == 0
    assert fake_stack[-1] == ("status", cli.Path("/tmp/d"))
    assert capsys.readouterr().out.split() == ["nginx", "running", "18080", "pid", "7"]


def test_the_port_base_comes_from_the_environment(fake_stack, monkeypatch):
    monkeypatch.setenv("FRAMEGATE_PORT_BASE", "28000")
    monkeypatch.setenv("FRAMEGATE_DATA", "/tmp/test-stack")
    assert cli.main(["up"]) == 0
    assert fake_stack[-1] == ("up", cli.Path("/tmp/test-stack"), 28000)


def test_a_stack_error_is_one_line_and_exit_1(fake_stack, capsys):
    assert cli.main(["down"]) == 1
    assert capsys.readouterr().err == "framegate: no stack in /x; run `up` first\n"


def test_no_command_prints_help():
    assert cli.main([]) == cli.EXIT_USAGE


def test_not_signed_in(capsys):
    assert cli.main(["projects"]) == 1
    assert capsys.readouterr().err == "framegate: not signed in: run `framegate login` (or `make up`)\n"


def test_connection_refused_names_the_url(capsys):
    port = closed_port()
    config.save_credentials(f"http://127.0.0.1:{port}", "tok", "a@b.test")
    assert cli.main(["versions", "--project", "P"]) == 1
    err = capsys.readouterr().err
    assert f"cannot reach Framegate at http://127.0.0.1:{port} (connection refused)" in err
    assert "framegate up" in err


def test_upload_checks_every_path_before_talking_to_anyone(capsys, tmp_path):
    assert cli.main(["upload", str(tmp_path / "missing.mov"), "--project", "P"]) == 1
    assert "missing.mov: no such file" in capsys.readouterr().err


def test_upload_refuses_parallel_zero(capsys, tmp_path):
    (tmp_path / "a.mov").write_bytes(b"x")
    assert cli.main(["upload", str(tmp_path / "a.mov"), "--project", "P", "--parallel", "0"]) == 1
    assert "--parallel must be at least 1" in capsys.readouterr().err


def test_login_with_password_stdin_needs_an_email(capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", types.SimpleNamespace(readline=lambda: "secret\n"))
    assert cli.main(["login", "--password-stdin"]) == 1
    assert "--email is needed" in capsys.readouterr().err


def test_login_reports_an_unreachable_url(capsys, monkeypatch):
    port = closed_port()
    monkeypatch.setattr("sys.stdin", types.SimpleNamespace(readline=lambda: "secret\n"))
    assert cli.main(["login", "--url", f"http://127.0.0.1:{port}", "--email", "a@b.test", "--password-stdin"]) == 1
    assert f"cannot reach Framegate at http://127.0.0.1:{port}" in capsys.readouterr().err
    assert not config.config_path().exists()


def test_a_rejected_token_says_to_sign_in_again_and_where_the_token_came_from():
    err = error_from_response(response(401, '{"error": "unauthorized", "message": "That token is revoked"}'),
                              token_source="FRAMEGATE_TOKEN")
    assert isinstance(err, TokenRejected)
    assert str(err) == ("token rejected: run framegate login "
                        "(That token is revoked; the token came from FRAMEGATE_TOKEN)")
    plain = error_from_response(
        response(401, '{"error": "unauthorized", "message": "Bad token: run framegate login."}'))
    assert str(plain) == "token rejected: run framegate login"


def test_a_refused_sign_in_keeps_the_servers_message():
    err = error_from_response(response(401, '{"error": "invalid_credentials", "message": "Wrong e-mail or password."}'),
                              signed_in=False)
    assert isinstance(err, ApiError) and err.code == "invalid_credentials"
    assert str(err) == "Wrong e-mail or password. [invalid_credentials]"


def test_an_error_without_json_still_says_what_answered():
    err = error_from_response(response(502, "<html>Bad Gateway</html>", "text/html"))
    assert err.code == "http_502" and "HTTP 502 Reason from http://h/api/v1/x" in err.message


def test_the_client_needs_a_sign_in_before_any_signed_in_call():
    with pytest.raises(Exception, match="not signed in"):
        ApiClient("http://127.0.0.1:1").projects()


def test_unreachable_is_raised_for_a_closed_port():
    with pytest.raises(Unreachable, match="connection refused"):
        ApiClient(f"http://127.0.0.1:{closed_port()}", "tok").projects()


# --wait -------------------------------------------------------------------------------

class Versions:
    """Answers GET /api/v1/versions/<id> from a script of statuses."""

    def __init__(self, statuses):
        self.statuses, self.polls = list(statuses), 0

    def version(self, version_id):
        self.polls += 1
        status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
        return {"id": version_id, "number": 1, "asset_name": "Hero", "status": status}


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def ok_result():
    return UploadResult("a.mov", "a.mov", "p1", 1, version={"id": "v1", "status": "uploaded"})


def test_wait_polls_through_unfinished_and_unknown_statuses_and_reports_each_poll():
    api, clock, seen = Versions(["transcoding", "playable", "brand_new_state", "ready"]), Clock(), []
    result = ok_result()
    wait_for_results(api, [result], timeout=60, on_update=lambda v: seen.append(v["status"]), clock=clock,
                     sleep=clock.sleep)
    assert result.ok and result.version["status"] == "ready"
    assert seen == ["transcoding", "playable", "brand_new_state", "ready"]


def test_wait_times_out_with_a_clear_message():
    api, clock = Versions(["transcoding"]), Clock()
    result = ok_result()
    wait_for_results(api, [result], timeout=5, interval=1, clock=clock, sleep=clock.sleep)
    assert result.error == "wait_timeout"
    assert "still 'transcoding'" in result.message and "waited 5s" in result.message
    assert api.polls == 6


def test_a_failed_version_fails_its_file():
    api, clock = Versions(["failed"]), Clock()
    result = ok_result()
    wait_for_results(api, [result], timeout=5, clock=clock, sleep=clock.sleep)
    assert result.error == "version_failed" and not result.ok


def test_the_wait_reporter_prints_status_changes_with_progress_off_a_terminal(capsys):
    reporter = cli.WaitReporter()
    for status, percent in (("uploaded", 0.0), ("transcoding", 10.0), ("transcoding", 40.0), ("ready", 100.0)):
        reporter({"id": "v1", "asset_name": "Hero", "number": 2, "status": status, "progress": percent})
    assert capsys.readouterr().err == "Hero v2: uploaded\nHero v2: transcoding 10%\nHero v2: ready\n"
