"""The feed a process's streams share (queueing/feed.py): every event once, in the log's
order, however far behind a stream or the feed itself is; and the grouped counts it
sends equal the per-service ones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from booking.models import Office
from okienko.database import db
from queueing import events
from queueing.feed import KEEP, Feed
from queueing.models import Ticket, TicketKind, TicketStatus
from queueing.state import recent_handling_by_service

OFFICE = "koszalin-zbm"


def office_id(app: Flask) -> int:
    with app.app_context():
        found = db.session.scalar(select(Office.id).where(Office.slug == OFFICE))
        assert found is not None
        return found


def record(app: Flask, office: int, count: int) -> list[int]:
    """``count`` events in one commit, as a busy floor makes them; their ids."""
    with app.app_context(), Session(db.engine) as session:
        ids = [events.record(session, office, "update", {"n": n}).id for n in range(count)]
        session.commit()
    return ids


def drain(feed: Feed, last_id: int) -> list[int]:
    """What a stream that sent ``last_id`` gets, call after call, until nothing is new."""
    got: list[int] = []
    while sent := feed.after(last_id, 0, poll_seconds=0):
        got += [event.id for event in sent]
        last_id = sent[-1].id
    return got


@pytest.mark.parametrize("backlog", [3, KEEP - 1, KEEP, 2 * KEEP + 5])
def test_every_event_once_in_order_whatever_the_backlog(any_app: Flask, backlog: int) -> None:
    office = office_id(any_app)
    start = record(any_app, office, 2)[-1]
    feed = Feed(any_app, office)
    assert feed.after(start, 0, poll_seconds=0) == []  # the feed starts at the log's end

    # A night with no screen open, then one stream from before it and one from now.
    behind = record(any_app, office, backlog)
    assert drain(feed, start) == behind
    assert drain(feed, behind[-1]) == []
    # And on: the next events reach both, from memory.
    more = record(any_app, office, 3)
    assert drain(feed, start) == behind + more
    assert drain(feed, behind[-1]) == more


def test_events_carry_the_counts_after_them(any_app: Flask) -> None:
    office = office_id(any_app)
    feed = Feed(any_app, office)
    feed.after(0, 0, poll_seconds=0)
    record(any_app, office, 1)
    (sent,) = feed.after(0, 0, poll_seconds=0)
    assert '"waiting":[{"service":' in sent.text


def test_grouped_handling_times_equal_each_service_own(any_app: Flask) -> None:
    """The newest 20 finished visits of each service, read in one statement."""
    at = datetime(2026, 3, 2, 8, tzinfo=UTC)
    with any_app.app_context(), Session(db.engine) as session:
        office = session.scalars(select(Office).where(Office.slug == OFFICE)).one()
        services = office.services[:3]
        finished: dict[int, list[tuple[datetime, timedelta]]] = {}  # by service
        for n in range(75):  # 25 per service: more than the 20 kept, in mixed order
            service = services[n % 3]
            start = at + timedelta(minutes=7 * n)
            took = timedelta(minutes=(n * 37) % 23 + 1)
            finished.setdefault(service.id, []).append((start + took, took))
            session.add(
                Ticket(
                    office_id=office.id,
                    service_id=service.id,
                    day=start.date(),
                    prefix=service.prefix,
                    number=n + 1,
                    kind=TicketKind.WALK_IN,
                    status=TicketStatus.DONE,
                    issued_at=start,
                    queued_at=start,
                    serving_at=start,
                    finished_at=start + took,
                )
            )
        session.commit()
        grouped = recent_handling_by_service(session, [s.id for s in office.services])
        # Each service's own newest 20, as listed here while adding them; none for others.
        for service in office.services:
            newest = sorted(finished.get(service.id, []), reverse=True)[:20]
            assert sorted(grouped.get(service.id, [])) == sorted(took for _, took in newest)
        assert [len(grouped[s.id]) for s in services] == [20, 20, 20]
