"""Notify's event consumers: every user-facing event becomes deliveries.

    nameko run services.notify.events_service:NotifyEvents --config deploy/nameko/config.yaml

Handling is idempotent without a claim: deliveries, batched notes and first
openings are unique inserts keyed by the event, so a redelivered event makes
nothing twice (see dispatch.py).
"""
from __future__ import annotations

import functools
import os

from nameko.extensions import DependencyProvider

from services.common.nameko_deps import Database, OpsEndpoints
from services.common.reliable import reliable_event_handler
from services.common.settings import load_settings

from . import store
from .config import load_config
from .dispatch import Fanout
from .ingest_client import IngestClient


class FanoutProvider(DependencyProvider):
    """Hands each worker the Fanout (a plain object), built once at start."""

    def setup(self):
        from services.common.mongo import connect, ensure_indexes

        settings = load_settings()
        db = connect(settings)
        ensure_indexes(db, store.INDEXES)
        ingest = IngestClient(os.environ.get("FRAMEGATE_INGEST_URL") or settings.public_url, settings.secret_key)
        self.fanout = Fanout(db, load_config(), ingest.member_ids)

    def get_dependency(self, worker_ctx):
        return self.fanout


def _handler(source: str, event_type: str):
    @reliable_event_handler(source, event_type)
    def handle(self, body: dict) -> None:
        self.fanout.handle(body)

    handle.__name__ = f"on_{event_type}"
    return handle


# (source service, event type) of everything notify speaks about
CONSUMED = (("transcode", "version_ready"), ("transcode", "version_failed"),
            ("review", "link_created"), ("review", "link_opened"), ("review", "note_added"),
            ("review", "note_replied"), ("review", "note_status_changed"),
            ("approval", "approval_recorded"), ("approval", "gate_closed"), ("approval", "stage_advanced"))


class NotifyEvents(OpsEndpoints):
    name = "notify_events"
    db = Database(store.INDEXES)
    fanout = FanoutProvider()

    on_version_ready = _handler("transcode", "version_ready")
    on_version_failed = _handler("transcode", "version_failed")
    on_link_created = _handler("review", "link_created")
    on_link_opened = _handler("review", "link_opened")
    on_note_added = _handler("review", "note_added")
    on_note_replied = _handler("review", "note_replied")
    on_note_status_changed = _handler("review", "note_status_changed")
    on_approval_recorded = _handler("approval", "approval_recorded")
    on_gate_closed = _handler("approval", "gate_closed")
    on_stage_advanced = _handler("approval", "stage_advanced")
