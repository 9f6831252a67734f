"""The local stack's infrastructure: PostgreSQL 15, FerretDB on it, the Versity S3
gateway, RabbitMQ and nginx, each on loopback with its data under ``<data>``.

The exact server command lines come from STACK.md. Standard library only.
"""
from __future__ import annotations

import os
import pwd
import re
import shutil
import signal
import stat
import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit

from framegate.stack_component import Component
from framegate.stack_processes import (base_env, http_request, mongo_ping, port_open, say, tail,
                                       user_kwargs)
from framegate.stack_state import REPO, Stack, StackError, write_if_changed
from services.common import cdn
from services.common.settings import PORT_OFFSETS

CACHE_BIN = Path(os.environ.get("FRAMEGATE_CACHE", REPO / ".cache")) / "bin"
PG_BIN = Path("/usr/lib/postgresql/15/bin")
RABBIT_BIN = Path("/usr/lib/rabbitmq/bin")  # the server script itself, not /usr/sbin's wrapper
NGINX = Path("/usr/sbin/nginx")
EPMD = Path("/usr/bin/epmd")
NGINX_TEMPLATE = REPO / "deploy" / "local" / "nginx.conf.tmpl"
NGINX_S3_PUBLIC_TEMPLATE = REPO / "deploy" / "local" / "nginx-s3-public.conf.tmpl"
EPMD_PORT = 4369


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
                    env=self.env(st), **user_kwargs(self.user())).returncode
        finally:
            pwfile.unlink(missing_ok=True)
        if rc != 0:
            raise StackError(f"initdb failed (exit {rc}); see {st.log(self.name)}\n{tail(st.log(self.name))}")

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
        # No credentials here: FerretDB signs in to PostgreSQL with the ones each
        # client brings (PLAIN, in FRAMEGATE_MONGO_URL), so another local user
        # who can reach the port cannot read or write without the password.
        env = {k: v for k, v in base_env().items() if not k.startswith("PG")}
        return dict(env, PGPASSFILE="/dev/null",
                    FERRETDB_POSTGRESQL_URL=f"postgres://127.0.0.1:{st.port('postgres')}/ferretdb")

    def healthy(self, st: Stack) -> bool:
        # FerretDB's /debug/readyz says 200 even when it cannot log in to
        # PostgreSQL; a MongoDB `ping` goes through to the backend.
        return mongo_ping(st.port("mongo"), user="postgres", password=st.env["FRAMEGATE_STACK_PG_PASSWORD"])


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
        return dict(base_env(), ROOT_ACCESS_KEY_ID=st.env["FRAMEGATE_S3_ACCESS_KEY"],
                    ROOT_SECRET_ACCESS_KEY=st.env["FRAMEGATE_S3_SECRET_KEY"])

    def healthy(self, st: Stack) -> bool:
        code, _ = http_request(f"http://127.0.0.1:{st.port('s3')}/")
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
            base_env(),
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
        write_if_changed(d / "rabbitmq.conf", (
            "# Generated by framegate/stack.py on each start.\n"
            f"listeners.tcp.default = 127.0.0.1:{st.port('amqp')}\n"
            "management.tcp.ip = 127.0.0.1\n"
            f"management.tcp.port = {st.port('amqp_management')}\n"
            f"consumer_timeout = {self.CONSUMER_TIMEOUT_MS}\n"
            "log.file.level = info\n"))
        write_if_changed(d / "enabled_plugins", "[rabbitmq_management].\n")
        write_if_changed(d / "rabbitmq-env.conf", "# Everything is set by framegate/stack.py.\n")
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
        return port_open(st.port("amqp")) and port_open(st.port("amqp_management"))

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
    if port_open(EPMD_PORT):
        return
    with open(st.log("epmd"), "a") as log:
        subprocess.Popen([str(EPMD), "-address", "127.0.0.1"], stdin=subprocess.DEVNULL,
                         stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd="/")
    deadline = time.monotonic() + 5
    while not port_open(EPMD_PORT) and time.monotonic() < deadline:
        time.sleep(0.05)


class Nginx(Component):
    name = "nginx"
    match = "nginx"
    ports = ("http", "s3_public")
    timeout = 15.0

    def unavailable(self, st: Stack) -> str | None:
        if not NGINX.exists():
            return "nginx is not installed; run `make install`"
        return None

    def conf(self, st: Stack) -> Path:
        return st.path("nginx", "nginx.conf")

    def prepare(self, st: Stack) -> None:
        d = st.path("nginx")
        for sub in ("", "logs", "run", "tmp", "servers"):
            (d / sub).mkdir(exist_ok=True)
        values = {f"{name}_port": st.port(name) for name in PORT_OFFSETS}
        values.update(nginx_dir=str(d), data_dir=str(st.data), user_directive=(
            # As root the master hands the workers to an unprivileged user; nginx
            # creates and chowns its temp and cache directories for it.
            "user www-data;" if os.geteuid() == 0 else "# (not root: workers run as this user)"))
        values.update(cdn_secret=cdn.signing_secret_from_env(st.env), cdn_origin_key=cdn.origin_key_from_env(st.env),
                      cdn_origin_header=cdn.ORIGIN_KEY_HEADER)
        # Placeholders the dev overlay's CDN image sets differently (deploy/images/dev-infra/cdn-entry.py).
        values.update(http_listen=f"127.0.0.1:{st.port('http')}", ingest_upstream=f"127.0.0.1:{st.port('ingest')}",
                      review_upstream=f"127.0.0.1:{st.port('review')}",
                      review_origin_upstream=f"127.0.0.1:{st.port('review')}",
                      approval_upstream=f"127.0.0.1:{st.port('approval')}",
                      notify_upstream=f"127.0.0.1:{st.port('notify')}", error_log=f"{d}/logs/error.log",
                      access_log=f"{d}/logs/access.log")
        write_if_changed(self.conf(st), render_template(NGINX_TEMPLATE, values))
        os.chmod(self.conf(st), 0o600)  # it holds the CDN secrets
        # The object store as clients reach it (FRAMEGATE_S3_PUBLIC_ENDPOINT), with CORS for our pages.
        public = urlsplit(st.env["FRAMEGATE_PUBLIC_URL"])
        values.update(s3_public_listen=f"127.0.0.1:{st.port('s3_public')}", s3_upstream=st.env["FRAMEGATE_S3_ENDPOINT"],
                      platform_origin=f"{public.scheme}://{public.netloc}")
        write_if_changed(d / "servers" / "s3-public.conf", render_template(NGINX_S3_PUBLIC_TEMPLATE, values))
        r = subprocess.run([str(NGINX), "-t", "-q", "-p", f"{d}/", "-c", str(self.conf(st))],
                           stdin=subprocess.DEVNULL, capture_output=True, text=True)
        if r.returncode != 0:
            raise StackError(f"nginx rejects {self.conf(st)} (from {NGINX_TEMPLATE}):\n"
                             f"{(r.stderr or r.stdout).strip()}")

    def command(self, st: Stack) -> list[str]:
        return [str(NGINX), "-p", f"{st.path('nginx')}/", "-c", str(self.conf(st))]

    def healthy(self, st: Stack) -> bool:
        code, _ = http_request(f"http://127.0.0.1:{st.port('http')}/")
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
