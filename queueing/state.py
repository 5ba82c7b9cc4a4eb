"""What the floor looks like now: the line, a ticket's place in it, the display's state."""

from __future__ import annotations

import bisect
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, union_all
from sqlalchemy.orm import Session, selectinload

from booking import admission
from booking.availability import local_today, schedule_for
from booking.models import Booking, BookingStatus, Counter, Office, Service
from booking.slots import opening_intervals

from .estimate import OpenCounter, free_at, handling_time, play_out
from .models import IN_LINE, StaffUser, Ticket, TicketKind, TicketStatus, holds_counter
from .priority import Waiting, eligible, order, priority

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


@dataclass(frozen=True)
class Place:
    ahead: int
    wait: timedelta | None  # None: no open counter would take the ticket


@dataclass(frozen=True)
class Floor:
    """What the estimates read of an office at one moment, in a fixed number of queries."""

    counters: Sequence[Counter]  # the open ones, their services loaded
    # By counter: when its current ticket was called or started, and that ticket's service.
    busy: dict[int, tuple[datetime, int]]
    handling: dict[int, timedelta]  # by service (all the office's): expected handling time
    visits: dict[int, list[datetime]]  # by service: booked visits that may still check in

    def serving(self, service_id: int) -> list[Counter]:
        """The open counters that serve the service."""
        return [c for c in self.counters if any(s.id == service_id for s in c.services)]

    def open_counters(self, now: datetime) -> list[OpenCounter]:
        """The open counters, each free when its current ticket's handling time is up."""
        result = []
        for counter in self.counters:
            busy = self.busy.get(counter.id)
            free = now if busy is None else free_at(busy[0], self.handling[busy[1]], now)
            result.append(OpenCounter(counter.id, {s.id for s in counter.services}, free))
        return result

    def starts(
        self, line: Sequence[Waiting], targets: Collection[int], now: datetime
    ) -> dict[int, datetime]:
        """``estimate.play_out`` of ``line`` on this floor, until ``targets`` get a counter."""
        return play_out(line, self.open_counters(now), self.handling, self.visits, targets)


def load_floor(
    session: Session,
    office: Office,
    now: datetime,
    until: datetime,
) -> Floor:
    """The office's ``Floor``, with the booked visits whose slots begin before ``until``
    (the latest ``queued_at`` to be estimated: later ones never go before it).

    Handling times are read for every service of the office: any ticket in line, or at
    a counter, may hold a counter up, whatever service is being estimated."""
    counters = session.scalars(
        select(Counter)
        .join(StaffUser, StaffUser.counter_id == Counter.id)
        .where(Counter.office_id == office.id)
        .options(selectinload(Counter.services))
    ).all()
    busy: dict[int, tuple[datetime, int]] = {}
    for cid, status, serving_at, called_at, service_id in session.execute(
        select(
            Ticket.counter_id,
            Ticket.status,
            Ticket.serving_at,
            Ticket.called_at,
            Ticket.service_id,
        ).where(Ticket.counter_id.in_([c.id for c in counters]), holds_counter())
    ):
        # Served since it started; only called: since the call (``serving_at`` may be
        # left from before the ticket was parked or sent on).
        since = (serving_at if status == TicketStatus.SERVING else None) or called_at
        if cid is not None and since is not None:
            busy[cid] = (since, service_id)
    services = office.services
    recent = recent_handling_by_service(session, [s.id for s in services])
    return Floor(
        counters=counters,
        busy=busy,
        handling={
            s.id: handling_time(recent.get(s.id, []), timedelta(minutes=s.duration_minutes))
            for s in services
        },
        visits=booked_visits(session, office, now, until),
    )


def places_in_line(tickets: Sequence[Ticket], floor: Floor, now: datetime) -> list[Place]:
    """The place of each of ``tickets`` (a line, in its order): the one rule for the
    kiosk's slip, the phone and the estimates.

    ``ahead`` counts the tickets before it that the open counters serving its
    service would also take. With no such counter open it counts those of the same
    service: "first in line for its service" still means something then. The wait is
    until it gets a counter as the line is played out once (``Floor.starts``).
    """
    services = {t.service_id for t in tickets}
    serving = {sid: floor.serving(sid) for sid in services}
    waiting = [as_waiting(t) for t in tickets]
    starts = floor.starts(waiting, [w.id for w in waiting], now)
    taken = dict.fromkeys(services, 0)  # per service: tickets so far its counters would take
    same = dict.fromkeys(services, 0)  # per service: tickets so far of that service
    result = []
    for ticket in waiting:
        sid = ticket.service_id
        ahead = taken[sid] if serving[sid] else same[sid]
        start = starts.get(ticket.id)
        result.append(Place(ahead, None if start is None else start - now))
        same[sid] += 1
        for other, counters in serving.items():
            if any(eligible(ticket, c.id, {s.id for s in c.services}) for c in counters):
                taken[other] += 1
    return result


def line_places(
    session: Session, office: Office, tickets: Sequence[Ticket], now: datetime
) -> list[Place]:
    """``places_in_line`` of ``tickets`` (a non-empty line of ``office``, in order), with
    the floor read for them."""
    floor = load_floor(session, office, now, max(t.queued_at for t in tickets))
    return places_in_line(tickets, floor, now)


def newcomer_wait(
    service: Service, tickets: Sequence[Ticket], floor: Floor, now: datetime
) -> timedelta | None:
    """The wait of a ticket of ``service`` taken ``now`` behind ``tickets`` (the line):
    it joins the line where the priority rule puts it (after everyone but those checked
    in early for a later slot), and the line is played out until it gets a counter."""
    if not floor.serving(service.id):
        return None
    waiting = [as_waiting(t) for t in tickets]
    newcomer = Waiting(
        id=max((w.id for w in waiting), default=0) + 1,  # issued after all of them
        service_id=service.id,
        queued_at=now,
        issued_at=now,
    )
    waiting.insert(bisect.bisect(waiting, priority(newcomer), key=priority), newcomer)
    start = floor.starts(waiting, [newcomer.id], now).get(newcomer.id)
    return None if start is None else start - now


def place_in_line(session: Session, ticket: Ticket, now: datetime) -> dict[str, Any]:
    """How many are ahead of ``ticket`` and the estimated wait, for the kiosk and the phone."""
    wait: timedelta | None = timedelta(0)
    ahead = 0
    if ticket.status in IN_LINE:
        waiting = line(session, ticket.office, now)
        before = waiting[: next((i for i, t in enumerate(waiting) if t.id == ticket.id), 0)]
        place = line_places(session, ticket.office, [*before, ticket], now)[-1]
        ahead, wait = place.ahead, place.wait
    return {
        "ticket": ticket.label,
        "status": ticket.status.value,
        "ahead": ahead,
        "wait_minutes": None if wait is None else round(wait.total_seconds() / 60),
        "counter": ticket.counter.name if ticket.counter else None,
    }


def waiting_counts(session: Session, office: Office, now: datetime) -> list[dict[str, Any]]:
    """Per service: how many wait, and about how long a newcomer would wait now.

    Read with a fixed number of queries for the whole office (the line, the open
    counters and their tickets, recent handling times, booked visits still to come)
    instead of some per service: every floor event recomputes them.
    """
    services = [s for s in office.services if s.walk_in or s.bookable_online]
    tickets = line(session, office, now)
    floor = load_floor(session, office, now, now)
    result = []
    for service in services:
        wait = newcomer_wait(service, tickets, floor, now)
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
    """The handling times of the newest ``limit`` finished visits of each service, in one
    statement, each part read along the (service, finished) index, whatever the history."""
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


def booked_visits(
    session: Session, office: Office, now: datetime, until: datetime
) -> dict[int, list[datetime]]:
    """Per service, booked visits not checked in that may still check in, starting before
    ``until``: each overtakes the tickets that joined the line after its slot began."""
    rows = session.execute(
        select(Booking.service_id, Booking.starts_at).where(
            Booking.office_id == office.id,
            Booking.status == BookingStatus.BOOKED,
            Booking.starts_at < until,
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
