"""The pure rules of sign-in: token liveness, backoff, Argon2id parameters."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from services.common import passwords
from services.common.accounts import token_state, touch_interval
from services.common.settings import Settings
from services.common.signin_limits import Limits, pair_wait_seconds

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
RECORD = {"generation": 3, "created_at": T0, "last_used_at": T0, "expires_at": T0 + timedelta(days=30),
          "idle_seconds": 3600}


@pytest.mark.parametrize("record, newest, disabled, now, state", [
    (RECORD, 3, False, T0 + timedelta(minutes=59), ""),
    (RECORD, 3, False, T0 + timedelta(minutes=61), "idle"),
    (dict(RECORD, last_used_at=T0 + timedelta(days=29, hours=23, minutes=30)), 3, False, T0 + timedelta(days=30), "expired"),
    (RECORD, 4, False, T0, "revoked"),  # issued before a password change, reset or disable
    (RECORD, 3, True, T0, "disabled"),
    ({"created_at": T0}, 0, False, T0 + timedelta(days=29), ""),  # tokens from before lifetimes: generation 0 ...
    ({"created_at": T0}, 0, False, T0 + timedelta(days=31), "expired"),  # ... and the default absolute age
])
def test_a_token_is_live_only_under_the_newest_generation_and_within_its_lifetimes(record, newest, disabled, now, state):
    assert token_state(record, newest, disabled, now) == state


def test_last_use_is_rewritten_at_most_every_tenth_of_the_idle_time_or_five_minutes():
    assert touch_interval(600) == timedelta(seconds=60)
    assert touch_interval(12 * 3600) == timedelta(minutes=5)


LIMITS = Limits(free_attempts=5, per_address=50, window_seconds=900, backoff_base_seconds=30)


@pytest.mark.parametrize("failures, age, wait", [
    (0, None, 0), (4, 0.0, 0),  # the first five tries are free
    (5, 0.0, 30), (5, 10.0, 20), (5, 31.0, 0),  # then 30 s after the last failure
    (6, 0.0, 60), (7, 0.0, 120),  # doubling
    (20, 0.0, 900),  # capped at the window
])
def test_pair_backoff_doubles_after_the_free_attempts(failures, age, wait):
    assert pair_wait_seconds(failures, age, LIMITS) == wait


def test_argon2id_parameters_are_explicit_and_never_below_owasps_floor():
    params = passwords.argon2_parameters(Settings())
    assert (params["memory_cost"], params["time_cost"], params["parallelism"]) == (19 * 1024, 2, 1)
    assert passwords.hash_password("a password long enough").startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    with pytest.raises(ValueError):
        passwords.argon2_parameters(replace(Settings(), argon2_memory_kib=8 * 1024))
    with pytest.raises(ValueError):
        passwords.argon2_parameters(replace(Settings(), argon2_time_cost=1))


def test_a_hash_waits_for_a_free_slot_then_gives_up_as_busy():
    settings = replace(Settings(), max_concurrent_hashes=1, hash_wait_seconds=0.05)
    gate = passwords.hash_gate(settings)
    assert gate.acquire(timeout=1)
    try:
        with pytest.raises(passwords.HashingBusy):
            passwords.hash_password("a password long enough", settings)
    finally:
        gate.release()
    assert passwords.hash_password("a password long enough", settings).startswith("$argon2id$")
