"""Visitors served by day, week or month: appointments against walk-ins, in person against phone.

A visitor served is a ticket that ended ``done``, dated by its office-local ``day`` and
counted for the service it was finally served for. Every bucket of the period is listed,
empty ones too, so the chart's time axis has no gaps.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session

from booking.models import Service
from queueing.models import Ticket, TicketKind, TicketStatus

from .scope import Grain, Period, Scope
from .sql import bucket
from .table import Chart, Column, Report, Table

APPOINTMENT_KINDS = (TicketKind.APPOINTMENT, TicketKind.PHONE)
IN_PERSON_KINDS = (TicketKind.APPOINTMENT, TicketKind.WALK_IN)

TIME_LABELS: dict[Grain, LazyString] = {
    "day": _l("Day"),
    "week": _l("Week"),
    "month": _l("Month"),
}
COUNTS = (
    Column("appointments", _l("Appointments"), "int"),
    Column("walk_ins", _l("Walk-ins"), "int"),
    Column("in_person", _l("In person"), "int"),
    Column("phone", _l("Phone consultations"), "int"),
    Column("total", _l("Total"), "int"),
)


def bucket_start(day: date, grain: Grain) -> date:
    """The first day of ``day``'s bucket, as ``reports.sql.bucket`` computes it in SQL."""
    if grain == "week":
        return day - timedelta(days=day.weekday())
    if grain == "month":
        return day.replace(day=1)
    return day


def buckets(period: Period) -> Iterator[date]:
    """Every bucket that holds a day of ``period``, labelled by its first day (which may
    fall before ``period.first``: such a bucket holds only the period's days)."""
    start = bucket_start(period.first, period.grain)
    while start <= period.last:
        yield start
        if period.grain == "month":
            start = (start.replace(day=28) + timedelta(days=4)).replace(day=1)
        else:
            start += timedelta(days=7 if period.grain == "week" else 1)


def time_column(period: Period) -> Column:
    return Column("period", TIME_LABELS[period.grain], "date")


def as_date(value: Any) -> date:
    """A bucket as the database returns it: a date, or SQLite's ISO text."""
    if isinstance(value, datetime):
        return value.date()
    return value if isinstance(value, date) else date.fromisoformat(value)


def served(scope: Scope, first: date, last: date) -> Select[Any]:
    """Done tickets of the scope's offices (and service) dated ``first``..``last``; the
    caller adds the columns."""
    query = (
        select()
        .select_from(Ticket)
        .where(
            Ticket.office_id.in_(scope.office_ids),
            Ticket.status == TicketStatus.DONE,
            Ticket.day.between(first, last),
        )
    )
    if scope.service_key is not None:
        # Served for its final service: a ticket moved on is the second service's visitor.
        query = query.join(Service, Service.id == Ticket.service_id).where(
            Service.key == scope.service_key
        )
    return query


def _counts() -> list[ColumnElement[int]]:
    kind = Ticket.kind
    return [
        func.count().filter(kind.in_(APPOINTMENT_KINDS)).label("appointments"),
        func.count().filter(kind == TicketKind.WALK_IN).label("walk_ins"),
        func.count().filter(kind.in_(IN_PERSON_KINDS)).label("in_person"),
        func.count().filter(kind == TicketKind.PHONE).label("phone"),
        func.count().label("total"),
    ]


def counts_by_bucket(
    session: Session, query: Select[Any], period: Period, keys: list[str]
) -> list[dict[str, Any]]:
    """One row per bucket of ``period`` from ``query``'s rows of (bucket, *counts in the
    order of ``keys``), with zeros for the buckets the query found nothing in."""
    found = {
        as_date(row[0]): {k: int(n) for k, n in zip(keys, row[1:], strict=True)}
        for row in session.execute(query)
    }
    return [
        {"period": start, **found.get(start, dict.fromkeys(keys, 0))} for start in buckets(period)
    ]


def build(session: Session, scope: Scope, period: Period, *, locale: str, now: datetime) -> Report:
    when = bucket(Ticket.day.expression, period.grain)
    query = served(scope, period.first, period.last).add_columns(when, *_counts()).group_by(when)
    keys = [c.key for c in COUNTS]
    rows = counts_by_bucket(session, query, period, keys)
    totals: dict[str, Any] = {k: sum(row[k] for row in rows) for k in keys}
    return Report(
        name="visitors",
        title=_l("Visitors served"),
        tables=[
            Table(
                key="by_time",
                title=_l("Visitors served over time"),
                columns=[time_column(period), *COUNTS],
                rows=rows,
                chart=Chart("stacked", "period", ("appointments", "walk_ins")),
            ),
            Table(
                key="totals",
                title=_l("Visitors served in the period"),
                columns=list(COUNTS),
                rows=[totals],
            ),
        ],
    )
