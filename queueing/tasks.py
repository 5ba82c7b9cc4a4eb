"""Scheduled work on the floor: no-shows, closing the day and freeing abandoned seats.

Each job looks at the state of the data, and claims a row before it acts, so a
second scheduler started by mistake repeats no work.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, exists, select, update
from sqlalchemy.orm import Session

from booking import ledger
from booking.models import Booking, BookingEventKind, BookingMode, BookingSlot, BookingStatus
from booking.versions import touch
from okienko.database import rows_changed
from okienko.scheduler import job

from .closing import close_all
from .models import Ticket
from .staff import release_stale_seats

NO_SHOW_LOOKBACK = timedelta(days=14)  # a scheduler down for days still marks them


@job("no_shows", every=timedelta(minutes=1))
def mark_no_shows(session: Session, now: datetime, config: Mapping[str, Any]) -> int:
    """Visits not checked in by the end of their check-in window: the rest of the time is freed.

    A floor job: only the floor knows who arrived.
    """
    candidates = session.scalars(
        select(Booking).where(
            Booking.status == BookingStatus.BOOKED,
            Booking.mode == BookingMode.IN_PERSON,
            Booking.starts_at < now,
            Booking.starts_at > now - NO_SHOW_LOOKBACK,
            # Checked in already: nothing to mark (a check-in under way is still caught
            # by the check below, under the booking's lock).
            ~exists().where(Ticket.booking_id == Booking.id),
        )
    ).all()
    late = [
        b.id
        for b in candidates
        if b.starts_at + timedelta(minutes=b.office.checkin_after_minutes) < now
    ]
    offices = {b.id: b.office_id for b in candidates}
    session.commit()
    marked = 0
    for booking_id in late:
        # Lock first, then look for a ticket: a check-in holds this lock until it commits,
        # so its ticket is seen. (An UPDATE ... NOT EXISTS would have judged the ticket
        # table before waiting for the lock, and marked a checked-in visit on PostgreSQL.)
        status = session.scalar(
            select(Booking.status).where(Booking.id == booking_id).with_for_update()
        )
        checked_in = session.scalar(select(exists().where(Ticket.booking_id == booking_id)))
        if status != BookingStatus.BOOKED or checked_in:
            session.commit()
            continue
        changed = rows_changed(
            session.execute(
                update(Booking)
                .where(Booking.id == booking_id, Booking.status == BookingStatus.BOOKED)
                .values(status=BookingStatus.NO_SHOW)
                .execution_options(synchronize_session=False)
            )
        )
        if changed == 1:
            session.execute(
                delete(BookingSlot).where(
                    BookingSlot.booking_id == booking_id, BookingSlot.starts_at >= now
                )
            )
            touch(session, offices[booking_id])  # the rest of its time is free again
            booking = session.get_one(Booking, booking_id)
            ledger.note(session, BookingEventKind.NO_SHOW, booking.office, now, booking=booking)
            marked += 1
        session.commit()
    return marked


@job("day_close", every=timedelta(minutes=5))
def day_close(session: Session, now: datetime, config: Mapping[str, Any]) -> int:
    return close_all(session, now)


@job("seat_leases", every=timedelta(minutes=1))
def seat_leases(session: Session, now: datetime, config: Mapping[str, Any]) -> int:
    """Free the seats whose counter page has gone silent (a browser closed or crashed):
    the called ticket goes back to the line (a phone call to the phone list), and the
    counter to another clerk."""
    return release_stale_seats(session, now, timedelta(minutes=config["SEAT_LEASE_MINUTES"]))
