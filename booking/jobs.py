"""Scheduled work on bookings: reminders, no-shows, retention, mail retries.

Each job claims its rows with a conditional UPDATE before it acts (a reminder:
set ``reminder_sent_at`` where it is still empty), so two scheduler processes
started by mistake still do each piece of work once. Each looks at the state
of the data, not at when it last ran, so a run missed while the scheduler was
down is made up by the next one.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, exists, select, update
from sqlalchemy.orm import Session

from . import admission, notifications, outbox
from .codes import hash_token, new_token
from .models import (
    Booking,
    BookingMode,
    BookingSlot,
    BookingStatus,
    BookingToken,
    QueuedMail,
)

BATCH = 500
NO_SHOW_LOOKBACK = timedelta(days=14)  # a scheduler down for days still marks them
log = logging.getLogger(__name__)


def reminder_due(booking: Booking) -> datetime:
    """The office's reminder time, local, on the day before the visit."""
    office = booking.office
    zone = ZoneInfo(office.timezone)
    day_before = booking.starts_at.astimezone(zone).date() - timedelta(days=1)
    return datetime.combine(day_before, office.reminder_time or time(16), zone)


def due_reminders(session: Session, now: datetime) -> list[tuple[int, datetime]]:
    """Bookings whose reminder time has come and that have none yet.

    A booking made after its reminder time (on the evening before) gets none:
    its confirmation has just arrived.
    """
    candidates = session.scalars(
        select(Booking).where(
            Booking.status == BookingStatus.BOOKED,
            Booking.reminder_sent_at.is_(None),
            Booking.email.is_not(None),
            Booking.starts_at > now,
            Booking.starts_at < now + timedelta(days=2),
        )
    ).all()
    due = [
        (b.id, b.starts_at)
        for b in candidates
        if reminder_due(b) <= now < visit_day_start(b) and b.created_at < reminder_due(b)
    ]
    session.commit()
    return due


def visit_day_start(booking: Booking) -> datetime:
    """Local midnight before the visit: from then on a reminder would say "tomorrow" wrongly."""
    zone = ZoneInfo(booking.office.timezone)
    return datetime.combine(booking.starts_at.astimezone(zone).date(), time(0), zone)


def send_reminders(session: Session, now: datetime, config: Mapping[str, Any]) -> int:
    """Remind every booking whose reminder time has come, once; how many were queued."""
    queued = []
    for booking_id, starts_at in due_reminders(session, now):
        claimed = session.execute(
            update(Booking)
            .where(
                Booking.id == booking_id,
                Booking.reminder_sent_at.is_(None),
                Booking.status == BookingStatus.BOOKED,
                Booking.starts_at == starts_at,  # not moved since it was listed
            )
            .values(reminder_sent_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        if claimed != 1:  # another scheduler was first, or the booking changed meanwhile
            session.rollback()
            continue
        try:
            booking = session.get(Booking, booking_id)
            assert booking is not None
            message = notifications.reminder_message(session, booking, now)
            queued.append(outbox.enqueue(session, message, now, booking.office_id, booking.id).id)
            session.commit()  # the claim and the queued mail together, or neither
        except Exception:
            # One booking that cannot be rendered must not hold up the others' reminders.
            session.rollback()
            log.exception("reminder for booking %s not queued", booking_id)
    for mail_id in queued:
        outbox.send(session, mail_id, config)
    return len(queued)


def mark_no_shows(session: Session, now: datetime) -> int:
    """Visits not checked in by the end of their check-in window: the rest of the time is freed."""
    candidates = session.scalars(
        select(Booking).where(
            Booking.status == BookingStatus.BOOKED,
            Booking.mode == BookingMode.IN_PERSON,
            Booking.starts_at < now,
            Booking.starts_at > now - NO_SHOW_LOOKBACK,
        )
    ).all()
    late = [
        b.id
        for b in candidates
        if b.starts_at + timedelta(minutes=b.office.checkin_after_minutes) < now
    ]
    session.commit()
    from queueing.models import Ticket  # the floor builds on booking, not the other way

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
        changed = session.execute(
            update(Booking)
            .where(Booking.id == booking_id, Booking.status == BookingStatus.BOOKED)
            .values(status=BookingStatus.NO_SHOW)
            .execution_options(synchronize_session=False)
        ).rowcount
        if changed == 1:
            session.execute(
                delete(BookingSlot).where(
                    BookingSlot.booking_id == booking_id, BookingSlot.starts_at >= now
                )
            )
            marked += 1
        session.commit()
    return marked


def anonymise(session: Session, now: datetime, keep: timedelta, keep_checks: timedelta) -> int:
    """Erase names, contacts and links of bookings that ended ``keep`` ago; counts stay.

    Their mails go too, and admission outcomes older than ``keep_checks``.
    """
    cutoff = now - keep
    ids = session.scalars(
        select(Booking.id)
        .where(Booking.ends_at < cutoff, Booking.anonymized_at.is_(None))
        .limit(BATCH)
    ).all()
    for booking_id in ids:
        session.execute(
            update(Booking)
            .where(Booking.id == booking_id, Booking.anonymized_at.is_(None))
            .values(
                name="",
                email=None,
                phone=None,
                # A hash of a token nobody has: the old manage links open nothing.
                manage_token_hash=hash_token(new_token()),
                anonymized_at=now,
            )
            .execution_options(synchronize_session=False)
        )
    if ids:
        session.execute(delete(BookingToken).where(BookingToken.booking_id.in_(ids)))
        session.execute(delete(QueuedMail).where(QueuedMail.booking_id.in_(ids)))
    session.execute(delete(QueuedMail).where(QueuedMail.created_at < cutoff))
    admission.purge(session, now, keep_checks)
    session.commit()
    return len(ids)


def deliver_mail(session: Session, now: datetime, config: Mapping[str, Any]) -> int:
    return outbox.send_due(session, config)
