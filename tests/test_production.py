"""The production setup: gunicorn with several workers, PostgreSQL and Redis."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from tests.helpers.live_floor import PRODUCTION_WORKER
from tests.helpers.ports import free_port
from tests.helpers.postgres import drop_pg_database, new_pg_database, pg_url
from tests.helpers.waiting import WaitTimeout, wait_until

ROOT = Path(__file__).resolve().parent.parent
WORKERS = 3
# gunicorn runs at the real clock, which --clock cannot move: a shifted run would only
# repeat this module at today's date.
pytestmark = pytest.mark.real_clock


def redis_url() -> str:
    import redis

    url = "redis://127.0.0.1:6379/0"
    try:
        redis.Redis.from_url(url).ping()
    except redis.ConnectionError:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("CI=true but Redis is not reachable")
        pytest.skip("Redis is not reachable")
    return url


@pytest.fixture
def gunicorn(pg_template: str, tmp_path: Path) -> Iterator[str]:
    name = new_pg_database(pg_template)
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": pg_url(name),
        "SECRET_KEY": "production-test-" + uuid.uuid4().hex,
        "REDIS_URL": redis_url(),
        "RATELIMIT_KEY_PREFIX": uuid.uuid4().hex,
        "API_BOOKING_RATE_LIMIT": "5 per minute",
        "MAIL_OUTBOX": str(tmp_path / "outbox"),
        "PUBLIC_URL": f"http://127.0.0.1:{port}",
    }
    env.pop("MAIL_SERVER", None)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            *PRODUCTION_WORKER,
            "-w",
            str(WORKERS),
            "-b",
            f"127.0.0.1:{port}",
            "wsgi:app",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        if process.poll() is not None:
            pytest.fail(f"gunicorn exited:\n{process.communicate()[0]}")
        try:
            requests.get(f"{base}/api/v1/offices", timeout=10).raise_for_status()
            return True
        except (requests.ConnectionError, requests.Timeout):
            return False

    try:
        try:
            wait_until(up, timeout=120, interval=0.1)
        except WaitTimeout:
            process.kill()
            pytest.fail(f"gunicorn did not start:\n{process.communicate()[0]}")
        yield base
    finally:
        process.terminate()
        output = process.communicate(timeout=30)[0]
        drop_pg_database(name)
    assert "Traceback" not in output, output


@pytest.mark.postgres
def test_booking_through_gunicorn_workers(gunicorn: str) -> None:
    with requests.Session() as session:
        days = session.get(
            f"{gunicorn}/api/v1/offices/koszalin-zbm/services/raty/availability", timeout=60
        ).json()["days"]
        start = next(d["starts"][0] for d in days if d["starts"])
        body = {"office": "koszalin-zbm", "service": "raty", "start": start, "consent": True}
        created = session.post(
            f"{gunicorn}/api/v1/bookings",
            json={**body, "name": "Ewa Nowak", "email": "ewa@example.com"},
            timeout=30,
        )
        assert created.status_code == 201, created.text
        booking = created.json()
        # Read it back many times: the requests land on different workers, which must
        # share the secret, the database and the session signing.
        for _ in range(10):
            read = session.get(
                f"{gunicorn}/api/v1/bookings/{booking['code']}",
                headers={"X-Booking-Token": booking["token"]},
                timeout=60,
            )
            assert read.status_code == 200 and read.json()["starts_at"] == start
        page = session.get(booking["manage_url"], timeout=60)
        assert page.status_code == 200 and booking["code"] in page.text


@pytest.mark.postgres
def test_rate_limit_is_shared_by_all_workers_through_redis(gunicorn: str) -> None:
    def attempt(i: int) -> int:
        return requests.post(
            f"{gunicorn}/api/v1/bookings", json={"office": "koszalin-zbm"}, timeout=30
        ).status_code

    with ThreadPoolExecutor(8) as pool:
        statuses = Counter(pool.map(attempt, range(12)))
    # 5 per minute for this client address in total, not 5 per worker.
    assert statuses == {400: 5, 429: 7}, statuses
