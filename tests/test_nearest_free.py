"""The times offered when the chosen one was just taken: the nearest free starts, from a week
before to two weeks after the chosen day. They are looked for in widening rings around the
day; whatever the bookings, the rings give exactly what searching the whole span gives.

Two offices with one counter, booked at random (a fixed seed): some days full, some
half, some empty.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from booking.availability import availability, booking_window, local_today, nearest_free
from booking.models import Office, Service
from okienko.database import db

NOW = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)  # Monday 07:00 in Warsaw
ZONE = ZoneInfo("Europe/Warsaw")


def whole_span(
    session: Session, office: Office, service: Service, around: datetime, now: datetime
) -> list[datetime]:
    """The three nearest free starts found by reading every day of the span at once."""
    earliest, latest = booking_window(office, now)
    around = min(max(around, earliest), latest)
    day = around.astimezone(ZONE).date()
    first = max(local_today(office, now), day - timedelta(days=7))
    free = availability(session, office, service, first, day + timedelta(days=14), now)
    starts = sorted(
        (start for starts in free.values() for start in starts),
        key=lambda s: (abs(s - around), s),
    )
    return sorted(starts[:3])


# (opening hours, slot and visit minutes, open hours a day): a short morning on weekdays,
# and an office open round the clock, where the next day's first hours can be nearer
# than the chosen day's own free times.
OFFICES = {
    "weekday mornings": ({"mon tue wed thu fri": "08:00-12:00"}, 30, 8, 4),
    "round the clock": ({"daily": "00:00-24:00"}, 60, 0, 24),
}


@pytest.mark.parametrize("shape", OFFICES)
def test_the_nearest_free_times_are_those_of_the_whole_span(
    app: Flask, make_office: Any, make_service: Any, make_booking: Any, shape: str
) -> None:
    hours, minutes, opens, open_hours = OFFICES[shape]
    office = make_office(
        timezone="Europe/Warsaw", hours=hours, slot_minutes=minutes, public_holidays=False
    )
    service = make_service(office, duration=minutes)
    chance = random.Random(20260302)
    first_day = datetime(2026, 3, 3)
    days = 35 if open_hours < 12 else 16  # to 6 April: across the clock change on 29 March
    slots = [
        datetime(2026, 3, 3, opens, 0, tzinfo=ZONE) + timedelta(days=d, minutes=minutes * s)
        for d in range(days)
        for s in range(open_hours * 60 // minutes)
        if open_hours == 24 or (first_day + timedelta(days=d)).weekday() < 5
    ]
    # Each day is full, half full or empty, and a run of full days forces wide rings.
    fill = {d: chance.choice((1.0, 0.5, 0.0)) for d in range(days)}
    fill.update({d: 1.0 for d in range(9, 13)})
    for slot in slots:
        if chance.random() < fill[(slot.date() - first_day.date()).days]:
            make_booking(service, start=slot, now=NOW)
    nudges = (0, 7, minutes // 2)
    arounds = [chance.choice(slots) + timedelta(minutes=chance.choice(nudges)) for _ in range(60)]
    with app.app_context():
        session = db.session()
        office_row = session.get(Office, office.id)
        service_row = session.get(Service, service.id)
        assert office_row is not None and service_row is not None
        compared = 0
        for around in arounds:
            expected = whole_span(session, office_row, service_row, around, NOW)
            assert nearest_free(session, office_row, service_row, around, NOW) == expected, around
            compared += bool(expected)
    assert compared > 40  # most have an answer; the rest have none either way
