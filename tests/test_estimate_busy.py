"""The estimated wait plays the office's line out once on the open counters, busy ones
included (``estimate.play_out``, ``state.Floor``).

Every expected figure below is worked out by hand in the comment beside it: a counter
frees one handling time of the service of the ticket at it after that ticket was called
or started (not before a minute from now); the counter that frees first (on a tie the
lower id) calls the first ticket in line it is eligible for, unless a booked visit of a
service it serves is due by then and its slot began before that ticket joined the line;
a ticket's wait ends when it is called. Now is 10:00; ticket n is in line since 9:n.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any, cast

from hypothesis import given, settings
from hypothesis import strategies as st

from queueing.estimate import OVERRUN, OpenCounter, free_at, play_out
from queueing.priority import Waiting, choose_next, order
from queueing.state import Floor

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
A, B = 1, 2  # service ids
TEN = timedelta(minutes=10)
HANDLING = {A: TEN, B: TEN}


def at(minutes: float) -> datetime:
    return NOW + timedelta(minutes=minutes)


def ticket(tid: int, service: int = A, **kw: Any) -> Waiting:
    """In line since 9:``tid`` (so the line's order is by id)."""
    queued = kw.pop("queued", at(tid - 60))
    return Waiting(id=tid, service_id=service, queued_at=queued, issued_at=queued, **kw)


def counter(cid: int, free: float = 0, services: tuple[int, ...] = (A,)) -> OpenCounter:
    return OpenCounter(cid, set(services), at(free))


def waits(
    line: list[Waiting],
    counters: list[OpenCounter],
    handling: dict[int, timedelta] = HANDLING,
    visits: dict[int, list[datetime]] | None = None,
) -> dict[int, float]:
    """Minutes until each ticket of ``line`` is called (none: no counter takes it)."""
    starts = play_out(line, counters, handling, visits or {}, [t.id for t in line])
    return {tid: (start - NOW).total_seconds() / 60 for tid, start in starts.items()}


def test_all_counters_busy_and_nobody_ahead_waits_for_the_soonest_to_free() -> None:
    # Called at 9:55 and started at 9:52: free at 10:05 and 10:02. The first in line: 10:02.
    assert free_at(at(-5), TEN, NOW) == at(5) and free_at(at(-8), TEN, NOW) == at(2)
    assert waits([ticket(1)], [counter(1, 5), counter(2, 2)]) == {1: 2}
    assert free_at(None, TEN, NOW) == NOW  # idle
    assert waits([ticket(1)], [counter(1, 5), counter(2)]) == {1: 0}


def test_two_counters_and_three_ahead() -> None:
    # Both idle: tickets 1 and 2 at 10:00, 3 at 10:10 on counter 1, and 4 at 10:10 on
    # counter 2 (not 10:15: nobody is served by halves).
    assert waits([ticket(n) for n in (1, 2, 3, 4)], [counter(1), counter(2)]) == {
        1: 0,
        2: 0,
        3: 10,
        4: 10,
    }
    # Counter 1 free at 10:06, counter 2 idle: 1 at 10:00 on 2 (free 10:10), 2 at 10:06
    # on 1 (free 10:16), 3 at 10:10 on 2 (free 10:20), 4 at 10:16 on 1.
    assert waits([ticket(n) for n in (1, 2, 3, 4)], [counter(1, 6), counter(2)])[4] == 16


def test_a_counter_past_its_handling_time_is_expected_free_in_a_minute() -> None:
    # Served since 9:30 with 10 minutes' handling: overdue, so "soon" (10:01), not 9:40.
    assert free_at(at(-30), TEN, NOW) == NOW + OVERRUN
    # Three in line at that one counter: 10:01, 10:11, 10:21.
    assert waits([ticket(n) for n in (1, 2, 3)], [counter(1, 1)]) == {1: 1, 2: 11, 3: 21}


def test_a_specialised_counter_takes_only_its_own_services() -> None:
    """The review's case (test_public_queue.py): counter 3 serves only B (zamiana),
    counter 1 serves A (raty) and B, both free at 10:30, 30 minutes a visit; two A wait
    and a B comes last. At 10:30 counter 1 calls A1 and counter 3 the B: 30 minutes,
    not 60 (it does not wait behind the two A that only counter 1 may take)."""
    thirty = {A: timedelta(minutes=30), B: timedelta(minutes=30)}
    counters = [counter(1, 30, (A, B)), counter(3, 30, (B,))]
    line = [ticket(1), ticket(2), ticket(3, B)]
    assert waits(line, counters, thirty) == {1: 30, 2: 60, 3: 30}
    # Counter 2 serves only B, counter 1 both, all idle: B1 and B2 go to counter 1 and 2
    # at 10:00 in line order, so A3 gets counter 1 at 10:10, not behind both B (20).
    line = [ticket(1, B), ticket(2, B), ticket(3)]
    assert waits(line, [counter(1, 0, (A, B)), counter(2, 0, (B,))]) == {1: 0, 2: 0, 3: 10}
    # A counter with nothing in line for it stays out: counter 2 (only A) is idle, yet B2
    # waits for counter 1, busy with B1 until 10:10.
    line = [ticket(1, B), ticket(2, B)]
    assert waits(line, [counter(1, 0, (A, B)), counter(2)]) == {1: 0, 2: 10}


def test_on_a_tie_the_lower_counter_calls_first() -> None:
    # Both idle: counter 1 (A and B) calls A1; counter 2 (A only) has nothing left, so
    # B2 waits for counter 1 at 10:10. The same figures on every run.
    assert waits([ticket(1), ticket(2, B)], [counter(2), counter(1, 0, (A, B))]) == {1: 0, 2: 10}


def test_a_ticket_sent_to_a_counter_waits_for_that_counter() -> None:
    # Ticket 1 was sent to counter 2 by name (free at 10:20); counter 1 (idle) calls 2.
    line = [ticket(1, target_counter_id=2), ticket(2)]
    assert waits(line, [counter(1), counter(2, 20)]) == {1: 20, 2: 0}
    # With counter 2 closed nobody takes it: no estimate.
    assert waits(line, [counter(1)]) == {2: 0}


def test_each_ticket_holds_its_counter_for_its_own_service() -> None:
    # One counter, A 10 minutes and B 40: B1 10:00-10:40, A2 10:40-10:50, A3 at 10:50.
    handling = {A: TEN, B: timedelta(minutes=40)}
    line = [ticket(1, B), ticket(2), ticket(3)]
    assert waits(line, [counter(1, 0, (A, B))], handling) == {1: 0, 2: 40, 3: 50}


def test_a_busy_counter_frees_after_the_handling_time_of_the_ticket_at_it() -> None:
    """The review's second case: counter 1 serves A (10 minutes) and B (40); the B
    called at 9:50 holds it until 10:30, so the next A waits 30 minutes; counting A's
    10 minutes would say 10:01 (9:50 + 10 is past, so now + OVERRUN)."""
    floor = Floor(
        counters=[
            cast(Any, SimpleNamespace(id=1, services=[SimpleNamespace(id=s) for s in (A, B)]))
        ],
        busy={1: (at(-10), B)},
        handling={A: TEN, B: timedelta(minutes=40)},
        visits={},
    )
    assert floor.open_counters(NOW) == [OpenCounter(1, {A, B}, at(30))]
    assert floor.starts([ticket(1)], [1], NOW) == {1: at(30)}


def test_a_booked_visit_due_goes_before_those_who_came_after_its_slot_began() -> None:
    # One counter free at 10:05, 10 minutes a visit; ticket 2 checked in early for a
    # 10:30 slot (in line from then). Ticket 1 goes at 10:05 (until 10:15); a visit due
    # at 10:08 is there by then, and its slot began before 10:30: it takes 10:15-10:25,
    # and ticket 2 10:25.
    line = [ticket(1), ticket(2, queued=at(30), appointment=True)]
    assert waits(line, [counter(1, 5)], visits={A: [at(8)]}) == {1: 5, 2: 25}
    # Due at 10:20, after ticket 2's 10:15 turn: it changes nothing.
    assert waits(line, [counter(1, 5)], visits={A: [at(20)]}) == {1: 5, 2: 15}
    # A slot that began at 9:50, not checked in yet, goes before a ticket in line since
    # 9:55 (the idle counter serves it 10:00-10:10) but after one since 9:45.
    assert waits([ticket(55)], [counter(1)], visits={A: [at(-10)]}) == {55: 10}
    assert waits([ticket(45)], [counter(1)], visits={A: [at(-10)]}) == {45: 0}
    # An urgent ticket goes before it; a visit of B is not for a counter serving only A.
    assert waits([ticket(55, urgent=True)], [counter(1)], visits={A: [at(-10)]}) == {55: 0}
    assert waits([ticket(55)], [counter(1)], visits={B: [at(-10)]}) == {55: 0}
    # Two counters free at 10:00 and 10:04, tickets 1 and 2 take them (until 10:10 and
    # 10:14); visits due 10:03 and 10:12 then take 10:10-10:20 and 10:14-10:24; one due
    # 10:30 is after ticket 3's (checked in early for 10:29) turn at 10:20.
    line = [ticket(1), ticket(2), ticket(3, queued=at(29), appointment=True)]
    visits = {A: [at(30), at(12), at(3)]}
    assert waits(line, [counter(1), counter(2, 4)], visits=visits)[3] == 20


def test_a_counter_with_nobody_in_line_for_it_takes_its_visits() -> None:
    # Counter 2 serves only B and nobody in line is for it: it takes the B visit due at
    # 10:10 then, so counter 1 (A and B, free at 10:20) calls ticket 1 (checked in early
    # for 10:30) at 10:20. Were counter 2 left out, the visit would take counter 1 first
    # and ticket 1 would wait until 10:30.
    line = [ticket(1, queued=at(30), appointment=True)]
    counters = [counter(1, 20, (A, B)), counter(2, 0, (B,))]
    assert waits(line, counters, visits={B: [at(10)]}) == {1: 20}
    assert waits(line, counters[:1], visits={B: [at(10)]}) == {1: 30}


def test_a_long_line_and_no_open_counter() -> None:
    # 100 at one counter freeing at 10:05, 7 minutes each: the last at 10:05 + 99 × 7.
    seven = {A: timedelta(minutes=7)}
    line = [ticket(n, queued=at(-100)) for n in range(1, 101)]
    assert waits(line, [counter(1, 5)], seven)[100] == 5 + 99 * 7
    # 8 at three idle counters: three at 10:00, three at 10:10, the last two at 10:20.
    line = [ticket(n) for n in range(1, 9)]
    assert waits(line, [counter(1), counter(2), counter(3)])[8] == 20
    assert waits(line, []) == {}
    # Only the targets are played out to: nothing after the last of them is placed.
    assert play_out(line, [counter(1)], HANDLING, {}, [2]) == {1: NOW, 2: at(10)}


def played_minute_by_minute(
    line: list[Waiting],
    counters: list[tuple[int, set[int], int]],
    handling: dict[int, int],
    visits: list[tuple[int, int]],
) -> dict[int, int]:
    """The same floor played a minute at a time, each free counter calling what
    ``choose_next`` picks, a booked visit due being the ticket it becomes on time (in
    line since its slot began): the minute each ticket is called. A counter that finds
    nobody looks again the next minute."""
    free = {cid: ready for cid, _, ready in counters}
    services = {cid: offered for cid, offered, _ in counters}
    waiting, due = list(line), sorted(visits)
    called: dict[int, int] = {}
    for minute in range(2_000):  # far past the last possible call
        for cid in sorted(free, key=lambda c: (free[c], c)):
            if free[cid] > minute:
                continue
            arrived = [  # ids below any ticket's, in the order the visits are due
                Waiting(n - 1_000, sid, at(start), at(start), appointment=True)
                for n, (start, sid) in enumerate(due)
                if start <= minute
            ]
            chosen = choose_next(waiting + arrived, cid, services[cid])
            if chosen is None:
                free[cid] = minute + 1
            elif chosen.id < 0:
                due.pop(chosen.id + 1_000)
                free[cid] = minute + handling[chosen.service_id]
            else:
                waiting.remove(chosen)
                called[chosen.id] = minute
                free[cid] = minute + handling[chosen.service_id]
    return called


@settings(max_examples=300)
@given(
    tickets=st.lists(
        st.tuples(
            st.sampled_from([A, B]),
            st.integers(-15, 15).map(lambda m: 2 * m),  # even minutes: no tie with a visit
            st.booleans(),
            st.sampled_from([None, None, None, 1, 2]),
        ),
        max_size=12,
    ),
    counters=st.lists(
        st.tuples(
            st.sampled_from([{A}, {B}, {A, B}]),
            st.one_of(st.just(0), st.integers(1, 40)),
        ),
        min_size=1,
        max_size=3,
    ),
    handling=st.tuples(st.integers(1, 20), st.integers(1, 20)),
    visits=st.lists(
        st.tuples(st.integers(-15, 30).map(lambda m: 2 * m + 1), st.sampled_from([A, B])),
        max_size=5,
    ),
)
def test_the_play_agrees_with_the_floor_played_minute_by_minute(
    tickets: list[tuple[int, int, bool, int | None]],
    counters: list[tuple[set[int], int]],
    handling: tuple[int, int],
    visits: list[tuple[int, int]],
) -> None:
    line = order(
        Waiting(n + 1, sid, at(queued), at(queued), urgent=urgent, target_counter_id=target)
        for n, (sid, queued, urgent, target) in enumerate(tickets)
    )
    opened = [(cid + 1, offered, ready) for cid, (offered, ready) in enumerate(counters)]
    minutes = {A: handling[0], B: handling[1]}
    expected = played_minute_by_minute(line, opened, minutes, visits)
    starts = play_out(
        line,
        [OpenCounter(cid, offered, at(ready)) for cid, offered, ready in opened],
        {sid: timedelta(minutes=m) for sid, m in minutes.items()},
        {sid: [at(start) for start, s in visits if s == sid] for sid in (A, B)},
        [t.id for t in line],
    )
    assert {tid: (start - NOW).total_seconds() / 60 for tid, start in starts.items()} == expected
