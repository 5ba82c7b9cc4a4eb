"""Today, live: one office's floor at this moment.

Who waits now in each service's line and for how long the longest has waited, which
counters are open (a clerk signed in), busy (a ticket called or served there) or idle,
and how many calls the last hour saw. The page recomputes it on every floor event.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from booking.availability import local_today
from booking.models import Counter, Office
from queueing.models import IN_LINE, AuditEntry, StaffUser, Ticket, holds_counter

from .table import Chart, Column, Report, Table

CALLS = ("call", "recall")  # the audit's actions that call a resident to a counter
HOUR = timedelta(hours=1)

BUSY = _l("busy")
IDLE = _l("idle")
CLOSED = _l("closed")


def minutes_since(earlier: datetime | None, now: datetime) -> float | None:
    if earlier is None:
        return None
    return round(max((now - earlier).total_seconds(), 0.0) / 60, 1)


def in_line(session: Session, office: Office, now: datetime) -> dict[int, tuple[int, datetime]]:
    """Per service: today's tickets in its line, and when the first of them arrived."""
    rows = session.execute(
        select(Ticket.service_id, func.count(), func.min(Ticket.issued_at))
        .where(
            Ticket.office_id == office.id,
            Ticket.day == local_today(office, now),
            Ticket.status.in_(IN_LINE),
        )
        .group_by(Ticket.service_id)
    )
    return {service_id: (count, oldest) for service_id, count, oldest in rows}


def counter_states(session: Session, office: Office) -> list[tuple[Counter, bool, bool]]:
    """Each working counter with whether it is open and whether it is busy.

    Busy counts only open counters, so that idle (open less busy) is never negative.
    A ticket left at a counter by another day still holds it, so it counts whatever its day.
    """
    counters = [c for c in office.counters if c.retired_at is None]
    ids = [c.id for c in counters]
    seated = set(session.scalars(select(StaffUser.counter_id).where(StaffUser.counter_id.in_(ids))))
    holding = set(
        session.scalars(
            select(Ticket.counter_id).where(Ticket.counter_id.in_(ids), holds_counter())
        )
    )
    return [(c, c.id in seated, c.id in seated and c.id in holding) for c in counters]


def calls_since(session: Session, office: Office, since: datetime, now: datetime) -> int:
    """Calls and recalls at the office's counters from ``since`` to ``now``.

    By counter (every call has one), removed counters too: the (counter, at) index then
    reads only the last hour, where the office's whole audit would be scanned.
    """
    return (
        session.scalar(
            select(func.count()).where(
                AuditEntry.counter_id.in_([c.id for c in office.counters]),
                AuditEntry.at >= since,
                AuditEntry.at <= now,
                AuditEntry.action.in_(CALLS),
            )
        )
        or 0
    )


def today(session: Session, office: Office, now: datetime, locale: str) -> Report:
    """The office's floor at ``now``: a summary, the lines by service, the counters."""
    lines = in_line(session, office, now)
    by_service = []
    for service in office.services:
        count, first = lines.get(service.id, (0, None))
        by_service.append(
            {
                "service": service.name(locale) or service.key,
                "waiting": count,
                "longest_wait": minutes_since(first, now),
            }
        )
    states = counter_states(session, office)
    opened = sum(1 for _c, is_open, _busy in states if is_open)
    busy = sum(1 for _c, _open, is_busy in states if is_busy)
    oldest = min((first for _count, first in lines.values()), default=None)
    summary = {
        "waiting": sum(count for count, _first in lines.values()),
        "longest_wait": minutes_since(oldest, now),
        "counters_open": opened,
        "counters_busy": busy,
        "counters_idle": opened - busy,
        "calls_last_hour": calls_since(session, office, now - HOUR, now),
    }
    with force_locale(locale):
        by_counter = [
            {"counter": c.name, "state": str(BUSY if is_busy else IDLE if is_open else CLOSED)}
            for c, is_open, is_busy in states
        ]
    return Report(
        name="today",
        title=_l("Today, live"),
        tables=[
            Table(
                "now",
                _l("Now"),
                [
                    Column("waiting", _l("Waiting"), "int"),
                    Column("longest_wait", _l("Longest wait (min)"), "minutes"),
                    Column("counters_open", _l("Counters open"), "int"),
                    Column("counters_busy", _l("Counters busy"), "int"),
                    Column("counters_idle", _l("Counters idle"), "int"),
                    Column("calls_last_hour", _l("Calls in the last hour"), "int"),
                ],
                [summary],
            ),
            Table(
                "by_service",
                _l("Waiting by service"),
                [
                    Column("service", _l("Service"), "text"),
                    Column("waiting", _l("Waiting"), "int"),
                    Column("longest_wait", _l("Longest wait (min)"), "minutes"),
                ],
                by_service,
                Chart("bar", "service", ("waiting",)),
            ),
            Table(
                "by_counter",
                _l("Counters"),
                [Column("counter", _l("Counter"), "text"), Column("state", _l("State"), "text")],
                by_counter,
            ),
        ],
    )
