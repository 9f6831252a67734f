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

This module is the stack's API and command line; the parts live beside it:
``stack_state`` (data directory, ports, stack.env), ``stack_processes`` (pids,
liveness, stopping, probes), ``stack_component`` (starting and stopping one
component), ``stack_infra`` and ``stack_services`` (the components themselves).

Standard library only. The exact server command lines come from STACK.md.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import sys
import time
from pathlib import Path

from framegate.stack_component import Component, running_pid, start_one, stop_one
from framegate.stack_infra import FerretDB, Nginx, Postgres, RabbitMQ, S3
from framegate.stack_processes import http_request, say, warn
from framegate.stack_services import (Approval, ApprovalRelay, Ingest, IngestReconciler, IngestStatus, Notify,
                                      NotifyEvents, NotifyWorker, OutboxRelay, Review, ReviewRelay, TranscodeDispatch,
                                      TranscodeRelay, TranscodeWorker, notify_allow_changed)
from framegate.stack_state import (DEFAULT_DATA, ENV_FILE, Stack, StackError, locked, read_env_file,
                                   resolve_data_dir, write_private)
from services.common.settings import DEFAULT_PORT_BASE, MAX_LOCAL_WORKERS

__all__ = ["COMPONENTS", "ENV_FILE", "INFRA", "ORDER", "SERVICES", "WORKERS", "StackError", "cli_config_path",
           "down", "env_text", "main", "read_env_file", "resolve_data_dir", "start_component", "status",
           "stop_component", "up", "write_cli_config"]

BOOTSTRAP_MARKER = "admin-bootstrapped"
BOOTSTRAP_PENDING = "first-admin.pending.json"

INFRA = ("postgres", "ferretdb", "s3", "rabbitmq", "nginx")
WORKERS = tuple(f"transcode-worker-{i}" for i in range(1, MAX_LOCAL_WORKERS + 1))
SERVICES = ("ingest", "review", "outbox-relay", "ingest-status", "ingest-reconciler", "transcode-relay",
            "transcode-dispatch") + WORKERS + ("approval", "approval-relay", "review-relay", "notify",
                                               "notify-events", "notify-worker")
ORDER = INFRA + SERVICES


COMPONENTS: dict[str, Component] = {c.name: c for c in (
    Postgres(), FerretDB(), S3(), RabbitMQ(), Nginx(), Ingest(), Review(), OutboxRelay(), IngestStatus(),
    IngestReconciler(), TranscodeRelay(), TranscodeDispatch(), *(TranscodeWorker(i) for i in range(1, MAX_LOCAL_WORKERS + 1)),
    Approval(), ApprovalRelay(), ReviewRelay(), Notify(), NotifyEvents(), NotifyWorker())}
assert tuple(COMPONENTS) == ORDER


def _component(name: str) -> Component:
    try:
        return COMPONENTS[name]
    except KeyError:
        raise StackError(f"unknown component {name!r}; one of: {', '.join(ORDER)}") from None


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
    write_private(path, json.dumps(config, indent=2) + "\n")
    return path


def _pending_first_admin(st: Stack) -> dict:
    """The first admin's e-mail and password, chosen and saved (mode 600) before
    ingest is asked: if `up` dies before it has written the CLI config, the next
    `up` sends the same password and gets a token for the admin it created."""
    path = st.path(BOOTSTRAP_PENDING)
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        pending = {"email": "admin@framegate.local", "password": secrets.token_urlsafe(15)}
        write_private(path, json.dumps(pending) + "\n")
        return pending


def _bootstrap_admin(st: Stack) -> None:
    marker = st.path(BOOTSTRAP_MARKER)
    if marker.exists():
        return
    url = st.env["FRAMEGATE_PUBLIC_URL"].rstrip("/")
    pending = _pending_first_admin(st)
    code, body = http_request(f"{url}/api/v1/auth/bootstrap", method="POST", body=json.dumps(pending).encode(),
                              timeout=30, headers={"X-Setup-Key": st.env["FRAMEGATE_SETUP_KEY"],
                                                   "Content-Type": "application/json"})
    if code in (200, 201):
        data = json.loads(body)
        path = write_cli_config(url, data["token"], data["email"])
        say(f"First admin: {data['email']} / password: {pending['password']} (shown once; change it)")
        say(f"  the framegate CLI is signed in as that admin ({path})")
        marker.touch()
        st.path(BOOTSTRAP_PENDING).unlink(missing_ok=True)
    elif code == 409:
        say("First admin: already created earlier (bootstrap refused with 409)")
        marker.touch()
        st.path(BOOTSTRAP_PENDING).unlink(missing_ok=True)
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
    with locked(st):
        say(f"Framegate local stack in {st.data} (port base {st.base})")
        for name in ORDER:
            comp = COMPONENTS[name]
            if not comp.wanted() and not running_pid(st, comp):
                continue
            t = time.monotonic()
            if notify_allow_changed(st, name) and running_pid(st, comp):
                say(f"  {name:<18} FRAMEGATE_NOTIFY_ALLOW changed: restarting")
                stop_one(st, comp)
            results[name] = start_one(st, comp)
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
    say(f"  S3 for clients:      http://{st.env['FRAMEGATE_S3_PUBLIC_ENDPOINT']}   "
        "(nginx in front of it, with CORS for the platform's pages: presigned upload URLs point here)")
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
    with locked(st):
        for name in reversed(ORDER):
            t = time.monotonic()
            results[name] = stop_one(st, COMPONENTS[name])
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
        pid = running_pid(st, comp)
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
    with locked(st):
        return start_one(st, _component(name))


def stop_component(data_dir, name: str) -> str:
    """Stop one component (SIGTERM, SIGKILL after its grace period)."""
    st = Stack(data_dir)
    with locked(st):
        return stop_one(st, _component(name))


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
