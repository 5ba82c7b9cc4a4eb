"""Benchmark: many clients racing for few slots through the HTTP API under gunicorn.

Creates a fresh PostgreSQL database (or, with ``--backend sqlite``, a SQLite
file in a temp dir), migrates it and loads the demo offices, starts
``gunicorn SERVER_ARGS -b 127.0.0.1:PORT --timeout 60 wsgi:app`` on it with rate
limits off (``--server-args``, default ``-k gthread --threads 32 -w 2``, the
command of issue 11; ``--workers N`` is the older ``-w N`` with sync workers),
and lets CLIENTS threads (one ``requests.Session`` each) book at bytom-zielna:
each client keeps to one service, GETs its availability over the next few
days and POSTs /api/v1/bookings for one of the first few free starts, with a
new e-mail address per attempt (the cap of 2 active bookings per contact
never applies). Every loop is bounded in attempts and in time.

The limit it is compared with is measured in the same run, on the same
database, at the same concurrency: CLIENTS threads, each with its own
connection, doing a bare INSERT + COMMIT into a scratch table (psycopg; the
sqlite3 module with ``BEGIN IMMEDIATE`` on SQLite), for a few seconds before
the race and again after it. The booking rate is printed as a % of their mean.

Afterwards it stops gunicorn and checks the database: no two active bookings
may overlap on one counter, and the booked cells must be exactly the cells of
the active bookings. Any 5xx and any traceback on gunicorn's stderr is
printed; gunicorn's log is kept in bench/results/. Finally the database is
dropped. Prints figures only; nothing here is a test. Run from the project root:

    .venv/bin/python bench/booking_race.py                  # 16 clients, issue 11's command
    .venv/bin/python bench/booking_race.py --workers 4 --clients 64 --days 5 --seconds 60
    .venv/bin/python bench/booking_race.py --backend sqlite
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import platform
import random
import shlex
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
import requests  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from booking.admission import DEFAULT_QUESTIONS  # noqa: E402
from booking.importer import DEMO_FILE  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))  # floor_common
from floor_common import DEFAULT_SERVER_ARGS  # noqa: E402

OFFICE = "bytom-zielna"
PG_ADMIN = os.environ.get("BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
SECRET_KEY = "bench-race-secret-" + "x" * 40
# Every resident passes the admission declaration of the sanitary regime.
ADMITTED = {key: False for key, _texts in DEFAULT_QUESTIONS}
RESULTS = Path(__file__).resolve().parent / "results"


# ---------------------------------------------------------------------------
# Database and server


@contextmanager
def fresh_database(backend: str, folder: Path) -> Iterator[str]:
    """The SQLAlchemy URL of a new empty database, dropped (or left in ``folder``) afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'race.db'}"
        return
    name = f"okienko_race_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        print(f"dropped database {name}")


def migrate_and_load(url: str, instance: Path) -> None:
    """``flask db upgrade`` and ``flask demo``, done in this process."""
    from flask_migrate import upgrade

    from booking.importer import DEMO_FILE, load_file
    from okienko.app import create_app
    from okienko.database import db

    app = create_app(
        {
            "INSTANCE_PATH": str(instance),
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": SECRET_KEY,
            "RATELIMIT_ENABLED": False,
        }
    )
    with app.app_context():
        upgrade()
        load_file(db.session, DEMO_FILE)
        db.session.commit()
        db.engine.dispose()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    base: str
    log: Path


@contextmanager
def gunicorn(url: str, server_args: str, folder: Path) -> Iterator[Server]:
    """gunicorn on 127.0.0.1 serving wsgi:app on ``url``; stopped (by its own pid) afterwards."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAIL_", "REDIS_"))}
    env.update(
        DATABASE_URL=url,
        RATELIMIT_ENABLED="false",
        SECRET_KEY=SECRET_KEY,
        MAIL_OUTBOX=str(folder / "outbox"),
        PUBLIC_URL=f"http://127.0.0.1:{port}",
        PYTHONUNBUFFERED="1",
    )
    log = folder / "gunicorn.log"
    command = [
        str(Path(sys.executable).parent / "gunicorn"),
        *shlex.split(server_args),
        "-b",
        f"127.0.0.1:{port}",
        "--timeout",
        "60",
        "wsgi:app",
    ]
    if gunicorn_knows("--no-control-socket"):
        command.insert(1, "--no-control-socket")  # gunicorn >= 25 would make ~/.gunicorn/
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    server = Server(process, f"http://127.0.0.1:{port}", log)
    try:
        wait_until_up(server, 30)
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)  # graceful stop of the master we started
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)


def gunicorn_knows(flag: str) -> bool:
    from gunicorn.config import KNOWN_SETTINGS

    return any(flag in (setting.cli or []) for setting in KNOWN_SETTINGS)


def wait_until_up(server: Server, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"gunicorn exited:\n{server.log.read_text(errors='replace')}")
        try:
            if requests.get(f"{server.base}/api/v1/offices", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer in {seconds} s")


# ---------------------------------------------------------------------------
# Clients


@dataclass
class ClientResult:
    attempts: int = 0
    statuses: Counter[tuple[int, str]] = field(default_factory=Counter)
    post_latency: list[tuple[int, float]] = field(default_factory=list)  # (status, seconds)
    get_latency: list[float] = field(default_factory=list)
    get_errors: Counter[tuple[int, str]] = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)
    sold_out: bool = False
    starts_tried: set[str] = field(default_factory=set)


def error_code(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return "non-json"
    return str(body.get("error", "")) if isinstance(body, dict) else "non-object"


def run_client(
    index: int,
    server: str,
    service: str,
    first: date,
    last: date,
    args: argparse.Namespace,
    run_id: str,
    barrier: threading.Barrier,
    deadline_box: list[float],
) -> ClientResult:
    result = ClientResult()
    rng = random.Random(args.seed * 1000 + index)
    clock = time.perf_counter
    availability_url = f"{server}/api/v1/offices/{OFFICE}/services/{service}/availability"
    params = {"from": first.isoformat(), "to": last.isoformat()}
    with requests.Session() as session:
        barrier.wait(60)
        for attempt in range(args.attempts):
            if time.monotonic() > deadline_box[0]:
                break
            began = clock()
            try:
                response = session.get(availability_url, params=params, timeout=30)
            except requests.RequestException as exc:
                result.get_errors[(0, type(exc).__name__)] += 1
                continue
            result.get_latency.append(clock() - began)
            if response.status_code != 200:
                result.get_errors[(response.status_code, error_code(response))] += 1
                if response.status_code >= 500:
                    result.server_errors.append(f"GET {response.status_code}: {response.text}")
                continue
            starts = [s for day in response.json()["days"] for s in day["starts"]]
            if not starts:
                result.sold_out = True
                break
            start = rng.choice(starts[: args.pick])
            result.starts_tried.add(start)
            body = {
                "office": OFFICE,
                "service": service,
                "start": start,
                "name": f"Race Client {index}",
                "email": f"race-{run_id}-{index}-{attempt}@example.org",
                "language": "pl",
                "consent": True,
                "declaration": ADMITTED,
            }
            result.attempts += 1
            began = clock()
            try:
                response = session.post(f"{server}/api/v1/bookings", json=body, timeout=30)
            except requests.RequestException as exc:
                result.statuses[(0, type(exc).__name__)] += 1
                continue
            result.post_latency.append((response.status_code, clock() - began))
            result.statuses[(response.status_code, error_code(response))] += 1
            if response.status_code >= 500:
                result.server_errors.append(
                    f"POST {start} {service} -> {response.status_code}: {response.text[:300]}"
                )
    return result


@dataclass
class CapResult:
    rounds: int = 0
    statuses: Counter[tuple[int, str]] = field(default_factory=Counter)
    over_cap_rounds: int = 0  # rounds in which one contact got more than the cap
    server_errors: list[str] = field(default_factory=list)


def cap_post(
    server: str,
    service: str,
    start: str,
    email: str,
    index: int,
    barrier: threading.Barrier,
    answers: list[tuple[int, str]],
    server_errors: list[str],
) -> None:
    body = {
        "office": OFFICE,
        "service": service,
        "start": start,
        "name": f"Cap Client {index}",
        "email": email,
        "language": "pl",
        "consent": True,
        "declaration": ADMITTED,
    }
    barrier.wait(30)
    try:
        answer = requests.post(f"{server}/api/v1/bookings", json=body, timeout=30)
    except requests.RequestException as exc:
        answers[index] = (0, type(exc).__name__)
        return
    answers[index] = (answer.status_code, error_code(answer))
    if answer.status_code >= 500:
        server_errors.append(f"POST {start} -> {answer.status_code}: {answer.text[:300]}")


def contact_cap_race(
    server: str, first: date, last: date, rounds: int, threads: int, run_id: str, cap: int = 2
) -> CapResult:
    """Several requests with one e-mail address at once, each for a different free start.

    The office allows ``cap`` active bookings per contact; the check and the
    insert are separate statements, so this probes whether simultaneous
    requests can get past it.
    """
    result = CapResult()
    service = "rozliczenia-mediow"  # 15 minutes, 3 counters: plenty of distinct starts
    url = f"{server}/api/v1/offices/{OFFICE}/services/{service}/availability"
    params = {"from": first.isoformat(), "to": last.isoformat()}
    for round_ in range(rounds):
        response = requests.get(url, params=params, timeout=30)
        if response.status_code != 200:
            result.server_errors.append(f"GET {response.status_code}: {response.text[:300]}")
            break
        starts = [s for day in response.json()["days"] for s in day["starts"]]
        if len(starts) < threads:
            break
        chosen = random.Random(round_).sample(starts, threads)
        email = f"cap-{run_id}-{round_}@example.org"
        barrier = threading.Barrier(threads)
        answers: list[tuple[int, str]] = [(0, "no answer")] * threads
        workers = [
            threading.Thread(
                target=cap_post,
                args=(server, service, start, email, i, barrier, answers, result.server_errors),
                daemon=True,
            )
            for i, start in enumerate(chosen)
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(60)
        result.rounds += 1
        result.statuses.update(answers)
        if sum(status == 201 for status, _ in answers) > cap:
            result.over_cap_rounds += 1
    return result


# ---------------------------------------------------------------------------
# Checking the database afterwards


@dataclass
class Check:
    active: int
    cancelled: int
    overbookings: int
    overlap_examples: list[tuple]
    slot_rows: int
    expected_cells: int
    bad_bookings: int
    orphan_slots: int
    rolled_back: dict[str, int] | None  # PostgreSQL: rows inserted, then undone by a savepoint
    over_cap_contacts: list[tuple[str, int]]  # e-mails with more active bookings than allowed


OVERLAPS = text(
    """
    SELECT a.id, b.id, a.counter_id, a.starts_at, a.ends_at, b.starts_at, b.ends_at
    FROM booking a JOIN booking b
      ON a.counter_id = b.counter_id AND a.id < b.id
     AND a.starts_at < b.ends_at AND b.starts_at < a.ends_at
    WHERE a.status = 'booked' AND b.status = 'booked'
    """
)


def check_database(url: str) -> Check:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            overlaps = conn.execute(OVERLAPS).all()
            over_cap = conn.execute(
                text(
                    "SELECT lower(b.email), count(*) FROM booking b "
                    "JOIN office o ON o.id = b.office_id WHERE b.status = 'booked' "
                    "GROUP BY b.office_id, lower(b.email), o.max_active_bookings_per_contact "
                    "HAVING count(*) > o.max_active_bookings_per_contact"
                )
            ).all()
            bookings = conn.execute(
                text(
                    "SELECT b.id, b.status, b.counter_id, b.starts_at, b.ends_at, o.slot_minutes "
                    "FROM booking b JOIN office o ON o.id = b.office_id"
                )
            ).all()
            slots = conn.execute(text("SELECT booking_id, counter_id, starts_at FROM booking_slot"))
            held: dict[int, set[tuple[int, datetime]]] = {}
            slot_rows = 0
            for booking_id, counter_id, starts_at in slots:
                held.setdefault(booking_id, set()).add((counter_id, as_datetime(starts_at)))
                slot_rows += 1
            rolled_back = None
            if conn.dialect.name == "postgresql":
                # Every server connection is closed by now, so their statistics are flushed.
                inserted = dict(
                    conn.execute(
                        text(
                            "SELECT relname, n_tup_ins FROM pg_stat_user_tables "
                            "WHERE relname IN ('booking', 'booking_slot')"
                        )
                    ).all()
                )
                rolled_back = {
                    "booking": inserted.get("booking", 0) - len(bookings),
                    "booking_slot": inserted.get("booking_slot", 0) - slot_rows,
                }
    finally:
        engine.dispose()
    active = [b for b in bookings if b.status == "booked"]
    expected_cells = 0
    bad = 0
    for b in active:
        start, end = as_datetime(b.starts_at), as_datetime(b.ends_at)
        step = timedelta(minutes=b.slot_minutes)
        count = math.ceil((end - start) / step)
        expected_cells += count
        if held.get(b.id, set()) != {(b.counter_id, start + i * step) for i in range(count)}:
            bad += 1
    active_ids = {b.id for b in active}
    orphans = sum(len(cells) for booking_id, cells in held.items() if booking_id not in active_ids)
    return Check(
        len(active),
        len(bookings) - len(active),
        len(overlaps),
        overlaps[:5],
        slot_rows,
        expected_cells,
        bad,
        orphans,
        rolled_back,
        [(email, n) for email, n in over_cap],
    )


def as_datetime(value: datetime | str) -> datetime:
    # SQLite hands back text; both stores hold naive UTC.
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


# ---------------------------------------------------------------------------
# The limit: a bare insert + commit at the same concurrency


@dataclass
class Bare:
    commits: int
    seconds: float
    latency: list[float]
    errors: Counter[str]

    @property
    def rate(self) -> float:
        return self.commits / self.seconds if self.seconds else 0.0


SCRATCH = "bench_scratch"


def bare_inserts(url: str, clients: int, seconds: float) -> Bare:
    """CLIENTS threads, each its own connection, INSERT one row + COMMIT until ``seconds`` pass.

    Into a scratch table of the bench database (created, then dropped); at most
    100,000 commits per thread. PostgreSQL through psycopg, SQLite through the
    sqlite3 module with ``BEGIN IMMEDIATE`` (as the app's transactions begin).
    """
    sqlite = url.startswith("sqlite")
    path = url.split("///", 1)[1] if sqlite else ""
    dsn = url.replace("postgresql+psycopg://", "postgresql://", 1)
    create = (
        f"CREATE TABLE {SCRATCH} (id INTEGER PRIMARY KEY, client INTEGER, n INTEGER, note TEXT)"
        if sqlite
        else f"CREATE TABLE {SCRATCH} (id bigserial PRIMARY KEY, client int, n int, "
        "at timestamptz DEFAULT now(), note text)"
    )
    insert = f"INSERT INTO {SCRATCH} (client, n, note) VALUES (%s, %s, %s)"

    def connect() -> psycopg.Connection | sqlite3.Connection:
        if sqlite:
            return sqlite3.connect(path, timeout=30, isolation_level=None)
        return psycopg.connect(dsn, connect_timeout=10)

    with contextlib.closing(connect()) as conn:
        conn.execute(create)
        conn.commit()
    barrier = threading.Barrier(clients + 1)
    deadline = [math.inf]
    counts = [0] * clients
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors: Counter[str] = Counter()

    def work(index: int) -> None:
        conn = connect()
        try:
            barrier.wait(30)
            for n in range(100_000):
                if time.monotonic() >= deadline[0]:
                    break
                began = time.perf_counter()
                try:
                    if sqlite:
                        conn.execute("BEGIN IMMEDIATE")
                        conn.execute(insert.replace("%s", "?"), (index, n, "bare insert"))
                        conn.execute("COMMIT")
                    else:
                        conn.execute(insert, (index, n, "bare insert"))
                        conn.commit()
                except (psycopg.Error, sqlite3.Error) as exc:
                    errors[type(exc).__name__] += 1
                    if sqlite:
                        with contextlib.suppress(sqlite3.Error):
                            conn.execute("ROLLBACK")
                    else:
                        conn.rollback()
                    continue
                latencies[index].append(time.perf_counter() - began)
                counts[index] += 1
        finally:
            conn.close()

    threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    deadline[0] = time.monotonic() + seconds
    began = time.perf_counter()
    barrier.wait(30)
    for thread in threads:
        thread.join(seconds + 60)
    elapsed = time.perf_counter() - began
    with contextlib.closing(connect()) as conn:
        conn.execute(f"DROP TABLE {SCRATCH}")
        conn.commit()
    return Bare(sum(counts), elapsed, [x for each in latencies for x in each], errors)


def describe_bare(label: str, bare: Bare) -> str:
    return (
        f"{label}: {bare.commits} commits in {bare.seconds:.1f} s = {bare.rate:.0f}/s; "
        f"p50 {percentile(bare.latency, 50) * 1000:.2f} ms, "
        f"p99 {percentile(bare.latency, 99) * 1000:.2f} ms"
        + (f"; errors {dict(bare.errors)}" if bare.errors else "")
    )


# ---------------------------------------------------------------------------
# Report


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)] if ordered else float("nan")


def latency(label: str, samples: list[float]) -> str:
    if not samples:
        return f"{label}: no requests"
    return (
        f"{label}: n={len(samples)}, median {statistics.median(samples) * 1000:.1f} ms, "
        f"p95 {percentile(samples, 95) * 1000:.1f} ms, "
        f"p99 {percentile(samples, 99) * 1000:.1f} ms, max {max(samples) * 1000:.1f} ms"
    )


def tracebacks(log: str) -> list[str]:
    """Tracebacks and error lines from gunicorn's output, each as one block."""
    blocks: list[str] = []
    lines = log.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if "Traceback (most recent call last)" in line:
            j = i + 1
            while j < len(lines) and (lines[j].startswith((" ", "\t")) or not lines[j].strip()):
                j += 1
            block = lines[max(0, i - 1) : j + 1]  # the logged message, the frames, the exception
            blocks.append("\n".join(block))
            i = j + 1
            continue
        if any(mark in line for mark in ("[ERROR]", "[CRITICAL]", "WORKER TIMEOUT")):
            blocks.append(line)
        i += 1
    return blocks


def race_days(days: int, tz: ZoneInfo) -> tuple[date, date]:
    """From the day after tomorrow (local), so minimum notice and midnight play no part."""
    first = datetime.now(tz).date() + timedelta(days=2)
    return first, first + timedelta(days=days - 1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument(
        "--server-args",
        default=None,
        help=f"gunicorn options (default: {DEFAULT_SERVER_ARGS!r})",
    )
    parser.add_argument(
        "--workers", type=int, default=None, help="gunicorn sync workers: --server-args '-w N'"
    )
    parser.add_argument(
        "--clients", type=int, default=16, help="client threads (and bare-insert threads)"
    )
    parser.add_argument(
        "--bare-seconds", type=float, default=3, help="seconds of each bare insert+commit run"
    )
    parser.add_argument("--attempts", type=int, default=30, help="booking attempts per client")
    parser.add_argument("--seconds", type=float, default=60, help="time limit of the race")
    parser.add_argument("--days", type=int, default=5, help="days of availability raced for")
    parser.add_argument("--pick", type=int, default=3, help="choose among the first N free starts")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--cap-rounds",
        type=int,
        default=10,
        help="afterwards: rounds of simultaneous requests with one e-mail (0: none)",
    )
    parser.add_argument("--cap-threads", type=int, default=8, help="requests per cap round")
    args = parser.parse_args(argv)
    if not (1 <= args.clients <= 256 and 1 <= args.attempts <= 200 and 1 <= args.days <= 60):
        parser.error("need 1..256 clients, 1..200 attempts and 1..60 days")
    if not (0 <= args.cap_rounds <= 50 and 3 <= args.cap_threads <= 32):
        parser.error("need 0..50 cap rounds and 3..32 cap threads")
    args.seconds = min(args.seconds, 300)
    args.bare_seconds = min(max(args.bare_seconds, 0.5), 30)
    if args.server_args is None:
        args.server_args = f"-w {args.workers}" if args.workers else DEFAULT_SERVER_ARGS
    elif args.workers:
        parser.error("give --server-args or --workers, not both")

    demo = tomllib.loads(DEMO_FILE.read_text(encoding="utf-8"))
    office = next(o for o in demo["office"] if o["slug"] == OFFICE)
    services = [s["key"] for s in office["services"] if s.get("online", True)]
    first, last = race_days(args.days, ZoneInfo(office["timezone"]))
    run_id = uuid.uuid4().hex[:6]
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")

    print(
        f"booking race, {datetime.now():%Y-%m-%d %H:%M}; Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs; backend {args.backend}; gunicorn {args.server_args}; "
        f"{args.clients} clients x <= {args.attempts} attempts, <= {args.seconds:.0f} s; "
        f"office {OFFICE}, days {first}..{last}, pick among first {args.pick} free starts; "
        f"services round-robin over {len(services)}: {', '.join(services)}",
        flush=True,
    )
    with (
        tempfile.TemporaryDirectory(prefix="okienko-race-") as tmp,
        fresh_database(args.backend, Path(tmp)) as url,
    ):
        folder = Path(tmp)
        migrate_and_load(url, folder / "instance")
        print(f"database {url} migrated, demo offices loaded", flush=True)
        bare_before = bare_inserts(url, args.clients, args.bare_seconds)
        print(describe_bare("bare insert+commit before the race", bare_before), flush=True)
        results: list[ClientResult | None] = [None] * args.clients
        with gunicorn(url, args.server_args, folder) as server:
            print(f"gunicorn answering at {server.base}", flush=True)
            barrier = threading.Barrier(args.clients + 1)
            deadline_box = [math.inf]

            def work(i: int) -> None:
                service = services[i % len(services)]
                results[i] = run_client(
                    i, server.base, service, first, last, args, run_id, barrier, deadline_box
                )

            threads = [
                threading.Thread(target=work, args=(i,), daemon=True) for i in range(args.clients)
            ]
            for thread in threads:
                thread.start()
            deadline_box[0] = time.monotonic() + args.seconds
            began = time.perf_counter()
            barrier.wait(60)
            for thread in threads:
                thread.join(max(0.1, deadline_box[0] + 40 - time.monotonic()))
            elapsed = time.perf_counter() - began
            stuck = sum(thread.is_alive() for thread in threads)
            mails = len(list((folder / "outbox").glob("*.eml")))
            # The days after the race, so the cap phase does not compete with it.
            cap = contact_cap_race(
                server.base,
                last + timedelta(days=1),
                min(last + timedelta(days=14), first + timedelta(days=55)),
                args.cap_rounds,
                args.cap_threads,
                run_id,
            )
        bare_after = bare_inserts(url, args.clients, args.bare_seconds)
        log_text = server.log.read_text(errors="replace")
        RESULTS.mkdir(exist_ok=True)
        kept_log = RESULTS / f"booking_race-{stamp}-{args.backend}-gunicorn.log"
        kept_log.write_text(log_text)
        check = check_database(url)

    done = [r for r in results if r is not None]
    statuses: Counter[tuple[int, str]] = Counter()
    get_errors: Counter[tuple[int, str]] = Counter()
    for r in done:
        statuses.update(r.statuses)
        get_errors.update(r.get_errors)
    attempts = sum(r.attempts for r in done)
    successes = statuses[(201, "")]
    clean = sum(n for (status, _), n in statuses.items() if status == 409)
    other = attempts - successes - clean
    server_errors = [e for r in done for e in r.server_errors] + cap.server_errors
    fives = sum(n for (status, _), n in statuses.items() if status >= 500)
    fives += sum(n for (status, _), n in get_errors.items() if status >= 500)
    cap_successes = cap.statuses[(201, "")]

    print(f"\nrace over in {elapsed:.1f} s; clients stuck at the end: {stuck}")
    print(f"attempts (POST /api/v1/bookings): {attempts}")
    print(f"  successes (201):                {successes}")
    print(f"  clean refusals (409):           {clean}")
    for (status, error), n in sorted(statuses.items()):
        if status == 409:
            print(f"    {status} {error}: {n}")
    print(f"  other errors:                   {other}")
    for (status, error), n in sorted(statuses.items()):
        if status not in (201, 409):
            print(f"    {status or 'no response'} {error}: {n}")
    print(f"availability GETs failed:         {sum(get_errors.values())} {dict(get_errors)}")
    print(f"5xx responses in all:             {fives}")
    print(f"clients that found their service sold out: {sum(r.sold_out for r in done)}")
    print(f"distinct starts tried:            {len({s for r in done for s in r.starts_tried})}")
    print(
        f"bookings per second:              {successes / elapsed:.1f} "
        f"(attempts per second {attempts / elapsed:.1f})"
    )
    posts = [x for r in done for x in r.post_latency]
    print(latency("POST latency", [seconds for _, seconds in posts]))
    won = [seconds for status, seconds in posts if status == 201]
    lost = [seconds for status, seconds in posts if status == 409]
    print(latency("  of which 201", won))
    print(latency("  of which 409", lost))
    if won and lost:
        print(
            f"  a 409 costs {statistics.median(lost) / statistics.median(won):.2f} x a 201 "
            f"(median), {percentile(lost, 99) / percentile(won, 99):.2f} x (p99)"
        )
    print(latency("GET availability latency", [x for r in done for x in r.get_latency]))
    print(f"confirmation mails written:       {mails}")
    print(
        f"\nthe limit: {args.clients} threads, a connection each, a scratch table in this database"
    )
    print("  " + describe_bare("bare insert+commit before the race", bare_before))
    print("  " + describe_bare("bare insert+commit after the race ", bare_after))
    limit = (bare_before.rate + bare_after.rate) / 2 or math.nan
    print(
        f"  bookings per second as a share of their mean: {successes / elapsed:.1f} / "
        f"{limit:.0f} = {successes / elapsed / limit:.2%}"
    )
    print("\ndatabase afterwards:")
    print(
        f"  active bookings: {check.active} (201 responses: {successes} in the race + "
        f"{cap_successes} in the cap phase); "
        f"cancelled: {check.cancelled}"
    )
    print(f"  overbookings (overlapping active pairs on one counter): {check.overbookings}")
    for row in check.overlap_examples:
        print(f"    {row}")
    same = "equal" if check.slot_rows == check.expected_cells else "DIFFERENT"
    print(
        f"  booked cells: {check.slot_rows} booking_slot rows; sum of each active booking's "
        f"cells: {check.expected_cells} -> {same}"
    )
    print(f"  bookings whose cells are not exactly their own: {check.bad_bookings}")
    print(f"  cells held by no active booking: {check.orphan_slots}")
    if check.rolled_back is not None:
        print(
            "  lost at the unique cell index (rows inserted, then rolled back to the savepoint): "
            f"{check.rolled_back['booking']} booking rows, "
            f"{check.rolled_back['booking_slot']} booking_slot rows"
        )

    print(
        f"\nper-contact cap (2 active bookings per office): {cap.rounds} rounds of "
        f"{args.cap_threads} simultaneous POSTs with one e-mail each, other days"
    )
    for (status, error), n in sorted(cap.statuses.items()):
        print(f"  {status} {error}: {n}")
    print(f"  rounds in which one contact got more than 2 bookings: {cap.over_cap_rounds}")
    print(f"  contacts over the cap in the database: {len(check.over_cap_contacts)}")
    for email, n in check.over_cap_contacts[:5]:
        print(f"    {email}: {n} active bookings")

    problems = tracebacks(log_text)
    print(
        f"\ngunicorn log kept in {kept_log.relative_to(ROOT)}; errors/tracebacks: {len(problems)}"
    )
    for block in problems[:5]:
        print("-" * 60)
        print(block)
    if len(problems) > 5:
        print(f"... and {len(problems) - 5} more in the log")
    for line in server_errors[:5]:
        print(f"5xx body: {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
