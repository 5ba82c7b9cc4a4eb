"""``flask doctor``: each check with a configuration that is right and one that is not."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import time_machine
from flask import Flask
from sqlalchemy import text

from okienko import doctor
from okienko.app import create_app
from okienko.database import db
from okienko.doctor import OK, PROBLEM, WARNING, Finding, run_checks
from tests.helpers.apps import base_config, make_app
from tests.helpers.mailbox import Mailbox
from tests.helpers.ports import free_port
from tests.helpers.services import PrivateRedis

GOOD_KEY = "doctor-" + "k" * 40


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The deployment's environment as the doctor reads it: a SECRET_KEY, no worker count."""
    monkeypatch.setenv("SECRET_KEY", GOOD_KEY)
    for name in ("WEB_CONCURRENCY", "GUNICORN_CMD_ARGS"):
        monkeypatch.delenv(name, raising=False)


def doctor_app(request: pytest.FixtureRequest, tmp_path: Path, **config: Any) -> Flask:
    settings = {"SECRET_KEY": GOOD_KEY, "PUBLIC_URL": "https://termin.example.org", **config}
    return make_app(request, tmp_path, "sqlite", **settings)


def app_with_the_key_of_the_environment(request: pytest.FixtureRequest, tmp_path: Path) -> Flask:
    """As ``flask --app wsgi doctor`` makes it: the SECRET_KEY read by the app's config from
    the environment, or generated into the instance folder (no key in ``create_app``'s)."""
    database = tmp_path / "keyless.db"
    shutil.copy(request.getfixturevalue("sqlite_template"), database)
    config = base_config(tmp_path, f"sqlite:///{database}")
    del config["SECRET_KEY"]
    app = create_app(config)

    def dispose() -> None:
        with app.app_context():
            db.engine.dispose()

    request.addfinalizer(dispose)
    return app


def findings(app: Flask, check: str, workers: int | None = None) -> list[Finding]:
    with app.app_context():
        found = [f for f in run_checks(app, workers) if f.check == check]
    assert found, check
    return found


def statuses(app: Flask, check: str, workers: int | None = None) -> set[str]:
    return {f.status for f in findings(app, check, workers)}


@contextmanager
def stopped_clock() -> Iterator[None]:
    """The clock stands still: a heartbeat written "N s from now" is read N s from now,
    however long the machine takes in between."""
    with time_machine.travel(datetime.now(UTC), tick=False):
        yield


def beat(app: Flask, seconds_from_now: float, job: str = "mail") -> None:
    """A scheduler's job row as APScheduler keeps it: its next run time."""
    with app.app_context():
        db.session.execute(
            text("INSERT INTO apscheduler_jobs (id, next_run_time, job_state) VALUES (:i, :t, :s)"),
            {"i": job, "t": time.time() + seconds_from_now, "s": b"x"},
        )
        db.session.commit()


# ------------------------------------------------------------------------- database


def test_database_reachable_and_migrated(request: pytest.FixtureRequest, tmp_path: Path):
    app = doctor_app(request, tmp_path)
    assert statuses(app, "database") == {OK}
    assert statuses(app, "migrations") == {OK}


def test_database_unreachable(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    url = f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/none?connect_timeout=2"
    app = create_app(base_config(tmp_path, url))
    [finding] = findings(app, "database")
    assert finding.status == PROBLEM and "cannot connect" in finding.message
    assert "DATABASE_URL" in finding.fix


def test_database_that_never_answers_is_given_up_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server that takes the connection and says nothing (as behind a firewall that
    drops the packets, with no timeout in DATABASE_URL): the doctor gives up on it."""
    monkeypatch.setattr(doctor, "CONNECT_TIMEOUT_SECONDS", 2)
    silent = socket.create_server(("127.0.0.1", 0))  # the kernel accepts; nobody answers
    port = silent.getsockname()[1]
    app = create_app(base_config(tmp_path, f"postgresql+psycopg://nobody@127.0.0.1:{port}/x"))
    found: list[Finding] = []

    def check() -> None:
        with app.app_context():
            found.extend(f for f in run_checks(app, 1) if f.check in ("database", "scheduler"))

    try:
        checking = threading.Thread(target=check, daemon=True)
        checking.start()
        checking.join(120)  # only a bound: without a connect timeout it would never end
        assert not checking.is_alive(), "the doctor still waits for the database"
    finally:
        silent.close()
    assert [f.status for f in found] == [PROBLEM, PROBLEM], found
    assert "cannot connect" in found[0].message


def test_database_not_migrated(tmp_path: Path) -> None:
    app = create_app(base_config(tmp_path, f"sqlite:///{tmp_path / 'empty.db'}"))
    [finding] = findings(app, "migrations")
    assert finding.status == PROBLEM and "db upgrade" in finding.fix
    assert "revision none" in finding.message


def test_database_a_migration_behind(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    app = doctor_app(request, tmp_path)
    with app.app_context():
        head = db.session.scalar(text("SELECT version_num FROM alembic_version"))
        db.session.execute(text("UPDATE alembic_version SET version_num = '1a4342218e4f'"))
        db.session.commit()
    [finding] = findings(app, "migrations")
    assert finding.status == PROBLEM and head in finding.message


# ----------------------------------------------------------------------- secret key


def test_secret_key_from_the_environment(request: pytest.FixtureRequest, tmp_path: Path):
    [finding] = findings(app_with_the_key_of_the_environment(request, tmp_path), "secret key")
    assert finding.status == OK and "from the environment" in finding.message


def test_secret_key_generated_into_the_instance_folder(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SECRET_KEY")
    app = app_with_the_key_of_the_environment(request, tmp_path)
    [finding] = findings(app, "secret key")
    assert finding.status == PROBLEM
    assert f"generated into {tmp_path / 'secret_key'}" in finding.message
    assert "SECRET_KEY" in finding.fix


def test_secret_key_given_to_create_app(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A key in ``create_app``'s config is the app's key, whatever the environment lacks."""
    monkeypatch.delenv("SECRET_KEY")
    [finding] = findings(doctor_app(request, tmp_path), "secret key")
    assert finding.status == OK and "given in the configuration" in finding.message
    [finding] = findings(doctor_app(request, tmp_path, SECRET_KEY="short"), "secret key")
    assert finding.status == PROBLEM and "5 characters" in finding.message


def test_secret_key_too_short(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SECRET_KEY", "secret")
    [finding] = findings(app_with_the_key_of_the_environment(request, tmp_path), "secret key")
    assert finding.status == PROBLEM
    assert "from the environment, but only 6 characters" in finding.message


# ---------------------------------------------------------------------------- redis


def test_redis_reachable_and_not(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    server = PrivateRedis(tmp_path)
    server.start()
    try:
        app = doctor_app(request, tmp_path, REDIS_URL=server.url, RATELIMIT_STORAGE_URI=server.url)
        up = findings(app, "redis")
        assert [f.status for f in up] == [OK, OK], up
        server.stop()
        down = findings(app, "redis")
        assert [f.status for f in down] == [PROBLEM, PROBLEM], down
        assert all("does not answer" in f.message for f in down)
    finally:
        server.stop()


def test_redis_not_configured(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    app = doctor_app(request, tmp_path, REDIS_URL=None, RATELIMIT_STORAGE_URI="memory://")
    assert statuses(app, "redis") == {OK}


def test_redis_password_is_not_printed(request: pytest.FixtureRequest, tmp_path: Path):
    url = f"redis://:hunter2@127.0.0.1:{free_port()}/0"
    app = doctor_app(request, tmp_path, REDIS_URL=url)
    [finding] = findings(app, "redis")
    assert finding.status == PROBLEM and "hunter2" not in finding.message


# ---------------------------------------------------------------------- rate limits


def test_limits_in_memory_with_several_workers(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = doctor_app(request, tmp_path, RATELIMIT_STORAGE_URI="memory://", RATELIMIT_ENABLED=True)
    assert statuses(app, "rate limits", workers=4) == {PROBLEM}
    assert statuses(app, "rate limits", workers=1) == {OK}
    assert statuses(app, "rate limits") == {WARNING}  # the worker count is not known
    monkeypatch.setenv("WEB_CONCURRENCY", "3")
    [finding] = findings(app, "rate limits")
    assert finding.status == PROBLEM and "3 gunicorn workers" in finding.message
    monkeypatch.delenv("WEB_CONCURRENCY")
    monkeypatch.setenv("GUNICORN_CMD_ARGS", "--bind 0.0.0.0:8000 --workers=2")
    assert statuses(app, "rate limits") == {PROBLEM}


def test_limits_shared_through_redis(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    app = doctor_app(
        request, tmp_path, RATELIMIT_STORAGE_URI="redis://127.0.0.1:6379/0", RATELIMIT_ENABLED=True
    )
    assert statuses(app, "rate limits", workers=4) == {OK}


# ----------------------------------------------------------------------------- mail


def test_mail_through_a_reachable_smtp_server(
    request: pytest.FixtureRequest, tmp_path: Path, smtp: Mailbox
) -> None:
    app = doctor_app(request, tmp_path, MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp.port)
    assert statuses(app, "mail") == {OK}


def test_mail_server_unreachable(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    app = doctor_app(request, tmp_path, MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port())
    [finding] = findings(app, "mail")
    assert finding.status == PROBLEM and "MAIL_SERVER" in finding.fix


def test_mail_to_the_outbox_folder(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    app = doctor_app(request, tmp_path, MAIL_SERVER=None, MAIL_OUTBOX=str(tmp_path / "out"))
    [finding] = findings(app, "mail")
    assert finding.status == WARNING and str(tmp_path / "out") in finding.message
    not_a_folder = tmp_path / "a-file"
    not_a_folder.write_text("")
    app.config["MAIL_OUTBOX"] = str(not_a_folder / "outbox")
    [finding] = findings(app, "mail")
    assert finding.status == PROBLEM and "not writable" in finding.message


# ------------------------------------------------------------------------ scheduler


def test_scheduler_never_started(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    [finding] = findings(doctor_app(request, tmp_path), "scheduler")
    assert finding.status == PROBLEM and "never run" in finding.message
    assert "flask --app wsgi scheduler" in finding.fix


def test_scheduler_with_a_recent_heartbeat(request: pytest.FixtureRequest, tmp_path: Path):
    app = doctor_app(request, tmp_path)
    with stopped_clock():
        beat(app, 20, "mail")  # every 30 s: last ran 10 s ago
        beat(app, 3000, "retention")  # every hour: last ran 600 s ago
        [finding] = findings(app, "scheduler")
    assert finding.status == OK and "last heartbeat 10 s ago" in finding.message


def test_scheduler_stopped_long_ago(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    app = doctor_app(request, tmp_path)
    with stopped_clock():
        beat(app, -600, "mail")
        beat(app, 3000, "retention")
        [finding] = findings(app, "scheduler")
    assert finding.status == PROBLEM and "not running" in finding.message
    assert "last heartbeat 600 s ago, a job is 600 s overdue" in finding.message


def test_scheduler_started_by_the_app_beats(request: pytest.FixtureRequest, tmp_path: Path):
    """The real scheduler leaves the rows the check reads."""
    from okienko import scheduler

    app = doctor_app(request, tmp_path)
    scheduler.start(app)
    try:
        assert statuses(app, "scheduler") == {OK}
    finally:
        scheduler.stop(app)


def test_scheduler_in_every_worker(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    app = doctor_app(request, tmp_path)
    app.config["SCHEDULER_IN_PROCESS"] = True
    with stopped_clock():
        beat(app, 20)
        assert statuses(app, "scheduler", workers=4) == {OK, WARNING}


# ----------------------------------------------------------------------- public URL


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("https://termin.example.org", OK),
        ("https://termin.example.org/okienko/", OK),
        ("http://termin.example.org", WARNING),
        ("http://127.0.0.1:5000", WARNING),
        ("termin.example.org", PROBLEM),
        ("/okienko", PROBLEM),
        ("", PROBLEM),
        ("ftp://termin.example.org", PROBLEM),
    ],
)
def test_public_url(request: pytest.FixtureRequest, tmp_path: Path, url: str, status: str):
    app = doctor_app(request, tmp_path)
    app.config["PUBLIC_URL"] = url
    assert statuses(app, "public URL") == {status}


# --------------------------------------------------------------------- service keys


def test_a_service_keyed_like_another_page(request: pytest.FixtureRequest, tmp_path: Path):
    """A service keyed "queue" from before the public queue page took /o/SLUG/queue."""
    app = doctor_app(request, tmp_path)
    assert statuses(app, "service keys") == {OK}
    with app.app_context():
        db.session.execute(
            text(
                "UPDATE service SET key = 'queue' WHERE key = 'raty' AND office_id = "
                "(SELECT id FROM office WHERE slug = 'koszalin-zbm')"
            )
        )
        db.session.commit()
    [finding] = findings(app, "service keys")
    assert finding.status == PROBLEM
    assert "office koszalin-zbm: service 'queue' cannot be booked" in finding.message
    assert "UPDATE service SET key = 'queue-2'" in finding.fix


# ---------------------------------------------------------------------- the command


def test_doctor_exits_zero_when_nothing_must_be_fixed(
    request: pytest.FixtureRequest, tmp_path: Path, smtp: Mailbox
) -> None:
    app = doctor_app(request, tmp_path, MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp.port)
    with stopped_clock():
        beat(app, 20)
        result = app.test_cli_runner().invoke(args=["doctor", "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert "PROBLEM" not in result.output and "Nothing to fix." in result.output


def test_doctor_says_what_to_fix_and_exits_non_zero(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SECRET_KEY")
    app = app_with_the_key_of_the_environment(request, tmp_path)
    app.config.update(
        RATELIMIT_STORAGE_URI="memory://",
        RATELIMIT_ENABLED=True,
        PUBLIC_URL="https://termin.example.org",
    )
    result = app.test_cli_runner().invoke(args=["doctor", "--workers", "4"])
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    problems = [line for line in lines if line.startswith("PROBLEM")]
    assert any("secret key" in line for line in problems), result.output
    assert any("rate limits" in line for line in problems), result.output
    assert any("scheduler" in line for line in problems), result.output
    assert any(line.strip().startswith("fix: set SECRET_KEY") for line in lines), result.output
    assert "3 to fix." in result.output
