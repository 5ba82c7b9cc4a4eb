"""Walk-in capacity: no more tickets for a service whose wait would run past closing time.

A clerk may keep a service issuing for the rest of the day. The switch is an audit entry
(who, when, which service), so it needs no table of its own and lapses at midnight.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from booking.admission import day_start
from booking.availability import first_free_start, local_today, schedule_for
from booking.models import Office, Service
from booking.slots import opening_intervals

from .models import AuditEntry
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


def runs_past_closing(session: Session, service: Service, now: datetime) -> bool:
    """A ticket taken now would be called after closing, by the floor's own estimate.

    Unknown (no counter open for it) is not "past": the clerks may not have sat down yet.
    """
    hours_left = open_hours_left(service.office, now)
    if not hours_left:
        return False
    floor = load_floor(session, service.office, now, now)
    wait = newcomer_wait(service, line(session, service.office, now), floor, now)
    return wait is not None and called_after_closing(hours_left, wait)


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
