"""The local stack that `make test` brings up (framegate/stack.py): every infra
server runs on loopback, `up` is idempotent, credentials are private, and
nothing answers anonymously."""
from __future__ import annotations

import io
import os
import stat
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import amqp
import pytest
from minio import Minio
from minio.error import S3Error

from framegate import stack
from services.common.settings import PORT_OFFSETS

pytestmark = pytest.mark.skipif(
    "FRAMEGATE_DATA" not in os.environ, reason="needs the test stack that `make test` starts and exports"
)

# Loopback requests must never go through a proxy from the environment.
_HTTP = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def data_dir() -> Path:
    return Path(os.environ["FRAMEGATE_DATA"])


def port(name: str) -> int:
    return int(os.environ["FRAMEGATE_PORT_BASE"]) + PORT_OFFSETS[name]


def stack_env() -> dict[str, str]:
    return stack.read_env_file(data_dir() / stack.ENV_FILE)


def http_get(url: str, headers: dict | None = None) -> tuple[int, dict]:
    try:
        with _HTTP.open(urllib.request.Request(url, headers=headers or {}), timeout=10) as resp:
            return resp.status, dict(resp.headers)
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers)


def basic_auth(user: str, password: str) -> dict:
    import base64

    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def test_status_reports_every_infra_component_running():
    info = stack.status(data_dir())
    for name in stack.INFRA:
        assert info[name]["state"] == "running", (name, info[name])
        assert info[name]["healthy"], (name, info[name])
        assert info[name]["pid"]
    expected_ports = {"postgres": "postgres", "ferretdb": "mongo", "s3": "s3", "rabbitmq": "amqp", "nginx": "http"}
    assert {name: info[name]["port"] for name in expected_ports} == {
        name: port(offset) for name, offset in expected_ports.items()
    }


def _listening_addresses() -> dict[int, set[str]]:
    """{port: {local address in /proc/net hex}} of every listening TCP socket."""
    found: dict[int, set[str]] = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A":  # LISTEN
                address, hexport = fields[1].rsplit(":", 1)
                found.setdefault(int(hexport, 16), set()).add(address)
    return found


def test_every_infra_port_listens_on_loopback_only():
    loopback = {"0100007F", "00000000000000000000000001000000"}  # 127.0.0.1, ::1
    listening = _listening_addresses()
    names = ["postgres", "mongo", "ferretdb_debug", "s3", "amqp", "amqp_management", "amqp_dist", "http"]
    for name in names:
        assert port(name) in listening, f"nothing listens on {name} ({port(name)})"
        assert listening[port(name)] <= loopback, (name, listening[port(name)])


def test_up_again_is_a_no_op_that_keeps_every_process():
    before = {name: c["pid"] for name, c in stack.status(data_dir()).items()}
    result = subprocess.run(
        [sys.executable, "-m", "framegate.stack", "up", "--data", str(data_dir())],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "nothing changed" in result.stdout, result.stdout
    after = {name: c["pid"] for name, c in stack.status(data_dir()).items()}
    assert after == before
    assert all(before[name] for name in stack.INFRA)


def test_credentials_file_is_private_and_complete():
    path = data_dir() / stack.ENV_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    env = stack_env()
    for key in ("FRAMEGATE_PORT_BASE", "FRAMEGATE_MONGO_URL", "FRAMEGATE_AMQP_URL", "FRAMEGATE_S3_ENDPOINT",
                "FRAMEGATE_S3_PUBLIC_ENDPOINT", "FRAMEGATE_S3_ACCESS_KEY", "FRAMEGATE_S3_SECRET_KEY",
                "FRAMEGATE_SECRET_KEY", "FRAMEGATE_SETUP_KEY", "FRAMEGATE_PUBLIC_URL", "FRAMEGATE_DATA"):
        assert env.get(key), key
        assert os.environ[key] == env[key], f"make test exports {key} from the stack"
    generated = [env[k] for k in ("FRAMEGATE_S3_SECRET_KEY", "FRAMEGATE_SECRET_KEY", "FRAMEGATE_SETUP_KEY",
                                  "FRAMEGATE_STACK_PG_PASSWORD", "FRAMEGATE_STACK_AMQP_PASSWORD")]
    assert len(set(generated)) == len(generated) and min(map(len, generated)) >= 32
    assert "guest" not in env["FRAMEGATE_AMQP_URL"]


def test_rabbitmq_rejects_guest_and_accepts_the_generated_user():
    env = stack_env()
    user, password = env["FRAMEGATE_STACK_AMQP_USER"], env["FRAMEGATE_STACK_AMQP_PASSWORD"]
    good = amqp.Connection(host=f"127.0.0.1:{port('amqp')}", userid=user, password=password, connect_timeout=5)
    good.connect()
    good.close()
    guest = amqp.Connection(host=f"127.0.0.1:{port('amqp')}", userid="guest", password="guest", connect_timeout=5)
    with pytest.raises(amqp.exceptions.AccessRefused):
        guest.connect()
    management = f"http://127.0.0.1:{port('amqp_management')}/api/whoami"
    assert http_get(management, basic_auth("guest", "guest"))[0] == 401
    assert http_get(management, basic_auth(user, password))[0] == 200


def test_s3_gateway_refuses_anonymous_access():
    env = stack_env()
    endpoint = env["FRAMEGATE_S3_ENDPOINT"]
    client = Minio(endpoint, access_key=env["FRAMEGATE_S3_ACCESS_KEY"],
                   secret_key=env["FRAMEGATE_S3_SECRET_KEY"], secure=False)
    bucket = f"framegate-stacktest-{uuid.uuid4().hex[:8]}"
    client.make_bucket(bucket)
    try:
        client.put_object(bucket, "hello.txt", io.BytesIO(b"hello"), 5)
        assert client.get_object(bucket, "hello.txt").read() == b"hello"
        assert http_get(f"http://{endpoint}/{bucket}/hello.txt")[0] == 403
        assert http_get(f"http://{endpoint}/{bucket}")[0] == 403
        assert http_get(f"http://{endpoint}/")[0] == 403
        wrong = Minio(endpoint, access_key=env["FRAMEGATE_S3_ACCESS_KEY"], secret_key="not-the-secret", secure=False)
        with pytest.raises(S3Error):
            wrong.list_buckets()
    finally:
        client.remove_object(bucket, "hello.txt")
        client.remove_bucket(bucket)


def test_nginx_answers_on_the_http_port():
    assert stack_env()["FRAMEGATE_PUBLIC_URL"] == f"http://127.0.0.1:{port('http')}"
    status, headers = http_get(f"http://127.0.0.1:{port('http')}/api/v1/me")
    assert headers.get("Server") == "nginx"
    if stack.status(data_dir())["ingest"]["state"] == "running":
        # nginx is the front door to ingest: the same answer as ingest gives directly
        assert status == http_get(f"http://127.0.0.1:{port('ingest')}/api/v1/me")[0] == 401
    else:
        assert status == 502
    # health and metrics are the services' own ports' business, not the public's
    assert http_get(f"http://127.0.0.1:{port('http')}/healthz")[0] == 404


@pytest.mark.slow
def test_rabbitmq_stops_and_starts_again_with_its_state():
    env = stack_env()
    user, password = env["FRAMEGATE_STACK_AMQP_USER"], env["FRAMEGATE_STACK_AMQP_PASSWORD"]
    stack.stop_component(data_dir(), "rabbitmq")
    try:
        assert stack.status(data_dir())["rabbitmq"]["state"] == "stopped"
        with pytest.raises(OSError):
            amqp.Connection(host=f"127.0.0.1:{port('amqp')}", userid=user, password=password,
                            connect_timeout=2).connect()
    finally:
        assert stack.start_component(data_dir(), "rabbitmq") == "started"
    assert stack.status(data_dir())["rabbitmq"]["state"] == "running"
    conn = amqp.Connection(host=f"127.0.0.1:{port('amqp')}", userid=user, password=password, connect_timeout=5)
    conn.connect()  # the generated user survived the restart ...
    conn.close()
    with pytest.raises(amqp.exceptions.AccessRefused):  # ... and guest stays deleted
        amqp.Connection(host=f"127.0.0.1:{port('amqp')}", userid="guest", password="guest",
                        connect_timeout=5).connect()
