"""Days an office is closed besides its hours: closures the manager adds, and the month
calendar that shows them with the country's public holidays.

A closure closes whole days (``starts``/``ends`` empty) or the same part of each of its
days, in the office's local time (``booking/slots.py`` reads the wall clock, so on the
nights the clocks change the closed part is the hours the clock shows); a part that runs
to midnight ends at ``END_OF_DAY``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from booking.availability import hours_rules
from booking.holidays import holiday_names
from booking.models import Closure, Office
from booking.signals import time_freed
from booking.slots import rules_on
from booking.versions import touch
from queueing.models import StaffUser

from .audit import record, snapshot

FIELDS = ("first_day", "last_day", "starts", "ends", "reason")
# How many years from today's the calendar shows and a closure may begin: far enough for
# any booking horizon, near enough that dates stay a typing mistake away from overflowing.
YEARS = 5


def calendar_span(today: date) -> tuple[date, date]:
    """The first and the last day the closures calendar shows and a closure may begin."""
    return date(today.year - YEARS, 1, 1), date(today.year + YEARS, 12, 31)


def month_within(month: date, today: date) -> date:
    """The first day of ``month``, or of the nearest month within ``calendar_span``."""
    first, last = calendar_span(today)
    return min(max(month, first), last).replace(day=1)


def add_closure(
    session: Session,
    office: Office,
    first: date,
    last: date,
    starts: time | None,
    ends: time | None,
    reason: str,
    actor: StaffUser,
    now: datetime,
) -> Closure:
    closure = Closure(
        first_day=first, last_day=last, starts=starts, ends=ends, reason=reason, office=office
    )
    session.add(closure)
    session.flush()
    touch(session, office.id)
    record(
        session,
        now,
        actor,
        "create",
        "closure",
        closure.id,
        office_id=office.id,
        after=snapshot(closure, FIELDS),
    )
    return closure


def delete_closure(
    session: Session, office: Office, closure: Closure, actor: StaffUser, now: datetime
) -> None:
    """Open again: more time to book, so no booking is affected; cached times refresh."""
    before = snapshot(closure, FIELDS)
    reopened = closure.first_day, closure.last_day
    office.closures.remove(closure)
    session.delete(closure)
    session.flush()
    touch(session, office.id)
    # The reopened days' times go to the waiting list first (booking/waitlist.py).
    zone = ZoneInfo(office.timezone)
    time_freed.send(
        office,
        session=session,
        starts_at=datetime.combine(reopened[0], time(0), zone),
        ends_at=datetime.combine(reopened[1] + timedelta(days=1), time(0), zone),
        counter_id=None,
        service_id=None,
        reason="reopened",
        now=now,
    )
    record(session, now, actor, "delete", "closure", closure.id, office_id=office.id, before=before)


@dataclass(frozen=True)
class CalendarDay:
    day: date
    holiday: str | None
    closures: list[Closure] = field(default_factory=list)
    open: bool = False  # some opening hours apply that day

    @property
    def closed_all_day(self) -> bool:
        return any(c.starts is None for c in self.closures)


def month_days(office: Office, month: date, locale: str) -> list[list[CalendarDay | None]]:
    """The weeks of ``month`` (Monday first), each day with what closes it."""
    first = month.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    names = holiday_names(office, range(first.year, first.year + 1), locale)
    rules = hours_rules(office)
    weeks: list[list[CalendarDay | None]] = []
    week: list[CalendarDay | None] = [None] * first.weekday()
    day = first
    while day < following:
        week.append(
            CalendarDay(
                day,
                names.get(day),
                [c for c in office.closures if c.first_day <= day <= c.last_day],
                bool(rules_on(rules, day)),
            )
        )
        if len(week) == 7:
            weeks.append(week)
            week = []
        day += timedelta(days=1)
    if week:
        weeks.append(week + [None] * (7 - len(week)))
    return weeks


def upcoming(office: Office, today: date) -> list[Closure]:
    """The closures not over yet, soonest first."""
    return sorted(
        (c for c in office.closures if c.last_day >= today),
        key=lambda c: (c.first_day, c.starts or time.min),
    )
