"""Free start times from plain data: hours, grid, holidays, window, held cells, clock changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from booking.slots import (
    END_OF_DAY,
    HoursRule,
    Schedule,
    align_up,
    cells,
    clock_text,
    free_counter,
    free_starts,
    local_to_utc,
    opening_intervals,
    parse_clock,
    rules_on,
)

PRAGUE = ZoneInfo("Europe/Prague")
WARSAW = ZoneInfo("Europe/Warsaw")
# Plzeň's contact point: Monday and Wednesday, 8:00 to 17:00.
PLZEN = Schedule(PRAGUE, 30, [HoursRule(0, time(8), time(17)), HoursRule(2, time(8), time(17))])
HALF_HOUR = timedelta(minutes=30)
FAR_PAST = datetime(2000, 1, 1, tzinfo=UTC)
FAR_FUTURE = datetime(2100, 1, 1, tzinfo=UTC)


def local(day: date, at: time, tz: ZoneInfo = PRAGUE) -> datetime:
    return datetime.combine(day, at, tzinfo=tz).astimezone(UTC)


def starts_on(
    schedule: Schedule, day: date, duration: timedelta = HALF_HOUR, **kw
) -> list[datetime]:
    args = {"counters": [1], "taken": set(), "earliest": FAR_PAST, "latest": FAR_FUTURE} | kw
    return free_starts(schedule, [day], duration, **args)[day]


def test_plzen_opens_monday_and_wednesday_only() -> None:
    week = [date(2026, 11, 23) + timedelta(days=i) for i in range(7)]
    open_days = [d for d in week if opening_intervals(PLZEN, d)]
    assert [d.weekday() for d in open_days] == [0, 2]


def test_last_start_leaves_room_for_the_whole_visit() -> None:
    starts = starts_on(PLZEN, date(2026, 11, 23))
    assert starts[0] == local(date(2026, 11, 23), time(8))
    assert starts[-1] == local(date(2026, 11, 23), time(16, 30))
    assert len(starts) == 18
    hour_long = starts_on(PLZEN, date(2026, 11, 23), timedelta(minutes=60))
    assert hour_long[-1] == local(date(2026, 11, 23), time(16))


def test_hours_end_at_17_local_in_winter_and_summer() -> None:
    # The Mondays either side of the spring change: 17:00 local is 16:00 UTC, then 15:00 UTC.
    before, after = date(2026, 3, 23), date(2026, 3, 30)
    assert opening_intervals(PLZEN, before) == [
        (datetime(2026, 3, 23, 7, tzinfo=UTC), datetime(2026, 3, 23, 16, tzinfo=UTC))
    ]
    assert opening_intervals(PLZEN, after) == [
        (datetime(2026, 3, 30, 6, tzinfo=UTC), datetime(2026, 3, 30, 15, tzinfo=UTC))
    ]
    for day in (before, after, date(2026, 10, 19), date(2026, 10, 26)):
        starts = starts_on(PLZEN, day)
        assert [s.astimezone(PRAGUE).time() for s in (starts[0], starts[-1])] == [
            time(8),
            time(16, 30),
        ]
        assert len(starts) == 18


def night_office(day: date) -> Schedule:
    return Schedule(PRAGUE, 30, [HoursRule(day.weekday(), time(1), time(5))])


def test_spring_forward_day_has_one_hour_less() -> None:
    day = date(2026, 3, 29)  # 02:00 becomes 03:00
    assert local_to_utc(day, time(2, 30), PRAGUE) is None
    starts = starts_on(night_office(day), day)
    assert len(starts) == 6  # 01:00-05:00 local is three real hours
    assert all(b - a == HALF_HOUR for a, b in pairwise(starts))
    assert [s.astimezone(PRAGUE).strftime("%H:%M") for s in starts[:4]] == [
        "01:00",
        "01:30",
        "03:00",
        "03:30",
    ]


def test_fall_back_day_has_one_hour_more() -> None:
    day = date(2026, 10, 25)  # 03:00 becomes 02:00
    starts = starts_on(night_office(day), day)
    assert len(starts) == 10  # five real hours
    assert len(set(starts)) == 10
    assert all(b - a == HALF_HOUR for a, b in pairwise(starts))


def test_koszalin_hours_differ_by_weekday() -> None:
    rules = [HoursRule(d, time(7, 15), time(15, 15)) for d in (0, 1, 2, 4)]
    rules.append(HoursRule(3, time(7, 15), time(16)))
    koszalin = Schedule(WARSAW, 15, rules)
    wednesday, thursday = date(2026, 12, 2), date(2026, 12, 3)
    assert starts_on(koszalin, wednesday)[-1] == local(wednesday, time(14, 45), WARSAW)
    assert starts_on(koszalin, thursday)[-1] == local(thursday, time(15, 30), WARSAW)
    assert starts_on(koszalin, thursday)[0] == local(thursday, time(7, 15), WARSAW)


def test_split_day_intervals_that_adjoin_merge() -> None:
    rules = [
        HoursRule(0, time(8), time(12)),
        HoursRule(0, time(13), time(15)),
        HoursRule(0, time(15), time(17)),
    ]
    schedule = Schedule(PRAGUE, 30, rules)
    monday = date(2026, 12, 7)
    # Adjoining intervals merge, so a visit may run across 15:00.
    assert opening_intervals(schedule, monday) == [
        (local(monday, time(8)), local(monday, time(12))),
        (local(monday, time(13)), local(monday, time(17))),
    ]
    assert local(monday, time(14, 30)) in starts_on(schedule, monday)
    assert local(monday, time(12)) not in starts_on(schedule, monday)
    assert local(monday, time(11, 30)) in starts_on(schedule, monday)


def test_a_set_between_dates_replaces_the_usual_week_on_its_days() -> None:
    """Summer hours (July and August, no Fridays) and, from October on, Saturdays only:
    on their days the usual week does not apply, not even on the weekdays they leave out."""
    usual = [HoursRule(d, time(8), time(16)) for d in range(5)]
    summer = [
        HoursRule(d, time(7), time(13), date(2027, 7, 1), date(2027, 8, 31)) for d in range(4)
    ]
    saturdays = [HoursRule(5, time(9), time(12), valid_from=date(2027, 10, 1))]
    schedule = Schedule(PRAGUE, 30, usual + summer + saturdays)

    def hours(day: str) -> list[tuple[time, time]]:
        found = opening_intervals(schedule, date.fromisoformat(day))
        return [(a.astimezone(PRAGUE).time(), b.astimezone(PRAGUE).time()) for a, b in found]

    assert rules_on(schedule.rules, date(2027, 6, 30)) == [usual[2]]
    assert hours("2027-06-30") == [(time(8), time(16))]  # Wednesday before the summer
    assert hours("2027-07-01") == [(time(7), time(13))]  # Thursday, summer
    assert hours("2027-07-02") == []  # Friday, summer: closed
    assert hours("2027-08-31") == [(time(7), time(13))]  # the summer's last day
    assert hours("2027-09-01") == [(time(8), time(16))]  # usual again
    assert hours("2027-10-01") == []  # Friday: from October only Saturdays
    assert hours("2027-10-02") == [(time(9), time(12))]


def test_closed_days_have_no_starts() -> None:
    day = date(2026, 11, 23)
    closed = Schedule(PRAGUE, 30, PLZEN.rules, frozenset({day}))
    assert starts_on(closed, day) == []


def test_booking_window_cuts_both_ends() -> None:
    day = date(2026, 11, 23)
    earliest, latest = local(day, time(10)), local(day, time(12))
    starts = starts_on(PLZEN, day, earliest=earliest, latest=latest)
    assert starts[0] == earliest and starts[-1] == latest


def test_long_visit_needs_consecutive_cells_on_one_counter() -> None:
    day = date(2026, 11, 23)
    at = local(day, time(9))
    step = timedelta(minutes=15)
    schedule = Schedule(PRAGUE, 15, PLZEN.rules)
    visit = timedelta(minutes=45)
    # Counter 1 is busy at 9:15, counter 2 at 9:30: 9:00 fits on neither, though each cell
    # on its own is free somewhere.
    taken = {(1, at + step), (2, at + 2 * step)}
    assert free_counter(at, visit, step, [1, 2], taken) == []
    assert at not in starts_on(schedule, day, visit, counters=[1, 2], taken=taken)
    assert free_counter(at - step * 3, visit, step, [1, 2], taken) == [1, 2]
    assert free_counter(at + step * 2, visit, step, [1, 2], taken) == [1]


def test_cells_round_up_to_the_grid() -> None:
    start = datetime(2026, 11, 23, 7, tzinfo=UTC)
    step = timedelta(minutes=15)
    assert cells(start, timedelta(minutes=20), step) == [start, start + step]
    assert align_up(start + timedelta(minutes=1), step) == start + step
    assert align_up(start, step) == start


def test_wall_times_are_read_and_written_as_people_write_them() -> None:
    assert parse_clock("08:30") == time(8, 30)
    assert parse_clock("00:00") == time(0)
    # Where an end is meant, midnight is the end of the day, as "24:00" or a time input's "00:00".
    assert parse_clock("24:00", end=True) == parse_clock("00:00", end=True) == END_OF_DAY
    for wrong in ("24:00", "8:30", "0830", "08:30:00", "25:00", "٠٨:٣٠", "08:30 ", ""):
        assert parse_clock(wrong) is None, wrong
    assert clock_text(time(8, 30)) == "08:30" and clock_text(END_OF_DAY) == "24:00"
