"""One component of the local stack: what a server declares (command, ports,
health, stop signal), and starting or stopping one of them.

Each runs detached (in its own session), with its output in
``<data>/logs/<name>.log`` and its pid in ``<data>/run/<name>.pid``.
Standard library only.
"""
from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

from framegate.stack_processes import (alive, base_env, cmdline, group_members, port_open, tail, terminate,
                                       user_kwargs, wait_dead, warn)
from framegate.stack_state import Stack, StackError


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
        return base_env()

    def user(self) -> str | None:
        return None

    def cwd(self, st: Stack) -> Path:
        return st.data

    def healthy(self, st: Stack) -> bool:
        """Up and ready (what `up` waits for after starting it)."""
        return all(port_open(st.port(p)) for p in self.ports)

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


def _recorded_pid(st: Stack, comp: Component) -> int | None:
    try:
        return int(st.pidfile(comp.name).read_text().strip())
    except (OSError, ValueError):
        return None


def running_pid(st: Stack, comp: Component) -> int | None:
    pid = _recorded_pid(st, comp)
    if pid is not None and alive(pid) and comp.match in cmdline(pid):
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
    orphans = [p for p in group_members(old) if p != old and "epmd" not in cmdline(p)
               and (str(st.data) in cmdline(p) or comp.match in cmdline(p))]
    if not orphans:
        return
    warn(f"{comp.name}: its main process (pid {old}) is gone but {len(orphans)} of its processes "
         f"remain ({', '.join(map(str, orphans))}); stopping them")
    for p in orphans:
        with contextlib.suppress(ProcessLookupError):
            os.kill(p, signal.SIGTERM)
    if not wait_dead(orphans, comp.grace):
        for p in orphans:
            with contextlib.suppress(ProcessLookupError):
                os.kill(p, signal.SIGKILL)
        wait_dead(orphans, 5)


def _logs_hint(st: Stack, comp: Component) -> str:
    logs = [p for p in comp.logs(st) if p.exists()] or [st.log(comp.name)]
    return f"see {' and '.join(map(str, logs))}\n{tail(logs[-1])}"


def _wait_ready(st: Stack, comp: Component, pid: int, proc: subprocess.Popen | None) -> float:
    deadline = time.monotonic() + comp.timeout
    started = time.monotonic()
    while True:
        exited = proc.poll() is not None if proc is not None else not alive(pid)
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


def start_one(st: Stack, comp: Component) -> str:
    """Start one component unless it is already running; returns what happened."""
    reason = comp.unavailable(st)
    if reason:
        if comp.kind == "service":
            warn(f"skipping {comp.name}: {reason}")
            return "skipped"
        raise StackError(reason)
    pid = running_pid(st, comp)
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
    busy = [f"{st.port(p)} ({p})" for p in comp.ports if port_open(st.port(p))]
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
                                    close_fds=True, **user_kwargs(comp.user()))
        except OSError as e:
            raise StackError(f"cannot run {argv[0]}: {e}") from None
    st.pidfile(comp.name).write_text(f"{proc.pid}\n")
    try:
        deadline = _wait_ready(st, comp, proc.pid, proc)
        comp.after_start(st, deadline)
    except BaseException:
        if proc.poll() is None:  # do not leave a half-started process behind
            terminate(comp.name, proc.pid, comp.stop_signal, 10)
        st.pidfile(comp.name).unlink(missing_ok=True)
        raise
    return "started"


def stop_one(st: Stack, comp: Component) -> str:
    pid = running_pid(st, comp)
    if pid is None:
        _sweep_orphans(st, comp)
        st.pidfile(comp.name).unlink(missing_ok=True)
        return "not running"
    terminate(comp.name, pid, comp.stop_signal, comp.grace)
    st.pidfile(comp.name).unlink(missing_ok=True)
    return "stopped"
