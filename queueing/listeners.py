"""What the floor does when another feature announces something: the one list of it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from booking.models import Booking
from booking.signals import booking_ended

from .models import IN_LINE, AuditEntry, Ticket, TicketStatus


def close_ticket_of_ended_booking(
    booking: Booking, *, session: Session, reason: str, now: datetime
) -> None:
    """A booking cancelled, refused or moved after an early check-in leaves no ticket in line.

    A refused booking also lets go of its ticket: it may come back as a phone call
    or a later visit, and each gets a ticket of its own. So does a moved one whose
    ticket was still waiting: at its new time it checks in afresh.
    """
    ticket = session.scalar(select(Ticket).where(Ticket.booking_id == booking.id))
    if ticket is None:
        return
    waiting = ticket.status in IN_LINE
    if waiting:
        ticket.status = TicketStatus.CANCELLED
        ticket.closed_reason = f"booking {reason}"
        session.add(
            AuditEntry(office_id=ticket.office_id, ticket_id=ticket.id, action="cancel", at=now)
        )
    if reason == "refused" or (reason == "moved" and waiting):
        ticket.booking_id = None


def connect() -> None:
    """Subscribe the floor's receivers (connecting twice is harmless: blinker keeps one)."""
    booking_ended.connect(close_ticket_of_ended_booking)
