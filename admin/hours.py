"""An office's opening hours as the manager edits them: sets of a week's intervals.

The rows (``OpeningHours``) each hold one interval of one weekday between two optional
dates. Rows with the same dates form a set. The set without dates is the usual week; a
set with dates ("summer hours") replaces it on every day it covers (``booking/slots.py``
``rules_on``). Two sets with dates must not share a day, nor two without: ``overlapping``
finds the one that would. A set is named in URLs by the id of its first row.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from sqlalchemy.orm import Session

from booking.models import Office, OpeningHours
from booking.slots import END_OF_DAY, clock_text
from booking.versions import touch
from queueing.models import StaffUser

from .audit import record

WEEK = range(7)  # 0 = Monday
DAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class Interval:
    opens: time
    closes: time  # END_OF_DAY: until midnight

    def text(self) -> str:
        return f"{clock_text(self.opens)}–{clock_text(self.closes)}"

    def form_times(self) -> tuple[str, str]:
        """As the editor's time inputs hold it: midnight at the end of the day is 00:00."""
        closes = "00:00" if self.closes == END_OF_DAY else self.closes.strftime("%H:%M")
        return self.opens.strftime("%H:%M"), closes

    def minutes(self) -> tuple[int, int]:
        """Minutes from midnight at which it opens and closes (1440 for midnight)."""
        end = 1440 if self.closes == END_OF_DAY else self.closes.hour * 60 + self.closes.minute
        return self.opens.hour * 60 + self.opens.minute, end


@dataclass(frozen=True)
class HoursSet:
    valid_from: date | None
    valid_to: date | None
    week: Mapping[int, Sequence[Interval]]  # weekday -> intervals, sorted
    ids: Sequence[int] = field(default_factory=tuple)  # its rows; none for a new set

    @property
    def key(self) -> int | None:
        return min(self.ids) if self.ids else None

    @property
    def dated(self) -> bool:
        return self.valid_from is not None or self.valid_to is not None

    def covers(self, day: date) -> bool:
        return (self.valid_from is None or self.valid_from <= day) and (
            self.valid_to is None or day <= self.valid_to
        )

    def plain(self) -> dict[str, Any]:
        """The set for the history: dates and each weekday's intervals as text."""
        return {
            "valid_from": self.valid_from,
            "valid_to": self.valid_to,
            "week": {
                DAY_KEYS[d]: [i.text() for i in self.week.get(d, ())]
                for d in WEEK
                if self.week.get(d)
            },
        }


def hours_sets(office: Office) -> list[HoursSet]:
    """The office's sets, the open-ended first, then by the day each begins."""
    grouped: dict[tuple[date | None, date | None], list[OpeningHours]] = {}
    for row in office.hours:
        grouped.setdefault((row.valid_from, row.valid_to), []).append(row)
    sets = []
    for (valid_from, valid_to), rows in grouped.items():
        week: dict[int, list[Interval]] = {}
        for row in rows:
            week.setdefault(row.weekday, []).append(Interval(row.opens, row.closes))
        sets.append(
            HoursSet(
                valid_from,
                valid_to,
                {d: sorted(i, key=lambda x: x.opens) for d, i in week.items()},
                tuple(sorted(row.id for row in rows)),
            )
        )
    return sorted(sets, key=lambda s: (s.valid_from or date.min, s.valid_to or date.max))


def set_of(office: Office, hours_id: int) -> HoursSet | None:
    """The set that row ``hours_id`` belongs to."""
    return next((s for s in hours_sets(office) if hours_id in s.ids), None)


def overlapping(
    office: Office, valid_from: date | None, valid_to: date | None, hours_id: int | None
) -> HoursSet | None:
    """Another set of the office (not the one of ``hours_id``) valid on a common day, both
    with dates or both without: a set with dates may lie over the usual week."""
    dated = valid_from is not None or valid_to is not None
    for other in hours_sets(office):
        if (hours_id is not None and hours_id in other.ids) or other.dated != dated:
            continue
        starts_before_other_ends = (
            other.valid_to is None or valid_from is None or (valid_from <= other.valid_to)
        )
        ends_after_other_starts = (
            other.valid_from is None or valid_to is None or (other.valid_from <= valid_to)
        )
        if starts_before_other_ends and ends_after_other_starts:
            return other
    return None


def in_force(sets: Sequence[HoursSet], day: date) -> HoursSet | None:
    """The set of ``sets`` that applies on ``day``: one with dates covering it, else the
    usual week (as ``booking.slots.rules_on`` reads the rows)."""
    covering = [s for s in sets if s.covers(day)]
    return next((s for s in covering if s.dated), covering[0] if covering else None)


def _replace_rows(session: Session, office: Office, old: HoursSet | None, new: HoursSet) -> None:
    if old is not None:
        for row in list(office.hours):
            if row.id in old.ids:
                office.hours.remove(row)
                session.delete(row)
    for weekday in WEEK:
        for interval in new.week.get(weekday, ()):
            office.hours.append(
                OpeningHours(
                    weekday=weekday,
                    opens=interval.opens,
                    closes=interval.closes,
                    valid_from=new.valid_from,
                    valid_to=new.valid_to,
                )
            )
    session.flush()
    touch(session, office.id)


def save_set(
    session: Session,
    office: Office,
    old: HoursSet | None,
    new: HoursSet,
    actor: StaffUser,
    now: datetime,
) -> HoursSet:
    """Replace set ``old`` (None: add a set) by ``new``; returns it with its rows' ids."""
    _replace_rows(session, office, old, new)
    saved = next(
        s
        for s in hours_sets(office)
        if (s.valid_from, s.valid_to) == (new.valid_from, new.valid_to)
    )
    record(
        session,
        now,
        actor,
        "create" if old is None else "update",
        "hours",
        saved.key,
        office_id=office.id,
        before=old.plain() if old is not None else None,
        after=saved.plain(),
    )
    return saved


def delete_set(
    session: Session, office: Office, old: HoursSet, actor: StaffUser, now: datetime
) -> None:
    for row in list(office.hours):
        if row.id in old.ids:
            office.hours.remove(row)
            session.delete(row)
    session.flush()
    touch(session, office.id)
    record(session, now, actor, "delete", "hours", old.key, office_id=office.id, before=old.plain())
