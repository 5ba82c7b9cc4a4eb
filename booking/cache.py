"""The cache of free times and office data that residents read often and offices change seldom.

Each worker keeps its own, bounded, least recently used out first. Every key carries the
version of the office it was read under (``booking/versions.py``), read before the data,
so an entry is never older than its key says, and a write in any worker or process makes
the next reader everywhere miss: nothing has to be shared or cleared for it to be correct.
Keys also carry what of ``now`` changes the answer (``window_key``).
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
from collections.abc import Callable, Hashable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVar

from cachetools import LRUCache
from flask import current_app
from sqlalchemy.orm import Session

from .availability import availability, booking_window, first_free_start, window_days
from .models import Office, Service
from .slots import align_up

# About this many bytes of entries per worker; the estimate leaves out shared objects.
CACHE_BYTES = 16 * 2**20
# Raised when a cached answer's shape changes, so that clients' old ETags stop matching.
FORMAT = 1
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

T = TypeVar("T")
_MISSING = object()
_EXTENSION = "booking.cache"


def _size(value: Any) -> int:
    if isinstance(value, bytes):
        return len(value) + 64
    if isinstance(value, tuple):  # free times: (day, starts) pairs
        return 120 + sum(100 + 56 * len(starts) for _day, starts in value)
    return 1000


class Cache:
    """A bounded LRU map that computes what it misses; safe across a worker's threads."""

    def __init__(self, max_bytes: int) -> None:
        self._entries: LRUCache[Hashable, Any] = LRUCache(max_bytes, getsizeof=_size)
        self._lock = threading.Lock()

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        with self._lock:
            found = self._entries.get(key, _MISSING)
        if found is not _MISSING:
            return found
        # Computed outside the lock: two threads may both compute a miss, never wait on it.
        value = compute()
        # A value larger than the whole cache is served, not kept.
        with self._lock, contextlib.suppress(ValueError):
            self._entries[key] = value
        return value


def app_cache() -> Cache:
    """The current app's cache (one per app, so each test's database has its own)."""
    cache = current_app.extensions.get(_EXTENSION)
    if cache is None:
        cache = current_app.extensions.setdefault(_EXTENSION, Cache(CACHE_BYTES))
    return cache


def window_key(
    office: Office, now: datetime, first: date, last: date
) -> tuple[datetime | None, datetime | None]:
    """What of ``now`` decides which starts from ``first`` to ``last`` are offered.

    The first and the last start that may be booked, on the office's grid (every start
    is a cell of it, ``slots.align_up``): they move once per cell, not every microsecond.
    A bound that lies a day clear of the span, whatever the zone, decides nothing (None):
    next month's times do not change every quarter of an hour.
    """
    earliest, latest = booking_window(office, now)
    step = timedelta(minutes=office.slot_minutes)
    span_start = datetime.combine(first, time(0), UTC) - timedelta(days=1)
    span_end = datetime.combine(last, time(0), UTC) + timedelta(days=2)
    return (
        align_up(earliest, step) if earliest > span_start else None,
        latest - (latest - EPOCH) % step if latest < span_end else None,
    )


def etag(key: tuple[Any, ...]) -> str:
    """The ETag of the answer to ``key``: the same in every worker and process."""
    return hashlib.blake2b(repr((FORMAT, key)).encode(), digest_size=16).hexdigest()


def free_times(
    session: Session,
    office: Office,
    version: int,
    service: Service,
    first: date,
    last: date,
    now: datetime,
) -> dict[date, list[datetime]]:
    """``availability`` from the cache when it is there for this version and window.

    ``version`` must have been read before ``office`` and the rest of the data
    (``versions.service_at_version``).
    """
    window = window_key(office, now, first, last)
    key = ("free", office.id, version, service.id, first, last, *window)
    held = app_cache().get(
        key,
        lambda: tuple(
            (day, tuple(starts))
            for day, starts in availability(session, office, service, first, last, now).items()
        ),
    )
    return {day: list(starts) for day, starts in held}


def first_free_key(office: Office, now: datetime) -> tuple[Any, ...]:
    """What of ``now`` decides ``first_free_start``: the booking window's days and its
    bounds on the grid (``window_key``), so a key moves once per cell, not every second."""
    first, last = window_days(office, now)
    return (first, last, *window_key(office, now, first, last))


def cached_first_free(
    session: Session, office: Office, version: int, service: Service, now: datetime
) -> datetime | None:
    """``first_free_start`` from the cache, as ``free_times``: ``version`` must have been
    read before ``office``."""
    key = ("first-free", office.id, version, service.id, *first_free_key(office, now))
    return app_cache().get(key, lambda: first_free_start(session, office, service, now))
