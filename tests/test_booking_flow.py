"""The resident's way through the pages: calendar, booking, manage, move, cancel, and limits."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime
from urllib.parse import unquote

import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from booking.availability import availability
from booking.importer import DEMO_FILE, load_file
from booking.models import Booking, BookingStatus, Office, Service
from okienko.database import db
from tests.helpers.factories import MakeBooking, MakeOffice, MakeService
from tests.helpers.forms import book_form, csrf_token, local_start, manage_token

TODAY = datetime(2026, 3, 20, 9, tzinfo=UTC)  # a Friday
PLZEN, FLATS = "plzen-kontaktni-misto", "volne-byty"


@pytest.fixture
def client(app: Flask):
    with time_machine.travel(TODAY, tick=True):
        yield app.test_client()


def free(app: Flask, slug: str, key: str, day: date) -> list[datetime]:
    with app.app_context():
        office = db.session.scalar(select(Office).where(Office.slug == slug))
        service = db.session.scalar(
            select(Service).where(Service.office_id == office.id, Service.key == key)
        )
        return availability(db.session, office, service, day, day, datetime.now(UTC))[day]


def test_calendar_shows_only_open_days_with_free_times(client: FlaskClient) -> None:
    page = client.get(f"/o/{PLZEN}/{FLATS}?month=2026-04").get_data(as_text=True)
    links = re.findall(rf"/o/{PLZEN}/{FLATS}/(2026-04-\d\d)", page)
    # Mondays and Wednesdays of April 2026; Easter Monday (6 April) is a Czech public holiday.
    assert links == [
        "2026-04-01",
        "2026-04-08",
        "2026-04-13",
        "2026-04-15",
        "2026-04-20",
        "2026-04-22",
        "2026-04-27",
        "2026-04-29",
    ]


def test_times_page_lists_local_times(client: FlaskClient) -> None:
    page = client.get(f"/o/{PLZEN}/{FLATS}/2026-03-30").get_data(as_text=True)
    times = re.findall(r'class="time" href="[^"]+">(\d\d:\d\d)<', page)
    assert times[0] == "08:00" and times[-1] == "16:30" and len(times) == 18


def test_polish_holidays_and_closures_have_no_times(app: Flask) -> None:
    with time_machine.travel(datetime(2026, 10, 20, 9, tzinfo=UTC), tick=True):
        assert free(app, "koszalin-zbm", "raty", date(2026, 11, 11)) == []  # Independence Day
        assert free(app, "koszalin-zbm", "raty", date(2026, 11, 12))
        config = DEMO_FILE.read_text().replace(
            'slug = "koszalin-zbm"',
            'slug = "koszalin-zbm"\nclosures = [{ from = "2026-11-12", to = "2026-11-13", '
            'reason = "Inventory" }]',
        )
        path = app.instance_path + "/offices.toml"
        with open(path, "w") as handle:
            handle.write(config)
        with app.app_context():
            from pathlib import Path

            load_file(db.session, Path(path))
            db.session.commit()
        assert free(app, "koszalin-zbm", "raty", date(2026, 11, 12)) == []
        assert free(app, "koszalin-zbm", "raty", date(2026, 11, 16))


def test_minimum_notice_and_horizon(app: Flask) -> None:
    # Monday 23 March 2026, 09:10 local: the office wants two hours' notice.
    with time_machine.travel(datetime(2026, 3, 23, 8, 10, tzinfo=UTC), tick=False):
        starts = free(app, PLZEN, FLATS, date(2026, 3, 23))
        assert starts[0] == datetime(2026, 3, 23, 10, 30, tzinfo=UTC)  # 11:30 local
        assert free(app, PLZEN, FLATS, date(2026, 5, 20))  # 58 days ahead
        assert free(app, PLZEN, FLATS, date(2026, 5, 25)) == []  # 63 days ahead
        too_soon = local_start("2026-03-23", "10:00", "Europe/Prague")
        client = app.test_client()
        client.get("/?lang=en")
        response = book_form(client, PLZEN, FLATS, too_soon)
        assert response.status_code == 422
        assert "outside the period" in response.get_data(as_text=True)


def test_booking_takes_the_time_and_shows_the_confirmation(app: Flask, client) -> None:
    start = local_start("2026-03-23", "08:00", "Europe/Prague")
    before = free(app, PLZEN, FLATS, date(2026, 3, 23))
    token = manage_token(book_form(client, PLZEN, FLATS, start, language="en"))
    page = client.get(f"/manage/{token}?new=1&lang=en").get_data(as_text=True)
    assert "Your visit is booked" in page
    assert re.search(r'class="code" data-code="\w{8}">\w{4}-\w{4}<', page)
    assert "Identity document" in page  # documents to bring
    after = free(app, PLZEN, FLATS, date(2026, 3, 23))
    # Two counters: the 8:00 start stays free until both hold a booking.
    assert after == before
    book_form(client, PLZEN, FLATS, start, email="other@example.com")
    assert datetime.fromisoformat(start) not in free(app, PLZEN, FLATS, date(2026, 3, 23))


def test_cancel_link_does_nothing_on_get_and_needs_csrf(
    app: Flask,
    client,
    make_office: MakeOffice,
    make_service: MakeService,
    make_booking: MakeBooking,
) -> None:
    service = make_service(make_office(timezone="Europe/Prague"))
    token = make_booking(service, local_start("2026-03-23", "09:00", "Europe/Prague")).token
    assert client.get(f"/manage/{token}/cancel").status_code == 200
    assert client.post(f"/manage/{token}/cancel").status_code == 400  # no CSRF token
    with app.app_context():
        assert db.session.scalar(select(Booking.status)) == BookingStatus.BOOKED
    response = client.post(
        f"/manage/{token}/cancel",
        data={"csrf_token": csrf_token(client, f"/manage/{token}/cancel")},
    )
    assert response.status_code == 302
    with app.app_context():
        booking = db.session.scalar(select(Booking))
        assert booking.status == BookingStatus.CANCELLED and booking.slots == []


def test_reschedule_moves_the_booking_and_frees_the_old_time(app: Flask, client) -> None:
    old = local_start("2026-03-23", "09:00", "Europe/Prague")
    new = local_start("2026-03-25", "14:00", "Europe/Prague")
    book_form(client, PLZEN, FLATS, old, email="blocker@example.com")
    token = manage_token(book_form(client, PLZEN, FLATS, old))
    assert datetime.fromisoformat(old) not in free(app, PLZEN, FLATS, date(2026, 3, 23))
    day_page = client.get(f"/manage/{token}/reschedule/2026-03-25").get_data(as_text=True)
    assert new in day_page
    response = client.post(
        f"/manage/{token}/reschedule",
        data={
            "csrf_token": csrf_token(client, f"/manage/{token}/reschedule/2026-03-25"),
            "start": new,
        },
    )
    assert response.status_code == 302
    assert datetime.fromisoformat(old) in free(app, PLZEN, FLATS, date(2026, 3, 23))
    with app.app_context():
        moved = db.session.scalar(select(Booking).where(Booking.email == "jan@example.com"))
        assert moved.starts_at == datetime.fromisoformat(new) and moved.sequence == 1
        assert [cell.starts_at for cell in moved.slots] == [moved.starts_at]


def test_cap_on_active_bookings_per_contact(app: Flask, client) -> None:
    client.get("/?lang=en")
    for hour in ("08:00", "09:00"):
        start = local_start("2026-03-23", hour, "Europe/Prague")
        manage_token(book_form(client, PLZEN, FLATS, start, email="Trader@Example.com"))
    third = book_form(
        client,
        PLZEN,
        FLATS,
        local_start("2026-03-23", "10:00", "Europe/Prague"),
        email="trader@example.com",
    )
    assert third.status_code == 409
    assert "largest number of upcoming bookings" in third.get_data(as_text=True)
    by_phone = book_form(
        client,
        PLZEN,
        FLATS,
        local_start("2026-03-23", "11:00", "Europe/Prague"),
        email="",
        phone="+420 601 111 222",
    )
    assert by_phone.status_code == 302


@pytest.mark.parametrize("storage", ["memory://", "redis://127.0.0.1:6379"])
def test_rate_limit_on_booking_posts(app: Flask, storage: str) -> None:
    if storage.startswith("redis"):
        redis = pytest.importorskip("redis")
        try:
            redis.Redis.from_url(storage).ping()
        except redis.ConnectionError:
            pytest.skip("Redis is not reachable")
    from okienko.app import create_app

    limited = create_app(
        {
            **{k: app.config[k] for k in ("SQLALCHEMY_DATABASE_URI", "SECRET_KEY", "MAIL_OUTBOX")},
            "INSTANCE_PATH": app.instance_path,
            "TESTING": True,
            "RATELIMIT_ENABLED": True,
            "RATELIMIT_STORAGE_URI": storage,
            "RATELIMIT_KEY_PREFIX": uuid.uuid4().hex,
        }
    )
    with time_machine.travel(TODAY, tick=True):
        client = limited.test_client()
        statuses = [
            book_form(
                client,
                PLZEN,
                FLATS,
                local_start("2026-03-23", at, "Europe/Prague"),
                email=f"bot{i}@example.com",
            ).status_code
            for i, at in enumerate(("08:00", "08:30", "09:00", "09:30", "10:00"))
        ]
    # Booking attempts count (3 per minute); forms sent back to correct do not
    # (tests/test_rate_limits.py).
    assert statuses == [302, 302, 302, 429, 429]


@pytest.mark.parametrize(
    "lang,document",
    [("pl", "Dokumenty potwierdzające dochody"), ("cs", "Doklady o příjmech"), ("en", "Income")],
)
def test_service_texts_follow_the_readers_language(client, lang: str, document: str) -> None:
    for url in ("/o/koszalin-zbm", "/o/koszalin-zbm/raty"):
        page = client.get(f"{url}?lang={lang}").get_data(as_text=True)
        assert document in page, url


def test_a_stale_time_link_says_so_before_anything_is_typed(app: Flask, client) -> None:
    start = local_start("2026-03-23", "08:00", "Europe/Prague")
    for email in ("a@example.com", "b@example.com"):  # both counters
        manage_token(book_form(client, PLZEN, FLATS, start, email=email))
    page = client.get(f"/o/{PLZEN}/{FLATS}/book?start={start}&lang=en")
    assert page.status_code == 409
    html = page.get_data(as_text=True)
    assert "This time was just taken" in html
    offered = [unquote(s) for s in re.findall(r'class="time" href="[^"]*start=([^"&]+)"', html)]
    assert offered and start not in offered
    assert set(offered) <= {
        s.strftime("%Y-%m-%dT%H:%M:%SZ") for s in free(app, PLZEN, FLATS, date(2026, 3, 23))
    }


def test_a_booking_can_be_moved_only_a_few_times(
    app: Flask,
    client,
    make_office: MakeOffice,
    make_service: MakeService,
    make_booking: MakeBooking,
) -> None:
    """Every move mails the address given; a cap keeps strangers' inboxes from being flooded."""
    service = make_service(make_office(timezone="Europe/Prague"))
    token = make_booking(service, local_start("2026-03-23", "08:00", "Europe/Prague")).token
    statuses = []
    for hour in ("09:00", "10:00", "11:00", "12:00", "13:00", "14:00"):
        page = f"/manage/{token}/reschedule/2026-03-25"
        response = client.post(
            f"/manage/{token}/reschedule",
            data={
                "csrf_token": csrf_token(client, page),
                "start": local_start("2026-03-25", hour, "Europe/Prague"),
            },
        )
        statuses.append(response.status_code)
    assert statuses == [302] * 5 + [409]


def test_rate_limits_count_the_forwarded_client_behind_a_trusted_proxy(app: Flask) -> None:
    from okienko.app import create_app

    proxied = create_app(
        {
            **{k: app.config[k] for k in ("SQLALCHEMY_DATABASE_URI", "SECRET_KEY", "MAIL_OUTBOX")},
            "INSTANCE_PATH": app.instance_path,
            "TESTING": True,
            "RATELIMIT_ENABLED": True,
            "RATELIMIT_STORAGE_URI": "memory://",
            "RATELIMIT_KEY_PREFIX": uuid.uuid4().hex,
            "API_BOOKING_RATE_LIMIT": "2 per minute",
            "TRUSTED_PROXIES": 1,
        }
    )
    client = proxied.test_client()

    def post(address: str) -> int:
        return client.post(
            "/api/v1/bookings", json={"office": "x"}, headers={"X-Forwarded-For": address}
        ).status_code

    assert [post("198.51.100.7") for _ in range(3)] == [400, 400, 429]
    assert post("203.0.113.9") == 400  # another resident behind the same proxy
