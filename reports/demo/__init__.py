"""Made-up history for the demo offices, so that the reports show figures at once.

Every day an office was open in the weeks before today is played out on its counters:
residents book or walk in by the hour (a morning peak, busier Mondays), the demo clerks
call them in the floor's priority order, serve, recall, park, transfer and mark no-shows,
and the day's close cancels what is left. It is written as the floor and the bookings
write it: tickets, their audit entries, bookings (anonymised, as the retention job leaves
them, so nothing personal is made up) and the bookings' ledger. Each day has a
``random.Random`` of its own, seeded by office and date: the same day comes out the same.
"""

from __future__ import annotations

import random
from collections import Counter as Tally
from datetime import date, datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Table, exists, insert, select
from sqlalchemy.orm import Session

from booking.admission import day_start
from booking.availability import local_today, schedule_for
from booking.models import Booking, BookingEvent, Counter, Office
from booking.slots import Schedule, opening_intervals
from okienko.database import Model
from queueing.models import (
    AuditEntry,
    CounterHour,
    CounterServiceHour,
    StaffUser,
    Ticket,
    TicketSequence,
)
from queueing.tally import WORK

from . import bookings, floor
from .day import Day, Pattern, Setting

WEEKS = 8
# Plzeň's contact point serves about 180 clients a month, asked most often about vacant
# city flats, then how to get one, then changes to a registration (the seed's article);
# Bytom a bit more. The rest is made up.
PATTERNS = {
    "plzen-kontaktni-misto": Pattern(
        180, {"volne-byty": 45, "jak-ziskat-byt": 32, "zmena-registrace": 23}, 0.6
    ),
    "bytom-zielna": Pattern(
        220,
        {
            "rozliczenia-mediow": 26,
            "raty-umorzenia": 24,
            "zaswiadczenie-niezaleganie": 20,
            "lokale-do-zasiedlenia": 17,
            "zamiana-lokalu": 13,
        },
        0.35,
    ),
    "bytom-armii-krajowej": Pattern(190, {"najem-socjalny": 55, "raty-umorzenia": 45}, 0.35),
    "koszalin-zbm": Pattern(
        170, {"raty": 42, "odroczenie": 25, "zamiana": 18, "odpracowanie": 15}, 0.3
    ),
    "demo-always-open": Pattern(150, {"consultation": 70, "documents": 30}, 0.3),
}
WEEKDAYS = (1.2, 1.0, 0.95, 1.05, 0.8, 0.5, 0.4)  # how busy, Monday first
DONE = 0.93  # about this share of the tickets ends done
BY_PHONE = 0.12  # of the bookings on the sanitary regime's days: a phone consultation
KIOSK_REFUSED = 0.02  # of the walk-ins on those days: sent away by the kiosk's questions

__all__ = ["PATTERNS", "WEEKS", "Pattern", "add_history", "has_history"]


def has_history(session: Session, office: Office, today: date) -> bool:
    return bool(
        session.scalar(select(exists().where(Ticket.office_id == office.id, Ticket.day < today)))
    )


def add_history(
    session: Session,
    office: Office,
    pattern: Pattern,
    clerks: list[StaffUser],
    now: datetime,
    weeks: int = WEEKS,
) -> int:
    """Write ``weeks`` of made-up history up to yesterday; how many tickets were written.

    Nothing if the office has tickets from before today (``flask demo`` run again). Today
    and later are never touched: the floor's numbering, the bookings' slots.
    """
    today = local_today(office, now)
    if has_history(session, office, today):
        return 0
    counters = [c for c in office.counters if c.retired_at is None]
    seats: list[tuple[Counter, StaffUser | None]] = list(zip(counters, clerks, strict=False))
    seats = seats or [(c, None) for c in counters]
    desks = [floor.Desk(c, clerk, frozenset(s.id for s in c.services)) for c, clerk in seats]
    served = {s for d in desks for s in d.services}
    services = [s for s in office.services if s.id in served and pattern.services.get(s.key)]
    if not services:
        return 0
    first = today - timedelta(weeks=weeks)
    schedule = schedule_for(office, first.replace(day=1), _month_end(today))
    codes = set(session.scalars(select(Booking.code)))
    setting = Setting(office, pattern, services, desks, schedule, now, codes)
    days = [
        _play(Day(setting, day, random.Random(f"okienko-demo:{office.slug}:{day}")), target)
        for day, target in _targets(schedule, pattern, first, today).items()
    ]
    return _write(session, office, days, today)


def _month_end(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def _targets(schedule: Schedule, pattern: Pattern, first: date, today: date) -> dict[date, float]:
    """Visitors to serve on each open day from ``first`` to yesterday: a calendar month's
    open days share the monthly figure by weekday, so every month comes near it."""
    weights: dict[date, float] = {}
    day = first.replace(day=1)
    while day <= _month_end(today):
        if opening_intervals(schedule, day):
            weights[day] = WEEKDAYS[day.weekday()]
        day += timedelta(days=1)
    months: dict[tuple[int, int], float] = {}
    for day, weight in weights.items():
        months[day.year, day.month] = months.get((day.year, day.month), 0) + weight
    return {
        day: pattern.monthly * weight / months[day.year, day.month]
        for day, weight in weights.items()
        if first <= day < today
    }


def _play(day: Day, target: float) -> Day:
    """Residents book and come on ``day`` to serve about ``target``, and the floor works."""
    if not day.hours:
        return day
    rng = day.rng
    expected = target / DONE * rng.uniform(0.85, 1.15)
    for _ in range(int(expected) + int(rng.random() < expected % 1)):
        service = day.service()
        booking = None
        ahead = rng.random() < day.of.pattern.booked or not service.walk_in
        if service.bookable_online and ahead:
            phone = day.regime and rng.random() < BY_PHONE
            booking = bookings.book(day, service, phone=phone)
            if booking is not None and rng.random() < bookings.NOT_CAME:
                bookings.not_came(day)
        if booking is None and not service.walk_in:
            continue
        day.visits.append(floor.arrive(day, service, booking))
        if booking is None and day.regime and rng.random() < KIOSK_REFUSED:
            bookings.refused(day, None, "kiosk", day.moment(5, 5))
    floor.run(day)
    floor.close(day, opening_intervals(day.of.schedule, day.date)[-1][1])
    return day


def _write(session: Session, office: Office, days: list[Day], today: date) -> int:
    """Multi-row inserts, each in one statement; the new ids are read back by the bookings'
    codes and the tickets' numbers (unique both), which is quicker than RETURNING row by
    row, as SQLite needs for ids in order."""
    made = [b for d in days for b in d.bookings]
    _insert(session, Booking, [_values(b) for b in made])
    booking_ids = dict(
        session.execute(
            select(Booking.code, Booking.id).where(
                Booking.office_id == office.id, Booking.starts_at < day_start(office, today)
            )
        ).all()
    )
    visits = sorted((v for d in days for v in d.visits), key=lambda v: v.ticket.issued_at)
    numbers = Tally[tuple[date, str]]()
    zone = ZoneInfo(office.timezone)
    for visit in visits:  # numbered in the order they were issued, per day and prefix
        t = visit.ticket
        t.issued_hour = t.issued_at.astimezone(zone).hour
        numbers[t.day, t.prefix] += 1
        t.number = numbers[t.day, t.prefix]
        t.booking_id = booking_ids[visit.booking.code] if visit.booking else None
    _insert(session, Ticket, [_values(v.ticket) for v in visits])
    ticket_ids = {
        (day, prefix, number): id_
        for day, prefix, number, id_ in session.execute(
            select(Ticket.day, Ticket.prefix, Ticket.number, Ticket.id).where(
                Ticket.office_id == office.id, Ticket.day < today
            )
        ).all()
    }
    audit = [
        {**entry, "ticket_id": ticket_ids[v.ticket.day, v.ticket.prefix, v.ticket.number]}
        for v in visits
        for entry in v.log
    ]
    _insert(session, AuditEntry, audit)
    at_work = {
        (e["at"].astimezone(zone), e["counter_id"])
        for e in audit
        if e["counter_id"] is not None and e["action"] in WORK
    }
    _insert(
        session,
        CounterHour,
        [
            {"office_id": office.id, "day": d, "hour": h, "counter_id": c}
            for d, h, c in sorted({(local.date(), local.hour, c) for local, c in at_work})
        ],
    )
    # As queueing/tally.py keeps it: each ticket's work by counter and local hour, for
    # the ticket's day and its first and final service.
    served = Tally[tuple[date, int, int, int]]()
    for v in visits:
        t = v.ticket
        worked = {
            (e["at"].astimezone(zone).hour, e["counter_id"])
            for e in v.log
            if e["counter_id"] is not None and e["action"] in WORK
        }
        for hour, counter in worked:
            for service in {s for s in (t.first_service_id, t.service_id) if s is not None}:
                served[t.day, hour, counter, service] += 1
    _insert(
        session,
        CounterServiceHour,
        [
            dict(office_id=office.id, day=d, hour=h, counter_id=c, service_id=s, tickets=n)
            for (d, h, c, s), n in sorted(served.items())
        ],
    )
    _insert(
        session,
        BookingEvent,
        [
            {**e, "booking_id": booking_ids[b.code] if b else None}
            for d in days
            for b, e in d.events
        ],
    )
    used = set(
        session.execute(
            select(TicketSequence.day, TicketSequence.prefix).where(
                TicketSequence.office_id == office.id, TicketSequence.day < today
            )
        ).all()
    )
    sequences = [
        {"office_id": office.id, "day": day, "prefix": prefix, "last_number": last}
        for (day, prefix), last in numbers.items()
        if (day, prefix) not in used
    ]
    _insert(session, TicketSequence, sequences)
    return len(visits)


def _values(row: Booking | Ticket) -> dict[str, Any]:
    """A new row's columns, ``id`` left to the database."""
    return {c.key: getattr(row, c.key) for c in row.__table__.columns if c.key != "id"}


def _insert(session: Session, model: type[Model], rows: list[dict[str, Any]]) -> None:
    if rows:
        session.execute(insert(cast(Table, model.__table__)), rows)
