"""The redelivery rules of the reliable consumer helper: bounded, growing delays."""
from __future__ import annotations

from services.common.consumer import DEFAULT_LEASE
from services.common.reliable import DEFAULT_REDELIVERY, Redelivery, dead_letter_queue_name, quorum_arguments


def test_the_delay_doubles_up_to_its_cap():
    rule = Redelivery(limit=6, first_delay=1.0, max_delay=5.0)
    assert [rule.delay(n) for n in range(6)] == [1.0, 2.0, 4.0, 5.0, 5.0, 5.0]


def test_the_delivery_after_the_limit_is_the_last():
    rule = Redelivery(limit=3)
    assert [rule.is_last(n) for n in range(5)] == [False, False, False, True, True]


def test_the_window_sums_the_delays_before_each_retry():
    assert Redelivery(limit=3, first_delay=1.0, max_delay=3.0).window() == 1.0 + 2.0 + 3.0


def test_an_abandoned_claim_is_taken_over_before_its_event_is_dead_lettered():
    assert DEFAULT_LEASE.total_seconds() < DEFAULT_REDELIVERY.window() / 2


def test_a_queue_dead_letters_to_its_own_dead_letter_queue_after_the_limit():
    args = quorum_arguments("events.a.b.c.d", Redelivery(limit=4))
    assert args["x-queue-type"] == "quorum" and args["x-delivery-limit"] == 4
    assert args["x-dead-letter-routing-key"] == dead_letter_queue_name("events.a.b.c.d") == "events.a.b.c.d.dead"
