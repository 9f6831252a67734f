"""Waiting for something the platform does in the background."""
from __future__ import annotations

import time


def wait_until(condition, timeout: float, what: str):
    """Poll `condition` until it returns something truthy, and return that."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"{what} did not happen within {timeout}s")
