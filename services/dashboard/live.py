"""Pushing projection changes to open dashboards (server-sent events).

One thread per web process watches the projections (a cheap indexed query on
`updated_at` every POLL_SECONDS) and hands each changed production's board row
to every subscriber allowed to see it. Each SSE response waits on its own
queue, so a hundred viewers cost a hundred idle threads and one poller, not a
hundred database queries.

Polling the dashboard's own collection, rather than a broker queue per web
process, keeps the web side free of RabbitMQ and works the same with one
projector or several: whichever writes, the row shows up here.
"""
from __future__ import annotations

import json
import logging
import queue
import threading
import time
from datetime import datetime, timedelta, timezone

from prometheus_client import Counter, Gauge

from . import store
from .production import board_row

log = logging.getLogger("framegate.dashboard.live")

POLL_SECONDS = 0.05  # two cheap indexed queries; what a viewer waits for at most
# Projections written this long before the last poll are looked at again, so a
# writer whose clock runs a little behind ours is not missed.
OVERLAP = timedelta(seconds=5)
QUEUE_LIMIT = 500  # a viewer this far behind is dropped; its browser reconnects and reloads

SSE_CLIENTS = Gauge("framegate_dashboard_sse_clients", "Open server-sent-event streams")
MESSAGES = Counter("framegate_dashboard_sse_messages_total", "Production changes sent to SSE streams")
DROPPED = Counter("framegate_dashboard_sse_dropped_total", "SSE streams closed because they fell behind")


class Subscriber:
    """One open stream's queue of (project_id, message, announced_at). Who may see which
    production is the stream's own check (app.py): a production made after the
    stream opened must reach its members too."""

    def __init__(self, project_id: str | None = None):
        self.project_id = project_id  # a production's page listens to that one only
        self.messages: queue.Queue = queue.Queue(maxsize=QUEUE_LIMIT)
        self.overflowed = False

    def wants(self, project_id: str) -> bool:
        return not self.project_id or project_id == self.project_id

    def offer(self, project_id: str, message: str, announced_at: float) -> None:
        try:
            self.messages.put_nowait((project_id, message, announced_at))
        except queue.Full:
            if not self.overflowed:
                DROPPED.inc()
            self.overflowed = True


class Broadcaster:
    def __init__(self, db, poll_seconds: float = POLL_SECONDS):
        self.db = db
        self.poll_seconds = poll_seconds
        self.subscribers: set[Subscriber] = set()
        self.lock = threading.Lock()
        self.known: dict[str, int] = {}  # production -> event count last announced
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        """Start watching (once). Started with the app's first request rather than its first
        stream, so what changes while the first viewer connects is not taken as already known."""
        with self.lock:
            if self.thread is None:
                self.thread = threading.Thread(target=self._run, name="dashboard-broadcaster", daemon=True)
                self.thread.start()

    def subscribe(self, project_id: str | None = None) -> Subscriber:
        self.start()
        subscriber = Subscriber(project_id)
        with self.lock:
            self.subscribers.add(subscriber)
            SSE_CLIENTS.set(len(self.subscribers))
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        with self.lock:
            self.subscribers.discard(subscriber)
            SSE_CLIENTS.set(len(self.subscribers))

    def _run(self) -> None:
        for doc in self.db[store.PRODUCTIONS].find({}, {"event_count": 1}):
            self.known[doc["_id"]] = doc.get("event_count", 0)
        since = datetime.now(timezone.utc) - OVERLAP
        while True:
            started = datetime.now(timezone.utc)
            try:
                self.poll(since)
                since = started - OVERLAP
            except Exception:  # the database is away: keep the streams, try again
                log.exception("could not read dashboard changes")
                time.sleep(1)
            time.sleep(self.poll_seconds)

    def poll(self, since: datetime) -> None:
        recent = self.db[store.PRODUCTIONS].find({"updated_at": {"$gte": since}}, {"event_count": 1})
        changed = [d["_id"] for d in recent if self.known.get(d["_id"]) != d.get("event_count")]
        if not changed:
            return
        for doc in self.db[store.PRODUCTIONS].find({"_id": {"$in": changed}}, {"event_count": 1, "view": 1}):
            if self.known.get(doc["_id"]) == doc["event_count"]:
                continue
            self.known[doc["_id"]] = doc["event_count"]
            self.announce(doc["_id"], json.loads(doc["view"]))

    def announce(self, project_id: str, view: dict) -> None:
        message = json.dumps({"project_id": project_id, "event_count": view["event_count"], "row": board_row(view)})
        announced_at = time.monotonic()  # the production is in ingest by now: it was projected
        with self.lock:
            targets = [s for s in self.subscribers if s.wants(project_id)]
        for subscriber in targets:
            subscriber.offer(project_id, message, announced_at)
        MESSAGES.inc(len(targets))
