"""Factory fixtures: an office, a service, a booking or a ticket in one line, with only what
the test cares about, made by the application's own functions on the test's app.

    office = make_office(timezone="Europe/Prague", hours={"mon wed": "08:00-17:00"})
    service = make_service(office, duration=30)
    booking = make_booking(service, start="2026-03-23T08:00:00Z")
    ticket = make_ticket(office, service)

Offices and services go through the office importer (``import_offices``, as
``flask offices import`` does), bookings through ``create_booking`` and walk-in tickets
through ``queueing.arrival.walk_in``, each in one unit of work. Whatever a test leaves
out gets a default that stays out of the way: an office in Warsaw open round the clock
with one counter, a 30-minute service that every counter serves, a contact of its own
for each booking (the cap per contact never trips by accident). A booking or ticket is
made at the test's clock (``now``), which a test moves with time_machine.

The factories work on the app the test has: ``any_app`` when the test takes it (both
databases), else ``app``. Registered in ``tests/conftest.py`` through ``pytest_plugins``.
"""

from __future__ import annotations

import itertools
import string
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from booking.availability import availability, local_today
from booking.bookings import Contact, create_booking
from booking.importer import WEEKDAYS, import_offices
from booking.models import BookingMode, Office, Service
from okienko.database import db, utcnow
from okienko.transaction import unit_of_work
from queueing.arrival import walk_in
from queueing.models import Ticket

ALL_DAYS = " ".join(WEEKDAYS)


@dataclass(frozen=True)
class MadeOffice:
    id: int
    slug: str
    timezone: str
    counters: Mapping[str, int]  # name -> id


@dataclass(frozen=True)
class MadeService:
    id: int
    key: str
    prefix: str
    duration: int
    office: MadeOffice


@dataclass(frozen=True)
class MadeBooking:
    id: int
    code: str
    token: str  # the secret manage token: /manage/<token>
    starts_at: datetime
    service: MadeService


MakeOffice = Callable[..., MadeOffice]
MakeService = Callable[..., MadeService]
MakeBooking = Callable[..., MadeBooking]
MakeTicket = Callable[..., Ticket]


def opening_hours(hours: Mapping[str, str]) -> list[dict[str, Any]]:
    """``{"mon wed": "08:00-17:00"}`` as the office file's ``[[office.hours]]`` tables;
    ``"daily"`` stands for every day of the week."""
    tables = []
    for days, span in hours.items():
        opens, closes = span.split("-")
        names = ALL_DAYS.split() if days == "daily" else days.split()
        tables.append({"days": names, "open": opens, "close": closes})
    return tables


@pytest.fixture
def factory_app(request: pytest.FixtureRequest) -> Flask:
    """The app the factories work on: ``any_app`` when the test takes it, else ``app``."""
    return request.getfixturevalue("any_app" if "any_app" in request.fixturenames else "app")


@pytest.fixture
def office_entries() -> dict[str, dict[str, Any]]:
    """The office-file entry of each office made in this test, by slug (for more services)."""
    return {}


def _import(app: Flask, entry: dict[str, Any]) -> MadeOffice:
    with app.app_context(), unit_of_work() as session:
        [office] = import_offices(session, {"office": [entry]})
        made = MadeOffice(
            id=office.id,
            slug=office.slug,
            timezone=office.timezone,
            counters={counter.name: counter.id for counter in office.counters},
        )
    return made


@pytest.fixture
def make_office(factory_app: Flask, office_entries: dict[str, dict[str, Any]]) -> MakeOffice:
    """``make_office(slug=None, *, timezone=..., hours=..., counters=1, **settings)``.

    ``hours`` maps days to a span, ``{"mon wed": "08:00-17:00"}`` (``"daily"``: every
    day); by default the office is open every day round the clock. ``counters`` is a
    number of counters ("Counter 1", ...) or their names; each serves every service.
    ``settings`` are any other keys of the office file's ``[[office]]`` table
    (``slot_minutes``, ``min_notice_minutes``, ``public_holidays``, ``email``, ...).
    """
    numbers = itertools.count(1)

    def make(
        slug: str | None = None,
        *,
        name: str | None = None,
        address: str = "ul. Testowa 1, 00-001 Warszawa",
        timezone: str = "Europe/Warsaw",
        country: str = "PL",
        hours: Mapping[str, str] | None = None,
        counters: int | Sequence[str] = 1,
        **settings: Any,
    ) -> MadeOffice:
        number = next(numbers)
        slug = slug or f"test-office-{number}"
        names = (
            [f"Counter {i}" for i in range(1, counters + 1)]
            if isinstance(counters, int)
            else list(counters)
        )
        entry = {
            "slug": slug,
            "name": name or f"Test office {number}",
            "address": address,
            "timezone": timezone,
            "country": country,
            **settings,
            "hours": opening_hours(hours if hours is not None else {"daily": "00:00-24:00"}),
            "services": [],
            "counters": [{"name": counter, "services": "*"} for counter in names],
        }
        office_entries[slug] = entry
        return _import(factory_app, entry)

    return make


@pytest.fixture
def make_service(factory_app: Flask, office_entries: dict[str, dict[str, Any]]) -> MakeService:
    """``make_service(office, key=None, *, duration=30, prefix=None, **settings)``.

    The office is imported again with one more service, served by all its counters.
    ``prefix`` defaults to the first letter no other service of the office has;
    ``settings`` are any other keys of ``[[office.services]]`` (``name``,
    ``walk_in``, ``online``, ``documents``, ...).
    """

    def make(
        office: MadeOffice,
        key: str | None = None,
        *,
        duration: int = 30,
        prefix: str | None = None,
        **settings: Any,
    ) -> MadeService:
        entry = office_entries[office.slug]
        taken = {service["prefix"] for service in entry["services"]}
        prefix = prefix or next(c for c in string.ascii_uppercase if c not in taken)
        key = key or f"service-{len(entry['services']) + 1}"
        entry["services"].append(
            {"key": key, "prefix": prefix, "duration": duration, "name": key, **settings}
        )
        _import(factory_app, entry)
        with factory_app.app_context():
            service_id = db.session.scalar(
                select(Service.id).where(Service.office_id == office.id, Service.key == key)
            )
        return MadeService(id=service_id, key=key, prefix=prefix, duration=duration, office=office)

    return make


def first_free_start(office: Office, service: Service, now: datetime) -> datetime:
    """The earliest start a resident could book now, within the next two weeks."""
    today = local_today(office, now)
    days = availability(db.session, office, service, today, today + timedelta(days=14), now)
    starts = [start for day in sorted(days) for start in days[day]]
    assert starts, f"{office.slug}/{service.key} has no free start in the next two weeks"
    return starts[0]


@pytest.fixture
def make_booking(factory_app: Flask) -> MakeBooking:
    """``make_booking(service, start=None, *, now=None, name=..., email=..., phone=None,
    language="pl", mode=IN_PERSON)``: booked by ``create_booking`` at ``now`` (the
    test's clock), for ``start`` (a datetime or an ISO string such as ``local_start``
    gives; by default the first free start). No mail is sent."""
    numbers = itertools.count(1)

    def make(
        service: MadeService,
        start: datetime | str | None = None,
        *,
        now: datetime | None = None,
        name: str = "Jan Kowalski",
        email: str | None = None,
        phone: str | None = None,
        language: str = "pl",
        mode: BookingMode = BookingMode.IN_PERSON,
    ) -> MadeBooking:
        number = next(numbers)
        moment = now or utcnow()
        if email is None and phone is None:
            email = f"resident{number}@example.com"
        contact = Contact(name=name, email=email, phone=phone, language=language)
        with factory_app.app_context(), unit_of_work() as session:
            office = session.get(Office, service.office.id)
            booked_service = session.get(Service, service.id)
            if start is None:
                at = first_free_start(office, booked_service, moment)
            elif isinstance(start, str):
                at = datetime.fromisoformat(start)
            else:
                at = start
            booking, token = create_booking(
                session, office, booked_service, at, contact, moment, mode=mode
            )
            session.flush()
            made = MadeBooking(
                id=booking.id, code=booking.code, token=token, starts_at=at, service=service
            )
        return made

    return make


@pytest.fixture
def make_ticket(factory_app: Flask) -> MakeTicket:
    """``make_ticket(office, service, *, now=None)``: a walk-in's numbered ticket, issued by
    ``walk_in`` at ``now`` (the test's clock), as the kiosk's button issues it. Returns the
    ticket row, detached, to read after the request."""

    def make(office: MadeOffice, service: MadeService, *, now: datetime | None = None) -> Ticket:
        with factory_app.app_context():
            with unit_of_work() as session:
                ticket = walk_in(
                    session,
                    session.get(Office, office.id),
                    session.get(Service, service.id),
                    now or utcnow(),
                )
            db.session.refresh(ticket)
            db.session.expunge(ticket)
        return ticket

    return make
