"""Waiting on real events in tests: poll a condition, never sleep a fixed time."""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_until(predicate: Callable[[], object], timeout: float = 180.0, interval: float = 0.05) -> bool:
    """True as soon as ``predicate()`` is truthy; False once ``timeout`` seconds passed without it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False
