"""A made-up day on the floor: tickets issued, called, served and closed at the counters.

Each counter with its demo clerk calls, when free, the first ticket in line that it
serves, by the floor's priority rule. A ticket changes as ``queueing.calling`` changes it
and notes the audit entries it writes, with the same actions and details.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from booking import admission
from booking.models import Booking, BookingMode, BookingStatus, Counter, Service
from queueing.closing import REASON as DAY_CLOSED
from queueing.models import StaffUser, Ticket, TicketKind, TicketStatus
from queueing.priority import Waiting, priority

from . import bookings
from .day import Day

# At the counter: a no-show after the last call, transferred then done, parked then done,
# parked and never back (cancelled at the day's close), refused under the sanitary regime.
OUTCOMES = (
    (0.04, ("no_show",)),
    (0.04, ("transfer", "done")),
    (0.04, ("park", "done")),
    (0.01, ("park", "gone")),
    (0.01, ("refuse",)),
)
RECALLED = 0.07
IN_LINE = (TicketStatus.WAITING, TicketStatus.TRANSFERRED, TicketStatus.PARKED)


@dataclass(eq=False)
class Desk:
    """A counter and the demo clerk who sits at it."""

    counter: Counter
    clerk: StaffUser | None
    services: frozenset[int]
    free_at: datetime | None = None


@dataclass(eq=False)
class Visit:
    """One ticket going through the day, and the audit entries it writes."""

    ticket: Ticket
    service: Service
    plan: list[str]  # its turns at a counter: transfer, park, then done/no_show/refuse/gone
    ready_at: datetime  # when a counter may call it
    order: int  # the last word between equals, as the ticket's id is on the floor
    booking: Booking | None = None
    log: list[dict[str, Any]] = field(default_factory=list)

    def note(self, action: str, at: datetime, desk: Desk | None, **detail: Any) -> None:
        self.log.append(
            {
                "office_id": self.ticket.office_id,
                "staff_id": desk.clerk.id if desk and desk.clerk else None,
                "device_id": None,
                "counter_id": desk.counter.id if desk else None,
                "action": action,
                "detail": detail,
                "at": at,
            }
        )

    def rank(self) -> tuple[Any, ...]:
        """The floor's priority rule; a booked phone call is taken at its time, first."""
        t = self.ticket
        booked = self.booking is not None
        waiting = Waiting(self.order, t.service_id, t.queued_at, t.issued_at, booked)
        return (t.kind != TicketKind.PHONE, *priority(waiting))


def arrive(day: Day, service: Service, booking: Booking | None) -> Visit:
    """A walk-in's ticket, an appointment's check-in, or a phone call (its ticket is made
    when the clerk calls); with what will become of it at the counter."""
    rng = day.rng
    if booking is None:
        issued = queued = day.moment(5, 5) + timedelta(seconds=rng.randrange(300))
        kind = TicketKind.WALK_IN
    elif booking.mode == BookingMode.PHONE:
        issued = queued = booking.starts_at
        kind = TicketKind.PHONE
    else:
        issued = max(booking.starts_at + day.minutes(-25, 8), day.hours[0][0])
        queued, kind = booking.starts_at, TicketKind.APPOINTMENT
    plan = ["done"]
    if kind != TicketKind.PHONE:
        r = rng.random()
        for odds, outcome in OUTCOMES:
            if r < odds:
                plan = list(outcome)
                break
            r -= odds
    if (plan[0] == "refuse" and not day.regime) or (
        plan[0] == "transfer" and len(day.of.services) < 2
    ):
        plan = ["done"]
    ticket = Ticket(
        office_id=day.office.id,
        service_id=service.id,
        first_service_id=service.id,
        day=day.date,
        prefix=service.prefix,
        kind=kind,
        status=TicketStatus.WAITING,
        urgent=False,
        queued_at=queued,
        issued_at=issued,
        calls=0,
        recalls=0,
        transfers=0,
        parks=0,
    )
    visit = Visit(ticket, service, plan, issued, len(day.visits), booking)
    if kind != TicketKind.PHONE:
        visit.note("check_in" if booking else "walk_in", issued, None)
    return visit


def run(day: Day) -> None:
    """The counters work through the line until closing time or until nobody is left."""
    line = list(day.visits)
    opens = day.hours[0][0]
    for desk in day.of.desks:
        desk.free_at = opens
    while line:
        desks = [d for d in day.of.desks if d.free_at is not None]
        if not desks:
            return
        desk = min(desks, key=lambda d: d.free_at or opens)
        free = desk.free_at or opens
        at = next((max(a, free) for a, b in day.hours if free < b), None)
        mine = [v for v in line if v.ticket.service_id in desk.services]
        if at is None or not mine:
            desk.free_at = None  # closed, or nobody left for this counter
            continue
        ready = [v for v in mine if v.ready_at <= at]
        if not ready:
            desk.free_at = min(v.ready_at for v in mine) + day.minutes(0.2, 1.5)
            continue
        visit = min(ready, key=Visit.rank)
        line.remove(visit)
        if _turn(day, visit, desk, at):
            line.append(visit)


def _turn(day: Day, visit: Visit, desk: Desk, at: datetime) -> bool:
    """One turn of ``visit`` at ``desk`` from ``at``; whether it goes back in line."""
    t, step, rng = visit.ticket, visit.plan.pop(0), day.rng
    t.counter_id, t.called_at, t.calls = desk.counter.id, at, t.calls + 1
    t.first_called_at = t.first_called_at or at
    if t.kind == TicketKind.PHONE:
        t.issued_at = at
        visit.note("phone", at, desk)
    else:
        if t.wait_seconds is None:
            t.wait_seconds = (t.first_called_at - t.issued_at).total_seconds()
            if visit.booking is not None:
                t.late_seconds = (t.first_called_at - visit.booking.starts_at).total_seconds()
        visit.note("call", at, desk)
        recalls = day.office.max_calls - 1 if step == "no_show" else rng.random() < RECALLED
        for _ in range(recalls):
            at += day.minutes(1, 2.5)
            t.calls, t.recalls, t.called_at = t.calls + 1, t.recalls + 1, at
            visit.note("recall", at, desk, calls=t.calls)
        at += day.minutes(0.3, 1.5)  # the resident comes up to the counter
    if step in ("no_show", "refuse"):
        t.status = TicketStatus.NO_SHOW if step == "no_show" else TicketStatus.REFUSED
        t.finished_at = at
        t.closed_reason = "refused" if step == "refuse" else None
        visit.note(step, at, desk)
        desk.free_at = at + day.minutes(0.5, 2)
        return False
    t.status, t.serving_at = TicketStatus.SERVING, at
    t.served_by_id = desk.clerk.id if desk.clerk else None
    if t.kind != TicketKind.PHONE:
        visit.note("serve", at, desk)
    if step == "done":
        share = min(max(rng.lognormvariate(-0.3, 0.35), 0.15), 2.5)  # a median of 0.74
        at += timedelta(seconds=round(visit.service.duration_minutes * 60 * share))
        t.status, t.finished_at = TicketStatus.DONE, at
        t.service_seconds = (at - t.serving_at).total_seconds()
        visit.note("finish", at, desk)
    elif step == "transfer":
        at += day.minutes(2, 6)
        others = [
            (s, w)
            for s, w in zip(day.of.services, day.of.weights, strict=True)
            if s != visit.service
        ]
        visit.service = rng.choices([s for s, _ in others], [w for _, w in others])[0]
        t.status, t.transferred_at, t.transfers = TicketStatus.TRANSFERRED, at, t.transfers + 1
        t.service_id, t.counter_id, t.calls = visit.service.id, None, 0
        visit.note("transfer", at, desk, service=visit.service.key, counter=None)
        visit.ready_at = at
    else:  # parked: the resident fetches a document, and comes back or not
        at += day.minutes(1, 4)
        t.status, t.parked_at, t.parks = TicketStatus.PARKED, at, t.parks + 1
        t.counter_id, t.calls = None, 0
        visit.note("park", at, desk)
        visit.ready_at = at + day.minutes(5, 25)
    desk.free_at = at + day.minutes(0.5, 2.5)
    return t.status != TicketStatus.DONE and visit.plan[0] != "gone"


def close(day: Day, closes: datetime) -> None:
    """The day's close cancels what is left in line (a phone call never made leaves no
    ticket); a refusal at the counter refuses its booking and goes to the ledger."""
    at = min(closes + day.minutes(0, 5), day.of.now)  # the close job runs every 5 minutes
    for visit in list(day.visits):
        t = visit.ticket
        if t.status in IN_LINE and t.kind == TicketKind.PHONE:
            day.visits.remove(visit)
        elif t.status in IN_LINE:  # parked after closing time: closed by the job's next run
            last = max(at, visit.log[-1]["at"] + day.minutes(0, 5))
            t.status, t.closed_reason, t.finished_at = TicketStatus.CANCELLED, DAY_CLOSED, last
            visit.note("day_close", last, None)
        elif t.status == TicketStatus.REFUSED and t.finished_at is not None:
            if visit.booking is not None:
                bookings.end(visit.booking, BookingStatus.REFUSED, t.finished_at)
            reason = day.rng.choice(list(admission.COUNTER_REASONS))
            bookings.refused(day, visit.booking, "counter", t.finished_at, reason)
