"""What a clerk does at a counter: call, recall, serve, finish, park, transfer, no-show.

Every action writes an audit entry and a floor event. A ticket is claimed by
a conditional UPDATE (only if still in line), so two counters calling at the
same moment never get the same ticket; a partial unique index keeps a counter
from holding two tickets at once.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, type_coerce, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, object_session

from booking import admission
from booking.availability import local_today
from booking.bookings import lock_booking, refuse_booking
from booking.models import Booking, BookingMode, BookingStatus, Counter, Service
from okienko.database import UTCDateTime, rows_changed

from . import events, tally
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
from .numbering import next_number
from .priority import choose_next
from .refusals import CounterBusy, NoCounter, NotAllowed, TooSoon
from .state import as_waiting, line, ticket_event


def _counter(staff: StaffUser, now: datetime) -> Counter:
    """The clerk's counter, locked until commit: a double click runs its actions in turn.

    An action renews the seat's lease as the page's heartbeat does: a clerk at work keeps
    the seat even when the heartbeat fails (a proxy, a sleeping tab's timers).
    """
    counter = staff.counter
    if counter is None:
        raise NoCounter()
    session = object_session(staff)
    if session is not None:
        session.refresh(counter, with_for_update=True)
        # Still seated? The seat_leases job frees a silent seat under the same lock.
        session.refresh(staff, ["counter_id"])
        if staff.counter_id != counter.id:
            raise NoCounter()
    staff.seat_seen_at = now
    return counter


def _log(
    session: Session, staff: StaffUser, ticket: Ticket, action: str, now: datetime, **detail: Any
) -> None:
    at_work = staff.counter_id if action in tally.AT_WORK else None
    if at_work is not None:
        # Before the entry is added: the tally reads the ticket's earlier ones.
        tally.ticket_at_work(session, staff.office, ticket, at_work, now)
    session.add(
        AuditEntry(
            office_id=ticket.office_id,
            staff_id=staff.id,
            counter_id=staff.counter_id,
            ticket_id=ticket.id,
            action=action,
            detail=detail,
            at=now,
        )
    )
    if at_work is not None:
        tally.counter_at_work(session, staff.office, at_work, now)
    events.record(session, ticket.office_id, action, ticket_event(ticket))


def current_ticket(session: Session, counter: Counter) -> Ticket | None:
    return session.scalar(select(Ticket).where(Ticket.counter_id == counter.id, holds_counter()))


def _check_cooldown(session: Session, staff: StaffUser, counter: Counter, now: datetime) -> None:
    last = session.scalar(
        select(func.max(AuditEntry.at)).where(
            AuditEntry.counter_id == counter.id, AuditEntry.action.in_(("call", "recall"))
        )
    )
    if last is not None and now - last < timedelta(seconds=staff.office.call_cooldown_seconds):
        raise TooSoon()


def _claim(session: Session, ticket: Ticket, counter: Counter, now: datetime) -> bool:
    """Take ``ticket`` for ``counter`` if it is still in line; False if someone was faster."""
    try:
        with session.begin_nested():
            claimed = rows_changed(
                session.execute(
                    update(Ticket)
                    .where(Ticket.id == ticket.id, Ticket.status.in_(IN_LINE))
                    .values(
                        status=TicketStatus.CALLED,
                        counter_id=counter.id,
                        target_counter_id=None,
                        called_at=now,
                        first_called_at=func.coalesce(
                            Ticket.first_called_at, type_coerce(now, UTCDateTime)
                        ),
                        calls=Ticket.calls + 1,
                    )
                    .execution_options(synchronize_session=False)
                )
            )
    except IntegrityError:
        raise CounterBusy() from None
    session.refresh(ticket)
    if claimed == 1 and ticket.wait_seconds is None and ticket.first_called_at is not None:
        ticket.wait_seconds = (ticket.first_called_at - ticket.issued_at).total_seconds()
        if ticket.kind == TicketKind.APPOINTMENT and ticket.booking is not None:
            late = ticket.first_called_at - ticket.booking.starts_at
            ticket.late_seconds = late.total_seconds()
    return claimed == 1


def call_next(session: Session, staff: StaffUser, now: datetime) -> Ticket | None:
    """Call the next ticket for this counter by the priority rule; None if nobody waits."""
    counter = _counter(staff, now)
    if current_ticket(session, counter) is not None:
        raise CounterBusy()
    _check_cooldown(session, staff, counter, now)
    services = {s.id for s in counter.services}
    waiting = {t.id: t for t in line(session, counter.office, now)}
    candidates = [as_waiting(t) for t in waiting.values()]
    while (choice := choose_next(candidates, counter.id, services)) is not None:
        ticket = waiting[choice.id]
        if _claim(session, ticket, counter, now):
            _log(session, staff, ticket, "call", now)
            return ticket
        candidates = [c for c in candidates if c.id != choice.id]
    return None


def call_ticket(session: Session, staff: StaffUser, ticket: Ticket, now: datetime) -> Ticket:
    """Call a particular ticket, out of turn (or back from parking)."""
    counter = _counter(staff, now)
    if ticket.office_id != counter.office_id:
        raise NotAllowed()
    if ticket.target_counter_id not in (None, counter.id):
        raise NotAllowed()  # sent on to another counter by name: only that one calls it
    if current_ticket(session, counter) is not None:
        raise CounterBusy()
    _check_cooldown(session, staff, counter, now)
    if ticket.status == TicketStatus.PARKED:
        ticket.status = TicketStatus.WAITING
        session.flush()
    if not _claim(session, ticket, counter, now):
        raise NotAllowed()
    _log(session, staff, ticket, "call", now)
    return ticket


def _at_my_counter(
    staff: StaffUser, ticket: Ticket, now: datetime, *states: TicketStatus, phone: bool = False
) -> Counter:
    """The clerk's counter, if ``ticket`` is there in one of ``states``.

    A phone consultation can only be finished: parking, moving or calling it
    again would put a call nobody is in the lobby for on the display.
    """
    counter = _counter(staff, now)
    if ticket.counter_id != counter.id or ticket.status not in states:
        raise NotAllowed()
    if ticket.kind == TicketKind.PHONE and not phone:
        raise NotAllowed()
    return counter


def recall(session: Session, staff: StaffUser, ticket: Ticket, now: datetime) -> Ticket:
    """Announce the ticket again."""
    counter = _at_my_counter(staff, ticket, now, TicketStatus.CALLED)
    _check_cooldown(session, staff, counter, now)
    ticket.calls += 1
    ticket.recalls += 1
    ticket.called_at = now
    _log(session, staff, ticket, "recall", now, calls=ticket.calls)
    return ticket


def start_serving(session: Session, staff: StaffUser, ticket: Ticket, now: datetime) -> Ticket:
    _at_my_counter(staff, ticket, now, TicketStatus.CALLED)
    ticket.status = TicketStatus.SERVING
    ticket.serving_at = now
    ticket.served_by_id = staff.id
    _log(session, staff, ticket, "serve", now)
    return ticket


def finish(session: Session, staff: StaffUser, ticket: Ticket, now: datetime) -> Ticket:
    _at_my_counter(staff, ticket, now, TicketStatus.SERVING, TicketStatus.CALLED, phone=True)
    if ticket.status == TicketStatus.CALLED:
        # Finished without a start: served from this call. A start from before parking or
        # a transfer would count the waiting in between as handling time.
        ticket.serving_at = ticket.called_at
    ticket.status = TicketStatus.DONE
    ticket.finished_at = now
    if ticket.serving_at is not None:
        ticket.service_seconds = (now - ticket.serving_at).total_seconds()
    ticket.served_by_id = staff.id
    _log(session, staff, ticket, "finish", now)
    return ticket


def no_show(session: Session, staff: StaffUser, ticket: Ticket, now: datetime) -> Ticket:
    """Close a ticket whose holder did not come after the office's number of calls."""
    _at_my_counter(staff, ticket, now, TicketStatus.CALLED)
    if ticket.calls < staff.office.max_calls:
        raise NotAllowed()
    ticket.status = TicketStatus.NO_SHOW
    ticket.finished_at = now
    _log(session, staff, ticket, "no_show", now)
    return ticket


def park(session: Session, staff: StaffUser, ticket: Ticket, now: datetime) -> Ticket:
    """Set a ticket aside (e.g. the resident fetches a document) and free the counter."""
    _at_my_counter(staff, ticket, now, TicketStatus.CALLED, TicketStatus.SERVING)
    ticket.status = TicketStatus.PARKED
    ticket.parked_at = now
    ticket.parks += 1
    ticket.calls = 0  # no-show counts the calls of the next turn; the audit keeps them all
    ticket.counter_id = None
    _log(session, staff, ticket, "park", now)
    return ticket


def phone_call_dropped(now: datetime) -> dict[str, Any]:
    """What a phone consultation left unfinished at a freed counter becomes.

    Never a place in line: nobody is in the lobby for it, and a call would show on the
    display. It is closed and lets go of its booking (one ticket per booking), which so
    shows in the counters' phone list again for another clerk to call the resident back.
    """
    return {
        "status": TicketStatus.CANCELLED,
        "closed_reason": "released",
        "finished_at": now,
        "counter_id": None,
        "booking_id": None,
    }


def drop_phone_call(session: Session, staff: StaffUser, ticket: Ticket, now: datetime) -> Ticket:
    """End the clerk's unfinished phone consultation as their counter is freed."""
    counter = _at_my_counter(staff, ticket, now, *AT_COUNTER, phone=True)
    if ticket.kind != TicketKind.PHONE:
        raise NotAllowed()
    held, booking_id = ticket.status.value, ticket.booking_id
    for name, value in phone_call_dropped(now).items():
        setattr(ticket, name, value)
    session.add(
        AuditEntry(
            office_id=ticket.office_id,
            staff_id=staff.id,
            counter_id=counter.id,
            ticket_id=ticket.id,
            action="released",
            detail={"held": held, "booking": booking_id},
            at=now,
        )
    )
    # The counter pages show the booking in the phone list again; the lobby has no call.
    events.record(session, ticket.office_id, "update", ticket_event(ticket))
    return ticket


def transfer(
    session: Session,
    staff: StaffUser,
    ticket: Ticket,
    now: datetime,
    service: Service | None = None,
    counter: Counter | None = None,
) -> Ticket:
    """Send the ticket on to another service's line or to one named counter.

    It keeps its number and its place in time, so the resident does not queue again.
    """
    _at_my_counter(staff, ticket, now, TicketStatus.CALLED, TicketStatus.SERVING)
    if (service is None) == (counter is None):
        raise NotAllowed()
    if service is not None and service.office_id != ticket.office_id:
        raise NotAllowed()
    if counter is not None and counter.office_id != ticket.office_id:
        raise NotAllowed()
    ticket.status = TicketStatus.TRANSFERRED
    ticket.transferred_at = now
    ticket.transfers += 1
    ticket.counter_id = None
    ticket.calls = 0
    if service is not None:
        left, ticket.service_id = ticket.service_id, service.id
        session.flush()
        session.refresh(ticket, ["service"])
        tally.ticket_moved(session, staff.office, ticket, left)
    ticket.target_counter_id = counter.id if counter is not None else None
    _log(
        session,
        staff,
        ticket,
        "transfer",
        now,
        service=service.key if service else None,
        counter=counter.name if counter else None,
    )
    return ticket


def set_urgent(session: Session, staff: StaffUser, ticket: Ticket, now: datetime) -> Ticket:
    if ticket.office_id != staff.office_id or ticket.status not in IN_LINE:
        raise NotAllowed()
    ticket.urgent = True
    _log(session, staff, ticket, "urgent", now)
    return ticket


def refuse(
    session: Session, staff: StaffUser, ticket: Ticket, now: datetime, reason: str
) -> Ticket:
    """Send away a visitor who looks ill or lacks protection, under the sanitary regime.

    The reason is one of a fixed list, never free text. A booking behind the
    ticket is marked refused and its remaining counter time freed.
    """
    _at_my_counter(staff, ticket, now, TicketStatus.CALLED, TicketStatus.SERVING)
    office = staff.office
    if reason not in admission.COUNTER_REASONS or not admission.regime_active(
        office, local_today(office, now)
    ):
        raise NotAllowed()
    ticket.status = TicketStatus.REFUSED
    ticket.finished_at = now
    # The reason stays only in the admission outcome, which is purged soon, and as a
    # count in the bookings' ledger, which names neither the ticket nor the booking: no
    # health detail in the ticket or the audit log, which are kept.
    ticket.closed_reason = "refused"
    booking = ticket.booking
    if booking is not None and booking.status == BookingStatus.BOOKED:
        refuse_booking(session, booking, now)
    admission.record(
        session,
        office,
        "counter",
        admission.Outcome(False),
        now,
        booking=booking,
        staff_id=staff.id,
        reason=reason,
        service_id=ticket.service_id,
    )
    _log(session, staff, ticket, "refuse", now)
    return ticket


def phone_calls(session: Session, staff: StaffUser, now: datetime) -> list[Booking]:
    """Today's phone consultations at the clerk's office not yet called, by time."""
    office = staff.office
    today = local_today(office, now)
    start = admission.day_start(office, today)
    called = select(Ticket.booking_id).where(Ticket.booking_id.is_not(None))
    return list(
        session.scalars(
            select(Booking)
            .where(
                Booking.office_id == office.id,
                Booking.status == BookingStatus.BOOKED,
                Booking.mode == BookingMode.PHONE,
                Booking.starts_at >= start,
                Booking.starts_at < admission.day_start(office, today + timedelta(days=1)),
                Booking.id.not_in(called),
            )
            .order_by(Booking.starts_at)
        )
    )


def phone_call(session: Session, staff: StaffUser, booking: Booking, now: datetime) -> Ticket:
    """Start a booked phone consultation at the clerk's counter.

    It gets a numbered ticket like any visit, for the audit and the statistics,
    but it never waits in line and is never announced in the lobby.
    """
    counter = _counter(staff, now)
    if current_ticket(session, counter) is not None:
        raise CounterBusy()
    office = staff.office
    if booking.office_id == office.id:
        lock_booking(session, booking)  # a refusal or cancel at this moment waits
    if (
        booking.office_id != office.id
        or not booking.active
        or not booking.by_phone
        or local_today(office, booking.starts_at) != local_today(office, now)
    ):
        raise NotAllowed()
    day = local_today(office, now)
    service = booking.service
    try:
        with session.begin_nested():
            ticket = Ticket(
                office_id=office.id,
                service_id=service.id,
                booking_id=booking.id,
                day=day,
                prefix=service.prefix,
                number=next_number(session, office.id, day, service.prefix),
                kind=TicketKind.PHONE,
                status=TicketStatus.SERVING,
                queued_at=booking.starts_at,
                issued_at=now,
                counter_id=counter.id,
                calls=1,
                called_at=now,
                first_called_at=now,
                serving_at=now,
                served_by_id=staff.id,
                first_service_id=service.id,
                issued_hour=tally.local_hour(office, now),
            )
            session.add(ticket)
            session.flush()
    except IntegrityError:
        raise NotAllowed() from None  # another clerk started this call a moment ago
    tally.ticket_at_work(session, office, ticket, counter.id, now)
    session.add(
        AuditEntry(
            office_id=office.id,
            staff_id=staff.id,
            counter_id=counter.id,
            ticket_id=ticket.id,
            action="phone",
            at=now,
        )
    )
    tally.counter_at_work(session, office, counter.id, now)
    # An update, not a call: the lobby has nobody to announce.
    events.record(session, office.id, "update", ticket_event(ticket))
    return ticket
