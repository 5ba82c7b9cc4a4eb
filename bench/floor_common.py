"""What the floor benchmarks share: a database with an office open now, gunicorn, figures.

Not a benchmark itself; ``display_latency.py``, ``ticket_rate.py``,
``streams.py`` and ``http_ratio.py`` import it. The office, gunicorn and the
HTTP clients (display stream, kiosk, clerk) are those of the tests, from
``tests/helpers/live_floor.py``; what is here is the benchmarks' own: a fresh
database, gunicorn started with any command line (``--server-args``) for any
app, the workers' memory, the event rows' times, the log in bench/results/,
the summaries.
Everything runs on 127.0.0.1, every wait is bounded, and what is started here
is stopped here (gunicorn by the pid of the master it started; the database
is dropped ``WITH (FORCE)``).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
import requests  # noqa: E402

from tests.helpers.live_floor import (  # noqa: E402
    Floor,
    Server,
    gunicorn_servers,
    no_control_socket,
    office_open_now,
    percentile,
    staff_floor,
    stop_gunicorn,
    worker_pids,
)
from tests.helpers.ports import free_port  # noqa: E402

PG_ADMIN = os.environ.get("BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
SECRET_KEY = "bench-floor-secret-" + "x" * 40
RESULTS = Path(__file__).resolve().parent / "results"
OFFICE = "bench-floor"
SERVICES = ("lokale", "oplaty", "zaswiadczenia")
# The command of issue 11's measurements; --server-args replaces it.
DEFAULT_SERVER_ARGS = "-k gthread --threads 32 -w 2"


# ---------------------------------------------------------------------------
# Database


@contextmanager
def fresh_database(backend: str, folder: Path, label: str) -> Iterator[str]:
    """The SQLAlchemy URL of a new empty database, dropped afterwards (SQLite: a temp file)."""
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'floor.db'}"
        return
    name = f"okienko_{label}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        print(f"dropped database {name}")


def prepare(url: str, instance: Path, displays: int, kiosks: int, clerks: int) -> Floor:
    """Migrate, load the demo offices, and add an office open now with its people and devices.

    Three walk-in services, three counters serving all of them, no call cooldown.
    Done in this process, as ``flask db upgrade``, ``flask demo``,
    ``flask staff create`` and ``flask devices create`` would.
    """
    from flask_migrate import upgrade

    from booking.importer import DEMO_FILE, import_offices, load_file
    from okienko.app import create_app
    from okienko.database import db

    app = create_app(
        {
            "INSTANCE_PATH": str(instance),
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": SECRET_KEY,
            "RATELIMIT_ENABLED": False,
            "REDIS_URL": None,
        }
    )
    services = [
        {"key": key, "prefix": key[0].upper(), "duration": 15, "name": key} for key in SERVICES
    ]
    with app.app_context():
        upgrade()
        load_file(db.session, DEMO_FILE)
        import_offices(db.session, {"office": [office_open_now(OFFICE, "Bench floor", services)]})
        floor = staff_floor(OFFICE, displays, kiosks, [f"bench{i}" for i in range(clerks)])
        db.session.commit()
        db.engine.dispose()
    return floor


# ---------------------------------------------------------------------------
# A run: its database and gunicorn


@dataclass
class Run:
    """One benchmark run: its name and time stamp, the database and gunicorn it asked for."""

    name: str
    backend: str  # postgres or sqlite
    workers: int
    threads: int  # gthread threads per worker
    redis: str | None
    stamp: str = field(default_factory=lambda: datetime.now(UTC).strftime("%Y%m%d-%H%M%S"))

    @classmethod
    def from_args(cls, name: str, args: argparse.Namespace) -> Run:
        """From the options --backend, --workers, --threads and --no-redis."""
        redis = None if args.no_redis else REDIS_URL
        return cls(name, args.backend, args.workers, args.threads, redis)

    def announce(self, what: str) -> None:
        print(f"{self.name} {self.stamp} UTC; {Machine().describe()}")
        server = f"gunicorn -k gthread --threads {self.threads} -w {self.workers}"
        print(f"{self.backend}, {server}, {what}")

    @contextmanager
    def database(self, label: str) -> Iterator[tuple[Path, str]]:
        """A temporary folder and the URL of a fresh database; both gone afterwards."""
        with (
            tempfile.TemporaryDirectory() as tmp,
            fresh_database(self.backend, Path(tmp), label) as url,
        ):
            yield Path(tmp), url

    @contextmanager
    def gunicorn(self, url: str, folder: Path) -> Iterator[Server]:
        """gunicorn serving wsgi:app on ``url``, its log in bench/results/; stopped afterwards."""
        RESULTS.mkdir(exist_ok=True)
        log = RESULTS / f"{self.name}-{self.stamp}-{self.backend}-gunicorn.log"
        with gunicorn_servers(
            url,
            [log],
            secret_key=SECRET_KEY,
            folder=folder,
            workers=self.workers,
            threads=self.threads,
            redis=self.redis,
        ) as (server,):
            yield server


def tracebacks(log: str) -> list[str]:
    """Tracebacks and error lines from gunicorn's output."""
    found = []
    lines = log.splitlines()
    for i, line in enumerate(lines):
        if "Traceback (most recent call last)" in line:
            end = i + 1
            while end < len(lines) and (lines[end].startswith((" ", "\t")) or not lines[end]):
                end += 1
            found.append("\n".join(lines[max(0, i - 1) : end + 1]))
        elif any(mark in line for mark in ("[ERROR]", "[CRITICAL]", "WORKER TIMEOUT")):
            found.append(line)
    return found


# ---------------------------------------------------------------------------
# Figures


def summary(samples: list[float], unit: float = 1000.0, suffix: str = "ms") -> str:
    if not samples:
        return "no samples"
    return (
        f"n={len(samples)}, median {statistics.median(samples) * unit:.1f} {suffix}, "
        f"p95 {percentile(samples, 95) * unit:.1f}, p99 {percentile(samples, 99) * unit:.1f}, "
        f"min {min(samples) * unit:.1f}, max {max(samples) * unit:.1f} {suffix}"
    )


@dataclass
class Machine:
    cpus: int = field(default_factory=lambda: os.cpu_count() or 0)
    load: str = field(
        default_factory=lambda: (
            " ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
        )
    )

    def describe(self) -> str:
        import platform

        import gunicorn as gunicorn_package
        import sqlalchemy

        return (
            f"{self.cpus} CPUs, load average {self.load}; Python {platform.python_version()}, "
            f"gunicorn {gunicorn_package.__version__}, SQLAlchemy {sqlalchemy.__version__}"
        )


# ---------------------------------------------------------------------------
# gunicorn with any command line, for any app


def production_server_args() -> str:
    """The options of the gunicorn line in README.md's Production section (no -b, no app).

    So that a benchmark's default follows the documented production command;
    ``-k gthread --threads 32 -w 4`` if the README has no such line.
    """
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Production", 1)[-1].split("\n## ", 1)[0]
    for line in section.splitlines():
        words = shlex.split(line) if "gunicorn" in line and not line.startswith("#") else []
        if words and words[0].endswith("gunicorn"):
            kept: list[str] = []
            skip = False
            for word in words[1:]:
                if skip:
                    skip = False
                elif word in ("-b", "--bind"):
                    skip = True
                elif not word.startswith(("--bind=", "-b")) and ":" not in word:
                    kept.append(word)  # not the bind address, not the app (module:app)
            return " ".join(kept)
    return "-k gthread --threads 32 -w 4"


def worker_count(server_args: list[str]) -> int:
    """The -w/--workers of a gunicorn command line (gunicorn's default: 1)."""
    for i, word in enumerate(server_args):
        if word in ("-w", "--workers") and i + 1 < len(server_args):
            return int(server_args[i + 1])
        if match := re.fullmatch(r"(?:-w|--workers=)(\d+)", word):
            return int(match.group(1))
    return 1


def project_env(url: str, folder: Path, port: int, redis: str | None) -> dict[str, str]:
    """The environment gunicorn serves wsgi:app with: this database, no mail, no rate limits."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAIL_", "REDIS_"))}
    env.update(
        DATABASE_URL=url,
        SECRET_KEY=SECRET_KEY,
        RATELIMIT_ENABLED="false",
        RATELIMIT_STORAGE_URI="memory://",
        MAIL_OUTBOX=str(folder / "outbox"),
        PUBLIC_URL=f"http://127.0.0.1:{port}",
        PYTHONUNBUFFERED="1",
    )
    if redis:
        env["REDIS_URL"] = redis
    return env


@contextmanager
def gunicorn_with(
    app: str,
    server_args: str,
    log: Path,
    env: dict[str, str] | None = None,
    port: int | None = None,
    ready_path: str = "/",
    timeout: float = 120,
) -> Iterator[Server]:
    """``gunicorn SERVER_ARGS -b 127.0.0.1:PORT APP`` from the project root, up; stopped after.

    Up means: ``ready_path`` answers 200 and as many workers as ``-w`` says are
    running. ``--graceful-timeout 5`` is added unless given, so that a stop with
    thousands of open streams ends in seconds. Stopped by SIGTERM to the master
    started here (then SIGKILL to it if it lingers).
    """
    args = shlex.split(server_args)
    if not any(a.startswith("--graceful-timeout") for a in args):
        args += ["--graceful-timeout", "5"]
    port = port or free_port()
    command = [
        *(sys.executable, "-m", "gunicorn", *no_control_socket()),
        *args,
        *("-b", f"127.0.0.1:{port}", app),
    ]
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env or dict(os.environ), stdout=out, stderr=subprocess.STDOUT
        )
    server = Server(process, f"http://127.0.0.1:{port}", log, command)
    wanted = worker_count(args)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if (status := process.poll()) is not None:
                text = log.read_text(errors="replace")[-3000:]
                raise RuntimeError(f"gunicorn exited ({status}): {shlex.join(command)}\n{text}")
            answered = False
            with suppress(requests.RequestException):
                answered = requests.get(server.base + ready_path, timeout=10).status_code == 200
            server.workers = worker_pids(process.pid)
            if answered and len(server.workers) >= wanted:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn not up in {timeout:g} s: {shlex.join(command)}")
            time.sleep(0.2)
        yield server
    finally:
        stop_gunicorn([server])  # SIGTERM to the master started here, SIGKILL if it lingers


def rss_mib(pids: set[int] | list[int]) -> dict[int, float]:
    """Resident memory (VmRSS) of each process, in MiB; a process that is gone is left out."""
    sizes = {}
    for pid in sorted(pids):
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                sizes[pid] = int(line.split()[1]) / 1024
    return sizes


def describe_rss(sizes: dict[int, float]) -> str:
    if not sizes:
        return "no workers"
    each = ", ".join(f"{mib:.0f}" for mib in sizes.values())
    return f"{each} MiB (max {max(sizes.values()):.0f} MiB, {len(sizes)} workers)"


def raise_fd_limit(wanted: int) -> int:
    """Raise this process's open-file limit (inherited by what it starts) to ``wanted``.

    As far as the hard limit allows; the new soft limit is returned.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return soft


def call_times(url: str, office_id: int) -> dict[int, float]:
    """Ticket id -> POSIX time at which its call event row was written (the database's view)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT payload, created_at FROM queue_event"
                    " WHERE office_id = :o AND kind = 'call'"
                ),
                {"o": office_id},
            ).all()
    finally:
        engine.dispose()
    times = {}
    for payload, created_at in rows:
        if isinstance(payload, str):  # SQLite hands back text
            payload = json.loads(payload)
        if isinstance(created_at, str):
            created_at = datetime.fromisoformat(created_at)
        times[payload["ticket_id"]] = created_at.replace(tzinfo=UTC).timestamp()
    return times


def p50_p99(samples: list[float], unit: float = 1000.0) -> str:
    """``p50 X / p99 Y ms`` (nearest rank), or ``no samples``."""
    if not samples:
        return "no samples"
    return f"p50 {percentile(samples, 50) * unit:.1f} / p99 {percentile(samples, 99) * unit:.1f} ms"
