"""The load report's counters open for one service, from the summary the floor keeps
(``CounterServiceHour``), against the rule it replaced: read from the audit log, the
(ticket's day, counter) pairs per local hour of a counter's work on a ticket whose
first or final service is the service, on the open days.

Worked through the floor's own functions, transfers included, and kept by a migration's
backfill from the audit log alike.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from flask import Flask
from flask_migrate import downgrade, upgrade
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from booking.models import Office
from okienko.database import db
from queueing.models import AuditEntry, CounterServiceHour, Ticket
from reports import load
from reports.scope import Period, Scope
from reports.sql import local_hour
from reports.waiting import services_of
from tests.helpers.factories import MadeService, MakeOffice, MakeService
from tests.helpers.report_floor import ReportFloor, report, warsaw

WORK = ("call", "recall", "serve", "finish", "phone")
FIRST, LAST = date(2026, 11, 2), date(2026, 11, 4)
BEFORE = "a4d5e6f7a8b9"  # the revision before the summary


def audit_counters_by_hour(session: Session, scope: Scope, period: Period) -> dict[int, int]:
    """The load report's counters per hour for a service as it read them from the audit
    log before the summary (kept here as the reference)."""
    hour = local_hour(AuditEntry.at, Office.timezone).label("hour")
    pairs = (
        select(hour, Ticket.day, AuditEntry.counter_id)
        .join(Ticket, Ticket.id == AuditEntry.ticket_id)
        .join(Office, Office.id == AuditEntry.office_id)
        .where(
            AuditEntry.office_id.in_(scope.office_ids),
            AuditEntry.action.in_(WORK),
            AuditEntry.counter_id.is_not(None),
            AuditEntry.at >= datetime.combine(period.first - timedelta(days=1), time(), UTC),
            AuditEntry.at < datetime.combine(period.last + timedelta(days=2), time(), UTC),
            Ticket.office_id.in_(scope.office_ids),
            Ticket.day.in_(select(Ticket.day).where(*load._arrived(scope, period)).distinct()),
            or_(
                Ticket.first_service_id.in_(services_of(scope)),
                Ticket.service_id.in_(services_of(scope)),
            ),
        )
        .distinct()
        .subquery()
    )
    counts: dict[int, int] = {}
    for (h,) in session.execute(select(pairs.c.hour)):
        counts[h] = counts.get(h, 0) + 1
    return counts


def summary_counters_by_hour(session: Session, scope: Scope, period: Period) -> dict[int, int]:
    open_days = {d for d, _ in load._arrivals(session, scope, period)}
    return load._counters_by_hour(session, scope, period, open_days)


def assert_summary_is_the_audit_rule(app: Flask, office_id: int, keys: list[str]) -> None:
    with app.app_context():
        session = db.session()
        for key in keys:
            scope, period = Scope((office_id,), key), Period(FIRST, LAST)
            expected = audit_counters_by_hour(session, scope, period)
            assert summary_counters_by_hour(session, scope, period) == expected, key


def summary_rows(app: Flask) -> list[tuple[Any, ...]]:
    with app.app_context():
        return sorted(tuple(r) for r in db.session.execute(select(CounterServiceHour.__table__)))


def assert_backfill_agrees(app: Flask) -> None:
    """The migration rebuilds from the audit log the rows the floor kept."""
    kept = summary_rows(app)
    with app.app_context():
        downgrade(revision=BEFORE)
        upgrade()
    assert summary_rows(app) == kept


def test_a_transferred_tickets_work_counts_for_its_first_and_final_service(
    any_app: Flask, make_office: MakeOffice, make_service: MakeService
) -> None:
    office = make_office(counters=3)
    a, b, c = (make_service(office, key) for key in ("a", "b", "c"))
    floor = ReportFloor(any_app, office)
    for i in (1, 2, 3):
        floor.seat(f"clerk{i}", f"Clerk {i}", f"Counter {i}")
    day = "2026-11-02"
    floor.walk_in(b, warsaw(day, "08:30"))  # b's open day
    one = floor.walk_in(a, warsaw(day, "09:00"))
    floor.act("call_ticket", "clerk1", one, warsaw(day, "09:05"))
    floor.act("start_serving", "clerk1", one, warsaw(day, "09:06"))
    assert_summary_is_the_audit_rule(any_app, office.id, ["a", "b", "c"])
    floor.transfer("clerk1", one, warsaw(day, "09:50"), service=b)
    # Counter 1's work at nine now counts for b too (a: its first service).
    by_hour = report(any_app, "load", (office.id,), FIRST, LAST, service="b")["by_hour"]
    assert [(r["hour"], r["arrivals"], r["counters_open"]) for r in by_hour] == [
        (8, 1, 0.0),
        (9, 0, 1.0),
    ]
    floor.act("call_ticket", "clerk2", one, warsaw(day, "10:10"))
    floor.act("finish", "clerk2", one, warsaw(day, "10:20"))
    assert_summary_is_the_audit_rule(any_app, office.id, ["a", "b", "c"])

    # Sent on twice: b's work moves to c, as the ticket is b's no more; another ticket of
    # b served at the same counter and hour keeps b's row there.
    two = floor.walk_in(a, warsaw(day, "11:00"))
    three = floor.walk_in(b, warsaw(day, "11:01"))
    floor.act("call_ticket", "clerk1", two, warsaw(day, "11:05"))
    floor.transfer("clerk1", two, warsaw(day, "11:06"), service=b)
    floor.act("call_ticket", "clerk2", two, warsaw(day, "11:10"))
    floor.transfer("clerk2", two, warsaw(day, "11:12"), service=c)
    assert_summary_is_the_audit_rule(any_app, office.id, ["a", "b", "c"])
    floor.act("call_ticket", "clerk2", three, warsaw(day, "11:20"))
    floor.act("finish", "clerk2", three, warsaw(day, "11:25"))
    floor.act("call_ticket", "clerk3", two, warsaw(day, "12:00"))
    floor.transfer("clerk3", two, warsaw(day, "12:05"), service=a)
    assert_summary_is_the_audit_rule(any_app, office.id, ["a", "b", "c"])
    assert_backfill_agrees(any_app)
    assert_summary_is_the_audit_rule(any_app, office.id, ["a", "b", "c"])


class RandomFloor:
    """Walk-ins and clerks' moves drawn at random, kept to what the floor allows."""

    def __init__(self, floor: ReportFloor, services: list[MadeService], rng: random.Random):
        self.floor, self.services, self.rng = floor, services, rng
        self.held: dict[str, tuple[int, str]] = {}  # clerk -> ticket, "called" or "serving"
        self.waiting = 0

    def step(self, clerks: list[str], now: datetime) -> None:
        floor, rng = self.floor, self.rng
        if rng.random() < 0.3:
            floor.walk_in(rng.choice(self.services), now)
            self.waiting += 1
            return
        clerk = rng.choice(clerks)
        if clerk not in self.held:
            if self.waiting:
                self.held[clerk] = (floor.call_next(clerk, now), "called")
                self.waiting -= 1
            return
        ticket, status = self.held[clerk]
        move = rng.choice(("recall", "start_serving", "finish", "transfer", "transfer"))
        if move == "recall" and status == "called":
            floor.act("recall", clerk, ticket, now)
        elif move == "start_serving" and status == "called":
            floor.act("start_serving", clerk, ticket, now)
            self.held[clerk] = (ticket, "serving")
        elif move == "transfer":
            floor.transfer(clerk, ticket, now, service=rng.choice(self.services))
            del self.held[clerk]
            self.waiting += 1
        else:
            floor.act("finish", clerk, ticket, now)
            del self.held[clerk]

    def close(self, now: datetime) -> None:
        for clerk, (ticket, _) in sorted(self.held.items()):
            self.floor.act("finish", clerk, ticket, now)
        self.held.clear()
        self.floor.close_day(now)
        self.waiting = 0


@pytest.mark.parametrize("seed", [1, 2])
def test_the_summary_follows_a_random_floor(
    any_app: Flask, make_office: MakeOffice, make_service: MakeService, seed: int
) -> None:
    office = make_office(counters=3)
    services = [make_service(office, key) for key in ("a", "b", "c")]
    floor = ReportFloor(any_app, office)
    clerks = [f"clerk{i}" for i in (1, 2, 3)]
    for i, clerk in enumerate(clerks, 1):
        floor.seat(clerk, f"Clerk {i}", f"Counter {i}")
    rng = random.Random(seed)
    sim = RandomFloor(floor, services, rng)
    for day in ("2026-11-02", "2026-11-04"):
        now = warsaw(day, "08:00")
        for _ in range(45):
            now += timedelta(minutes=rng.randint(2, 9))
            sim.step(clerks, now)
        sim.close(now + timedelta(minutes=1))
    assert_summary_is_the_audit_rule(any_app, office.id, ["a", "b", "c"])
    assert_backfill_agrees(any_app)
