"""Records what the transcode workers announce about ingest's versions.

    nameko run services.ingest.status_events:VersionStatusRecorder --config <yaml>
"""
from __future__ import annotations

from nameko.events import event_handler

from services.common.nameko_deps import Database, OpsEndpoints

from . import records
from .version_status import state_for_event


def record(db, body: dict) -> None:
    if body["type"] == "transcode_progress":
        records.save_progress(db, body["version_id"], body["percent"], body.get("stage"))
    state = state_for_event(body["type"], body)
    if state:
        records.insert_state(db, body["event_id"], body["version_id"], state)


class VersionStatusRecorder(OpsEndpoints):
    name = "ingest_version_status"
    db = Database(records.INDEXES)

    @event_handler("transcode", "transcode_progress", reliable_delivery=True)
    def on_progress(self, body: dict) -> None:
        record(self.db, body)

    @event_handler("transcode", "version_playable", reliable_delivery=True)
    def on_playable(self, body: dict) -> None:
        record(self.db, body)

    @event_handler("transcode", "version_ready", reliable_delivery=True)
    def on_ready(self, body: dict) -> None:
        record(self.db, body)

    @event_handler("transcode", "version_failed", reliable_delivery=True)
    def on_failed(self, body: dict) -> None:
        record(self.db, body)
