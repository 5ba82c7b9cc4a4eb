"""What a report is about: which offices and services, over which local dates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

Grain = Literal["day", "week", "month"]


@dataclass(frozen=True)
class Period:
    """Local dates of the offices, both ends included."""

    first: date
    last: date
    grain: Grain = "day"  # how the "by time" tables are bucketed

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def previous_first(self) -> date:
        """The first day of the period before, ending the day before this one starts: as
        many whole months back for whole months (so November is compared with October,
        a year with the year before), else as many days back."""
        after = self.last + timedelta(days=1)
        if self.first.day == 1 and after.day == 1:
            months = (after.year - self.first.year) * 12 + after.month - self.first.month
            index = self.first.year * 12 + self.first.month - 1 - months
            return date(index // 12, index % 12 + 1, 1)
        return self.first - timedelta(days=self.days)


@dataclass(frozen=True)
class Scope:
    """One office, several (all a user may see), optionally one service.

    ``service_key`` filters by the service's key, which names the same service in
    every office that offers it.
    """

    office_ids: tuple[int, ...]
    service_key: str | None = None
