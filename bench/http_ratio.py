"""Benchmark: the project's endpoints as a share of a Flask hello-world, same gunicorn, same wrk.

Starts ``bench/hello.py`` (one route, a short text) and the project
(``wsgi:app``) under THE SAME gunicorn command (``--server-args``, default
``-k gthread --threads 32 -w 2``) from the project root, each on a free port of
127.0.0.1, and loads both with the same tool: wrk, CONNECTIONS connections,
SECONDS per run, alternating a hello-world run and a project run, REPEATS times
per endpoint. The project runs on a fresh PostgreSQL database, migrated, with
the demo offices; bytom-zielna is 60 % booked over its booking window (today
.. today + 60 days) by real bookings (``create_booking``, as bench/availability.py
fills it), 20 tickets wait in its line today and one clerk sits at a counter.

Prints, per endpoint: throughput as a % of the hello-world run next to it (min /
median / max over the repeats), requests per second, p50 and p99 latency (min /
median / max), non-2xx answers and wrk's timeouts; the same for availability
on a fresh SQLite file (and its throughput as a % of PostgreSQL's); each
gunicorn worker's resident memory (VmRSS) idle and right after the load. Then
stops both servers and drops the database. Prints figures only; nothing here is
a test. Run from the project root:

    .venv/bin/python bench/http_ratio.py
    .venv/bin/python bench/http_ratio.py --seconds 3 --repeats 2 --only offices,availability
    .venv/bin/python bench/http_ratio.py --server-args "-k gevent --worker-connections 1000 -w 2"

Needs wrk (``apt-get install -y -qq wrk``).
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # floor_common, availability
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))  # the project

import requests
from floor_common import (
    DEFAULT_SERVER_ARGS,
    REDIS_URL,
    RESULTS,
    SECRET_KEY,
    Machine,
    describe_rss,
    fresh_database,
    gunicorn_with,
    project_env,
    rss_mib,
    tracebacks,
)

from tests.helpers.ports import free_port

OFFICE = "bytom-zielna"
SERVICE = "rozliczenia-mediow"  # 15 minutes, all 3 counters: the most free starts
ENDPOINTS = ("availability", "calendar", "day", "display-state", "ticket-status", "offices")
SQLITE_ROW = "sqlite-availability"
LABELS = {
    "availability": "GET /api/v1/.../availability, 61 days",
    "calendar": "service calendar page (next month)",
    "day": "day page with free times",
    "display-state": "/display/state.json",
    "ticket-status": "a ticket's status page /t/...",
    "offices": "/api/v1/offices",
    SQLITE_ROW: "availability, 61 days, on SQLite",
}


# ---------------------------------------------------------------------------
# The project's data: a busy office


@dataclass
class Targets:
    """The paths to load and what a display sends with them."""

    paths: dict[str, str]
    display_token: str
    bookings: int = 0
    booked_share: float = 0.0
    tickets: int = 0
    cookie: str = ""  # "session=..." of the signed-in display, once signed in


def prepare(url: str, folder: Path, share: float, tickets: int, seed: int) -> Targets:
    """Migrate, load the demo offices, book bytom-zielna to ``share``, put ``tickets`` in line.

    In this process, as ``flask db upgrade`` and ``flask demo`` would, with
    bookings made by ``create_booking`` (bench/availability.py's fill) at the real
    time now, since gunicorn answers at the real time; the tickets are issued as
    the kiosk does (numbered, audited, one floor event each) but without the
    opening-hours check, so that the line is there whatever the hour of the run.
    """
    from availability import fill_office
    from flask_migrate import upgrade
    from sqlalchemy import select

    from booking.availability import availability, local_today
    from booking.importer import DEMO_FILE, load_file
    from booking.models import Office
    from okienko.app import create_app
    from okienko.database import db
    from queueing.arrival import _issue
    from queueing.cli import replace_device, upsert_staff
    from queueing.models import DeviceKind, TicketKind
    from queueing.status import status_serializer

    app = create_app(
        {
            "INSTANCE_PATH": str(folder),
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": SECRET_KEY,
            "RATELIMIT_ENABLED": False,
            "REDIS_URL": None,
            "MAIL_SERVER": None,
            "MAIL_OUTBOX": str(folder / "outbox"),
        }
    )
    with app.app_context():
        upgrade()
        load_file(db.session, DEMO_FILE)
        db.session.commit()
        office = db.session.scalar(select(Office).where(Office.slug == OFFICE))
        now = datetime.now(UTC)
        today = local_today(office, now)
        last = today + timedelta(days=office.max_days_ahead)
        fill = fill_office(office, today, last, now, share, seed)
        services = [s for s in office.services if s.walk_in]
        issued = [
            _issue(db.session(), office, services[i % len(services)], TicketKind.WALK_IN, now, now)
            for i in range(tickets)
        ]
        clerk = upsert_staff(office, "bench-ratio", "Bench Ratio", "counter-password-1")
        clerk.counter_id = office.counters[0].id
        link = replace_device(office, DeviceKind.DISPLAY, "Bench ratio display")
        db.session.commit()
        middle = issued[len(issued) // 2].id if issued else None
        status_token = status_serializer().dumps(middle) if middle else "none"
        service = next(s for s in office.services if s.key == SERVICE)
        free = availability(db.session(), office, service, today + timedelta(days=2), last, now)
        day = next((d for d, starts in free.items() if starts), today + timedelta(days=2))
        next_month = (today.replace(day=1) + timedelta(days=32)).strftime("%Y-%m")
        db.session.remove()
        db.engine.dispose()
    base = f"/api/v1/offices/{OFFICE}/services/{SERVICE}/availability"
    paths = {
        "availability": f"{base}?from={today}&to={today + timedelta(days=60)}",
        "calendar": f"/o/{OFFICE}/{SERVICE}?month={next_month}",
        "day": f"/o/{OFFICE}/{SERVICE}/{day.isoformat()}",
        "display-state": "/display/state.json",
        "ticket-status": f"/t/{status_token}",
        "offices": "/api/v1/offices",
    }
    return Targets(
        paths,
        link.rsplit("/device/", 1)[1],
        fill.bookings,
        fill.booked_cells / fill.capacity_cells,
        len(issued),
    )


def sign_in(base: str, targets: Targets) -> None:
    """The display's session cookie, as its browser holds it after opening its link."""
    session = requests.Session()
    link = f"{base}/device/{targets.display_token}"
    answer = session.get(link, allow_redirects=False, timeout=30)
    if answer.status_code != 302:
        raise RuntimeError(f"display sign-in answered {answer.status_code}")
    targets.cookie = "; ".join(f"{c.name}={c.value}" for c in session.cookies)


# ---------------------------------------------------------------------------
# wrk


@dataclass
class Figures:
    """One wrk run."""

    rps: float
    p50: float  # seconds
    p99: float
    requests: int
    non_2xx: int
    timeouts: int
    errors: int  # connect, read and write errors


UNIT = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def seconds_of(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text)
    if not match:
        return float("nan")
    return float(match.group(1)) * UNIT[match.group(2)]


def parse_wrk(output: str) -> Figures:
    def number(pattern: str, default: float = 0.0) -> float:
        match = re.search(pattern, output)
        return float(match.group(1)) if match else default

    def latency(percent: str) -> float:
        match = re.search(rf"^\s+{percent}%\s+(\S+)", output, re.MULTILINE)
        return seconds_of(match.group(1)) if match else float("nan")

    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    errors = sum(int(sockets.group(i)) for i in (1, 2, 3)) if sockets else 0
    return Figures(
        rps=number(r"Requests/sec:\s+([\d.]+)"),
        p50=latency("50"),
        p99=latency("99"),
        requests=int(number(r"(\d+) requests in")),
        non_2xx=int(number(r"Non-2xx or 3xx responses: (\d+)")),
        timeouts=int(sockets.group(4)) if sockets else 0,
        errors=errors,
    )


def wrk(url: str, args: argparse.Namespace, seconds: float, cookie: str = "") -> Figures:
    command = [
        "wrk",
        *("-t", str(args.wrk_threads), "-c", str(args.connections)),
        *("-d", f"{max(1, round(seconds))}s", "--timeout", f"{args.timeout}s", "--latency"),
    ]
    if cookie:
        command += ["-H", f"Cookie: {cookie}"]
    done = subprocess.run(
        [*command, url], capture_output=True, text=True, timeout=seconds + args.timeout + 30
    )
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr.strip()}")
    return parse_wrk(done.stdout)


# ---------------------------------------------------------------------------
# Runs


@dataclass
class Row:
    name: str
    runs: list[tuple[Figures, Figures]] = field(default_factory=list)  # (hello, project)
    status: str = ""  # the answer to one request before the runs

    def ratios(self) -> list[float]:
        return [p.rps / h.rps for h, p in self.runs if h.rps > 0]


def spread(values: list[float], unit: float = 1.0, digits: int = 1) -> str:
    """min / median / max."""
    if not values:
        return "n/a"
    return " / ".join(
        f"{v * unit:.{digits}f}" for v in (min(values), statistics.median(values), max(values))
    )


class Alternation:
    """Hello-world runs alternating with the project's, with the workers' memory noted."""

    def __init__(self, hello_base: str, args: argparse.Namespace) -> None:
        self.hello_url = hello_base + "/"
        self.args = args

    def measure(self, row: Row, url: str, cookie: str) -> None:
        wrk(url, self.args, 1, cookie)  # warm-up: every worker has loaded what the path needs
        for i in range(self.args.repeats):
            hello = wrk(self.hello_url, self.args, self.args.seconds)
            project = wrk(url, self.args, self.args.seconds, cookie)
            row.runs.append((hello, project))
            print(
                f"  {row.name:20} run {i + 1}: hello {hello.rps:8.0f} req/s, "
                f"project {project.rps:8.1f} req/s ({project.rps / hello.rps:6.1%}), "
                f"p50 {project.p50 * 1000:7.1f} ms, p99 {project.p99 * 1000:7.1f} ms"
                + (f", non-2xx {project.non_2xx}" if project.non_2xx else "")
                + (f", timeouts {project.timeouts}" if project.timeouts else ""),
                flush=True,
            )


def first_answer(url: str, cookie: str) -> str:
    try:
        answer = requests.get(
            url, headers={"Cookie": cookie} if cookie else {}, allow_redirects=False, timeout=60
        )
    except requests.RequestException as exc:
        return f"error {type(exc).__name__}"
    return f"{answer.status_code}, {len(answer.content)} bytes"


def run_project(
    label: str,
    url: str,
    folder: Path,
    args: argparse.Namespace,
    names: list[str],
    alternation: Alternation,
    stamp: str,
) -> tuple[list[Row], dict[str, dict[int, float]], list[str], Targets]:
    """Prepare a database, serve it, and measure ``names`` against the hello-world."""
    began = time.perf_counter()
    targets = prepare(url, folder / label, args.share, args.tickets, args.seed)
    print(
        f"{label}: migrated, demo offices, {targets.bookings} bookings holding "
        f"{targets.booked_share:.1%} of {OFFICE}'s counter cells, {targets.tickets} tickets "
        f"waiting, in {time.perf_counter() - began:.1f} s",
        flush=True,
    )
    port = free_port()
    redis = None if args.no_redis else REDIS_URL
    env = project_env(url, folder / label, port, redis)
    log = RESULTS / f"http_ratio-{stamp}-{label}-gunicorn.log"
    memory: dict[str, dict[int, float]] = {}
    rows: list[Row] = []
    with gunicorn_with(
        "wsgi:app", args.server_args, log, env, port, ready_path="/api/v1/offices"
    ) as server:
        memory["idle"] = rss_mib(server.workers)
        sign_in(server.base, targets)
        peak: dict[int, float] = dict(memory["idle"])
        for name in names:
            path = targets.paths["availability" if name == SQLITE_ROW else name]
            cookie = targets.cookie if name == "display-state" else ""
            row = Row(name, status=first_answer(server.base + path, cookie))
            print(f"  {name}: {path} -> {row.status}", flush=True)
            alternation.measure(row, server.base + path, cookie)
            rows.append(row)
            for pid, mib in rss_mib(server.workers).items():
                peak[pid] = max(peak.get(pid, 0.0), mib)
        memory["after load"] = rss_mib(server.workers)
        memory["highest seen"] = peak
    problems = tracebacks(log.read_text(errors="replace"))
    return rows, memory, problems, targets


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server-args", default=DEFAULT_SERVER_ARGS, help="gunicorn options")
    parser.add_argument("--seconds", type=float, default=4, help="seconds per wrk run")
    parser.add_argument("--repeats", type=int, default=3, help="alternating pairs per endpoint")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections")
    parser.add_argument("--wrk-threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--timeout", type=int, default=10, help="wrk's request timeout, seconds")
    parser.add_argument(
        "--only",
        default="",
        help=f"comma-separated rows: {', '.join((*ENDPOINTS, SQLITE_ROW))} (default: all)",
    )
    parser.add_argument("--share", type=float, default=0.6, help="share of counter cells booked")
    parser.add_argument("--tickets", type=int, default=20, help="tickets waiting in the line")
    parser.add_argument("--seed", type=int, default=20260302)
    parser.add_argument("--no-redis", action="store_true", help="serve the project without Redis")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.only.split(",") if n.strip()] or [*ENDPOINTS, SQLITE_ROW]
    unknown = set(names) - {*ENDPOINTS, SQLITE_ROW}
    if unknown:
        parser.error(f"unknown rows: {', '.join(sorted(unknown))}")
    if not (1 <= args.seconds <= 60 and 1 <= args.repeats <= 20 and 1 <= args.connections <= 512):
        parser.error("need 1..60 seconds, 1..20 repeats and 1..512 connections")
    if not (0 < args.share <= 1 and 0 <= args.tickets <= 200):
        parser.error("need 0 < --share <= 1 and 0..200 tickets")
    if shutil.which("wrk") is None:
        print(
            "wrk is not installed: this benchmark loads both servers with wrk.\n"
            "Install it with:  apt-get install -y -qq wrk",
            file=sys.stderr,
        )
        return 2
    wrk_version = subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    print(f"http_ratio {stamp} UTC; {Machine().describe()}")
    print(
        f"gunicorn {args.server_args} (both apps); {wrk_version.split()[1]} -t {args.wrk_threads} "
        f"-c {args.connections}, {args.seconds:g} s per run, {args.repeats} alternating pairs "
        f"per row; project with {'no Redis' if args.no_redis else 'Redis'}",
        flush=True,
    )
    began = time.perf_counter()
    pg_names = [n for n in names if n in ENDPOINTS]
    results: dict[str, tuple[list[Row], dict[str, dict[int, float]], list[str]]] = {}
    with tempfile.TemporaryDirectory(prefix="okienko-ratio-") as tmp:
        folder = Path(tmp)
        hello_log = RESULTS / f"http_ratio-{stamp}-hello-gunicorn.log"
        with gunicorn_with("bench.hello:app", args.server_args, hello_log) as hello:
            hello_idle = rss_mib(hello.workers)
            alternation = Alternation(hello.base, args)
            if pg_names:
                with fresh_database("postgres", folder, "ratio") as url:
                    rows, memory, problems, _ = run_project(
                        "postgres", url, folder, args, pg_names, alternation, stamp
                    )
                    results["postgres"] = (rows, memory, problems)
            if SQLITE_ROW in names:
                with fresh_database("sqlite", folder, "ratio") as url:
                    rows, memory, problems, _ = run_project(
                        "sqlite", url, folder, args, [SQLITE_ROW], alternation, stamp
                    )
                    results["sqlite"] = (rows, memory, problems)
            hello_after = rss_mib(hello.workers)

    print(f"\nall runs in {time.perf_counter() - began:.0f} s; {datetime.now(UTC):%H:%M} UTC")
    print(
        f"\n{'row':40} {'% of hello-world':>20} {'req/s med':>10} {'hello med':>10} "
        f"{'p50 ms':>24} {'p99 ms':>24} {'non-2xx':>7} {'t/o':>4}"
    )
    print(f"{'':40} {'min / med / max':>20} {'':>10} {'':>10} {'min / med / max':>24}")
    every: dict[str, Row] = {}
    for backend in ("postgres", "sqlite"):
        for row in results.get(backend, ([], {}, []))[0]:
            every[row.name] = row
            project = [p for _, p in row.runs]
            print(
                f"{LABELS[row.name]:40} {spread(row.ratios(), 100):>20} "
                f"{statistics.median(p.rps for p in project):10.1f} "
                f"{statistics.median(h.rps for h, _ in row.runs):10.0f} "
                f"{spread([p.p50 for p in project], 1000):>24} "
                f"{spread([p.p99 for p in project], 1000):>24} "
                f"{sum(p.non_2xx for p in project):7} {sum(p.timeouts for p in project):4}"
            )
    if SQLITE_ROW in every and "availability" in every:
        sqlite = statistics.median(every[SQLITE_ROW].ratios())
        postgres = statistics.median(every["availability"].ratios())
        print(
            f"\navailability on SQLite: {sqlite / postgres:.0%} of PostgreSQL's throughput "
            f"(median shares of hello-world {sqlite:.2%} vs {postgres:.2%})"
        )
    print("\nresident memory (VmRSS) per gunicorn worker:")
    print(f"  hello-world: idle {describe_rss(hello_idle)}; after load {describe_rss(hello_after)}")
    for backend, (_rows, memory, _problems) in results.items():
        for moment, sizes in memory.items():
            print(f"  project, {backend}: {moment}: {describe_rss(sizes)}")
    for backend, (_rows, _memory, problems) in results.items():
        print(f"project gunicorn log ({backend}): {len(problems)} tracebacks/errors")
        for problem in problems[:3]:
            print(problem)
    bad = [r.name for r in every.values() if not r.status.startswith("200")]
    if bad:
        print(f"\nrows whose first answer was not 200 (their figures are not the page's): {bad}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
