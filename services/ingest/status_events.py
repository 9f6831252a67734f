"""Records what the transcode workers announce about ingest's versions.

    nameko run services.ingest.status_events:VersionStatusRecorder --config <yaml>
"""
from __future__ import annotations

from services.common.nameko_deps import Database, OpsEndpoints
from services.common.reliable import reliable_event_handler

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

    @reliable_event_handler("transcode", "transcode_progress")
    def on_progress(self, body: dict) -> None:
        record(self.db, body)

    @reliable_event_handler("transcode", "version_playable")
    def on_playable(self, body: dict) -> None:
        record(self.db, body)

    @reliable_event_handler("transcode", "version_ready")
    def on_ready(self, body: dict) -> None:
        record(self.db, body)

    @reliable_event_handler("transcode", "version_failed")
    def on_failed(self, body: dict) -> None:
        record(self.db, body)
