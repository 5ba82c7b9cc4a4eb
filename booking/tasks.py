"""Scheduled work on bookings: reminders and retention.

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

from sqlalchemy import ColumnElement, and_, delete, or_, select, update
from sqlalchemy.orm import Session

from okienko import outbox
from okienko.database import rows_changed
from okienko.models import QueuedMail
from okienko.scheduler import job
from okienko.tokens import hash_token, new_token

from . import admission, challenge, confirmation, notifications
from .models import Booking, BookingStatus, BookingToken, Office
from .waitlist import erase_entries, expire_holds  # noqa: F401  [waitlist] its hold job

BATCH = 500
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


@job("reminders", every=timedelta(minutes=5))
def send_reminders(session: Session, now: datetime, config: Mapping[str, Any]) -> int:
    """Remind every booking whose reminder time has come, once; how many were queued."""
    queued = []
    for booking_id, starts_at in due_reminders(session, now):
        claimed = rows_changed(
            session.execute(
                update(Booking)
                .where(
                    Booking.id == booking_id,
                    Booking.reminder_sent_at.is_(None),
                    Booking.status == BookingStatus.BOOKED,
                    Booking.starts_at == starts_at,  # not moved since it was listed
                )
                .values(reminder_sent_at=now)
                .execution_options(synchronize_session=False)
            )
        )
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


def retention_spans(session: Session, keep: timedelta) -> dict[timedelta, list[int | None]]:
    """The offices by how long they keep residents' data: their own ``retention_days``, or
    ``keep``. ``None`` stands for mail that belongs to no office, kept ``keep``."""
    spans: dict[timedelta, list[int | None]] = {keep: [None]}
    for office_id, days in session.execute(select(Office.id, Office.retention_days)):
        spans.setdefault(keep if days is None else timedelta(days=days), []).append(office_id)
    return spans


def anonymise(session: Session, now: datetime, keep: timedelta, keep_checks: timedelta) -> int:
    """Erase names, contacts and links of bookings that ended their office's retention
    period ago (``keep`` unless the office sets its own); counts stay.

    Their mails go too, and admission outcomes older than ``keep_checks``.
    """
    ids: list[int] = []
    mails = []
    for span, office_ids in retention_spans(session, keep).items():
        cutoff = now - span
        offices = [i for i in office_ids if i is not None]
        if len(ids) < BATCH and offices:
            ids += session.scalars(
                select(Booking.id)
                .where(
                    Booking.office_id.in_(offices),
                    Booking.ends_at < cutoff,
                    Booking.anonymized_at.is_(None),
                )
                .limit(BATCH - len(ids))
            ).all()
        owner: ColumnElement[bool] = QueuedMail.office_id.in_(offices)
        if None in office_ids:
            owner = or_(owner, QueuedMail.office_id.is_(None))
        mails.append(and_(QueuedMail.created_at < cutoff, owner))
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
                # Typed by staff for the resident: it may name them. Who cancelled stays.
                cancel_reason=None,
                confirm_token_hash=None,  # the confirm link opens nothing either
                anonymized_at=now,
            )
            .execution_options(synchronize_session=False)
        )
    if ids:
        session.execute(delete(BookingToken).where(BookingToken.booking_id.in_(ids)))
        session.execute(delete(QueuedMail).where(QueuedMail.booking_id.in_(ids)))
    session.execute(delete(QueuedMail).where(or_(*mails)))
    admission.purge(session, now, keep_checks)
    session.commit()
    return len(ids)


@job("confirmations", every=timedelta(minutes=1))
def release_unconfirmed(session: Session, now: datetime, config: Mapping[str, Any]) -> int:
    """Free the time of bookings not confirmed by mail in time (``booking/confirmation.py``)."""
    return confirmation.release_overdue(session, now)


@job("retention", every=timedelta(hours=1))
def retention(session: Session, now: datetime, config: Mapping[str, Any]) -> int:
    """Erase what the office no longer needs to keep: its ``retention_days``, else
    ``RETENTION_DAYS``, and the admission's ``ADMISSION_RETENTION_DAYS``; and the waiting
    list's entries once their last day is over."""
    erased = anonymise(
        session,
        now,
        timedelta(days=config["RETENTION_DAYS"]),
        timedelta(days=config["ADMISSION_RETENTION_DAYS"]),
    )
    return erased + erase_entries(session, now) + challenge.forget_spent(session, now)
