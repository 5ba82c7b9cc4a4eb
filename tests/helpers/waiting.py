"""Waiting for a condition, not for a while: ``wait_until(predicate, timeout=..., message=...)``.

The timeout only bounds a wait that would otherwise hang; it is generous so that a
busy machine never trips it, and no test reads anything into how long a wait took
(latencies are measured by the scripts in ``bench/``). Free of pytest: the floor
helpers that ``bench/`` imports use it too.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

TIMEOUT = 60.0  # seconds: a bound for a wait that should end at once, never a speed


class WaitTimeout(AssertionError):
    """The condition did not come true within the bound (an AssertionError: a failed check)."""


def wait_until(
    predicate: Callable[[], T],
    timeout: float = TIMEOUT,
    message: str | Callable[[], str] = "the condition did not come true",
    interval: float = 0.02,
) -> T:
    """Check ``predicate`` until it returns something true and return that.

    Raises ``WaitTimeout`` with ``message`` (a string, or a function that makes
    one from the state at that moment) after ``timeout`` seconds of the
    monotonic clock, which time travel does not move.
    """
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() >= deadline:
            text = message() if callable(message) else message
            raise WaitTimeout(f"{text} (waited {timeout:g} s)")
        time.sleep(interval)
