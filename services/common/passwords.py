"""Argon2id password hashing with explicit cost, and a bound on hashes in flight.

Each hash holds `argon2_memory_kib` of memory for its duration. A pod's
threads all signing in at once must fit its memory limit, so the number of
concurrent hashes per process is capped (FRAMEGATE_MAX_CONCURRENT_HASHES);
a sign-in that cannot get a slot within `hash_wait_seconds` is told to retry
(503) instead of queueing without end.
"""
from __future__ import annotations

import threading

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

# OWASP's floor for Argon2id: 19 MiB, two passes, one lane.
FLOOR_MEMORY_KIB = 19 * 1024
FLOOR_TIME_COST = 2


class HashingBusy(Exception):
    """Every hashing slot of this process stayed taken for the whole wait."""


def argon2_parameters(settings=None) -> dict:
    memory = getattr(settings, "argon2_memory_kib", FLOOR_MEMORY_KIB)
    time_cost = getattr(settings, "argon2_time_cost", FLOOR_TIME_COST)
    if memory < FLOOR_MEMORY_KIB or time_cost < FLOOR_TIME_COST:
        raise ValueError(f"Argon2id needs at least {FLOOR_MEMORY_KIB} KiB and {FLOOR_TIME_COST} passes")
    return {"memory_cost": memory, "time_cost": time_cost, "parallelism": 1, "hash_len": 32,
            "salt_len": 16, "type": Type.ID}


_hashers: dict[tuple, PasswordHasher] = {}
_gates: dict[int, threading.BoundedSemaphore] = {}
_lock = threading.Lock()


def hasher(settings=None) -> PasswordHasher:
    params = argon2_parameters(settings)
    key = tuple(sorted((k, str(v)) for k, v in params.items()))
    with _lock:
        return _hashers.setdefault(key, PasswordHasher(**params))


def hash_gate(settings=None) -> threading.BoundedSemaphore:
    """The process-wide semaphore for `max_concurrent_hashes` (one per limit)."""
    limit = int(getattr(settings, "max_concurrent_hashes", 2))
    with _lock:
        return _gates.setdefault(limit, threading.BoundedSemaphore(limit))


def _bounded(settings, work):
    gate = hash_gate(settings)
    if not gate.acquire(timeout=float(getattr(settings, "hash_wait_seconds", 3.0))):
        raise HashingBusy()
    try:
        return work()
    finally:
        gate.release()


def hash_password(password: str, settings=None) -> str:
    return _bounded(settings, lambda: hasher(settings).hash(password))


def verify_password(stored_hash: str, password: str, settings=None) -> bool:
    """True when the password matches; a malformed stored hash is a mismatch."""
    def check() -> bool:
        try:
            return hasher(settings).verify(stored_hash, password or "")
        except (VerificationError, InvalidHashError):
            return False
    return _bounded(settings, check)


def needs_rehash(stored_hash: str, settings=None) -> bool:
    """The stored hash was made with other parameters than today's."""
    try:
        return hasher(settings).check_needs_rehash(stored_hash)
    except InvalidHashError:
        return False
