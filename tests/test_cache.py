"""Cached free times and office data are never stale: every write that changes what residents
can book raises the office's version, and the next read, in every worker, answers afresh.

Each write test reads a day's free times through the API and the day page (filling the
caches, and getting a 304 for the ETag it holds), makes the write the way it happens for
real (API, form, command line, scheduled job), and reads again: a 200 for the old ETag,
a new ETag, and the free times a fresh computation gives, with the write's effect.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, select

from booking.availability import availability
from booking.models import Office, Service
from booking.times import iso
from okienko import scheduler
from okienko.app import create_app
from okienko.database import db, utcnow
from tests.helpers.admission import ADMITTED
from tests.helpers.apps import base_config, make_app
from tests.helpers.factories import MakeBooking, MakeOffice, MakeService
from tests.helpers.forms import csrf_token, local_start

WARSAW = "Europe/Warsaw"
NOW = datetime(2026, 3, 16, 8, tzinfo=UTC)  # Monday 09:00 in Warsaw
DAY = date(2026, 3, 18)  # the Wednesday after
TIME_RE = re.compile(r'class="time" href="[^"]*start=([^"&]+)"')


@pytest.fixture
def frozen() -> Iterator[time_machine.Traveller]:
    """The clock at ``NOW``, moved only by the test."""
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def pg_app(request: pytest.FixtureRequest, tmp_path: Path) -> Flask:
    return make_app(request, tmp_path, "postgres")


@pytest.fixture
def factory_app(request: pytest.FixtureRequest) -> Flask:
    """The factories work on the test's app: ``pg_app`` here too."""
    name = next(n for n in ("pg_app", "any_app", "app") if n in request.fixturenames)
    return request.getfixturevalue(name)


def at(day: date, clock: str) -> str:
    """The UTC start the API and the links give for a Warsaw wall-clock time."""
    return local_start(day.isoformat(), clock, WARSAW)


def availability_url(slug: str, key: str) -> str:
    return f"/api/v1/offices/{slug}/services/{key}/availability"


def fresh(app: Flask, slug: str, key: str, day: date) -> list[str]:
    """The day's free starts computed now from the database, past every cache."""
    with app.app_context():
        office = db.session.scalar(select(Office).where(Office.slug == slug))
        service = db.session.scalar(
            select(Service).where(Service.office_id == office.id, Service.key == key)
        )
        return [iso(s) for s in availability(db.session, office, service, day, day, utcnow())[day]]


class Reader:
    """A resident reading one day's free times, by the API and by the day page."""

    def __init__(self, app: Flask, slug: str, key: str, day: date = DAY) -> None:
        self.app, self.slug, self.key, self.day = app, slug, key, day
        self.client = app.test_client()
        self.tag = ""

    def api(self, tag: str | None = None) -> Any:
        headers = {"If-None-Match": tag} if tag else {}
        span = {"from": self.day.isoformat(), "to": self.day.isoformat()}
        return self.client.get(
            availability_url(self.slug, self.key), query_string=span, headers=headers
        )

    def page(self) -> list[str]:
        response = self.client.get(f"/o/{self.slug}/{self.key}/{self.day.isoformat()}")
        assert response.status_code == 200
        return [unquote(s) for s in TIME_RE.findall(response.get_data(as_text=True))]

    def read(self) -> list[str]:
        """Read as a client holding the last ETag: a 200 only if it changed."""
        response = self.api(self.tag)
        assert response.status_code == 200, response.status_code
        assert response.headers["Cache-Control"] == "no-cache"
        assert response.headers["ETag"] != self.tag
        self.tag = response.headers["ETag"]
        [day] = response.get_json()["days"]
        assert day["starts"] == self.page() == fresh(self.app, self.slug, self.key, self.day)
        return day["starts"]

    def warm(self) -> list[str]:
        """Read twice, the second time from the caches: a 304 that carries no body."""
        starts = self.read()
        again = self.api(self.tag)
        assert again.status_code == 304 and again.data == b""
        assert again.headers["ETag"] == self.tag
        assert self.page() == starts
        return starts


def book_api(client: FlaskClient, slug: str, key: str, start: str, **fields: Any) -> Any:
    body = {"office": slug, "service": key, "start": start, "name": "Ewa Nowak", **fields}
    response = client.post("/api/v1/bookings", json={"email": "ewa@example.com", **body})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


# ---------------------------------------------------------------- writes that invalidate


def test_a_booking_takes_its_time_out_of_the_cache(
    any_app: Flask, make_office: MakeOffice, make_service: MakeService, frozen: Any
) -> None:
    service = make_service(make_office())
    reader = Reader(any_app, service.office.slug, service.key)
    assert at(DAY, "10:00") in reader.warm()
    book_api(any_app.test_client(), service.office.slug, service.key, at(DAY, "10:00"))
    assert at(DAY, "10:00") not in reader.read()


def test_a_cancellation_puts_its_time_back(
    any_app: Flask,
    make_office: MakeOffice,
    make_service: MakeService,
    make_booking: MakeBooking,
    frozen: Any,
) -> None:
    service = make_service(make_office())
    booking = make_booking(service, at(DAY, "10:00"))
    reader = Reader(any_app, service.office.slug, service.key)
    assert at(DAY, "10:00") not in reader.warm()
    response = any_app.test_client().post(
        f"/api/v1/bookings/{booking.code}/cancel", headers={"X-Booking-Token": booking.token}
    )
    assert response.status_code == 200
    assert at(DAY, "10:00") in reader.read()


def test_a_move_frees_the_old_time_and_takes_the_new(
    any_app: Flask,
    make_office: MakeOffice,
    make_service: MakeService,
    make_booking: MakeBooking,
    frozen: Any,
) -> None:
    service = make_service(make_office())
    booking = make_booking(service, at(DAY, "10:00"))
    reader = Reader(any_app, service.office.slug, service.key)
    before = reader.warm()
    assert at(DAY, "10:00") not in before and at(DAY, "14:00") in before
    client = any_app.test_client()
    token = csrf_token(client, f"/manage/{booking.token}/reschedule/{DAY.isoformat()}")
    response = client.post(
        f"/manage/{booking.token}/reschedule",
        data={"csrf_token": token, "start": at(DAY, "14:00")},
    )
    assert response.status_code == 302
    after = reader.read()
    assert at(DAY, "10:00") in after and at(DAY, "14:00") not in after


def test_a_refusal_at_the_online_admission_check_frees_the_time(
    any_app: Flask, make_office: MakeOffice, make_service: MakeService, frozen: Any
) -> None:
    service = make_service(make_office(admission={"enabled": True}))
    slug, key = service.office.slug, service.key
    booked = book_api(
        any_app.test_client(), slug, key, at(DAY, "12:00"), declaration=dict(ADMITTED)
    )
    # The online check opens 24 hours before the visit.
    frozen.move_to(datetime.fromisoformat(at(DAY, "08:00")))
    reader = Reader(any_app, slug, key)
    assert at(DAY, "12:00") not in reader.warm()
    client = any_app.test_client()
    page = f"/manage/{booked['token']}/admission"
    answers = {f"q_{name}": "no" for name in ADMITTED}
    answers[f"q_{next(iter(ADMITTED))}"] = "yes"
    response = client.post(page, data={"csrf_token": csrf_token(client, page), **answers})
    assert response.status_code == 302
    assert at(DAY, "12:00") in reader.read()


def test_a_no_show_frees_the_rest_of_its_time(
    any_app: Flask, make_office: MakeOffice, make_service: MakeService, frozen: Any
) -> None:
    """An hour's visit not checked in by 10:15: the job frees 10:30 on for a short visit."""
    office = make_office(min_notice_minutes=0)
    long, short = make_service(office, "long", duration=60), make_service(office, "short")
    book_api(any_app.test_client(), office.slug, long.key, at(DAY, "10:00"))
    frozen.move_to(datetime.fromisoformat(at(DAY, "10:16")))
    reader = Reader(any_app, office.slug, short.key)
    assert at(DAY, "10:30") not in reader.warm()
    scheduler._app = any_app
    assert scheduler.run_job("no_shows") == 1
    assert reader.read()[0] == at(DAY, "10:30")


OFFICE_FILE = """
[[office]]
slug = "cache-office"
name = "Urząd na próbę"
address = "ul. Testowa 1, 00-001 Warszawa"
timezone = "Europe/Warsaw"
country = "PL"
{closures}
[[office.hours]]
days = ["mon", "tue", "wed", "thu", "fri"]
open = "{opens}"
close = "16:00"

[[office.services]]
key = "raty"
prefix = "R"
duration = 30
name = "Raty"
{counters}
"""


def import_office(
    app: Flask, folder: Path, *, opens: str = "08:00", closed: date | None = None, counters: int = 1
) -> None:
    """``flask offices import`` with the office "cache-office" as described."""
    closures = (
        f'[[office.closures]]\nfrom = "{closed.isoformat()}"\nreason = "Inwentaryzacja"\n'
        if closed
        else ""
    )
    desks = "".join(
        f'\n[[office.counters]]\nname = "Stanowisko {n}"\nservices = "*"\n'
        for n in range(1, counters + 1)
    )
    path = folder / "office.toml"
    path.write_text(
        OFFICE_FILE.format(closures=closures, opens=opens, counters=desks), encoding="utf-8"
    )
    result = app.test_cli_runner().invoke(args=["offices", "import", str(path)])
    assert result.exit_code == 0, result.output


def test_new_opening_hours_change_the_free_times(
    any_app: Flask, tmp_path: Path, frozen: Any
) -> None:
    import_office(any_app, tmp_path, opens="08:00")
    reader = Reader(any_app, "cache-office", "raty")
    assert reader.warm()[0] == at(DAY, "08:00")
    import_office(any_app, tmp_path, opens="10:00")
    assert reader.read()[0] == at(DAY, "10:00")


def test_a_new_closure_empties_the_day_and_its_calendar_link(
    any_app: Flask, tmp_path: Path, frozen: Any
) -> None:
    import_office(any_app, tmp_path)
    reader = Reader(any_app, "cache-office", "raty")
    calendar, link = "/o/cache-office/raty?month=2026-03", f"/o/cache-office/raty/{DAY}"
    assert reader.warm() and link in reader.client.get(calendar).get_data(as_text=True)
    import_office(any_app, tmp_path, closed=DAY)
    assert reader.read() == []
    assert link not in reader.client.get(calendar).get_data(as_text=True)


def test_a_new_counter_frees_a_booked_time(any_app: Flask, tmp_path: Path, frozen: Any) -> None:
    import_office(any_app, tmp_path, counters=1)
    book_api(any_app.test_client(), "cache-office", "raty", at(DAY, "10:00"))
    reader = Reader(any_app, "cache-office", "raty")
    assert at(DAY, "10:00") not in reader.warm()
    import_office(any_app, tmp_path, counters=2)
    assert at(DAY, "10:00") in reader.read()


# ---------------------------------------------------------------- what does not change


def test_unchanged_office_data_gets_a_304_per_language(
    any_app: Flask, make_office: MakeOffice, make_service: MakeService, frozen: Any
) -> None:
    service = make_service(make_office(), name={"pl": "Raty", "cs": "Splátky"})
    client = any_app.test_client()
    slug = service.office.slug
    for url in ("/api/v1/offices", f"/api/v1/offices/{slug}", f"/api/v1/offices/{slug}/services"):
        first = client.get(url)
        assert first.status_code == 200 and first.headers["Cache-Control"] == "no-cache"
        tag = first.headers["ETag"]
        again = client.get(url, headers={"If-None-Match": tag})
        assert again.status_code == 304 and again.data == b""
        assert client.get(url, headers={"If-None-Match": f'"other", {tag}'}).status_code == 304
    url = f"/api/v1/offices/{slug}/services"
    polish = client.get(url, headers={"Accept-Language": "pl"})
    czech = client.get(
        url, headers={"Accept-Language": "cs", "If-None-Match": polish.headers["ETag"]}
    )
    assert czech.status_code == 200 and czech.get_json()[0]["name"] == "Splátky"
    assert "Accept-Language" in czech.headers["Vary"]


def test_switching_the_sanitary_regime_changes_the_office_details(
    any_app: Flask, make_office: MakeOffice, frozen: Any
) -> None:
    office = make_office()
    client = any_app.test_client()
    url = f"/api/v1/offices/{office.slug}"
    before = client.get(url)
    assert before.get_json()["admission"] is None
    result = any_app.test_cli_runner().invoke(args=["admission", "on", office.slug])
    assert result.exit_code == 0, result.output
    after = client.get(url, headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200 and after.get_json()["admission"]["questions"]


def test_a_new_office_joins_the_list(any_app: Flask, tmp_path: Path, frozen: Any) -> None:
    client = any_app.test_client()
    before = client.get("/api/v1/offices")
    import_office(any_app, tmp_path)
    after = client.get("/api/v1/offices", headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200
    assert "cache-office" in {o["slug"] for o in after.get_json()}


def test_a_start_drops_out_once_its_notice_has_passed(
    any_app: Flask, make_office: MakeOffice, make_service: MakeService, frozen: Any
) -> None:
    """Nothing is written, yet 11:00 needs two hours' notice: at 09:01 it is gone. Within one
    cell of the grid the answer, and its ETag, stay the same; a later day's for longer."""
    service = make_service(make_office())
    today = Reader(any_app, service.office.slug, service.key, NOW.date())
    later = Reader(any_app, service.office.slug, service.key, DAY)
    assert today.warm()[0] == at(NOW.date(), "11:00")
    later.warm()
    frozen.move_to(NOW + timedelta(minutes=1))
    assert today.read()[0] == at(NOW.date(), "11:15")
    frozen.move_to(NOW + timedelta(minutes=15))
    assert today.api(today.tag).status_code == 304
    frozen.move_to(NOW + timedelta(minutes=15, seconds=1))
    assert today.read()[0] == at(NOW.date(), "11:30")
    assert later.api(later.tag).status_code == 304


# ---------------------------------------------------------------- workers and races


def test_a_write_in_another_worker_reaches_this_workers_cache(
    any_app: Flask,
    tmp_path: Path,
    make_office: MakeOffice,
    make_service: MakeService,
    frozen: Any,
) -> None:
    """Two apps on one database, as two gunicorn workers each with its own cache."""
    other = create_app(base_config(tmp_path / "other", any_app.config["SQLALCHEMY_DATABASE_URI"]))
    try:
        service = make_service(make_office())
        reader = Reader(any_app, service.office.slug, service.key)
        assert at(DAY, "10:00") in reader.warm()
        book_api(other.test_client(), service.office.slug, service.key, at(DAY, "10:00"))
        assert at(DAY, "10:00") not in reader.read()
    finally:
        with other.app_context():
            db.engine.dispose()


@pytest.mark.postgres
def test_a_booking_between_reading_the_version_and_the_data_leaves_no_stale_entry(
    pg_app: Flask, make_office: MakeOffice, make_service: MakeService, frozen: Any
) -> None:
    """The reader has read the office's version and not yet the data when a booking commits.

    What it caches under the old version then already has the booking (PostgreSQL reads
    each statement afresh), and the next reader reads the new version: no answer is ever
    older than the version it is filed under.
    """
    service = make_service(make_office())
    reader = Reader(pg_app, service.office.slug, service.key)
    paused, resume = threading.Event(), threading.Event()
    reader_thread: list[int] = []
    seen_version: list[bool] = []

    def pause_after_the_version(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if threading.get_ident() not in reader_thread:
            return
        if "office_version" in statement:
            seen_version.append(True)
        elif seen_version and not paused.is_set():
            paused.set()
            assert resume.wait(60), "the booking did not come"

    answers: list[Any] = []

    def read() -> None:
        reader_thread.append(threading.get_ident())
        answers.append(reader.api())

    with pg_app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", pause_after_the_version)
    try:
        thread = threading.Thread(target=read)
        thread.start()
        assert paused.wait(60), "the reader never read the version"
        book_api(pg_app.test_client(), service.office.slug, service.key, at(DAY, "10:00"))
        resume.set()
        thread.join(60)
    finally:
        event.remove(engine, "before_cursor_execute", pause_after_the_version)
    [raced] = answers
    assert raced.status_code == 200
    assert at(DAY, "10:00") not in raced.get_json()["days"][0]["starts"]  # newer than its key
    reader.tag = raced.headers["ETag"]
    assert at(DAY, "10:00") not in reader.read()  # a new version, a new ETag, fresh times
