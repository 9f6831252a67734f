"""One local stack's state: its data directory, port base and generated settings.

The first ``up`` generates every credential with :mod:`secrets` and keeps them
in ``<data>/stack.env`` (mode 600), a ``KEY=value`` file with every
``FRAMEGATE_*`` variable the services read. Standard library only.
"""
from __future__ import annotations

import contextlib
import fcntl
import os
import re
import secrets
import string
from pathlib import Path
from typing import Iterator

from framegate.stack_processes import say, warn
from services.common.settings import DEFAULT_PORT_BASE, PORT_OFFSETS

EPHEMERAL_PORTS_START = 32768  # net.ipv4.ip_local_port_range's usual start

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATA = REPO / ".data"
ENV_FILE = "stack.env"

# Values in stack.env are written unquoted, so `set -a; . stack.env` and
# `eval "$(python -m framegate.stack env)"` work: keep them to shell-safe characters.
# ("?" is safe too: the shell never expands patterns in an assignment's value.)
_SAFE_VALUE = re.compile(r"^[A-Za-z0-9_.:/@%+=,~?-]*$")


class StackError(RuntimeError):
    """Something the person running the stack has to act on; the message says what."""


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


def write_private(path: Path, text: str) -> None:
    """Write atomically with mode 600 (the file holds secrets)."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def write_if_changed(path: Path, text: str) -> None:
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
        if not stored and base + max(PORT_OFFSETS.values()) >= EPHEMERAL_PORTS_START:
            warn(f"port base {base} reaches Linux's ephemeral ports ({EPHEMERAL_PORTS_START}+): a client "
                 "connection may hold a port a server needs; a base below 31000 avoids that")
        env = dict(existing)

        def keep(key: str, make) -> str:
            if not env.get(key):
                env[key] = make()
            return env[key]

        pg_password = keep("FRAMEGATE_STACK_PG_PASSWORD", lambda: _token(32))
        amqp_user = keep("FRAMEGATE_STACK_AMQP_USER", lambda: "framegate")
        amqp_password = keep("FRAMEGATE_STACK_AMQP_PASSWORD", lambda: _token(32))
        keep("FRAMEGATE_STACK_RABBIT_NODE", lambda: f"framegate{base}@localhost")
        keep("FRAMEGATE_S3_ACCESS_KEY", _s3_access_key)
        keep("FRAMEGATE_S3_SECRET_KEY", lambda: _token(40))
        keep("FRAMEGATE_SECRET_KEY", lambda: _token(64))
        keep("FRAMEGATE_SETUP_KEY", lambda: _token(32))
        port = lambda name: base + PORT_OFFSETS[name]  # noqa: E731
        s3 = f"127.0.0.1:{port('s3')}"
        # FerretDB has no credentials of its own: each client signs in (PLAIN) with
        # PostgreSQL's, which FerretDB passes on. Stacks made before that move over.
        if env.get("FRAMEGATE_MONGO_URL") in (None, "", f"mongodb://127.0.0.1:{port('mongo')}/"):
            env["FRAMEGATE_MONGO_URL"] = (f"mongodb://postgres:{pg_password}@127.0.0.1:{port('mongo')}/"
                                          "?authMechanism=PLAIN")
        keep("FRAMEGATE_AMQP_URL",
             lambda: f"amqp://{amqp_user}:{amqp_password}@127.0.0.1:{port('amqp')}//")
        keep("FRAMEGATE_S3_ENDPOINT", lambda: s3)
        # Always derived, never kept: presigned URLs point at nginx's S3 server (same
        # bytes, plus CORS for the platform's pages), and data directories made
        # before it existed must move there too.
        env["FRAMEGATE_S3_PUBLIC_ENDPOINT"] = f"127.0.0.1:{port('s3_public')}"
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
            write_private(self.env_path, text)
        os.chmod(self.env_path, 0o600)
        return env


@contextlib.contextmanager
def locked(st: Stack) -> Iterator[None]:
    """One stack command at a time per data directory."""
    (st.data / "run").mkdir(parents=True, exist_ok=True)
    with open(st.data / "run" / "stack.lock", "w") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            say(f"another stack command is running on {st.data}; waiting for it")
            fcntl.flock(f, fcntl.LOCK_EX)
        yield
