"""The Celery application of the transcode workers.

    celery -A services.transcode.tasks worker -Q transcode --pool threads --concurrency 1

Late acks, reject on worker lost and prefetch 1: a job is acknowledged only
when it is done, so a worker killed mid-job hands its job to another worker.
"""
from __future__ import annotations

from celery import Celery

from services.common.celery_defaults import RELIABLE_TASKS
from services.common.settings import load_settings

from .queues import TRANSCODE_QUEUE, dead_letter_queue, transcode_queue

TRANSCODE_TASK = "transcode.version"


def make_celery(settings=None) -> Celery:
    settings = settings or load_settings()
    app = Celery("framegate-transcode", broker=settings.amqp_url, include=["services.transcode.tasks"])
    app.conf.update(RELIABLE_TASKS)
    app.conf.update(
        task_queues=[transcode_queue, dead_letter_queue],
        task_default_queue=TRANSCODE_QUEUE,
        task_routes={TRANSCODE_TASK: {"queue": TRANSCODE_QUEUE, "routing_key": TRANSCODE_QUEUE}},
        # The threads pool ignores Celery's time limits; the runner enforces this
        # one (handlers.run_job). Kept here for a prefork pool. RabbitMQ's
        # consumer_timeout (rabbitmq.conf) is longer still.
        task_time_limit=settings.transcode_time_limit_seconds,
    )
    return app


app = make_celery()
