"""Which ticket a counter calls next: a plain function over plain values.

Urgent tickets (flagged by staff) go first. Otherwise tickets are ordered by
the time they joined the line: a walk-in when it arrived, an appointment that
checked in on time at the start of its slot. So a booked resident is served
before walk-ins who came after the slot began, but not before those who were
already waiting; on a tie the appointment goes first.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Waiting:
    id: int
    service_id: int
    queued_at: datetime
    issued_at: datetime
    appointment: bool = False
    urgent: bool = False
    target_counter_id: int | None = None


def priority(ticket: Waiting) -> tuple[bool, datetime, bool, datetime, int]:
    return (
        not ticket.urgent,
        ticket.queued_at,
        not ticket.appointment,
        ticket.issued_at,
        ticket.id,
    )


def eligible(ticket: Waiting, counter_id: int, services: set[int]) -> bool:
    """A counter takes tickets for its services, and those transferred to it by name."""
    if ticket.target_counter_id is not None:
        return ticket.target_counter_id == counter_id
    return ticket.service_id in services


def order(tickets: Iterable[Waiting]) -> list[Waiting]:
    return sorted(tickets, key=priority)


def choose_next(tickets: Iterable[Waiting], counter_id: int, services: set[int]) -> Waiting | None:
    """The ticket ``counter_id`` (serving ``services``) should call now, if any."""
    candidates = [t for t in tickets if eligible(t, counter_id, services)]
    return min(candidates, key=priority, default=None)
