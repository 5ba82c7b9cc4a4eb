"""An office's counters as its manager edits them: names, order, the services each serves,
the clerk's seat, and removal.

Taking a service off a counter, or removing the counter, may take away time someone
booked: the views make those changes through ``admin.changes`` (the bookings are moved to
another counter at the same time, or cancelled with the manager's reason). A counter that
ever had a booking, a ticket or a clerk's action in its history cannot be deleted without
breaking that history; it is retired instead (``retired_at``): it serves nothing from then
on, no clerk can sit at it, and it is listed apart under its name.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, or_, select, update
from sqlalchemy.orm import Session

from booking.models import Booking, BookingSlot, Counter, Office, Service
from booking.versions import touch
from queueing.models import IN_LINE, AuditEntry, StaffUser, Ticket
from queueing.staff import release_counter

from .audit import record
from .services import move_in_order


class CounterRefused(ValueError):
    """What the office's other counters refuse; ``field`` names the form field."""

    def __init__(self, field: str, message: LazyString) -> None:
        super().__init__(str(message))
        self.field = field
        self.message = message


class Removal(StrEnum):
    DELETED = "deleted"
    RETIRED = "retired"


def _described(counter: Counter) -> dict[str, object]:
    return {
        "name": counter.name,
        "position": counter.position,
        "services": sorted(s.id for s in counter.services),
    }


def in_service(office: Office) -> list[Counter]:
    """The office's counters but the retired ones, in their order."""
    return [c for c in office.counters if c.retired_at is None]


def _check_name(office: Office, counter: Counter | None, name: str) -> None:
    for other in office.counters:
        if other is not counter and other.name == name:
            if other.retired_at is not None:
                raise CounterRefused(
                    "name", _l("A removed counter, kept for its history, has this name.")
                )
            raise CounterRefused("name", _l("Another counter has this name."))


def create_counter(
    session: Session,
    now: datetime,
    actor: StaffUser,
    office: Office,
    name: str,
    services: Sequence[Service],
) -> Counter:
    """A new counter, last in the office's order, serving ``services``."""
    _check_name(office, None, name)
    counter = Counter(
        name=name,
        position=max((c.position for c in office.counters), default=-1) + 1,
        services=list(services),
    )
    office.counters.append(counter)
    session.flush()
    record(
        session,
        now,
        actor,
        "create",
        "counter",
        counter.id,
        office_id=office.id,
        after=_described(counter),
    )
    touch(session, office.id)  # more counter time: more free times
    return counter


def update_counter(
    session: Session,
    now: datetime,
    actor: StaffUser,
    office: Office,
    counter: Counter,
    name: str,
    services: Sequence[Service],
) -> None:
    """Rename the counter and set its services; a service taken off leaves its bookings
    to ``admin.changes.settle``."""
    _check_name(office, counter, name)
    before = _described(counter)
    counter.name = name
    counter.services = list(services)
    if record(
        session,
        now,
        actor,
        "update",
        "counter",
        counter.id,
        office_id=office.id,
        before=before,
        after=_described(counter),
    ):
        touch(session, office.id)


def take_everything_off(session: Session, counter: Counter) -> dict[str, object]:
    """The first step of removing a counter: it serves nothing, so ``settle`` finds the
    bookings it held. Tickets sent to it by name go back to their service's line. Returns
    the counter as it was, for the history entry of ``finish_removal``."""
    before = _described(counter)
    counter.services = []
    session.execute(
        update(Ticket)
        .where(Ticket.target_counter_id == counter.id, Ticket.status.in_(IN_LINE))
        .values(target_counter_id=None)
        .execution_options(synchronize_session=False)
    )
    touch(session, counter.office_id)
    return before


def has_history(session: Session, counter: Counter) -> bool:
    """Whether a booking, a ticket or a floor action names the counter: it cannot go."""
    named = or_(
        exists().where(Booking.counter_id == counter.id),
        exists().where(BookingSlot.counter_id == counter.id),
        exists().where(
            or_(Ticket.counter_id == counter.id, Ticket.target_counter_id == counter.id)
        ),
        exists().where(AuditEntry.counter_id == counter.id),
    )
    return bool(session.scalar(select(named)))


def seated_clerk(session: Session, counter: Counter) -> StaffUser | None:
    return session.scalar(select(StaffUser).where(StaffUser.counter_id == counter.id))


def release_seat(
    session: Session, now: datetime, actor: StaffUser, office: Office, counter: Counter
) -> tuple[StaffUser, str | None] | None:
    """Free the counter of the clerk who sits at it (a ticket they hold is parked, not
    lost); the clerk and the parked ticket's label, or None if nobody sat there."""
    clerk = seated_clerk(session, counter)
    if clerk is None:
        return None
    parked = release_counter(session, clerk, now)
    record(
        session,
        now,
        actor,
        "release",
        "counter",
        counter.id,
        office_id=office.id,
        before={"clerk": clerk.username},
        after={"clerk": None, "parked": parked},
    )
    return clerk, parked


def finish_removal(
    session: Session,
    now: datetime,
    actor: StaffUser,
    office: Office,
    counter: Counter,
    before: dict[str, object],
) -> Removal:
    """The last step of removing a counter, once ``settle`` moved its bookings away:
    the clerk's seat is freed, and the counter deleted, or retired if its history needs it.
    ``before`` is what ``take_everything_off`` returned: the counter with its services."""
    release_seat(session, now, actor, office, counter)
    counter_id = counter.id
    session.flush()
    if has_history(session, counter):
        counter.position = max(c.position for c in office.counters) + 1
        counter.retired_at = now
        record(
            session,
            now,
            actor,
            "retire",
            "counter",
            counter.id,
            office_id=office.id,
            before=before,
            after={**_described(counter), "retired_at": now},
        )
        return Removal.RETIRED
    office.counters.remove(counter)
    session.flush()
    record(session, now, actor, "delete", "counter", counter_id, office_id=office.id, before=before)
    return Removal.DELETED


def move_counter(
    session: Session, now: datetime, actor: StaffUser, office: Office, counter: Counter, step: int
) -> None:
    """One place earlier (-1) or later (+1): new bookings go to the first free counter."""
    changed = move_in_order(in_service(office), counter, step)
    if changed:
        record(
            session,
            now,
            actor,
            "reorder",
            "counter",
            counter.id,
            office_id=office.id,
            before={str(i): old for i, (old, _new) in changed.items()},
            after={str(i): new for i, (_old, new) in changed.items()},
        )
        touch(session, office.id)
