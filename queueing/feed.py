"""One office's floor events as this process sends them: read once, sent to every screen.

Every open stream of an office (lobby displays, clerk pages) wants the same thing:
the events after the last one it sent, each with the office's current counts.
Read for each stream on its own, 2,000 open screens would be 2,000 queries a
second while nothing happens, and 2,000 count computations per call. A feed
reads the log once for all of them in this process (when the broker announces
an event, or after the poll interval), keeps the recent events in memory
already formatted, and computes the counts once per batch of new events: the
office's state, cached by its last event id.
"""

from __future__ import annotations

import bisect
import json
import threading
import time
from dataclasses import dataclass
from typing import Any

from flask import Flask
from sqlalchemy.orm import Session

from booking.models import Office
from okienko.database import db, reading, utcnow

from .events import events_after, latest_id
from .models import QueueEvent
from .state import display_state, waiting_counts

KEEP = 512  # recent events held per office; a stream further behind reads the log
STATE_MAX_AGE = 2.0  # seconds a first state may be reused while nothing happens


def sse(data: dict[str, Any], event: str | None = None, event_id: int | None = None) -> str:
    lines = []
    if event_id is not None:
        lines.append(f"id: {event_id}")
    if event:
        lines.append(f"event: {event}")
    lines.append("data: " + json.dumps(data, ensure_ascii=False, separators=(",", ":")))
    return "\n".join(lines) + "\n\n"


@dataclass(frozen=True)
class Sent:
    """An event as a stream sends it."""

    id: int
    text: str


class Feed:
    """The recent events of one office, for every stream of it in this process."""

    def __init__(self, app: Flask, office_id: int) -> None:
        self.app = app
        self.office_id = office_id
        self._lock = threading.Lock()
        self._events: list[Sent] = []
        self._ids: list[int] = []
        # Every event with base < id <= read_upto is in _events: read in id order,
        # which is the order they become visible (see events.record).
        self._base: int | None = None
        self._read_upto = 0
        self._read_at = float("-inf")
        self._seen_announced = 0
        self._counts: list[dict[str, Any]] | None = None
        self._state: tuple[int, dict[str, Any], float] | None = None

    def state(self, announced: int) -> tuple[int, dict[str, Any]] | None:
        """The newest event id and the display's state after it; None if the office is gone.

        The id is read first: an event committed while the state is read is then both
        in the state and sent after it (the page dedupes), never in neither. A state
        is reused for ``STATE_MAX_AGE`` while no newer event was announced, so that a
        room of screens reconnecting at once costs one computation.
        """
        with self._lock:
            cached = self._state
            if (
                cached is not None
                and cached[0] >= announced
                and time.monotonic() - cached[2] < STATE_MAX_AGE
            ):
                return cached[0], cached[1]
            with self.app.app_context(), reading(), Session(db.engine) as session:
                newest = latest_id(session, self.office_id)
                office = session.get(Office, self.office_id)
                if office is None:
                    return None
                state = display_state(session, office, utcnow())
            self._state = (newest, state, time.monotonic())
            return newest, state

    def after(self, last_id: int, announced: int, poll_seconds: float) -> list[Sent]:
        """The events after ``last_id``, reading the log first if there may be new ones.

        ``announced`` is what the broker had announced before the caller's last look;
        the log is read when something newer was announced or ``poll_seconds`` have
        passed since the last read, once for all the streams that ask meanwhile.
        """
        with self._lock:
            now = time.monotonic()
            stale = announced > self._seen_announced or now - self._read_at >= poll_seconds
            if stale or self._base is None:
                self._read()  # noted only once it succeeded: a failed read is tried again
                self._seen_announced = max(self._seen_announced, announced)
                self._read_at = now
            assert self._base is not None
            if last_id >= self._base:
                return self._events[bisect.bisect_right(self._ids, last_id) :]
            return self._replay(last_id)

    def _read(self) -> None:
        with self.app.app_context(), reading(), Session(db.engine) as session:
            new = (
                []
                if self._base is None
                else events_after(session, self.office_id, self._read_upto, KEEP)
            )
            if self._base is None or len(new) == KEEP:
                # The feed's start, or a backlog built while no screen was open (a night):
                # the feed starts again at the log's end, and a stream behind it reads
                # the log itself (``_replay``), never the whole backlog under the lock.
                self._base = self._read_upto = latest_id(session, self.office_id)
                self._events, self._ids = [], []
                return
            if not new:
                return
            self._events += self._format(new, self._current_counts(session))
            self._ids += [row.id for row in new]
            self._read_upto = new[-1].id
        if len(self._events) > 2 * KEEP:
            self._base = self._ids[-KEEP - 1]
            del self._events[:-KEEP], self._ids[:-KEEP]

    def _current_counts(self, session: Session) -> list[dict[str, Any]] | None:
        office = session.get(Office, self.office_id)
        self._counts = None if office is None else waiting_counts(session, office, utcnow())
        return self._counts

    def _replay(self, last_id: int) -> list[Sent]:
        """A stream further behind than the memory (a display back after a long
        outage, or one that started just before the feed): read from the log."""
        with self.app.app_context(), reading(), Session(db.engine) as session:
            rows = events_after(session, self.office_id, last_id, 200)
            counts = self._counts if self._counts is not None else self._current_counts(session)
            return self._format(rows, counts)

    @staticmethod
    def _format(rows: list[QueueEvent], counts: list[dict[str, Any]] | None) -> list[Sent]:
        """Each event as sent, with the counts after it (events carry none of their own)."""
        extra = {} if counts is None else {"waiting": counts}
        return [Sent(row.id, sse(row.payload | extra, row.kind, row.id)) for row in rows]


_FEEDS_LOCK = threading.Lock()


def feed_for(app: Flask, office_id: int) -> Feed:
    """The process's feed of an office, made on first use."""
    with _FEEDS_LOCK:
        feeds: dict[int, Feed] = app.extensions.setdefault("queue_feeds", {})
        if office_id not in feeds:
            feeds[office_id] = Feed(app, office_id)
        return feeds[office_id]
