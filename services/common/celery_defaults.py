"""Celery settings every Framegate worker shares: a task is acknowledged only
after it ran (a killed worker's task goes back to the queue), one task at a
time per worker, JSON only, publisher confirms, no result backend."""

RELIABLE_TASKS = dict(
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_serializer="json",
    accept_content=["json"],
    task_ignore_result=True,
    broker_transport_options={"confirm_publish": True},
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
    worker_send_task_events=False,
)
