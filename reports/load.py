"""Load: arrivals per hour of the day against the counters open then, and the peak hours.

Arrivals are the tickets of visitors in person (appointments checked in and walk-ins),
by the office-local hour they joined the line. An open day is a local date on which
anyone arrived in person (at any office in scope); the per-day figures average over the
open days of the period. A counter is open in an hour of an open day when it called,
served or finished someone then (phone consultations included: the clerk is at the
counter), from the summary the floor keeps (``CounterHour``). For one service it counts
only the counters that worked then on a ticket of the service's line (its first service)
or of its own (its final service), that ticket's day being the open day: from the
summary ``CounterServiceHour``, kept by the floor as the audit log would tell it.

One grouped read of the tickets by day and hour gives the open days, the arrivals per
weekday and per hour; one of the summary by day and hour gives the counters.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from queueing.models import CounterHour, CounterServiceHour, Ticket, TicketKind

from .scope import Period, Scope
from .table import Chart, Column, Report, Table
from .waiting import services_of, tickets_in

IN_PERSON = (TicketKind.APPOINTMENT, TicketKind.WALK_IN)
PEAKS = 3


def _per(part: float, whole: float) -> float | None:
    return round(part / whole, 1) if whole else None


def _arrived(scope: Scope, period: Period) -> list[ColumnElement[bool]]:
    return [*tickets_in(scope, period, Ticket.first_service_id), Ticket.kind.in_(IN_PERSON)]


def _arrivals(session: Session, scope: Scope, period: Period) -> dict[tuple[date, int | None], int]:
    """Arrivals per (day, local hour): a few thousand rows, from which the open days and
    the counts by weekday and by hour follow without another pass over the tickets."""
    rows = session.execute(
        select(Ticket.day, Ticket.issued_hour, func.count())
        .where(*_arrived(scope, period))
        .group_by(Ticket.day, Ticket.issued_hour)
    )
    return {(d, h): n for d, h, n in rows}


def _counters_by_hour(
    session: Session, scope: Scope, period: Period, open_days: set[date]
) -> dict[int, int]:
    """Per local hour: the (open day, counter) pairs with a clerk at work in that hour.

    An open day is a date, whichever office in scope had it open."""
    summary: Any = CounterHour
    where = [CounterHour.office_id.in_(scope.office_ids)]
    if scope.service_key is not None:
        # One row per (day, hour, counter) still: a counter serves one office, which has
        # one service of the key (a ticket's first and final service are both that one
        # when both count).
        summary = CounterServiceHour
        where = [
            CounterServiceHour.office_id.in_(scope.office_ids),
            CounterServiceHour.service_id.in_(services_of(scope)),
        ]
    rows = session.execute(
        select(summary.day, summary.hour, func.count())
        .where(*where, summary.day.between(period.first, period.last))
        .group_by(summary.day, summary.hour)
    )
    by_hour: Counter[int] = Counter()
    for day, hour, n in rows:
        if day in open_days:
            by_hour[hour] += n
    return dict(by_hour)


def _by_weekday(arrivals: dict[tuple[date, int | None], int]) -> list[dict[str, Any]]:
    days: Counter[int] = Counter(d.weekday() for d in {d for d, _ in arrivals})
    counts: Counter[int] = Counter()
    for (d, _), n in arrivals.items():
        counts[d.weekday()] += n
    return [
        {
            "weekday": w,
            "open_days": days[w],
            "arrivals": counts[w],
            "arrivals_per_day": _per(counts[w], days[w]),
        }
        for w in sorted(days)
    ]


def _by_hour(
    arrivals: dict[tuple[date, int | None], int], counters: dict[int, int], open_days: int
) -> list[dict[str, Any]]:
    by_hour: Counter[int] = Counter()
    for (_, h), n in arrivals.items():
        if h is not None:  # every ticket has its hour since it was issued (or migrated)
            by_hour[h] += n
    return [
        {
            "hour": h,
            "open_days": open_days,
            "arrivals": by_hour[h],
            "arrivals_per_day": _per(by_hour[h], open_days),
            "counters_open": _per(counters.get(h, 0), open_days),
            # = arrivals per day / counters open per day, unrounded
            "arrivals_per_counter": _per(by_hour[h], counters.get(h, 0)),
        }
        for h in sorted(by_hour.keys() | counters.keys())
    ]


HOUR = Column("hour", _l("Hour"), "hour")
OPEN_DAYS = Column("open_days", _l("Open days"), "int")
ARRIVALS = Column("arrivals", _l("Arrivals"), "int")
PER_DAY = Column("arrivals_per_day", _l("Arrivals per day"), "number")


def build(session: Session, scope: Scope, period: Period, *, locale: str, now: datetime) -> Report:
    """Arrivals and counters open by hour, arrivals by weekday, and the peak hours."""
    arrivals = _arrivals(session, scope, period)
    open_days = {d for d, _ in arrivals}
    weekdays = _by_weekday(arrivals)
    counters = _counters_by_hour(session, scope, period, open_days)
    hours = _by_hour(arrivals, counters, len(open_days))
    # Ranked on the counts: the same open days divide every hour.
    busiest = sorted((r for r in hours if r["arrivals"]), key=lambda r: (-r["arrivals"], r["hour"]))
    return Report(
        "load",
        _l("Load"),
        [
            Table(
                "by_hour",
                _l("By hour of the day"),
                [
                    HOUR,
                    OPEN_DAYS,
                    ARRIVALS,
                    PER_DAY,
                    Column("counters_open", _l("Counters open"), "number"),
                    Column("arrivals_per_counter", _l("Arrivals per counter"), "number"),
                ],
                hours,
                Chart("bar", "hour", ("arrivals_per_day", "counters_open")),
            ),
            Table(
                "by_weekday",
                _l("By weekday"),
                [Column("weekday", _l("Weekday"), "weekday"), OPEN_DAYS, ARRIVALS, PER_DAY],
                weekdays,
                Chart("bar", "weekday", ("arrivals_per_day",)),
            ),
            Table(
                "peaks",
                _l("Peak hours"),
                [HOUR, PER_DAY],
                [
                    {"hour": r["hour"], "arrivals_per_day": r["arrivals_per_day"]}
                    for r in busiest[:PEAKS]
                ],
            ),
        ],
    )
