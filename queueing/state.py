"""What the floor looks like now: the line, a ticket's place in it, the display's state."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, union_all
from sqlalchemy.orm import Session, selectinload

from booking import admission
from booking.availability import local_today, schedule_for
from booking.models import Booking, BookingStatus, Counter, Office, Service
from booking.slots import opening_intervals

from .estimate import estimated_wait, handling_time
from .models import IN_LINE, StaffUser, Ticket, TicketKind, TicketStatus
from .priority import Waiting, eligible, order

RECENT_CALLS = 8


def as_waiting(ticket: Ticket) -> Waiting:
    return Waiting(
        id=ticket.id,
        service_id=ticket.service_id,
        queued_at=ticket.queued_at,
        issued_at=ticket.issued_at,
        appointment=ticket.booking_id is not None,
        urgent=ticket.urgent,
        target_counter_id=ticket.target_counter_id,
    )


def line(session: Session, office: Office, now: datetime) -> list[Ticket]:
    """Today's tickets waiting for a counter, in the order they will be called."""
    tickets = session.scalars(
        select(Ticket).where(
            Ticket.office_id == office.id,
            Ticket.day == local_today(office, now),
            Ticket.status.in_(IN_LINE),
        )
    ).all()
    by_id = {t.id: t for t in tickets}
    return [by_id[w.id] for w in order(as_waiting(t) for t in tickets)]


def open_counters(session: Session, office: Office) -> list[Counter]:
    """Counters a clerk is signed in at."""
    return list(
        session.scalars(
            select(Counter)
            .join(StaffUser, StaffUser.counter_id == Counter.id)
            .where(Counter.office_id == office.id)
        )
    )


def recent_handling(session: Session, service: Service, limit: int = 20) -> list[timedelta]:
    rows = session.execute(
        select(Ticket.serving_at, Ticket.finished_at)
        .where(
            Ticket.service_id == service.id,
            Ticket.status == TicketStatus.DONE,
            Ticket.serving_at.is_not(None),
        )
        .order_by(Ticket.finished_at.desc())
        .limit(limit)
    )
    return [end - start for start, end in rows if end and start]


def serving(session: Session, service: Service) -> list[Counter]:
    """The open counters that serve ``service``."""
    return [c for c in open_counters(session, service.office) if service in c.services]


def estimate(
    session: Session,
    service: Service,
    ahead: int,
    queued_at: datetime,
    now: datetime,
    counters: list[Counter],
) -> timedelta | None:
    """The wait for a ticket of ``service`` that joined the line at ``queued_at``.

    Booked visits not yet checked in whose slot started before ``queued_at`` (and
    may still check in) will be served first, by the priority rule: each takes
    one handling time on the counters. Later visits never overtake this ticket.
    """
    office = service.office
    handling = handling_time(
        recent_handling(session, service), timedelta(minutes=service.duration_minutes)
    )
    overtaking = session.scalars(
        select(Booking.starts_at).where(
            Booking.service_id == service.id,
            Booking.status == BookingStatus.BOOKED,
            Booking.starts_at < queued_at,
            Booking.starts_at >= now - timedelta(minutes=office.checkin_after_minutes),
            ~select(Ticket.id).where(Ticket.booking_id == Booking.id).exists(),
        )
    ).all()
    return estimated_wait(ahead, handling, len(counters), now, overtaking)


def competing(tickets: list[Ticket], counters: list[Counter]) -> list[Ticket]:
    """Of ``tickets``, those ``counters`` (the ones serving a service) would also take."""
    return [
        t
        for t in tickets
        if any(eligible(as_waiting(t), c.id, {s.id for s in c.services}) for c in counters)
    ]


def place_in_line(session: Session, ticket: Ticket, now: datetime) -> dict[str, Any]:
    """How many are ahead of ``ticket`` and the estimated wait, for the kiosk and the phone."""
    wait: timedelta | None = timedelta(0)
    ahead = 0
    if ticket.status in IN_LINE:
        waiting = line(session, ticket.office, now)
        before = waiting[: next((i for i, t in enumerate(waiting) if t.id == ticket.id), 0)]
        counters = serving(session, ticket.service)
        ahead = len(competing(before, counters))
        wait = estimate(session, ticket.service, ahead, ticket.queued_at, now, counters)
    return {
        "ticket": ticket.label,
        "status": ticket.status.value,
        "ahead": ahead,
        "wait_minutes": None if wait is None else round(wait.total_seconds() / 60),
        "counter": ticket.counter.name if ticket.counter else None,
    }


def waiting_counts(session: Session, office: Office, now: datetime) -> list[dict[str, Any]]:
    """Per service: how many wait, and about how long a newcomer would wait now.

    The same figures as ``estimate`` for each service, read with four queries for the
    whole office (the line, the open counters, recent handling times, booked visits
    still to come) instead of three per service: every floor event recomputes them.
    """
    services = [s for s in office.services if s.walk_in or s.bookable_online]
    tickets = line(session, office, now)
    counters = session.scalars(
        select(Counter)
        .join(StaffUser, StaffUser.counter_id == Counter.id)
        .where(Counter.office_id == office.id)
        .options(selectinload(Counter.services))
    ).all()
    handled = recent_handling_by_service(session, [s.id for s in services])
    overtaking = upcoming_visits(session, office, now)
    result = []
    for service in services:
        serving_it = [c for c in counters if service in c.services]
        ahead = len(competing(tickets, serving_it))
        handling = handling_time(
            handled.get(service.id, []), timedelta(minutes=service.duration_minutes)
        )
        wait = estimated_wait(ahead, handling, len(serving_it), now, overtaking.get(service.id, []))
        result.append(
            {
                "service": service.key,
                "names": service.names,
                "prefix": service.prefix,
                "waiting": sum(1 for t in tickets if t.service_id == service.id),
                "wait_minutes": None if wait is None else round(wait.total_seconds() / 60),
            }
        )
    return result


def recent_handling_by_service(
    session: Session, service_ids: list[int], limit: int = 20
) -> dict[int, list[timedelta]]:
    """``recent_handling`` for several services in one statement: the newest ``limit``
    of each, each part read along the (service, finished) index, whatever the history."""
    parts = [
        select(Ticket.service_id, Ticket.serving_at, Ticket.finished_at)
        .where(
            Ticket.service_id == service_id,
            Ticket.status == TicketStatus.DONE,
            Ticket.serving_at.is_not(None),
        )
        .order_by(Ticket.finished_at.desc())
        .limit(limit)
        .subquery()
        .select()
        for service_id in service_ids
    ]
    result: dict[int, list[timedelta]] = {}
    if not parts:
        return result
    for service_id, start, end in session.execute(union_all(*parts)):
        if start and end:
            result.setdefault(service_id, []).append(end - start)
    return result


def upcoming_visits(session: Session, office: Office, now: datetime) -> dict[int, list[datetime]]:
    """Per service, booked visits not checked in that started before ``now`` and may still
    check in: they overtake a newcomer (``estimate`` with ``queued_at=now``)."""
    rows = session.execute(
        select(Booking.service_id, Booking.starts_at).where(
            Booking.office_id == office.id,
            Booking.status == BookingStatus.BOOKED,
            Booking.starts_at < now,
            Booking.starts_at >= now - timedelta(minutes=office.checkin_after_minutes),
            ~select(Ticket.id).where(Ticket.booking_id == Booking.id).exists(),
        )
    )
    result: dict[int, list[datetime]] = {}
    for service_id, start in rows:
        result.setdefault(service_id, []).append(start)
    return result


def call_payload(ticket: Ticket) -> dict[str, Any]:
    return {
        "ticket_id": ticket.id,
        "ticket": ticket.label,
        "counter": ticket.counter.name if ticket.counter else None,
        "counter_id": ticket.counter_id,
        "service": ticket.service.key,
        "at": (ticket.called_at or ticket.issued_at).isoformat(),
    }


def ticket_event(ticket: Ticket) -> dict[str, Any]:
    """The payload of an event about ``ticket``; the streams add the office's counts
    as they send it (``queueing.feed``), so no floor action computes them."""
    return {**call_payload(ticket), "status": ticket.status.value}


def display_state(session: Session, office: Office, now: datetime) -> dict[str, Any]:
    """Everything a lobby display shows, for its first event and the polling fallback."""
    calls = session.scalars(
        select(Ticket)
        .where(
            Ticket.office_id == office.id,
            Ticket.day == local_today(office, now),
            Ticket.called_at.is_not(None),
            Ticket.kind != TicketKind.PHONE,
        )
        .order_by(Ticket.called_at.desc())
        .limit(RECENT_CALLS)
    ).all()
    return {
        "office": office.name,
        "language": office.language,
        "calls": [call_payload(t) | {"status": t.status.value} for t in calls],
        "waiting": waiting_counts(session, office, now),
        "notices": floor_notices(office, local_today(office, now)),
        "hours": hours_today(office, now),
    }


def hours_today(office: Office, now: datetime) -> list[str]:
    """Today's opening hours as the office's wall-clock times ("07:15–15:15"), for the
    display's idle screen; none on a closed day."""
    today = local_today(office, now)
    zone = ZoneInfo(office.timezone)
    return [
        f"{start.astimezone(zone):%H:%M}–{end.astimezone(zone):%H:%M}"
        for start, end in opening_intervals(schedule_for(office, today, today), today)
    ]


def floor_notices(office: Office, day: date) -> dict[str, list[str]]:
    """The office's notices, with the sanitary regime's first on the days it is on."""
    regime = office.admission.notices if office.admission else {}
    if not admission.regime_active(office, day):
        regime = {}
    languages = set(office.notices) | set(regime)
    return {lang: [*regime.get(lang, []), *office.notices.get(lang, [])] for lang in languages}
