"""Availability read from the database: plain functions over a SQLAlchemy session."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays
from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import BookingSlot, Office, Service
from .slots import HoursRule, Schedule, date_range, free_starts


def public_holidays(office: Office, years: range) -> set[date]:
    return set(
        holidays.country_holidays(office.country, subdiv=office.subdivision, years=list(years))
    )


def schedule_for(office: Office, first: date, last: date) -> Schedule:
    closed = (
        public_holidays(office, range(first.year, last.year + 1))
        if office.public_holidays
        else set()
    )
    for closure in office.closures:
        if closure.last_day >= first and closure.first_day <= last:
            closed.update(date_range(max(first, closure.first_day), min(last, closure.last_day)))
    rules = [
        HoursRule(h.weekday, h.opens, h.closes, h.valid_from, h.valid_to) for h in office.hours
    ]
    return Schedule(ZoneInfo(office.timezone), office.slot_minutes, rules, frozenset(closed))


def booking_window(office: Office, now: datetime) -> tuple[datetime, datetime]:
    """The earliest and latest start a resident may book now."""
    return (
        now + timedelta(minutes=office.min_notice_minutes),
        now + timedelta(days=office.max_days_ahead),
    )


def local_today(office: Office, now: datetime) -> date:
    return now.astimezone(ZoneInfo(office.timezone)).date()


def taken_cells(
    session: Session, counters: list[int], first: datetime, last: datetime
) -> set[tuple[int, datetime]]:
    rows = session.execute(
        select(BookingSlot.counter_id, BookingSlot.starts_at).where(
            BookingSlot.counter_id.in_(counters),
            BookingSlot.starts_at >= first,
            BookingSlot.starts_at < last,
        )
    )
    return {(counter, start) for counter, start in rows}


def availability(
    session: Session,
    office: Office,
    service: Service,
    first: date,
    last: date,
    now: datetime,
    ignore_booking: int | None = None,
) -> dict[date, list[datetime]]:
    """Free start times for ``service`` per local day from ``first`` to ``last``.

    ``ignore_booking`` treats that booking's own cells as free, for rescheduling.
    """
    counters = [c.id for c in service.counters]
    if not service.bookable_online or not counters or first > last:
        return {day: [] for day in date_range(first, last)}
    schedule = schedule_for(office, first, last)
    tz = schedule.timezone
    span_start = datetime.combine(first - timedelta(days=1), datetime.min.time(), tzinfo=tz)
    span_end = datetime.combine(last + timedelta(days=2), datetime.min.time(), tzinfo=tz)
    taken = taken_cells(session, counters, span_start, span_end)
    if ignore_booking is not None:
        own = session.scalars(
            select(BookingSlot).where(BookingSlot.booking_id == ignore_booking)
        ).all()
        taken -= {(cell.counter_id, cell.starts_at) for cell in own}
    earliest, latest = booking_window(office, now)
    return free_starts(
        schedule,
        date_range(first, last),
        timedelta(minutes=service.duration_minutes),
        counters,
        taken,
        earliest,
        latest,
    )


# How far around the chosen day "just taken" looks for other times: first the day itself,
# then wider, so a lost race (a 409) mostly reads one day, not three weeks.
NEAREST_DAYS_BEFORE = 7
NEAREST_DAYS_AFTER = 14
NEAREST_RADII = (0, 1, 3, NEAREST_DAYS_AFTER)


def nearest_free(
    session: Session,
    office: Office,
    service: Service,
    around: datetime,
    now: datetime,
    count: int = 3,
) -> list[datetime]:
    """The free starts closest in time to ``around``, for "this time was just taken".

    They are looked for from 7 days before to 14 days after ``around``'s day, in
    widening rings: a ring's answer stands once its ``count``-th start is closer than
    any day the ring left out, so it is the answer the whole span would give.
    """
    earliest, latest = booking_window(office, now)
    around = min(max(around, earliest), latest)  # a stale link may point anywhere
    zone = ZoneInfo(office.timezone)
    day = around.astimezone(zone).date()
    floor = max(local_today(office, now), day - timedelta(days=NEAREST_DAYS_BEFORE))
    ceiling = day + timedelta(days=NEAREST_DAYS_AFTER)
    starts: list[datetime] = []
    for radius in NEAREST_RADII:
        first = max(floor, day - timedelta(days=radius))
        last = min(ceiling, day + timedelta(days=radius))
        free = availability(session, office, service, first, last, now)
        starts = sorted(
            (start for day_starts in free.values() for start in day_starts),
            key=lambda s: (abs(s - around), s),
        )
        # Nothing left out is nearer than the first midnight the ring did not reach.
        left_out = [
            around - datetime.combine(first, time(0), zone) if first > floor else None,
            datetime.combine(last + timedelta(days=1), time(0), zone) - around
            if last < ceiling
            else None,
        ]
        gaps = [gap for gap in left_out if gap is not None]
        if len(starts) >= count and (not gaps or abs(starts[count - 1] - around) < min(gaps)):
            break
    return sorted(starts[:count])
