"""The outbox relay: publishes stored events to RabbitMQ with publisher confirms.

Every publish is `mandatory`: an event that no queue is bound for comes back
from the broker instead of vanishing, stays in the outbox unpublished
(`framegate_outbox_unroutable_total`), and is tried again a little later, so
an event sent before its consumer first declared its queue still arrives.
While one event of a type comes back, the rest of that type wait untouched
(one probe per type every few seconds, not one publish per waiting event),
and the events of other types go on.

Whether a type nobody listens to is trouble depends on the service. Ingest's
and transcode's events drive work (a version nobody transcodes), so they age
`framegate_outbox_oldest_pending_seconds`, which OutboxLagging watches. A
service started with `--announcements` (review: links, notes, viewing) only
tells whoever cares; a deployment may run no consumer of some of its types
(notify, dashboard). Those wait without ageing the lag gauge, counted in
`framegate_outbox_unheard_events`, and go out once a consumer has bound its queue.

Run one per service that writes events:
    python -m services.common.outbox_relay --service ingest
Events go out the way nameko dispatches them (topic exchange "<service>.events",
routing key = event type), so the event consumers (services/common/reliable.py)
receive them as-is.
"""
from __future__ import annotations

import argparse
import logging
import os
import signal
import threading
import time
from datetime import datetime, timedelta, timezone

from nameko.amqp.publish import UndeliverableMessage
from nameko.events import get_event_exchange
from nameko.standalone.events import event_dispatcher
from prometheus_client import Counter, Gauge

from . import outbox
from .logs import configure_logging
from .mongo import connect, ensure_indexes
from .ops_server import serve_ops
from .settings import load_settings, local_port

log = logging.getLogger("framegate.outbox_relay")

PUBLISHED = Counter("framegate_outbox_published_total", "Events published from the outbox", ["service"])
PUBLISH_FAILURES = Counter("framegate_outbox_publish_failures_total", "Failed publish attempts", ["service"])
UNROUTABLE = Counter(
    "framegate_outbox_unroutable_total", "Publishes the broker returned because no queue is bound", ["service"]
)
OLDEST_PENDING = Gauge(
    "framegate_outbox_oldest_pending_seconds", "Age of the oldest unpublished event", ["service"]
)
UNHEARD = Gauge(
    "framegate_outbox_unheard_events",
    "Unpublished announcements no queue is bound for yet (relays run with --announcements)", ["service"]
)

# How long an idle relay waits before looking again: what an event waits at most
# before it leaves (bench/dashboard: 0.3 s put the live board's p99 near 300 ms).
POLL_SECONDS = 0.1
BROKER_RETRY_SECONDS = 2.0
UNROUTABLE_RETRY = timedelta(seconds=5)


class Relay:
    def __init__(self, settings, service: str, announcements: bool = False):
        self.settings = settings
        self.service = service
        self.announcements = announcements
        # Event type -> when (monotonic) to try its oldest event again; the
        # broker returned it, so the others of that type are not even read.
        self.held: dict[str, float] = {}
        self.db = connect(settings)
        self.stopping = threading.Event()
        # A publish that cannot be confirmed fails fast; the loop retries it.
        config = {"AMQP_URI": settings.amqp_url, "serializer": "json"}
        # Declaring the exchange here (as a nameko service's dispatcher does)
        # lets events flow before any consumer has started.
        self.dispatch = event_dispatcher(
            config,
            declare=[get_event_exchange(service, config)],
            retry=True,
            retry_policy={"max_retries": 1, "interval_start": 0.2, "interval_step": 0.2},
            mandatory=True,
        )

    def publish_pending(self) -> int:
        """Publish what is waiting, oldest first; stop at the first failure to keep order.

        An event the broker returns as unroutable is deferred, not a failure of
        the broker: the events after it still go out, but those of its type
        wait until it has gone (in order, and without a publish each).
        """
        self._release_held()
        events = outbox.pending_events(self.db, self.service, skip_types=self.held)
        try:
            for doc in events:
                self._publish(doc)
        finally:
            # After the pass (a type just tried again and still unheard is not
            # lag), and also when the broker failed it (that is lag).
            self._observe_lag()
        return len(events)

    def _publish(self, doc: dict) -> None:
        kind = doc["routing_key"]
        if kind in self.held:
            return
        try:
            self.dispatch(self.service, kind, doc["body"])
        except UndeliverableMessage:
            UNROUTABLE.labels(self.service).inc()
            outbox.defer(self.db, self.service, doc["_id"], UNROUTABLE_RETRY)
            self.held[kind] = time.monotonic() + UNROUTABLE_RETRY.total_seconds()
            log.warning("no queue is bound for this event; kept for another try",
                        extra={"event_id": doc["_id"], "event_type": kind})
            return
        outbox.mark_published(self.db, self.service, doc["_id"])
        PUBLISHED.labels(self.service).inc()
        log.info("published", extra={"event_id": doc["_id"], "event_type": kind})

    def _release_held(self) -> None:
        now = time.monotonic()
        for kind in [k for k, until in self.held.items() if until <= now]:
            del self.held[kind]

    def _observe_lag(self) -> None:
        unheard = tuple(self.held) if self.announcements else ()
        oldest = outbox.oldest_pending(self.db, self.service, skip_types=unheard)
        age = (datetime.now(timezone.utc) - oldest["created_at"]).total_seconds() if oldest else 0
        OLDEST_PENDING.labels(self.service).set(age)
        if self.announcements:
            UNHEARD.labels(self.service).set(outbox.count_pending(self.db, self.service, unheard))

    def run(self) -> None:
        ensure_indexes(self.db, outbox.outbox_indexes(self.service))
        log.info("relay started", extra={"service_name": self.service})
        while not self.stopping.is_set():
            try:
                published = self.publish_pending()
            except Exception as err:  # broker or database down: keep the events, retry
                PUBLISH_FAILURES.labels(self.service).inc()
                log.warning("publish failed, will retry", extra={"error": str(err)})
                self.stopping.wait(BROKER_RETRY_SECONDS)
                continue
            if not published:
                self.stopping.wait(POLL_SECONDS)
        log.info("relay stopped")

    def healthy(self) -> dict:
        self.db.command("ping")
        return {"mongo": "ok"}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--service", required=True)
    parser.add_argument("--port", type=int, default=None, help="port for /healthz and /metrics")
    parser.add_argument("--announcements", action="store_true",
                        help="the service's events only inform: one nobody listens to yet is not lag")
    args = parser.parse_args(argv)
    configure_logging(f"{args.service}-relay")
    settings = load_settings()
    relay = Relay(settings, args.service, announcements=args.announcements)
    port = args.port or int(os.environ.get("FRAMEGATE_RELAY_PORT", local_port(f"{args.service}_relay")))
    serve_ops(port, relay.healthy, host=os.environ.get("FRAMEGATE_BIND_HOST", "127.0.0.1"))

    def stop(signum, frame):
        relay.stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    relay.run()


if __name__ == "__main__":
    main()
