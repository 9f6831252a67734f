"""The local stack's platform services: the gunicorn apps, the outbox relays, the
nameko services and the Celery transcode workers, each run from the repository
with the stack's settings in its environment.
"""
from __future__ import annotations

import os
from pathlib import Path

from framegate.stack_component import Component
from framegate.stack_processes import http_request
from framegate.stack_state import REPO, Stack
from services.common.settings import PORT_OFFSETS

VENV = Path(os.environ.get("FRAMEGATE_VENV", REPO / ".venv"))


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
        return http_request(f"http://127.0.0.1:{st.port(self.ports[0])}/healthz")[0] if self.ports else None

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


class Approval(GunicornApp):
    name = "approval"
    module = "services.approval.app"
    health_port = "approval"
    app = "services.approval.app:create_app()"


class Notify(GunicornApp):
    name = "notify"
    module = "services.notify.app"
    health_port = "notify"
    app = "services.notify.app:create_app()"


class OutboxRelay(Service):
    name = "outbox-relay"
    module = "services.common.outbox_relay"
    match = "outbox_relay"
    health_port = "ingest_relay"
    source = "ingest"  # the service whose outbox it publishes
    announcements = False  # its events only inform: one nobody listens to yet is not lag

    def command(self, st: Stack) -> list[str]:
        return [str(VENV / "bin" / "python"), "-m", "services.common.outbox_relay", "--service", self.source,
                "--port", str(st.port(self.health_port))] + (["--announcements"] if self.announcements else [])


class IngestReconciler(Service):
    """Finds versions whose transcode stopped half-way (services/ingest/reconciler.py)."""

    name = "ingest-reconciler"
    module = "services.ingest.reconciler"
    match = "services.ingest.reconciler"
    health_port = "ingest_reconciler"

    def command(self, st: Stack) -> list[str]:
        return [str(VENV / "bin" / "python"), "-m", "services.ingest.reconciler",
                "--port", str(st.port(self.health_port))]


class TranscodeRelay(OutboxRelay):
    name = "transcode-relay"
    health_port = "transcode_relay"
    source = "transcode"


class ApprovalRelay(OutboxRelay):
    name = "approval-relay"
    health_port = "approval_relay"
    source = "approval"


class ReviewRelay(OutboxRelay):
    """Review's links, notes and viewing events; notify and the dashboard listen, if deployed."""

    name = "review-relay"
    health_port = "review_relay"
    source = "review"
    announcements = True


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


class NotifyEvents(NamekoService):
    name = "notify-events"
    module = "services.notify.events_service"
    target = "services.notify.events_service:NotifyEvents"
    health_port = "notify_events"


class NotifyWorker(Service):
    """The Celery worker that delivers notifications (queue `notify`)."""

    name = "notify-worker"
    module = "services.notify.tasks"
    match = "celery"
    health_port = "notify_worker"
    timeout = 60.0

    def command(self, st: Stack) -> list[str]:
        return [str(VENV / "bin" / "celery"), "-A", "services.notify.tasks", "worker", "-Q", "notify",
                "--pool", "threads", "--concurrency", "4", "--prefetch-multiplier", "1",
                "-n", f"notify-{st.base}@%h", "--loglevel", "INFO"]

    def env(self, st: Stack) -> dict[str, str]:
        return {**super().env(st), "FRAMEGATE_SERVICE": self.name, "FRAMEGATE_OPS_PORT": str(st.port(self.health_port))}


# Notify's components read FRAMEGATE_NOTIFY_ALLOW (networks notifications may
# reach although private) from the caller's environment: `up` restarts them
# when it differs from what they were started with.
NOTIFY_COMPONENTS = ("notify", "notify-events", "notify-worker")
NOTIFY_ALLOW = "FRAMEGATE_NOTIFY_ALLOW"


def notify_allow_changed(st: Stack, name: str) -> bool:
    """Whether `name` runs with another FRAMEGATE_NOTIFY_ALLOW than the caller's (and remember the caller's)."""
    if name not in NOTIFY_COMPONENTS:
        return False
    marker = st.data / "run" / f"{name}.notify-allow"
    wanted = os.environ.get(NOTIFY_ALLOW, "")
    try:
        started_with = marker.read_text()
    except OSError:
        started_with = None
    marker.write_text(wanted)
    return started_with is not None and started_with != wanted
