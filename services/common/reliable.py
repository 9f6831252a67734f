"""Event consumers that never lose an event: use these instead of nameko's bare
`event_handler` and `consume`.

nameko acknowledges a message whose handler raised (`requeue_on_error` is
False by default), so a failure there loses the event for good. Here:

- each handler has its own quorum queue, `events.<source>.<type>.<service>.<method>`,
  with a delivery limit and a dead-letter queue beside it (`<queue>.dead`);
- a handler that raises returns its message to the queue after a delay that
  grows with each failed delivery (`Redelivery`), so a failure is retried but
  never in a hot loop (the delay holds the worker, which also slows a service
  whose dependency is down);
- after the delivery limit RabbitMQ moves the message to the dead-letter
  queue, where an operator sees it (`EventDeadLettered` alert on its depth,
  and `framegate_events_dead_lettered_total`).

    class TranscodeDispatch:
        @reliable_event_handler("ingest", "version_uploaded")
        def on_version_uploaded(self, payload): ...
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace

from kombu import Connection, Exchange, Queue
from nameko.constants import AMQP_URI_CONFIG_KEY
from nameko.events import SERVICE_POOL, EventHandler, get_event_exchange
from nameko.messaging import Consumer
from prometheus_client import Counter

log = logging.getLogger(__name__)

DEAD_LETTER_EXCHANGE = "events.dead"

HANDLER_FAILURES = Counter(
    "framegate_events_handler_failures_total", "Event deliveries whose handler raised (each is retried)", ["consumer"]
)
DEAD_LETTERED = Counter(
    "framegate_events_dead_lettered_total",
    "Events that failed their last allowed delivery and went to the dead-letter queue", ["consumer"],
)


@dataclass(frozen=True)
class Redelivery:
    """How often and how soon a failed event is tried again.

    `limit` is RabbitMQ's `x-delivery-limit`: the message is delivered at most
    1 + limit times. Before the k-th retry the handler waits
    min(first_delay * 2**(k-1), max_delay) seconds.
    """

    limit: int = 12
    first_delay: float = 1.0
    max_delay: float = 15.0

    def delay(self, failed_before: int) -> float:
        """Seconds to wait before returning a message that failed after `failed_before` earlier failures."""
        return min(self.first_delay * 2 ** failed_before, self.max_delay)

    def is_last(self, failed_before: int) -> bool:
        """Whether this delivery was the last one the queue allows (a failure dead-letters it)."""
        return failed_before >= self.limit

    def window(self) -> float:
        """Seconds between the first delivery and the last retry, not counting the handler's own time."""
        return sum(self.delay(n) for n in range(self.limit))


DEFAULT_REDELIVERY = Redelivery()


def queue_name(source: str, event_type: str, service: str, method: str) -> str:
    return f"events.{source}.{event_type}.{service}.{method}"


def dead_letter_queue_name(queue: str) -> str:
    return f"{queue}.dead"


def quorum_arguments(queue: str, redelivery: Redelivery) -> dict:
    return {
        "x-queue-type": "quorum",
        "x-delivery-limit": redelivery.limit,
        "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE,
        "x-dead-letter-routing-key": dead_letter_queue_name(queue),
        # Dead-letter at least once: a message is kept until its dead-letter
        # queue has confirmed it (RabbitMQ 3.10+, needs reject-publish overflow).
        "x-dead-letter-strategy": "at-least-once",
        "x-overflow": "reject-publish",
    }


class QueueWithDeadLetters(Queue):
    """A queue that declares its dead-letter queue with itself, on every (re)connect,
    so a message that reaches the limit always has somewhere to go."""

    def declare(self, nowait=False, channel=None):
        channel = channel or self.channel
        dead = dead_letter_queue_name(self.name)
        Queue(dead, Exchange(DEAD_LETTER_EXCHANGE, "direct", durable=True), routing_key=dead, durable=True,
              queue_arguments={"x-queue-type": "quorum"}).declare(nowait=nowait, channel=channel)
        return super().declare(nowait=nowait, channel=channel)


def delivery_count(message) -> int:
    """How many times this message was delivered and returned before (quorum queues count it)."""
    return int((message.headers or {}).get("x-delivery-count", 0))


class RetryOnError:
    """Return a failed message to its queue after a growing delay, instead of acking it."""

    redelivery: Redelivery = DEFAULT_REDELIVERY
    limited = True  # False for a queue declared elsewhere without a delivery limit

    @property
    def consumer_name(self) -> str:
        return f"{self.container.service_name}.{self.method_name}"

    def handle_message_processed(self, message, result=None, exc_info=None):
        if exc_info is None:
            self.queue_consumer.ack_message(message)
            return
        failed_before = delivery_count(message)
        HANDLER_FAILURES.labels(self.consumer_name).inc()
        facts = {"consumer": self.consumer_name, "deliveries": failed_before + 1, "error": repr(exc_info[1])}
        if self.limited and self.redelivery.is_last(failed_before):
            DEAD_LETTERED.labels(self.consumer_name).inc()
            log.error("event failed its last delivery; it goes to the dead-letter queue", extra=facts)
        else:
            log.warning("event failed; it goes back for another try", extra=facts)
            time.sleep(self.redelivery.delay(failed_before))  # green under `nameko run`: other workers go on
        # basic.reject with requeue: the quorum queue counts the delivery and
        # dead-letters the message once it is over the limit.
        self.queue_consumer.requeue_message(message)


class ReliableEventHandler(RetryOnError, EventHandler):
    """nameko's EventHandler (service pool) on a quorum queue, retried on error; see the module doc."""

    def __init__(self, source_service, event_type, redelivery: Redelivery = DEFAULT_REDELIVERY, **kwargs):
        if kwargs.get("handler_type", SERVICE_POOL) != SERVICE_POOL:
            raise ValueError("a reliable event handler has its own queue per service method (service pool)")
        self.redelivery = redelivery
        super().__init__(source_service, event_type, reliable_delivery=True, requeue_on_error=True, **kwargs)

    def setup(self):
        service = self.container.service_name
        name = queue_name(self.source_service, self.event_type, service, self.method_name)
        exchange = get_event_exchange(self.source_service, self.container.config)
        self.queue = QueueWithDeadLetters(name, exchange=exchange, routing_key=self.event_type, durable=True,
                                          queue_arguments=quorum_arguments(name, self.redelivery))
        retire_classic_queue(
            self.container.config[AMQP_URI_CONFIG_KEY], exchange.name, self.event_type,
            f"evt-{self.source_service}-{self.event_type}--{service}.{self.method_name}",
        )
        Consumer.setup(self)  # not EventHandler.setup, which would declare nameko's classic queue


class ReliableConsumer(RetryOnError, Consumer):
    """nameko's `consume` on a queue declared elsewhere, retried on error instead of acked.

    The queue's own `x-delivery-limit` bounds the retries; on a queue without
    one (a dead-letter queue) a failing message is retried every `max_delay`
    seconds until it is handled or an operator removes it.
    """

    def __init__(self, queue, redelivery: Redelivery = DEFAULT_REDELIVERY, **kwargs):
        limit = (queue.queue_arguments or {}).get("x-delivery-limit")
        self.limited = limit is not None
        self.redelivery = replace(redelivery, limit=limit) if self.limited else redelivery
        super().__init__(queue, requeue_on_error=True, **kwargs)


reliable_event_handler = ReliableEventHandler.decorator
reliable_consume = ReliableConsumer.decorator


def retire_classic_queue(amqp_uri: str, exchange: str, routing_key: str, name: str) -> None:
    """Stop feeding the classic queue that nameko's bare event_handler declared
    before this helper existed, and delete it once it is empty and unused.

    RabbitMQ cannot turn a classic queue into a quorum queue, so the reliable
    queue has a new name; the old one would otherwise collect a copy of every
    event forever. One still holding messages is left, with a warning.
    """
    try:
        with Connection(amqp_uri, connect_timeout=5) as conn:
            channel = conn.channel()
            try:
                channel.queue_declare(name, passive=True)
            except conn.channel_errors:  # no such queue: nothing to retire
                return
            channel = conn.channel()  # a failed passive declare closes its channel
            channel.queue_unbind(name, exchange, routing_key)
            try:
                channel.queue_delete(name, if_unused=True, if_empty=True)
                log.info("deleted the classic event queue", extra={"queue": name})
            except conn.channel_errors:
                log.warning("the classic event queue still holds messages or a consumer; move them to the "
                            "quorum queue (shovel) and delete it", extra={"queue": name})
    except Exception as err:  # never keep a service from starting over housekeeping
        log.warning("could not check for a classic event queue", extra={"queue": name, "error": str(err)})
