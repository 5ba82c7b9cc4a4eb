"""The pure rules of the floor: who is called next, and how long the wait is."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from queueing.estimate import OpenCounter, handling_time, play_out
from queueing.priority import Waiting, choose_next, eligible, order

SLOT = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)  # an appointment's slot start
A, B = 1, 2  # service ids
COUNTER, OTHER = 10, 11


def walk_in(tid: int, minute: int, service: int = A, **kw: object) -> Waiting:
    at = SLOT + timedelta(minutes=minute)
    return Waiting(id=tid, service_id=service, queued_at=at, issued_at=at, **kw)


def appointment(tid: int, checked_in_minute: int, service: int = A, **kw: object) -> Waiting:
    """Checked in on time: in line from the slot start, whenever the kiosk printed it."""
    issued = SLOT + timedelta(minutes=checked_in_minute)
    return Waiting(
        id=tid, service_id=service, queued_at=SLOT, issued_at=issued, appointment=True, **kw
    )


def ids(tickets: list[Waiting]) -> list[int]:
    return [t.id for t in tickets]


def test_first_come_first_served_without_appointments_or_urgency() -> None:
    line = [walk_in(3, 7), walk_in(1, -5), walk_in(2, 2)]
    assert ids(order(line)) == [1, 2, 3]
    assert choose_next(line, COUNTER, {A}).id == 1


def test_same_arrival_second_is_ordered_by_id() -> None:
    line = [walk_in(9, 0), walk_in(4, 0)]
    assert ids(order(line)) == [4, 9]


def test_urgent_goes_first_whatever_its_arrival() -> None:
    line = [walk_in(1, -30), appointment(2, -10), walk_in(3, 20, urgent=True)]
    assert choose_next(line, COUNTER, {A}).id == 3
    assert ids(order(line)) == [3, 1, 2]


def test_two_urgent_tickets_keep_their_arrival_order() -> None:
    line = [walk_in(1, 5, urgent=True), walk_in(2, -5, urgent=True), walk_in(3, -20)]
    assert ids(order(line)) == [2, 1, 3]


def test_on_time_appointment_goes_before_walk_ins_who_came_after_its_slot_start() -> None:
    # The booked resident checked in 10 minutes early; two walk-ins came after 9:00.
    line = [walk_in(1, 1), walk_in(2, 4), appointment(3, -10)]
    assert choose_next(line, COUNTER, {A}).id == 3
    assert ids(order(line)) == [3, 1, 2]


def test_appointment_does_not_overtake_walk_ins_already_waiting_at_its_slot_start() -> None:
    line = [walk_in(1, -12), walk_in(2, -1), appointment(3, -20), walk_in(4, 3)]
    assert ids(order(line)) == [1, 2, 3, 4]
    assert choose_next(line, COUNTER, {A}).id == 1


def test_appointment_checked_in_late_within_the_window_keeps_its_slot_start() -> None:
    # Checked in at 9:10 (within the 15 minutes' grace): still ahead of the 9:05 walk-in.
    line = [walk_in(1, 5), appointment(2, 10)]
    assert ids(order(line)) == [2, 1]


def test_on_a_tie_the_appointment_goes_first() -> None:
    line = [walk_in(1, 0), appointment(2, -5)]
    assert ids(order(line)) == [2, 1]


def test_a_counter_takes_only_its_services() -> None:
    line = [walk_in(1, -10, service=B), walk_in(2, 0, service=A)]
    assert choose_next(line, COUNTER, {A}).id == 2
    assert choose_next(line, COUNTER, {B}).id == 1
    assert choose_next(line, COUNTER, {A, B}).id == 1
    assert choose_next(line, COUNTER, set()) is None
    assert choose_next([], COUNTER, {A, B}) is None


def test_a_ticket_transferred_to_a_named_counter_is_for_that_counter_only() -> None:
    sent = walk_in(1, -30, target_counter_id=OTHER)
    assert eligible(sent, OTHER, set())  # even when that counter does not serve service A
    assert not eligible(sent, COUNTER, {A})
    line = [sent, walk_in(2, 0)]
    assert choose_next(line, COUNTER, {A}).id == 2
    assert choose_next(line, OTHER, {A}).id == 1
    assert choose_next([sent], COUNTER, {A, B}) is None


def test_urgency_does_not_bypass_counter_eligibility() -> None:
    line = [walk_in(1, 0, service=B, urgent=True), walk_in(2, 5)]
    assert choose_next(line, COUNTER, {A}).id == 2


def test_handling_time_is_the_median_of_recent_times_or_the_planned_duration() -> None:
    planned = timedelta(minutes=30)
    assert handling_time([], planned) == planned
    recent = [timedelta(minutes=m) for m in (12, 3, 40, 9, 10)]
    assert handling_time(recent, planned) == timedelta(minutes=10)
    assert handling_time([timedelta(minutes=7)], planned) == timedelta(minutes=7)


TEN = timedelta(minutes=10)


def wait(ahead: int, counters: int, visits: Sequence[int] = ()) -> timedelta | None:
    """The wait of a walk-in of A who came at 11:00 behind ``ahead`` walk-ins of A (in
    line since before 9:00), on ``counters`` counters idle at 9:00, 10 minutes a visit;
    ``visits``: booked visits of A due so many minutes after 9:00 (all before 11:00)."""
    line = [walk_in(n, n - 60) for n in range(1, ahead + 1)] + [walk_in(ahead + 1, 120)]
    starts = play_out(
        line,
        [OpenCounter(c, {A}, SLOT) for c in range(counters)],
        {A: TEN},
        {A: [SLOT + timedelta(minutes=m) for m in visits]},
        [ahead + 1],
    )
    start = starts.get(ahead + 1)
    return None if start is None else start - SLOT


def test_wait_without_appointments_shares_the_line_among_open_counters() -> None:
    assert wait(0, 1) == timedelta(0)
    assert wait(3, 1) == timedelta(minutes=30)
    # Two ahead at 0, the third at 10 on one counter: the other is free at 10.
    assert wait(3, 2) == timedelta(minutes=10)
    assert wait(6, 3) == timedelta(minutes=20)


def test_wait_with_no_open_counter_is_unknown() -> None:
    assert wait(2, 0) is None
    assert wait(0, 0, [0]) is None


def test_appointments_due_before_the_turn_are_slotted_in() -> None:
    # 3 ahead, one counter: 30 minutes. A visit booked at +15 comes before that turn.
    assert wait(3, 1, [15]) == timedelta(minutes=40)
    # One booked after the turn (at +45) does not push it back.
    assert wait(3, 1, [45]) == timedelta(minutes=30)
    # A pushed-back turn can be passed by the next appointment too: +15 moves it to 40, so
    # one at +35 now comes first as well; one at +55 still does not.
    assert wait(3, 1, [55, 35, 15]) == timedelta(minutes=50)
    # Two counters share the appointments as they share the line: four ahead until 20,
    # the visit due at 5 then takes one counter, this ticket the other at 20.
    assert wait(4, 2, [5]) == timedelta(minutes=20)
