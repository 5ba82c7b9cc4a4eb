"""Where a resident's ticket stands, as their phone shows it: place in line, wait, counter.

``places`` works out the whole line of an office at once, with the same figures as
``state.place_in_line`` gives one ticket, in a fixed number of queries: on each floor
event every open phone of the office wants its ticket's place, and one computation
serves them all (``queueing.ticket_feed``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from booking.availability import local_today
from booking.models import Booking, BookingStatus, Counter, Office

from .estimate import estimated_wait, handling_time, wait_range
from .models import AT_COUNTER, IN_LINE, StaffUser, Ticket, TicketStatus
from .priority import eligible
from .state import as_waiting, line, recent_handling_by_service

# Nothing more happens to a ticket in these states: its phone's stream ends.
FINISHED = (
    TicketStatus.DONE,
    TicketStatus.NO_SHOW,
    TicketStatus.CANCELLED,
    TicketStatus.REFUSED,
)


@dataclass(frozen=True)
class Place:
    ahead: int
    wait: timedelta | None  # None: no open counter serves the ticket's service


def places(session: Session, office: Office, now: datetime) -> list[tuple[Ticket, Place]]:
    """Every ticket in today's line of ``office`` with its place, in the line's order.

    ``ahead`` counts the tickets before it that the open counters serving its
    service would also take. With no such counter open it counts those of the same
    service: "first in line for its service" still means something then.
    """
    tickets = line(session, office, now)
    if not tickets:
        return []
    counters = session.scalars(
        select(Counter)
        .join(StaffUser, StaffUser.counter_id == Counter.id)
        .where(Counter.office_id == office.id)
        .options(selectinload(Counter.services))
    ).all()
    offered = {c.id: {s.id for s in c.services} for c in counters}
    services = {t.service_id: t.service for t in tickets}
    serving = {sid: [c.id for c in counters if sid in offered[c.id]] for sid in services}
    handled = recent_handling_by_service(session, list(services))
    visits = _visits(session, office, now, max(t.queued_at for t in tickets))
    result: list[tuple[Ticket, Place]] = []
    taken = dict.fromkeys(services, 0)  # per service: tickets so far its counters would take
    same = dict.fromkeys(services, 0)  # per service: tickets so far of that service
    for ticket in tickets:
        sid = ticket.service_id
        service = services[sid]
        ahead = taken[sid] if serving[sid] else same[sid]
        handling = handling_time(handled.get(sid, []), timedelta(minutes=service.duration_minutes))
        # Booked visits whose slot began before this ticket joined the line go first.
        before = [start for start in visits.get(sid, []) if start < ticket.queued_at]
        wait = estimated_wait(ahead, handling, len(serving[sid]), now, before)
        result.append((ticket, Place(ahead, wait)))
        waiting = as_waiting(ticket)
        same[sid] += 1
        for other, ids in serving.items():
            if any(eligible(waiting, cid, offered[cid]) for cid in ids):
                taken[other] += 1
    return result


def _visits(
    session: Session, office: Office, now: datetime, until: datetime
) -> dict[int, list[datetime]]:
    """Per service, booked visits not checked in that may still check in, starting before
    ``until``: each overtakes the tickets that joined the line after its slot began."""
    rows = session.execute(
        select(Booking.service_id, Booking.starts_at).where(
            Booking.office_id == office.id,
            Booking.status == BookingStatus.BOOKED,
            Booking.starts_at < until,
            Booking.starts_at >= now - timedelta(minutes=office.checkin_after_minutes),
            ~select(Ticket.id).where(Ticket.booking_id == Booking.id).exists(),
        )
    )
    result: dict[int, list[datetime]] = {}
    for service_id, start in rows:
        result.setdefault(service_id, []).append(start)
    return result


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
