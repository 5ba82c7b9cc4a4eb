"""Calendar files for a booking: no personal data, stable UID, rising SEQUENCE."""

from __future__ import annotations

from datetime import UTC, datetime

from icalendar import Calendar, Event

from .models import Booking


def booking_uid(booking: Booking, domain: str) -> str:
    return f"booking-{booking.code.lower()}@{domain}"


def booking_calendar(
    booking: Booking,
    *,
    summary: str,
    description: str,
    domain: str,
    now: datetime,
    organizer: str,
    cancel: bool = False,
) -> bytes:
    """An iCalendar file for ``booking``; ``cancel`` makes the METHOD:CANCEL that removes it.

    Times are written in UTC: the VTIMEZONE icalendar generates is a list of
    RDATEs, which vobject misreads in summer and Outlook does not support, while
    UTC instants are read the same by every client and shown in the reader's zone.
    """
    office = booking.office
    calendar = Calendar()
    calendar.add("prodid", "-//Okienko//Booking//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "CANCEL" if cancel else "PUBLISH")
    event = Event()
    event.add("uid", booking_uid(booking, domain))
    event.add("sequence", booking.sequence)
    event.add("dtstamp", now)
    event.add("dtstart", booking.starts_at.astimezone(UTC))
    event.add("dtend", booking.ends_at.astimezone(UTC))
    event.add("summary", summary)
    event.add("description", description)
    name = office.name_in(booking.language)
    event.add("location", f"{name}, {office.address}")
    # RFC 5546 wants an ORGANIZER on CANCEL, or clients ignore it: the office, never the resident.
    event.add("organizer", f"mailto:{organizer}", parameters={"CN": name})
    event.add("status", "CANCELLED" if cancel else "CONFIRMED")
    event.add("transp", "OPAQUE")
    calendar.add_component(event)
    return calendar.to_ical()
