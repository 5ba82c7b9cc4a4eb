"""What the floor benchmarks share: a database with an office open now, gunicorn, figures.

Not a benchmark itself; ``display_latency.py`` and ``ticket_rate.py`` import it.
The office, gunicorn and the HTTP clients (display stream, kiosk, clerk) are
those of the tests, from ``tests/helpers/live_floor.py``; what is here is the
benchmarks' own: a fresh database, the log in bench/results/, the summaries.
Everything runs on 127.0.0.1, every wait is bounded, and what is started here
is stopped here (gunicorn by the pid of the master it started; the database
is dropped ``WITH (FORCE)``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402

from tests.helpers.live_floor import (  # noqa: E402
    Floor,
    Server,
    gunicorn_servers,
    office_open_now,
    percentile,
    staff_floor,
)

PG_ADMIN = os.environ.get("BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
SECRET_KEY = "bench-floor-secret-" + "x" * 40
RESULTS = Path(__file__).resolve().parent / "results"
OFFICE = "bench-floor"
SERVICES = ("lokale", "oplaty", "zaswiadczenia")


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
