"""Benchmark: walk-in tickets per second with several kiosks at once, and duplicate numbers.

Creates a fresh PostgreSQL database (or SQLite with ``--backend sqlite``),
migrates it, loads the demo offices and adds an office that is open now with
three walk-in services (prefixes L, O, Z) and KIOSKS kiosk devices. Starts
``gunicorn -k gthread -w WORKERS --threads THREADS`` (with REDIS_URL unless
``--no-redis``: each ticket is a floor event), signs each kiosk in through its
own device link (one ``requests.Session`` each) and releases them at once:
each kiosk POSTs ``/kiosk/walk-in/<service>`` (the button a resident presses;
services in turn, each kiosk starting at another) until the run has TICKETS
tickets in all or SECONDS have passed. The printed ticket page the kiosk would
load next is not fetched: this measures issuing.

Then it stops gunicorn and checks with SQL: numbers given twice for one
(office, day, prefix) (must be 0), every prefix numbered 1..n without gaps,
each prefix's sequence row equal to its highest number, one ``update`` event
and one audit entry per ticket, and the ticket ids the kiosks were sent to
equal to the tickets stored. Prints tickets per second, latencies (also for
the first and last tenth of the run: the line grows as tickets are issued and
nobody is called), status codes, and any traceback in gunicorn's log (kept in
bench/results/). Finally drops the database.

    .venv/bin/python bench/ticket_rate.py
    .venv/bin/python bench/ticket_rate.py --kiosks 8 --tickets 400 --seconds 30 --workers 4
    .venv/bin/python bench/ticket_rate.py --backend sqlite
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # floor_common
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))  # the project: tests.helpers

from floor_common import SERVICES, Run, prepare, summary, tracebacks

from tests.helpers.live_floor import Kiosk, ticket_id


@dataclass
class KioskResult:
    statuses: Counter[int] = field(default_factory=Counter)
    tickets: list[int] = field(default_factory=list)
    latencies: list[tuple[float, float]] = field(default_factory=list)  # (sent at, seconds)
    errors: list[str] = field(default_factory=list)


def run_kiosk(
    kiosk: Kiosk,
    index: int,
    budget: list[int],
    lock: threading.Lock,
    deadline: list[float],
    barrier: threading.Barrier,
) -> KioskResult:
    result = KioskResult()
    barrier.wait(60)
    turn = index
    while time.perf_counter() < deadline[0]:
        with lock:
            if budget[0] <= 0:
                break
            budget[0] -= 1
        service = SERVICES[turn % len(SERVICES)]
        turn += 1
        began = time.perf_counter()
        try:
            answer = kiosk.press(service)
        except Exception as exc:
            result.statuses[0] += 1
            result.errors.append(repr(exc))
            continue
        result.latencies.append((began, time.perf_counter() - began))
        result.statuses[answer.status_code] += 1
        if answer.status_code == 302:
            result.tickets.append(ticket_id(answer))
        else:
            result.errors.append(f"{service}: {answer.status_code} {answer.text[:200]}")
    return result


def check(url: str, office_id: int) -> dict:
    """What the database holds after the run."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            q = {"o": office_id}
            duplicates = conn.execute(
                text(
                    "SELECT day, prefix, number, count(*) FROM ticket WHERE office_id = :o"
                    " GROUP BY day, prefix, number HAVING count(*) > 1"
                ),
                q,
            ).all()
            prefixes = conn.execute(
                text(
                    "SELECT t.day, t.prefix, count(*), count(DISTINCT t.number), min(t.number),"
                    " max(t.number), max(s.last_number) FROM ticket t"
                    " LEFT JOIN ticket_sequence s ON s.office_id = t.office_id"
                    " AND s.day = t.day AND s.prefix = t.prefix"
                    " WHERE t.office_id = :o GROUP BY t.day, t.prefix ORDER BY t.day, t.prefix"
                ),
                q,
            ).all()
            ids = set(conn.scalars(text("SELECT id FROM ticket WHERE office_id = :o"), q))
            events = conn.execute(
                text("SELECT count(*) FROM queue_event WHERE office_id = :o AND kind = 'update'"),
                q,
            ).scalar_one()
            audits = conn.execute(
                text(
                    "SELECT count(*) FROM audit_entry WHERE office_id = :o AND action = 'walk_in'"
                ),
                q,
            ).scalar_one()
    finally:
        engine.dispose()
    return {
        "duplicates": duplicates,
        "prefixes": prefixes,
        "ids": ids,
        "events": events,
        "audits": audits,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--kiosks", type=int, default=8)
    parser.add_argument("--tickets", type=int, default=400, help="tickets in all, at most")
    parser.add_argument("--seconds", type=float, default=30, help="time limit of the run")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=8, help="gthread threads per worker")
    parser.add_argument("--no-redis", action="store_true")
    args = parser.parse_args(argv)
    if not (1 <= args.kiosks <= 64 and 1 <= args.tickets <= 5000 and 0 < args.seconds <= 300):
        parser.error("need 1..64 kiosks, 1..5000 tickets and 0..300 seconds")
    run = Run.from_args("ticket_rate", args)
    run.announce(
        f"{'Redis' if run.redis else 'no Redis'}; {args.kiosks} kiosks, "
        f"at most {args.tickets} tickets or {args.seconds:g} s"
    )
    with run.database("tickets") as (folder, url):
        floor = prepare(url, folder, displays=0, kiosks=args.kiosks, clerks=0)
        with run.gunicorn(url, folder) as server:
            kiosks = [Kiosk(server.base, token, timeout=60) for token in floor.kiosks]
            budget, lock = [args.tickets], threading.Lock()
            deadline = [float("inf")]
            barrier = threading.Barrier(args.kiosks + 1)
            results: list[KioskResult | None] = [None] * args.kiosks

            def work(i: int) -> None:
                results[i] = run_kiosk(kiosks[i], i, budget, lock, deadline, barrier)

            threads = [threading.Thread(target=work, args=(i,)) for i in range(args.kiosks)]
            for thread in threads:
                thread.start()
            deadline[0] = time.perf_counter() + args.seconds
            barrier.wait(60)
            began = time.perf_counter()
            for thread in threads:
                thread.join(args.seconds + 120)
            wall = time.perf_counter() - began
        log = server.log.read_text(errors="replace")
        found = check(url, floor.office_id)

    statuses: Counter[int] = Counter()
    issued: list[int] = []
    timed: list[tuple[float, float]] = []
    errors: list[str] = []
    for result in results:
        if result is None:
            errors.append("a kiosk thread did not finish")
            continue
        statuses.update(result.statuses)
        issued.extend(result.tickets)
        timed.extend(result.latencies)
        errors.extend(result.errors)
    timed.sort()
    tenth = max(1, len(timed) // 10)
    latencies = [seconds for _, seconds in timed]

    print(f"\nissued {len(issued)} tickets in {wall:.2f} s: {len(issued) / wall:.1f} tickets/s")
    print(f"status codes: {dict(sorted(statuses.items()))} (302: issued, sent to the ticket page)")
    print(f"POST /kiosk/walk-in latency: {summary(latencies)}")
    print(f"  first tenth of the run: {summary([s for _, s in timed[:tenth]])}")
    print(f"  last tenth of the run:  {summary([s for _, s in timed[-tenth:]])}")
    print("\nper prefix (day, prefix: tickets, distinct numbers, lowest, highest, sequence row):")
    gaps = 0
    for day, prefix, count, distinct, low, high, last in found["prefixes"]:
        contiguous = distinct == count and low == 1 and high == count and last == high
        gaps += not contiguous
        print(
            f"  {day} {prefix}: {count}, {distinct}, {low}, {high}, {last}"
            f"  {'1..n, no gaps' if contiguous else 'NOT CONTIGUOUS'}"
        )
    duplicates = len(found["duplicates"])
    ids_match = found["ids"] == set(issued) and len(issued) == len(set(issued))
    print(f"\nduplicate numbers (same office, day, prefix, number): {duplicates}")
    print(f"prefixes not numbered 1..n: {gaps}")
    print(
        f"tickets stored {len(found['ids'])}, ids answered to kiosks {len(issued)} "
        f"({'the same' if ids_match else 'DIFFERENT'}); update events {found['events']}, "
        f"walk_in audit entries {found['audits']}"
    )
    problems = tracebacks(log)
    print(f"gunicorn log: {server.log} ({len(problems)} tracebacks/errors)")
    for problem in problems[:5]:
        print(problem)
    for error in errors[:5]:
        print("client error:", error)
    consistent = found["events"] == found["audits"] == len(issued)
    ok = not duplicates and not gaps and ids_match and consistent and not problems and not errors
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
