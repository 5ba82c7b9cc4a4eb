"""One made-up day of an office: its hours, its randomness, and what it leaves behind."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from itertools import accumulate
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from booking import admission
from booking.models import Booking, Office, Service
from booking.slots import Schedule, opening_intervals

if TYPE_CHECKING:
    from .floor import Desk, Visit

# Arrivals by local hour: a morning peak, a dip at lunch, nobody outside 7-19 (so the
# office open around the clock gets a daytime pattern too).
HOURS = {7: 5, 8: 13, 9: 17, 10: 16, 11: 13, 12: 9, 13: 8, 14: 9, 15: 7, 16: 5, 17: 3, 18: 2}
STAFFED = (time(7), time(19))


@dataclass(frozen=True)
class Pattern:
    monthly: int  # visitors served in a month
    services: dict[str, float]  # service key: how often it is asked for
    booked: float  # the share of visits booked ahead


@dataclass
class Setting:
    """What stays the same through an office's made-up days."""

    office: Office
    pattern: Pattern
    services: list[Service]  # those a demo clerk's counter serves
    desks: list[Desk]
    schedule: Schedule
    now: datetime
    codes: set[str]  # booking codes in use

    def __post_init__(self) -> None:
        self.zone = ZoneInfo(self.office.timezone)
        self.weights = [self.pattern.services[s.key] for s in self.services]
        self.totals = list(accumulate(self.weights))
        self.questions = [q.key for q in self.office.questions] or [
            key for key, _texts in admission.DEFAULT_QUESTIONS
        ]


@dataclass(eq=False)
class Day:
    """One open day: its hours within 7-19, and the tickets, bookings and ledger rows made."""

    of: Setting
    date: date
    rng: random.Random
    visits: list[Visit] = field(default_factory=list)
    bookings: list[Booking] = field(default_factory=list)
    events: list[tuple[Booking | None, dict[str, Any]]] = field(default_factory=list)
    taken: set[tuple[int, datetime]] = field(default_factory=set)  # (counter, slot) booked
    _grids: dict[tuple[int, int], tuple[list[datetime], list[float]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        zone = self.of.zone
        low, high = (datetime.combine(self.date, at, zone) for at in STAFFED)
        self.hours = [
            (max(a, low), min(b, high))
            for a, b in opening_intervals(self.of.schedule, self.date)
            if a < high and b > low
        ]
        self.regime = admission.regime_active(self.of.office, self.date)

    @property
    def office(self) -> Office:
        return self.of.office

    def minutes(self, low: float, high: float) -> timedelta:
        return timedelta(seconds=round(self.rng.uniform(low, high) * 60))

    def service(self) -> Service:
        return self.rng.choices(self.of.services, cum_weights=self.of.totals)[0]

    def moment(self, step: int, length: int) -> datetime:
        """A start on a ``step``-minute grid of the hours at least ``length`` minutes before
        they end, likelier in busy hours; the first opening if there is none."""
        if (step, length) not in self._grids:
            starts: list[datetime] = []
            weights: list[float] = []
            for a, b in self.hours:
                # Within 7-19 the clocks never change: the local hour follows from the start.
                local = a.astimezone(self.of.zone)
                first = local.hour * 60 + local.minute
                count = max(0, int((b - a).total_seconds() // 60 - length) // step + 1)
                starts += (a + timedelta(minutes=step * k) for k in range(count))
                weights += (HOURS.get((first + step * k) // 60, 0) for k in range(count))
            self._grids[step, length] = (starts, list(accumulate(weights)))
        starts, totals = self._grids[step, length]
        if not totals or not totals[-1]:
            return self.hours[0][0]
        return self.rng.choices(starts, cum_weights=totals)[0]
