"""Events reach RabbitMQ only after their write, even when the broker was down,
and consumers act on each event once."""
from __future__ import annotations

import concurrent.futures
import json
import os
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import requests
from kombu import Connection, Exchange, Queue

from framegate import stack
from services.common import events
from services.common.consumer import DEFAULT_LEASE, HANDLED, ClaimedElsewhere, handle_once
from services.common.outbox import defer, oldest_pending, outbox_collection, pending_events, record_event
from services.common.settings import local_port
from tests import media
from tests.integration.uploading import upload, wait_for_status
from tests.integration.waiting import wait_until

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


def deliver_at_once(db, consumer: str, event, effects: list, times: int = 10) -> list[bool]:
    """`times` deliveries of one event at the same moment; True where the handler ran."""
    def deliver(_):
        try:
            return handle_once(db, consumer, event, lambda e: (time.sleep(0.2), effects.append(e)))
        except ClaimedElsewhere:
            return False

    with concurrent.futures.ThreadPoolExecutor(times) as pool:
        return list(pool.map(deliver, range(times)))


def test_racing_deliveries_of_one_event_run_the_handler_once(db):
    effects = []
    results = deliver_at_once(db, "racing-consumer", sample_event(), effects)
    assert results.count(True) == 1 and len(effects) == 1


def test_a_failed_handler_leaves_the_event_for_a_redelivery(db):
    event = sample_event()

    def broken(_):
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        handle_once(db, "flaky-consumer", event, broken)
    effects = []
    assert handle_once(db, "flaky-consumer", event, effects.append) is True and effects == [event]


def test_of_racing_processes_exactly_one_takes_over_an_abandoned_claim(db):
    """A claim whose process died long ago: ten deliveries find it at once, one takes it over."""
    event = sample_event()
    abandoned = datetime.now(timezone.utc) - DEFAULT_LEASE * 2
    db[HANDLED].insert_one({"_id": f"takeover-consumer:{event.event_id}", "state": "started", "started_at": abandoned})
    effects = []
    results = deliver_at_once(db, "takeover-consumer", event, effects)
    assert results.count(True) == 1 and len(effects) == 1
    assert handle_once(db, "takeover-consumer", event, effects.append) is False  # and it is done


def bound_queues(settings, exchange: str, routing_key: str) -> list[str]:
    """The queues bound to an exchange with a routing key (RabbitMQ's management API)."""
    url = f"http://127.0.0.1:{local_port('amqp_management')}/api/exchanges/%2F/{exchange}/bindings/source"
    auth = (os.environ["FRAMEGATE_STACK_AMQP_USER"], os.environ["FRAMEGATE_STACK_AMQP_PASSWORD"])
    bindings = requests.get(url, auth=auth, timeout=10).json()
    return [b["destination"] for b in bindings if b["routing_key"] == routing_key and b["destination_type"] == "queue"]


@pytest.mark.slow
def test_an_event_no_queue_is_bound_for_waits_in_the_outbox_until_one_is(admin, project, media_dir, settings, db):
    """The broker drops what it cannot route: such an event is not marked
    published, and goes out once its consumer has declared its queue."""
    outbox = db[outbox_collection("ingest")]
    stack.stop_component(data_dir(), "transcode-dispatch")
    try:
        with Connection(settings.amqp_url) as conn:
            for queue in bound_queues(settings, INGEST_EVENTS.name, "version_uploaded"):
                conn.channel().queue_delete(queue)
        version = upload(admin, project["id"], media.make_h264_2398(media_dir)).json()
        tried = wait_until(lambda: outbox.find_one({"body.version_id": version["id"], "$or": [
            {"published": True}, {"retry_at": {"$exists": True}}]}), 30, "a publish attempt")
        assert tried["published"] is False
    finally:
        stack.start_component(data_dir(), "transcode-dispatch")
    wait_until(lambda: outbox.find_one({"body.version_id": version["id"], "published": True}), 60, "the publish")
    assert wait_for_status(admin, version["id"], {"ready", "failed"})["status"] == "ready"


def test_a_deferred_event_does_not_hold_back_the_ones_after_it(db):
    """An event the broker returned waits for its retry; later events are still due,
    and the oldest-pending age (what OutboxLagging watches) still counts it."""
    scratch = db.client[f"{db.name}_outbox_test"]  # no relay reads this database
    try:
        first, second = sample_event(), sample_event()
        for event in (first, second):
            record_event(scratch, event)
        defer(scratch, "ingest", first.event_id, timedelta(hours=1))
        assert [d["_id"] for d in pending_events(scratch, "ingest")] == [second.event_id]
        assert oldest_pending(scratch, "ingest")["_id"] == first.event_id
    finally:
        db.client.drop_database(scratch.name)


def relay_gauge(name: str, service: str) -> float:
    from prometheus_client import REGISTRY
    return REGISTRY.get_sample_value(name, {"service": service})


@pytest.mark.parametrize("announcements", [True, False])
def test_events_nobody_listens_to_wait_by_type_and_count_as_lag_only_where_work_waits(db, settings, announcements):
    """A type the broker returns waits (its later events untouched) while other
    types go out; for a service of announcements (review) it is not lag, and it
    goes out in order once a queue is bound for it."""
    from services.common.outbox_relay import Relay

    service = f"relaytest{uuid.uuid4().hex[:8]}"  # an exchange of its own: no consumer anywhere
    scratch = db.client[f"{db.name}_relay_test"]
    exchange = Exchange(f"{service}.events", type="topic", durable=True)
    heard = Queue(f"{service}-heard", exchange, routing_key="heard", durable=True)
    later = Queue(f"{service}-unheard", exchange, routing_key="unheard", durable=True)
    relay = Relay(settings, service, announcements=announcements)
    relay.db = scratch
    outbox_docs = scratch[outbox_collection(service)]
    an_hour_ago = datetime.now(timezone.utc) - timedelta(hours=1)
    for n, (kind, age) in enumerate([("unheard", an_hour_ago), ("unheard", an_hour_ago), ("heard", an_hour_ago)]):
        outbox_docs.insert_one({"_id": f"e{n}", "exchange": exchange.name, "routing_key": kind,
                                "body": {"n": n}, "created_at": age + timedelta(seconds=n), "published": False})
    try:
        with Connection(settings.amqp_url) as conn:
            exchange(conn.channel()).declare()
            heard(conn.channel()).declare()
        relay.publish_pending()
        state = {d["_id"]: d for d in outbox_docs.find()}
        assert state["e2"]["published"] is True  # another type is not held back
        assert state["e0"]["published"] is False and "retry_at" in state["e0"]  # tried, returned
        assert state["e1"]["published"] is False and "retry_at" not in state["e1"]  # not even tried
        lag = relay_gauge("framegate_outbox_oldest_pending_seconds", service)
        if announcements:
            assert lag == 0
            assert relay_gauge("framegate_outbox_unheard_events", service) == 2
        else:
            assert lag >= 3600  # ingest's kind of event: nobody transcodes, OutboxLagging fires
        with Connection(settings.amqp_url) as conn:
            later(conn.channel()).declare()
        wait_until(lambda: relay.publish_pending() is not None and outbox_docs.count_documents(
            {"published": False}) == 0, 30, "the held type to go out once a queue is bound")
        assert [receive(settings, later, lambda body: True, timeout=10)["n"] for _ in range(2)] == [0, 1]
        relay.publish_pending()
        assert relay_gauge("framegate_outbox_oldest_pending_seconds", service) == 0

        # A broker that fails the publish is lag, for every kind of relay.
        def broker_down(*args, **kwargs):
            raise ConnectionError("broker down")

        relay.dispatch = broker_down
        outbox_docs.insert_one({"_id": "e3", "exchange": exchange.name, "routing_key": "heard", "body": {"n": 3},
                                "created_at": an_hour_ago, "published": False})
        with pytest.raises(ConnectionError):
            relay.publish_pending()
        assert relay_gauge("framegate_outbox_oldest_pending_seconds", service) >= 3600
    finally:
        db.client.drop_database(scratch.name)
        with Connection(settings.amqp_url) as conn:
            for queue in (heard, later):
                queue(conn.channel()).delete()
            exchange(conn.channel()).delete()
