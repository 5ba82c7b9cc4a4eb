"""A live office floor, shared by tests/test_display_stream.py and the floor benchmarks.

An office that is open now with its displays, kiosks and clerks; gunicorn
serving the app on 127.0.0.1 (stopped by the pid of the master started here);
which gunicorn worker holds a connection (Linux /proc); and the HTTP clients
that act on the floor as the office's devices and people do: a display's
Server-Sent Events stream, a kiosk and a clerk, each a real HTTP client
(requests) signed in through a device link or a password. Every request and
every wait is bounded.

Free of pytest: ``bench/floor_common.py`` imports it too. A server answering
other than it should raises ``UnexpectedAnswer``, an AssertionError, so that
pytest reports it as a failed check.
"""

from __future__ import annotations

import json
import math
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import holidays
import requests
from sqlalchemy import select

from booking.models import Office
from okienko.database import db
from queueing.cli import replace_device, upsert_staff
from queueing.models import DeviceKind
from tests.helpers.admission import KIOSK_ADMITTED
from tests.helpers.forms import CSRF_RE
from tests.helpers.ports import free_port
from tests.helpers.waiting import WaitTimeout, wait_until

ROOT = Path(__file__).resolve().parents[2]
CLERK_PASSWORD = "counter-password-1"
TIMEOUT = 30.0  # seconds a client waits for an answer, unless told otherwise


class UnexpectedAnswer(AssertionError):
    """The server answered a floor client other than it should."""


def expect_status(response: requests.Response, status: int, what: str) -> None:
    if response.status_code != status:
        raise UnexpectedAnswer(f"{what} answered {response.status_code}: {response.text[:300]}")


# ---------------------------------------------------------------------------
# An office that is open now, with its clerks, kiosks and displays


def midday_zone() -> tuple[str, str]:
    """A time zone where it is about noon now, and a country with no public holiday there today.

    The office is open 00:00-23:45 every day; in this zone that covers the whole
    run, whatever the hour it starts at (gunicorn runs in other processes, so
    the clock cannot be travelled there).
    """
    offset = 12 - datetime.now(UTC).hour  # -11 .. 12 hours
    zone = "UTC" if offset == 0 else f"Etc/GMT{-offset:+d}"  # POSIX sign: Etc/GMT-2 is UTC+2
    today = datetime.now(ZoneInfo(zone)).date()
    for country in ("PL", "CZ", "DE", "GB", "US"):
        if today not in holidays.country_holidays(country, years=today.year):
            return zone, country
    raise RuntimeError(f"{today} is a public holiday everywhere")


def office_open_now(
    slug: str, name: str, services: list[dict[str, Any]], counters: int = 3
) -> dict[str, Any]:
    """An office as ``import_offices`` takes it, open now: walk-in ``services``, ``counters``
    counters ("Okienko 1" ...) serving all of them, no notice and no call cooldown."""
    zone, country = midday_zone()
    return {
        "slug": slug,
        "name": name,
        "address": "Testowa 1",
        "timezone": zone,
        "country": country,
        "slot_minutes": 15,
        "min_notice_minutes": 0,
        "call_cooldown_seconds": 0,
        "hours": [
            {
                "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                "open": "00:00",
                "close": "23:45",
            }
        ],
        "services": services,
        "counters": [{"name": f"Okienko {i}", "services": "*"} for i in range(1, counters + 1)],
    }


@dataclass
class Floor:
    """Who can act at an office: device tokens and clerk user names."""

    office_id: int
    counters: dict[str, int]  # name -> id
    displays: list[str]
    kiosks: list[str]
    clerks: list[str]


def staff_floor(slug: str, displays: int, kiosks: int, clerks: list[str]) -> Floor:
    """Give the office its display and kiosk devices and its clerks (password CLERK_PASSWORD).

    As ``flask devices create`` and ``flask staff create`` would; in an app
    context, left for the caller to commit.
    """
    office = db.session.scalar(select(Office).where(Office.slug == slug))

    def token(kind: DeviceKind, name: str) -> str:
        return replace_device(office, kind, name).rsplit("/device/", 1)[1]

    floor = Floor(
        office_id=office.id,
        counters={c.name: c.id for c in office.counters},
        displays=[token(DeviceKind.DISPLAY, f"Ekran {i}") for i in range(displays)],
        kiosks=[token(DeviceKind.KIOSK, f"Kiosk {i}") for i in range(kiosks)],
        clerks=clerks,
    )
    for username in clerks:
        upsert_staff(office, username, username.title(), CLERK_PASSWORD)
    return floor


# ---------------------------------------------------------------------------
# gunicorn


# The worker of the README's Production section.
PRODUCTION_WORKER = ("-k", "gevent", "--worker-connections", "2000")


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    base: str
    log: Path
    command: list[str] = field(default_factory=list)
    workers: set[int] = field(default_factory=set)  # pids, once up


@cache
def no_control_socket() -> list[str]:
    """gunicorn >= 25 makes ~/.gunicorn/ for its control socket unless told not to."""
    from gunicorn.config import KNOWN_SETTINGS

    known = any("--no-control-socket" in (s.cli or []) for s in KNOWN_SETTINGS)
    return ["--no-control-socket"] if known else []


def start_gunicorn(
    database_url: str,
    log: Path,
    *,
    secret_key: str,
    folder: Path,
    workers: int,
    redis: str | None,
    threads: int | None = None,
    graceful_timeout: float = 5,
) -> Server:
    """gunicorn serving wsgi:app on a free port of 127.0.0.1; output in ``log``.

    The workers are the README's production ones (``PRODUCTION_WORKER``: evented, an
    open stream holds no thread), or ``-k gthread --threads N`` when ``threads`` is given.
    """
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAIL_", "REDIS_"))}
    env.update(
        DATABASE_URL=database_url,
        SECRET_KEY=secret_key,
        RATELIMIT_ENABLED="false",
        RATELIMIT_STORAGE_URI="memory://",
        MAIL_OUTBOX=str(folder / "outbox"),
        PUBLIC_URL=f"http://127.0.0.1:{port}",
        PYTHONUNBUFFERED="1",
    )
    if redis:
        env["REDIS_URL"] = redis
    command = [
        *(sys.executable, "-m", "gunicorn", *no_control_socket()),
        *(PRODUCTION_WORKER if threads is None else ("-k", "gthread", "--threads", str(threads))),
        *("-w", str(workers)),
        *("-b", f"127.0.0.1:{port}", "--timeout", "60"),
        *("--graceful-timeout", f"{graceful_timeout:g}", "wsgi:app"),
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    return Server(process, f"http://127.0.0.1:{port}", log, command)


def wait_until_up(server: Server, timeout: float = 120) -> None:
    """Until the server answers and its workers are known; RuntimeError with its log if not."""

    def up() -> bool:
        if (status := server.process.poll()) is not None:
            log = server.log.read_text(errors="replace")
            raise RuntimeError(f"gunicorn exited ({status}):\n{log}")
        with suppress(requests.RequestException):
            if requests.get(f"{server.base}/api/v1/offices", timeout=10).status_code == 200:
                server.workers = worker_pids(server.process.pid)
        return bool(server.workers)

    try:
        wait_until(up, timeout=timeout, interval=0.1)
    except WaitTimeout:
        log = server.log.read_text(errors="replace")
        raise RuntimeError(f"gunicorn did not start in {timeout:g} s:\n{log}") from None


def stop_gunicorn(servers: list[Server]) -> None:
    """SIGTERM (a graceful stop) to each master started here, then kill what is left."""
    for server in servers:
        if server.process.poll() is None:
            server.process.send_signal(signal.SIGTERM)
    for server in servers:
        try:
            server.process.wait(30)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait(10)


@contextmanager
def gunicorn_servers(database_url: str, logs: list[Path], **options: Any) -> Iterator[list[Server]]:
    """One gunicorn instance per log file, all on one database, up; stopped afterwards.

    ``options``: the keyword arguments of ``start_gunicorn``.
    """
    servers: list[Server] = []
    try:
        for log in logs:
            servers.append(start_gunicorn(database_url, log, **options))
        for server in servers:
            wait_until_up(server)
        yield servers
    finally:
        stop_gunicorn(servers)


def worker_pids(master: int) -> set[int]:
    pids = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with suppress(OSError, IndexError, ValueError):  # a process may end while we look
                stat = Path(f"/proc/{entry}/stat").read_text()
                if int(stat.rsplit(")", 1)[1].split()[1]) == master:
                    pids.add(int(entry))
    return pids


def connection_owners(server: Server, timeout: float = 60) -> dict[int, int]:
    """Client port -> pid of the gunicorn worker holding that connection (from /proc).

    Waits for connections the kernel has accepted and no worker has taken yet (on a
    busy machine a worker may take a while); ``timeout`` only bounds that wait, after
    which the connections known so far are returned.
    """
    port = int(server.base.rsplit(":", 1)[1])
    latest: dict[int, int] = {}

    def settled() -> bool:
        """True once no connection to the port waits for a worker; notes the owners."""
        inode_owner = {}
        for pid in worker_pids(server.process.pid):
            fds: list[str] = []
            with suppress(OSError):
                fds = os.listdir(f"/proc/{pid}/fd")
            for fd in fds:
                with suppress(OSError):  # an fd may close while we look
                    target = os.readlink(f"/proc/{pid}/fd/{fd}")
                    if target.startswith("socket:["):
                        inode_owner[int(target[8:-1])] = pid
        owners, unowned = {}, 0
        lines: list[str] = []
        with suppress(OSError):
            lines = Path("/proc/net/tcp").read_text().splitlines()[1:]
        for line in lines:
            fields = line.split()
            local, remote, state, inode = fields[1], fields[2], fields[3], int(fields[9])
            if int(local.split(":")[1], 16) != port or state != "01":  # ESTABLISHED only
                continue
            if inode in inode_owner:
                owners[int(remote.split(":")[1], 16)] = inode_owner[inode]
            else:
                unowned += 1  # accepted by the kernel, not yet by a worker
        latest.clear()
        latest.update(owners)
        return not unowned

    with suppress(WaitTimeout):
        wait_until(settled, timeout=timeout)
    return dict(latest)


# ---------------------------------------------------------------------------
# HTTP clients: a display's event stream, a kiosk, a clerk


def response_socket(response: requests.Response) -> socket.socket | None:
    """The TCP socket under a streamed response (http.client detaches it from the
    connection when the server says ``Connection: close``)."""
    connection = response.raw.connection
    if connection is not None and connection.sock is not None:
        return connection.sock
    reader = getattr(response.raw._fp, "fp", None)  # http.client's buffered socket file
    return getattr(getattr(reader, "raw", None), "_sock", None)


def device_session(base: str, token: str, timeout: float = TIMEOUT) -> requests.Session:
    """A browser profile signed in as one kiosk or display through its secret link."""
    session = requests.Session()
    answer = session.get(f"{base}/device/{token}", allow_redirects=False, timeout=timeout)
    expect_status(answer, 302, "device sign-in")
    return session


@dataclass
class Event:
    kind: str
    id: int | None
    data: dict[str, Any]
    at: float  # time.perf_counter() when its last line arrived
    wall: float  # time.time() then, to compare with the database's clock


def has_call(ticket_id: int) -> Callable[[list[Event]], bool]:
    """A stream predicate: the call of ``ticket_id`` has arrived."""
    return lambda ev: any(e.kind == "call" and e.data["ticket_id"] == ticket_id for e in ev)


def sse_fields(block: str) -> tuple[str, int | None, Any, int | None]:
    """One Server-Sent Events block: its kind, id, JSON data (None: no data) and retry."""
    kind, event_id, data, retry = "message", None, [], None
    for line in block.split("\n"):
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            kind = value
        elif name == "id":
            event_id = int(value)
        elif name == "data":
            data.append(value)
        elif name == "retry":
            retry = int(value)
    return kind, event_id, json.loads("\n".join(data)) if data else None, retry


class Stream:
    """One display's SSE connection, read in its own thread; each event with its arrival time.

    Read only when the server answers 200 (see ``response.status_code``).
    """

    def __init__(
        self,
        session: requests.Session,
        base: str,
        last_event_id: int | str | None = None,
        read_timeout: float = 30,
        connect_timeout: float = 5,
    ) -> None:
        headers = {"Accept": "text/event-stream"}
        if last_event_id is not None:
            headers["Last-Event-ID"] = str(last_event_id)
        self.opened = time.perf_counter()
        self.response = session.get(
            f"{base}/display/stream",
            headers=headers,
            stream=True,
            timeout=(connect_timeout, read_timeout),
        )
        self.events: list[Event] = []
        self.retry: int | None = None
        self.closed = False
        self.error: BaseException | None = None
        self.changed = threading.Condition()
        sock = response_socket(self.response)
        self.local_port = sock.getsockname()[1] if sock else None
        self.worker = 0  # pid of the gunicorn worker serving it, once looked up
        self.thread = threading.Thread(target=self._read, daemon=True)
        if self.response.status_code == 200:
            self.thread.start()

    def _read(self) -> None:
        buffer = b""
        try:
            for chunk in self.response.iter_content(chunk_size=None):
                buffer += chunk
                while b"\n\n" in buffer:
                    block, buffer = buffer.split(b"\n\n", 1)
                    self._parse(block.decode(), time.perf_counter(), time.time())
        except Exception as exc:  # a closed or timed-out connection ends the stream
            self.error = exc
        finally:
            with self.changed:
                self.closed = True
                self.changed.notify_all()

    def _parse(self, block: str, at: float, wall: float) -> None:
        kind, event_id, data, retry = sse_fields(block)
        if retry is not None:
            self.retry = retry
        if data is not None:
            with self.changed:
                self.events.append(Event(kind, event_id, data, at, wall))
                self.changed.notify_all()

    def wait_for(self, predicate: Callable[[list[Event]], bool], timeout: float) -> bool:
        with self.changed:
            self.changed.wait_for(lambda: predicate(self.events) or self.closed, timeout)
            return predicate(self.events)

    def state(self, timeout: float = 5) -> Event:
        """The first event, which must be the ``state``."""
        if not self.wait_for(lambda ev: bool(ev), timeout):
            raise UnexpectedAnswer(f"no first event: {self.error}")
        first = self.events[0]
        if first.kind != "state":
            raise UnexpectedAnswer(f"the first event is not the state: {first}")
        return first

    def after_state(self) -> list[Event]:
        with self.changed:
            return list(self.events[1:])

    def calls(self) -> list[Event]:
        return [e for e in self.after_state() if e.kind == "call"]

    def close(self) -> None:
        """Drop the connection as a display losing its network would (wakes the reader)."""
        sock = response_socket(self.response)
        if sock is not None:
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self.response.close()
        if self.thread.ident is not None:  # started: the answer was 200
            self.thread.join(5)


def ticket_id(walk_in: requests.Response) -> int:
    """The id of the ticket a walk-in answer redirects to."""
    path = walk_in.headers["Location"].split("?", 1)[0]  # /kiosk/ticket/<id>?print=1
    return int(path.rstrip("/").rsplit("/", 1)[1])


class Kiosk:
    def __init__(self, base: str, token: str, timeout: float = TIMEOUT) -> None:
        self.base = base
        self.timeout = timeout
        self.session = device_session(base, token, timeout)
        page = self.session.get(f"{base}/kiosk/", timeout=timeout)
        self.csrf = CSRF_RE.search(page.text).group(1)

    def press(self, service: str) -> requests.Response:
        """The walk-in button of ``service``; the answer as it is (302: issued)."""
        return self.session.post(
            f"{self.base}/kiosk/walk-in/{service}",
            data=KIOSK_ADMITTED,
            headers={"X-CSRFToken": self.csrf},
            allow_redirects=False,
            timeout=self.timeout,
        )

    def walk_in(self, service: str) -> int:
        """Take a number; the id of the new ticket."""
        answer = self.press(service)
        expect_status(answer, 302, f"walk-in {service}")
        return ticket_id(answer)


@dataclass
class Answer:
    status: int
    body: dict[str, Any]
    worker: int | None = None  # pid of the gunicorn worker that answered, if asked


class Clerk:
    """A clerk using the counter's HTTP API (Accept: application/json, X-CSRFToken)."""

    def __init__(self, base: str, username: str, timeout: float = TIMEOUT) -> None:
        self.base = base
        self.timeout = timeout
        self.session = requests.Session()
        page = self.session.get(f"{base}/login", timeout=timeout)
        self.csrf = CSRF_RE.search(page.text).group(1)
        answer = self.session.post(
            f"{base}/login",
            data={"csrf_token": self.csrf, "username": username, "password": CLERK_PASSWORD},
            allow_redirects=False,
            timeout=timeout,
        )
        expect_status(answer, 302, "clerk login")
        # As a browser would: the token of the page the login leads to (a login may renew it).
        page = self.session.get(f"{base}/counter/", timeout=timeout)
        self.csrf = CSRF_RE.search(page.text).group(1)

    def seat(self, counter_id: int) -> None:
        answer = self.session.post(
            f"{self.base}/counter/seat",
            data={"csrf_token": self.csrf, "counter_id": str(counter_id)},
            allow_redirects=False,
            timeout=self.timeout,
        )
        expect_status(answer, 302, "seat")

    def act(self, path: str, server: Server | None = None) -> Answer:
        """POST a counter action.

        With ``server``: on a new TCP connection, so any of its workers may take
        it, and the answer tells which one did (looked up while it is open).
        """
        session = self.session
        if server is not None:
            session = requests.Session()
            session.cookies.update(self.session.cookies)
        try:
            response = session.post(
                f"{self.base}/counter/{path}",
                headers={"Accept": "application/json", "X-CSRFToken": self.csrf},
                stream=True,
                timeout=self.timeout,
            )
            worker = None
            if server is not None and (sock := response_socket(response)) is not None:
                worker = connection_owners(server).get(sock.getsockname()[1])
            body = response.json()
        finally:
            if server is not None:
                session.close()
        return Answer(response.status_code, body, worker)

    def call_next(self, server: Server | None = None) -> Answer:
        answer = self.act("call-next", server)
        if answer.status != 200 or "ticket" not in answer.body:
            raise UnexpectedAnswer(f"call-next: {answer}")
        return answer

    def finish(self, ticket_id: int, server: Server | None = None) -> None:
        answer = self.act(f"tickets/{ticket_id}/finish", server)
        if answer.status != 200:
            raise UnexpectedAnswer(f"finish: {answer}")


# ---------------------------------------------------------------------------
# Figures


def percentile(samples: list[float], p: float) -> float:
    """Nearest rank; NaN for no samples."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(len(ordered) * p / 100) - 1)] if ordered else float("nan")
