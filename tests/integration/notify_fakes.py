"""The outside world notify talks to, as local servers that record what
arrives: an HTTP server standing in for Slack and a customer's webhook
endpoint, and an SMTP server (aiosmtpd)."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller


@dataclass
class Received:
    path: str
    headers: dict
    body: bytes
    at: float


@dataclass
class RecordingHttp:
    """Answers each path with the statuses queued for it (then 200), and records every request."""

    requests: list[Received] = field(default_factory=list)
    scripts: dict[str, list[tuple[int, dict]]] = field(default_factory=dict)
    failing: set[str] = field(default_factory=set)  # paths answering 500 until removed
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def answer(self, path: str, *responses: tuple[int, dict]) -> None:
        self.scripts[path] = list(responses)

    def to(self, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.requests if r.path == path]

    def start(self) -> "RecordingHttp":
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with recorder.lock:
                    recorder.requests.append(Received(self.path, dict(self.headers), body, time.time()))
                    script = recorder.scripts.get(self.path) or []
                    status, headers = script.pop(0) if script else (
                        (500, {}) if self.path in recorder.failing else (200, {}))
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class RecordingSmtp:
    """An SMTP server on a fixed port (the notify worker's FRAMEGATE_SMTP_PORT) keeping every message."""

    def __init__(self, port: int):
        self.messages: list[tuple[list[str], object]] = []
        recorder = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                parsed = message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
                recorder.messages.append((list(envelope.rcpt_tos), parsed))
                return "250 OK"

        self.controller = Controller(Handler(), hostname="127.0.0.1", port=port)

    def to(self, address: str) -> list:
        return [m for rcpt, m in list(self.messages) if address in rcpt]

    def start(self) -> "RecordingSmtp":
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()
