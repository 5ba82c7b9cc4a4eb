"""Fixtures: an app per test on a migrated database (SQLite, or PostgreSQL when reachable),
a live HTTP server, a real SMTP server, Chromium, the office floor's clock and appointment,
and (from ``tests/helpers/factories.py``) factories for offices, services, bookings and
tickets. The helpers that tests import live in ``tests/helpers/``."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient

from tests.helpers.apps import base_config, make_app, migrate_and_load
from tests.helpers.chromium import launch_chromium
from tests.helpers.ci import IN_CI
from tests.helpers.floor import NOW, book
from tests.helpers.live_server import LiveServer
from tests.helpers.mailbox import Mailbox
from tests.helpers.postgres import PG_ADMIN, drop_pg_database, pg_reachable, pg_url

pytest_plugins = ["tests.helpers.factories"]


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


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite database with the demo offices, copied for each test."""
    folder = tmp_path_factory.mktemp("sqlite-template")
    path = folder / "template.db"
    migrate_and_load(base_config(folder, f"sqlite:///{path}"))
    return path


@pytest.fixture(scope="session")
def pg_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Name of a migrated PostgreSQL template database; skipped without a server, but not in CI."""
    if not pg_reachable():
        if IN_CI:
            pytest.fail(f"CI=true but PostgreSQL is not reachable at {PG_ADMIN}")
        pytest.skip("PostgreSQL is not reachable")
    name = f"okienko_tmpl_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    folder = tmp_path_factory.mktemp("pg-template")
    migrate_and_load(base_config(folder, pg_url(name)))
    yield name
    drop_pg_database(name)


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


@pytest.fixture
def live_server(app: Flask) -> Iterator[LiveServer]:
    """The app served over real HTTP by a threaded server on a free port."""
    with LiveServer(app) as server:
        yield server


@pytest.fixture
def smtp() -> Iterator[Mailbox]:
    box = Mailbox()
    box.controller.start()
    yield box
    box.controller.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One Chromium for a test module; skipped when it is missing, but not in CI."""
    with launch_chromium() as launched:
        yield launched


# --- The office floor (tests/helpers/floor.py) ----------------------------------------


@pytest.fixture
def clock() -> Iterator[Any]:
    """10:00 in Koszalin on an ordinary Wednesday; time moves only when a test shifts it."""
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def appointment(app: Flask) -> dict[str, Any]:
    """Raty at 10:00 on Wednesday in Koszalin, booked the day before."""
    return book(app, NOW)
