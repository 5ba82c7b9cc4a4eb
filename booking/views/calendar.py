"""Free times as the pages show them: a month's days, a day's starts, one start."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import abort

from okienko.database import db, utcnow

from ..availability import availability, booking_window, window_days
from ..cache import free_times
from ..models import Closure, Office, Service


def free_between(
    office: Office,
    service: Service,
    first: date,
    last: date,
    now: datetime,
    ignore_booking: int | None,
    version: int | None,
) -> dict[date, list[datetime]]:
    """Free starts, from the cache when the caller read the office's ``version`` first."""
    if version is not None and ignore_booking is None:
        return free_times(db.session(), office, version, service, first, last, now)
    return availability(db.session(), office, service, first, last, now, ignore_booking)


def closures_between(office: Office, first: date, last: date) -> list[Closure]:
    """The office's closures on days from ``first`` to ``last``, for their notes to residents."""
    return sorted(
        (c for c in office.closures if c.first_day <= last and c.last_day >= first),
        key=lambda c: (c.first_day, c.starts or datetime.min.time()),
    )


def month_view(
    office: Office,
    service: Service,
    month: str | None,
    now: datetime,
    ignore_booking: int | None = None,
    not_before: datetime | None = None,
    *,
    version: int | None = None,
) -> dict[str, Any]:
    """The calendar of one month: which days have free times (from ``not_before`` on)."""
    today, last_day = window_days(office, now)
    try:
        first = datetime.strptime(month, "%Y-%m").date() if month else today.replace(day=1)
    except ValueError:
        first = today.replace(day=1)
    first = min(max(first, today.replace(day=1)), last_day.replace(day=1))
    following = (first + timedelta(days=32)).replace(day=1)
    free = free_between(
        office,
        service,
        max(first, today),
        min(following - timedelta(days=1), last_day),
        now,
        ignore_booking,
        version,
    )
    weeks: list[list[date | None]] = []
    week: list[date | None] = [None] * first.weekday()
    day = first
    while day < following:
        week.append(day)
        if len(week) == 7:
            weeks.append(week)
            week = []
        day += timedelta(days=1)
    if week:
        weeks.append(week + [None] * (7 - len(week)))
    return {
        "month": first,
        "weeks": weeks,
        "free_days": {
            d
            for d, starts in free.items()
            if any(not_before is None or s >= not_before for s in starts)
        },
        "previous": (first - timedelta(days=1)).strftime("%Y-%m")
        if first > today.replace(day=1)
        else None,
        "next": following.strftime("%Y-%m") if following <= last_day else None,
        "weekdays": [date(2024, 1, 1) + timedelta(days=i) for i in range(7)],
        "closures": closures_between(office, max(first, today), following - timedelta(days=1)),
    }


def day_starts(
    office: Office,
    service: Service,
    day_text: str,
    now: datetime,
    ignore_booking: int | None = None,
    not_before: datetime | None = None,
    *,
    version: int | None = None,
) -> tuple[date, list[datetime]]:
    """The day a link names and its free starts (from ``not_before`` on); 404 if it is
    no day of the booking window."""
    try:
        day = date.fromisoformat(day_text)
    except ValueError:
        abort(404)
    first_day, last_day = window_days(office, now)
    # No time outside the booking window is ever free, and days at the ends of the
    # calendar overflow in the arithmetic below: such a day is a link no longer valid.
    if not first_day <= day <= last_day:
        abort(404)
    free = free_between(office, service, day, day, now, ignore_booking, version)
    return day, [s for s in free.get(day, []) if not_before is None or s >= not_before]


def is_free(office: Office, service: Service, start: datetime) -> bool:
    """Whether ``start`` can still be booked: a link may be stale, or its time taken since."""
    now = utcnow()
    earliest, latest = booking_window(office, now)
    if not earliest <= start <= latest:
        return False
    day = start.astimezone(ZoneInfo(office.timezone)).date()
    return start in availability(db.session(), office, service, day, day, now)[day]
