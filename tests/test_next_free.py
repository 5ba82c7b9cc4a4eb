"""The next free day on the office page, the first free time on the calendar, and English
dates in day-month order.

An office in Warsaw open on weekdays from 08:00 to 09:00 with one counter, and a one-hour
service: one time a day, 08:00. The clock stands at 07:00 in Warsaw on Monday 30 November
2026. Each case checks the answer three ways: ``first_free_start``, the office page, and
the first day the calendar marks free (turning months as a resident would); and the API's
``next_free_start`` and the kiosk's offer instead of a ticket say the same start.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient

from booking.availability import first_free_start
from booking.formatting import day_halves, local_date, local_datetime, month_name, short_day
from booking.models import Office, Service
from okienko.database import db
from queueing.capacity import next_free_start
from tests.helpers.factories import MadeService, MakeBooking, MakeOffice, MakeService

NOW = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)  # Monday, 07:00 in Warsaw


def at_eight(day: str) -> datetime:
    """08:00 in Warsaw (CET, UTC+1) on ``day``."""
    return datetime.fromisoformat(f"{day}T07:00:00+00:00")


@pytest.fixture
def clock() -> Iterator[Any]:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def one_a_day(make_office: MakeOffice, make_service: MakeService) -> Any:
    """``one_a_day(**settings)``: the office with these settings, and its service."""

    def make(**settings: Any) -> MadeService:
        office = make_office(
            hours={"mon tue wed thu fri": "08:00-09:00"},
            min_notice_minutes=settings.pop("min_notice_minutes", 0),
            public_holidays=False,
            **settings,
        )
        return make_service(office, "visit", duration=60, name="Visit")

    return make


def computed(app: Flask, made: MadeService) -> datetime | None:
    with app.app_context():
        office = db.session.get(Office, made.office.id)
        service = db.session.get(Service, made.id)
        assert office is not None and service is not None
        start = first_free_start(db.session(), office, service, NOW)
        # The kiosk's "next free appointment" is the same one.
        assert next_free_start(db.session(), service, NOW) == start
        return start


def api_next_free(client: FlaskClient, made: MadeService) -> str | None:
    [service] = client.get(f"/api/v1/offices/{made.office.slug}/services").get_json()
    return service["next_free_start"]


def next_free_text(client: FlaskClient, made: MadeService) -> str:
    page = client.get(f"/o/{made.office.slug}?lang=en").get_data(as_text=True)
    [text] = re.findall(r'<p class="next-free[^"]*">([^<]+)</p>', page)
    return text


def calendar_first_free(client: FlaskClient, made: MadeService) -> tuple[str | None, str | None]:
    """The first day the calendar marks free (turning months), and its first-free link."""
    url: str | None = f"/o/{made.office.slug}/{made.key}?lang=en"
    link = None
    while url:
        page = client.get(url).get_data(as_text=True)
        if link is None:
            found = re.search(r'<p class="first-free"><a [^>]*href="([^"]+)"', page)
            link = found and found.group(1).replace("&amp;", "&")
        days = re.findall(r'<td class="free"><a href="[^"]+/(\d{4}-\d\d-\d\d)"', page)
        if days:
            return days[0], link
        following = re.search(r'<a href="([^"]+)" rel="next">', page)
        url = following and following.group(1).replace("&amp;", "&")
    return None, link


def expect_first_free(any_app: Flask, made: MadeService, day: str | None, text: str) -> None:
    start = computed(any_app, made)
    assert start == (at_eight(day) if day else None)
    client = any_app.test_client()
    assert next_free_text(client, made) == text
    assert api_next_free(client, made) == (f"{day}T07:00:00Z" if day else None)
    shown_day, link = calendar_first_free(client, made)
    assert shown_day == day  # the day on the office page is the calendar's first free day
    if day:
        assert link == f"/o/{made.office.slug}/{made.key}/book?start={day}T07:00:00Z"
    else:
        assert link is None


def test_next_free_is_today_when_nothing_stands_in_the_way(
    any_app: Flask, clock: Any, one_a_day: Any
) -> None:
    made = one_a_day()
    expect_first_free(any_app, made, "2026-11-30", "Next free: Monday, 30 November 2026")


def test_a_fully_booked_first_day_is_skipped(
    any_app: Flask, clock: Any, one_a_day: Any, make_booking: MakeBooking
) -> None:
    made = one_a_day()
    make_booking(made, at_eight("2026-11-30"))
    expect_first_free(any_app, made, "2026-12-01", "Next free: Tuesday, 1 December 2026")


def test_a_closure_and_the_weekend_are_skipped(any_app: Flask, clock: Any, one_a_day: Any) -> None:
    made = one_a_day(closures=[{"from": "2026-11-30", "to": "2026-12-04", "reason": "Move"}])
    expect_first_free(any_app, made, "2026-12-07", "Next free: Monday, 7 December 2026")


def test_a_closure_longer_than_two_weeks_is_skipped(
    any_app: Flask, clock: Any, one_a_day: Any
) -> None:
    """The whole booking window counts, not only the weeks around today."""
    made = one_a_day(closures=[{"from": "2026-11-30", "to": "2026-12-31", "reason": "Move"}])
    expect_first_free(any_app, made, "2027-01-01", "Next free: Friday, 1 January 2027")


def test_the_notice_period_is_respected(any_app: Flask, clock: Any, one_a_day: Any) -> None:
    # 26 hours: from 09:00 on Tuesday, so Tuesday's 08:00 is too soon.
    made = one_a_day(min_notice_minutes=26 * 60)
    expect_first_free(any_app, made, "2026-12-02", "Next free: Wednesday, 2 December 2026")


def test_nothing_free_within_the_booking_window(
    any_app: Flask, clock: Any, one_a_day: Any, make_booking: MakeBooking
) -> None:
    # Two days ahead: until 07:00 on Wednesday, before Wednesday's only time.
    made = one_a_day(max_days_ahead=2)
    make_booking(made, at_eight("2026-11-30"))
    make_booking(made, at_eight("2026-12-01"))
    expect_first_free(any_app, made, None, "No free times in the next 2 days.")
    calendar = any_app.test_client().get(f"/o/{made.office.slug}/{made.key}?lang=en")
    assert "No free times in the next 2 days." in calendar.get_data(as_text=True)


def test_a_booking_changes_the_answer_at_once(
    any_app: Flask, clock: Any, one_a_day: Any, make_booking: MakeBooking
) -> None:
    """The office page's answer is cached per office version: a booking makes it stale."""
    made = one_a_day()
    client = any_app.test_client()
    assert next_free_text(client, made) == "Next free: Monday, 30 November 2026"
    services = f"/api/v1/offices/{made.office.slug}/services"
    before = client.get(services)
    booked = make_booking(made, at_eight("2026-11-30"))
    assert next_free_text(client, made) == "Next free: Tuesday, 1 December 2026"
    after = client.get(services, headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200 and after.headers["ETag"] != before.headers["ETag"]
    assert after.get_json()[0]["next_free_start"] == "2026-12-01T07:00:00Z"
    # The API's answer is cached per office version too: a cancellation frees the time.
    cancel = f"/api/v1/bookings/{booked.code}/cancel"
    assert client.post(cancel, headers={"X-Booking-Token": booked.token}).status_code == 200
    again = client.get(services, headers={"If-None-Match": after.headers["ETag"]})
    assert again.status_code == 200 and again.headers["ETag"] != after.headers["ETag"]
    assert again.get_json()[0]["next_free_start"] == "2026-11-30T07:00:00Z"
    assert next_free_text(client, made) == "Next free: Monday, 30 November 2026"


def test_the_first_free_time_reads_in_the_readers_language(
    any_app: Flask, clock: Any, one_a_day: Any
) -> None:
    made = one_a_day()
    client = any_app.test_client()
    # The day as each language writes it without its year (the words around it are
    # translated in translations/).
    expected = {
        "en": "First free time: Mon 30 November, 08:00",
        "pl": "pon., 30 listopada, 08:00",
        "cs": "po 30. listopadu, 08:00",
    }
    for lang, text in expected.items():
        page = client.get(f"/o/{made.office.slug}/{made.key}?lang={lang}").get_data(as_text=True)
        assert text in page, lang


def test_the_day_page_groups_times_into_morning_and_afternoon(
    any_app: Flask, clock: Any, make_office: MakeOffice, make_service: MakeService
) -> None:
    office = make_office(hours={"mon": "11:00-13:00"}, min_notice_minutes=0)
    made = make_service(office, "visit", duration=30, name="Visit")
    page = any_app.test_client().get(f"/o/{office.slug}/visit/2026-12-07?lang=en")
    html = page.get_data(as_text=True)
    morning, afternoon = html.split('<h3 class="day-half">Afternoon</h3>')
    assert '<h3 class="day-half">Morning</h3>' in morning
    assert re.findall(r">(\d\d:\d\d)</a>", morning) == ["11:00", "11:15", "11:30", "11:45"]
    assert re.findall(r">(\d\d:\d\d)</a>", afternoon) == ["12:00", "12:15", "12:30"]
    assert made.key == "visit"


def test_an_empty_half_of_the_day_has_no_heading(
    any_app: Flask, clock: Any, make_office: MakeOffice, make_service: MakeService
) -> None:
    office = make_office(hours={"mon": "13:00-15:00"}, min_notice_minutes=0)
    make_service(office, "visit", duration=30, name="Visit")
    html = (
        any_app.test_client()
        .get(f"/o/{office.slug}/visit/2026-12-07?lang=en")
        .get_data(as_text=True)
    )
    assert "Afternoon" in html and "Morning" not in html


def test_english_dates_put_the_day_before_the_month(app: Flask) -> None:
    """British English data: never the American 11/30/2026 or November 30, 2026."""
    day = date(2026, 11, 30)
    instant = datetime(2026, 11, 30, 9, 30, tzinfo=UTC)
    with app.test_request_context("/?lang=en"):
        office = db.session.query(Office).filter_by(timezone="Europe/Warsaw").first()
        assert office is not None
        assert local_date(day) == "Monday, 30 November 2026"
        assert local_date(day, "long") == "30 November 2026"
        assert local_date(day, "short") == "30/11/2026"
        assert month_name(day) == "November 2026"
        assert short_day(day) == "Mon 30 November"
        assert local_datetime(instant, office) == "Monday, 30 November 2026 10:30"
        assert local_datetime(instant, office, "short") == "30/11/2026, 10:30"
    with app.test_request_context("/?lang=pl"):
        assert local_date(day) == "poniedziałek, 30 listopada 2026"
        assert month_name(day) == "listopad 2026"


def test_day_halves_split_at_noon_local_time(app: Flask) -> None:
    with app.app_context():
        office = db.session.query(Office).filter_by(timezone="Europe/Warsaw").first()
        assert office is not None
        # 11:45 and 12:00 in Warsaw (UTC+1 in winter).
        starts = [
            datetime(2026, 11, 30, 10, 45, tzinfo=UTC),
            datetime(2026, 11, 30, 11, tzinfo=UTC),
        ]
        assert day_halves(starts, office) == ([starts[0]], [starts[1]])
