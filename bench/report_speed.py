"""Benchmark: every report over a year of ten offices, on PostgreSQL and SQLite.

Makes a year of history (``bench/report_history.py``): ten offices (``--offices``)
up to Monday 2026-11-30 11:00 local time (``--days``, 365, so both DST changes are
inside), about 500,000 tickets (``--tickets``) and 300,000 bookings (``--bookings``)
with their ledger events, the audit entries of every call and the floor's
summaries. It loads them into a fresh PostgreSQL database and a fresh SQLite file,
each migrated by the app (``flask db upgrade``, in-process), and checks them with
SQL counts.

Then it times every report of ``reports.catalogue.REPORTS`` over the whole year, and
``reports.live.today`` at the last morning, for the office with the most tickets, for
all offices, and for the most frequent service across all offices: ``--runs`` runs,
each report in a fresh session as in a request. It prints median and max in ms, and
each median as a multiple of the stack's own floor: a bare ``SELECT count(*)`` of the
same offices' tickets of the year, through the same session. ``--explain`` prints
PostgreSQL's ``EXPLAIN (ANALYZE, BUFFERS)`` of every statement a report sends,
slowest first, and ``--pg-set`` tries a PostgreSQL setting for the timed sessions.

    .venv/bin/python bench/report_speed.py                          # both databases, ~10 min
    .venv/bin/python bench/report_speed.py --only pg --runs 7 --keep
    .venv/bin/python bench/report_speed.py --pg-db okienko_reports_xxx --explain waiting
    .venv/bin/python bench/report_speed.py --pg-db okienko_reports_xxx --pg-set work_mem=64MB
    .venv/bin/python bench/report_speed.py --tickets 20000 --bookings 12000 --days 60
"""

from __future__ import annotations

import argparse
import os
import platform
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from importlib import import_module
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [p for p in (str(ROOT), str(ROOT / "bench")) if p not in sys.path]

import psycopg  # noqa: E402
from flask import Flask  # noqa: E402
from report_history import (  # noqa: E402
    LAST,
    NOW,
    OFFICES,
    check,
    describe,
    generate,
    load_pg,
    load_sqlite,
    rows_of,
    same_offices,
    set_up,
    the_biggest,
)
from sqlalchemy import bindparam, event, select, text  # noqa: E402

from booking.models import Office  # noqa: E402
from okienko.app import create_app  # noqa: E402
from okienko.database import db, reading  # noqa: E402

PG_ADMIN = os.environ.get("BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
# Issue 13's goals on PostgreSQL; one service across all offices reads part of all offices.
GOALS_MS = {"one": 300.0, "all": 1000.0, "service": 1000.0}
SCOPES = {"one": "one office", "all": "all offices", "service": "one service, all offices"}
FLOOR = text(
    "SELECT count(*) FROM ticket WHERE office_id IN :ids AND day BETWEEN :first AND :last"
).bindparams(bindparam("ids", expanding=True))


def app_for(url: str, instance: Path, settings: Iterable[str] = ()) -> Flask:
    """The app on ``url``; ``settings`` (``work_mem=64MB``) for every PostgreSQL session."""
    engine: dict[str, Any] = {"pool_pre_ping": True}
    if settings and url.startswith("postgresql"):
        engine["connect_args"] = {"options": " ".join(f"-c {s}" for s in settings)}
    return create_app(
        {
            "INSTANCE_PATH": str(instance),
            "SQLALCHEMY_DATABASE_URI": url,
            "SQLALCHEMY_ENGINE_OPTIONS": engine,
            "SECRET_KEY": "bench-secret-" + "x" * 40,
            "RATELIMIT_ENABLED": False,
            "MAIL_SERVER": None,
            "MAIL_OUTBOX": str(instance / "outbox"),
        }
    )


def pg_url(name: str, driver: str = "postgresql+psycopg") -> str:
    return f"{PG_ADMIN.rsplit('/', 1)[0].replace('postgresql', driver, 1)}/{name}"


@contextmanager
def database(backend: str, args: argparse.Namespace, instance: Path) -> Iterator[str]:
    """The name (PostgreSQL) or path (SQLite) of a fresh database, removed afterwards
    unless ``--keep``; or the kept one given by ``--pg-db`` / ``--sqlite-path``."""
    if backend == "pg" and args.pg_db:
        yield args.pg_db
    elif backend == "sqlite" and args.sqlite_path and args.existing:
        yield args.sqlite_path
    elif backend == "pg":
        name = f"okienko_reports_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        try:
            yield name
        finally:
            if args.keep:
                print(f"kept PostgreSQL database {name}: --pg-db {name}")
            else:
                with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    else:
        path = Path(args.sqlite_path or instance / "reports.db")
        try:
            yield str(path)
        finally:
            if args.keep:
                print(f"kept SQLite file {path}: --sqlite-path {path} --existing")
            else:
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{path}{suffix}").unlink(missing_ok=True)


# ---------------------------------------------------------------------------
# Timing


@dataclass
class Case:
    report: str  # a report's name, "live" or "floor"
    scope: str  # a key of SCOPES
    times: list[float] = field(default_factory=list)
    error: str | None = None


Builder = Callable[..., Any]


def builders(wanted: Iterable[str]) -> dict[str, Builder]:
    """The reports there are (of those ``wanted``, if any): the catalogue's, and the live one
    if ``reports.live.today`` exists."""
    from reports.catalogue import REPORTS

    found: dict[str, Builder] = {}
    for name, entry in REPORTS.items():
        try:
            import_module(f"reports.{entry.module}")
        except ImportError as exc:
            print(f"  {name}: not there ({exc})")
            continue
        # As a request builds it: in the report's own snapshot, with its settings.
        found[name] = entry.build
    try:
        found["live"] = import_module("reports.live").today
    except (ImportError, AttributeError):
        print("  live: no reports.live.today")
    wanted = set(wanted)
    return {name: build for name, build in found.items() if not wanted or name in wanted}


def run_case(case: Case, build: Builder | None, scope: Any, period: Any) -> None:
    """One report of one scope, in the app context's session."""
    if build is None:
        ids = list(scope.office_ids)
        db.session.execute(FLOOR, {"ids": ids, "first": period.first, "last": period.last})
    elif case.report == "live":
        build(db.session, db.session.get_one(Office, scope.office_ids[0]), NOW, "pl")
    else:
        build(db.session, scope, period, locale="pl", now=NOW)


def time_reports(app: Flask, first: date, one: int, args: argparse.Namespace) -> list[Case]:
    """``args.runs`` rounds over every (report, scope), each call in a fresh session."""
    from reports.scope import Period, Scope

    period = Period(first, LAST, args.grain)
    with app.app_context():
        ids = tuple(db.session.scalars(select(Office.id).order_by(Office.id)))
        key = db.session.execute(
            text(
                "SELECT s.key FROM ticket t JOIN service s ON s.id = t.service_id"
                " GROUP BY s.key ORDER BY count(*) DESC LIMIT 1"
            )
        ).scalar_one()
        db.session.remove()
        scopes = {"one": Scope((one,)), "all": Scope(ids), "service": Scope(ids, key)}
        reports: dict[str, Builder | None] = {"floor": None, **builders(args.report or ())}
        cases = [
            Case(name, scope)
            for name in reports
            for scope in scopes
            if name != "live" or scope == "one"  # the live page shows one office
        ]
        for _ in range(args.runs):
            for case in cases:
                if case.error:
                    continue
                try:
                    with reading():  # as a GET request: on SQLite no write lock
                        began = time.perf_counter()
                        run_case(case, reports[case.report], scopes[case.scope], period)
                        case.times.append((time.perf_counter() - began) * 1000)
                except Exception as exc:  # a report being written may fail: say so, go on
                    case.error = f"{type(exc).__name__}: {str(exc)[:200]}"
                finally:
                    db.session.rollback()
                    db.session.remove()
        if args.explain and db.engine.dialect.name == "postgresql":
            for case in cases:
                if case.report in args.explain and not case.error:
                    explain(case, reports[case.report], scopes[case.scope], period)
        db.engine.dispose()
    return cases


def explain(case: Case, build: Builder | None, scope: Any, period: Any) -> None:
    """EXPLAIN (ANALYZE, BUFFERS) of every SELECT the report sends, slowest first (without
    per-node timing, which costs more than the nodes on this machine)."""
    sent: list[tuple[str, Any]] = []

    def grab(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        sent.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", grab)
    try:
        run_case(case, build, scope, period)
    finally:
        event.remove(db.engine, "before_cursor_execute", grab)
        db.session.rollback()
    plans = []
    with db.engine.connect() as conn:
        for statement, parameters in sent:
            if statement.lstrip().upper().startswith("SET "):
                conn.exec_driver_sql(statement.replace("SET LOCAL", "SET", 1))  # as timed
                continue
            if statement.lstrip().upper().startswith(("SELECT", "WITH")):
                plan = list(
                    conn.exec_driver_sql(
                        "EXPLAIN (ANALYZE, BUFFERS, TIMING OFF) " + statement, parameters
                    ).scalars()
                )
                took = next((line for line in plan if line.startswith("Execution Time")), "")
                plans.append((float(took.split()[2]) if took else 0.0, statement, plan))
    print(f"\n=== EXPLAIN {case.report}, {SCOPES[case.scope]}: {len(plans)} statements")
    for ms, statement, plan in sorted(plans, key=lambda p: -p[0]):
        print(f"\n--- {ms:.1f} ms\n{statement}\n" + "\n".join(plan))
    db.session.remove()


Figures = dict[tuple[str, str], tuple[float, float] | str]


def figures(cases: list[Case]) -> Figures:
    """(report, scope) -> (median, max) in ms, or the error."""
    return {
        (c.report, c.scope): c.error or (statistics.median(c.times), max(c.times)) for c in cases
    }


def print_table(results: dict[str, Figures], runs: int) -> None:
    backends = list(results)
    print(
        f"\nMedian and max of {runs} runs in ms, a fresh session each; × floor: the median"
        " over that of a bare count(*) of the same offices' tickets of the year."
    )
    header = ["report", "scope"]
    for b in backends:
        header += [f"{b} median", f"{b} max", f"{b} × floor"]
    print("| " + " | ".join([*header, "goal (pg)", "met?"]) + " |")
    print("|" + "---|" * (len(header) + 2))
    names = dict.fromkeys(name for r in results.values() for name, _ in r)
    for name in names:
        for scope, label in SCOPES.items():
            if not any((name, scope) in r for r in results.values()):
                continue
            cells, met = [name, label], ""
            for b in backends:
                value, floor = results[b].get((name, scope), "–"), results[b].get(("floor", scope))
                if not isinstance(value, tuple):
                    cells += [str(value)[:60], "", ""]
                    continue
                ratio = f"{value[0] / floor[0]:.0f} ×" if isinstance(floor, tuple) else ""
                cells += [f"{value[0]:.1f}", f"{value[1]:.1f}", "" if name == "floor" else ratio]
                if b == "pg" and name != "floor":
                    met = "yes" if value[0] < GOALS_MS[scope] else "**no**"
            goal = f"< {GOALS_MS[scope]:.0f}" if name != "floor" else ""
            print("| " + " | ".join([*cells, goal, met]) + " |")


# ---------------------------------------------------------------------------


def machine() -> str:
    return (
        f"{platform.platform(terse=True)}, {os.cpu_count()} CPUs, load average"
        f" {os.getloadavg()[0]:.1f}; Python {platform.python_version()},"
        f" SQLite {sqlite3.sqlite_version}"
    )


def run_backend(
    backend: str, args: argparse.Namespace, first: date, instance: Path, made: dict[str, Any]
) -> Figures:
    """Fill a fresh database with the history (made once for both) and time the reports;
    or time a kept one."""
    with database(backend, args, instance) as where:
        url = pg_url(where) if backend == "pg" else f"sqlite:///{where}"
        if (backend == "pg" and args.pg_db) or (backend == "sqlite" and args.existing):
            with app_for(url, instance).app_context():
                one = db.session.execute(
                    text("SELECT office_id FROM ticket GROUP BY 1 ORDER BY count(*) DESC LIMIT 1")
                ).scalar_one()
                db.engine.dispose()
        else:
            print(f"\n[{backend}] migrating and importing {args.offices} offices ...")
            places = set_up(app_for(url, instance), OFFICES[: args.offices], first)
            if not made:
                began = time.perf_counter()
                history = generate(places, first, args.tickets, args.bookings, args.seed)
                made.update(tables=rows_of(history), places=places)
                print(f"  made in {time.perf_counter() - began:.0f} s:")
                describe(history, made["tables"], places)
            elif not same_offices(made["places"], places):
                raise SystemExit("the two databases gave the offices different ids")
            if backend == "pg":
                seconds = load_pg(pg_url(where, "postgresql"), made["tables"])
            else:
                seconds = load_sqlite(Path(where), made["tables"])
            print(f"[{backend}] loaded in {seconds:.0f} s")
            check(url)
            one = the_biggest(made["tables"])
        print(f"[{backend}] timing {args.runs} runs ({machine()}) ...")
        cases = time_reports(app_for(url, instance, args.pg_set or ()), first, one, args)
        for case in cases:
            if case.error:
                print(f"  {case.report} ({SCOPES[case.scope]}): {case.error}")
        return figures(cases)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=500_000)
    parser.add_argument("--bookings", type=int, help="default: 0.6 × tickets")
    parser.add_argument("--offices", type=int, default=len(OFFICES))
    parser.add_argument("--days", type=int, default=365, help="of history, to 2026-11-30")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--only", choices=["pg", "sqlite"])
    parser.add_argument("--keep", action="store_true", help="keep the databases")
    parser.add_argument("--pg-db", help="time this kept PostgreSQL database instead")
    parser.add_argument("--sqlite-path", help="where the SQLite file goes (with --keep)")
    parser.add_argument("--existing", action="store_true", help="time --sqlite-path as it is")
    parser.add_argument("--report", action="append", help="time only this report (repeat)")
    parser.add_argument("--grain", choices=["day", "week", "month"], default="day")
    parser.add_argument("--explain", nargs="*", metavar="REPORT", help="EXPLAIN on PostgreSQL")
    parser.add_argument("--pg-set", action="append", metavar="NAME=VALUE", help="e.g. jit=off")
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args(argv)
    if not (1 <= args.offices <= len(OFFICES) and 1 <= args.days <= 400 and args.runs >= 1):
        parser.error(f"need 1..{len(OFFICES)} offices, 1..400 days and at least one run")
    if not 100 <= args.tickets <= 5_000_000:
        parser.error("need 100..5,000,000 tickets")
    if args.existing and not args.sqlite_path:
        parser.error("--existing times the file --sqlite-path names")
    args.bookings = int(0.6 * args.tickets) if args.bookings is None else args.bookings
    first = LAST - timedelta(days=args.days - 1)
    print(
        f"history {first} .. {NOW:%Y-%m-%d %H:%M} UTC; {args.offices} offices,"
        f" about {args.tickets:,} tickets and {args.bookings:,} bookings"
    )
    results: dict[str, Figures] = {}
    made: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="okienko-reports-") as tmp:
        for backend in ("pg", "sqlite"):
            if args.only in (None, backend):
                results[backend] = run_backend(backend, args, first, Path(tmp), made)
    print_table(results, args.runs)
    print(f"\n{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {machine()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
