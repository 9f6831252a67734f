"""A consumer never loses an event it failed to handle: through the real
RabbitMQ, a failed handler's event comes back after a delay until it takes
effect, and one that keeps failing ends in its dead-letter queue after a
bounded number of deliveries (services/common/reliable.py)."""
from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import pytest
import requests
from kombu import Connection, Exchange, Queue
from nameko.amqp.publish import UndeliverableMessage
from nameko.standalone.events import event_dispatcher
from prometheus_client.parser import text_string_to_metric_families

from framegate import stack
from services.common.consumer import HANDLED
from services.common.outbox import mark_published, outbox_collection
from services.common.reliable import dead_letter_queue_name, queue_name
from services.common.settings import local_port
from tests import media
from tests.integration.flaky_service import DELIVERIES, EFFECTS, REDELIVERY, SOURCE
from tests.integration.test_events_delivery import bound_queues, sample_event
from tests.integration.test_shutdown import free_port, wait_healthy
from tests.integration.uploading import upload, wait_for_status
from tests.integration.waiting import wait_until

REPO = Path(__file__).resolve().parents[2]


@contextlib.contextmanager
def flaky_consumer():
    """The flaky consumer as its own nameko process; yields its /metrics URL."""
    port = free_port()
    env = {**os.environ, "FRAMEGATE_SERVICE": "flaky-consumer", "FRAMEGATE_OPS_PORT": str(port)}
    process = subprocess.Popen(
        [os.path.join(os.path.dirname(sys.executable), "nameko"), "run", "--config",
         str(REPO / "deploy" / "nameko" / "config.yaml"), "tests.integration.flaky_service:FlakyConsumer"],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        wait_healthy(f"http://127.0.0.1:{port}/healthz")
        yield f"http://127.0.0.1:{port}/metrics"
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()


def delete_flaky_queues(settings) -> None:
    """Leave nothing queued for the next run."""
    with Connection(settings.amqp_url) as conn:
        for method, event_type in (("on_flaky", "flaky"), ("on_claimed", "claimed")):
            name = queue_name(SOURCE, event_type, "flaky_consumer", method)
            for queue in (name, dead_letter_queue_name(name)):
                conn.channel().queue_delete(queue)


@pytest.fixture(scope="module")
def flaky(settings):
    with flaky_consumer() as metrics:
        yield metrics
    delete_flaky_queues(settings)


def publish(settings, event_type: str, body: dict) -> None:
    """Publish as the outbox relay does; retried until the consumer's queue is bound."""
    dispatch = event_dispatcher({"AMQP_URI": settings.amqp_url, "serializer": "json"}, mandatory=True)
    deadline = time.monotonic() + 30
    while True:
        try:
            return dispatch(SOURCE, event_type, body)
        except UndeliverableMessage:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def deliveries(db, key: str) -> list:
    return [d["at"] for d in db[DELIVERIES].find({"key": key}).sort("at", 1)]


def dead_letters(settings, queue: str) -> list[tuple[str, dict]]:
    """Take every message out of a dead-letter queue: (why it died, body)."""
    taken = []
    with Connection(settings.amqp_url) as conn:
        channel = conn.channel()
        while (message := channel.basic_get(queue, no_ack=True)) is not None:
            taken.append((message.headers["x-death"][0]["reason"], json.loads(message.body)))
    return taken


def counted(metrics_url: str, name: str, consumer: str) -> float:
    """A consumer's counter on a service's /metrics (0 before it first counts)."""
    text = requests.get(metrics_url, timeout=10).text
    return sum(sample.value for family in text_string_to_metric_families(text) for sample in family.samples
               if sample.name == name and sample.labels.get("consumer") == consumer)


def test_a_classic_queue_from_before_the_quorum_queues_is_retired(settings):
    """An old stack has nameko's classic `evt-…` queues: a consumer starting
    unbinds its own, deletes it when empty, and keeps one that holds messages.
    (First in the module: the `flaky` fixture's consumer is not running yet.)"""
    exchange = Exchange(f"{SOURCE}.events", type="topic", durable=True)
    empty = Queue(f"evt-{SOURCE}-claimed--flaky_consumer.on_claimed", exchange, routing_key="claimed", durable=True)
    holding = Queue(f"evt-{SOURCE}-flaky--flaky_consumer.on_flaky", exchange, routing_key="flaky", durable=True)
    with Connection(settings.amqp_url) as conn:
        for queue in (empty, holding):
            queue(conn.channel()).declare()
        conn.Producer().publish({"key": "old"}, routing_key=holding.name, serializer="json")  # straight to it
    try:
        with flaky_consumer():
            with Connection(settings.amqp_url) as conn:
                with pytest.raises(conn.channel_errors):
                    conn.channel().queue_declare(empty.name, passive=True)
                assert conn.channel().queue_declare(holding.name, passive=True).message_count == 1
            assert holding.name not in bound_queues(settings, exchange.name, "flaky")
    finally:
        with Connection(settings.amqp_url) as conn:
            conn.channel().queue_delete(holding.name)
        delete_flaky_queues(settings)


def test_a_handler_that_fails_once_still_takes_effect_once(flaky, settings, db):
    key = uuid.uuid4().hex
    publish(settings, "flaky", {"key": key, "fail_first": 1})
    wait_until(lambda: db[EFFECTS].find_one({"_id": key}), 30, "the effect")
    assert len(deliveries(db, key)) == 2  # the failed delivery, then the one that took effect


def test_a_handler_that_always_fails_ends_in_the_dead_letter_queue(flaky, settings, db):
    key = uuid.uuid4().hex
    dead_before = counted(flaky, "framegate_events_dead_lettered_total", "flaky_consumer.on_flaky")
    dead_queue = dead_letter_queue_name(queue_name(SOURCE, "flaky", "flaky_consumer", "on_flaky"))
    publish(settings, "flaky", {"key": key, "fail_first": -1})
    dead = wait_until(lambda: [d for d in dead_letters(settings, dead_queue) if d[1]["key"] == key], 60,
                      "dead-lettering")
    assert dead == [("delivery_limit", {"key": key, "fail_first": -1})]
    times = deliveries(db, key)
    assert len(times) == REDELIVERY.limit + 1  # bounded: the limit, then the dead-letter queue
    # Not a hot loop: each retry waited at least its back-off delay.
    gaps = [(b - a).total_seconds() for a, b in zip(times, times[1:])]
    assert all(gap >= REDELIVERY.delay(n) * 0.9 for n, gap in enumerate(gaps)), gaps
    time.sleep(REDELIVERY.max_delay * 2)
    assert len(deliveries(db, key)) == REDELIVERY.limit + 1  # and nothing after it
    assert db[EFFECTS].find_one({"_id": key}) is None
    assert counted(flaky, "framegate_events_dead_lettered_total", "flaky_consumer.on_flaky") == dead_before + 1


def test_an_event_claimed_elsewhere_goes_back_and_takes_effect_later(flaky, settings, db):
    """Another process holds the claim when the event arrives, then gives it up
    (its handler failed); the event, sent back, takes effect here."""
    event = sample_event()
    claim = {"_id": f"flaky_consumer:{event.event_id}", "state": "started", "started_at": datetime.now(timezone.utc)}
    db[HANDLED].insert_one(claim)
    publish(settings, "claimed", event.to_wire())
    wait_until(lambda: len(deliveries(db, event.event_id)) >= 2, 30, "a second delivery")
    assert db[EFFECTS].find_one({"_id": event.event_id}) is None  # not while the claim is held
    db[HANDLED].delete_one({"_id": claim["_id"]})
    wait_until(lambda: db[EFFECTS].find_one({"_id": event.event_id}), 30, "the effect")
    assert db[HANDLED].find_one({"_id": claim["_id"]})["state"] == "done"


@pytest.mark.slow
def test_an_event_that_reached_the_dispatcher_while_mongodb_was_down_is_handled_when_it_is_back(
        admin, project, media_dir, settings, db):
    """The issue's reproduction: version_uploaded reaches the dispatcher while
    FerretDB is stopped and its handler fails; once FerretDB is back the event
    is handled and the version is transcoded."""
    data = Path(os.environ["FRAMEGATE_DATA"])
    metrics = f"http://127.0.0.1:{local_port('transcode_dispatch')}/metrics"
    consumer = "transcode_dispatch.on_version_uploaded"
    failed_before = counted(metrics, "framegate_events_handler_failures_total", consumer)
    stack.stop_component(data, "outbox-relay")  # the test publishes the event itself, at the moment it chooses
    try:
        version = upload(admin, project["id"], media.make_h264_2398(media_dir)).json()
        stored = db[outbox_collection("ingest")].find_one({"body.version_id": version["id"]})
        mark_published(db, "ingest", stored["_id"])  # what the relay does once it has published it
        stack.stop_component(data, "ferretdb")
        try:
            event_dispatcher({"AMQP_URI": settings.amqp_url, "serializer": "json"}, mandatory=True)(
                "ingest", stored["routing_key"], stored["body"])
            wait_until(lambda: counted(metrics, "framegate_events_handler_failures_total", consumer) > failed_before,
                       60, "a failed delivery")
        finally:
            stack.start_component(data, "ferretdb")
    finally:
        stack.start_component(data, "outbox-relay")
    assert wait_for_status(admin, version["id"], {"ready", "failed"}, timeout=120)["status"] == "ready"

