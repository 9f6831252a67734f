"""The transcode queue's topology on RabbitMQ.

`transcode` is a quorum queue: a job survives a broker node, and a job that
keeps killing its worker is moved to `transcode.dead` after a few deliveries
instead of looping forever.
"""
from __future__ import annotations

from kombu import Exchange, Queue

TRANSCODE_QUEUE = "transcode"
DEAD_LETTER_QUEUE = "transcode.dead"
DELIVERY_LIMIT = 3  # a job is tried at most 1 + 3 times

transcode_exchange = Exchange("transcode", type="topic", durable=True)  # topic: Celery's native delayed retries need it
dead_letter_exchange = Exchange("transcode.dlx", type="direct", durable=True)

transcode_queue = Queue(
    TRANSCODE_QUEUE,
    transcode_exchange,
    routing_key=TRANSCODE_QUEUE,
    durable=True,
    queue_arguments={
        "x-queue-type": "quorum",
        "x-delivery-limit": DELIVERY_LIMIT,
        "x-dead-letter-exchange": dead_letter_exchange.name,
        "x-dead-letter-routing-key": DEAD_LETTER_QUEUE,
    },
)
dead_letter_queue = Queue(
    DEAD_LETTER_QUEUE, dead_letter_exchange, routing_key=DEAD_LETTER_QUEUE, durable=True,
    queue_arguments={"x-queue-type": "quorum"},
)
