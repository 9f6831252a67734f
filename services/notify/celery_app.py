"""The Celery application of the notify workers (deliveries and note digests).

    celery -A services.notify.tasks worker -Q notify --pool threads --concurrency 4

`notify` is a quorum queue (topic exchange, so Celery's native delayed
delivery carries the retries' countdowns); late acks and prefetch 1 as in
transcode. Retries are new tasks for the next attempt, each attempt claimed by
a unique insert, so a task delivered twice sends once.
"""
from __future__ import annotations

from celery import Celery
from kombu import Exchange, Queue

from services.common.celery_defaults import RELIABLE_TASKS
from services.common.settings import load_settings

NOTIFY_QUEUE = "notify"
DELIVER_TASK = "notify.deliver"
FLUSH_NOTES_TASK = "notify.flush_notes"

notify_exchange = Exchange("notify", type="topic", durable=True)
notify_queue = Queue(NOTIFY_QUEUE, notify_exchange, routing_key=NOTIFY_QUEUE, durable=True,
                     queue_arguments={"x-queue-type": "quorum"})


def make_celery(settings=None) -> Celery:
    settings = settings or load_settings()
    app = Celery("framegate-notify", broker=settings.amqp_url, include=["services.notify.tasks"])
    route = {"queue": NOTIFY_QUEUE, "routing_key": NOTIFY_QUEUE, "exchange": notify_exchange.name}
    app.conf.update(RELIABLE_TASKS)
    app.conf.update(
        task_queues=[notify_queue],
        task_default_queue=NOTIFY_QUEUE,
        task_default_exchange=notify_exchange.name,
        task_default_exchange_type="topic",
        task_default_routing_key=NOTIFY_QUEUE,
        task_routes={DELIVER_TASK: route, FLUSH_NOTES_TASK: route},
        task_soft_time_limit=120,
    )
    return app


app = make_celery()
