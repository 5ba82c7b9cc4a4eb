"""Benchmark: from a clerk's "call next" to the call arriving at 20 lobby displays.

Creates a fresh PostgreSQL database (or SQLite with ``--backend sqlite``),
migrates it, loads the demo offices and adds an office that is open now (three
walk-in services, three counters, no call cooldown) with one kiosk, one clerk
and DISPLAYS display devices. Starts ``gunicorn -k gthread --threads 32 -w 4``
with REDIS_URL (unless ``--no-redis``), opens one Server-Sent Events stream per
display (each its own signed-in ``requests.Session``, read in its own thread),
issues CALLS walk-in tickets through the kiosk, then makes CALLS calls through
the counter's HTTP API (``POST /counter/call-next`` with Accept: application/json,
each on a new TCP connection so any worker may take it), waiting after each
until every display has the call, then ``finish``.

Prints, over CALLS x DISPLAYS deliveries: the time from sending call-next to the
event's arrival (what the clerk sees: click to screen), from the event row's
``created_at`` (written inside the call's transaction) to arrival, and from the
clerk's answer to arrival; whether every display got every call, in order; how
the streams and calls spread over the workers; any traceback in gunicorn's
log (kept in bench/results/). Then stops gunicorn and drops the database.

    .venv/bin/python bench/display_latency.py
    .venv/bin/python bench/display_latency.py --calls 50 --displays 20 --workers 4
    .venv/bin/python bench/display_latency.py --no-redis      # the event log polled each second
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # floor_common
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))  # the project: tests.helpers

from floor_common import SERVICES, Run, call_times, prepare, summary, tracebacks

from tests.helpers.live_floor import (
    Clerk,
    Kiosk,
    Stream,
    connection_owners,
    device_session,
    has_call,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--displays", type=int, default=20)
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=32, help="gthread threads per worker")
    parser.add_argument("--pause", type=float, default=0.2, help="seconds between calls")
    parser.add_argument("--no-redis", action="store_true", help="no REDIS_URL: polling only")
    args = parser.parse_args(argv)
    if not (1 <= args.displays <= 100 and 1 <= args.calls <= 500):
        parser.error("need 1..100 displays and 1..500 calls")
    run = Run.from_args("display_latency", args)
    run.announce(
        f"{'Redis pub/sub' if run.redis else 'no Redis (poll every 1 s)'}, "
        f"{args.displays} displays, {args.calls} calls"
    )

    with run.database("display") as (folder, url):
        floor = prepare(url, folder, displays=args.displays, kiosks=1, clerks=1)
        with run.gunicorn(url, folder) as server:
            streams: list[Stream | None] = [None] * args.displays
            failures: list[str] = []

            def open_stream(i: int) -> None:
                try:
                    session = device_session(server.base, floor.displays[i])
                    stream = Stream(session, server.base, read_timeout=60, connect_timeout=10)
                    if stream.response.status_code != 200:
                        stream.close()
                        raise RuntimeError(f"the stream answered {stream.response.status_code}")
                    streams[i] = stream
                except Exception as exc:
                    failures.append(f"display {i}: {exc!r}")

            openers = [
                threading.Thread(target=open_stream, args=(i,)) for i in range(args.displays)
            ]
            began = time.perf_counter()
            for opener in openers:
                opener.start()
            for opener in openers:
                opener.join(60)
            if failures or not all(streams):
                raise SystemExit(f"displays could not connect: {failures}")
            try:
                for stream in streams:
                    if not stream.wait_for(lambda ev: bool(ev), 30):
                        raise SystemExit(f"no first event on a stream: {stream.error!r}")
                firsts = [s.events[0].at - began for s in streams]
                spread = spread_streams(server, streams, lambda i: open_stream(i))

                kiosk = Kiosk(server.base, floor.kiosks[0], timeout=60)
                for i in range(args.calls):
                    kiosk.walk_in(SERVICES[i % len(SERVICES)])
                clerk = Clerk(server.base, floor.clerks[0], timeout=60)
                clerk.seat(next(iter(floor.counters.values())))

                called: list[int] = []
                sent: dict[int, float] = {}
                answered: dict[int, float] = {}
                request_times: list[float] = []
                call_workers: Counter[int] = Counter()
                served_by: dict[int, int] = {}
                missing = 0
                for _ in range(args.calls):
                    time.sleep(args.pause)
                    start = time.perf_counter()
                    answer = clerk.call_next(server)
                    end = time.perf_counter()
                    ticket, worker = answer.body["ticket"]["ticket_id"], answer.worker
                    called.append(ticket)
                    sent[ticket], answered[ticket] = start, end
                    request_times.append(end - start)
                    call_workers[worker or 0] += 1
                    served_by[ticket] = worker or 0
                    for stream in streams:
                        if not stream.wait_for(has_call(ticket), 5):
                            missing += 1
                    clerk.finish(ticket, server)
            finally:
                for stream in streams:
                    if stream is not None:
                        stream.close()
        log = server.log.read_text(errors="replace")
        created = call_times(url, floor.office_id)

    click_to_screen, stored_to_screen, answer_to_screen = [], [], []
    same_worker, other_worker = [], []
    in_order = 0
    for stream in streams:
        arrivals = [e for e in stream.events if e.kind == "call"]
        if [e.data["ticket_id"] for e in arrivals] == called:
            in_order += 1
        for event in arrivals:
            ticket = event.data["ticket_id"]
            click_to_screen.append(event.at - sent[ticket])
            answer_to_screen.append(event.at - answered[ticket])
            stored_to_screen.append(event.wall - created[ticket])
            local = served_by[ticket] == stream.worker
            (same_worker if local else other_worker).append(event.at - sent[ticket])

    print(f"\nstreams: first `state` event {summary(firsts)} after opening all at once")
    print(f"streams per gunicorn worker (pid: count): {dict(sorted(spread.items()))}")
    print(f"calls served per worker (pid: count): {dict(sorted(call_workers.items()))}")
    print(f"call-next request itself: {summary(request_times)}")
    print("\nlatency over every (call, display) delivery:")
    print(f"  call-next sent -> event at the display: {summary(click_to_screen)}")
    print(f"  event row stored -> at the display:     {summary(stored_to_screen)}")
    print(f"  call-next answered -> at the display:   {summary(answer_to_screen)}")
    print("call-next sent -> at the display, by where the display's stream runs:")
    print(f"  in the worker that made the call:  {summary(same_worker)}")
    print(f"  in another worker:                 {summary(other_worker)}")
    expected = args.calls * args.displays
    print(
        f"\ndeliveries {len(click_to_screen)} of {expected}, missing {missing}; "
        f"displays with every call in order: {in_order} of {args.displays}"
    )
    errors = tracebacks(log)
    print(f"gunicorn log: {server.log} ({len(errors)} tracebacks/errors)")
    for error in errors[:5]:
        print(error)
    return 0 if missing == 0 and in_order == args.displays and not errors else 1


def spread_streams(server, streams: list, reopen) -> Counter[int]:
    """Reconnect displays until no worker holds more than half of them (bounded).

    Which worker accepts a connection is up to the kernel, and a burst of
    connections often lands on one; displays connect at scattered moments in
    an office, so spread them, and so that most calls must cross processes.
    """
    limit = -(-len(streams) // 2)
    for _ in range(3 * len(streams)):
        owners = connection_owners(server)
        for stream in streams:
            stream.worker = owners.get(stream.local_port, 0)
        spread = Counter(stream.worker for stream in streams)
        busiest, count = spread.most_common(1)[0]
        if count <= limit and 0 not in spread:
            break
        index = next(i for i, s in enumerate(streams) if s.worker == busiest)
        streams[index].close()
        time.sleep(0.05)
        reopen(index)
        if not streams[index].wait_for(lambda ev: bool(ev), 30):
            raise SystemExit("no first event on a reopened stream")
    return spread


if __name__ == "__main__":
    sys.exit(main())
