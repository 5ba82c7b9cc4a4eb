"""A known history for the report tests, worked through the floor's own functions.

``ReportFloor`` does what kiosks and clerks do (walk in, check in, call, recall, serve,
finish, park, transfer, refuse, no-show, phone, close the day), each in its own unit of
work at an explicit instant, with the clock moved there too. ``dst_week`` lays down
the week of Thursday 22 to Wednesday 28 October 2026 at a Warsaw office, across the
end of summer time (Sunday 25 October, 03:00 CEST -> 02:00 CET); the figures the tests
expect are worked out by hand from the timetable in its docstring.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import time_machine
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from booking import admission
from booking.availability import local_today
from booking.models import Booking, BookingMode, Counter, Office, Service
from okienko.database import db
from okienko.transaction import unit_of_work
from queueing import arrival, calling, closing
from queueing.models import StaffUser, Ticket
from reports.catalogue import REPORTS
from reports.scope import Period, Scope
from tests.helpers.factories import MadeBooking, MadeOffice, MadeService, MakeBooking

T = TypeVar("T")
WARSAW = ZoneInfo("Europe/Warsaw")


def warsaw(day: str, at: str) -> datetime:
    """A Warsaw wall-clock time as UTC: CEST (+2) until 25 October 2026 03:00, then CET."""
    return datetime.fromisoformat(f"{day}T{at}").replace(tzinfo=WARSAW).astimezone(UTC)


class ReportFloor:
    """An office's floor, worked by its clerks one action at a time."""

    def __init__(self, app: Flask, office: MadeOffice) -> None:
        self.app = app
        self.office = office
        self.clerks: dict[str, int] = {}

    def _at(self, now: datetime, action: Callable[[Session], T]) -> T:
        with (
            time_machine.travel(now, tick=False),
            self.app.app_context(),
            unit_of_work() as session,
        ):
            return action(session)

    def seat(self, username: str, name: str, counter: str) -> None:
        """A clerk's account, seated at ``counter`` (it never logs in: no password)."""
        with self.app.app_context(), unit_of_work() as session:
            user = StaffUser(
                username=username,
                name=name,
                password_hash="!",
                office_id=self.office.id,
                counter_id=self.office.counters[counter],
            )
            session.add(user)
            session.flush()
            self.clerks[username] = user.id

    def _clerk(self, session: Session, username: str) -> StaffUser:
        return session.get_one(StaffUser, self.clerks[username])

    def walk_in(self, service: MadeService, now: datetime) -> int:
        """A walk-in's number from the kiosk (with a passing answer under the regime)."""

        def take(session: Session) -> int:
            office = session.get_one(Office, self.office.id)
            check = None
            if admission.regime_active(office, local_today(office, now)):
                check = admission.record(session, office, "kiosk", admission.Outcome(True), now)
            return arrival.walk_in(
                session, office, session.get_one(Service, service.id), now, check=check
            ).id

        return self._at(now, take)

    def check_in(self, booking: MadeBooking, now: datetime) -> int:
        def scan(session: Session) -> int:
            office = session.get_one(Office, self.office.id)
            return arrival.check_in(session, office, session.get_one(Booking, booking.id), now).id

        return self._at(now, scan)

    def call_next(self, clerk: str, now: datetime) -> int:
        def call(session: Session) -> int:
            ticket = calling.call_next(session, self._clerk(session, clerk), now)
            assert ticket is not None, f"nobody waiting for {clerk} at {now}"
            return ticket.id

        return self._at(now, call)

    def act(self, action: str, clerk: str, ticket: int, now: datetime, **extra: Any) -> None:
        """``calling.<action>(session, clerk, ticket, now, **extra)``: call_ticket, recall,
        start_serving, finish, no_show, park, refuse."""

        def act(session: Session) -> None:
            getattr(calling, action)(
                session, self._clerk(session, clerk), session.get_one(Ticket, ticket), now, **extra
            )

        self._at(now, act)

    def transfer(
        self,
        clerk: str,
        ticket: int,
        now: datetime,
        service: MadeService | None = None,
        counter: str | None = None,
    ) -> None:
        """Send the ticket on to another service's line or to a named counter."""

        def send(session: Session) -> None:
            calling.transfer(
                session,
                self._clerk(session, clerk),
                session.get_one(Ticket, ticket),
                now,
                service=session.get(Service, service.id) if service else None,
                counter=session.get(Counter, self.office.counters[counter]) if counter else None,
            )

        self._at(now, send)

    def phone(self, clerk: str, booking: MadeBooking, now: datetime) -> int:
        def ring(session: Session) -> int:
            booked = session.get_one(Booking, booking.id)
            return calling.phone_call(session, self._clerk(session, clerk), booked, now).id

        return self._at(now, ring)

    def close_day(self, now: datetime) -> int:
        return self._at(
            now,
            lambda session: closing.close_day(
                session, session.get_one(Office, self.office.id), now
            ),
        )

    def serve(
        self, clerk: str, ticket: int, called: datetime, started: datetime | None, done: datetime
    ) -> None:
        """Call a ticket, start (unless ``started`` is None: finished from the call) and finish."""
        self.act("call_ticket", clerk, ticket, called)
        if started is not None:
            self.act("start_serving", clerk, ticket, started)
        self.act("finish", clerk, ticket, done)


def report(
    app: Flask,
    name: str,
    offices: tuple[int, ...],
    first: date,
    last: date,
    *,
    service: str | None = None,
    locale: str = "en",
) -> dict[str, list[dict[str, Any]]]:
    """The rows of each table of report ``name``, by table key, as ``build`` returns them."""
    with app.app_context():
        built = REPORTS[name].build(
            db.session(),
            Scope(offices, service),
            Period(first, last),
            locale=locale,
            now=datetime(2026, 11, 30, 12, tzinfo=UTC),
        )
        return {table.key: table.rows for table in built.tables}


@dataclass(frozen=True)
class Week:
    floor: ReportFloor
    registration: MadeService  # "meldunek", prefix M
    id_cards: MadeService  # "dowody", prefix D
    tickets: dict[str, int]  # by the names in ``dst_week``'s timetable


def dst_week(
    app: Flask,
    office: MadeOffice,
    registration: MadeService,
    id_cards: MadeService,
    make_booking: MakeBooking,
) -> Week:
    """The week of 22-28 October 2026 at ``office`` (Europe/Warsaw, open 08:00-16:00 daily,
    counters Okno 1-3; the sanitary regime on Thursday 22 only), Warsaw times:

    ====  =====  ====  =========  ==================================================  =====
    name  day    line  issued     what happened (clerk@counter)                       done
    ====  =====  ====  =========  ==================================================  =====
    t1    Thu    M     09:00 wi   anna@1 call 09:04, start 09:05, finish 09:15        10
    t2    Fri    M     09:00 wi   bartek@2 call 09:12, start 09:12, finish 09:20       8
    t3    Sat    M     09:00 wi   anna@1 call 09:25, start 09:26, finish 09:46        20
    t4    Sun    M     09:00 wi   celina@3 call 09:06, start 09:06, finish 09:12       6
    t5    Mon    M     09:00 wi   bartek@2 call 09:35, start 09:36, finish 09:50      14
    t6    Tue    M     09:00 wi   anna@1 call 09:08, finish 09:20 (no start)          12
    t7    Wed    M     09:00 wi   celina@3 call 09:15, start 09:16, finish 09:24       8
    t8    Thu    D     13:00 wi   bartek@2 call 13:10, start 13:11, to counter 3      6
                                  13:15; celina@3 call 13:20, finish 13:26
    t9    Thu    M     14:00 wi   anna@1 call 14:30, refused 14:32 (no mask)
    t10   Fri    M     09:50 ap   booked 10:00; anna@1 call 10:12, start 10:12,       18
                                  finish 10:30 (called 12 min late)
    t11   Sat    M     11:58 ap   booked 12:00; bartek@2 call 12:03, start 12:04,     10
                                  finish 12:14 (3 min late)
    t12   Sun    M     11:02 ph   booked 11:00 by phone; anna@1 phone 11:02,          15
                                  finish 11:17
    t13   Mon    D>M   10:00 wi   anna@1 call 10:20, start 10:21, to service M        12
                                  10:30; bartek@2 call 10:40, start 10:41, finish 10:53
    t14   Mon    D     13:40 ap   booked 14:00; celina@3 call 13:55 (5 min early),    14
                                  start 13:56, finish 14:10
    t15   Tue    M     11:00 wi   anna@1 call 11:05, recall 11:06, 11:07,             10
                                  start 11:08, finish 11:18
    t16   Tue    D     11:10 wi   bartek@2 call 11:30, start 11:31, park 11:35,        9
                                  call 11:50, start 11:51, finish 12:00
    t17   Wed    D     10:00 wi   celina@3 call 10:45, recall 10:46, 10:47,
                                  no-show 10:50
    t18   Wed    M     15:50 wi   never called; the day closed at 16:00
    t19   Sat    D     10:30 wi   celina@3 call 10:40, start 10:41, finish 10:54      13
    out1  Wed21  M     09:00 wi   anna@1 call 10:40, finish 10:50 (outside the week)
    out2  Thu29  D     09:00 wi   celina@3 call 09:01, start 09:01, finish 09:31 (outside)
    ====  =====  ====  =========  ==================================================  =====

    wi walk-in, ap appointment checked in, ph phone consultation; done = minutes served.
    """
    floor = ReportFloor(app, office)
    floor.seat("anna", "Anna Nowak", "Okno 1")
    floor.seat("bartek", "Bartek Zieliński", "Okno 2")
    floor.seat("celina", "Celina Wójcik", "Okno 3")
    m, d = registration, id_cards
    booked = warsaw("2026-10-19", "12:00")
    visit_fri = make_booking(m, warsaw("2026-10-23", "10:00"), now=booked)
    visit_sat = make_booking(m, warsaw("2026-10-24", "12:00"), now=booked)
    visit_mon = make_booking(d, warsaw("2026-10-26", "14:00"), now=booked)
    call_sun = make_booking(
        m, warsaw("2026-10-25", "11:00"), now=booked, phone="+48601234567", mode=BookingMode.PHONE
    )
    t: dict[str, int] = {}

    def at(day: int, clock: str) -> datetime:
        return warsaw(f"2026-10-{day:02d}", clock)

    # Wednesday 21: before the week.
    t["out1"] = floor.walk_in(m, at(21, "09:00"))
    floor.serve("anna", t["out1"], at(21, "10:40"), None, at(21, "10:50"))

    # Thursday 22 (CEST, the sanitary regime on).
    t["t1"] = floor.walk_in(m, at(22, "09:00"))
    assert floor.call_next("anna", at(22, "09:04")) == t["t1"]
    floor.act("start_serving", "anna", t["t1"], at(22, "09:05"))
    floor.act("finish", "anna", t["t1"], at(22, "09:15"))
    t["t8"] = floor.walk_in(d, at(22, "13:00"))
    floor.act("call_ticket", "bartek", t["t8"], at(22, "13:10"))
    floor.act("start_serving", "bartek", t["t8"], at(22, "13:11"))
    floor.transfer("bartek", t["t8"], at(22, "13:15"), counter="Okno 3")
    floor.serve("celina", t["t8"], at(22, "13:20"), None, at(22, "13:26"))
    t["t9"] = floor.walk_in(m, at(22, "14:00"))
    floor.act("call_ticket", "anna", t["t9"], at(22, "14:30"))
    floor.act("refuse", "anna", t["t9"], at(22, "14:32"), reason="no_mask")

    # Friday 23.
    t["t2"] = floor.walk_in(m, at(23, "09:00"))
    assert floor.call_next("bartek", at(23, "09:12")) == t["t2"]
    floor.act("start_serving", "bartek", t["t2"], at(23, "09:12"))
    floor.act("finish", "bartek", t["t2"], at(23, "09:20"))
    t["t10"] = floor.check_in(visit_fri, at(23, "09:50"))
    floor.serve("anna", t["t10"], at(23, "10:12"), at(23, "10:12"), at(23, "10:30"))

    # Saturday 24.
    t["t3"] = floor.walk_in(m, at(24, "09:00"))
    assert floor.call_next("anna", at(24, "09:25")) == t["t3"]
    floor.act("start_serving", "anna", t["t3"], at(24, "09:26"))
    floor.act("finish", "anna", t["t3"], at(24, "09:46"))
    t["t19"] = floor.walk_in(d, at(24, "10:30"))
    floor.serve("celina", t["t19"], at(24, "10:40"), at(24, "10:41"), at(24, "10:54"))
    t["t11"] = floor.check_in(visit_sat, at(24, "11:58"))
    floor.serve("bartek", t["t11"], at(24, "12:03"), at(24, "12:04"), at(24, "12:14"))

    # Sunday 25: summer time ended at 03:00, Warsaw is UTC+1 from now on.
    t["t4"] = floor.walk_in(m, at(25, "09:00"))
    assert floor.call_next("celina", at(25, "09:06")) == t["t4"]
    floor.act("start_serving", "celina", t["t4"], at(25, "09:06"))
    floor.act("finish", "celina", t["t4"], at(25, "09:12"))
    t["t12"] = floor.phone("anna", call_sun, at(25, "11:02"))
    floor.act("finish", "anna", t["t12"], at(25, "11:17"))

    # Monday 26.
    t["t5"] = floor.walk_in(m, at(26, "09:00"))
    assert floor.call_next("bartek", at(26, "09:35")) == t["t5"]
    floor.act("start_serving", "bartek", t["t5"], at(26, "09:36"))
    floor.act("finish", "bartek", t["t5"], at(26, "09:50"))
    t["t13"] = floor.walk_in(d, at(26, "10:00"))
    floor.act("call_ticket", "anna", t["t13"], at(26, "10:20"))
    floor.act("start_serving", "anna", t["t13"], at(26, "10:21"))
    floor.transfer("anna", t["t13"], at(26, "10:30"), service=m)
    floor.serve("bartek", t["t13"], at(26, "10:40"), at(26, "10:41"), at(26, "10:53"))
    t["t14"] = floor.check_in(visit_mon, at(26, "13:40"))
    floor.serve("celina", t["t14"], at(26, "13:55"), at(26, "13:56"), at(26, "14:10"))

    # Tuesday 27.
    t["t6"] = floor.walk_in(m, at(27, "09:00"))
    assert floor.call_next("anna", at(27, "09:08")) == t["t6"]
    floor.act("finish", "anna", t["t6"], at(27, "09:20"))
    t["t15"] = floor.walk_in(m, at(27, "11:00"))
    floor.act("call_ticket", "anna", t["t15"], at(27, "11:05"))
    floor.act("recall", "anna", t["t15"], at(27, "11:06"))
    floor.act("recall", "anna", t["t15"], at(27, "11:07"))
    floor.act("start_serving", "anna", t["t15"], at(27, "11:08"))
    floor.act("finish", "anna", t["t15"], at(27, "11:18"))
    t["t16"] = floor.walk_in(d, at(27, "11:10"))
    floor.act("call_ticket", "bartek", t["t16"], at(27, "11:30"))
    floor.act("start_serving", "bartek", t["t16"], at(27, "11:31"))
    floor.act("park", "bartek", t["t16"], at(27, "11:35"))
    floor.serve("bartek", t["t16"], at(27, "11:50"), at(27, "11:51"), at(27, "12:00"))

    # Wednesday 28.
    t["t7"] = floor.walk_in(m, at(28, "09:00"))
    assert floor.call_next("celina", at(28, "09:15")) == t["t7"]
    floor.act("start_serving", "celina", t["t7"], at(28, "09:16"))
    floor.act("finish", "celina", t["t7"], at(28, "09:24"))
    t["t17"] = floor.walk_in(d, at(28, "10:00"))
    floor.act("call_ticket", "celina", t["t17"], at(28, "10:45"))
    floor.act("recall", "celina", t["t17"], at(28, "10:46"))
    floor.act("recall", "celina", t["t17"], at(28, "10:47"))
    floor.act("no_show", "celina", t["t17"], at(28, "10:50"))
    t["t18"] = floor.walk_in(m, at(28, "15:50"))
    assert floor.close_day(at(28, "16:00")) == 1

    # Thursday 29: after the week.
    t["out2"] = floor.walk_in(d, at(29, "09:00"))
    floor.serve("celina", t["out2"], at(29, "09:01"), at(29, "09:01"), at(29, "09:31"))
    return Week(floor, registration, id_cards, t)


def ticket_states(app: Flask, ids: dict[str, int]) -> dict[str, str]:
    """Each named ticket's status, to show the history went as its timetable says."""
    with app.app_context():
        rows = db.session.execute(
            select(Ticket.id, Ticket.status).where(Ticket.id.in_(ids.values()))
        )
        status = {row.id: row.status.value for row in rows}
    return {name: status[ticket_id] for name, ticket_id in ids.items()}
