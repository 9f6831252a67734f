"""Services stop cleanly on SIGTERM: in-flight work finishes, exit status 0."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time

import requests

from tests import media
from tests.integration.uploading import file_sha256, put_parts, start


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except (requests.ConnectionError, requests.Timeout):  # a worker still importing on a busy machine
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} never became healthy")


def test_ingest_finishes_a_completion_in_flight_then_exits_0_on_sigterm(admin, project, tmp_path):
    port = free_port()
    env = {**os.environ, "FRAMEGATE_SERVICE": "ingest"}
    server = subprocess.Popen(
        [os.path.join(os.path.dirname(sys.executable), "gunicorn"), "-c", "python:services.common.gunicorn_conf",
         "--bind", f"127.0.0.1:{port}", "services.ingest.app:create_app()"],
        env=env, stderr=subprocess.PIPE, text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_healthy(base + "/healthz")
        big = media.make_large_avi(tmp_path)
        item = start(admin, project["id"], big).json()["uploads"][0]
        put_parts(item, big)
        answer = {}

        def complete():
            answer["response"] = requests.post(
                f"{base}/api/v1/uploads/{item['upload_id']}/complete", json={"sha256": file_sha256(big)},
                headers=admin.session.headers, timeout=60,
            )

        caller = threading.Thread(target=complete)
        caller.start()
        time.sleep(0.1)  # the request is being handled: hashing and probing ~20 MB
        server.send_signal(signal.SIGTERM)
        caller.join(60)
        assert server.wait(30) == 0
        assert answer["response"].status_code == 201, answer["response"].text
        assert '"Shutting down: Master"' in server.stderr.read()
    finally:
        if server.poll() is None:
            server.kill()


def test_outbox_relay_exits_0_on_sigterm():
    port = free_port()
    relay = subprocess.Popen(
        [sys.executable, "-m", "services.common.outbox_relay", "--service", "ingest", "--port", str(port)],
        stderr=subprocess.PIPE, text=True,
    )
    try:
        wait_healthy(f"http://127.0.0.1:{port}/healthz")
        relay.send_signal(signal.SIGTERM)
        assert relay.wait(15) == 0
        assert '"relay stopped"' in relay.stderr.read()
    finally:
        if relay.poll() is None:
            relay.kill()
