"""Closing the day: at closing time the tickets still in line are closed with a reason.

Numbering needs nothing: numbers are counted per local day and start again
at 1 the next morning. Tickets left over from an earlier day (the scheduler
was down at closing time) are closed too, even if they were at a counter,
so no counter starts the day held by yesterday's ticket.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from booking.availability import local_today, schedule_for
from booking.models import Office
from booking.slots import opening_intervals

from . import events
from .models import AT_COUNTER, IN_LINE, AuditEntry, Ticket, TicketStatus

REASON = "day closed"
WAITING = (*IN_LINE, TicketStatus.PARKED)


def closing_time(office: Office, now: datetime) -> datetime | None:
    """When the office closes today (UTC); None if it does not open today."""
    today = local_today(office, now)
    intervals = opening_intervals(schedule_for(office, today, today), today)
    return intervals[-1][1] if intervals else None


def close_day(session: Session, office: Office, now: datetime) -> int:
    """Close what is still open after closing time; how many tickets were closed."""
    today = local_today(office, now)
    closes = closing_time(office, now)
    after_close = closes is None or now >= closes
    earlier = and_(Ticket.day < today, Ticket.status.in_((*WAITING, *AT_COUNTER)))
    tonight = and_(Ticket.day == today, Ticket.status.in_(WAITING))
    closed = session.scalars(
        update(Ticket)
        .where(Ticket.office_id == office.id, or_(earlier, tonight) if after_close else earlier)
        .values(status=TicketStatus.CANCELLED, closed_reason=REASON, finished_at=now)
        .returning(Ticket.id)
        .execution_options(synchronize_session=False)
    ).all()
    if not closed:
        return 0
    session.add_all(
        AuditEntry(office_id=office.id, ticket_id=ticket_id, action="day_close", at=now)
        for ticket_id in closed
    )
    # Displays and counter pages refresh their counts.
    events.record(session, office.id, "update", {})
    return len(closed)


def close_all(session: Session, now: datetime) -> int:
    total = 0
    for office in session.scalars(select(Office)).all():
        total += close_day(session, office, now)
        session.commit()
    return total
