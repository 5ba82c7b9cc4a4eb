"""Arrival at the office: an appointment checks in, a walk-in takes a number."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from booking import admission
from booking.availability import local_today, schedule_for
from booking.bookings import lock_booking
from booking.codes import normalize_code
from booking.models import AdmissionCheck, Booking, BookingStatus, Office, Service
from booking.qr import ForgedTicket, verify_ticket
from booking.refusals import NotConfirmed  # [confirm]
from booking.slots import opening_intervals

from . import events, tally
from .models import AuditEntry, Ticket, TicketKind
from .numbering import next_number
from .refusals import (
    BookingNotActive,
    NoWalkIns,
    OfficeClosed,
    PhoneConsultation,
    TicketNotValid,
    TooEarly,
    TooLate,
    UnknownCode,
    WrongOffice,
)
from .state import ticket_event


def is_open(office: Office, now: datetime) -> bool:
    today = local_today(office, now)
    return any(
        a <= now < b for a, b in opening_intervals(schedule_for(office, today, today), today)
    )


def next_opening(office: Office, now: datetime, days: int = 14) -> datetime | None:
    """When the office next opens after ``now``, looking ``days`` ahead."""
    today = local_today(office, now)
    schedule = schedule_for(office, today, today + timedelta(days=days))
    for offset in range(days + 1):
        day = today + timedelta(days=offset)
        for start, _end in opening_intervals(schedule, day):
            if start > now:
                return start
    return None


def find_booking(session: Session, office: Office, scanned: str, secret: str) -> Booking:
    """The booking behind a scanned QR payload or a typed booking code."""
    text = scanned.strip()
    if ":" in text or "." in text:  # a QR payload: only a valid signature counts
        try:
            code = verify_ticket(text, secret)
        except ForgedTicket:
            raise TicketNotValid() from None
    else:
        code = normalize_code(text)[:16]
    booking = session.scalar(select(Booking).where(Booking.code == code))
    if booking is None:
        # A signed code that no longer exists is as good as forged; a typed one is a typo.
        raise TicketNotValid() if code != normalize_code(text)[:16] else UnknownCode()
    if booking.office_id != office.id:
        raise WrongOffice()
    return booking


def _issue(
    session: Session,
    office: Office,
    service: Service,
    kind: TicketKind,
    now: datetime,
    queued_at: datetime,
    booking: Booking | None = None,
    device_id: int | None = None,
) -> Ticket:
    day = local_today(office, now)
    ticket = Ticket(
        office_id=office.id,
        service_id=service.id,
        first_service_id=service.id,
        booking_id=booking.id if booking else None,
        day=day,
        prefix=service.prefix,
        number=next_number(session, office.id, day, service.prefix),
        kind=kind,
        queued_at=queued_at,
        issued_at=now,
        issued_hour=tally.local_hour(office, now),
        calls=0,
    )
    session.add(ticket)
    session.flush()
    session.add(
        AuditEntry(
            office_id=office.id,
            device_id=device_id,
            ticket_id=ticket.id,
            action="check_in" if booking else "walk_in",
            at=now,
        )
    )
    events.record(session, office.id, "update", ticket_event(ticket))
    return ticket


def existing_ticket(session: Session, booking: Booking) -> Ticket | None:
    return session.scalar(select(Ticket).where(Ticket.booking_id == booking.id))


def may_check_in(office: Office, booking: Booking, now: datetime) -> None:
    """Raise why ``booking`` cannot check in now, before anything is asked."""
    if booking.office_id != office.id:
        raise WrongOffice()
    if booking.status == BookingStatus.PENDING:  # [confirm] not yet confirmed by mail
        raise NotConfirmed()
    if not booking.active:
        raise BookingNotActive()
    if booking.by_phone:
        raise PhoneConsultation()
    opens = booking.starts_at - timedelta(minutes=office.checkin_before_minutes)
    if now < opens:
        raise TooEarly(time=opens)
    if now > booking.starts_at + timedelta(minutes=office.checkin_after_minutes):
        raise TooLate()


def check_in(
    session: Session, office: Office, booking: Booking, now: datetime, device_id: int | None = None
) -> Ticket:
    """The ticket for an arriving appointment; scanning twice gives the same ticket.

    Under the sanitary regime only after a passing answer given today.
    """
    if booking.office_id != office.id:
        raise WrongOffice()
    # Held until commit: a refusal online or at another kiosk waits, and is then seen.
    lock_booking(session, booking)
    existing = existing_ticket(session, booking)
    if existing is not None:
        return existing
    may_check_in(office, booking, now)
    if admission.regime_active(office, local_today(office, now)) and not admission.passed_today(
        session, booking, now
    ):
        raise admission.NotChecked()
    try:
        with session.begin_nested():
            return _issue(
                session,
                office,
                booking.service,
                TicketKind.APPOINTMENT,
                now,
                queued_at=booking.starts_at,
                booking=booking,
                device_id=device_id,
            )
    except IntegrityError:
        # Scanned at two kiosks at once: the other scan made the ticket.
        return session.scalars(select(Ticket).where(Ticket.booking_id == booking.id)).one()


def may_walk_in(office: Office, service: Service, now: datetime) -> None:
    if service.office_id != office.id or not service.walk_in:
        raise NoWalkIns()
    if not is_open(office, now):
        raise OfficeClosed(opens=next_opening(office, now))


def walk_in(
    session: Session,
    office: Office,
    service: Service,
    now: datetime,
    device_id: int | None = None,
    check: AdmissionCheck | None = None,
) -> Ticket:
    """A numbered ticket for a resident without an appointment.

    Under the sanitary regime only with a fresh passing kiosk answer, used once.
    """
    may_walk_in(office, service, now)
    regime = admission.regime_active(office, local_today(office, now))
    if regime and not admission.kiosk_pass_usable(check, office, now):
        raise admission.NotChecked()
    ticket = _issue(
        session, office, service, TicketKind.WALK_IN, now, queued_at=now, device_id=device_id
    )
    if regime and check is not None:
        check.ticket_id = ticket.id
    return ticket
