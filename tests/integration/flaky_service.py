"""A nameko service whose handlers fail on purpose, run by test_event_retries.py
as its own process (`nameko run`), the way the platform's consumers run.

Each delivery is written down before the handler decides anything, so a test
can count deliveries and see when they happened. An event body says how the
handler behaves: `fail_first` deliveries fail (-1: all of them), then the
effect is recorded once; or, for `claimed`, the platform's claim (handle_once)
decides.
"""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

from services.common.consumer import handle_once
from services.common.events import from_wire
from services.common.mongo import insert_unique
from services.common.nameko_deps import Database, OpsEndpoints
from services.common.reliable import Redelivery, reliable_event_handler

SOURCE = "flakytest"
DELIVERIES = "test_flaky_deliveries"
EFFECTS = "test_flaky_effects"
# Small, so a test waits seconds, not minutes; the mechanism is the platform's.
REDELIVERY = Redelivery(limit=3, first_delay=0.5, max_delay=1.0)
PATIENT = Redelivery(limit=10, first_delay=0.5, max_delay=1.0)  # time for a test to release a claim


class FlakyConsumer(OpsEndpoints):
    name = "flaky_consumer"
    db = Database()

    def _delivered(self, key: str) -> int:
        """Write this delivery down; how many deliveries of `key` there have been."""
        self.db[DELIVERIES].insert_one(
            {"_id": uuid.uuid4().hex, "key": key, "at": datetime.now(timezone.utc)})
        return self.db[DELIVERIES].count_documents({"key": key})

    @reliable_event_handler(SOURCE, "flaky", redelivery=REDELIVERY)
    def on_flaky(self, body: dict) -> None:
        deliveries = self._delivered(body["key"])
        if body["fail_first"] < 0 or deliveries <= body["fail_first"]:
            raise RuntimeError(f"failing on purpose (delivery {deliveries})")
        insert_unique(self.db[EFFECTS], {"_id": body["key"]})

    @reliable_event_handler(SOURCE, "claimed", redelivery=PATIENT)
    def on_claimed(self, body: dict) -> None:
        event = from_wire(body)
        self._delivered(event.event_id)
        handle_once(self.db, self.name, event, lambda e: insert_unique(self.db[EFFECTS], {"_id": e.event_id}))
