"""Estimated wait: recent handling times, open counters, and booked appointments."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta

RANGE_STEP = 5  # minutes: a range's ends fall on this grid


def handling_time(recent: Sequence[timedelta], planned: timedelta) -> timedelta:
    """The median of recent handling times of a service, or its planned duration."""
    if not recent:
        return planned
    ordered = sorted(recent)
    return ordered[len(ordered) // 2]


def estimated_wait(
    ahead: int,
    handling: timedelta,
    open_counters: int,
    now: datetime,
    appointments: Sequence[datetime] = (),
) -> timedelta | None:
    """How long until a ticket with ``ahead`` tickets in front of it is called.

    ``appointments`` are the start times of booked visits yet to come for the
    same counters: each one due before the ticket's turn takes a counter for
    one handling time, pushing the turn back (ZMS slots them in the same way).
    None when no counter serving the service is open.
    """
    if open_counters <= 0:
        return None
    wait = handling * ahead / open_counters
    for start in sorted(appointments):
        if start < now + wait:
            wait += handling / open_counters
    return wait


def wait_range(wait: timedelta, ahead: int) -> tuple[int, int]:
    """``wait`` as a range of minutes to show a resident: 20 % either side, on a 5-minute grid.

    A single figure reads like a promise the estimate cannot keep, and "about 0 min"
    with people still ahead is plainly wrong: with anyone ahead the range starts at
    1 minute at least, and it is always at least one step wide.
    """
    minutes = wait.total_seconds() / 60
    low = math.floor(minutes * 0.8 / RANGE_STEP) * RANGE_STEP
    if ahead > 0:
        low = max(low, 1)
    high = math.ceil(minutes * 1.2 / RANGE_STEP) * RANGE_STEP
    next_step = (low // RANGE_STEP + 1) * RANGE_STEP
    return low, max(high, next_step)
