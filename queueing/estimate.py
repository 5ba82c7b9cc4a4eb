"""Estimated wait: recent handling times, the open counters, and booked appointments."""

from __future__ import annotations

import heapq
import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from .priority import Waiting, eligible

RANGE_STEP = 5  # minutes: a range's ends fall on this grid

# A counter whose ticket has run past the usual handling time is expected free soon, not
# now: the clerk is still with someone, and "now" would tell the next in line "no wait".
OVERRUN = timedelta(minutes=1)


def handling_time(recent: Sequence[timedelta], planned: timedelta) -> timedelta:
    """The median of recent handling times of a service, or its planned duration."""
    if not recent:
        return planned
    ordered = sorted(recent)
    return ordered[len(ordered) // 2]


def free_at(busy_since: datetime | None, handling: timedelta, now: datetime) -> datetime:
    """When an open counter can take the next ticket: now if idle, else one handling time
    (of the service of the ticket at it) after that ticket was called or started, and in
    any case not before ``now + OVERRUN``."""
    if busy_since is None:
        return now
    return max(busy_since + handling, now + OVERRUN)


@dataclass(frozen=True)
class OpenCounter:
    """An open counter as the line is played out on it."""

    id: int
    services: set[int]
    free: datetime  # when it can take the next ticket (``free_at``)


def play_out(
    line: Sequence[Waiting],
    counters: Sequence[OpenCounter],
    handling: Mapping[int, timedelta],
    visits: Mapping[int, Sequence[datetime]],
    targets: Collection[int],
) -> dict[int, datetime]:
    """When each ticket of ``line`` (in the order it is called) gets a counter, until every
    one of ``targets`` (ticket ids) has one; a ticket no open counter takes has none.

    The floor is played out as the clerks call: the counter that frees first (on a tie
    the lower id, so the figures are the same on every run) calls, at that instant, what
    ``choose_next`` would: the first ticket in line it is eligible for, unless a booked
    visit of a service it serves is due by then and its slot began before that ticket,
    not urgent, joined the line (``visits``: by service, the slot starts of visits not
    checked in yet). It is then busy for the handling time of what it took (``handling``,
    by service). A counter with no ticket left for it waits for its next visit: serving
    that keeps the visit off the counters the line needs. With neither it leaves the
    play. Exact by construction, in O(line x counters): each counter reads the line and
    the visits once, front to back.
    """
    wanted = set(targets)
    starts: dict[int, datetime] = {}
    taken = [False] * len(line)
    due = sorted((start, sid) for sid, starts_of in visits.items() for start in starts_of)
    visited = [False] * len(due)
    by_id = {c.id: c for c in counters}
    next_ticket = dict.fromkeys(by_id, 0)  # per counter: nothing before it is for it
    next_visit = dict.fromkeys(by_id, 0)  # the same, along the visits
    free = [(c.free, c.id) for c in counters]
    heapq.heapify(free)
    while free and not wanted <= starts.keys():
        at, cid = heapq.heappop(free)
        offered = by_id[cid].services
        i = next_ticket[cid]
        while i < len(line) and (taken[i] or not eligible(line[i], cid, offered)):
            i += 1
        v = next_visit[cid]
        while v < len(due) and (visited[v] or due[v][1] not in offered):
            v += 1
        next_ticket[cid], next_visit[cid] = i, v
        ticket = line[i] if i < len(line) else None
        visit = due[v] if v < len(due) else None
        if (
            visit is not None
            and visit[0] <= at
            and (ticket is None or (visit[0] < ticket.queued_at and not ticket.urgent))
        ):  # a visit due, and before the ticket by the priority rule
            visited[v] = True
            heapq.heappush(free, (at + handling[visit[1]], cid))
        elif ticket is not None:
            taken[i] = True
            starts[ticket.id] = at
            heapq.heappush(free, (at + handling[ticket.service_id], cid))
        elif visit is not None:  # only a visit later on is left for it: idle until then
            heapq.heappush(free, (visit[0], cid))
        # else nothing is left for it: it leaves the play
    return starts


def wait_range(wait: timedelta, ahead: int) -> tuple[int, int]:
    """``wait`` as a range of minutes to show a resident: 20 % either side, on a 5-minute grid.

    A single figure reads like a promise the estimate cannot keep, and "about 0 min"
    with people still ahead is plainly wrong: with anyone ahead the range starts at
    1 minute at least, and it is always at least one step wide.
    """
    minutes = wait.total_seconds() / 60
    low = math.floor(minutes * 0.8 / RANGE_STEP) * RANGE_STEP
    if ahead > 0:
        low = max(low, 1)
    high = math.ceil(minutes * 1.2 / RANGE_STEP) * RANGE_STEP
    next_step = (low // RANGE_STEP + 1) * RANGE_STEP
    return low, max(high, next_step)
