"""What the floor looks like now: the line, a ticket's place in it, the display's state."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from booking.models import Booking, BookingStatus, Counter, Office, Service

from .dispatch import Waiting, eligible, order
from .estimate import estimated_wait, handling_time
from .models import IN_LINE, StaffUser, Ticket, TicketStatus

RECENT_CALLS = 8


def today(office: Office, now: datetime):
    return now.astimezone(ZoneInfo(office.timezone)).date()


def as_waiting(ticket: Ticket) -> Waiting:
    return Waiting(
        id=ticket.id,
        service_id=ticket.service_id,
        queued_at=ticket.queued_at,
        issued_at=ticket.issued_at,
        appointment=ticket.booking_id is not None,
        urgent=ticket.urgent,
        target_counter_id=ticket.target_counter_id,
    )


def line(session: Session, office: Office, now: datetime) -> list[Ticket]:
    """Today's tickets waiting for a counter, in the order they will be called."""
    tickets = session.scalars(
        select(Ticket).where(
            Ticket.office_id == office.id,
            Ticket.day == today(office, now),
            Ticket.status.in_(IN_LINE),
        )
    ).all()
    by_id = {t.id: t for t in tickets}
    return [by_id[w.id] for w in order(as_waiting(t) for t in tickets)]


def open_counters(session: Session, office: Office) -> list[Counter]:
    """Counters a clerk is signed in at."""
    return list(
        session.scalars(
            select(Counter)
            .join(StaffUser, StaffUser.counter_id == Counter.id)
            .where(Counter.office_id == office.id)
        )
    )


def recent_handling(session: Session, service: Service, limit: int = 20) -> list[timedelta]:
    rows = session.execute(
        select(Ticket.serving_at, Ticket.finished_at)
        .where(
            Ticket.service_id == service.id,
            Ticket.status == TicketStatus.DONE,
            Ticket.serving_at.is_not(None),
        )
        .order_by(Ticket.finished_at.desc())
        .limit(limit)
    )
    return [end - start for start, end in rows if end and start]


def place_in_line(session: Session, ticket: Ticket, now: datetime) -> dict[str, Any]:
    """How many are ahead of ``ticket`` and the estimated wait, for the kiosk and the phone."""
    office = ticket.office
    ahead = 0
    counters = [c for c in open_counters(session, office) if ticket.service in c.services]
    if ticket.status in IN_LINE:
        waiting = line(session, office, now)
        for other in waiting:
            if other.id == ticket.id:
                break
            if any(eligible(as_waiting(other), c.id, {s.id for s in c.services}) for c in counters):
                ahead += 1
    handling = handling_time(
        recent_handling(session, ticket.service),
        timedelta(minutes=ticket.service.duration_minutes),
    )
    upcoming = session.scalars(
        select(Booking.starts_at).where(
            Booking.service_id == ticket.service_id,
            Booking.status == BookingStatus.BOOKED,
            Booking.starts_at > now,
            Booking.starts_at < now + timedelta(hours=4),
            # Checked in already: in line (or served), not a visit still to come.
            ~select(Ticket.id).where(Ticket.booking_id == Booking.id).exists(),
        )
    ).all()
    wait = (
        estimated_wait(ahead, handling, len(counters), now, upcoming)
        if ticket.status in IN_LINE
        else timedelta(0)
    )
    return {
        "ticket": ticket.label,
        "status": ticket.status.value,
        "ahead": ahead,
        "wait_minutes": None if wait is None else round(wait.total_seconds() / 60),
        "counter": ticket.counter.name if ticket.counter else None,
    }


def waiting_counts(session: Session, office: Office, now: datetime) -> list[dict[str, Any]]:
    """Per service: how many wait, and about how long a newcomer would wait now."""
    tickets = line(session, office, now)
    counters = open_counters(session, office)
    result = []
    for service in office.services:
        if not (service.walk_in or service.bookable_online):
            continue
        waiting = sum(1 for t in tickets if t.service_id == service.id)
        handling = handling_time(
            recent_handling(session, service), timedelta(minutes=service.duration_minutes)
        )
        serving = sum(1 for c in counters if service in c.services)
        wait = estimated_wait(waiting, handling, serving, now)
        result.append(
            {
                "service": service.key,
                "names": service.names,
                "prefix": service.prefix,
                "waiting": waiting,
                "wait_minutes": None if wait is None else round(wait.total_seconds() / 60),
            }
        )
    return result


def call_payload(ticket: Ticket) -> dict[str, Any]:
    return {
        "ticket_id": ticket.id,
        "ticket": ticket.label,
        "counter": ticket.counter.name if ticket.counter else None,
        "counter_id": ticket.counter_id,
        "service": ticket.service.key,
        "at": (ticket.called_at or ticket.issued_at).isoformat(),
    }


def ticket_event(session: Session, ticket: Ticket) -> dict[str, Any]:
    """The payload of an event about ``ticket``: the ticket and the new counts."""
    now = ticket.called_at or ticket.issued_at
    return {
        **call_payload(ticket),
        "status": ticket.status.value,
        "waiting": waiting_counts(session, ticket.office, now),
    }


def display_state(session: Session, office: Office, now: datetime) -> dict[str, Any]:
    """Everything a lobby display shows, for its first event and the polling fallback."""
    calls = session.scalars(
        select(Ticket)
        .where(
            Ticket.office_id == office.id,
            Ticket.day == today(office, now),
            Ticket.called_at.is_not(None),
        )
        .order_by(Ticket.called_at.desc())
        .limit(RECENT_CALLS)
    ).all()
    return {
        "office": office.name,
        "language": office.language,
        "calls": [call_payload(t) | {"status": t.status.value} for t in calls],
        "waiting": waiting_counts(session, office, now),
        "notices": office.notices,
    }
