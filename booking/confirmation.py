"""Bookings confirmed by e-mail (per office, off by default: ``Office.confirm_by_mail``).

A new booking at such an office is *pending*: it holds its cells, so nobody else takes
its time, and counts towards its contact's cap, but it is neither reminded nor checked
in. Its mail carries a link with a token of its own (only its hash is kept); opening it
within ``Office.confirm_minutes`` shows it with a button, and the button (a POST) confirms
it: mail scanners open links on their own, so opening alone changes nothing. Otherwise
the scheduler releases it: the cells are freed and the ledger counts it as ``released``
(neither a no-show nor a cancellation, so a manager sees how many bookings were never
confirmed).

A confirm and a release racing for one booking are both conditional UPDATEs of its row
(``WHERE status = 'pending'`` and the deadline on the right side for each): the row lock
(PostgreSQL) or the one writer at a time (SQLite) lets exactly one of them change it.
"""

from __future__ import annotations

import enum
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from okienko.database import rows_changed
from okienko.tokens import hash_token, new_token

from . import ledger
from .bookings import _announce_freed
from .codes import format_code
from .models import Booking, BookingEventKind, BookingSlot, BookingStatus
from .signals import booking_ended
from .versions import touch

BATCH = 500


class Outcome(enum.StrEnum):
    CONFIRMED = "confirmed"
    ALREADY = "already"  # a second click
    RELEASED = "released"  # too late: the time is free again
    CANCELLED = "cancelled"  # cancelled (by the resident or the office) while pending


def ask_to_confirm(session: Session, booking: Booking, token: str, now: datetime) -> None:
    """The booking's mail, with the link that confirms it (instead of the plain
    confirmation). ``token`` is the manage token: the mail links the page too."""
    from .notifications import _post, public_url

    confirm_token = new_token()
    booking.confirm_token_hash = hash_token(confirm_token)
    session.flush()
    subject = _l("Confirm your booking %(code)s", code=format_code(booking.code))
    _post(
        session,
        booking,
        now,
        "confirm_pending",
        subject,
        token,
        cancel=False,
        confirm_url=public_url("booking.confirm", token=confirm_token),
    )


def booking_for_token(session: Session, token: str) -> Booking | None:
    return session.scalar(select(Booking).where(Booking.confirm_token_hash == hash_token(token)))


def standing(booking: Booking, now: datetime) -> Outcome | None:
    """What opening the link shows, without changing anything: None while the booking
    still waits for its confirmation, else what a confirm would answer now."""
    if booking.confirmed_at is not None:
        return Outcome.ALREADY
    if booking.status == BookingStatus.PENDING:
        return None if booking.confirm_by is None or booking.confirm_by > now else Outcome.RELEASED
    if booking.status == BookingStatus.CANCELLED:
        return Outcome.CANCELLED
    return Outcome.RELEASED


def _release_row(session: Session, booking_id: int, now: datetime) -> bool:
    """Claim one overdue pending booking and free its cells, in the caller's transaction."""
    claimed = rows_changed(
        session.execute(
            update(Booking)
            .where(
                Booking.id == booking_id,
                Booking.status == BookingStatus.PENDING,
                Booking.confirm_by <= now,
            )
            .values(status=BookingStatus.RELEASED, sequence=Booking.sequence + 1)
            .execution_options(synchronize_session=False)
        )
    )
    if claimed != 1:
        return False
    session.execute(delete(BookingSlot).where(BookingSlot.booking_id == booking_id))
    booking = session.get(Booking, booking_id)
    assert booking is not None
    session.refresh(booking)
    touch(session, booking.office_id)
    ledger.note(session, BookingEventKind.RELEASED, booking.office, now, booking=booking)
    booking_ended.send(booking, session=session, reason="released", now=now)
    # The freed time goes to the waiting list (and the rebook delay) as a cancel's does.
    _announce_freed(
        session, booking, booking.starts_at, booking.ends_at, booking.counter_id, "released", now
    )
    return True


def confirm(session: Session, booking: Booking, now: datetime) -> Outcome:
    """Confirm ``booking`` if it is still pending and in time; idempotent.

    Its time is not checked against the office's calendar again: a closure or a counter
    change over a pending booking makes the office move or cancel it in the same
    transaction (``admin.affected.stranded``), and this UPDATE waits for that row lock."""
    confirmed = rows_changed(
        session.execute(
            update(Booking)
            .where(
                Booking.id == booking.id,
                Booking.status == BookingStatus.PENDING,
                Booking.confirm_by > now,
            )
            .values(status=BookingStatus.BOOKED, confirmed_at=now, sequence=Booking.sequence + 1)
            .execution_options(synchronize_session=False)
        )
    )
    if confirmed == 1:
        session.refresh(booking)
        # Counted as made now: an unconfirmed booking was never really made.
        ledger.note(session, BookingEventKind.MADE, booking.office, now, booking=booking)
        return Outcome.CONFIRMED
    # Too late, but the scheduler has not come by yet: release it here, once.
    _release_row(session, booking.id, now)
    session.refresh(booking)
    outcome = standing(booking, now)
    assert outcome is not None  # neither confirmed above nor still pending in time
    return outcome


def release_overdue(session: Session, now: datetime) -> int:
    """Release every pending booking past its deadline; each exactly once, whoever else
    runs this at the same time. Commits each release with its freed cells."""
    ids = session.scalars(
        select(Booking.id)
        .where(Booking.status == BookingStatus.PENDING, Booking.confirm_by <= now)
        .order_by(Booking.confirm_by)
        .limit(BATCH)
    ).all()
    session.commit()
    released = 0
    for booking_id in ids:
        if _release_row(session, booking_id, now):
            released += 1
            session.commit()
        else:  # confirmed, or released by another scheduler, meanwhile
            session.rollback()
    return released
