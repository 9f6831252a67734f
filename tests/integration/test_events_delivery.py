"""Events reach RabbitMQ only after their write, even when the broker was down,
and consumers act on each event once."""
from __future__ import annotations

import concurrent.futures
import json
import os
import time
import uuid
from pathlib import Path

import pytest
from kombu import Connection, Exchange, Queue

from framegate import stack
from services.common import events
from services.common.consumer import ClaimedElsewhere, handle_once
from services.common.outbox import outbox_collection
from services.common.settings import local_port
from tests import media
from tests.integration.uploading import upload

INGEST_EVENTS = Exchange("ingest.events", type="topic", durable=True)


def data_dir() -> Path:
    return Path(os.environ["FRAMEGATE_DATA"])


@pytest.fixture
def listener(settings):
    """A durable queue bound to ingest's events, as a consumer service would have."""
    queue = Queue(f"test-listener-{uuid.uuid4().hex[:8]}", INGEST_EVENTS, routing_key="version_uploaded", durable=True)
    with Connection(settings.amqp_url) as conn:
        queue(conn.channel()).declare()
    yield queue
    with Connection(settings.amqp_url) as conn:
        queue(conn.channel()).delete()


def receive(settings, queue, predicate, timeout=60.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with Connection(settings.amqp_url, connect_timeout=2) as conn:
                simple = conn.SimpleQueue(queue)
                try:
                    message = simple.get(block=True, timeout=1)
                except simple.Empty:
                    continue
                finally:
                    simple.close()
                message.ack()
                body = message.payload if isinstance(message.payload, dict) else json.loads(message.payload)
                if predicate(body):
                    return body
        except OSError:  # the broker is still coming up
            time.sleep(0.5)
    raise AssertionError("no matching event arrived")


def test_version_uploaded_is_published_with_the_version(admin, project, media_dir, settings, listener):
    version = upload(admin, project["id"], media.make_h264_2398(media_dir)).json()
    body = receive(settings, listener, lambda b: b["version_id"] == version["id"])
    event = events.from_wire(body)
    assert isinstance(event, events.VersionUploaded)
    assert (event.project_id, event.asset_id, event.version_number) == (project["id"], version["asset_id"], 1)
    assert event.sha256 == version["sha256"] and event.media_kind == "video"


@pytest.mark.slow
def test_an_upload_while_rabbitmq_is_down_is_announced_when_it_returns(admin, project, media_dir, settings, listener, db, api_url):
    import requests

    stack.stop_component(data_dir(), "rabbitmq")
    try:
        health = requests.get(f"http://127.0.0.1:{local_port('ingest')}/healthz", timeout=30)  # its own port
        assert health.status_code == 503 and health.json()["checks"]["amqp"].startswith("down")
        done = upload(admin, project["id"], media.make_h264_2398(media_dir))
        assert done.status_code == 201, done.text  # the upload itself does not need the broker
        version = done.json()
        stored = db[outbox_collection("ingest")].find_one({"body.version_id": version["id"]})
        assert stored is not None and stored["published"] is False
    finally:
        stack.start_component(data_dir(), "rabbitmq")
    body = receive(settings, listener, lambda b: b["version_id"] == version["id"], timeout=90)
    assert body["type"] == "version_uploaded"


def sample_event() -> events.VersionUploaded:
    return events.VersionUploaded(
        project_id="p", asset_id="a", version_id=uuid.uuid4().hex, version_number=1, master_bucket="b",
        master_key="k", sha256="0" * 64, size=1, media_kind="video", uploaded_by="u",
    )


def test_a_consumer_acts_once_on_a_duplicated_event(db):
    event = sample_event()
    effects = []
    ran = [handle_once(db, "test-consumer", event, effects.append) for _ in range(3)]
    assert ran == [True, False, False] and effects == [event]


def test_racing_deliveries_of_one_event_run_the_handler_once(db):
    event = sample_event()
    effects = []

    def deliver(_):
        try:
            return handle_once(db, "racing-consumer", event, lambda e: (time.sleep(0.2), effects.append(e)))
        except ClaimedElsewhere:
            return False

    with concurrent.futures.ThreadPoolExecutor(10) as pool:
        results = list(pool.map(deliver, range(10)))
    assert results.count(True) == 1 and len(effects) == 1


def test_a_failed_handler_leaves_the_event_for_a_redelivery(db):
    event = sample_event()

    def broken(_):
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        handle_once(db, "flaky-consumer", event, broken)
    effects = []
    assert handle_once(db, "flaky-consumer", event, effects.append) is True and effects == [event]
