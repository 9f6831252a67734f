"""A local HTTP store that serves one file with ranged reads and cuts every
response short until a deadline: a store restarting mid-read.

It runs as its own process (`python -m tests.integration.flaky_store FILE
DEADLINE_FILE PORT_FILE`) so that the test process, blocked in ffprobe, can
never starve it: in-process, the server thread and the probe shared one
interpreter and the CI run timed out with the server never answering.
"""
from __future__ import annotations

import http.server
import sys
import time
from pathlib import Path


def serve(path: Path, deadline_file: Path, port_file: Path) -> None:
    data = path.read_bytes()

    def failing() -> bool:
        try:
            return time.time() < float(deadline_file.read_text() or 0)
        except (OSError, ValueError):
            return False

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            start, end = 0, len(data) - 1
            ranged = self.headers.get("Range", "")
            if ranged.startswith("bytes="):
                first, _, last = ranged[6:].partition("-")
                start, end = int(first or 0), int(last) if last else len(data) - 1
            body = data[start:end + 1]
            self.send_response(206 if ranged else 200)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Accept-Ranges", "bytes")
            if ranged:
                self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
            self.end_headers()
            self.wfile.write(body[: len(body) // 3] if failing() else body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port_file.write_text(str(server.server_address[1]))
    server.serve_forever()


if __name__ == "__main__":
    serve(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]))
