"""Faults of the services the app depends on: a PostgreSQL restart, Redis going away."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask

from booking.importer import DEMO_FILE, load_file
from okienko.app import create_app
from okienko.database import db
from tests.helpers.apps import base_config, make_app
from tests.helpers.logs import Records
from tests.helpers.ports import free_port
from tests.helpers.services import PrivatePostgres, PrivateRedis
from tests.helpers.waiting import wait_until


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    cluster = PrivatePostgres()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.close()


@pytest.mark.postgres
def test_requests_after_a_postgresql_restart_succeed(
    private_postgres: PrivatePostgres, tmp_path: Path
) -> None:
    from flask_migrate import upgrade

    url = private_postgres.create_database("okienko")
    app = create_app(base_config(tmp_path, url))
    with app.app_context():
        upgrade()
        load_file(db.session, DEMO_FILE)
        db.session.commit()
        # Several connections in the pool, as after a busy minute.
        connections = [db.engine.connect() for _ in range(3)]
        for connection in connections:
            connection.close()
    client = app.test_client()
    assert client.get("/api/v1/offices").status_code == 200
    assert client.get("/o/koszalin-zbm").status_code == 200

    private_postgres.restart()

    statuses = Counter(
        client.get(path).status_code
        for path in ["/api/v1/offices", "/o/koszalin-zbm", "/", "/api/v1/offices/koszalin-zbm"] * 2
    )
    with app.app_context():
        db.engine.dispose()
    assert statuses == {200: 8}, statuses


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    from okienko.extensions import limiter

    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    server.stop()
    # The limiter is one object for every app of this test process: the apps of later
    # tests start with their storage taken for alive again, as a fresh process would.
    limiter._storage_dead = False


def limited_app(tmp_path: Path, request: pytest.FixtureRequest, **config: object) -> Flask:
    return make_app(request, tmp_path, "sqlite", RATELIMIT_ENABLED=True, **config)


API_PATHS = [
    "/api/v1/offices",
    "/api/v1/offices/koszalin-zbm",
    "/api/v1/offices/koszalin-zbm/services",
    "/api/v1/openapi.json",
]


def test_the_api_keeps_answering_with_redis_down_and_limits_fall_back_to_memory(
    private_redis: PrivateRedis, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    app = limited_app(
        tmp_path,
        request,
        REDIS_URL=private_redis.url,
        RATELIMIT_STORAGE_URI=private_redis.url,
        RATELIMIT_KEY_PREFIX="faults",
        API_RATE_LIMIT="8 per hour",
    )
    client = app.test_client()
    assert [client.get(API_PATHS[0]).status_code for _ in range(3)] == [200] * 3

    private_redis.stop()
    with Records() as problems:
        statuses = Counter(client.get(API_PATHS[i % len(API_PATHS)]).status_code for i in range(40))
    # No 500s; the 8 per hour per endpoint still holds, counted in this process's memory.
    assert statuses == {200: 32, 429: 8}, statuses
    # Said once, not once per request.
    assert len(problems) == 1, [r.getMessage() for r in problems]
    assert "memory" in problems[0].getMessage()

    private_redis.start()
    with Records() as problems:
        later = [client.get(API_PATHS[0]).status_code for _ in range(5)]
    assert 500 not in later, later
    assert not problems, [r.getMessage() for r in problems]


ROOT = Path(__file__).resolve().parent.parent
UNSHARED = "RATE LIMITS ARE NOT SHARED"


def gunicorn_output(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    workers: int | None,
    until: Callable[[str], bool] | None = None,
    **env: str,
) -> str:
    """Start gunicorn (``-w workers``; None: no -w, gunicorn's default or ``env``'s) on a
    copy of the demo database, wait until it answers (and until its log satisfies
    ``until``), stop it; its log."""
    import os
    import shutil
    import subprocess
    import sys
    import uuid

    import requests

    run = uuid.uuid4().hex[:8]
    database = tmp_path / f"gunicorn-{run}.db"
    shutil.copy(request.getfixturevalue("sqlite_template"), database)
    port = free_port()
    ours = ("RATELIMIT_", "REDIS_", "MAIL_SERVER", "WEB_CONCURRENCY", "GUNICORN_CMD_ARGS")
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith(ours)},
        "DATABASE_URL": f"sqlite:///{database}",
        "SECRET_KEY": "faults-test-" + uuid.uuid4().hex,
        "MAIL_OUTBOX": str(tmp_path / "outbox"),
        "PUBLIC_URL": f"http://127.0.0.1:{port}",
        "SCHEDULER_IN_PROCESS": "false",
        **env,
    }
    log = tmp_path / f"gunicorn-{run}.log"
    bind = f"127.0.0.1:{port}"
    count = [] if workers is None else ["-w", str(workers)]
    with log.open("w") as output:
        process = subprocess.Popen(
            [*(sys.executable, "-m", "gunicorn", *count), "-b", bind, "wsgi:app"],
            cwd=ROOT,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:

            def answered() -> bool:
                assert process.poll() is None, log.read_text()
                try:
                    requests.get(f"http://127.0.0.1:{port}/api/v1/offices", timeout=5)
                except (requests.ConnectionError, requests.Timeout):
                    return False
                return True

            # A worker that answered has loaded the app, and so said what it says at start.
            wait_until(answered, message=lambda: log.read_text())
            if until is not None:
                wait_until(lambda: until(log.read_text()), message=lambda: log.read_text())
        finally:
            process.terminate()
            process.wait(30)
    return log.read_text()


def test_several_gunicorn_workers_with_limits_in_memory_say_so_loudly(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    # gunicorn's master says so once, from the hook in the repository's gunicorn.conf.py
    # (which gunicorn reads from the folder it starts in), before it starts the workers.
    output = gunicorn_output(request, tmp_path, 2, until=lambda log: UNSHARED in log)
    assert output.count(UNSHARED) == 1, output
    assert "2 gunicorn workers each count" in output
    assert "Traceback" not in output, output
    # The same with the worker count from the environment, as a platform sets it.
    output = gunicorn_output(request, tmp_path, None, WEB_CONCURRENCY="3")
    assert output.count(UNSHARED) == 1 and "3 gunicorn workers each count" in output, output


def test_one_gunicorn_worker_or_shared_limits_start_quietly(
    request: pytest.FixtureRequest, tmp_path: Path, private_redis: PrivateRedis
) -> None:
    one = gunicorn_output(request, tmp_path, 1)
    assert UNSHARED not in one and "Traceback" not in one, one
    shared = gunicorn_output(request, tmp_path, 2, REDIS_URL=private_redis.url)
    assert UNSHARED not in shared and "Traceback" not in shared, shared
