"""The bookings' ledger for the reports: one row per thing that happened, in its transaction.

A refusal under the sanitary regime is kept apart from whom it refused: its reason is
health-related, and only the admission outcome (deleted after a short time) may tie it
to a booking. Its row names no booking and keeps the day, not the moment, which the
booking's and the ticket's own times would otherwise match.
"""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from .availability import local_today
from .models import Booking, BookingEvent, BookingEventKind, CancelledBy, Office


def note(
    session: Session,
    kind: BookingEventKind,
    office: Office,
    now: datetime,
    *,
    booking: Booking | None = None,
    service_id: int | None = None,
    by: CancelledBy | None = None,
    place: str | None = None,
    reason: str | None = None,
) -> BookingEvent:
    lead = None
    if booking is not None and kind in (BookingEventKind.MADE, BookingEventKind.MOVED):
        lead = int((booking.starts_at - now).total_seconds() // 60)
    day = local_today(office, now)
    refused = kind == BookingEventKind.REFUSED
    event = BookingEvent(
        office_id=office.id,
        service_id=booking.service_id if booking is not None else service_id,
        booking_id=booking.id if booking is not None and not refused else None,
        kind=kind,
        mode=booking.mode if booking is not None else None,
        by=by,
        place=place,
        reason=reason,
        at=datetime.combine(day, time(0), ZoneInfo(office.timezone)) if refused else now,
        day=day,
        lead_minutes=lead,
    )
    session.add(event)
    return event
