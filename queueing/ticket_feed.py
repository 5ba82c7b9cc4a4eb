"""A resident's phone stream: its own ticket's status, sent again on each floor event.

The office's floor stream (``queueing.display``) carries every ticket's calls; a
resident gets only their own ticket's status. The stream follows the office's event
log through the same per-process feed as the displays (``queueing.feed``), and
works out the places of the whole line once per event for all the phones of the
office in this process (``Statuses``), not once per phone.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from flask import Flask
from sqlalchemy.orm import Session

from booking.models import Office
from okienko.database import db, reading, utcnow

from .display import HEARTBEAT_SECONDS, POLL_SECONDS, client_gone
from .events import latest_id
from .feed import feed_for, sse
from .models import Ticket
from .places import office_statuses, ticket_status

# The places are worked out again at least this often while phones are open: the wait
# changes with time too (booked visits come due, or lapse).
MAX_AGE = timedelta(seconds=30)
# A stream ends after this and the browser reconnects: a phone that vanished without
# closing its connection (behind TLS, where it cannot be seen) holds it no longer.
LIFETIME_SECONDS = 30 * 60.0
# Streams of one ticket per process: a page open in a few tabs or on a second phone,
# not a stream per greenlet for anyone holding the QR code.
STREAMS_PER_TICKET = 4


class Statuses:
    """Every open ticket's status in one office, as of an event id, for this process."""

    def __init__(self, app: Flask, office_id: int) -> None:
        self.app = app
        self.office_id = office_id
        self._lock = threading.Lock()
        # (newest event id, statuses, when worked out by the wall clock: the wait and
        # the day's close follow it, and so does a test's travelled time)
        self._cached: tuple[int, dict[int, dict[str, Any]], datetime] | None = None

    def get(self, ticket_id: int, after: int) -> tuple[int, dict[str, Any]]:
        """The newest event id and the ticket's status after it (at least ``after``).

        The id is read before the places: an event committed meanwhile is then
        already reflected or comes as a newer id, never lost.
        """
        with self._lock:
            cached = self._cached
            if (
                cached is None
                or cached[0] < after
                or not timedelta(0) <= utcnow() - cached[2] < MAX_AGE
            ):
                with self.app.app_context(), reading(), Session(db.engine) as session:
                    newest = latest_id(session, self.office_id)
                    office = session.get(Office, self.office_id)
                    now = utcnow()
                    statuses = {} if office is None else office_statuses(session, office, now)
                cached = self._cached = (newest, statuses, now)
        newest, statuses, _ = cached
        status = statuses.get(ticket_id)
        if status is None:  # closed, or newer than the cached line: read it on its own
            with self.app.app_context(), reading(), Session(db.engine) as session:
                ticket = session.get(Ticket, ticket_id)
                status = (
                    {"closed": True} if ticket is None else ticket_status(session, ticket, utcnow())
                )
        return newest, status


_LOCK = threading.Lock()


def statuses_for(app: Flask, office_id: int) -> Statuses:
    with _LOCK:
        cache: dict[int, Statuses] = app.extensions.setdefault("ticket_statuses", {})
        if office_id not in cache:
            cache[office_id] = Statuses(app, office_id)
        return cache[office_id]


_open: dict[int, int] = {}


class StreamSlot:
    """One of a ticket's ``STREAMS_PER_TICKET`` streams in this process, taken by the view
    before it answers (so a stream over the limit gets a 429, never an empty 200) and
    given back once, by whichever comes first: the stream's end or the response's close
    (which may come before the stream ever started)."""

    def __init__(self, ticket_id: int) -> None:
        self.ticket_id = ticket_id
        with _LOCK:
            self.held = _open.get(ticket_id, 0) < STREAMS_PER_TICKET
            if self.held:
                _open[ticket_id] = _open.get(ticket_id, 0) + 1

    def release(self) -> None:
        with _LOCK:
            if not self.held:
                return
            self.held = False
            _open[self.ticket_id] -= 1
            if not _open[self.ticket_id]:
                del _open[self.ticket_id]


def ticket_stream(
    app: Flask, office_id: int, slot: StreamSlot, client: socket.socket | None
) -> Iterator[str]:
    """The ticket's status at once, then again whenever it changes; ends when it closes."""
    try:
        yield from _stream(app, office_id, slot.ticket_id, client)
    finally:
        slot.release()


def _stream(
    app: Flask, office_id: int, ticket_id: int, client: socket.socket | None
) -> Iterator[str]:
    broker = app.extensions["queue_broker"]
    feed = feed_for(app, office_id)
    statuses = statuses_for(app, office_id)
    yield "retry: 3000\n\n"
    last_id, status = statuses.get(ticket_id, broker.latest(office_id))
    yield sse(status, "status")
    started = quiet_since = time.monotonic()
    while not status.get("closed") and time.monotonic() - started < LIFETIME_SECONDS:
        announced = broker.latest(office_id)  # before the read: see Broker.wait
        sent = feed.after(last_id, announced, POLL_SECONDS)
        quiet = time.monotonic() - quiet_since >= HEARTBEAT_SECONDS
        if sent or quiet:
            if sent:
                last_id = sent[-1].id
            _, latest = statuses.get(ticket_id, last_id)
            if latest != status:
                status = latest
                yield sse(status, "status")
                quiet_since = time.monotonic()
            elif quiet:
                yield sse({}, "ping")  # the page's watchdog sees the stream alive
                quiet_since = time.monotonic()
            if sent:
                continue
        broker.wait(office_id, max(last_id, announced), POLL_SECONDS)
        if client_gone(client):
            return
