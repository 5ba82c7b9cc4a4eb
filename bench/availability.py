"""Benchmark: 60 days of availability for the biggest demo office, on a realistic load.

Fills a fresh, migrated database with the demo offices and then with real
bookings (made through ``booking.bookings.create_booking``) holding a share
of bytom-zielna's counter time (3 counters, 5 services) over the next 60 days,
and times ``booking.availability.availability`` for each service. With
``--counters N`` the office first gets N counters, every one serving every
service, and is booked to the same share.

Two timings per service:

* cold: a fresh session for every call, as in a request (the office's hours,
  closures and the service's counters are lazy-loaded inside the call);
* warm: the same session again and again (relationships already loaded).

It also splits one cold call into its parts (opening schedule with public
holidays, the query for taken cells, the pure computation of free starts).

Prints figures only; nothing here is a test. Run from the project root:

    .venv/bin/python bench/availability.py               # SQLite, and PostgreSQL if reachable
    .venv/bin/python bench/availability.py --no-postgres
    .venv/bin/python bench/availability.py --runs 50 --share 0.8 --start 2026-03-02
    .venv/bin/python bench/availability.py --no-postgres --counters 30  # a big office
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from flask import Flask  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from booking.admission import Outcome  # noqa: E402
from booking.availability import (  # noqa: E402
    NEAREST_DAYS_AFTER,
    NEAREST_DAYS_BEFORE,
    availability,
    booking_window,
    held_cells,
    nearest_free,
    schedule_for,
)
from booking.bookings import Contact, create_booking  # noqa: E402
from booking.importer import DEMO_FILE, load_file  # noqa: E402
from booking.models import Booking, BookingSlot, Counter, Office, Service  # noqa: E402
from booking.refusals import SlotTaken  # noqa: E402
from booking.slots import (  # noqa: E402
    candidate_starts,
    cell_count,
    date_range,
    free_counter,
    free_starts_in_grid,
)
from okienko.app import create_app  # noqa: E402
from okienko.database import db  # noqa: E402

OFFICE = "bytom-zielna"
# The fill stands for residents who passed the admission declaration.
PASSED = Outcome(True)
PG_ADMIN = os.environ.get("BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


# ---------------------------------------------------------------------------
# Databases


def app_for(url: str, instance: Path) -> Flask:
    """The app on ``url``; the instance folder (secret key, outbox) is a temp dir."""
    return create_app(
        {
            "INSTANCE_PATH": str(instance),
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": "bench-secret-" + "x" * 40,
            "RATELIMIT_ENABLED": False,
            "MAIL_SERVER": None,
            "MAIL_OUTBOX": str(instance / "outbox"),
        }
    )


def migrate_and_load(app: Flask) -> None:
    from flask_migrate import upgrade

    with app.app_context():
        upgrade()
        load_file(db.session, DEMO_FILE)
        db.session.commit()


def pg_reachable() -> bool:
    try:
        with psycopg.connect(PG_ADMIN, connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


@contextmanager
def fresh_pg_database() -> Iterator[str]:
    """A new empty PostgreSQL database (its SQLAlchemy URL), dropped afterwards."""
    name = f"okienko_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# ---------------------------------------------------------------------------
# Filling the office with bookings


def reshape_counters(office: Office, count: int) -> None:
    """Give ``office`` exactly ``count`` counters, every one serving every service."""
    del office.counters[count:]
    while len(office.counters) < count:
        number = len(office.counters) + 1
        office.counters.append(Counter(name=f"Punkt obsługi {number}", position=number - 1))
    for counter in office.counters:
        counter.services = list(office.services)
    db.session.flush()


@dataclass
class Fill:
    capacity_cells: int
    booked_cells: int
    bookings: int
    refused: int
    seconds: float


def office_capacity(office: Office, first: date, last: date) -> int:
    """Counter cells the office opens over ``first``..``last`` (all counters)."""
    schedule = schedule_for(office, first, last)
    per_counter = sum(
        len(list(candidate_starts(schedule, day, schedule.step))) for day in date_range(first, last)
    )
    return per_counter * len(office.counters)


def fill_office(
    office: Office, first: date, last: date, now: datetime, share: float, seed: int
) -> Fill:
    """Book random (service, start) pairs until ``share`` of the counter cells are held.

    Every booking goes through ``create_booking`` (its checks, its savepoint,
    the unique cell index), with a distinct e-mail so the per-contact cap
    never applies. A local copy of the taken cells only avoids asking for
    times that are known to be full.
    """
    session = db.session
    rng = random.Random(seed)
    schedule = schedule_for(office, first, last)
    step = schedule.step
    earliest, latest = booking_window(office, now)
    capacity = office_capacity(office, first, last)
    target = math.ceil(share * capacity)
    candidates = [
        (service, start)
        for service in office.services
        if service.bookable_online
        for day in date_range(first, last)
        for start in candidate_starts(schedule, day, timedelta(minutes=service.duration_minutes))
        if earliest <= start <= latest
    ]
    counters = {s.id: [c.id for c in s.counters] for s in office.services}
    taken: set[tuple[int, datetime]] = set()
    booked = bookings = refused = 0
    began = time.perf_counter()
    for _ in range(10):  # passes over the shuffled candidates; one is nearly always enough
        rng.shuffle(candidates)
        for service, start in candidates:
            if booked >= target:
                break
            duration = timedelta(minutes=service.duration_minutes)
            if not free_counter(start, duration, step, counters[service.id], taken):
                continue
            contact = Contact(
                f"Bench Resident {bookings}", f"fill-{bookings}@example.org", None, "pl"
            )
            try:
                booking, _token = create_booking(
                    session, office, service, start, contact, now, outcome=PASSED
                )
            except SlotTaken:
                # Not expected with one writer; the savepoint already undid the attempt.
                refused += 1
                continue
            taken.update((booking.counter_id, cell.starts_at) for cell in booking.slots)
            booked += cell_count(duration, step)
            bookings += 1
            if bookings % 250 == 0:
                session.commit()
        if booked >= target:
            break
    session.commit()
    return Fill(capacity, booked, bookings, refused, time.perf_counter() - began)


# ---------------------------------------------------------------------------
# Timing


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.2f}"


@dataclass
class Timing:
    service: str
    duration: int
    counters: int
    free_starts: int
    taken_cells: int
    cold: list[float]
    warm: list[float]
    parts: dict[str, list[float]]


def fresh(session: Any, office_id: int, service_id: int) -> tuple[Office, Service]:
    """The office and service in a new session, as a request would load them."""
    session.remove()
    return session.get(Office, office_id), session.get(Service, service_id)


def time_service(
    office_id: int, service_id: int, first: date, last: date, now: datetime, runs: int
) -> Timing:
    session = db.session
    clock = time.perf_counter
    cold: list[float] = []
    free: dict[date, list[datetime]] = {}
    for _ in range(runs):
        office, service = fresh(session, office_id, service_id)
        began = clock()
        free = availability(session, office, service, first, last, now)
        cold.append(clock() - began)

    office, service = fresh(session, office_id, service_id)
    availability(session, office, service, first, last, now)  # loads the relationships
    warm: list[float] = []
    for _ in range(runs):
        began = clock()
        availability(session, office, service, first, last, now)
        warm.append(clock() - began)

    # The same cold call in parts, step by step as availability() does it.
    parts: dict[str, list[float]] = {"schedule_for": [], "held_cells": [], "free_starts": []}
    held: dict[int, int] = {}
    for _ in range(runs):
        office, service = fresh(session, office_id, service_id)
        counters = [c.id for c in service.counters]
        began = clock()
        schedule = schedule_for(office, first, last)
        parts["schedule_for"].append(clock() - began)
        tz = schedule.timezone
        span_start = datetime.combine(first - timedelta(days=1), datetime.min.time(), tzinfo=tz)
        span_end = datetime.combine(last + timedelta(days=2), datetime.min.time(), tzinfo=tz)
        began = clock()
        held = held_cells(session, counters, span_start, span_end, schedule.step)
        parts["held_cells"].append(clock() - began)
        earliest, latest = booking_window(office, now)
        duration = timedelta(minutes=service.duration_minutes)
        days = date_range(first, last)
        began = clock()
        free_starts_in_grid(schedule, days, duration, len(counters), held, earliest, latest)
        parts["free_starts"].append(clock() - began)

    office, service = fresh(session, office_id, service_id)
    return Timing(
        service.key,
        service.duration_minutes,
        len(service.counters),
        sum(len(starts) for starts in free.values()),
        sum(counters.bit_count() for counters in held.values()),
        cold,
        warm,
        parts,
    )


def bench_backend(label: str, url: str, args: argparse.Namespace, instance: Path) -> None:
    print(f"\n=== {label}: {url}")
    app = app_for(url, instance)
    began = time.perf_counter()
    migrate_and_load(app)
    print(f"migrated and loaded the demo offices in {time.perf_counter() - began:.1f} s")
    with app.app_context():
        office = db.session.scalar(select(Office).where(Office.slug == OFFICE))
        tz = ZoneInfo(office.timezone)
        first = args.start
        last = first + timedelta(days=args.days - 1)
        # "now" is local midnight of the first day: the whole range is inside the booking window.
        now = datetime.combine(first, datetime.min.time(), tzinfo=tz).astimezone(UTC)
        if args.counters is not None:
            reshape_counters(office, args.counters)
            db.session.commit()
        fill = fill_office(office, first, last, now, args.share, args.seed)
        office_id = office.id
        service_ids = [s.id for s in office.services if s.bookable_online]
        rows = db.session.scalar(select(func.count(Booking.id)))
        cells = db.session.scalar(select(func.count(BookingSlot.id)))
        print(
            f"office {OFFICE}: {len(office.counters)} counters, {len(service_ids)} services; "
            f"days {first}..{last} ({args.days} days), now = {now:%Y-%m-%d %H:%M} UTC"
        )
        print(
            f"filled {fill.bookings} bookings ({rows} rows) holding {fill.booked_cells} of "
            f"{fill.capacity_cells} counter cells ({fill.booked_cells / fill.capacity_cells:.1%}; "
            f"{cells} booking_slot rows) in {fill.seconds:.1f} s "
            f"({fill.bookings / fill.seconds:.0f} create_booking/s, one thread); "
            f"refused while filling: {fill.refused}"
        )

        # One untimed call so imports and caches (holidays, zoneinfo) are warm.
        db.session.remove()
        availability(
            db.session,
            db.session.get(Office, office_id),
            db.session.get(Service, service_ids[0]),
            first,
            last,
            now,
        )
        timings = [time_service(office_id, sid, first, last, now, args.runs) for sid in service_ids]
        rings, whole = time_nearest(office_id, service_ids, first, last, now, args.runs)
        db.session.remove()
        db.engine.dispose()

    print(f"\navailability() over {args.days} days, {args.runs} runs each, milliseconds")
    header = (
        f"{'service':28} {'min':>3} {'ctr':>3} {'free':>5} {'taken':>5} |"
        f" {'cold med':>8} {'p95':>8} {'max':>8} | {'warm med':>8} {'p95':>8} {'max':>8}"
    )
    print(header)
    print("-" * len(header))
    for t in timings:
        print(
            f"{t.service:28} {t.duration:3} {t.counters:3} {t.free_starts:5} {t.taken_cells:5} |"
            f" {ms(statistics.median(t.cold))} {ms(percentile(t.cold, 95))} {ms(max(t.cold))} |"
            f" {ms(statistics.median(t.warm))} {ms(percentile(t.warm, 95))} {ms(max(t.warm))}"
        )
    every_cold = [s for t in timings for s in t.cold]
    print(
        f"{'all services (cold)':28} {'':3} {'':3} {sum(t.free_starts for t in timings):5} "
        f"{'':5} | {ms(statistics.median(every_cold))} {ms(percentile(every_cold, 95))} "
        f"{ms(max(every_cold))} |"
    )
    print(
        f"\nnearest free starts around a booked start (a 409's suggestions), "
        f"{len(rings)} calls, ms: widening rings median {ms(statistics.median(rings)).strip()} "
        f"p95 {ms(percentile(rings, 95)).strip()}; whole 22-day span median "
        f"{ms(statistics.median(whole)).strip()} p95 {ms(percentile(whole, 95)).strip()}"
    )
    print("\none cold call in parts (median ms): schedule_for / held_cells query / free starts")
    for t in timings:
        print(
            f"{t.service:28} "
            + " / ".join(ms(statistics.median(t.parts[k])).strip() for k in t.parts)
        )


def time_nearest(
    office_id: int, service_ids: list[int], first: date, last: date, now: datetime, runs: int
) -> tuple[list[float], list[float]]:
    """ "This time was just taken" (every 409): the nearest free starts around a booked start,
    by ``nearest_free``'s widening rings, against reading the whole span around it
    (7 days before to 14 after), as every 409 did before. Each call on a fresh session."""
    chance = random.Random(runs)
    rings: list[float] = []
    whole: list[float] = []
    for _ in range(runs):
        for service_id in service_ids:
            db.session.remove()
            office = db.session.get(Office, office_id)
            service = db.session.get(Service, service_id)
            taken = db.session.scalars(
                select(BookingSlot.starts_at).join(Booking).where(Booking.service_id == service_id)
            ).all()
            around = chance.choice(taken)
            began = time.perf_counter()
            nearest_free(db.session(), office, service, around, now)
            rings.append(time.perf_counter() - began)
            db.session.remove()
            office = db.session.get(Office, office_id)
            service = db.session.get(Service, service_id)
            day = around.astimezone(ZoneInfo(office.timezone)).date()
            began = time.perf_counter()
            availability(
                db.session(),
                office,
                service,
                max(first, day - timedelta(days=NEAREST_DAYS_BEFORE)),
                min(last, day + timedelta(days=NEAREST_DAYS_AFTER)),
                now,
            )
            whole.append(time.perf_counter() - began)
    return rings, whole


def next_monday(today: date) -> date:
    return today + timedelta(days=(7 - today.weekday()) % 7 or 7)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30, help="timed calls per service")
    parser.add_argument("--days", type=int, default=60, help="days of availability per call")
    parser.add_argument("--share", type=float, default=0.6, help="share of counter cells booked")
    parser.add_argument("--seed", type=int, default=20260302, help="random seed for the fill")
    parser.add_argument(
        "--start",
        type=date.fromisoformat,
        default=None,
        help="first day (default: next Monday)",
    )
    parser.add_argument(
        "--counters",
        type=int,
        default=None,
        help="reshape the office to this many counters, each serving every service",
    )
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    args = parser.parse_args(argv)
    if not 0 < args.share <= 1 or args.runs < 1 or not 1 <= args.days <= 60:
        parser.error("need 0 < --share <= 1, --runs >= 1 and 1 <= --days <= 60 (booking horizon)")
    if args.counters is not None and args.counters < 1:
        parser.error("need --counters >= 1")
    args.start = args.start or next_monday(date.today())

    print(
        f"availability benchmark, {datetime.now():%Y-%m-%d %H:%M}; Python "
        f"{platform.python_version()}, SQLite {sqlite3.sqlite_version}, {os.cpu_count()} CPUs"
    )
    with tempfile.TemporaryDirectory(prefix="okienko-bench-") as tmp:
        folder = Path(tmp)
        bench_backend("SQLite", f"sqlite:///{folder / 'bench.db'}", args, folder / "sqlite")
        if args.no_postgres:
            pass
        elif not pg_reachable():
            print(f"\nPostgreSQL not reachable at {PG_ADMIN}: skipped")
        else:
            with psycopg.connect(PG_ADMIN) as conn:
                version = conn.execute("SHOW server_version").fetchone()[0]
            with fresh_pg_database() as url:
                bench_backend(f"PostgreSQL {version}", url, args, folder / "pg")
    return 0


if __name__ == "__main__":
    sys.exit(main())
