"""Detached processes on this machine, for the local stack: liveness, process
groups, stopping, and the probes that tell whether a server answers.

Nothing here knows about a stack or its components. Standard library only.
"""
from __future__ import annotations

import contextlib
import os
import pwd
import signal
import socket
import struct
import sys
import time
import urllib.error
import urllib.request
from http.client import HTTPException
from pathlib import Path

# urllib must never send loopback requests through an HTTP proxy from the environment.
_HTTP = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def say(msg: str) -> None:
    try:
        print(msg, flush=True)
    except BrokenPipeError:  # `... up | head`: keep going, quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def warn(msg: str) -> None:
    print(f"warning: {msg}", file=sys.stderr, flush=True)


# ----------------------------------------------------------------------- processes


def proc_stat(pid: int) -> list[str] | None:
    """Fields of /proc/<pid>/stat after the command name (state first), or None."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw.rsplit(")", 1)[1].split()


def alive(pid: int) -> bool:
    # Reap it if it is our child; elsewhere nobody may reap it: this machine's
    # init does not, so a dead detached process lingers as a zombie.
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)
    fields = proc_stat(pid)
    return fields is not None and fields[0] not in ("Z", "X")


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def group_members(pgid: int) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = proc_stat(int(entry))
            if fields and fields[0] not in ("Z", "X") and int(fields[2]) == pgid:
                pids.append(int(entry))
    return pids


def wait_dead(pids: list[int], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        if not any(alive(p) for p in pids):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)


def terminate(name: str, pid: int, sig: signal.Signals, grace: float) -> None:
    """`sig`, then SIGKILL after `grace` seconds; then sweep its process group.

    Each component runs in its own session, so its process group is its pid.
    The shared Erlang port mapper (epmd) is never killed: both stacks use it.
    """
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)
    if not wait_dead([pid], grace):
        warn(f"{name} (pid {pid}) did not stop within {grace:.0f}s of {sig.name}; sending SIGKILL")
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        wait_dead([pid], 10)
    leftovers = [p for p in group_members(pid) if "epmd" not in cmdline(p)]
    if leftovers and not wait_dead(leftovers, 5):
        for p in leftovers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(p, signal.SIGKILL)
        wait_dead(leftovers, 5)


def user_kwargs(user: str | None) -> dict:
    """subprocess arguments that run a command as `user` (None: as ourselves)."""
    if user is None:
        return {}
    pw = pwd.getpwnam(user)
    return {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": []}


def base_env() -> dict[str, str]:
    """The caller's environment without any other stack's FRAMEGATE_* settings."""
    return {k: v for k, v in os.environ.items() if not k.startswith("FRAMEGATE_")}


def tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()[-lines:]
    except OSError:
        return ""
    return "\n".join("    " + line for line in text)


# -------------------------------------------------------------------------- probes


def port_open(port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout):
            return True
    except OSError:
        return False


def http_request(url: str, method: str = "GET", headers: dict | None = None, body: bytes | None = None,
                 timeout: float = 3.0) -> tuple[int | None, bytes]:
    req = urllib.request.Request(url, method=method, headers=headers or {}, data=body)
    try:
        with _HTTP.open(req, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except (urllib.error.URLError, OSError, HTTPException):
        return None, b""


def _bson(doc: dict) -> bytes:
    """The few BSON types a ping and a PLAIN sign-in need: int32, string, binary."""
    body = b""
    for key, value in doc.items():
        name = key.encode() + b"\x00"
        if isinstance(value, bool) or isinstance(value, int):
            body += b"\x10" + name + struct.pack("<i", int(value))
        elif isinstance(value, str):
            raw = value.encode() + b"\x00"
            body += b"\x02" + name + struct.pack("<i", len(raw)) + raw
        else:
            body += b"\x05" + name + struct.pack("<i", len(value)) + b"\x00" + bytes(value)
    return struct.pack("<i", len(body) + 5) + body + b"\x00"


def _command(sock: socket.socket, doc: dict) -> bool:
    """One OP_MSG; True when the reply says ok: 1."""
    payload = _bson(doc)
    sock.sendall(struct.pack("<iiii", 16 + 4 + 1 + len(payload), 1, 0, 2013) + struct.pack("<I", 0) + b"\x00" + payload)
    header = _recv_exact(sock, 16)
    reply = _recv_exact(sock, struct.unpack("<i", header[:4])[0] - 16)
    # flagBits (4), section kind 0 (1), then the reply document: {ok: 1.0, ...}
    ok_double, ok_int = b"\x01ok\x00" + struct.pack("<d", 1.0), b"\x10ok\x00" + struct.pack("<i", 1)
    return ok_double in reply[5:] or ok_int in reply[5:]


def mongo_ping(port: int, timeout: float = 3.0, user: str | None = None, password: str | None = None) -> bool:
    """`{ping: 1}` over the MongoDB wire protocol, after a PLAIN sign-in when
    credentials are given (FerretDB passes them to PostgreSQL); standard library only."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
            if user is not None and not _command(sock, {
                    "saslStart": 1, "mechanism": "PLAIN", "payload": b"\x00" + user.encode() + b"\x00" + (
                        password or "").encode(), "$db": "$external"}):
                return False
            return _command(sock, {"ping": 1, "$db": "admin"})
    except OSError:
        return False


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("connection closed")
        data += chunk
    return data
