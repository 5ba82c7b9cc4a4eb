"""The booked visits a change of an office leaves without counter time, and what is done
with them: moved to another counter at the same time, or cancelled by the office.

A future booking holds its counter time while, on its local day, its visit lies inside
one opening interval (hours, closures, public holidays: ``availability.schedule_for``)
and its counter still serves its service. A change is applied and flushed first;
``stranded`` then reads what the database holds, the change included.

- ``stranded(session, office, now)``: the active bookings starting after ``now`` that
  lost their counter time, oldest first; ``held``: the same, locked until commit.
- ``free_counters(session, booking)``: the other counters serving the booking's service
  whose cells are all free at the booking's time, in the office's order.
- ``move(session, booking, counter_id)``: the booking's cells go to that counter, in a
  savepoint; False if another booking holds one of them (the unique index decides).
- ``move_anywhere(session, booking)``: ``move`` to the first free counter; its id or None.
- ``cancel_by_office(session, booking, reason, now)``: cancelled, counter time freed,
  the resident mailed in their language with the reason (after the commit).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from booking import notifications
from booking.availability import schedule_for, taken_cells
from booking.bookings import cancel_booking, is_cell_conflict, lock_booking
from booking.models import (
    Booking,
    BookingSlot,
    BookingStatus,
    CancelledBy,
    Counter,
    Office,
    counter_services,
)
from booking.slots import cells, opening_intervals
from booking.versions import touch

# The history entry of an office's cancellation (by id and code; the reason stays with
# the booking, which retention erases).
CANCEL_ACTION = "cancel"
BOOKING_RECORD = "booking"


def _serving(session: Session, office: Office) -> set[tuple[int, int]]:
    """(counter, service) pairs of the office as the database holds them now."""
    query = (
        select(counter_services.c.counter_id, counter_services.c.service_id)
        .join(Counter, Counter.id == counter_services.c.counter_id)
        .where(Counter.office_id == office.id)
    )
    return {(counter, service) for counter, service in session.execute(query)}


def stranded(session: Session, office: Office, now: datetime) -> list[Booking]:
    """Bookings holding counter time (active or awaiting their confirmation) starting after
    ``now`` whose counter time the office no longer has."""
    # The change was flushed: read the office's calendar and counters afresh.
    session.expire(office, ["hours", "closures", "counters", "services"])
    bookings = list(
        session.scalars(
            select(Booking)
            .where(
                Booking.office_id == office.id,
                Booking.status.in_((BookingStatus.BOOKED, BookingStatus.PENDING)),
                Booking.starts_at > now,
            )
            .order_by(Booking.starts_at, Booking.id)
        )
    )
    if not bookings:
        return []
    serving = _serving(session, office)
    open_at = _opening(office, bookings)
    return [b for b in bookings if not open_at(b) or (b.counter_id, b.service_id) not in serving]


def _opening(office: Office, bookings: list[Booking]) -> Callable[[Booking], bool]:
    """Whether a booking's visit lies inside one opening interval of its day (hours less
    closures and holidays), for bookings of ``office`` on the days of ``bookings``."""
    zone = ZoneInfo(office.timezone)
    days = [b.starts_at.astimezone(zone).date() for b in bookings]
    schedule = schedule_for(office, min(days), max(days))
    intervals: dict[date, list[tuple[datetime, datetime]]] = {}

    def fits(booking: Booking) -> bool:
        day = booking.starts_at.astimezone(zone).date()
        if day not in intervals:
            intervals[day] = opening_intervals(schedule, day)
        return any(
            opens <= booking.starts_at and booking.ends_at <= closes
            for opens, closes in intervals[day]
        )

    return fits


def held(session: Session, office: Office, now: datetime) -> list[Booking]:
    """``stranded``, each locked until commit: a resident's cancel or move of one waits,
    and one cancelled or moved just before is left out.

    No booking of the office is made or moved while its row is locked (``lock_office``;
    ``booking.bookings.hold_calendar``), so the second look finds no new one.
    """
    found = stranded(session, office, now)
    for booking in sorted(found, key=lambda b: b.id):  # one order: no deadlock
        lock_booking(session, booking)
    return stranded(session, office, now) if found else []


def _cells(session: Session, booking: Booking) -> list[datetime]:
    """The grid cells the booking holds: its own rows, or (none left) its time on the grid."""
    held = sorted(
        session.scalars(select(BookingSlot.starts_at).where(BookingSlot.booking_id == booking.id))
    )
    if held:
        return held
    step = timedelta(minutes=booking.office.slot_minutes)
    return cells(booking.starts_at, booking.ends_at - booking.starts_at, step)


def free_counters(session: Session, booking: Booking) -> list[int]:
    """The office's other counters that serve the booking's service and are free
    for every one of its cells, in the office's order of counters; none while the
    office is closed at the booking's time."""
    office = booking.office
    if not _opening(office, [booking])(booking):
        return []  # the office is closed then: no counter helps
    serving = _serving(session, office)
    candidates = [
        c.id
        for c in office.counters
        if c.id != booking.counter_id and (c.id, booking.service_id) in serving
    ]
    if not candidates:
        return []
    held = _cells(session, booking)
    taken = taken_cells(session, candidates, held[0], held[-1] + timedelta(microseconds=1))
    return [c for c in candidates if all((c, cell) not in taken for cell in held)]


def move(session: Session, booking: Booking, counter_id: int) -> bool:
    """Give the booking's cells to ``counter_id`` at the same time; False if one is taken.

    The unique (counter, cell) index is what refuses a cell another booking holds,
    whatever either transaction read before.
    """
    held = _cells(session, booking)
    try:
        with session.begin_nested():
            session.execute(delete(BookingSlot).where(BookingSlot.booking_id == booking.id))
            session.expire(booking, ["slots"])
            booking.counter_id = counter_id
            session.add_all(
                BookingSlot(booking_id=booking.id, counter_id=counter_id, starts_at=cell)
                for cell in held
            )
            session.flush()
    except IntegrityError as exc:
        if not is_cell_conflict(exc):
            raise
        session.refresh(booking)
        return False
    touch(session, booking.office_id)
    return True


def move_anywhere(session: Session, booking: Booking) -> int | None:
    """Move the booking to the first counter free at its time; the counter's id or None."""
    for counter_id in free_counters(session, booking):
        if move(session, booking, counter_id):
            return counter_id
    return None


def cancel_by_office(session: Session, booking: Booking, reason: str, now: datetime) -> None:
    """Cancel the booking for the office: its counter time is freed at once, and the
    resident gets the reason, a link to book again and the calendar's cancellation.
    The caller records the history entry."""
    cancel_booking(session, booking, now, by=CancelledBy.OFFICE, reason=reason)
    notifications.booking_cancelled_by_office(session, booking, reason, now)
