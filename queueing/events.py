"""Floor events: stored in order in the database, fanned out to every process.

The ``queue_event`` table is the truth: a display stream reads the rows after
the last id it sent, so a reconnecting display replays what it missed
(Last-Event-ID) and no process depends on another's memory. The broker only
wakes streams early: in-process for a single process, through Redis pub/sub
when REDIS_URL is set, so a call made in one gunicorn worker or app instance
reaches displays served by another within milliseconds. Without Redis the
streams still see every event within their poll interval.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import weakref
from typing import Any

from sqlalchemy import Engine, func, select, text
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session, SessionTransaction

from .models import QueueEvent

log = logging.getLogger(__name__)
CHANNEL = "okienko:queue-events"
RECONNECT_MIN_SECONDS = 0.5
RECONNECT_MAX_SECONDS = 10.0
# Idle 10 s, then a probe every 5 s, 3 unanswered: a vanished Redis is noticed in ~25 s.
KEEPALIVE = {
    getattr(socket, name): value
    for name, value in (("TCP_KEEPIDLE", 10), ("TCP_KEEPINTVL", 5), ("TCP_KEEPCNT", 3))
    if hasattr(socket, name)
}


class Broker:
    """Wake-ups for waiting streams in this process."""

    def __init__(self) -> None:
        self._latest: dict[int, int] = {}
        self._changed = threading.Condition()

    def notify(self, office_id: int, event_id: int) -> None:
        with self._changed:
            if event_id > self._latest.get(office_id, 0):
                self._latest[office_id] = event_id
            self._changed.notify_all()

    def latest(self, office_id: int) -> int:
        """The highest event id announced so far for the office (0: none yet)."""
        with self._changed:
            return self._latest.get(office_id, 0)

    def wait(self, office_id: int, after_id: int, timeout: float) -> bool:
        """Block until an event newer than ``after_id`` is announced, or ``timeout``.

        A stream passes the larger of the last id it sent and ``latest()`` as it
        was *before* its last read of the log: an announcement it has not read
        yet wakes it at once, and an announced id that never shows up in the log
        (an event rolled back with a savepoint, a message from another
        installation on the same Redis) cannot make it spin.
        """
        with self._changed:
            return self._changed.wait_for(
                lambda: self._latest.get(office_id, 0) > after_id, timeout=timeout
            )

    def publish(self, office_id: int, event_id: int) -> None:
        self.notify(office_id, event_id)


class RedisBroker(Broker):
    """Publishes to Redis and relays what any process publishes to local streams."""

    def __init__(self, url: str, channel: str = CHANNEL) -> None:
        super().__init__()
        import redis

        self.errors = redis.RedisError
        self.channel = channel
        # Publishing happens in a clerk's request: a Redis that does not answer must
        # not hold it up.
        self.client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        # The listener waits for messages without a timeout; TCP keepalive tells it
        # when the other end has vanished without closing (a dead host, a cut link).
        self.listen_client = redis.Redis.from_url(
            url,
            socket_connect_timeout=2,
            socket_keepalive=True,
            socket_keepalive_options=KEEPALIVE,
        )
        self._listener: threading.Thread | None = None
        self._lock = threading.Lock()
        self._closed = threading.Event()

    def publish(self, office_id: int, event_id: int) -> None:
        self.notify(office_id, event_id)
        try:
            self.client.publish(self.channel, f"{office_id}:{event_id}")
        except self.errors as exc:  # the streams still poll the event log
            log.warning("could not publish queue event %s to Redis: %s", event_id, exc)

    def wait(self, office_id: int, after_id: int, timeout: float) -> bool:
        self._ensure_listener()
        return super().wait(office_id, after_id, timeout)

    def close(self) -> None:
        """Stop the listener (within a second); publishing still works."""
        self._closed.set()
        if self._listener is not None:
            self._listener.join(5)

    def _ensure_listener(self) -> None:
        # Started lazily in the serving process: a thread made before gunicorn forks
        # would not survive into the workers.
        with self._lock:
            alive = self._listener is not None and self._listener.is_alive()
            if not alive and not self._closed.is_set():
                self._listener = threading.Thread(
                    target=self._listen, name="queue-events-redis", daemon=True
                )
                self._listener.start()

    def _listen(self) -> None:
        """Relay Redis messages for as long as the process lives, reconnecting if Redis goes.

        Meanwhile the streams still see every event by polling the log.
        """
        delay = RECONNECT_MIN_SECONDS
        while not self._closed.is_set():
            pubsub = self.listen_client.pubsub(ignore_subscribe_messages=True)
            try:
                pubsub.subscribe(self.channel)
                delay = RECONNECT_MIN_SECONDS
                while not self._closed.is_set():
                    message = pubsub.get_message(timeout=1.0)
                    if message is not None:
                        self._relay(message)
            except (self.errors, OSError) as exc:
                if not self._closed.is_set():
                    log.warning("Redis pub/sub unavailable (%s); retrying in %.1f s", exc, delay)
            finally:
                with contextlib.suppress(self.errors, OSError):
                    pubsub.close()
            self._closed.wait(delay)
            delay = min(delay * 2, RECONNECT_MAX_SECONDS)

    def _relay(self, message: dict[str, Any]) -> None:
        try:
            office, event_id = message["data"].decode().split(":")
            self.notify(int(office), int(event_id))
        except (ValueError, AttributeError, KeyError):
            pass


# Each engine (one per app) has the broker of its app.
BROKERS: weakref.WeakKeyDictionary[Engine, Broker] = weakref.WeakKeyDictionary()


def attach(engine: Engine, broker: Broker) -> None:
    BROKERS[engine] = broker


def record(session: Session, office_id: int, kind: str, payload: dict[str, Any]) -> QueueEvent:
    """Store an event in the caller's transaction; streams are woken after it commits.

    Streams read "the events after the last id I sent", so ids must become
    visible in their order. On PostgreSQL the id comes from a sequence at
    INSERT, and two transactions can commit in the other order: a stream
    reading in between would send the higher id and skip the lower one for
    good (a replay too). So the office's events are written one transaction at
    a time, under a lock held until commit; it is taken right before the INSERT,
    the last statement of every floor action, so it is held only for the
    commit. SQLite needs nothing: its write transactions already run one at a
    time (BEGIN IMMEDIATE). The payload is built before the lock and holds no
    counts: streams add the office's current counts as they send (``feed``).
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
            {"key": f"queue_event:{office_id}"},
        )
    row = QueueEvent(office_id=office_id, kind=kind, payload=payload)
    session.add(row)
    session.flush()
    session.info.setdefault("queue_events", []).append((session.get_bind(), office_id, row.id))
    return row


def events_after(
    session: Session, office_id: int, after_id: int, limit: int = 200
) -> list[QueueEvent]:
    return list(
        session.scalars(
            select(QueueEvent)
            .where(QueueEvent.office_id == office_id, QueueEvent.id > after_id)
            .order_by(QueueEvent.id)
            .limit(limit)
        )
    )


def latest_id(session: Session, office_id: int) -> int:
    return (
        session.scalar(select(func.max(QueueEvent.id)).where(QueueEvent.office_id == office_id))
        or 0
    )


@sa_event.listens_for(Session, "after_commit")
def _announce(session: Session) -> None:
    """Wake streams only once the events are committed and readable by other processes."""
    for engine, office_id, event_id in session.info.pop("queue_events", []):
        broker = BROKERS.get(engine)
        if broker is not None:
            broker.publish(office_id, event_id)


@sa_event.listens_for(Session, "after_soft_rollback")
def _forget(session: Session, previous_transaction: SessionTransaction) -> None:
    # Only the whole transaction's rollback: after a savepoint's the rest still commits.
    # (An announced event a savepoint took back is harmless: see Broker.wait.)
    if not previous_transaction.nested:
        session.info.pop("queue_events", None)
