"""Services stop cleanly on SIGTERM: in-flight work finishes, exit status 0."""
from __future__ import annotations

import signal
import subprocess
import sys

import requests

from tests import media
from tests.integration.own_ingest import OwnIngest, free_port, wait_healthy
from tests.integration.uploading import file_sha256, put_parts, start, wait_for_completion


def test_ingest_exits_0_on_sigterm_and_an_acknowledged_completion_is_finished(admin, project, tmp_path):
    server = OwnIngest()
    try:
        big = media.make_large_avi(tmp_path)
        item = start(admin, project["id"], big).json()["uploads"][0]
        put_parts(item, big)
        asked = requests.post(f"{server.base}/api/v1/uploads/{item['upload_id']}/complete",
                              json={"sha256": file_sha256(big)}, headers=admin.session.headers, timeout=60)
        assert asked.status_code == 202, asked.text
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(30) == 0
        assert '"Shutting down: Master"' in server.process.stderr.read()
        # Acknowledged is durable: this process or the stack's ingest finishes it.
        done = wait_for_completion(admin, item["upload_id"], timeout=150)
        assert done["state"] == "done", done
    finally:
        server.stop()


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
