"""/healthz and /metrics for processes that are not web apps (relays, workers)."""
from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

log = logging.getLogger(__name__)


def serve_ops(port: int, check_health: Callable[[], dict], host: str = "127.0.0.1") -> ThreadingHTTPServer:
    """Serve in a daemon thread; check_health raises when a dependency is down."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path == "/metrics":
                self._send(200, generate_latest(), CONTENT_TYPE_LATEST)
            elif self.path == "/healthz":
                try:
                    body, code = {"status": "ok", "checks": check_health()}, 200
                except Exception as err:
                    body, code = {"status": "unavailable", "error": str(err)}, 503
                self._send(code, json.dumps(body).encode(), "application/json")
            else:
                self._send(404, b'{"error": "not_found"}', "application/json")

        def _send(self, code: int, body: bytes, content_type: str) -> None:
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):  # access logs would drown the JSON logs
            pass

    server = ThreadingHTTPServer((host, port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True, name="ops-http").start()
    return server
