"""The local stack: every server Framegate needs, on loopback, data under one directory.

    python -m framegate.stack {up,down,status,env} [--data DIR] [--port-base N]
    python -m framegate.stack {start,stop} NAME [--data DIR]

Infrastructure (PostgreSQL 15, FerretDB on it, the Versity S3 gateway, RabbitMQ,
nginx) and the platform services run as detached processes (each in its own
session), with their output in ``<data>/logs/<name>.log`` and their pid in
``<data>/run/<name>.pid``. Ports are ``port base + offset`` (see
``services.common.settings.PORT_OFFSETS``), so a test stack (``.data-test``, base
28000) runs beside the development stack (``.data``, base 18000).

The first ``up`` generates every credential with :mod:`secrets` and keeps them
in ``<data>/stack.env`` (mode 600), a ``KEY=value`` file with every
``FRAMEGATE_*`` variable the services read; ``env`` prints it. ``up`` is
idempotent: what is running and healthy is left alone. ``down`` stops services,
then infrastructure; data stays for the next ``up``.

Standard library only. The exact server command lines come from STACK.md.
"""
from __future__ import annotations

import argparse
import contextlib
import fcntl
import http.client
import json
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import stat
import string
import struct
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Iterator

from services.common import cdn
from services.common.settings import DEFAULT_PORT_BASE, MAX_LOCAL_WORKERS, PORT_OFFSETS

REPO = Path(__file__).resolve().parent.parent
CACHE_BIN = Path(os.environ.get("FRAMEGATE_CACHE", REPO / ".cache")) / "bin"
VENV = Path(os.environ.get("FRAMEGATE_VENV", REPO / ".venv"))
PG_BIN = Path("/usr/lib/postgresql/15/bin")
RABBIT_BIN = Path("/usr/lib/rabbitmq/bin")  # the server script itself, not /usr/sbin's wrapper
NGINX = Path("/usr/sbin/nginx")
EPMD = Path("/usr/bin/epmd")
NGINX_TEMPLATE = REPO / "deploy" / "local" / "nginx.conf.tmpl"
DEFAULT_DATA = REPO / ".data"
ENV_FILE = "stack.env"
BOOTSTRAP_MARKER = "admin-bootstrapped"
EPMD_PORT = 4369

INFRA = ("postgres", "ferretdb", "s3", "rabbitmq", "nginx")
WORKERS = tuple(f"transcode-worker-{i}" for i in range(1, MAX_LOCAL_WORKERS + 1))
SERVICES = ("ingest", "review", "outbox-relay", "ingest-status", "transcode-relay", "transcode-dispatch") + WORKERS
ORDER = INFRA + SERVICES

# Values in stack.env are written unquoted, so `set -a; . stack.env` and
# `eval "$(python -m framegate.stack env)"` work: keep them to shell-safe characters.
_SAFE_VALUE = re.compile(r"^[A-Za-z0-9_.:/@%+=,~-]*$")
# urllib must never send loopback requests through an HTTP proxy from the environment.
_HTTP = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class StackError(RuntimeError):
    """Something the person running the stack has to act on; the message says what."""


def say(msg: str) -> None:
    try:
        print(msg, flush=True)
    except BrokenPipeError:  # `... up | head`: keep going, quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def warn(msg: str) -> None:
    print(f"warning: {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- state


def resolve_data_dir(data_dir: str | os.PathLike | None) -> Path:
    if data_dir is None:
        data_dir = os.environ.get("FRAMEGATE_DATA") or DEFAULT_DATA
    return Path(data_dir).expanduser().resolve()


def read_env_file(path: Path) -> dict[str, str]:
    env: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.split("=", 1)
        env[key.strip()] = value.strip()
    return env


def _write_private(path: Path, text: str) -> None:
    """Write atomically with mode 600 (the file holds secrets)."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def _write_if_changed(path: Path, text: str) -> None:
    if not path.exists() or path.read_text() != text:
        path.write_text(text)


def _token(n: int = 32, alphabet: str = string.ascii_letters + string.digits) -> str:
    """A random secret of letters and digits only: safe unquoted in URLs and shells,
    and never starts with "-" (rabbitmqctl would take such a password for an option)."""
    return "".join(secrets.choice(alphabet) for _ in range(n))


def _s3_access_key() -> str:
    return "FG" + _token(18, string.ascii_uppercase + string.digits)


class Stack:
    """One stack: a data directory, its port base and its stack.env."""

    def __init__(self, data_dir=None, port_base: int | None = None, create: bool = False):
        self.data = resolve_data_dir(data_dir)
        self.env_path = self.data / ENV_FILE
        if not self.env_path.exists() and not create:
            raise StackError(f"no stack in {self.data} (no {ENV_FILE}); run `up` first")
        if create:
            self._create_dirs()
            # Two first `up`s at once must not generate two sets of secrets.
            with open(self.data / "run" / "env.lock", "w") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                self.env = self._load_env(port_base, create)
        else:
            self.env = self._load_env(port_base, create)
        self.base = int(self.env["FRAMEGATE_PORT_BASE"])

    # paths and ports
    def port(self, name: str) -> int:
        return self.base + PORT_OFFSETS[name]

    def path(self, *parts: str) -> Path:
        return self.data.joinpath(*parts)

    def log(self, name: str) -> Path:
        return self.data / "logs" / f"{name}.log"

    def pidfile(self, name: str) -> Path:
        return self.data / "run" / f"{name}.pid"

    def _create_dirs(self) -> None:
        if not self.data.exists():
            self.data.mkdir(parents=True)
            # Others may pass through (PostgreSQL and nginx workers run as their
            # own users) but not list it; secrets inside are mode 600 anyway.
            os.chmod(self.data, 0o711)
        for sub in ("logs", "run"):
            (self.data / sub).mkdir(exist_ok=True)

    def _load_env(self, port_base: int | None, create: bool) -> dict[str, str]:
        existing = read_env_file(self.env_path) if self.env_path.exists() else {}
        stored = existing.get("FRAMEGATE_PORT_BASE")
        if stored and port_base is not None and int(stored) != int(port_base):
            raise StackError(
                f"{self.data} was created with port base {stored}, not {port_base}; "
                f"use --port-base {stored}, or another --data directory for another port base")
        if not create:
            return existing
        base = int(stored or (port_base if port_base is not None else DEFAULT_PORT_BASE))
        env = dict(existing)

        def keep(key: str, make) -> str:
            if not env.get(key):
                env[key] = make()
            return env[key]

        keep("FRAMEGATE_STACK_PG_PASSWORD", lambda: _token(32))
        amqp_user = keep("FRAMEGATE_STACK_AMQP_USER", lambda: "framegate")
        amqp_password = keep("FRAMEGATE_STACK_AMQP_PASSWORD", lambda: _token(32))
        keep("FRAMEGATE_STACK_RABBIT_NODE", lambda: f"framegate{base}@localhost")
        keep("FRAMEGATE_S3_ACCESS_KEY", _s3_access_key)
        keep("FRAMEGATE_S3_SECRET_KEY", lambda: _token(40))
        keep("FRAMEGATE_SECRET_KEY", lambda: _token(64))
        keep("FRAMEGATE_SETUP_KEY", lambda: _token(32))
        port = lambda name: base + PORT_OFFSETS[name]  # noqa: E731
        s3 = f"127.0.0.1:{port('s3')}"
        keep("FRAMEGATE_MONGO_URL", lambda: f"mongodb://127.0.0.1:{port('mongo')}/")
        keep("FRAMEGATE_AMQP_URL",
             lambda: f"amqp://{amqp_user}:{amqp_password}@127.0.0.1:{port('amqp')}//")
        keep("FRAMEGATE_S3_ENDPOINT", lambda: s3)
        keep("FRAMEGATE_S3_PUBLIC_ENDPOINT", lambda: s3)
        keep("FRAMEGATE_PUBLIC_URL", lambda: f"http://127.0.0.1:{port('http')}")
        env["FRAMEGATE_PORT_BASE"] = str(base)
        env["FRAMEGATE_DATA"] = str(self.data)  # always where it is now, even if moved
        for key, value in env.items():
            if not _SAFE_VALUE.match(value):
                raise StackError(f"{self.env_path}: {key} has characters that are not shell-safe")
        if env != existing:
            order = sorted(env, key=lambda k: (k.startswith("FRAMEGATE_STACK_"), k))
            text = ("# Framegate local stack, generated by framegate/stack.py on first `up`.\n"
                    "# Secrets: keep this file private (mode 600). FRAMEGATE_STACK_* are the\n"
                    "# stack's own server credentials; the rest is what the services read.\n"
                    + "".join(f"{k}={env[k]}\n" for k in order))
            _write_private(self.env_path, text)
        os.chmod(self.env_path, 0o600)
        return env


@contextlib.contextmanager
def _locked(st: Stack) -> Iterator[None]:
    """One stack command at a time per data directory."""
    (st.data / "run").mkdir(parents=True, exist_ok=True)
    with open(st.data / "run" / "stack.lock", "w") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            say(f"another stack command is running on {st.data}; waiting for it")
            fcntl.flock(f, fcntl.LOCK_EX)
        yield


# ----------------------------------------------------------------------- processes


def _proc_stat(pid: int) -> list[str] | None:
    """Fields of /proc/<pid>/stat after the command name (state first), or None."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw.rsplit(")", 1)[1].split()


def _alive(pid: int) -> bool:
    # Reap it if it is our child; elsewhere nobody may reap it: this machine's
    # init does not, so a dead detached process lingers as a zombie.
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)
    fields = _proc_stat(pid)
    return fields is not None and fields[0] not in ("Z", "X")


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _group_members(pgid: int) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = _proc_stat(int(entry))
            if fields and fields[0] not in ("Z", "X") and int(fields[2]) == pgid:
                pids.append(int(entry))
    return pids


def _wait_dead(pids: list[int], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        if not any(_alive(p) for p in pids):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)


def _terminate(name: str, pid: int, sig: signal.Signals, grace: float) -> None:
    """`sig`, then SIGKILL after `grace` seconds; then sweep its process group.

    Each component runs in its own session, so its process group is its pid.
    The shared Erlang port mapper (epmd) is never killed: both stacks use it.
    """
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)
    if not _wait_dead([pid], grace):
        warn(f"{name} (pid {pid}) did not stop within {grace:.0f}s of {sig.name}; sending SIGKILL")
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        _wait_dead([pid], 10)
    leftovers = [p for p in _group_members(pid) if "epmd" not in _cmdline(p)]
    if leftovers and not _wait_dead(leftovers, 5):
        for p in leftovers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(p, signal.SIGKILL)
        _wait_dead(leftovers, 5)


def _port_open(port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout):
            return True
    except OSError:
        return False


def _http(url: str, method: str = "GET", headers: dict | None = None, body: bytes | None = None,
          timeout: float = 3.0) -> tuple[int | None, bytes]:
    req = urllib.request.Request(url, method=method, headers=headers or {}, data=body)
    try:
        with _HTTP.open(req, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except (urllib.error.URLError, OSError, http.client.HTTPException):
        return None, b""


def _tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()[-lines:]
    except OSError:
        return ""
    return "\n".join("    " + line for line in text)


def _base_env() -> dict[str, str]:
    """The caller's environment without any other stack's FRAMEGATE_* settings."""
    return {k: v for k, v in os.environ.items() if not k.startswith("FRAMEGATE_")}


# ---------------------------------------------------------------------- components


class Component:
    name = ""
    kind = "infra"
    match = ""  # must appear in /proc/<pid>/cmdline of the process we started
    ports: tuple[str, ...] = ()  # offsets in PORT_OFFSETS; the first is the one shown
    stop_signal = signal.SIGTERM
    grace = 30.0  # seconds between stop_signal and SIGKILL
    timeout = 30.0  # seconds to become ready
    settle = 0.0  # for components without a port: alive this long counts as ready

    def unavailable(self, st: Stack) -> str | None:
        """Why this component cannot run here (missing binary or module), or None."""
        return None

    def prepare(self, st: Stack) -> None:
        pass

    def command(self, st: Stack) -> list[str]:
        raise NotImplementedError

    def env(self, st: Stack) -> dict[str, str]:
        return _base_env()

    def user(self) -> str | None:
        return None

    def cwd(self, st: Stack) -> Path:
        return st.data

    def healthy(self, st: Stack) -> bool:
        """Up and ready (what `up` waits for after starting it)."""
        return all(_port_open(st.port(p)) for p in self.ports)

    def answers(self, st: Stack) -> bool:
        """Up, though perhaps reporting a dependency down (e.g. /healthz 503)."""
        return self.healthy(st)

    def after_start(self, st: Stack, deadline: float) -> None:
        pass

    def wanted(self) -> bool:
        """Whether `up` starts it (extra transcode workers only when asked for)."""
        return True

    def logs(self, st: Stack) -> list[Path]:
        return [st.log(self.name)]


class Postgres(Component):
    name = "postgres"
    match = "postgres"
    ports = ("postgres",)
    # SIGTERM is PostgreSQL's "smart" shutdown, which waits for every client to
    # disconnect; SIGINT is "fast": roll back sessions, checkpoint, exit cleanly.
    stop_signal = signal.SIGINT
    timeout = 60.0

    def user(self) -> str | None:
        # PostgreSQL refuses to run as root; as anyone else it runs as that user.
        return "postgres" if os.geteuid() == 0 else None

    def _ids(self) -> tuple[int, int]:
        user = self.user()
        if user is None:
            return os.getuid(), os.getgid()
        pw = pwd.getpwnam(user)
        return pw.pw_uid, pw.pw_gid

    def unavailable(self, st: Stack) -> str | None:
        if not (PG_BIN / "postgres").exists():
            return f"PostgreSQL 15 is not installed ({PG_BIN}/postgres); run `make install`"
        return None

    def cwd(self, st: Stack) -> Path:
        return st.path("pg")

    def prepare(self, st: Stack) -> None:
        uid, gid = self._ids()
        root, pgdata = st.path("pg"), st.path("pg", "data")
        root.mkdir(mode=0o700, exist_ok=True)
        os.chown(root, uid, gid)
        os.chmod(root, 0o700)
        if self.user():
            _ensure_traversable(root, uid, gid, why="PostgreSQL runs as the postgres user")
        if (pgdata / "PG_VERSION").exists():
            return
        if pgdata.exists():  # left by an interrupted initdb
            shutil.rmtree(pgdata)
        say("  initialising PostgreSQL cluster (first run)")
        pwfile = root / "initdb.pw"
        fd = os.open(pwfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(st.env["FRAMEGATE_STACK_PG_PASSWORD"] + "\n")
        os.chown(pwfile, uid, gid)
        try:
            with open(st.log(self.name), "a") as log:
                rc = subprocess.run(
                    [str(PG_BIN / "initdb"), "-D", str(pgdata), "-U", "postgres",
                     "-A", "scram-sha-256", f"--pwfile={pwfile}", "-E", "UTF8", "--locale=C.UTF-8"],
                    stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, cwd=root,
                    env=self.env(st), **_user_kwargs(self.user())).returncode
        finally:
            pwfile.unlink(missing_ok=True)
        if rc != 0:
            raise StackError(f"initdb failed (exit {rc}); see {st.log(self.name)}\n{_tail(st.log(self.name))}")

    def env(self, st: Stack) -> dict[str, str]:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"}
        if self.user():
            env.update(HOME=pwd.getpwnam(self.user()).pw_dir, USER=self.user(), LOGNAME=self.user())
        return env

    def command(self, st: Stack) -> list[str]:
        return [str(PG_BIN / "postgres"), "-D", str(st.path("pg", "data")),
                "-c", "listen_addresses=127.0.0.1", "-c", f"port={st.port('postgres')}",
                # TCP only: no Unix socket, so a long data path cannot break it.
                "-c", "unix_socket_directories="]

    def healthy(self, st: Stack) -> bool:
        return subprocess.run(
            [str(PG_BIN / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(st.port("postgres")), "-t", "2"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        ).returncode == 0

    def after_start(self, st: Stack, deadline: float) -> None:
        marker = st.path("pg", "ferretdb-database-created")
        if marker.exists():
            return
        env = dict(self.env(st), PGPASSWORD=st.env["FRAMEGATE_STACK_PG_PASSWORD"])
        r = subprocess.run(
            [str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(st.port("postgres")),
             "-U", "postgres", "ferretdb"],
            stdin=subprocess.DEVNULL, capture_output=True, text=True, env=env)
        if r.returncode != 0 and "already exists" not in r.stderr:
            raise StackError(f"createdb ferretdb failed: {r.stderr.strip()}")
        marker.touch()


def _user_kwargs(user: str | None) -> dict:
    if user is None:
        return {}
    pw = pwd.getpwnam(user)
    return {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": []}


def _ensure_traversable(path: Path, uid: int, gid: int, why: str) -> None:
    """Make every directory above `path` traversable (x) by uid/gid.

    PostgreSQL must run as its own user, and that user has to walk down from /
    to its data directory (e.g. /root, /work/main, <data>). Where a parent lacks
    any x bit that applies to that user we add o+x, which lets others *pass
    through* the directory (not list it), and say so.
    """
    for parent in reversed(path.parents):
        st = os.stat(parent)
        mode = st.st_mode
        if (st.st_uid == uid and mode & stat.S_IXUSR) or (st.st_gid == gid and mode & stat.S_IXGRP) \
                or mode & stat.S_IXOTH:
            continue
        os.chmod(parent, stat.S_IMODE(mode) | stat.S_IXOTH)
        say(f"  chmod o+x {parent} ({why} and must traverse it)")


class FerretDB(Component):
    name = "ferretdb"
    match = "ferretdb"
    ports = ("mongo", "ferretdb_debug")

    def unavailable(self, st: Stack) -> str | None:
        if not (CACHE_BIN / "ferretdb").exists():
            return f"FerretDB is not built ({CACHE_BIN}/ferretdb); run `make install`"
        return None

    def prepare(self, st: Stack) -> None:
        st.path("ferretdb").mkdir(mode=0o700, exist_ok=True)

    def command(self, st: Stack) -> list[str]:
        return [str(CACHE_BIN / "ferretdb"), "--handler=postgresql",
                f"--listen-addr=127.0.0.1:{st.port('mongo')}",
                f"--debug-addr=127.0.0.1:{st.port('ferretdb_debug')}",
                f"--state-dir={st.path('ferretdb')}", "--telemetry=disable", "--log-level=warn"]

    def env(self, st: Stack) -> dict[str, str]:
        # The PostgreSQL password goes in the environment, not on the command line (ps).
        pw = st.env["FRAMEGATE_STACK_PG_PASSWORD"]
        return dict(_base_env(), FERRETDB_POSTGRESQL_URL=(
            f"postgres://postgres:{pw}@127.0.0.1:{st.port('postgres')}/ferretdb"))

    def healthy(self, st: Stack) -> bool:
        # FerretDB's /debug/readyz says 200 even when it cannot log in to
        # PostgreSQL; a MongoDB `ping` goes through to the backend.
        return _mongo_ping(st.port("mongo"))


def _bson_ping() -> bytes:
    body = b"\x10ping\x00" + struct.pack("<i", 1) + b"\x02$db\x00" + struct.pack("<i", 6) + b"admin\x00"
    return struct.pack("<i", len(body) + 5) + body + b"\x00"


def _mongo_ping(port: int, timeout: float = 3.0) -> bool:
    """`{ping: 1}` over the MongoDB wire protocol (one OP_MSG), standard library only."""
    doc = _bson_ping()
    msg = struct.pack("<iiii", 16 + 4 + 1 + len(doc), 1, 0, 2013) + struct.pack("<I", 0) + b"\x00" + doc
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
            sock.sendall(msg)
            header = _recv_exact(sock, 16)
            length = struct.unpack("<i", header[:4])[0]
            reply = _recv_exact(sock, length - 16)
    except OSError:
        return False
    # flagBits (4), section kind 0 (1), then the reply document: {ok: 1.0, ...}
    ok_double, ok_int = b"\x01ok\x00" + struct.pack("<d", 1.0), b"\x10ok\x00" + struct.pack("<i", 1)
    return ok_double in reply[5:] or ok_int in reply[5:]


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("connection closed")
        data += chunk
    return data


def _has_xattrs(directory: Path) -> bool:
    probe = directory / ".xattr-probe"
    try:
        probe.touch()
        os.setxattr(probe, "user.framegate", b"1")
        return True
    except OSError:
        return False
    finally:
        probe.unlink(missing_ok=True)


class S3(Component):
    name = "s3"
    match = "versitygw"
    ports = ("s3",)

    def unavailable(self, st: Stack) -> str | None:
        if not (CACHE_BIN / "versitygw").exists():
            return f"the Versity S3 gateway is not built ({CACHE_BIN}/versitygw); run `make install`"
        return None

    def prepare(self, st: Stack) -> None:
        st.path("s3").mkdir(mode=0o700, exist_ok=True)

    def command(self, st: Stack) -> list[str]:
        posix = ["posix"]
        if not _has_xattrs(st.path("s3")):
            # The posix backend keeps object metadata in extended attributes;
            # on a filesystem without them it needs a sidecar directory.
            st.path("s3-meta").mkdir(mode=0o700, exist_ok=True)
            posix += ["--sidecar", str(st.path("s3-meta"))]
        return [str(CACHE_BIN / "versitygw"), "--port", f"127.0.0.1:{st.port('s3')}", "--quiet",
                *posix, str(st.path("s3"))]

    def env(self, st: Stack) -> dict[str, str]:
        return dict(_base_env(), ROOT_ACCESS_KEY_ID=st.env["FRAMEGATE_S3_ACCESS_KEY"],
                    ROOT_SECRET_ACCESS_KEY=st.env["FRAMEGATE_S3_SECRET_KEY"])

    def healthy(self, st: Stack) -> bool:
        code, _ = _http(f"http://127.0.0.1:{st.port('s3')}/")
        return code is not None  # anonymous: 403, which is the point


class RabbitMQ(Component):
    name = "rabbitmq"
    match = "rabbitmq-server"
    ports = ("amqp", "amqp_management", "amqp_dist")
    timeout = 90.0
    grace = 45.0
    CONSUMER_TIMEOUT_MS = 4 * 3600 * 1000  # longer than the longest transcode

    def unavailable(self, st: Stack) -> str | None:
        if not (RABBIT_BIN / "rabbitmq-server").exists():
            return "RabbitMQ is not installed; run `make install`"
        return None

    def node(self, st: Stack) -> str:
        return st.env["FRAMEGATE_STACK_RABBIT_NODE"]

    def env(self, st: Stack) -> dict[str, str]:
        d = st.path("rabbitmq")
        return dict(
            _base_env(),
            RABBITMQ_NODENAME=self.node(st),
            RABBITMQ_DIST_PORT=str(st.port("amqp_dist")),
            RABBITMQ_MNESIA_BASE=str(d / "mnesia"),
            RABBITMQ_LOG_BASE=str(d / "log"),
            RABBITMQ_CONFIG_FILE=str(d / "rabbitmq"),  # reads rabbitmq.conf
            RABBITMQ_ENABLED_PLUGINS_FILE=str(d / "enabled_plugins"),
            RABBITMQ_ADVANCED_CONFIG_FILE=str(d / "advanced.config"),
            RABBITMQ_CONF_ENV_FILE=str(d / "rabbitmq-env.conf"),  # not /etc/rabbitmq's
            RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}",
            ERL_EPMD_ADDRESS="127.0.0.1",
            HOME=str(d),  # the Erlang cookie lives here; rabbitmqctl must see the same HOME
        )

    def prepare(self, st: Stack) -> None:
        d = st.path("rabbitmq")
        for sub in ("", "mnesia", "log"):
            (d / sub).mkdir(mode=0o700, exist_ok=True)
        _write_if_changed(d / "rabbitmq.conf", (
            "# Generated by framegate/stack.py on each start.\n"
            f"listeners.tcp.default = 127.0.0.1:{st.port('amqp')}\n"
            "management.tcp.ip = 127.0.0.1\n"
            f"management.tcp.port = {st.port('amqp_management')}\n"
            f"consumer_timeout = {self.CONSUMER_TIMEOUT_MS}\n"
            "log.file.level = info\n"))
        _write_if_changed(d / "enabled_plugins", "[rabbitmq_management].\n")
        _write_if_changed(d / "rabbitmq-env.conf", "# Everything is set by framegate/stack.py.\n")
        _ensure_epmd(st)

    def command(self, st: Stack) -> list[str]:
        # The server script runs the node in the foreground and turns SIGTERM
        # into a clean stop. Not /usr/sbin/rabbitmq-server: that wrapper switches
        # to the rabbitmq user, which cannot write here, and the node dies silently.
        return [str(RABBIT_BIN / "rabbitmq-server")]

    def ctl(self, st: Stack, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        try:
            return subprocess.run([str(RABBIT_BIN / "rabbitmqctl"), "-n", self.node(st), *args],
                                  stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                  env=self.env(st), timeout=timeout + 15)
        except subprocess.TimeoutExpired as e:
            return subprocess.CompletedProcess(e.cmd, 124, "", f"timed out after {timeout + 15:.0f}s")

    def healthy(self, st: Stack) -> bool:
        return _port_open(st.port("amqp")) and _port_open(st.port("amqp_management"))

    def after_start(self, st: Stack, deadline: float) -> None:
        left = max(10, int(deadline - time.monotonic()))
        r = self.ctl(st, "await_startup", "--timeout", str(left), timeout=left)
        if r.returncode != 0:
            raise StackError(f"rabbitmqctl await_startup failed: {(r.stderr or r.stdout).strip()[-800:]}\n"
                             f"  see {st.log(self.name)} and {st.path('rabbitmq', 'log')}/")
        marker = st.path("rabbitmq", "users-configured")
        if marker.exists():
            return
        user, password = st.env["FRAMEGATE_STACK_AMQP_USER"], st.env["FRAMEGATE_STACK_AMQP_PASSWORD"]
        r = self.ctl(st, "add_user", user, password)
        if r.returncode != 0 and "already exists" in (r.stderr + r.stdout):
            r = self.ctl(st, "change_password", user, password)
        self._check(r, f"add_user {user}")
        self._check(self.ctl(st, "set_user_tags", user, "administrator"), "set_user_tags")
        self._check(self.ctl(st, "set_permissions", "-p", "/", user, ".*", ".*", ".*"), "set_permissions")
        r = self.ctl(st, "delete_user", "guest")
        if r.returncode != 0 and "not exist" not in (r.stderr + r.stdout):
            self._check(r, "delete_user guest")
        marker.touch()

    @staticmethod
    def _check(r: subprocess.CompletedProcess, what: str) -> None:
        if r.returncode != 0:
            raise StackError(f"rabbitmqctl {what} failed: {(r.stderr or r.stdout).strip()[-800:]}")

    def logs(self, st: Stack) -> list[Path]:
        return [st.log(self.name), st.path("rabbitmq", "log", f"{self.node(st)}.log")]


def _ensure_epmd(st: Stack) -> None:
    """Start the Erlang port mapper on loopback if none is running.

    Every Erlang node on the machine (both stacks' RabbitMQ nodes, rabbitmqctl)
    registers with the one epmd on port 4369. If the node started it, it would
    sit in that node's process group and die with it, taking the other stack's
    registration along; so it runs in a session of its own and is never stopped.
    """
    if _port_open(EPMD_PORT):
        return
    with open(st.log("epmd"), "a") as log:
        subprocess.Popen([str(EPMD), "-address", "127.0.0.1"], stdin=subprocess.DEVNULL,
                         stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd="/")
    deadline = time.monotonic() + 5
    while not _port_open(EPMD_PORT) and time.monotonic() < deadline:
        time.sleep(0.05)


class Nginx(Component):
    name = "nginx"
    match = "nginx"
    ports = ("http",)
    timeout = 15.0

    def unavailable(self, st: Stack) -> str | None:
        if not NGINX.exists():
            return "nginx is not installed; run `make install`"
        return None

    def conf(self, st: Stack) -> Path:
        return st.path("nginx", "nginx.conf")

    def prepare(self, st: Stack) -> None:
        d = st.path("nginx")
        for sub in ("", "logs", "run", "tmp"):
            (d / sub).mkdir(exist_ok=True)
        values = {f"{name}_port": st.port(name) for name in PORT_OFFSETS}
        values.update(nginx_dir=str(d), data_dir=str(st.data), user_directive=(
            # As root the master hands the workers to an unprivileged user; nginx
            # creates and chowns its temp and cache directories for it.
            "user www-data;" if os.geteuid() == 0 else "# (not root: workers run as this user)"))
        values.update(cdn_secret=cdn.signing_secret_from_env(st.env), cdn_origin_key=cdn.origin_key_from_env(st.env),
                      cdn_origin_header=cdn.ORIGIN_KEY_HEADER)
        _write_if_changed(self.conf(st), render_template(NGINX_TEMPLATE, values))
        os.chmod(self.conf(st), 0o600)  # it holds the CDN secrets
        r = subprocess.run([str(NGINX), "-t", "-q", "-p", f"{d}/", "-c", str(self.conf(st))],
                           stdin=subprocess.DEVNULL, capture_output=True, text=True)
        if r.returncode != 0:
            raise StackError(f"nginx rejects {self.conf(st)} (from {NGINX_TEMPLATE}):\n"
                             f"{(r.stderr or r.stdout).strip()}")

    def command(self, st: Stack) -> list[str]:
        return [str(NGINX), "-p", f"{st.path('nginx')}/", "-c", str(self.conf(st))]

    def healthy(self, st: Stack) -> bool:
        code, _ = _http(f"http://127.0.0.1:{st.port('http')}/")
        return code is not None  # 502 while the services are not up still means nginx answers

    def logs(self, st: Stack) -> list[Path]:
        return [st.log(self.name), st.path("nginx", "logs", "error.log")]


def render_template(template: Path, values: dict) -> str:
    """Replace {{name}} placeholders; nginx's own $variables are untouched."""
    def sub(m: re.Match) -> str:
        if m.group(1) not in values:
            raise StackError(f"{template}: unknown placeholder {{{{{m.group(1)}}}}}")
        return str(values[m.group(1)])
    return re.sub(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}", sub, template.read_text())


class Service(Component):
    kind = "service"
    module = ""  # dotted module that must exist
    health_port = ""  # PORT_OFFSETS name serving /healthz

    def __init__(self):
        self.ports = (self.health_port,) if self.health_port in PORT_OFFSETS else ()

    def module_file(self) -> Path | None:
        base = REPO.joinpath(*self.module.split("."))
        for candidate in (base.with_suffix(".py"), base / "__init__.py"):
            if candidate.exists():
                return candidate
        return None

    def unavailable(self, st: Stack) -> str | None:
        if self.module_file() is None:
            return f"{self.module} does not exist yet"
        if not (VENV / "bin" / "python").exists():
            return f"no Python environment in {VENV}; run `make install`"
        return None

    def cwd(self, st: Stack) -> Path:
        return REPO

    def env(self, st: Stack) -> dict[str, str]:
        # The caller's environment (so e.g. FRAMEGATE_WORKERS from `make up WORKERS=n`
        # reaches the services), with the stack's settings on top.
        return {**os.environ, **st.env, "PYTHONUNBUFFERED": "1"}

    def _healthz(self, st: Stack) -> int | None:
        return _http(f"http://127.0.0.1:{st.port(self.ports[0])}/healthz")[0] if self.ports else None

    def healthy(self, st: Stack) -> bool:
        return self._healthz(st) == 200 if self.ports else True

    def answers(self, st: Stack) -> bool:
        return self._healthz(st) is not None if self.ports else True


class GunicornApp(Service):
    """A Flask app of the platform under gunicorn (services/common/gunicorn_conf.py)."""

    match = "gunicorn"
    timeout = 60.0
    grace = 40.0  # gunicorn's own graceful timeout is 30 s
    app = ""  # module:factory()

    def command(self, st: Stack) -> list[str]:
        return [str(VENV / "bin" / "gunicorn"), "-c", "python:services.common.gunicorn_conf",
                "--bind", f"127.0.0.1:{st.port(self.health_port)}", self.app]

    def env(self, st: Stack) -> dict[str, str]:
        return {**super().env(st), "FRAMEGATE_SERVICE": self.name}


class Ingest(GunicornApp):
    name = "ingest"
    module = "services.ingest.app"
    health_port = "ingest"
    app = "services.ingest.app:create_app()"


class Review(GunicornApp):
    name = "review"
    module = "services.review.app"
    health_port = "review"
    app = "services.review.app:create_app()"


class OutboxRelay(Service):
    name = "outbox-relay"
    module = "services.common.outbox_relay"
    match = "outbox_relay"
    health_port = "ingest_relay"
    source = "ingest"  # the service whose outbox it publishes

    def command(self, st: Stack) -> list[str]:
        return [str(VENV / "bin" / "python"), "-m", "services.common.outbox_relay", "--service", self.source,
                "--port", str(st.port(self.health_port))]


class TranscodeRelay(OutboxRelay):
    name = "transcode-relay"
    health_port = "transcode_relay"
    source = "transcode"


class NamekoService(Service):
    """A nameko service (event handlers), with /healthz on its ops port."""

    match = "nameko"
    target = ""  # module:Class

    def command(self, st: Stack) -> list[str]:
        return [str(VENV / "bin" / "nameko"), "run", "--config", str(REPO / "deploy" / "nameko" / "config.yaml"),
                self.target]

    def env(self, st: Stack) -> dict[str, str]:
        return {**super().env(st), "FRAMEGATE_SERVICE": self.name, "FRAMEGATE_OPS_PORT": str(st.port(self.health_port))}


class IngestStatus(NamekoService):
    name = "ingest-status"
    module = "services.ingest.status_events"
    target = "services.ingest.status_events:VersionStatusRecorder"
    health_port = "ingest_status"


class TranscodeDispatch(NamekoService):
    name = "transcode-dispatch"
    module = "services.transcode.dispatch"
    target = "services.transcode.dispatch:TranscodeDispatch"
    health_port = "transcode_dispatch"


class TranscodeWorker(Service):
    """One Celery transcode worker; `make up WORKERS=n` (FRAMEGATE_WORKERS) runs n of them."""

    module = "services.transcode.tasks"
    match = "celery"
    timeout = 60.0
    grace = 600.0  # SIGTERM lets it finish the job it has (warm shutdown) before SIGKILL

    def __init__(self, index: int):
        self.index = index
        self.name = f"transcode-worker-{index}"
        self.health_port = f"transcode_worker_{index}"
        super().__init__()

    def wanted(self) -> bool:
        return self.index <= int(os.environ.get("FRAMEGATE_WORKERS") or 1)

    def command(self, st: Stack) -> list[str]:
        return [str(VENV / "bin" / "celery"), "-A", "services.transcode.tasks", "worker", "-Q", "transcode",
                "--pool", "threads", "--concurrency", "1", "--prefetch-multiplier", "1",
                "-n", f"worker{self.index}-{st.base}@%h", "--loglevel", "INFO"]

    def env(self, st: Stack) -> dict[str, str]:
        return {**super().env(st), "FRAMEGATE_SERVICE": self.name, "FRAMEGATE_OPS_PORT": str(st.port(self.health_port))}


COMPONENTS: dict[str, Component] = {c.name: c for c in (
    Postgres(), FerretDB(), S3(), RabbitMQ(), Nginx(), Ingest(), Review(), OutboxRelay(), IngestStatus(),
    TranscodeRelay(), TranscodeDispatch(), *(TranscodeWorker(i) for i in range(1, MAX_LOCAL_WORKERS + 1)))}
assert tuple(COMPONENTS) == ORDER


def _component(name: str) -> Component:
    try:
        return COMPONENTS[name]
    except KeyError:
        raise StackError(f"unknown component {name!r}; one of: {', '.join(ORDER)}") from None


def _recorded_pid(st: Stack, comp: Component) -> int | None:
    try:
        return int(st.pidfile(comp.name).read_text().strip())
    except (OSError, ValueError):
        return None


def _running_pid(st: Stack, comp: Component) -> int | None:
    pid = _recorded_pid(st, comp)
    if pid is not None and _alive(pid) and comp.match in _cmdline(pid):
        return pid
    return None


def _sweep_orphans(st: Stack, comp: Component) -> None:
    """Stop what is left of a component whose main process died.

    E.g. RabbitMQ's wrapper script killed with SIGKILL leaves the Erlang VM
    running (and holding the ports) in the same process group. Only processes
    of that group that name this stack's data directory or the component are
    touched; the shared epmd never.
    """
    old = _recorded_pid(st, comp)
    if old is None:
        return
    orphans = [p for p in _group_members(old) if p != old and "epmd" not in _cmdline(p)
               and (str(st.data) in _cmdline(p) or comp.match in _cmdline(p))]
    if not orphans:
        return
    warn(f"{comp.name}: its main process (pid {old}) is gone but {len(orphans)} of its processes "
         f"remain ({', '.join(map(str, orphans))}); stopping them")
    for p in orphans:
        with contextlib.suppress(ProcessLookupError):
            os.kill(p, signal.SIGTERM)
    if not _wait_dead(orphans, comp.grace):
        for p in orphans:
            with contextlib.suppress(ProcessLookupError):
                os.kill(p, signal.SIGKILL)
        _wait_dead(orphans, 5)


def _logs_hint(st: Stack, comp: Component) -> str:
    logs = [p for p in comp.logs(st) if p.exists()] or [st.log(comp.name)]
    return f"see {' and '.join(map(str, logs))}\n{_tail(logs[-1])}"


def _wait_ready(st: Stack, comp: Component, pid: int, proc: subprocess.Popen | None) -> float:
    deadline = time.monotonic() + comp.timeout
    started = time.monotonic()
    while True:
        exited = proc.poll() is not None if proc is not None else not _alive(pid)
        if exited:
            code = f" with code {proc.returncode}" if proc is not None else ""
            raise StackError(f"{comp.name} exited{code} while starting; {_logs_hint(st, comp)}")
        if comp.ports and comp.healthy(st):
            return deadline
        if not comp.ports and time.monotonic() - started >= comp.settle:
            return deadline
        if time.monotonic() >= deadline:
            raise StackError(f"{comp.name} did not become ready within {comp.timeout:.0f}s; "
                             f"{_logs_hint(st, comp)}")
        time.sleep(0.1)


def _start(st: Stack, comp: Component) -> str:
    """Start one component unless it is already running; returns what happened."""
    reason = comp.unavailable(st)
    if reason:
        if comp.kind == "service":
            warn(f"skipping {comp.name}: {reason}")
            return "skipped"
        raise StackError(reason)
    pid = _running_pid(st, comp)
    if pid is not None:
        if comp.healthy(st):
            return "already running"
        if comp.answers(st):
            # It answers but reports a dependency down, perhaps one this `up`
            # has just restarted: give it a moment to notice.
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and not comp.healthy(st):
                time.sleep(0.3)
            if not comp.healthy(st):
                warn(f"{comp.name} is running but reports itself unhealthy; see {st.log(comp.name)}")
            return "already running"
        # Running but not answering yet (perhaps still starting): give it its start time.
        deadline = _wait_ready(st, comp, pid, None)
        comp.after_start(st, deadline)
        return "running"
    _sweep_orphans(st, comp)
    st.pidfile(comp.name).unlink(missing_ok=True)
    busy = [f"{st.port(p)} ({p})" for p in comp.ports if _port_open(st.port(p))]
    if busy:
        raise StackError(
            f"cannot start {comp.name}: port {', '.join(busy)} on 127.0.0.1 is already taken by a "
            f"process this stack did not start (another stack with port base {st.base}, or a system "
            f"server?). Stop it, or use another --port-base with its own --data directory.")
    comp.prepare(st)
    argv = comp.command(st)
    log_path = st.log(comp.name)
    with open(log_path, "a") as log:
        log.write(f"\n==== {time.strftime('%Y-%m-%d %H:%M:%S')} starting {comp.name}: {' '.join(argv)}\n")
        log.flush()
        try:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                    env=comp.env(st), cwd=comp.cwd(st), start_new_session=True,
                                    close_fds=True, **_user_kwargs(comp.user()))
        except OSError as e:
            raise StackError(f"cannot run {argv[0]}: {e}") from None
    st.pidfile(comp.name).write_text(f"{proc.pid}\n")
    try:
        deadline = _wait_ready(st, comp, proc.pid, proc)
        comp.after_start(st, deadline)
    except BaseException:
        if proc.poll() is None:  # do not leave a half-started process behind
            _terminate(comp.name, proc.pid, comp.stop_signal, 10)
        st.pidfile(comp.name).unlink(missing_ok=True)
        raise
    return "started"


def _stop(st: Stack, comp: Component) -> str:
    pid = _running_pid(st, comp)
    if pid is None:
        _sweep_orphans(st, comp)
        st.pidfile(comp.name).unlink(missing_ok=True)
        return "not running"
    _terminate(comp.name, pid, comp.stop_signal, comp.grace)
    st.pidfile(comp.name).unlink(missing_ok=True)
    return "stopped"


# ------------------------------------------------------------------ first admin


def cli_config_path() -> Path:
    """Where the `framegate` CLI keeps its URL and token."""
    if os.environ.get("FRAMEGATE_CONFIG"):
        return Path(os.environ["FRAMEGATE_CONFIG"]).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base).expanduser() / "framegate" / "config.json"


def write_cli_config(url: str, token: str, email: str) -> Path:
    path = cli_config_path()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    config: dict = {}
    with contextlib.suppress(OSError, ValueError):
        config = json.loads(path.read_text())
        if not isinstance(config, dict):
            config = {}
    config.update(url=url, token=token, email=email)
    _write_private(path, json.dumps(config, indent=2) + "\n")
    return path


def _bootstrap_admin(st: Stack) -> None:
    marker = st.path(BOOTSTRAP_MARKER)
    if marker.exists():
        return
    url = st.env["FRAMEGATE_PUBLIC_URL"].rstrip("/")
    code, body = _http(f"{url}/api/v1/auth/bootstrap", method="POST", body=b"{}", timeout=30,
                       headers={"X-Setup-Key": st.env["FRAMEGATE_SETUP_KEY"],
                                "Content-Type": "application/json"})
    if code == 201:
        data = json.loads(body)
        path = write_cli_config(url, data["token"], data["email"])
        say(f"First admin: {data['email']} / password: {data['password']} (shown once; change it)")
        say(f"  the framegate CLI is signed in as that admin ({path})")
        marker.touch()
    elif code == 409:
        say("First admin: already created earlier (bootstrap refused with 409)")
        marker.touch()
    elif code in (404, 405):
        warn("ingest has no POST /api/v1/auth/bootstrap yet; the first admin will be "
             "created by a later `up`")
    else:
        warn(f"first-admin bootstrap failed: HTTP {code}: {body[:300].decode(errors='replace')} "
             f"(see {st.log('ingest')}); a later `up` retries")


# -------------------------------------------------------------------------- API


def up(data_dir=None, port_base: int | None = None) -> dict[str, str]:
    """Start everything not already running; returns {component: what happened}."""
    t0 = time.monotonic()
    st = Stack(data_dir, port_base, create=True)
    results: dict[str, str] = {}
    with _locked(st):
        say(f"Framegate local stack in {st.data} (port base {st.base})")
        for name in ORDER:
            comp = COMPONENTS[name]
            if not comp.wanted() and not _running_pid(st, comp):
                continue
            t = time.monotonic()
            results[name] = _start(st, comp)
            port = f":{st.port(comp.ports[0])}" if comp.ports else ""
            say(f"  {name:<18} {results[name]:<16} {port:<7} {time.monotonic() - t:5.1f}s")
        if results["ingest"] in ("started", "already running", "running"):
            _bootstrap_admin(st)
    took = time.monotonic() - t0
    if all(r in ("already running", "skipped") for r in results.values()):
        say(f"Everything was already running; nothing changed ({took:.1f}s).")
    else:
        say(f"Up in {took:.1f}s.")
    _print_urls(st)
    return results


def _print_urls(st: Stack) -> None:
    say(f"  Platform:            {st.env['FRAMEGATE_PUBLIC_URL']}")
    say(f"  S3 (versitygw):      http://{st.env['FRAMEGATE_S3_ENDPOINT']}   "
        f"keys: FRAMEGATE_S3_ACCESS_KEY/SECRET_KEY in {st.env_path}")
    say(f"  RabbitMQ management: http://127.0.0.1:{st.port('amqp_management')}/   "
        f"user {st.env['FRAMEGATE_STACK_AMQP_USER']}, password FRAMEGATE_STACK_AMQP_PASSWORD "
        f"in {st.env_path}")
    say(f"  Logs:                {st.data / 'logs'}/")
    if st.path(BOOTSTRAP_MARKER).exists():
        say(f"Sign in at {st.env['FRAMEGATE_PUBLIC_URL']} as the first admin (its password was "
            f"printed once, by the first `up`); the CLI reads {cli_config_path()}.")
    else:
        say("Sign in: no admin yet; `up` creates the first one once ingest offers "
            "/api/v1/auth/bootstrap, and prints its password once.")


def down(data_dir=None) -> dict[str, str]:
    """Stop services, then infrastructure (SIGTERM, SIGKILL after a grace period)."""
    data = resolve_data_dir(data_dir)
    if not (data / ENV_FILE).exists():
        say(f"no stack in {data}; nothing to stop")
        return {}
    st = Stack(data)
    results: dict[str, str] = {}
    t0 = time.monotonic()
    with _locked(st):
        for name in reversed(ORDER):
            t = time.monotonic()
            results[name] = _stop(st, COMPONENTS[name])
            if results[name] == "stopped":
                say(f"  {name:<18} stopped {time.monotonic() - t:5.1f}s")
    say(f"Down in {time.monotonic() - t0:.1f}s (data kept in {st.data}).")
    return results


def status(data_dir=None) -> dict[str, dict]:
    """{component: {state: running|stopped, pid, port, healthy, kind, log[, note]}}."""
    data = resolve_data_dir(data_dir)
    if not (data / ENV_FILE).exists():
        return {name: {"state": "stopped", "pid": None, "port": None, "healthy": False,
                       "kind": COMPONENTS[name].kind, "log": None, "note": "no stack here yet"}
                for name in ORDER}
    st = Stack(data)
    out: dict[str, dict] = {}
    for name in ORDER:
        comp = COMPONENTS[name]
        pid = _running_pid(st, comp)
        if not pid and not comp.wanted():
            continue
        info = {"state": "running" if pid else "stopped", "pid": pid,
                "port": st.port(comp.ports[0]) if comp.ports else None,
                "healthy": bool(pid) and comp.healthy(st), "kind": comp.kind,
                "log": str(st.log(name))}
        reason = comp.unavailable(st)
        if reason:
            info["note"] = reason
        out[name] = info
    return out


def start_component(data_dir, name: str) -> str:
    """Start one component of an existing stack (e.g. RabbitMQ again after stop_component)."""
    st = Stack(data_dir)
    with _locked(st):
        return _start(st, _component(name))


def stop_component(data_dir, name: str) -> str:
    """Stop one component (SIGTERM, SIGKILL after its grace period)."""
    st = Stack(data_dir)
    with _locked(st):
        return _stop(st, _component(name))


def env_text(data_dir=None, port_base: int | None = None) -> str:
    st = Stack(data_dir, port_base, create=True)
    return "".join(f"{k}={v}\n" for k, v in st.env.items())


# -------------------------------------------------------------------------- CLI


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m framegate.stack",
                                     description="Run Framegate's local stack.")
    sub = parser.add_subparsers(dest="command", required=True)

    def add(name: str, help: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help)
        p.add_argument("--data", metavar="DIR",
                       help=f"data directory (default: $FRAMEGATE_DATA or {DEFAULT_DATA})")
        p.add_argument("--port-base", type=int, metavar="N",
                       help=f"ports are N + offset (default: the data directory's, else {DEFAULT_PORT_BASE})")
        return p

    add("up", "start everything that is not running")
    add("down", "stop everything (data is kept)")
    add("status", "show each component").add_argument("--json", action="store_true")
    add("env", "print the stack's KEY=value settings (creates them if needed)")
    add("start", "start one component").add_argument("name", choices=ORDER)
    add("stop", "stop one component").add_argument("name", choices=ORDER)
    args = parser.parse_args(argv)
    try:
        if args.command == "up":
            up(args.data, args.port_base)
        elif args.command == "down":
            down(args.data)
        elif args.command == "env":
            sys.stdout.write(env_text(args.data, args.port_base))
        elif args.command == "start":
            say(f"{args.name}: {start_component(args.data, args.name)}")
        elif args.command == "stop":
            say(f"{args.name}: {stop_component(args.data, args.name)}")
        elif args.command == "status":
            info = status(args.data)
            if args.json:
                print(json.dumps(info, indent=2))
            else:
                for name, c in info.items():
                    port = str(c["port"] or "-")
                    state = c["state"] + ("" if c["healthy"] or c["state"] != "running" else " (unhealthy)")
                    pid = f"pid {c['pid']}" if c["pid"] else ""
                    note = f"  [{c['note']}]" if c.get("note") else ""
                    print(f"{name:<13} {state:<26} {port:<6} {pid}{note}")
    except StackError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted; what was started keeps running (`down` stops it)", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
