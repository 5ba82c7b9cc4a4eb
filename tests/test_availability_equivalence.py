"""Free times computed on the integer grid with counters as bits are exactly those of the
plain rule: a start is free when some counter serving the service has all its cells free,
and no minute of the visit is closed.

Randomized (fixed seeds): offices of 1 to 30 counters with random hours (a usual week and
sets between dates that replace it on their days), slot lengths, visit lengths, closed
days, closed parts of days, held cells and booking windows, over days with clock changes
(a whole hour and Lord Howe's half hour) and in a zone a quarter hour off the hour. The
plain rule reads the hours minute by minute off the wall clock. Then
``availability`` on a real database, grouping a cell's counters in SQL, against the same
rule over ``taken_cells``, with more counters than one SQL integer has bits.
"""

from __future__ import annotations

import bisect
import functools
import random
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask

from booking.availability import (
    BITS_PER_SUM,
    availability,
    booking_window,
    schedule_for,
    taken_cells,
)
from booking.bookings import Contact, cancel_booking, create_booking
from booking.models import Office, Service
from booking.refusals import SlotTaken
from booking.slots import (
    END_OF_DAY,
    HoursRule,
    Schedule,
    candidate_starts,
    date_range,
    free_starts,
)
from okienko.transaction import unit_of_work
from tests.helpers.factories import MakeOffice, MakeService

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
END = datetime(2100, 1, 1, tzinfo=UTC)

# (zone, first day): each span holds a clock change, or an offset off the quarter hours.
SPANS = [
    ("Europe/Warsaw", date(2026, 3, 28)),  # 29 March: 02:00 becomes 03:00
    ("Europe/Prague", date(2026, 10, 24)),  # 25 October: 03:00 becomes 02:00
    ("America/New_York", date(2026, 10, 31)),  # 1 November, 02:00 becomes 01:00
    ("Australia/Lord_Howe", date(2026, 4, 4)),  # 5 April: 02:00 becomes 01:30
    ("Australia/Lord_Howe", date(2026, 10, 3)),  # 4 October: 02:00 becomes 02:30
    ("Asia/Kathmandu", date(2026, 6, 1)),  # UTC+05:45 all year
]


def reference_starts(
    schedule: Schedule,
    days: Iterable[date],
    duration: timedelta,
    counters: Sequence[int],
    taken: set[tuple[int, datetime]],
    earliest: datetime,
    latest: datetime,
) -> dict[date, list[datetime]]:
    """The rule as it reads: every grid start where each minute of the visit is open by
    its day's hours and none is closed, inside the window, with a serving counter whose
    cells are all free."""
    step = timedelta(minutes=schedule.slot_minutes)
    cells = -(-duration // step)
    closed = closed_minutes(schedule.timezone, schedule.closed_hours)
    result = {}
    for day in days:
        result[day] = []
        opened = open_minutes(schedule, day)
        if not opened:
            continue
        start = opened[0] + (-(opened[0] - EPOCH)) % step  # the first start on the grid
        while start < opened[-1]:
            end = start + cells * step
            fits = bisect.bisect_left(opened, end) - bisect.bisect_left(opened, start) == (
                (end - start) // MINUTE
            )
            shut = bisect.bisect_left(closed, start) < bisect.bisect_left(closed, end)
            if (
                fits
                and not shut
                and earliest <= start <= latest
                and any(
                    all((counter, start + i * step) not in taken for i in range(cells))
                    for counter in counters
                )
            ):
                result[day].append(start)
            start += step
    return result


MINUTE = timedelta(minutes=1)


def hours_of(rules: Sequence[HoursRule], day: date) -> list[tuple[time, time]]:
    """The wall times ``day`` opens and closes at: a set between dates, where one covers
    the day, replaces the week without dates on it, the weekdays it leaves empty too."""
    undated = [r for r in rules if (r.valid_from, r.valid_to) == (None, None)]
    seasonal = [
        r
        for r in rules
        if (r.valid_from, r.valid_to) != (None, None)
        and (r.valid_from or date.min) <= day <= (r.valid_to or date.max)
    ]
    return [(r.opens, r.closes) for r in seasonal or undated if r.weekday == day.weekday()]


@functools.cache
def first_instants(zone: ZoneInfo, day: date) -> dict[datetime, datetime]:
    """Each wall-clock minute of ``day`` and the next midnight -> the first UTC minute the
    clock shows it (minutes the clocks skip are missing)."""
    found: dict[datetime, datetime] = {}
    instant = datetime.combine(day, time(0), UTC) - timedelta(hours=15)
    while instant < datetime.combine(day, time(0), UTC) + timedelta(hours=39):
        wall = instant.astimezone(zone).replace(tzinfo=None)
        if wall.date() == day or wall == datetime.combine(day + timedelta(days=1), time(0)):
            found.setdefault(wall, instant)
        instant += MINUTE
    return found


def open_minutes(schedule: Schedule, day: date) -> list[datetime]:
    """Every whole UTC minute ``day``'s hours keep open: an interval runs from the first
    moment the clock shows its opening time to the first it shows its closing time, and
    not at all if the clocks skip either; none on a closed day."""
    if day in schedule.closed_days:
        return []
    wall = first_instants(schedule.timezone, day)
    minutes = set()
    for opens, closes in hours_of(schedule.rules, day):
        until = (day + timedelta(days=1), time(0)) if closes == END_OF_DAY else (day, closes)
        start = wall.get(datetime.combine(day, opens))
        end = wall.get(datetime.combine(*until))
        while start is not None and end is not None and start < end:
            minutes.add(start)
            start += MINUTE
    return sorted(minutes)


def closed_minutes(
    zone: ZoneInfo, closed_hours: Mapping[date, Sequence[tuple[time, time]]]
) -> list[datetime]:
    """Every whole UTC minute whose wall-clock time falls in a closed part of its own day
    (the random closures and every zone here change on whole minutes)."""
    minutes = set()
    for day in closed_hours:
        instant = datetime.combine(day, time(0), UTC) - timedelta(hours=15)
        last = datetime.combine(day, time(0), UTC) + timedelta(hours=39)
        while instant < last:
            wall = instant.astimezone(zone)
            if any(
                starts <= wall.time() and (ends == END_OF_DAY or wall.time() < ends)
                for starts, ends in closed_hours.get(wall.date(), ())
            ):
                minutes.add(instant)
            instant += timedelta(minutes=1)
    return sorted(minutes)


def random_closed_hours(
    chance: random.Random, days: Sequence[date]
) -> dict[date, list[tuple[time, time]]]:
    """Parts of some days closed, some of them over the hours the clocks change."""
    parts: dict[date, list[tuple[time, time]]] = {}
    for day in days:
        for _ in range(chance.choice((0, 0, 0, 1, 2))):
            starts = time(chance.randrange(24), chance.choice((0, 10, 15, 30, 45)))
            ends = (
                END_OF_DAY
                if chance.random() < 0.1
                else time(chance.randrange(starts.hour, 24), chance.choice((0, 5, 15, 30, 59)))
            )
            if starts < ends:
                parts.setdefault(day, []).append((starts, ends))
    return parts


def random_week(
    chance: random.Random, valid_from: date | None = None, valid_to: date | None = None
) -> list[HoursRule]:
    rules = []
    for weekday in range(7):
        for _ in range(chance.choice((0, 1, 1, 2, 3))):
            opens = time(chance.randrange(24), chance.choice((0, 10, 15, 30, 45, 50)))
            closes = (
                END_OF_DAY
                if chance.random() < 0.2
                else time(chance.randrange(opens.hour, 24), chance.choice((0, 15, 30, 40)))
            )
            rules.append(HoursRule(weekday, opens, closes, valid_from, valid_to))
    return rules


def random_rules(chance: random.Random, first: date) -> list[HoursRule]:
    """Mostly a week without dates; up to two sets between dates (some open at one end)
    over the days of the case, sharing no day with each other, as the editor allows."""
    rules = random_week(chance) if chance.random() < 0.8 else []
    spans: list[tuple[date, date]] = []
    for _ in range(chance.choice((0, 1, 1, 2))):
        low = first + timedelta(days=chance.randrange(-1, 4))
        high = low + timedelta(days=chance.randrange(3))
        valid_from = None if chance.random() < 0.2 else low
        valid_to = None if valid_from is not None and chance.random() < 0.2 else high
        span = (valid_from or date.min, valid_to or date.max)
        if any(span[0] <= other[1] and other[0] <= span[1] for other in spans):
            continue
        spans.append(span)
        rules += random_week(chance, valid_from, valid_to)
    return rules


def random_case(chance: random.Random) -> dict[str, Any]:
    zone, first = chance.choice(SPANS)
    days = date_range(first, first + timedelta(days=chance.randrange(1, 4)))
    closed = frozenset(day for day in days if chance.random() < 0.15)
    slot = chance.choice((5, 10, 15, 15, 20, 30, 60))
    schedule = Schedule(
        ZoneInfo(zone), slot, random_rules(chance, first), closed, random_closed_hours(chance, days)
    )
    duration = timedelta(minutes=chance.randrange(1, 4 * slot + 1))
    counters = chance.sample(range(1, 200), chance.randrange(1, 31))
    step = timedelta(minutes=slot)
    span_start = datetime.combine(first - timedelta(days=1), time(0), UTC)
    # Every slot length divides a day, so a UTC midnight is on the grid.
    grid = [span_start + i * step for i in range(-(-(len(days) + 2) * timedelta(days=1) // step))]
    others = chance.sample(range(200, 260), 3)  # counters not serving the service
    # Each cell is empty, half held, held but for a counter or two, or full.
    taken = set()
    for cell in grid:
        density = chance.choice((0, 0.5, 0.95, 1))
        taken |= {(c, cell) for c in counters + others if chance.random() < density}
    # The same instants written in another fixed offset still hold their cells; starts off
    # the grid hold none.
    shifted = timezone(timedelta(hours=chance.choice((-5, 2, 5.75))))
    moved = set(chance.sample(sorted(taken), min(20, len(taken))))
    taken = (taken - moved) | {(counter, cell.astimezone(shifted)) for counter, cell in moved}
    taken |= {
        (
            chance.choice(counters),
            chance.choice(grid) + timedelta(minutes=chance.randrange(1, slot)),
        )
        for _ in range(10)
        if slot > 1
    }
    window = (len(days) + 1) * 24 * 3600
    earliest = span_start + timedelta(seconds=chance.uniform(0, window / 2))
    latest = earliest + timedelta(seconds=chance.uniform(0, window))
    return {
        "schedule": schedule,
        "days": days,
        "duration": duration,
        "counters": counters,
        "taken": taken,
        "earliest": earliest,
        "latest": latest,
    }


@pytest.mark.parametrize("seed", range(40))
def test_free_starts_are_those_of_the_plain_rule(seed: int) -> None:
    chance = random.Random(20261129 + seed)
    for _ in range(10):
        case = random_case(chance)
        assert free_starts(**case) == reference_starts(**case), case


@pytest.mark.parametrize("seed", range(10))
def test_candidate_starts_are_every_grid_start_where_the_visit_fits(seed: int) -> None:
    chance = random.Random(seed)
    for _ in range(20):
        case = random_case(chance)
        expected = reference_starts(
            case["schedule"], case["days"], case["duration"], [1], set(), EPOCH, END
        )
        for day in case["days"]:
            assert list(candidate_starts(case["schedule"], day, case["duration"])) == expected[day]


def test_no_serving_counter_means_no_free_start() -> None:
    case = random_case(random.Random(7))
    case["counters"] = []
    assert free_starts(**case) == {day: [] for day in case["days"]}


# A database with more counters than one SQL sum holds bits, so a cell comes back in two
# integers; a quarter-hour grid, half-hour visits, round the clock over the spring change,
# closed for part of that night and part of the next afternoon.
NOW = datetime(2026, 3, 27, 12, tzinfo=UTC)
FIRST, LAST = date(2026, 3, 28), date(2026, 3, 30)
COUNTERS = BITS_PER_SUM + 4


def test_availability_in_the_database_is_that_of_the_plain_rule(
    any_app: Flask, make_office: MakeOffice, make_service: MakeService
) -> None:
    made = make_office(
        counters=COUNTERS,
        slot_minutes=15,
        public_holidays=False,
        closures=[
            {"from": datetime(2026, 3, 29, 1, 30), "to": datetime(2026, 3, 29, 3, 30)},
            {"from": "2026-03-30T12:10", "to": "2026-03-30T13:05", "reason": "Training"},
        ],
    )
    made_service = make_service(made, duration=30)
    visit = timedelta(minutes=30)
    days = date_range(FIRST, LAST)
    chance = random.Random(20260329)
    with any_app.app_context(), unit_of_work() as session:
        office = session.get(Office, made.id)
        service = session.get(Service, made_service.id)
        assert office is not None and service is not None
        counters = [counter.id for counter in service.counters]
        schedule = schedule_for(office, FIRST, LAST)
        assert set(schedule.closed_hours) == {date(2026, 3, 29), date(2026, 3, 30)}
        starts = [start for day in days for start in candidate_starts(schedule, day, visit)]
        # Each booking of a start takes the first counter free there: booking a start
        # over and over fills counters past the first SQL integer, and all of them once.
        chosen = chance.sample(starts, 8)
        times = [COUNTERS, BITS_PER_SUM + 2] + [chance.randrange(12) for _ in chosen[2:]]
        plan = [start for start, n in zip(chosen, times, strict=True) for _ in range(n)]
        bookings = []
        for number, start in enumerate(plan + chance.sample(starts, 20)):
            contact = Contact(f"Resident {number}", f"r{number}@example.org", None, "pl")
            try:
                booking, _token = create_booking(session, office, service, start, contact, NOW)
            except SlotTaken:  # every counter is held there: nothing to compare it with
                continue
            bookings.append(booking)
        assert max(counters.index(booking.counter_id) for booking in bookings) >= BITS_PER_SUM
        # Cancelling some at random leaves holes anywhere among the counters; the first
        # start stays full.
        others = [booking for booking in bookings if booking.starts_at != chosen[0]]
        for booking in chance.sample(others, len(others) // 3):
            cancel_booking(session, booking, NOW)
        session.flush()

        zone = schedule.timezone
        taken = taken_cells(
            session,
            counters,
            datetime.combine(FIRST - timedelta(days=1), time(0), zone),
            datetime.combine(LAST + timedelta(days=2), time(0), zone),
        )
        earliest, latest = booking_window(office, NOW)
        rule = {
            "schedule": schedule,
            "days": days,
            "duration": visit,
            "counters": counters,
            "earliest": earliest,
            "latest": latest,
        }
        free = availability(session, office, service, FIRST, LAST, NOW)
        assert free == reference_starts(taken=taken, **rule)
        assert sum(map(len, free.values())) < len(starts)  # some starts are full
        for booking in chance.sample([b for b in bookings if b.slots], 3):
            own = {(cell.counter_id, cell.starts_at) for cell in booking.slots}
            assert availability(
                session, office, service, FIRST, LAST, NOW, ignore_booking=booking.id
            ) == reference_starts(taken=taken - own, **rule)
