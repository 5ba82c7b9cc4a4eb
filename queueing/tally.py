"""What the reports read, kept as the floor works: the counters at work per local hour,
and per service of the tickets they worked on."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from booking.models import Office

from .models import AuditEntry, CounterHour, CounterServiceHour, Ticket

# What a clerk does at the counter that shows it open in the load report: the floor's
# own actions (queueing/calling.py logs them), and a phone call.
AT_WORK = ("call", "recall", "serve", "finish")
WORK = (*AT_WORK, "phone")


def local_hour(office: Office, moment: datetime) -> int:
    return moment.astimezone(ZoneInfo(office.timezone)).hour


def counter_at_work(session: Session, office: Office, counter_id: int, now: datetime) -> None:
    """Note that ``counter_id`` worked in this hour; once per hour whoever comes first."""
    local = now.astimezone(ZoneInfo(office.timezone))
    row = {
        "office_id": office.id,
        "day": local.date(),
        "hour": local.hour,
        "counter_id": counter_id,
    }
    session.execute(_dialect(session).insert(CounterHour).values(row).on_conflict_do_nothing())


def _dialect(session: Session) -> Any:
    return postgresql if session.get_bind().dialect.name == "postgresql" else sqlite


def _services(ticket: Ticket) -> set[int]:
    """The services a ticket's work counts for: its first and its final (as now)."""
    return {s for s in (ticket.first_service_id, ticket.service_id) if s is not None}


def _worked(session: Session, office: Office, ticket: Ticket) -> set[tuple[int, int]]:
    """The (counter, local hour) pairs of the ticket's work so far, from its audit entries."""
    entries = session.execute(
        select(AuditEntry.counter_id, AuditEntry.at).where(
            AuditEntry.ticket_id == ticket.id,
            AuditEntry.action.in_(WORK),
            AuditEntry.counter_id.is_not(None),
        )
    )
    return {(c, local_hour(office, at)) for c, at in entries if c is not None}


def _add(
    session: Session, office: Office, ticket: Ticket, counter_id: int, hour: int, service_id: int
) -> None:
    row = {
        "office_id": office.id,
        "day": ticket.day,
        "hour": hour,
        "counter_id": counter_id,
        "service_id": service_id,
        "tickets": 1,
    }
    insert = _dialect(session).insert(CounterServiceHour).values(row)
    session.execute(
        insert.on_conflict_do_update(
            index_elements=[c.name for c in CounterServiceHour.__table__.primary_key],
            set_={"tickets": CounterServiceHour.tickets + 1},
        )
    )


def _remove(
    session: Session, office: Office, ticket: Ticket, counter_id: int, hour: int, service_id: int
) -> None:
    key = (
        CounterServiceHour.office_id == office.id,
        CounterServiceHour.day == ticket.day,
        CounterServiceHour.hour == hour,
        CounterServiceHour.counter_id == counter_id,
        CounterServiceHour.service_id == service_id,
    )
    session.execute(
        update(CounterServiceHour)
        .where(*key)
        .values(tickets=CounterServiceHour.tickets - 1)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        delete(CounterServiceHour)
        .where(*key, CounterServiceHour.tickets <= 0)
        .execution_options(synchronize_session=False)
    )


def ticket_at_work(
    session: Session, office: Office, ticket: Ticket, counter_id: int, now: datetime
) -> None:
    """Note that ``counter_id`` works on ``ticket`` now, before its audit entry is added:
    the first time in this hour, the ticket counts once more for its services' rows."""
    hour = local_hour(office, now)
    if (counter_id, hour) in _worked(session, office, ticket):
        return
    for service_id in sorted(_services(ticket)):
        _add(session, office, ticket, counter_id, hour, service_id)


def ticket_moved(session: Session, office: Office, ticket: Ticket, left: int | None) -> None:
    """The ticket has left service ``left`` for its ``service_id``: its work so far now
    counts for the new service instead (but still for its first)."""
    before = {s for s in (ticket.first_service_id, left) if s is not None}
    after = _services(ticket)
    if before == after:
        return
    # In key order, as ``ticket_at_work`` takes its rows: two clerks' transactions then
    # never wait on each other's rows crosswise (a deadlock on PostgreSQL).
    moves = sorted(
        (counter_id, hour, service_id, service_id in after)
        for counter_id, hour in _worked(session, office, ticket)
        for service_id in before ^ after
    )
    for counter_id, hour, service_id, added in moves:
        move = _add if added else _remove
        move(session, office, ticket, counter_id, hour, service_id)
