"""What the floor benchmarks share: a database with an office open now, gunicorn, HTTP clients.

Not a benchmark itself; ``display_latency.py`` and ``ticket_rate.py`` import it.
Everything runs on 127.0.0.1, every wait is bounded, and what is started here
is stopped here (gunicorn by the pid of the master it started; the database
is dropped ``WITH (FORCE)``).
"""

from __future__ import annotations

import json
import math
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import holidays  # noqa: E402
import psycopg  # noqa: E402
import requests  # noqa: E402

PG_ADMIN = os.environ.get("BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
SECRET_KEY = "bench-floor-secret-" + "x" * 40
RESULTS = Path(__file__).resolve().parent / "results"
OFFICE = "bench-floor"
PASSWORD = "bench-clerk-password"
SERVICES = ("lokale", "oplaty", "zaswiadczenia")
CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


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


def midday_zone() -> tuple[str, str]:
    """A time zone where it is about noon now, and a country with no public holiday there today.

    The bench office is open 00:00-23:45 every day; in this zone that covers the
    whole run, whatever the hour (gunicorn's clock cannot be travelled).
    """
    offset = 12 - datetime.now(UTC).hour
    zone = "UTC" if offset == 0 else f"Etc/GMT{-offset:+d}"  # POSIX sign: Etc/GMT-2 is UTC+2
    today = datetime.now(ZoneInfo(zone)).date()
    for country in ("PL", "CZ", "DE", "GB", "US"):
        if today not in holidays.country_holidays(country, years=today.year):
            return zone, country
    raise RuntimeError(f"{today} is a public holiday everywhere")


@dataclass
class Floor:
    office_id: int
    counters: list[int]
    displays: list[str]  # device tokens
    kiosks: list[str]
    clerks: list[str]  # user names


def prepare(url: str, instance: Path, displays: int, kiosks: int, clerks: int) -> Floor:
    """Migrate, load the demo offices, and add an office open now with its people and devices.

    Three walk-in services, three counters serving all of them, no call cooldown.
    Done in this process, as ``flask db upgrade``, ``flask demo``,
    ``flask staff create`` and ``flask devices create`` would.
    """
    from flask_migrate import upgrade
    from sqlalchemy import select

    from booking.app import create_app
    from booking.database import db
    from booking.importer import DEMO_FILE, import_offices, load_file
    from booking.models import Office
    from queueing.cli import replace_device, upsert_staff
    from queueing.models import DeviceKind

    zone, country = midday_zone()
    app = create_app(
        {
            "INSTANCE_PATH": str(instance),
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": SECRET_KEY,
            "RATELIMIT_ENABLED": False,
            "REDIS_URL": None,
        }
    )
    with app.app_context():
        upgrade()
        load_file(db.session, DEMO_FILE)
        import_offices(
            db.session,
            {
                "office": [
                    {
                        "slug": OFFICE,
                        "name": "Bench floor",
                        "address": "Testowa 1",
                        "timezone": zone,
                        "country": country,
                        "min_notice_minutes": 0,
                        "call_cooldown_seconds": 0,
                        "hours": [
                            {
                                "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                                "open": "00:00",
                                "close": "23:45",
                            }
                        ],
                        "services": [
                            {"key": key, "prefix": key[0].upper(), "duration": 15, "name": key}
                            for key in SERVICES
                        ],
                        "counters": [
                            {"name": f"Okienko {i}", "services": "*"} for i in range(1, 4)
                        ],
                    }
                ]
            },
        )
        office = db.session.scalar(select(Office).where(Office.slug == OFFICE))

        def token(link: str) -> str:
            return link.rsplit("/device/", 1)[1]

        floor = Floor(
            office_id=office.id,
            counters=[c.id for c in office.counters],
            displays=[
                token(replace_device(office, DeviceKind.DISPLAY, f"Ekran {i}"))
                for i in range(displays)
            ],
            kiosks=[
                token(replace_device(office, DeviceKind.KIOSK, f"Kiosk {i}")) for i in range(kiosks)
            ],
            clerks=[f"bench{i}" for i in range(clerks)],
        )
        for username in floor.clerks:
            upsert_staff(office, username, username, PASSWORD)
        db.session.commit()
        db.engine.dispose()
    return floor


# ---------------------------------------------------------------------------
# gunicorn


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    base: str
    log: Path
    command: list[str]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def gunicorn(
    url: str, folder: Path, workers: int, threads: int, redis: str | None, log_name: str
) -> Iterator[Server]:
    """``gunicorn -k gthread`` on 127.0.0.1 serving wsgi:app on ``url``; stopped afterwards."""
    port = free_port()
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
    RESULTS.mkdir(exist_ok=True)
    log = RESULTS / log_name
    command = [
        str(Path(sys.executable).parent / "gunicorn"),
        *no_control_socket(),
        "-k",
        "gthread",
        "--threads",
        str(threads),
        "-w",
        str(workers),
        "-b",
        f"127.0.0.1:{port}",
        "--timeout",
        "60",
        "--graceful-timeout",
        "5",
        "wsgi:app",
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    server = Server(process, f"http://127.0.0.1:{port}", log, command)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"gunicorn exited:\n{log.read_text(errors='replace')}")
            with suppress(requests.RequestException):
                if requests.get(f"{server.base}/api/v1/offices", timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError("gunicorn did not answer in 60 s")
            time.sleep(0.2)
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)  # graceful stop of the master we started
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)


def no_control_socket() -> list[str]:
    """gunicorn >= 25 makes ~/.gunicorn/ for its control socket unless told not to."""
    from gunicorn.config import KNOWN_SETTINGS

    known = any("--no-control-socket" in (s.cli or []) for s in KNOWN_SETTINGS)
    return ["--no-control-socket"] if known else []


def worker_pids(master: int) -> set[int]:
    pids = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with suppress(OSError, IndexError, ValueError):
                stat = Path(f"/proc/{entry}/stat").read_text()
                if int(stat.rsplit(")", 1)[1].split()[1]) == master:
                    pids.add(int(entry))
    return pids


def connection_owners(server: Server) -> dict[int, int]:
    """Client port -> pid of the gunicorn worker holding that connection (Linux /proc)."""
    port = int(server.base.rsplit(":", 1)[1])
    inode_owner = {}
    for pid in worker_pids(server.process.pid):
        fds: list[str] = []
        with suppress(OSError):
            fds = os.listdir(f"/proc/{pid}/fd")
        for fd in fds:
            with suppress(OSError):
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
                if target.startswith("socket:["):
                    inode_owner[int(target[8:-1])] = pid
    owners = {}
    with suppress(OSError):
        for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].split(":")[1], 16) == port and int(fields[9]) in inode_owner:
                owners[int(fields[2].split(":")[1], 16)] = inode_owner[int(fields[9])]
    return owners


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
# Clients


def response_socket(response: requests.Response) -> socket.socket | None:
    connection = response.raw.connection
    if connection is not None and connection.sock is not None:
        return connection.sock
    reader = getattr(response.raw._fp, "fp", None)
    return getattr(getattr(reader, "raw", None), "_sock", None)


def device_session(base: str, token: str) -> requests.Session:
    """A browser profile signed in as one kiosk or display through its link."""
    session = requests.Session()
    answer = session.get(f"{base}/device/{token}", allow_redirects=False, timeout=30)
    if answer.status_code != 302:
        raise RuntimeError(f"device sign-in answered {answer.status_code}")
    return session


@dataclass
class Event:
    kind: str
    id: int | None
    data: dict[str, Any]
    at: float  # time.perf_counter() on arrival
    wall: float  # time.time() on arrival, to compare with the database's clock


class Stream:
    """One display's Server-Sent Events connection, read in its own thread."""

    def __init__(self, session: requests.Session, base: str) -> None:
        self.response = session.get(
            f"{base}/display/stream",
            headers={"Accept": "text/event-stream"},
            stream=True,
            timeout=(10, 60),
        )
        self.response.raise_for_status()
        sock = response_socket(self.response)
        self.local_port = sock.getsockname()[1] if sock else None
        self.worker = 0  # pid of the gunicorn worker serving it, once looked up
        self.events: list[Event] = []
        self.closed = False
        self.error: BaseException | None = None
        self.changed = threading.Condition()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        buffer = b""
        try:
            for chunk in self.response.iter_content(chunk_size=None):
                buffer += chunk
                while b"\n\n" in buffer:
                    block, buffer = buffer.split(b"\n\n", 1)
                    self._parse(block.decode(), time.perf_counter(), time.time())
        except Exception as exc:
            self.error = exc
        finally:
            with self.changed:
                self.closed = True
                self.changed.notify_all()

    def _parse(self, block: str, at: float, wall: float) -> None:
        kind, event_id, data = "message", None, []
        for line in block.split("\n"):
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "event":
                kind = value
            elif name == "id":
                event_id = int(value)
            elif name == "data":
                data.append(value)
        if data:
            with self.changed:
                self.events.append(Event(kind, event_id, json.loads("\n".join(data)), at, wall))
                self.changed.notify_all()

    def wait_for(self, predicate: Callable[[list[Event]], bool], timeout: float) -> bool:
        with self.changed:
            self.changed.wait_for(lambda: predicate(self.events) or self.closed, timeout)
            return predicate(self.events)

    def call_of(self, ticket_id: int) -> Event | None:
        with self.changed:
            return next(
                (e for e in self.events if e.kind == "call" and e.data["ticket_id"] == ticket_id),
                None,
            )

    def close(self) -> None:
        sock = response_socket(self.response)
        if sock is not None:
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self.response.close()
        self.thread.join(5)


class Kiosk:
    def __init__(self, base: str, token: str) -> None:
        self.base = base
        self.session = device_session(base, token)
        page = self.session.get(f"{base}/kiosk/", timeout=30)
        self.csrf = CSRF_RE.search(page.text).group(1)

    def walk_in(self, service: str) -> requests.Response:
        return self.session.post(
            f"{self.base}/kiosk/walk-in/{service}",
            headers={"X-CSRFToken": self.csrf},
            allow_redirects=False,
            timeout=60,
        )


class Clerk:
    """The counter's HTTP API: Accept: application/json and the CSRF token in X-CSRFToken."""

    def __init__(self, base: str, username: str) -> None:
        self.base = base
        self.session = requests.Session()
        page = self.session.get(f"{base}/counter/login", timeout=30)
        self.csrf = CSRF_RE.search(page.text).group(1)
        answer = self.session.post(
            f"{base}/counter/login",
            data={"csrf_token": self.csrf, "username": username, "password": PASSWORD},
            allow_redirects=False,
            timeout=30,
        )
        if answer.status_code != 302:
            raise RuntimeError(f"clerk login answered {answer.status_code}")

    def seat(self, counter_id: int) -> None:
        answer = self.session.post(
            f"{self.base}/counter/seat",
            data={"csrf_token": self.csrf, "counter_id": str(counter_id)},
            allow_redirects=False,
            timeout=30,
        )
        if answer.status_code != 302:
            raise RuntimeError(f"seat answered {answer.status_code}")

    def act(
        self, path: str, server: Server | None = None
    ) -> tuple[int, dict[str, Any], int | None]:
        """POST an action; with ``server``, on a new connection, also naming the worker."""
        session = self.session
        if server is not None:
            session = requests.Session()
            session.cookies.update(self.session.cookies)
        try:
            response = session.post(
                f"{self.base}/counter/{path}",
                headers={"Accept": "application/json", "X-CSRFToken": self.csrf},
                stream=True,
                timeout=60,
            )
            worker = None
            if server is not None and (sock := response_socket(response)) is not None:
                worker = connection_owners(server).get(sock.getsockname()[1])
            body = response.json()
        finally:
            if server is not None:
                session.close()
        return response.status_code, body, worker


# ---------------------------------------------------------------------------
# Figures


def percentile(samples: list[float], p: float) -> float:
    """Nearest rank."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)] if ordered else float("nan")


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
