"""No double booking, whatever the concurrency: many residents race over real HTTP."""

from __future__ import annotations

from collections import Counter as Tally
from datetime import timedelta

import pytest
import requests
from flask import Flask
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError

from booking.bookings import hold_calendar
from booking.models import Booking, BookingSlot, BookingStatus, Office, counter_services
from booking.offices import require_office, service_by_key
from okienko.database import db
from tests.helpers.admission import ADMITTED
from tests.helpers.factories import MakeOffice, MakeService
from tests.helpers.forms import CSRF_RE
from tests.helpers.live_server import LiveServer
from tests.helpers.race import race

THREADS = 50


def first_free_start(base: str, office: str, service: str) -> str:
    response = requests.get(
        f"{base}/api/v1/offices/{office}/services/{service}/availability",
        timeout=10,
    )
    days = [d for d in response.json()["days"] if d["starts"]]
    assert days, "the demo office should have free times in the next two weeks"
    return days[0]["starts"][0]


def assert_no_overlap(app: Flask) -> None:
    """Checked in the database: no counter holds two active bookings at once."""
    with app.app_context():
        bookings = db.session.scalars(
            select(Booking).where(Booking.status == BookingStatus.BOOKED)
        ).all()
        for a in bookings:
            for b in bookings:
                if a.id < b.id and a.counter_id == b.counter_id:
                    assert a.ends_at <= b.starts_at or b.ends_at <= a.starts_at, (a.code, b.code)
        held = db.session.scalar(select(func.count(BookingSlot.id)))
        step = {b.id: timedelta(minutes=b.office.slot_minutes) for b in bookings}
        assert held == sum(-(-(b.ends_at - b.starts_at) // step[b.id]) for b in bookings)


@pytest.mark.parametrize(
    "office,service,counters",
    [("koszalin-zbm", "raty", 2), ("bytom-zielna", "rozliczenia-mediow", 3)],
)
def test_fifty_api_clients_race_for_the_same_last_slot(
    any_app: Flask, office: str, service: str, counters: int
) -> None:
    with LiveServer(any_app) as server:
        start = first_free_start(server.url, office, service)

        def attempt(i: int, _prepared: object) -> requests.Response:
            return requests.post(
                f"{server.url}/api/v1/bookings",
                json={
                    "office": office,
                    "service": service,
                    "start": start,
                    "name": f"Resident {i}",
                    "email": f"resident{i}@example.com",
                    "language": "pl",
                    "consent": True,
                    "declaration": ADMITTED,
                },
                headers={"Accept-Language": "en"},
                timeout=120,
            )

        responses = race(THREADS, attempt)
    tally = Tally(r.status_code for r in responses)
    assert tally == {201: counters, 409: THREADS - counters}, tally
    refusals = [r.json() for r in responses if r.status_code == 409]
    assert {r["error"] for r in refusals} == {"slot_taken"}
    assert all("just taken" in r["message"] for r in refusals)
    assert all(start not in r["alternatives"] for r in refusals)
    assert all(r["alternatives"] for r in refusals)
    booked = [r.json() for r in responses if r.status_code == 201]
    assert len({b["counter"] for b in booked}) == counters
    assert_no_overlap(any_app)
    with any_app.app_context():
        assert db.session.scalar(select(func.count(Booking.id))) == counters


def test_fifty_residents_race_through_the_booking_form(any_app: Flask) -> None:
    office, service = "plzen-kontaktni-misto", "volne-byty"
    with LiveServer(any_app) as server:
        start = first_free_start(server.url, office, service)
        page = f"{server.url}/o/{office}/{service}/book"

        class Attempt:
            def prepare(self, i: int) -> tuple[requests.Session, str]:
                session = requests.Session()
                html = session.get(page, params={"start": start}, timeout=60).text
                return session, CSRF_RE.search(html).group(1)

            def __call__(self, i: int, prepared: tuple[requests.Session, str]) -> requests.Response:
                session, token = prepared
                return session.post(
                    page,
                    data={
                        "csrf_token": token,
                        "start": start,
                        "name": f"Obyvatel {i}",
                        "email": f"obyvatel{i}@example.cz",
                        "language": "cs",
                    },
                    headers={"Accept-Language": "en"},
                    allow_redirects=False,
                    timeout=120,
                )

        responses = race(THREADS, Attempt())
    tally = Tally(r.status_code for r in responses)
    assert tally == {302: 2, 409: THREADS - 2}, tally
    assert all("/manage/" in r.headers["Location"] for r in responses if r.status_code == 302)
    refused = next(r for r in responses if r.status_code == 409)
    assert "This time was just taken" in refused.text
    assert "Obyvatel" in refused.text  # what the resident typed is still in the form
    assert_no_overlap(any_app)


def test_overlapping_starts_on_one_counter_give_one_booking(
    any_app: Flask, make_office: MakeOffice, make_service: MakeService
) -> None:
    """45-minute visits starting 15 minutes apart overlap: of each racing group one wins."""
    office = make_office(
        "one-counter",
        timezone="Europe/Warsaw",
        min_notice_minutes=0,
        hours={"daily": "00:00-23:45"},
        counters=["Only"],
    )
    make_service(office, "long", prefix="L", duration=45, name={"en": "Long"})
    with LiveServer(any_app) as server:
        days = requests.get(
            f"{server.url}/api/v1/offices/one-counter/services/long/availability", timeout=10
        ).json()["days"]
        starts = next(d["starts"] for d in days[1:] if len(d["starts"]) > 20)[8:11]

        def attempt(i: int, _prepared: object) -> requests.Response:
            return requests.post(
                f"{server.url}/api/v1/bookings",
                json={
                    "office": "one-counter",
                    "service": "long",
                    "start": starts[i % 3],
                    "name": f"Resident {i}",
                    "phone": f"+48 601 000 {i:03d}",
                    "consent": True,
                    "declaration": ADMITTED,
                },
                timeout=120,
            )

        responses = race(30, attempt)
    tally = Tally(r.status_code for r in responses)
    assert tally[201] == 1 and tally[409] == 29, tally
    assert_no_overlap(any_app)
    with any_app.app_context():
        office = db.session.scalar(select(Office).where(Office.slug == "one-counter"))
        booked = db.session.scalars(select(Booking).where(Booking.office_id == office.id)).all()
        assert len(booked) == 1 and len(booked[0].slots) == 3


def test_database_refuses_a_second_holder_of_a_cell(any_app: Flask) -> None:
    """The constraint itself, bypassing the booking code: a held cell cannot be taken again."""
    client = any_app.test_client()
    start = client.get("/api/v1/offices/koszalin-zbm/services/raty/availability").get_json()
    start = next(d["starts"][0] for d in start["days"] if d["starts"])
    body = {"office": "koszalin-zbm", "service": "raty", "start": start, "consent": True}
    first = client.post("/api/v1/bookings", json={**body, "name": "Ewa", "phone": "601000001"})
    second = client.post("/api/v1/bookings", json={**body, "name": "Jan", "phone": "601000002"})
    assert first.status_code == second.status_code == 201
    with any_app.app_context():
        a, b = db.session.scalars(select(Booking).order_by(Booking.id)).all()
        cell = a.slots[0]
        db.session.add(
            BookingSlot(booking_id=b.id, counter_id=cell.counter_id, starts_at=cell.starts_at)
        )
        with pytest.raises(IntegrityError):
            db.session.flush()
        db.session.rollback()


def test_the_cap_per_contact_holds_when_one_contact_races(any_app: Flask) -> None:
    """Eight requests at once from one e-mail for different times: at most the cap succeeds."""
    with LiveServer(any_app) as server:
        days = requests.get(
            f"{server.url}/api/v1/offices/bytom-zielna/services/rozliczenia-mediow/availability",
            timeout=10,
        ).json()["days"]
        starts = [s for d in days for s in d["starts"]][:8]

        def attempt(i: int, _prepared: object) -> requests.Response:
            return requests.post(
                f"{server.url}/api/v1/bookings",
                json={
                    "office": "bytom-zielna",
                    "service": "rozliczenia-mediow",
                    "start": starts[i],
                    "name": "Slot Trader",
                    "email": "trader@example.com",
                    "consent": True,
                    "declaration": ADMITTED,
                },
                timeout=120,
            )

        responses = race(8, attempt)
    tally = Tally(r.status_code for r in responses)
    assert tally == {201: 2, 409: 6}, tally
    assert {r.json()["error"] for r in responses if r.status_code == 409} == {"too_many_bookings"}


def test_cancel_and_move_of_one_booking_at_once_leave_it_consistent(any_app: Flask) -> None:
    """A cancel racing a move: whichever wins, a cancelled booking holds no counter time."""
    with LiveServer(any_app) as server:
        days = requests.get(
            f"{server.url}/api/v1/offices/koszalin-zbm/services/raty/availability", timeout=10
        ).json()["days"]
        starts = [s for d in days for s in d["starts"]]
        outcomes = []
        for round_ in range(6):
            created = requests.post(
                f"{server.url}/api/v1/bookings",
                json={
                    "office": "koszalin-zbm",
                    "service": "raty",
                    "start": starts[round_],
                    "name": "Ewa Nowak",
                    "phone": f"+48 601 200 {round_:03d}",
                    "consent": True,
                    "declaration": ADMITTED,
                },
                timeout=30,
            ).json()
            token = created["token"]
            page = requests.Session()
            day = starts[-1 - round_][:10]
            html = page.get(f"{server.url}/manage/{token}/reschedule/{day}", timeout=30).text
            csrf = CSRF_RE.search(html).group(1)

            def attempt(
                i: int,
                _p: object,
                token=token,
                page=page,
                csrf=csrf,
                r=round_,
                code=created["code"],
            ):
                if i == 0:
                    return requests.post(
                        f"{server.url}/api/v1/bookings/{code}/cancel",
                        headers={"X-Booking-Token": token},
                        timeout=60,
                    )
                return page.post(
                    f"{server.url}/manage/{token}/reschedule",
                    data={"csrf_token": csrf, "start": starts[-1 - r]},
                    allow_redirects=False,
                    timeout=60,
                )

            cancel, move = race(2, attempt)
            outcomes.append((cancel.status_code, move.status_code))
            assert cancel.status_code < 500 and move.status_code < 500, outcomes
    with any_app.app_context():
        for booking in db.session.scalars(select(Booking)):
            if booking.status == BookingStatus.CANCELLED:
                assert booking.slots == [], (booking.code, outcomes)
                # Both changes raised the sequence when both went through.
                assert booking.sequence >= 1
            else:
                assert len(booking.slots) == 2
    assert_no_overlap(any_app)


@pytest.mark.postgres
@pytest.mark.parametrize("any_app", ["postgres"], indirect=True)
def test_a_booking_reads_the_office_afresh_once_it_holds_the_calendar(any_app: Flask) -> None:
    """A manager's change committed while a booking waited for the office's lock: the
    booking then books by the new settings and counters, not by what it read before."""
    with any_app.app_context():
        office = require_office(db.session, "bytom-zielna")
        service = service_by_key(db.session, office, "zamiana-lokalu")
        assert service is not None
        serving = [c.id for c in service.counters]
        assert office.timezone == "Europe/Warsaw" and len(serving) == 2
        with db.engine.begin() as manager:  # another transaction, committed meanwhile
            manager.execute(
                update(Office).where(Office.id == office.id).values(timezone="Europe/London")
            )
            manager.execute(
                delete(counter_services).where(
                    counter_services.c.service_id == service.id,
                    counter_services.c.counter_id == serving[0],
                )
            )
        assert office.timezone == "Europe/Warsaw"  # as the booking read it first
        hold_calendar(db.session, office)
        assert office.timezone == "Europe/London"
        assert [c.id for c in service.counters] == serving[1:]
        db.session.rollback()
