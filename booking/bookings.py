"""Creating, moving and cancelling bookings: plain functions over a session.

The caller commits. A conflict with a competing booking surfaces as an
IntegrityError on the (counter, cell) unique constraint inside a savepoint;
the next free counter is tried, and when none is left the resident gets
``SlotTaken`` with the nearest free times.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, or_, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from okienko.tokens import hash_token, new_token

from . import admission, ledger, walk_in_share
from .availability import booking_window, nearest_free, schedule_for, taken_cells
from .codes import new_booking_code
from .models import (
    CELL_CONSTRAINT,
    Booking,
    BookingEventKind,
    BookingMode,
    BookingSlot,
    BookingStatus,
    BookingToken,
    CancelledBy,
    Office,
    Service,
)
from .refusals import (
    EmailNeeded,
    NotActive,
    NotBookable,
    PhoneNeeded,
    RebookTooSoon,
    SlotTaken,
    TooManyBookings,
    TooManyChanges,
)
from .signals import booking_ended, time_freed  # [waitlist] time_freed
from .slots import candidate_starts, cells, free_counter
from .versions import touch

# Each move sends a mail: a cap keeps a stranger's address from being flooded.
MAX_CHANGES = 5


@dataclass(frozen=True)
class Contact:
    name: str
    email: str | None
    phone: str | None
    language: str


def _free_counters(
    session: Session,
    office: Office,
    service: Service,
    start: datetime,
    now: datetime,
    ignore_booking: int | None = None,
) -> list[int]:
    """Counters free at ``start``; raises if ``start`` is no bookable time at all."""
    if service.office_id != office.id or not service.bookable_online:
        raise NotBookable(_l("This service cannot be booked online at this office."))
    earliest, latest = booking_window(office, now)
    if not earliest <= start <= latest:
        raise NotBookable(_l("This time is outside the period in which bookings are taken."))
    day = start.astimezone(ZoneInfo(office.timezone)).date()
    schedule = schedule_for(office, day, day)
    duration = timedelta(minutes=service.duration_minutes)
    if start not in set(candidate_starts(schedule, day, duration)):
        raise NotBookable()
    # [share] The server's own check: a start the calendar never offered, posted anyway.
    if walk_in_share.is_held_back(schedule, day, start, walk_in_share.share_of(office, service)):
        raise walk_in_share.HeldForWalkIns()
    counters = [c.id for c in service.counters]
    held = cells(start, duration, schedule.step)
    taken = taken_cells(session, counters, held[0], held[-1] + schedule.step)
    if ignore_booking is not None:
        own = session.scalars(select(BookingSlot).where(BookingSlot.booking_id == ignore_booking))
        taken -= {(cell.counter_id, cell.starts_at) for cell in own}
    return free_counter(start, duration, schedule.step, counters, taken)


def is_cell_conflict(exc: IntegrityError) -> bool:
    """The unique (counter, cell) index refused a row, not some other constraint."""
    text = str(exc.orig)
    # PostgreSQL names the constraint; SQLite names the columns.
    return CELL_CONSTRAINT in text or "booking_slot.counter_id, booking_slot.starts_at" in text


def _hold(session: Session, booking: Booking, counters: list[int], step: timedelta) -> bool:
    """Give ``booking`` the first of ``counters`` whose cells can still be inserted."""
    duration = booking.ends_at - booking.starts_at
    for counter_id in counters:
        try:
            with session.begin_nested():
                booking.counter_id = counter_id
                booking.slots = [
                    BookingSlot(counter_id=counter_id, starts_at=cell)
                    for cell in cells(booking.starts_at, duration, step)
                ]
                session.add(booking)
                session.flush()
            return True
        except IntegrityError as exc:
            if not is_cell_conflict(exc):
                raise
            # Another resident got this counter first; the savepoint undid our rows.
            continue
    return False


def hold_calendar(session: Session, office: Office) -> None:
    """Keep the office as this transaction reads it until it ends: its settings, hours,
    closures, and which counters serve what.

    An administrator's change of them (``admin/changes.py``) locks the office's row FOR
    UPDATE: it waits for a booking that holds this share of the lock, and a booking waits
    for the change and then reads everything afresh (all read before the lock is expired,
    as ``lock_office`` does), so no visit is booked into a closure being saved, or on the
    old grid, zone or counters. Bookings do not wait for each other (FOR SHARE). Taken
    before any booking's own lock, in one order everywhere. SQLite's writers already run
    one at a time.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    session.flush()  # then expiring loses nothing unsaved
    session.execute(select(Office.id).where(Office.id == office.id).with_for_update(read=True))
    session.expire_all()


def lock_contact(session: Session, office: Office, contact: Contact) -> None:
    """Serialize bookings of one contact at one office until the transaction ends.

    Without it, simultaneous requests each count the contact's bookings before
    any of them has committed, and all pass the cap. SQLite needs nothing: its
    write transactions already run one at a time (BEGIN IMMEDIATE).
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    keys = set()
    if contact.email:
        keys.add(f"{office.id}:email:{contact.email.lower()}")
    if contact.phone:
        keys.add(f"{office.id}:phone:{contact.phone}")
    for key in sorted(keys):  # one order everywhere, so two locks cannot deadlock
        session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": key}
        )


def active_bookings_for(session: Session, office: Office, contact: Contact, now: datetime) -> int:
    matches = []
    if contact.email:
        matches.append(func.lower(Booking.email) == contact.email.lower())
    if contact.phone:
        matches.append(Booking.phone == contact.phone)
    return (
        session.scalar(
            select(func.count(Booking.id)).where(
                Booking.office_id == office.id,
                # [confirm] a pending booking holds its time, so it counts while pending
                Booking.status.in_((BookingStatus.BOOKED, BookingStatus.PENDING)),
                Booking.ends_at > now,
                or_(*matches),
            )
        )
        or 0
    )


def rebook_from_for(
    session: Session, office: Office, contact: Contact, now: datetime
) -> datetime | None:
    """When a contact refused admission lately may come in person again; None if not refused.

    A new booking with the same e-mail or phone is no way around the waiting days.
    """
    policy = office.admission
    if policy is None or not policy.rebook_after_days:
        return None
    matches = []
    if contact.email:
        matches.append(func.lower(Booking.email) == contact.email.lower())
    if contact.phone:
        matches.append(Booking.phone == contact.phone)
    refused = session.scalars(
        select(Booking).where(
            Booking.office_id == office.id,
            Booking.status == BookingStatus.REFUSED,
            Booking.refused_at > now - timedelta(days=policy.rebook_after_days + 1),
            or_(*matches),
        )
    ).all()
    return max((admission.rebook_from(b) for b in refused), default=None)


def _unused_code(session: Session) -> str:
    while True:
        code = new_booking_code()
        if session.scalar(select(Booking.id).where(Booking.code == code)) is None:
            return code


def create_booking(
    session: Session,
    office: Office,
    service: Service,
    start: datetime,
    contact: Contact,
    now: datetime,
    *,
    mode: BookingMode = BookingMode.IN_PERSON,
    outcome: admission.Outcome | None = None,
    confirmed: bool = False,
    counter_id: int | None = None,
) -> tuple[Booking, str]:
    """Book ``start`` for ``contact``; returns the booking and its manage token.

    A visit in person on a day of the sanitary regime needs a passing
    declaration (``outcome``); a phone consultation needs a phone number.
    ``confirmed``: the address is proven already (a waiting-list claim link), so no
    confirmation by mail; ``counter_id``: the counter to try first (the hold's own).
    """
    if mode == BookingMode.PHONE and not contact.phone:
        raise PhoneNeeded()
    # [confirm] an office that confirms bookings by mail needs the address to mail to
    pending = office.confirm_by_mail and not confirmed
    if pending and not contact.email:
        raise EmailNeeded()
    hold_calendar(session, office)  # first: the regime's days, too, as the lock leaves them
    checked = mode == BookingMode.IN_PERSON and admission.regime_active_at(office, start)
    if checked and outcome is None:
        raise admission.NotChecked()
    if checked and outcome is not None and not outcome.admitted:
        raise admission.NotAdmitted()
    counters = _free_counters(session, office, service, start, now)
    if counter_id in counters:
        counters = [counter_id, *(c for c in counters if c != counter_id)]
    lock_contact(session, office, contact)
    if active_bookings_for(session, office, contact, now) >= office.max_active_bookings_per_contact:
        raise TooManyBookings()
    if mode == BookingMode.IN_PERSON:
        earliest = rebook_from_for(session, office, contact, now)
        if earliest is not None and start < earliest:
            raise RebookTooSoon(time=earliest)
    token = new_token()
    booking = Booking(
        code=_unused_code(session),
        manage_token_hash=hash_token(token),
        mode=mode,
        office_id=office.id,
        service_id=service.id,
        starts_at=start,
        ends_at=start + timedelta(minutes=service.duration_minutes),
        status=BookingStatus.PENDING if pending else BookingStatus.BOOKED,  # [confirm]
        confirm_by=now + timedelta(minutes=office.confirm_minutes) if pending else None,
        name=contact.name,
        email=contact.email,
        phone=contact.phone,
        language=contact.language,
        consent_at=now,
        sequence=0,
        created_at=now,
    )
    if not _hold(session, booking, counters, timedelta(minutes=office.slot_minutes)):
        raise SlotTaken(nearest_free(session, office, service, start, now))
    touch(session, office.id)
    if not pending:  # [confirm] a pending booking is noted as made when it is confirmed
        ledger.note(session, BookingEventKind.MADE, office, now, booking=booking)
    if checked and outcome is not None:
        admission.record(session, office, "booking", outcome, now, booking=booking)
    return booking, token


def lock_booking(session: Session, booking: Booking) -> None:
    """Hold the booking's row until commit and read it afresh.

    A cancel and a move of the same booking at once (two tabs, a double submit,
    the API during a page visit) would otherwise both act on what they read
    before the other committed. SQLite's IMMEDIATE transactions already queue.
    """
    session.refresh(booking, with_for_update=True)


def reschedule_booking(
    session: Session, booking: Booking, start: datetime, now: datetime
) -> Booking:
    """Move an active booking to another free start of the same service; announces
    ``booking_ended`` (the old time ends)."""
    hold_calendar(session, booking.office)
    lock_booking(session, booking)
    if not booking.active or booking.starts_at <= now:
        raise NotActive()
    if booking.sequence >= MAX_CHANGES:
        raise TooManyChanges()
    office, service = booking.office, booking.service
    counters = _free_counters(session, office, service, start, now, ignore_booking=booking.id)
    old = (booking.starts_at, booking.ends_at, booking.counter_id)
    with session.begin_nested():
        session.execute(delete(BookingSlot).where(BookingSlot.booking_id == booking.id))
        session.expire(booking, ["slots"])
        booking.starts_at = start
        booking.ends_at = start + timedelta(minutes=service.duration_minutes)
        if not _hold(session, booking, counters, timedelta(minutes=office.slot_minutes)):
            booking.starts_at, booking.ends_at, booking.counter_id = old
            raise SlotTaken(nearest_free(session, office, service, start, now))
        booking.sequence += 1
        booking.reminder_sent_at = None  # the new time gets a reminder of its own
    touch(session, office.id)
    ledger.note(session, BookingEventKind.MOVED, office, now, booking=booking)
    booking_ended.send(booking, session=session, reason="moved", now=now)
    _announce_freed(session, booking, old[0], old[1], old[2], "moved", now)  # [waitlist]
    return booking


def cancel_booking(
    session: Session,
    booking: Booking,
    now: datetime,
    *,
    by: CancelledBy = CancelledBy.RESIDENT,
    reason: str | None = None,
) -> Booking:
    """Cancel and free the counter time at once; announces ``booking_ended``.

    ``by`` the office, ``reason`` is what the resident is told (mail and booking page).
    A booking still awaiting its confirmation by mail holds its time too: it can be
    cancelled as well (not counted as made, so the ledger notes only its cancellation).
    """
    lock_booking(session, booking)
    holding = booking.active or booking.status == BookingStatus.PENDING
    if not holding or booking.starts_at <= now:
        raise NotActive()
    booking.cancelled_at, booking.cancelled_by, booking.cancel_reason = now, by, reason
    ledger.note(session, BookingEventKind.CANCELLED, booking.office, now, booking=booking, by=by)
    return _end(session, booking, BookingStatus.CANCELLED, now)


def link_token(session: Session, booking: Booking, now: datetime) -> str:
    """A new secret link to the booking's page, for a mail sent later (a refusal, a reminder).

    The first token is shown once and only its hash is kept, so a later mail
    gets a token of its own; each opens the same page until the booking's
    data is erased.
    """
    token = new_token()
    session.add(BookingToken(booking_id=booking.id, token_hash=hash_token(token), created_at=now))
    session.flush()
    return token


def _end(session: Session, booking: Booking, status: BookingStatus, now: datetime) -> Booking:
    """The booking stops holding counter time, and the other features hear of it."""
    booking.status = status
    booking.sequence += 1
    session.execute(delete(BookingSlot).where(BookingSlot.booking_id == booking.id))
    session.expire(booking, ["slots"])
    session.flush()
    touch(session, booking.office_id)
    booking_ended.send(booking, session=session, reason=status.value, now=now)
    _announce_freed(  # [waitlist]
        session, booking, booking.starts_at, booking.ends_at, booking.counter_id, status.value, now
    )
    return booking


# [waitlist] The freed counter time, for the waiting list (``time_freed``).
def _announce_freed(
    session: Session,
    booking: Booking,
    starts_at: datetime,
    ends_at: datetime,
    counter_id: int,
    reason: str,
    now: datetime,
) -> None:
    if ends_at <= now:
        return  # time already past frees nothing anyone can book
    time_freed.send(
        booking.office,
        session=session,
        starts_at=starts_at,
        ends_at=ends_at,
        counter_id=counter_id,
        service_id=booking.service_id,
        reason=reason,
        now=now,
    )


def refuse_booking(session: Session, booking: Booking, now: datetime) -> Booking:
    """Not admitted under the sanitary regime: mark the booking and free its counter time;
    announces ``booking_ended``."""
    lock_booking(session, booking)
    if not booking.active:
        raise NotActive()
    booking.refused_at = now
    return _end(session, booking, BookingStatus.REFUSED, now)


def _rehold(session: Session, booking: Booking, now: datetime) -> None:
    office, service = booking.office, booking.service
    counters = [c.id for c in service.counters]
    if not _hold(session, booking, counters, timedelta(minutes=office.slot_minutes)):
        raise SlotTaken(nearest_free(session, office, service, booking.starts_at, now))


def to_phone(session: Session, booking: Booking, phone: str | None, now: datetime) -> Booking:
    """A refused visit becomes a phone consultation at the same time, if the time is still free."""
    lock_booking(session, booking)
    if booking.status != BookingStatus.REFUSED or booking.ends_at <= now:
        raise NotActive()
    if phone:
        booking.phone = phone
    if not booking.phone:
        raise PhoneNeeded()
    _check_cap(session, booking, now)
    with session.begin_nested():
        _rehold(session, booking, now)
        booking.status = BookingStatus.BOOKED
        booking.mode = BookingMode.PHONE
        booking.sequence += 1
        booking.reminder_sent_at = None
    touch(session, booking.office_id)
    return booking


def contact_of(booking: Booking) -> Contact:
    return Contact(booking.name, booking.email, booking.phone, booking.language)


def _check_cap(session: Session, booking: Booking, now: datetime) -> None:
    """A refused booking that comes back counts towards its contact's cap again."""
    contact = contact_of(booking)
    lock_contact(session, booking.office, contact)
    if (
        active_bookings_for(session, booking.office, contact, now)
        >= booking.office.max_active_bookings_per_contact
    ):
        raise TooManyBookings()


def rebook(
    session: Session,
    booking: Booking,
    start: datetime,
    now: datetime,
    outcome: admission.Outcome | None = None,
) -> Booking:
    """Book a refused visit again in person, no earlier than the office's waiting days,
    and on a day of the sanitary regime only with a passing declaration."""
    hold_calendar(session, booking.office)
    lock_booking(session, booking)
    if booking.status != BookingStatus.REFUSED:
        raise NotActive()
    if booking.sequence > MAX_CHANGES:
        raise TooManyChanges()
    earliest = admission.rebook_from(booking)
    if start < earliest:
        raise RebookTooSoon(time=earliest)
    office, service = booking.office, booking.service
    checked = admission.regime_active_at(office, start)
    if checked and outcome is None:
        raise admission.NotChecked()
    if checked and outcome is not None and not outcome.admitted:
        raise admission.NotAdmitted()
    counters = _free_counters(session, office, service, start, now, ignore_booking=booking.id)
    _check_cap(session, booking, now)
    old = (booking.starts_at, booking.ends_at, booking.counter_id)
    with session.begin_nested():
        booking.starts_at = start
        booking.ends_at = start + timedelta(minutes=service.duration_minutes)
        if not _hold(session, booking, counters, timedelta(minutes=office.slot_minutes)):
            booking.starts_at, booking.ends_at, booking.counter_id = old
            raise SlotTaken(nearest_free(session, office, service, start, now))
        booking.status = BookingStatus.BOOKED
        booking.mode = BookingMode.IN_PERSON
        booking.sequence += 1
        booking.reminder_sent_at = None
    touch(session, office.id)
    # A refused visit booked again at another time: a move, not a new booking.
    ledger.note(session, BookingEventKind.MOVED, office, now, booking=booking)
    if checked and outcome is not None:
        admission.record(session, office, "booking", outcome, now, booking=booking)
    return booking
