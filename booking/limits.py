"""What an office's settings may be: the bounds of its numbers, and when its slot grid and
time zone may change. The office file (``booking/importer.py``) and the settings page at
/admin/ both check these, so neither can save what the other refuses.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, inspect, select
from sqlalchemy.orm import Session

from .models import Booking, BookingStatus, Office

# Lowest and highest value of each whole-number setting. Beyond them a number overflows
# the database's integer, or the booking calendar's dates (days ahead).
BOUNDS: dict[str, tuple[int, int]] = {
    "slot_minutes": (1, 60),
    "min_notice_minutes": (0, 10080),
    "max_days_ahead": (1, 730),
    "max_active_bookings_per_contact": (1, 100),
    "checkin_before_minutes": (0, 240),
    "checkin_after_minutes": (0, 240),
    "max_calls": (1, 20),
    "call_cooldown_seconds": (0, 600),
    "waitlist_hold_minutes": (1, 1440),  # [waitlist]
    "rebook_delay_minutes": (0, 1440),  # [waitlist]
    "retention_days": (1, 3650),
    # A service's visit, and the sanitary regime's two numbers.
    "duration_minutes": (1, 480),
    "link_hours_before": (0, 168),
    "rebook_after_days": (0, 365),
    # [share] Per cent of each day's counter time held back for walk-ins.
    "walk_in_share": (0, 100),
    # [confirm] how long a booking waits for its confirmation by mail
    "confirm_minutes": (1, 1440),
}


def within(name: str, value: object) -> bool:
    """Whether ``value`` is a whole number (not a truth value) within ``name``'s bounds."""
    low, high = BOUNDS[name]
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def divides_hour(minutes: int) -> bool:
    return minutes > 0 and 60 % minutes == 0


def zone_on_grid(timezone: str, minutes: int) -> bool:
    """Whether the zone's offsets from UTC, winter and summer, are whole multiples of the grid.

    Cells are counted from the epoch in UTC; that is the local grid only when the grid
    divides an hour and the zone's offsets are whole multiples of it.
    """
    zone = ZoneInfo(timezone)
    for month in (1, 7):
        offset = datetime(date.today().year, month, 15, tzinfo=zone).utcoffset()
        if (offset or timedelta(0)).total_seconds() % (minutes * 60):
            return False
    return True


def upcoming_bookings(session: Session, office: Office, now: datetime) -> int:
    """Booked visits not over yet: they hold cells of the present grid, at instants that
    mean the present time zone's clock times; neither may change under them."""
    if not inspect(office).has_identity:  # a new office, not in the database yet
        return 0
    return (
        session.scalar(
            select(func.count(Booking.id)).where(
                Booking.office_id == office.id,
                # [confirm] a pending booking holds cells of the grid too
                Booking.status.in_((BookingStatus.BOOKED, BookingStatus.PENDING)),
                Booking.ends_at > now,
            )
        )
        or 0
    )
