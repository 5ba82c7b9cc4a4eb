"""Where a resident's ticket stands, as their phone shows it: place in line, wait, counter.

``places`` works out the whole line of an office at once, by the rule that
``state.place_in_line`` applies to one ticket (``state.places_in_line``), in a fixed
number of queries: on each floor event every open phone of the office wants its
ticket's place, and one computation serves them all (``queueing.ticket_feed``).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from booking.availability import local_today
from booking.models import Office

from .estimate import wait_range
from .models import AT_COUNTER, IN_LINE, Ticket, TicketStatus
from .state import Place, line, line_places

__all__ = ["Place", "office_statuses", "phone_status", "places", "ticket_status"]

# Nothing more happens to a ticket in these states: its phone's stream ends.
FINISHED = (
    TicketStatus.DONE,
    TicketStatus.NO_SHOW,
    TicketStatus.CANCELLED,
    TicketStatus.REFUSED,
)


def places(session: Session, office: Office, now: datetime) -> list[tuple[Ticket, Place]]:
    """Every ticket in today's line of ``office`` with its place (``state.places_in_line``),
    in the line's order."""
    tickets = line(session, office, now)
    if not tickets:
        return []
    return list(zip(tickets, line_places(session, office, tickets, now), strict=True))


def phone_status(ticket: Ticket, place: Place | None, today: date) -> dict[str, Any]:
    """What the resident's phone shows of ``ticket``: nothing about anyone else.

    ``closed`` when nothing more will happen to it (finished, or not today's).
    ``called_at`` is the instant of the latest call or recall, in one fixed ISO form so
    that a later call compares greater as text: the phone alerts once per call by it.
    ``calls`` cannot do that: parking, a transfer or a released seat set it back to 0.
    """
    closed = ticket.status in FINISHED or ticket.day != today
    in_line = ticket.status in IN_LINE and place is not None and not closed
    wait = place.wait if in_line and place is not None else None
    ahead = place.ahead if in_line and place is not None else 0
    at_counter = ticket.status in AT_COUNTER and not closed
    return {
        "ticket": ticket.label,
        "status": ticket.status.value,
        "ahead": ahead,
        "next": in_line and ahead == 0,
        "wait_minutes": None if wait is None else round(wait.total_seconds() / 60),
        "wait_range": None if wait is None else list(wait_range(wait, ahead)),
        "counter": ticket.counter.name if at_counter and ticket.counter else None,
        "calls": ticket.calls,
        "called_at": _instant(ticket.called_at) if at_counter else None,
        "closed": closed,
    }


def _instant(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def ticket_status(session: Session, ticket: Ticket, now: datetime) -> dict[str, Any]:
    """The phone's view of one ticket, now."""
    office = ticket.office
    place = None
    if ticket.status in IN_LINE:
        place = next((p for t, p in places(session, office, now) if t.id == ticket.id), None)
    return phone_status(ticket, place, local_today(office, now))


def office_statuses(session: Session, office: Office, now: datetime) -> dict[int, dict[str, Any]]:
    """The phone's view of every ticket of ``office`` still open today, by id."""
    today = local_today(office, now)
    others = session.scalars(
        select(Ticket)
        .where(
            Ticket.office_id == office.id,
            Ticket.day == today,
            Ticket.status.in_((*AT_COUNTER, TicketStatus.PARKED)),
        )
        .options(selectinload(Ticket.counter))
    ).all()
    result = {ticket.id: phone_status(ticket, None, today) for ticket in others}
    for ticket, place in places(session, office, now):
        result[ticket.id] = phone_status(ticket, place, today)
    return result
