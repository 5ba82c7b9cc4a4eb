"""An office's services as its manager edits them: texts in each language, duration,
ticket prefix, where they are offered, the department, and their order on the kiosk.

A service that was ever booked or ticketed is never deleted (bookings and tickets keep
pointing at it); it can be taken off the booking pages and the kiosk instead. Changing
its duration leaves existing bookings as they were booked: they keep their times.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol, TypeVar

from flask_babel import LazyString, get_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from booking.models import Booking, Office, Service
from booking.offices import RESERVED_KEYS
from booking.versions import touch
from queueing.models import StaffUser, Ticket

from .audit import record, snapshot

# The service's columns the manager edits, in the history's order.
FIELDS = (
    "names",
    "descriptions",
    "documents",
    "duration_minutes",
    "prefix",
    "bookable_online",
    "walk_in",
    "department_id",
    "walk_in_share",  # [share] None: the office's
)
KEY_LENGTH = 64


class ServiceRefused(ValueError):
    """What the office's other services refuse; ``field`` names the form field."""

    def __init__(self, field: str, message: LazyString) -> None:
        super().__init__(str(message))
        self.field = field
        self.message = message


def service_key(names: Mapping[str, str], taken: set[str]) -> str:
    """A key for links (``/o/office/KEY``) made from the service's name: plain ASCII, unique."""
    name = names.get("en") or next((n for n in names.values() if n), "service")
    ascii_name = (
        unicodedata.normalize("NFKD", name.replace("ł", "l").replace("Ł", "L"))
        .encode("ascii", "ignore")
        .decode()
    )
    base = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[: KEY_LENGTH - 4] or "service"
    key, n = base, 2
    while key in taken or key in RESERVED_KEYS:
        key, n = f"{base}-{n}", n + 1
    return key


def _check_prefix(office: Office, service: Service | None, prefix: str) -> None:
    for other in office.services:
        if other is not service and other.prefix == prefix:
            name = other.name(str(get_locale() or office.language))
            raise ServiceRefused("prefix", _l("%(service)s has this letter already.", service=name))


def _check_department(office: Office, department_id: int | None) -> None:
    if department_id is not None and department_id not in {d.id for d in office.departments}:
        raise ServiceRefused("department_id", _l("Choose one of the office's departments."))


def create_service(
    session: Session, now: datetime, actor: StaffUser, office: Office, values: Mapping[str, Any]
) -> Service:
    """A new service, last on the kiosk, serving at no counter yet."""
    _check_prefix(office, None, values["prefix"])
    _check_department(office, values["department_id"])
    service = Service(
        key=service_key(values["names"], {s.key for s in office.services}),
        position=max((s.position for s in office.services), default=-1) + 1,
        **{name: values[name] for name in FIELDS},
    )
    office.services.append(service)
    session.flush()
    record(
        session,
        now,
        actor,
        "create",
        "service",
        service.id,
        office_id=office.id,
        after=snapshot(service, ("key", *FIELDS)),
    )
    touch(session, office.id)
    return service


def update_service(
    session: Session,
    now: datetime,
    actor: StaffUser,
    office: Office,
    service: Service,
    values: Mapping[str, Any],
) -> None:
    """Change what the manager edits; existing bookings keep their times and counters."""
    _check_prefix(office, service, values["prefix"])
    _check_department(office, values["department_id"])
    before = snapshot(service, FIELDS)
    for name in FIELDS:
        setattr(service, name, values[name])
    after = snapshot(service, FIELDS)
    if record(
        session,
        now,
        actor,
        "update",
        "service",
        service.id,
        office_id=office.id,
        before=before,
        after=after,
    ):
        touch(session, office.id)


def in_use(session: Session, service: Service) -> bool:
    """Whether any booking or ticket, of any time, names the service."""
    return bool(
        session.scalar(
            select(
                exists().where(Booking.service_id == service.id)
                | exists().where(Ticket.service_id == service.id)
            )
        )
    )


def delete_service(
    session: Session, now: datetime, actor: StaffUser, office: Office, service: Service
) -> None:
    """Delete a service nobody ever booked or took a ticket for; else ``ServiceRefused``."""
    if in_use(session, service):
        raise ServiceRefused(
            "delete",
            _l(
                "This service has bookings or tickets, so it stays in the history. "
                "Take it off the booking pages and the kiosk instead."
            ),
        )
    before = snapshot(service, ("key", *FIELDS))
    service_id = service.id
    office.services.remove(service)
    session.flush()
    record(session, now, actor, "delete", "service", service_id, office_id=office.id, before=before)
    touch(session, office.id)


class Ordered(Protocol):
    id: int
    position: int


Row = TypeVar("Row", bound=Ordered)


def move_in_order(rows: Sequence[Row], row: Row, step: int) -> dict[int, tuple[int, int]]:
    """Move ``row`` one place up (-1) or down (+1) among ``rows`` (in their order) and number
    them all from 0; the changed positions by id, (before, after)."""
    order = list(rows)
    i = order.index(row)
    j = min(max(i + step, 0), len(order) - 1)
    order[i], order[j] = order[j], order[i]
    changed = {}
    for position, each in enumerate(order):
        if each.position != position:
            changed[each.id] = (each.position, position)
            each.position = position
    return changed


def move_service(
    session: Session, now: datetime, actor: StaffUser, office: Office, service: Service, step: int
) -> None:
    """One place earlier (-1) or later (+1) on the kiosk and the booking pages."""
    changed = move_in_order(office.services, service, step)
    if changed:
        record(
            session,
            now,
            actor,
            "reorder",
            "service",
            service.id,
            office_id=office.id,
            before={str(i): old for i, (old, _new) in changed.items()},
            after={str(i): new for i, (_old, new) in changed.items()},
        )
        touch(session, office.id)
