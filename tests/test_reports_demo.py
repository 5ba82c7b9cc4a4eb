"""`flask demo` gives each demo office eight weeks of made-up history, so a manager trying the
demo sees figures in the reports at once: visits only on the days the office was open, each
written as the floor and the bookings write it, and none of it personal.

The demo runs once per database, on Wednesday 15 April 2026: the eight weeks before reach
back to 18 February, over the clocks going forward (29 March) and Easter Monday (6 April,
a public holiday in both countries), and hold the whole of March."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from flask import Flask
from sqlalchemy import delete, func, select

from booking.availability import schedule_for
from booking.models import Booking, BookingEvent, BookingSlot, Office
from booking.slots import opening_intervals
from okienko.database import db
from okienko.transaction import unit_of_work
from queueing.arrival import walk_in
from queueing.models import (
    AuditEntry,
    CounterHour,
    CounterServiceHour,
    StaffUser,
    Ticket,
    TicketSequence,
)
from reports.catalogue import REPORTS
from reports.demo import PATTERNS, add_history
from reports.scope import Period, Scope
from tests.helpers.apps import make_app

NOW = datetime(2026, 4, 15, 8, 0, tzinfo=UTC)  # Wednesday, 10:00 in Plzeň and Bytom
TODAY = date(2026, 4, 15)
FIRST = TODAY - timedelta(weeks=8)  # Wednesday 18 February
EASTER_MONDAY = date(2026, 4, 6)
PLZEN, ZIELNA, DEMO = "plzen-kontaktni-misto", "bytom-zielna", "demo-always-open"
UNDER_REGIME = {"bytom-zielna", "bytom-armii-krajowej"}  # the demo's sanitary regime


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def demo(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Flask, str]]:
    """An app on a fresh database after `flask demo` on the morning of TODAY, and what it
    printed. The tests read the history; the last two add a ticket for today and try
    the history again (rolled back)."""
    app = make_app(request, tmp_path_factory.mktemp("demo"), request.param)
    with time_machine.travel(NOW, tick=False):
        result = app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        yield app, result.output


def offices() -> dict[str, Office]:
    return {o.slug: o for o in db.session.scalars(select(Office)) if o.slug in PATTERNS}


def tickets_of(office: Office) -> list[Ticket]:
    return list(db.session.scalars(select(Ticket).where(Ticket.office_id == office.id)))


def open_days(office: Office) -> set[date]:
    schedule = schedule_for(office, FIRST, TODAY)
    days = (FIRST + timedelta(days=n) for n in range((TODAY - FIRST).days))
    return {day for day in days if opening_intervals(schedule, day)}


def visitors(office: Office, first: date, last: date) -> int:
    report = REPORTS["visitors"].build(
        db.session, Scope((office.id,)), Period(first, last, "month"), locale="en", now=NOW
    )
    totals = next(t for t in report.tables if t.key == "totals")
    return int(totals.rows[0]["total"])


# --- what the demo prints and writes -------------------------------------------------------


def test_the_demo_points_to_the_reports(demo: tuple[Flask, str]) -> None:
    _app, output = demo
    assert "Reports:        http://testserver/admin/reports/  (8 weeks of made-up history" in output


def test_every_demo_office_has_eight_weeks_of_history_on_its_open_days_only(
    demo: tuple[Flask, str],
) -> None:
    for slug, office in offices().items():
        days = {t.day for t in tickets_of(office)}
        assert min(days) >= FIRST and max(days) < TODAY, slug
        assert days <= open_days(office), f"{slug}: visits on a closed day"
        # Every open day had visitors, or nearly (a quiet Sunday at the demo office may not).
        assert len(days) >= 0.9 * len(open_days(office)), slug
        assert max(days) >= TODAY - timedelta(days=7) and min(days) < FIRST + timedelta(days=7)
    office = offices()
    assert EASTER_MONDAY not in {t.day for t in tickets_of(office[PLZEN])}
    assert {t.day.weekday() for t in tickets_of(office[PLZEN])} == {0, 2}  # Mondays, Wednesdays
    assert EASTER_MONDAY in {t.day for t in tickets_of(office[DEMO])}  # open on holidays


def test_plzen_serves_about_180_a_month_and_bytom_a_bit_more(demo: tuple[Flask, str]) -> None:
    office = offices()
    march = (date(2026, 3, 1), date(2026, 3, 31))
    plzen = visitors(office[PLZEN], *march)
    assert 150 <= plzen <= 210
    assert visitors(office[ZIELNA], *march) > plzen


def test_the_most_frequent_requests_follow_the_seed(demo: tuple[Flask, str]) -> None:
    """Vacant city flats first, how to get one next, changes to a registration third."""
    office = offices()[PLZEN]
    keys = {s.id: s.key for s in office.services}
    asked = Counter(keys[t.first_service_id] for t in tickets_of(office) if t.first_service_id)
    assert [key for key, _n in asked.most_common()] == [
        "volne-byty",
        "jak-ziskat-byt",
        "zmena-registrace",
    ]


def test_a_morning_peak_and_busier_mondays(demo: tuple[Flask, str]) -> None:
    office = offices()[ZIELNA]
    zone = ZoneInfo(office.timezone)
    tickets = tickets_of(office)
    hours = Counter(t.issued_at.astimezone(zone).hour for t in tickets)
    assert hours.most_common(1)[0][0] in (8, 9, 10, 11)
    assert hours[9] > 1.3 * hours[14]
    per_day = Counter(t.day for t in tickets)
    mondays = [n for day, n in per_day.items() if day.weekday() == 0]
    fridays = [n for day, n in per_day.items() if day.weekday() == 4]
    assert sum(mondays) / len(mondays) > sum(fridays) / len(fridays)


# --- written as the floor writes it ------------------------------------------------------


def test_each_ticket_went_through_the_floor_in_order(demo: tuple[Flask, str]) -> None:
    for slug, office in offices().items():
        zone = ZoneInfo(office.timezone)
        clerks = set(
            db.session.scalars(select(StaffUser.id).where(StaffUser.office_id == office.id))
        )
        serves = {s.id: {c.id for c in s.counters} for s in office.services}
        for t in tickets_of(office):
            assert t.issued_at.astimezone(zone).date() == t.day
            assert t.issued_at.astimezone(zone).hour == t.issued_hour
            if t.first_called_at is not None and t.kind != "phone":
                assert t.wait_seconds == (t.first_called_at - t.issued_at).total_seconds()
            if t.status == "done":
                assert t.issued_at <= t.first_called_at <= t.serving_at <= t.finished_at, t.id
                assert t.served_by_id in clerks and t.counter_id in serves[t.service_id]
                assert t.service_seconds == (t.finished_at - t.serving_at).total_seconds()
            else:
                assert t.service_seconds is None
            if t.status == "no_show":
                assert t.calls == office.max_calls and t.recalls == office.max_calls - 1
            if t.transfers:
                assert t.service_id != t.first_service_id and t.transferred_at is not None
            if t.status == "cancelled":
                assert t.closed_reason == "day closed" and t.finished_at is not None
            if t.kind == "phone":
                assert slug in UNDER_REGIME and t.issued_at == t.first_called_at == t.serving_at
        statuses = Counter(t.status for t in tickets_of(office))
        assert statuses["done"] > 0.85 * sum(statuses.values()), slug
    every = [t for o in offices().values() for t in tickets_of(o)]
    assert any(t.transfers and t.status == "done" for t in every)
    assert any(t.parks and t.status == "done" for t in every)
    assert {t.status for t in every} >= {"done", "no_show", "cancelled"}


def test_numbers_run_from_one_per_office_day_and_prefix(demo: tuple[Flask, str]) -> None:
    numbers: dict[tuple[int, date, str], list[int]] = defaultdict(list)
    for t in db.session.scalars(select(Ticket)):
        numbers[t.office_id, t.day, t.prefix].append(t.number)
    last = {
        (s.office_id, s.day, s.prefix): s.last_number
        for s in db.session.scalars(select(TicketSequence))
    }
    for key, taken in numbers.items():
        assert sorted(taken) == list(range(1, len(taken) + 1)), key
        assert last[key] == len(taken)


def test_the_audit_tells_each_tickets_story(demo: tuple[Flask, str]) -> None:
    entries: dict[int, list[AuditEntry]] = defaultdict(list)
    for entry in db.session.scalars(select(AuditEntry).order_by(AuditEntry.at, AuditEntry.id)):
        entries[entry.ticket_id].append(entry)
    for t in db.session.scalars(select(Ticket)):
        actions = [e.action for e in entries[t.id]]
        if t.kind == "phone":
            assert actions == ["phone", "finish"]
            continue
        assert actions[0] == ("check_in" if t.booking_id else "walk_in")
        assert actions.count("call") + actions.count("recall") >= 1 or t.status == "cancelled"
        ending = {"done": "finish", "no_show": "no_show", "refused": "refuse"}
        assert actions[-1] == ending.get(t.status, "day_close"), (t.status, actions)
        assert actions.count("transfer") == t.transfers and actions.count("park") == t.parks
        assert actions.count("recall") == t.recalls
        assert entries[t.id][-1].at == t.finished_at


# --- bookings, anonymised, and their ledger ----------------------------------------------


def test_past_bookings_are_anonymised_and_hold_no_slots(demo: tuple[Flask, str]) -> None:
    bookings = list(db.session.scalars(select(Booking)))
    assert len(bookings) > 100
    for b in bookings:
        assert b.starts_at < NOW and b.created_at < b.starts_at
        assert (b.name, b.email, b.phone, b.cancel_reason) == ("", None, None, None)
        assert b.anonymized_at is not None
    assert db.session.scalar(select(func.count()).select_from(BookingSlot)) == 0


def test_each_booking_ended_as_its_ticket_and_its_ledger_say(demo: tuple[Flask, str]) -> None:
    tickets = {t.booking_id: t for t in db.session.scalars(select(Ticket)) if t.booking_id}
    events: dict[int | None, list[BookingEvent]] = defaultdict(list)
    for event in db.session.scalars(select(BookingEvent).order_by(BookingEvent.at)):
        events[event.booking_id].append(event)
    regime = {o.id for o in offices().values() if o.slug in UNDER_REGIME}
    for b in db.session.scalars(select(Booking)):
        kinds = [e.kind for e in events[b.id]]
        assert kinds.count("made") == 1 and kinds.count("moved") == b.sequence - (
            b.status in ("cancelled", "refused")
        )
        made = next(e for e in events[b.id] if e.kind == "made")
        assert made.lead_minutes >= 30 and made.at == b.created_at
        ticket = tickets.get(b.id)
        if b.status == "booked" and b.mode == "phone":  # a call not made leaves no ticket
            assert ticket is None or ticket.kind == "phone"
        elif b.status == "booked":
            assert ticket is not None and ticket.kind == "appointment"
        elif b.status == "refused":  # counted by day, never linked to the booking
            assert "refused" not in kinds and b.office_id in regime
        else:
            assert ticket is None and kinds[-1] == b.status
        if b.status == "cancelled":
            assert events[b.id][-1].by == b.cancelled_by
    counted = Counter(e.kind for es in events.values() for e in es)
    assert {"made", "moved", "cancelled", "no_show", "refused"} <= set(counted)
    refusals = [e for es in events.values() for e in es if e.kind == "refused"]
    assert all(e.office_id in regime and e.booking_id is None for e in refusals)
    refused = db.session.scalars(select(Booking).where(Booking.status == "refused")).all()
    assert len(refusals) >= len(refused) > 0
    assert {e.place for e in refusals} >= {"kiosk", "counter"}
    days = [e.day for es in events.values() for e in es]
    assert max(days) < TODAY


# --- once only, and today untouched -----------------------------------------------------


def test_a_second_demo_adds_nothing_and_today_starts_at_number_one(
    demo: tuple[Flask, str],
) -> None:
    app, _output = demo

    def counts() -> tuple[int, ...]:
        models = (Ticket, AuditEntry, Booking, BookingEvent, TicketSequence)
        return tuple(db.session.scalar(select(func.count()).select_from(m)) for m in models)

    before = counts()
    with time_machine.travel(NOW + timedelta(hours=1), tick=False):
        assert app.test_cli_runner().invoke(args=["demo"]).exit_code == 0
    db.session.rollback()  # read afresh
    assert counts() == before
    office = offices()[DEMO]
    service = next(s for s in office.services if s.key == "consultation")
    with unit_of_work() as session:
        ticket = walk_in(session, office, service, NOW)
        assert (ticket.day, ticket.number) == (TODAY, 1)


def test_the_same_days_come_out_the_same(demo: tuple[Flask, str]) -> None:
    """Seeded by office and date: made again after its history is gone, it is the same."""
    office = offices()[PLZEN]

    def history() -> list[tuple[object, ...]]:
        return sorted(
            (t.day, t.prefix, t.number, t.kind, t.status, t.issued_at, t.finished_at)
            for t in tickets_of(office)
            if t.day < TODAY
        )

    kept = history()
    for model in (
        AuditEntry,
        BookingEvent,
        Ticket,
        Booking,
        TicketSequence,
        CounterHour,
        CounterServiceHour,
    ):
        db.session.execute(delete(model).where(model.office_id == office.id))
    names = ("plzen1", "plzen2")
    clerks = db.session.scalars(select(StaffUser).where(StaffUser.username.in_(names)))
    ordered = sorted(clerks, key=lambda user: user.username)
    assert add_history(db.session, office, PATTERNS[PLZEN], ordered, NOW) == len(kept)
    again = history()
    db.session.rollback()
    assert again == kept
