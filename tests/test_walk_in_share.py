"""Time held back for walk-ins: an office keeps a share of each day's counter time off the
online calendar, its first cells from opening time on (``booking/walk_in_share.py``).

A test office in Warsaw open on Wednesdays 08:00-10:00 with a 15-minute grid: 8 cells a
day. 50 % of 8 is 4, so 08:00, 08:15, 08:30 and 08:45 stay for walk-ins and a 15-minute
visit may be booked at 09:00, 09:15, 09:30 and 09:45 only. The clock stands on Monday
30 November 2026; the day looked at is Wednesday 2 December (CET, UTC+1).
"""

from __future__ import annotations

import html
import re
import tomllib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from flask import Flask

from booking.availability import availability
from booking.bookings import reschedule_booking
from booking.exporter import export_office
from booking.file_values import OfficeConfigError
from booking.importer import import_offices
from booking.models import Booking, Office, Service
from booking.slots import Schedule
from booking.walk_in_share import HeldForWalkIns, first_bookable_cell, held_back_count
from okienko.database import db
from okienko.transaction import unit_of_work
from queueing.capacity import walk_ins_full
from queueing.staff import upsert_staff
from tests.helpers.factories import MadeService, MakeBooking, MakeOffice, MakeService, MakeTicket
from tests.helpers.forms import book_form, local_start

NOW = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)  # Monday, 07:00 in Warsaw
DAY = "2026-12-02"  # Wednesday
ZONE = "Europe/Warsaw"
HELD = ["08:00", "08:15", "08:30", "08:45"]
BOOKABLE = ["09:00", "09:15", "09:30", "09:45"]


@pytest.fixture
def clock() -> Iterator[Any]:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def starts(*times: str) -> list[str]:
    return [local_start(DAY, at, ZONE) for at in times]


@pytest.fixture
def office_with(make_office: MakeOffice, make_service: MakeService) -> Any:
    """``office_with(share, **service settings)``: the office and its 15-minute service."""

    def make(share: int | None, **service: Any) -> MadeService:
        settings = {} if share is None else {"walk_in_share": share}
        office = make_office(
            hours={"wed": "08:00-10:00"},
            slot_minutes=15,
            min_notice_minutes=0,
            public_holidays=False,
            **settings,
        )
        return make_service(office, "visit", duration=15, name="Visit", **service)

    return make


def api_starts(app: Flask, made: MadeService) -> list[str]:
    url = f"/api/v1/offices/{made.office.slug}/services/visit/availability?from={DAY}&to={DAY}"
    body = app.test_client().get(url).get_json()
    return body["days"][0]["starts"]


def calendar_starts(app: Flask, made: MadeService) -> list[str]:
    page = app.test_client().get(f"/o/{made.office.slug}/visit/{DAY}").get_data(as_text=True)
    return sorted(set(re.findall(r"book\?start=([0-9T:\-Z]+)", html.unescape(page))))


def test_the_count_is_rounded_up() -> None:
    assert held_back_count(8, 50) == 4
    assert held_back_count(8, 30) == 3  # 2.4 cells: never less than the share asked
    assert held_back_count(8, 1) == 1
    assert held_back_count(8, 0) == 0
    assert held_back_count(8, 100) == 8


@pytest.mark.usefixtures("clock")
def test_half_of_eight_cells_leaves_the_last_four(any_app: Flask, office_with: Any) -> None:
    made = office_with(50)
    assert api_starts(any_app, made) == starts(*BOOKABLE)
    assert calendar_starts(any_app, made) == starts(*BOOKABLE)


@pytest.mark.usefixtures("clock")
def test_nothing_held_back_changes_nothing(any_app: Flask, office_with: Any) -> None:
    made = office_with(0)
    assert api_starts(any_app, made) == starts(*HELD, *BOOKABLE)
    assert calendar_starts(any_app, made) == starts(*HELD, *BOOKABLE)


@pytest.mark.usefixtures("clock")
def test_the_service_s_own_share_wins(any_app: Flask, office_with: Any) -> None:
    # The office keeps half; the service only a quarter (2 cells), or none at all.
    assert api_starts(any_app, office_with(50, walk_in_share=25)) == starts(
        "08:30", "08:45", *BOOKABLE
    )
    assert api_starts(any_app, office_with(50, walk_in_share=0)) == starts(*HELD, *BOOKABLE)
    # A service of an office holding nothing back may hold time itself.
    assert api_starts(any_app, office_with(None, walk_in_share=50)) == starts(*BOOKABLE)


@pytest.mark.usefixtures("clock")
def test_a_held_back_start_posted_directly_is_refused(any_app: Flask, office_with: Any) -> None:
    made = office_with(50)
    client = any_app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    held = local_start(DAY, "08:45", ZONE)
    body = {
        "office": made.office.slug,
        "service": "visit",
        "start": held,
        "name": "Ewa Mieszkanka",
        "email": "ewa@example.com",
        "consent": True,
    }
    response = client.post("/api/v1/bookings", json=body)
    assert response.status_code == 422, response.get_json()
    error = response.get_json()
    assert error["error"] == "not_bookable"
    assert "kept for residents who come without an appointment" in error["message"]

    response = book_form(client, made.office.slug, "visit", held)
    assert response.status_code == 422
    assert "kept for residents who come without an appointment" in html.unescape(
        response.get_data(as_text=True)
    )
    with any_app.app_context():
        assert db.session.query(Booking).count() == 0
    # The first bookable time is taken as ever.
    body["start"] = local_start(DAY, "09:00", ZONE)
    assert client.post("/api/v1/bookings", json=body).status_code == 201


@pytest.mark.usefixtures("clock")
def test_a_booking_cannot_move_into_held_back_time(
    any_app: Flask, office_with: Any, make_booking: MakeBooking
) -> None:
    made = office_with(50)
    booked = make_booking(made, local_start(DAY, "09:30", ZONE))
    with any_app.app_context():
        with pytest.raises(HeldForWalkIns), unit_of_work() as session:
            booking = session.get(Booking, booked.id)
            start = datetime.fromisoformat(local_start(DAY, "08:00", ZONE))
            reschedule_booking(session, booking, start, NOW)
        with unit_of_work() as session:
            booking = session.get(Booking, booked.id)
            start = datetime.fromisoformat(local_start(DAY, "09:00", ZONE))
            reschedule_booking(session, booking, start, NOW)


@pytest.mark.usefixtures("clock")
def test_the_office_file_round_trips(any_app: Flask, office_with: Any) -> None:
    made = office_with(30, walk_in_share=60)
    with any_app.app_context():
        office = db.session.get(Office, made.office.id)
        text = export_office(office)
        assert "walk_in_share = 30" in text and "walk_in_share = 60" in text
        with unit_of_work() as session:
            [again] = import_offices(session, tomllib.loads(text))
        assert export_office(again) == text
        assert (again.walk_in_share, again.services[0].walk_in_share) == (30, 60)


@pytest.mark.parametrize("share", [101, -1, "half", True, 12.5])
def test_the_office_file_refuses_a_bad_share(app: Flask, share: Any) -> None:
    entry: dict[str, Any] = {
        "slug": "bad-share",
        "name": "Bad",
        "address": "ul. Testowa 1",
        "timezone": ZONE,
        "country": "PL",
    }
    message = "'walk_in_share' must be a whole number from 0 to 100"
    with app.app_context(), pytest.raises(OfficeConfigError, match=f"office bad-share: {message}"):
        import_offices(db.session, {"office": [{**entry, "walk_in_share": share}]})
    service = {"key": "v", "prefix": "V", "duration": 15, "name": "V", "walk_in_share": share}
    with (
        app.app_context(),
        pytest.raises(OfficeConfigError, match=f"office bad-share, service v: {message}"),
    ):
        import_offices(db.session, {"office": [{**entry, "services": [service]}]})


def seat_a_clerk(app: Flask, made: MadeService) -> None:
    with app.app_context():
        office = db.session.get(Office, made.office.id)
        user = upsert_staff(office, f"clerk-{made.office.slug}", "Clerk", "a long password 123")
        user.counter_id = next(iter(made.office.counters.values()))
        db.session.commit()


def full(app: Flask, made: MadeService, now: datetime) -> bool:
    with app.app_context():
        return walk_ins_full(db.session, db.session.get(Service, made.id), now)


@pytest.mark.parametrize("share", [50, 0])
def test_walk_ins_fit_in_the_held_back_time(
    any_app: Flask,
    office_with: Any,
    make_booking: MakeBooking,
    make_ticket: MakeTicket,
    clock: Any,
    share: int,
) -> None:
    """Every bookable cell booked: at 08:00 the one counter has the morning hour for
    walk-ins. Each walk-in takes 15 minutes, so the fifth in line is called at 09:00, the
    end of the held-back time; a sixth would be called into the booked visits. With
    nothing held back the estimate is as it always was: walk-ins go first, until closing."""
    made = office_with(share)
    for at in BOOKABLE:
        make_booking(made, local_start(DAY, at, ZONE), now=NOW)
    seat_a_clerk(any_app, made)
    opening = datetime.fromisoformat(local_start(DAY, "08:00", ZONE))
    clock.move_to(opening)
    for _ in range(4):
        assert not full(any_app, made, opening)
        make_ticket(made.office, made, now=opening)
    assert not full(any_app, made, opening)  # the fifth: called at 09:00
    make_ticket(made.office, made, now=opening)
    assert full(any_app, made, opening) is bool(share)  # the sixth: 09:15
    later = opening + timedelta(minutes=30)  # none served: the rest would run into visits
    assert full(any_app, made, later) is bool(share)


def test_a_schedule_without_hours_holds_nothing() -> None:
    schedule = Schedule(ZoneInfo(ZONE), 15, [])
    assert first_bookable_cell(schedule, datetime(2026, 12, 2).date(), 50) is None


def test_availability_agrees_with_the_booking_rule(
    app: Flask, office_with: Any, clock: Any
) -> None:
    """Every candidate start is either offered or refused as held back, never both."""
    made = office_with(50)
    with app.app_context():
        office = db.session.get(Office, made.office.id)
        service = db.session.get(Service, made.id)
        day = datetime(2026, 12, 2).date()
        offered = availability(db.session, office, service, day, day, NOW)[day]
    assert [s.strftime("%Y-%m-%dT%H:%M:%SZ") for s in offered] == starts(*BOOKABLE)
