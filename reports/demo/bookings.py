"""Made-up bookings of a demo day and the bookings' ledger rows they leave.

Past bookings are written as the retention job leaves them: no name, no contacts, a
manage token nobody has, ``anonymized_at`` set. They hold no slots: those are only
kept for times to come.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from booking.codes import ALPHABET, CODE_LENGTH
from booking.models import (
    Booking,
    BookingEventKind,
    BookingMode,
    BookingStatus,
    CancelledBy,
    Service,
)
from okienko.tokens import hash_token, new_token

from .day import Day

MOVED = 0.08
FORM_REFUSED = 0.3  # of the phone calls: booked after the booking form's questions refused
# Per booking that came, the chance of one more that did not, and what became of it.
NOT_CAME = 0.3
FATES = {"cancelled": 45, "missed": 30, "office": 8, "online": 10, "kiosk": 7}
PHONE_CANCELLED = 0.12


def book(day: Day, service: Service, *, phone: bool = False, hold: bool = True) -> Booking | None:
    """A booking of a free slot that day, made some time before; None if none was free."""
    office, rng = day.office, day.rng
    slot = office.slot_minutes
    cells = -(-service.duration_minutes // slot)
    counters = [c.id for c in service.counters if c.retired_at is None]
    for _ in range(6):
        start = day.moment(slot, cells * slot)
        counter = rng.choice(counters)
        held = {(counter, start + timedelta(minutes=slot * i)) for i in range(cells)}
        if not held & day.taken:
            break
    else:
        return None
    if hold:
        day.taken |= held
    made = start - _lead(day)
    booking = Booking(
        code=_code(day),
        manage_token_hash=hash_token(new_token()),
        office_id=office.id,
        service_id=service.id,
        counter_id=counter,
        starts_at=start,
        ends_at=start + timedelta(minutes=service.duration_minutes),
        status=BookingStatus.BOOKED,
        mode=BookingMode.PHONE if phone else BookingMode.IN_PERSON,
        name="",
        language=office.language,
        consent_at=made,
        created_at=made,
        sequence=0,
        anonymized_at=day.of.now,
    )
    day.bookings.append(booking)
    if phone and rng.random() < FORM_REFUSED:
        refused(day, None, "booking", made - day.minutes(1, 3))
    booked_for, changed = start, made
    if rng.random() < MOVED:  # first booked a few days later, then moved here
        booked_for = start + timedelta(days=rng.choice((1, 2, 3, 7)))
        notice = timedelta(minutes=office.min_notice_minutes)
        changed = made + (start - made - notice) * rng.uniform(0.2, 0.8)
    event(day, booking, BookingEventKind.MADE, made, lead=booked_for)
    if changed != made:
        event(day, booking, BookingEventKind.MOVED, changed, lead=start)
        booking.sequence += 1
    eve = start.astimezone(day.of.zone).date() - timedelta(days=1)
    due = datetime.combine(eve, office.reminder_time or time(16), day.of.zone)
    if changed < due:  # the reminder job's rule: booked before the reminder time
        booking.reminder_sent_at = due + day.minutes(0, 4)
    return booking


def _lead(day: Day) -> timedelta:
    """How far ahead people book: a quarter within a day, half within a week."""
    office, r = day.office, day.rng.random()
    shortest = office.min_notice_minutes
    if r < 0.25:
        minutes = day.rng.uniform(shortest, 1440)
    elif r < 0.75:
        minutes = day.rng.uniform(1440, 7 * 1440)
    else:
        minutes = day.rng.uniform(7 * 1440, min(30, office.max_days_ahead) * 1440)
    return timedelta(minutes=round(max(minutes, shortest)))


def _code(day: Day) -> str:
    while (code := "".join(day.rng.choices(ALPHABET, k=CODE_LENGTH))) in day.of.codes:
        pass
    day.of.codes.add(code)
    return code


def not_came(day: Day) -> None:
    """A booking that ended without a visit: cancelled, missed, or refused beforehand
    (refusals only on the sanitary regime's days)."""
    fates = {k: v for k, v in FATES.items() if day.regime or k not in ("online", "kiosk")}
    fate = day.rng.choices(list(fates), list(fates.values()))[0]
    service = day.service()
    if not service.bookable_online:
        return
    phone = day.regime and fate == "cancelled" and day.rng.random() < PHONE_CANCELLED
    booking = book(day, service, phone=phone, hold=fate == "missed")
    if booking is None:
        return
    start, office = booking.starts_at, day.office
    since = max(row["at"] for b, row in day.events if b is booking)  # made, or moved
    if fate in ("cancelled", "office"):
        at = since + (start - since) * day.rng.uniform(0.1, 0.95)
        by = CancelledBy.RESIDENT if fate == "cancelled" else CancelledBy.OFFICE
        booking.cancelled_at, booking.cancelled_by = at, by
        end(booking, BookingStatus.CANCELLED, at)
        event(day, booking, BookingEventKind.CANCELLED, at, by=by)
    elif fate == "missed":  # the no-show job runs every minute; it leaves the sequence
        booking.status = BookingStatus.NO_SHOW
        late = timedelta(minutes=office.checkin_after_minutes) + day.minutes(0, 1)
        event(day, booking, BookingEventKind.NO_SHOW, start + late)
    else:  # refused online before the visit, or by the kiosk's questions on arrival
        policy = office.admission
        link = policy.link_hours_before * 60 if policy else 24 * 60
        at = start - (day.minutes(30, link) if fate == "online" else day.minutes(0, 20))
        at = max(at, since + (start - since) / 2)
        end(booking, BookingStatus.REFUSED, at)
        refused(day, booking, fate, at)


def end(booking: Booking, status: BookingStatus, at: datetime) -> None:
    """Cancelled or refused at ``at``: a reminder not yet sent then never was."""
    booking.status, booking.sequence = status, booking.sequence + 1
    if status == BookingStatus.REFUSED:
        booking.refused_at = at
    if booking.reminder_sent_at is not None and booking.reminder_sent_at > at:
        booking.reminder_sent_at = None


def refused(
    day: Day, booking: Booking | None, place: str, at: datetime, reason: str | None = None
) -> None:
    """Not admitted under the sanitary regime: the question that refused, or the clerk's
    listed ``reason``."""
    reason = reason or day.rng.choice(day.of.questions)
    event(day, booking, BookingEventKind.REFUSED, at, place=place, reason=reason)
    # As the ledger keeps a refusal: the day, and no link to the booking.
    _, row = day.events.pop()
    row["at"] = datetime.combine(row["day"], time(0), day.of.zone)
    day.events.append((None, row))


def event(
    day: Day,
    booking: Booking | None,
    kind: BookingEventKind,
    at: datetime,
    *,
    lead: datetime | None = None,
    by: CancelledBy | None = None,
    place: str | None = None,
    reason: str | None = None,
) -> None:
    """A row of the bookings' ledger, as ``booking.ledger.note`` writes it."""
    row = {
        "office_id": day.office.id,
        "service_id": booking.service_id if booking else None,
        "kind": kind,
        "mode": booking.mode if booking else None,
        "by": by,
        "place": place,
        "reason": reason,
        "at": at,
        "day": at.astimezone(day.of.zone).date(),
        "lead_minutes": int((lead - at).total_seconds() // 60) if lead else None,
    }
    day.events.append((booking, row))
