"""Load: arrivals per hour of the day against the counters open then, and the peak hours.

Arrivals are the tickets of visitors in person (appointments checked in and walk-ins),
by the office-local hour they joined the line. An open day is a local date on which
anyone arrived in person; the per-day figures average over the open days of the
period. A counter is open in an hour of a day when it called, served or finished
someone then (phone consultations included: the clerk is at the counter).
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, Select, distinct, func, or_, select
from sqlalchemy.orm import Session

from booking.models import Office
from queueing.models import AuditEntry, CounterHour, Ticket, TicketKind

from .scope import Period, Scope
from .sql import local_hour, weekday
from .table import Chart, Column, Report, Table
from .waiting import services_of, tickets_in

IN_PERSON = (TicketKind.APPOINTMENT, TicketKind.WALK_IN)
WORK = ("call", "recall", "serve", "finish", "phone")  # a clerk at the counter
PEAKS = 3


def _per(part: float, whole: float) -> float | None:
    return round(part / whole, 1) if whole else None


def _arrived(scope: Scope, period: Period) -> list[ColumnElement[bool]]:
    return [*tickets_in(scope, period, Ticket.first_service_id), Ticket.kind.in_(IN_PERSON)]


def _open_days(scope: Scope, period: Period) -> Select[Any]:
    return select(Ticket.day).where(*_arrived(scope, period)).distinct()


def _counters_by_hour(session: Session, scope: Scope, period: Period) -> dict[int, int]:
    """Per local hour: the (open day, counter) pairs with a clerk at work in that hour,
    from the summary the floor keeps (``CounterHour``)."""
    if scope.service_key is not None:
        return _service_counters_by_hour(session, scope, period)
    rows = session.execute(
        select(CounterHour.hour, func.count())
        .where(
            CounterHour.office_id.in_(scope.office_ids),
            CounterHour.day.in_(_open_days(scope, period)),
        )
        .group_by(CounterHour.hour)
    )
    return {h: n for h, n in rows}


def _service_counters_by_hour(session: Session, scope: Scope, period: Period) -> dict[int, int]:
    """As ``_counters_by_hour``, counting only work on the service's tickets: from the
    audit log, as the summary does not say whose ticket a counter worked on."""
    hour = local_hour(AuditEntry.at, Office.timezone).label("hour")
    work = [
        AuditEntry.office_id.in_(scope.office_ids),
        AuditEntry.action.in_(WORK),
        AuditEntry.counter_id.is_not(None),
        # A coarse bound on the instant for the index; the ticket's day decides.
        AuditEntry.at >= datetime.combine(period.first - timedelta(days=1), time(), UTC),
        AuditEntry.at < datetime.combine(period.last + timedelta(days=2), time(), UTC),
        Ticket.office_id.in_(scope.office_ids),
        Ticket.day.in_(_open_days(scope, period)),
    ]
    if scope.service_key is not None:
        # The counters that worked on the service's tickets: its line's or its own.
        services = services_of(scope)
        work.append(or_(Ticket.first_service_id.in_(services), Ticket.service_id.in_(services)))
    pairs = (
        select(hour, Ticket.day, AuditEntry.counter_id)
        .join(Ticket, Ticket.id == AuditEntry.ticket_id)
        .join(Office, Office.id == AuditEntry.office_id)
        .where(*work)
        .distinct()
        .subquery()
    )
    rows = session.execute(select(pairs.c.hour, func.count()).group_by(pairs.c.hour))
    return {h: n for h, n in rows}


def _by_weekday(session: Session, scope: Scope, period: Period) -> list[dict[str, Any]]:
    day = weekday(Ticket.day).label("weekday")
    rows = session.execute(
        select(day, func.count(distinct(Ticket.day)), func.count())
        .where(*_arrived(scope, period))
        .group_by(day)
        .order_by(day)
    )
    return [
        {"weekday": d, "open_days": days, "arrivals": n, "arrivals_per_day": _per(n, days)}
        for d, days, n in rows
    ]


def _by_hour(
    session: Session, scope: Scope, period: Period, open_days: int
) -> list[dict[str, Any]]:
    hour = Ticket.issued_hour.label("hour")
    arrivals: dict[int, int] = {
        h: n
        for h, n in session.execute(
            select(hour, func.count()).where(*_arrived(scope, period)).group_by(hour)
        )
        if h is not None  # every ticket has its hour since it was issued (or migrated)
    }
    counters = _counters_by_hour(session, scope, period)
    return [
        {
            "hour": h,
            "open_days": open_days,
            "arrivals": arrivals.get(h, 0),
            "arrivals_per_day": _per(arrivals.get(h, 0), open_days),
            "counters_open": _per(counters.get(h, 0), open_days),
            # = arrivals per day / counters open per day, unrounded
            "arrivals_per_counter": _per(arrivals.get(h, 0), counters.get(h, 0)),
        }
        for h in sorted(arrivals.keys() | counters.keys())
    ]


HOUR = Column("hour", _l("Hour"), "hour")
OPEN_DAYS = Column("open_days", _l("Open days"), "int")
ARRIVALS = Column("arrivals", _l("Arrivals"), "int")
PER_DAY = Column("arrivals_per_day", _l("Arrivals per day"), "number")


def build(session: Session, scope: Scope, period: Period, *, locale: str, now: datetime) -> Report:
    """Arrivals and counters open by hour, arrivals by weekday, and the peak hours."""
    weekdays = _by_weekday(session, scope, period)
    open_days = sum(row["open_days"] for row in weekdays)  # each date has one weekday
    hours = _by_hour(session, scope, period, open_days)
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
