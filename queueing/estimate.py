"""Estimated wait: recent handling times, open counters, and booked appointments."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta


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
