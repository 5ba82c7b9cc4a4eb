"""Walk-in capacity: no more tickets for a service whose wait would run past closing time.

A clerk may keep a service issuing for the rest of the day. The switch is an audit entry
(who, when, which service), so it needs no table of its own and lapses at midnight.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from booking import walk_in_share
from booking.admission import day_start
from booking.availability import first_free_start, local_today, schedule_for
from booking.models import Booking, BookingSlot, Office, Service
from booking.slots import opening_intervals

from .models import AuditEntry, Ticket
from .state import line, load_floor, newcomer_wait

KEPT = "walk_ins_kept"
LIMITED = "walk_ins_limited"


def kept_issuing(session: Session, service: Service, now: datetime) -> bool:
    """Whether a clerk's latest switch today for ``service`` keeps it issuing."""
    office = service.office
    entries = session.scalars(
        select(AuditEntry)
        .where(
            AuditEntry.office_id == office.id,
            AuditEntry.action.in_((KEPT, LIMITED)),
            AuditEntry.at >= day_start(office, local_today(office, now)),
        )
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
    )
    latest = next((e for e in entries if e.detail.get("service") == service.key), None)
    return latest is not None and latest.action == KEPT


def open_hours_left(office: Office, now: datetime) -> list[tuple[datetime, datetime]]:
    """Today's opening hours from ``now`` on, in order: a break in the day splits them."""
    today = local_today(office, now)
    return sorted(
        (max(start, now), end)
        for start, end in opening_intervals(schedule_for(office, today, today), today)
        if end > now
    )


def called_after_closing(hours_left: list[tuple[datetime, datetime]], wait: timedelta) -> bool:
    """Whether ``wait`` of open time runs past the last of ``hours_left``: nobody is
    called while the office is closed, so a break in the day moves the call later."""
    for start, end in hours_left:
        if start + wait <= end:
            return False
        wait -= end - start
    return bool(hours_left)


def walk_in_hours_left(
    session: Session, service: Service, now: datetime, hours_left: list[tuple[datetime, datetime]]
) -> list[tuple[datetime, datetime]]:
    """[share] ``hours_left`` as time for walk-ins of ``service``: where the office holds
    time back for walk-ins (``booking.walk_in_share``), visits booked from now on take
    their cells, and walk-ins the rest, the held-back time above all (no one can book it).

    A cell is taken when every counter of the service holds a booking there; visits that
    began before now are in the floor's estimate already (``load_floor``), and so are
    those checked in early (their tickets). With nothing held back: ``hours_left``, the
    estimate as it always was (walk-ins go first by the priority rule).
    """
    if not hours_left or not walk_in_share.share_of(service.office, service):
        return hours_left
    counters = [c.id for c in service.counters]
    if not counters:
        return hours_left
    step = timedelta(minutes=service.office.slot_minutes)
    booked: dict[datetime, set[int]] = {}
    for counter, start in session.execute(
        select(BookingSlot.counter_id, BookingSlot.starts_at)
        .join(Booking, Booking.id == BookingSlot.booking_id)
        .where(
            BookingSlot.counter_id.in_(counters),
            BookingSlot.starts_at >= hours_left[0][0] - step,
            BookingSlot.starts_at < hours_left[-1][1],
            Booking.starts_at >= now,
            ~select(Ticket.id).where(Ticket.booking_id == Booking.id).exists(),
        )
    ):
        booked.setdefault(start, set()).add(counter)
    left = hours_left
    for start, held in sorted(booked.items()):
        if len(held) == len(counters):
            left = [
                part
                for a, b in left
                for part in ((a, min(b, start)), (max(a, start + step), b))
                if part[0] < part[1]
            ]
    return left


def runs_past_closing(session: Session, service: Service, now: datetime) -> bool:
    """A ticket taken now would be called after closing, by the floor's own estimate.

    Unknown (no counter open for it) is not "past": the clerks may not have sat down yet.
    [share] The wait is counted in the time left for walk-ins (``walk_in_hours_left``):
    with none left, any ticket would be.
    """
    hours_left = open_hours_left(service.office, now)
    if not hours_left:
        return False
    floor = load_floor(session, service.office, now, now)
    wait = newcomer_wait(service, line(session, service.office, now), floor, now)
    walk_in_time = walk_in_hours_left(session, service, now, hours_left)  # [share]
    return wait is not None and (not walk_in_time or called_after_closing(walk_in_time, wait))


def walk_ins_full(session: Session, service: Service, now: datetime) -> bool:
    return runs_past_closing(session, service, now) and not kept_issuing(session, service, now)


def keep_issuing(
    session: Session, service: Service, keep: bool, staff_id: int, now: datetime
) -> None:
    session.add(
        AuditEntry(
            office_id=service.office_id,
            staff_id=staff_id,
            action=KEPT if keep else LIMITED,
            detail={"service": service.key},
            at=now,
        )
    )


def next_free_start(session: Session, service: Service, now: datetime) -> datetime | None:
    """The earliest appointment still free for ``service``, to offer instead of a ticket:
    the one the office page, its calendar and the API name (``first_free_start``)."""
    if not service.bookable_online:
        return None
    return first_free_start(session, service.office, service, now)
