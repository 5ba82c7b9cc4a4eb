"""Availability read from the database: plain functions over a SQLAlchemy session."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import holidays
from sqlalchemy import Select, bindparam, case, func, select
from sqlalchemy.orm import Session

from . import walk_in_share  # [share]
from .models import BookingSlot, Office, Service
from .slots import (
    HoursRule,
    Schedule,
    cell_index,
    counter_bits,
    date_range,
    free_starts_in_grid,
)


@lru_cache(maxsize=256)
def _holidays(country: str, subdivision: str | None, years: range) -> frozenset[date]:
    # A country's holidays of given years never change: computing them is most of a
    # schedule's cost, so each process does it once.
    return frozenset(holidays.country_holidays(country, subdiv=subdivision, years=list(years)))


def public_holidays(office: Office, years: range) -> set[date]:
    return set(_holidays(office.country, office.subdivision, years))


def schedule_for(office: Office, first: date, last: date) -> Schedule:
    closed = (
        public_holidays(office, range(first.year, last.year + 1))
        if office.public_holidays
        else set()
    )
    closed_hours: dict[date, list[tuple[time, time]]] = {}
    for closure in office.closures:
        if closure.last_day >= first and closure.first_day <= last:
            days = date_range(max(first, closure.first_day), min(last, closure.last_day))
            if closure.starts is None or closure.ends is None:
                closed.update(days)
            else:  # only part of each day
                for day in days:
                    closed_hours.setdefault(day, []).append((closure.starts, closure.ends))
    return Schedule(
        ZoneInfo(office.timezone),
        office.slot_minutes,
        hours_rules(office),
        frozenset(closed),
        closed_hours,
    )


def hours_rules(office: Office) -> list[HoursRule]:
    """The office's opening hours (``slots.rules_on`` says which apply on a day)."""
    return [HoursRule(h.weekday, h.opens, h.closes, h.valid_from, h.valid_to) for h in office.hours]


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


# A cell's counters come back from the database as integers of this many bits, one per
# counter: with one row per (counter, cell) the sum of their distinct powers of two is
# the bitwise or, and it stays within SQL's 64-bit signed integers.
BITS_PER_SUM = 62


@lru_cache(maxsize=1024)
def _held_query(counters: tuple[int, ...]) -> Select[*tuple[Any, ...]]:
    """The query of ``held_cells``, built once per set of counters (``first``, ``last``)."""
    bits = counter_bits(counters)
    sums = [
        func.sum(
            case(
                {c: bits[c] >> start for c in counters[start : start + BITS_PER_SUM]},
                value=BookingSlot.counter_id,
                else_=0,
            )
        )
        for start in range(0, len(counters), BITS_PER_SUM)
    ]
    return (
        select(BookingSlot.starts_at, *sums)
        .where(
            BookingSlot.counter_id.in_(counters),
            BookingSlot.starts_at >= bindparam("first"),
            BookingSlot.starts_at < bindparam("last"),
        )
        .group_by(BookingSlot.starts_at)
    )


def held_cells(
    session: Session, counters: list[int], first: datetime, last: datetime, step: timedelta
) -> dict[int, int]:
    """``taken_cells`` as ``slots.taken_bits`` gives it: cell number -> counters' bits.

    Grouped in the database, so a busy office sends one row per cell, not per counter.
    """
    query = _held_query(tuple(counter_bits(counters)))
    held: dict[int, int] = {}
    for start, *sums in session.execute(query, {"first": first, "last": last}):
        index = cell_index(start, step)
        if index is not None:  # off the grid: a cell of an older slot length
            held[index] = sum(int(part) << (i * BITS_PER_SUM) for i, part in enumerate(sums))
    return held


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
    step = schedule.step
    held = held_cells(session, counters, span_start, span_end, step)
    bits = counter_bits(counters)
    if ignore_booking is not None:
        own = session.execute(
            select(BookingSlot.counter_id, BookingSlot.starts_at).where(
                BookingSlot.booking_id == ignore_booking
            )
        )
        for counter, start in own:
            index = cell_index(start, step)
            if counter in bits and index in held:
                held[index] &= ~bits[counter]
    earliest, latest = booking_window(office, now)
    # [share] The day's first cells kept for walk-ins are offered to nobody online.
    share = walk_in_share.share_of(office, service)
    return free_starts_in_grid(
        schedule,
        date_range(first, last),
        timedelta(minutes=service.duration_minutes),
        len(bits),
        held,
        earliest,
        latest,
        (lambda day: walk_in_share.first_bookable_cell(schedule, day, share)) if share else None,
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


def window_days(office: Office, now: datetime) -> tuple[date, date]:
    """The local days the calendar offers now: today to the day of the latest start."""
    latest = booking_window(office, now)[1]
    return local_today(office, now), latest.astimezone(ZoneInfo(office.timezone)).date()


def first_free_start(
    session: Session, office: Office, service: Service, now: datetime
) -> datetime | None:
    """The earliest start a resident can book now; None if the booking window has none.

    One ``availability`` over the whole window (one query for its held cells), so the
    day of this start is the first day the calendar marks free.
    """
    first, last = window_days(office, now)
    free = availability(session, office, service, first, last, now)
    return next((starts[0] for _day, starts in sorted(free.items()) if starts), None)
