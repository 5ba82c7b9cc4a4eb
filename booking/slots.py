"""Free start times from opening hours, closures, holidays and held counter time.

Plain functions over plain data: no Flask, no database. ``availability.py``
loads the data; everything here can be tested with literals.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

# A closing time of "24:00": the end of the day, i.e. the next local midnight. A time of
# day cannot be 24:00, so the last instant of the day stands for it.
END_OF_DAY = time.max


@dataclass(frozen=True)
class HoursRule:
    weekday: int  # 0 = Monday
    opens: time
    closes: time  # END_OF_DAY: open until midnight
    valid_from: date | None = None
    valid_to: date | None = None

    def applies(self, day: date) -> bool:
        return (
            day.weekday() == self.weekday
            and (self.valid_from is None or self.valid_from <= day)
            and (self.valid_to is None or day <= self.valid_to)
        )


@dataclass(frozen=True)
class Schedule:
    """When an office receives residents."""

    timezone: ZoneInfo
    slot_minutes: int
    rules: Sequence[HoursRule]
    closed_days: frozenset[date] = field(default_factory=frozenset)

    @property
    def step(self) -> timedelta:
        return timedelta(minutes=self.slot_minutes)


def local_to_utc(day: date, at: time, tz: ZoneInfo) -> datetime | None:
    """The UTC instant of a wall-clock time, or None if the clocks skip it that day."""
    local = datetime.combine(day, at, tzinfo=tz)
    instant = local.astimezone(UTC)
    if instant.astimezone(tz).replace(tzinfo=None) != local.replace(tzinfo=None):
        return None
    return instant


def opening_intervals(schedule: Schedule, day: date) -> list[tuple[datetime, datetime]]:
    """The day's opening intervals as UTC instants, merged and sorted."""
    if day in schedule.closed_days:
        return []
    intervals = []
    for rule in schedule.rules:
        if not rule.applies(day):
            continue
        start = local_to_utc(day, rule.opens, schedule.timezone)
        if rule.closes == END_OF_DAY:
            end = local_to_utc(day + timedelta(days=1), time(0), schedule.timezone)
        else:
            end = local_to_utc(day, rule.closes, schedule.timezone)
        if start is not None and end is not None and start < end:
            intervals.append((start, end))
    intervals.sort()
    merged: list[tuple[datetime, datetime]] = []
    for start, end in intervals:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def align_up(instant: datetime, step: timedelta) -> datetime:
    """Round up to the grid of ``step`` counted from the Unix epoch in UTC."""
    remainder = (instant - EPOCH) % step
    return instant if not remainder else instant + (step - remainder)


def cell_count(duration: timedelta, step: timedelta) -> int:
    return -(-duration // step)  # ceiling division: a 20-minute visit holds two 15-minute cells


def cells(start: datetime, duration: timedelta, step: timedelta) -> list[datetime]:
    """The grid cells a booking from ``start`` lasting ``duration`` holds."""
    return [start + i * step for i in range(cell_count(duration, step))]


# The grid as integers: cell ``i`` starts ``i * step`` after the epoch. Free times are
# computed on these numbers; datetimes are made only for the starts returned.


def cell_index(instant: datetime, step: timedelta) -> int | None:
    """The number of the cell starting at ``instant``; None if it starts no cell."""
    index, rest = divmod(instant - EPOCH, step)
    return None if rest else index


def cell_start(index: int, step: timedelta) -> datetime:
    return EPOCH + index * step


def start_ranges(schedule: Schedule, day: date, duration: timedelta) -> list[range]:
    """The cell numbers of ``candidate_starts``: one range per opening interval."""
    step = schedule.step
    held = cell_count(duration, step)
    return [
        range(-((EPOCH - open_at) // step), (close_at - EPOCH) // step - held + 1)
        for open_at, close_at in opening_intervals(schedule, day)
    ]


def candidate_starts(schedule: Schedule, day: date, duration: timedelta) -> Iterator[datetime]:
    """Grid-aligned starts on ``day`` where a visit of ``duration`` fits in one interval."""
    for starts in start_ranges(schedule, day, duration):
        for index in starts:
            yield cell_start(index, schedule.step)


def counter_bits(counters: Iterable[int]) -> dict[int, int]:
    """One bit per counter, in the given order: a set of counters is an int."""
    return {counter: 1 << i for i, counter in enumerate(dict.fromkeys(counters))}


def taken_bits(
    counters: Sequence[int], taken: Iterable[tuple[int, datetime]], step: timedelta
) -> dict[int, int]:
    """``taken`` as cell number -> the bits (``counter_bits``) of ``counters`` holding it.

    Cells of other counters, off the grid or naive (never equal to a UTC cell) are left out.
    """
    bits = counter_bits(counters)
    held: dict[int, int] = {}
    for counter, start in taken:
        bit = bits.get(counter)
        if bit is None or start.utcoffset() is None:
            continue
        index = cell_index(start, step)
        if index is not None:
            held[index] = held.get(index, 0) | bit
    return held


def free_counter(
    start: datetime,
    duration: timedelta,
    step: timedelta,
    counters: Sequence[int],
    taken: set[tuple[int, datetime]],
) -> list[int]:
    """The counters (in preference order) on which every cell from ``start`` is free."""
    needed = cells(start, duration, step)
    return [c for c in counters if all((c, cell) not in taken for cell in needed)]


def free_starts(
    schedule: Schedule,
    days: Iterable[date],
    duration: timedelta,
    counters: Sequence[int],
    taken: set[tuple[int, datetime]],
    earliest: datetime,
    latest: datetime,
) -> dict[date, list[datetime]]:
    """Free start times per local day.

    ``counters`` are the counters serving the service; ``taken`` the cells
    already held; starts before ``earliest`` (minimum notice) or after
    ``latest`` (booking horizon) are left out.
    """
    held = taken_bits(counters, taken, schedule.step)
    serving = len(counter_bits(counters))
    return free_starts_in_grid(schedule, days, duration, serving, held, earliest, latest)


def free_starts_in_grid(
    schedule: Schedule,
    days: Iterable[date],
    duration: timedelta,
    serving: int,
    held: Mapping[int, int],
    earliest: datetime,
    latest: datetime,
) -> dict[date, list[datetime]]:
    """``free_starts`` over the held cells as ``taken_bits`` gives them, for ``serving``
    counters: a start is free where some counter's bit is clear in all of its cells."""
    step = schedule.step
    cells_held = cell_count(duration, step)
    everyone = (1 << serving) - 1
    lowest = -((EPOCH - earliest) // step)  # the first cell at or after ``earliest``
    highest = (latest - EPOCH) // step
    busy = held.get
    result: dict[date, list[datetime]] = {}
    for day in days:
        free = result[day] = []
        if not serving:
            continue
        for starts in start_ranges(schedule, day, duration):
            for index in range(max(starts.start, lowest), min(starts.stop, highest + 1)):
                taken = 0
                for cell in range(index, index + cells_held):
                    taken |= busy(cell, 0)
                if taken & everyone != everyone:
                    free.append(EPOCH + index * step)
    return result


def date_range(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]
