"""The dashboard's event consumers: every event it shows goes into its log and
refreshes its production's projection (services/dashboard/store.py).

    nameko run --config deploy/nameko/config.yaml services.dashboard.projector:DashboardProjector
"""
from __future__ import annotations

from datetime import datetime, timezone

from prometheus_client import Counter, Histogram

from services.common.nameko_deps import Database, OpsEndpoints
from services.common.reliable import queue_name, reliable_event_handler

from . import store

EVENTS_CONSUMED = Counter("framegate_dashboard_events_consumed_total",
                          "Events the dashboard logged and projected", ["type"])
DUPLICATES = Counter("framegate_dashboard_duplicate_events_total",
                     "Redelivered events the dashboard had already logged", ["type"])


LAG = Histogram("framegate_dashboard_event_lag_seconds",
                "From an event's occurred_at to its production's projection written",
                buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800))
SERVICE_NAME = "dashboard_projection"


def queue_for(source: str, event_type: str) -> str:
    """The dashboard's own quorum queue for one event type (to replay into it, or to feed it
    events no other consumer should see, as the demo and tests do)."""
    return queue_name(source, event_type, SERVICE_NAME, "on_" + event_type)


def project(db, body: dict) -> None:
    """Log one event and refresh its production (idempotent on event_id)."""
    if store.consume(db, body):
        EVENTS_CONSUMED.labels(body["type"]).inc()
        happened = datetime.fromisoformat(body["occurred_at"].replace("Z", "+00:00"))
        LAG.observe(max((datetime.now(timezone.utc) - happened).total_seconds(), 0.0))
    else:
        DUPLICATES.labels(body["type"]).inc()


def _on(source: str, event_type: str):
    @reliable_event_handler(source, event_type)
    def handle(self, body: dict) -> None:
        project(self.db, body)

    return handle


class DashboardProjector(OpsEndpoints):
    # One handler (and quorum queue) per event: services.dashboard.production.CONSUMED.
    name = SERVICE_NAME
    db = Database(store.INDEXES)

    on_project_created = _on("ingest", "project_created")
    on_version_uploaded = _on("ingest", "version_uploaded")
    on_version_playable = _on("transcode", "version_playable")
    on_version_ready = _on("transcode", "version_ready")
    on_version_failed = _on("transcode", "version_failed")
    on_link_created = _on("review", "link_created")
    on_link_opened = _on("review", "link_opened")
    on_link_revoked = _on("review", "link_revoked")
    on_note_added = _on("review", "note_added")
    on_note_replied = _on("review", "note_replied")
    on_note_status_changed = _on("review", "note_status_changed")
    on_playback_progress = _on("review", "playback_progress")
    on_version_submitted = _on("approval", "version_submitted")
    on_approval_recorded = _on("approval", "approval_recorded")
    on_gate_closed = _on("approval", "gate_closed")
    on_stage_advanced = _on("approval", "stage_advanced")
    on_version_locked = _on("approval", "version_locked")
