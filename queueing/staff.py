"""Clerks' accounts and seats, as the commands, the administration and the floor change them.

A seat is a lease: the open counter page renews it (``keep_seat``); one not renewed
for the lease is freed by the ``seat_leases`` job (``release_stale_seats``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.orm import Session

from booking.models import Counter, Office
from okienko.database import db, rows_changed

from . import calling, events
from .access import hash_password
from .models import (
    AT_COUNTER,
    IN_LINE,
    AuditEntry,
    StaffUser,
    Ticket,
    TicketKind,
    TicketStatus,
    holds_counter,
)
from .state import ticket_event


def upsert_staff(office: Office, username: str, name: str, password: str) -> StaffUser:
    """The active account ``username`` at ``office``, created or reset to this password
    (in the app's session, as ``office`` is)."""
    user = db.session.scalar(select(StaffUser).where(StaffUser.username == username))
    if user is None:
        user = StaffUser(username=username, office_id=office.id, active=True)
        db.session.add(user)
    user.name, user.office_id, user.active = name, office.id, True
    user.password_hash = hash_password(password)
    return user


def release_counter(session: Session, user: StaffUser, now: datetime) -> str | None:
    """Free the clerk's counter; a ticket still held there is parked, not lost, and a phone
    consultation goes back to the counters' phone list. The parked ticket's label, if any."""
    parked = None
    if user.counter is not None:
        ticket = calling.current_ticket(session, user.counter)
        if ticket is not None and ticket.kind == TicketKind.PHONE:
            calling.drop_phone_call(session, user, ticket, now)
        elif ticket is not None:
            calling.park(session, user, ticket, now)
            parked = ticket.label
        send_to_any_counter(session, user.counter.id)
    user.counter_id = None
    return parked


def send_to_any_counter(session: Session, counter_id: int) -> None:
    """Tickets sent on to the freed counter by name go to their service's line: with nobody
    there, only that counter could have called them."""
    session.execute(
        update(Ticket)
        .where(Ticket.target_counter_id == counter_id, Ticket.status.in_(IN_LINE))
        .values(target_counter_id=None)
        .execution_options(synchronize_session=False)
    )


def keep_seat(session: Session, user: StaffUser, now: datetime) -> bool:
    """Renew the clerk's lease on their seat; False if they hold none (any more)."""
    return (
        rows_changed(
            session.execute(
                update(StaffUser)
                .where(StaffUser.id == user.id, StaffUser.counter_id.is_not(None))
                .values(seat_seen_at=now)
                .execution_options(synchronize_session=False)
            )
        )
        == 1
    )


def stale_seats(session: Session, cutoff: datetime) -> list[tuple[int, int]]:
    """(clerk, counter) of the seats not renewed since ``cutoff``."""
    rows = session.execute(
        select(StaffUser.id, StaffUser.counter_id).where(
            StaffUser.counter_id.is_not(None), _not_seen_since(cutoff)
        )
    )
    return [(user_id, counter_id) for user_id, counter_id in rows if counter_id is not None]


def _not_seen_since(cutoff: datetime) -> ColumnElement[bool]:
    return or_(StaffUser.seat_seen_at.is_(None), StaffUser.seat_seen_at < cutoff)


def release_stale_seat(
    session: Session, user_id: int, counter_id: int, now: datetime, lease: timedelta
) -> bool:
    """Free the seat of a clerk whose page has been silent for ``lease``; True if this
    call freed it (not a heartbeat, a logout or another scheduler first).

    The counter is locked first, as a clerk's action locks it, so its ticket is not
    finished and put back in line at once; the seat is then claimed by a conditional
    UPDATE, so nothing is released twice. The ticket goes back to the line with its
    ``queued_at``: at its old place, ahead of those who came after it; a phone
    consultation goes back to the counters' phone list instead.
    """
    counter = session.scalar(select(Counter).where(Counter.id == counter_id).with_for_update())
    claimed = rows_changed(
        session.execute(
            update(StaffUser)
            .where(
                StaffUser.id == user_id,
                StaffUser.counter_id == counter_id,
                _not_seen_since(now - lease),
            )
            .values(counter_id=None, seat_seen_at=None)
            .execution_options(synchronize_session=False)
        )
    )
    if claimed != 1 or counter is None:
        return False
    ticket = session.scalar(select(Ticket).where(Ticket.counter_id == counter_id, holds_counter()))
    held = ticket.status.value if ticket is not None else None
    detail: dict[str, Any] = {}
    if ticket is not None:
        if ticket.kind == TicketKind.PHONE:
            detail["booking"] = ticket.booking_id
        back = update(Ticket).where(Ticket.id == ticket.id, Ticket.status.in_(AT_COUNTER))
        back = back.values(_freed(ticket, now))
        if rows_changed(session.execute(back.execution_options(synchronize_session=False))):
            session.refresh(ticket)
        else:
            ticket = held = None  # closed meanwhile (the day's close)
            detail = {}
    send_to_any_counter(session, counter_id)
    session.add(
        AuditEntry(
            office_id=counter.office_id,
            staff_id=user_id,  # whose seat: the clerk did nothing, their lease ran out
            counter_id=counter_id,
            ticket_id=ticket.id if ticket is not None else None,
            action="released",
            detail={"held": held, "lease_minutes": round(lease.total_seconds() / 60), **detail},
            at=now,
        )
    )
    # One counter fewer open, and maybe one more in line: displays and counter pages follow.
    events.record(
        session, counter.office_id, "update", ticket_event(ticket) if ticket is not None else {}
    )
    return True


def _freed(ticket: Ticket, now: datetime) -> dict[str, Any]:
    """What the ticket held at a freed counter becomes: back in line as it was in line (sent
    on from another line: still marked so), with calls=0 as after parking (a no-show
    counts the calls of the next turn); a phone consultation ends, for a call back."""
    if ticket.kind == TicketKind.PHONE:
        return calling.phone_call_dropped(now)
    status = TicketStatus.TRANSFERRED if ticket.transfers else TicketStatus.WAITING
    return {"status": status, "counter_id": None, "target_counter_id": None, "calls": 0}


def release_stale_seats(session: Session, now: datetime, lease: timedelta) -> int:
    """Free every seat not renewed within ``lease``, each in a transaction of its own."""
    seats = stale_seats(session, now - lease)
    session.commit()
    released = 0
    for user_id, counter_id in seats:
        released += release_stale_seat(session, user_id, counter_id, now, lease)
        session.commit()
    return released
