"""Free start times from opening hours, closures, holidays and held counter time.

Plain functions over plain data: no Flask, no database. ``availability.py``
loads the data; everything here can be tested with literals.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

# A closing time of "24:00": the end of the day, i.e. the next local midnight. A time of
# day cannot be 24:00, so the last instant of the day stands for it.
END_OF_DAY = time.max
CLOCK = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]", re.ASCII)


def parse_clock(text: str, *, end: bool = False) -> time | None:
    """ "08:30" as a time, None if it is no such time. Where the end of a span is meant
    (``end``), "24:00" and "00:00" (all a browser's time input can send) are midnight at
    the end of the day."""
    if end and text in ("24:00", "00:00"):
        return END_OF_DAY
    return time.fromisoformat(text) if CLOCK.fullmatch(text) else None


def clock_text(at: time) -> str:
    """A wall time as people write it: "08:30", and "24:00" for the end of the day."""
    return "24:00" if at == END_OF_DAY else at.strftime("%H:%M")


@dataclass(frozen=True)
class HoursRule:
    """One interval of one weekday. Rules without dates form the office's usual week; rules
    with a date (either or both) belong to a set valid between them ("summer hours")."""

    weekday: int  # 0 = Monday
    opens: time
    closes: time  # END_OF_DAY: open until midnight
    valid_from: date | None = None
    valid_to: date | None = None

    @property
    def dated(self) -> bool:
        return self.valid_from is not None or self.valid_to is not None

    def covers(self, day: date) -> bool:
        """Whether ``day`` lies between its dates, whatever the weekday."""
        return (self.valid_from is None or self.valid_from <= day) and (
            self.valid_to is None or day <= self.valid_to
        )


def rules_on(rules: Iterable[HoursRule], day: date) -> list[HoursRule]:
    """The rules of ``day``. A set with dates replaces the usual week on every day it
    covers, the weekdays it leaves without hours included (they are closed then); on
    other days the rules without dates apply."""
    rules = list(rules)
    dated = [rule for rule in rules if rule.dated and rule.covers(day)]
    chosen = dated or [rule for rule in rules if not rule.dated]
    return [rule for rule in chosen if rule.weekday == day.weekday()]


@dataclass(frozen=True)
class Schedule:
    """When an office receives residents."""

    timezone: ZoneInfo
    slot_minutes: int
    rules: Sequence[HoursRule]
    closed_days: frozenset[date] = field(default_factory=frozenset)
    # Parts of days closed (a closure with times): local day -> (from, to) wall times.
    closed_hours: Mapping[date, Sequence[tuple[time, time]]] = field(default_factory=dict)

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
    for rule in rules_on(schedule.rules, day):
        start = local_to_utc(day, rule.opens, schedule.timezone)
        if rule.closes == END_OF_DAY:
            end = local_to_utc(day + timedelta(days=1), time(0), schedule.timezone)
        else:
            end = local_to_utc(day, rule.closes, schedule.timezone)
        if start is not None and end is not None and start < end:
            intervals.append((start, end))
    merged = _merge(intervals)
    for starts, ends in schedule.closed_hours.get(day, ()):
        for shut_from, shut_to in wall_clock_span(day, starts, ends, schedule.timezone):
            merged = _cut(merged, shut_from, shut_to)
    return merged


def _merge(intervals: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    merged: list[tuple[datetime, datetime]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _cut(
    intervals: list[tuple[datetime, datetime]], start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    """``intervals`` without the instants from ``start`` to ``end``."""
    kept = []
    for a, b in intervals:
        if a < start:
            kept.append((a, min(b, start)))
        if b > end:
            kept.append((max(a, end), b))
    return kept


def wall_clock_span(
    day: date, starts: time, ends: time, tz: ZoneInfo
) -> list[tuple[datetime, datetime]]:
    """The UTC instants of ``day`` whose wall-clock time is from ``starts`` to ``ends``.

    Usually one interval. On the day the clocks go forward the skipped times hold no
    instant (closed 01:30-03:30 in Warsaw is one real hour); on the day they go back the
    repeated times are closed both times round (two intervals if the span lies within them).
    """
    low = datetime.combine(day, starts)
    high = (
        datetime.combine(day + timedelta(days=1), time(0))
        if ends == END_OF_DAY
        else datetime.combine(day, ends)
    )
    # The offsets in force at either end: with at most one change in between, all of them.
    offsets = {
        offset
        for wall in (low, high)
        for fold in (0, 1)
        if (offset := wall.replace(tzinfo=tz, fold=fold).utcoffset()) is not None
    }
    spans = []
    for offset in offsets:
        # Where the wall clock would read low..high if ``offset`` held throughout; the part
        # of it where ``offset`` really holds.
        first = (low - offset).replace(tzinfo=UTC)
        last = (high - offset).replace(tzinfo=UTC)
        span = _where_offset(first, last, offset, tz)
        if span is not None:
            spans.append(span)
    return _merge(spans)


def _where_offset(
    first: datetime, last: datetime, offset: timedelta, tz: ZoneInfo
) -> tuple[datetime, datetime] | None:
    """The part of [first, last) where ``tz`` is at ``offset``, assuming it changes at most
    once in between; None if nowhere."""

    def holds(instant: datetime) -> bool:
        return instant.astimezone(tz).utcoffset() == offset

    if first >= last:
        return None
    tail = last - timedelta(seconds=1)
    at_first, at_tail = holds(first), holds(tail)
    if at_first and at_tail:
        return first, last
    if not at_first and not at_tail:
        return None
    # One change inside: find its instant to the second (changes fall on whole seconds).
    before, after = first, tail
    while after - before > timedelta(seconds=1):
        middle = before + (after - before) / 2
        middle -= timedelta(microseconds=middle.microsecond)
        if holds(middle) == at_first:
            before = middle
        else:
            after = middle
    return (first, after) if at_first else (after, last)


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
    bookable_from: Callable[[date], int | None] | None = None,
) -> dict[date, list[datetime]]:
    """``free_starts`` over the held cells as ``taken_bits`` gives them, for ``serving``
    counters: a start is free where some counter's bit is clear in all of its cells.

    ``bookable_from`` gives a day's lowest start cell, None for none ([share]: the time
    held back for walk-ins, ``walk_in_share.first_bookable_cell``)."""
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
        # [share] The day's first cells may be kept for walk-ins.
        floor = bookable_from(day) if bookable_from is not None else None
        day_lowest = lowest if floor is None else max(lowest, floor)
        for starts in start_ranges(schedule, day, duration):
            for index in range(max(starts.start, day_lowest), min(starts.stop, highest + 1)):
                taken = 0
                for cell in range(index, index + cells_held):
                    taken |= busy(cell, 0)
                if taken & everyone != everyone:
                    free.append(EPOCH + index * step)
    return result


def date_range(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]
