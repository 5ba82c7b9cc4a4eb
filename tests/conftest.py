"""Fixtures: an app per test on a migrated database (SQLite, or PostgreSQL when reachable),
a live HTTP server, a real SMTP server, and helpers for forms with CSRF tokens."""

from __future__ import annotations

import os
import re
import shutil
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.serving import make_server

from booking.admission import DEFAULT_QUESTIONS
from booking.app import create_app
from booking.database import db
from booking.importer import DEMO_FILE, load_file

PG_ADMIN = os.environ.get("TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
IN_CI = os.environ.get("CI", "").lower() == "true"


# --- The clock: --clock=INSTANT -------------------------------------------------------
# Moves the clock of this test process (time_machine, ticking from that instant) for the
# whole session, so a run on another day shows which tests hold on the calendar only by
# luck. Tests whose other processes must share the test's clock but read the real one
# (gunicorn serving an office set up for "now") carry the ``real_clock`` marker and are
# deselected in such a run. The browser tests stay: the pages compute no date in the
# browser, whose clock only times its own waits.

CLOCK = pytest.StashKey[datetime]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--clock",
        metavar="INSTANT",
        help="run with this process's clock moved to INSTANT (ISO 8601, e.g. "
        "2028-03-26T00:30:00Z; naive means UTC), ticking on; deselects real_clock tests",
    )


def pytest_configure(config: pytest.Config) -> None:
    value = config.getoption("clock", None)
    if not value:
        return
    try:
        instant = datetime.fromisoformat(value)
    except ValueError:
        raise pytest.UsageError(f"--clock: not an ISO 8601 instant: {value!r}") from None
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=UTC)
    config.stash[CLOCK] = instant
    travel = time_machine.travel(instant, tick=True)
    travel.start()  # before collection: module-level code sees the moved clock too
    config.add_cleanup(travel.stop)


def pytest_report_header(config: pytest.Config) -> str | None:
    if CLOCK in config.stash:
        return f"clock: moved to {config.stash[CLOCK].isoformat()} (ticking); real_clock deselected"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if CLOCK not in config.stash:
        return
    real = [item for item in items if item.get_closest_marker("real_clock")]
    if real:
        config.hook.pytest_deselected(items=real)
        items[:] = [item for item in items if not item.get_closest_marker("real_clock")]


def _base_config(instance: Path, database_url: str) -> dict[str, Any]:
    return {
        "TESTING": True,
        "INSTANCE_PATH": str(instance),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SECRET_KEY": "test-secret-" + "x" * 40,
        "RATELIMIT_ENABLED": False,
        "MAIL_SERVER": None,
        "MAIL_OUTBOX": str(instance / "outbox"),
        "PUBLIC_URL": "http://testserver",
    }


def _migrate_and_load(config: dict[str, Any]) -> None:
    from flask_migrate import upgrade

    app = create_app(config)
    with app.app_context():
        upgrade()
        load_file(db.session, DEMO_FILE)
        db.session.commit()
        db.engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite database with the demo offices, copied for each test."""
    folder = tmp_path_factory.mktemp("sqlite-template")
    path = folder / "template.db"
    _migrate_and_load(_base_config(folder, f"sqlite:///{path}"))
    return path


def _pg_reachable() -> bool:
    try:
        with psycopg.connect(PG_ADMIN, connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


@pytest.fixture(scope="session")
def pg_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Name of a migrated PostgreSQL template database; skipped without a server, but not in CI."""
    if not _pg_reachable():
        if IN_CI:
            pytest.fail(f"CI=true but PostgreSQL is not reachable at {PG_ADMIN}")
        pytest.skip("PostgreSQL is not reachable")
    name = f"okienko_tmpl_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    folder = tmp_path_factory.mktemp("pg-template")
    _migrate_and_load(_base_config(folder, pg_url(name)))
    yield name
    drop_pg_database(name)


def pg_url(name: str) -> str:
    base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    return f"{base}/{name}"


def drop_pg_database(name: str) -> None:
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def new_pg_database(template: str) -> str:
    name = f"okienko_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    return name


def make_app(request: pytest.FixtureRequest, tmp_path: Path, backend: str, **config: Any) -> Flask:
    """An app on a fresh copy of the migrated demo database for ``backend``."""
    if backend == "sqlite":
        path = tmp_path / "test.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        url = f"sqlite:///{path}"
    else:
        name = new_pg_database(request.getfixturevalue("pg_template"))
        request.addfinalizer(lambda: drop_pg_database(name))
        url = pg_url(name)
    app = create_app({**_base_config(tmp_path, url), **config})

    def _dispose() -> None:
        with app.app_context():
            db.engine.dispose()

    request.addfinalizer(_dispose)
    return app


@pytest.fixture
def app(request: pytest.FixtureRequest, tmp_path: Path) -> Flask:
    """The app on SQLite with the demo offices."""
    return make_app(request, tmp_path, "sqlite")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_app(request: pytest.FixtureRequest, tmp_path: Path) -> Flask:
    """The app on SQLite and, as a second run, on PostgreSQL."""
    return make_app(request, tmp_path, request.param)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def csrf_token(client: FlaskClient, url: str) -> str:
    """The CSRF token of the form on the page at ``url``, as a browser would read it."""
    response = client.get(url)
    # 409: a booking form that already warns the time is taken still has its token.
    assert response.status_code in (200, 409), (url, response.status_code)
    match = CSRF_RE.search(response.get_data(as_text=True))
    assert match, f"no form with a CSRF token on {url}"
    return match.group(1)


class LiveServer:
    def __init__(self, app: Flask) -> None:
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.thread.join(5)


@pytest.fixture
def live_server(app: Flask) -> Iterator[LiveServer]:
    """The app served over real HTTP by a threaded server on a free port."""
    with LiveServer(app) as server:
        yield server


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Mailbox:
    """A real SMTP server (aiosmtpd) that keeps what it receives."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.messages: list[Any] = []
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        import email
        from email import policy

        self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[Mailbox]:
    box = Mailbox()
    box.controller.start()
    yield box
    box.controller.stop()


# Answers to the default admission questions that admit: every one "no".
ADMITTED = {key: False for key, _texts in DEFAULT_QUESTIONS}


def book_form(
    client: FlaskClient,
    office: str,
    service: str,
    start: str,
    *,
    name: str = "Jan Kowalski",
    email: str = "jan@example.com",
    phone: str = "",
    language: str = "pl",
    answers: dict[str, str] | None = None,
) -> Any:
    """Book through the resident's form, as a browser would (CSRF token read from the page).

    The admission questions are answered "no" (admitted) unless ``answers`` says otherwise;
    offices without the sanitary regime ignore them.
    """
    page = f"/o/{office}/{service}/book"
    data = {
        "csrf_token": csrf_token(client, f"{page}?start={start}"),
        "start": start,
        "name": name,
        "email": email,
        "phone": phone,
        "language": language,
    }
    given = {key: "no" for key, _texts in DEFAULT_QUESTIONS} if answers is None else answers
    data.update({f"q_{key}": value for key, value in given.items()})
    return client.post(page, data=data)


def manage_token(response: Any) -> str:
    """The secret manage token from the redirect after a successful booking."""
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return response.headers["Location"].split("/manage/")[1].split("?")[0]


def local_start(day: str, at: str, zone: str) -> str:
    """The UTC ISO start the booking links carry for a local wall-clock time."""
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    local = datetime.fromisoformat(f"{day}T{at}").replace(tzinfo=ZoneInfo(zone))
    return local.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- Chromium ------------------------------------------------------------------------

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_or_skip() -> None:
    """Skip the test when Debian's Chromium is missing; fail instead in CI."""
    if not os.access(CHROMIUM, os.X_OK):
        if IN_CI:
            pytest.fail(f"CI=true but Chromium is not installed at {CHROMIUM}")
        pytest.skip(f"Chromium is not installed at {CHROMIUM}")


@contextmanager
def launch_chromium(*extra_args: str) -> Iterator[Any]:
    """Debian's Chromium via Playwright, headless, with CHROMIUM_ARGS and ``extra_args``."""
    from playwright.sync_api import sync_playwright

    chromium_or_skip()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=[*CHROMIUM_ARGS, *extra_args]
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One Chromium for a test module; skipped when it is missing, but not in CI."""
    with launch_chromium() as launched:
        yield launched
