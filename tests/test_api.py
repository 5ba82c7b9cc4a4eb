"""The JSON API at /api/v1 on a real database: offices, free times, booking, reading and
cancelling, and the error answers the portal and the voice bot rely on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from booking.admission import DEFAULT_NOTICES, DEFAULT_QUESTIONS
from booking.codes import ALPHABET, format_code
from booking.models import Booking, BookingSlot
from okienko.database import db
from tests.helpers.api import (
    DEMO,
    DROP,
    OFFICE,
    SERVICE,
    availability,
    body,
    free_starts,
    local_today,
    some_starts,
)
from tests.helpers.mailbox import outbox


def service_data(slug: str, key: str) -> dict[str, Any]:
    return next(s for s in DEMO[slug]["services"] if s["key"] == key)


def is_free(client: FlaskClient, start: str) -> bool:
    """Whether the availability of the start's own day offers it."""
    day = str(as_utc(start).astimezone(ZoneInfo(DEMO[OFFICE]["timezone"])).date())
    return start in free_starts(client, **{"from": day, "to": day})


def book(client: FlaskClient, start: str, /, **changes: Any):
    return client.post("/api/v1/bookings", json=body(start, **changes))


def booked(client: FlaskClient, start: str, /, **changes: Any) -> dict[str, Any]:
    response = book(client, start, **changes)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def count_bookings(app: Flask, **where: Any) -> int:
    with app.app_context():
        query = select(func.count(Booking.id)).filter_by(**where)
        return db.session.scalar(query)


def as_utc(text: str) -> datetime:
    return datetime.fromisoformat(text)


def iso(instant: datetime) -> str:
    return instant.strftime("%Y-%m-%dT%H:%M:%SZ")


def assert_error(response, status: int, error: str, **extra: Any) -> dict[str, Any]:
    data = response.get_json()
    assert (response.status_code, data["error"]) == (status, error), data
    assert isinstance(data["message"], str) and data["message"]
    for name, value in extra.items():
        assert data[name] == value, data
    return data


# Offices and services


def test_offices_are_the_demo_offices_by_name(any_app: Flask) -> None:
    response = any_app.test_client().get("/api/v1/offices")
    assert response.status_code == 200
    offices = response.get_json()
    assert [o["slug"] for o in offices] == [
        o["slug"] for o in sorted(DEMO.values(), key=lambda o: o["name"])
    ]
    for office in offices:
        source = DEMO[office["slug"]]
        assert office == {
            "slug": source["slug"],
            "name": source["name"],
            "address": source["address"],
            "timezone": source["timezone"],
            "country": source["country"],
            "language": source["language"],
            "phone": source.get("phone"),
            "email": source.get("email"),
        }


@pytest.mark.parametrize("lang", ["en", "cs", "pl"])
def test_office_detail_has_its_services_in_the_request_language(
    client: FlaskClient, lang: str
) -> None:
    listed = {o["slug"]: o for o in client.get("/api/v1/offices").get_json()}
    for slug, source in DEMO.items():
        response = client.get(f"/api/v1/offices/{slug}", headers={"Accept-Language": lang})
        assert response.status_code == 200
        detail = response.get_json()
        services = detail.pop("services")
        regime = detail.pop("admission")
        assert detail == listed[slug]
        if source.get("admission", {}).get("enabled"):
            # Bytomskie Mieszkania's four questions, each refused by a yes, in the request language.
            assert [(q["key"], q["refuse_on"]) for q in regime["questions"]] == [
                (key, "yes") for key, _texts in DEFAULT_QUESTIONS
            ]
            assert [q["text"] for q in regime["questions"]] == [
                texts[lang] for _key, texts in DEFAULT_QUESTIONS
            ]
            assert regime["notices"] == DEFAULT_NOTICES[lang]
        else:
            assert regime is None
        assert [s["key"] for s in services] == [s["key"] for s in source["services"]]
        for service, expected in zip(services, source["services"], strict=True):
            assert service == {
                "key": expected["key"],
                "name": expected["name"][lang],
                "description": expected.get("description", {}).get(lang, ""),
                "duration_minutes": expected["duration"],
                "documents": expected["documents"][lang],
                "bookable_online": True,
                # tests/test_api_office_info.py: the first start the availability lists
                "next_free_start": service["next_free_start"],
            }
        listing = client.get(f"/api/v1/offices/{slug}/services?lang={lang}")
        assert listing.status_code == 200
        assert listing.get_json() == services


@pytest.mark.parametrize("suffix", ["", "/services", f"/services/{SERVICE}/availability"])
def test_unknown_office(client: FlaskClient, suffix: str) -> None:
    assert_error(client.get(f"/api/v1/offices/nowhere{suffix}"), 404, "unknown_office")


@pytest.mark.parametrize("key", ["nothing", "raty"])  # "raty" is a service of Koszalin
def test_availability_of_an_unknown_service(client: FlaskClient, key: str) -> None:
    assert_error(availability(client, service=key), 404, "unknown_service")


# Availability


def test_availability_default_is_two_weeks_of_opening_hours(client: FlaskClient) -> None:
    # Whatever the day, but held still: "today" must be the same for the request and the check.
    with time_machine.travel(datetime.now(UTC), tick=False):
        response = availability(client)
        earliest = datetime.now(UTC) + timedelta(minutes=120)
        today = local_today()
    assert response.status_code == 200
    data = response.get_json()
    tz = ZoneInfo(DEMO[OFFICE]["timezone"])
    assert {k: data[k] for k in ("office", "service", "timezone", "duration_minutes")} == {
        "office": OFFICE,
        "service": SERVICE,
        "timezone": "Europe/Prague",
        "duration_minutes": 30,
    }
    assert [d["date"] for d in data["days"]] == [str(today + timedelta(days=i)) for i in range(14)]
    starts = [s for day in data["days"] for s in day["starts"]]
    assert starts, "two weeks of Mondays and Wednesdays without a free time"
    assert starts == sorted(starts) and len(starts) == len(set(starts))
    for day in data["days"]:
        for text in day["starts"]:
            local = as_utc(text).astimezone(tz)
            assert str(local.date()) == day["date"]
            assert local.weekday() in (0, 2), text  # Plzeň receives on Mondays and Wednesdays
            assert "08:00" <= local.strftime("%H:%M") <= "16:30" and local.minute in (0, 30)
            assert local >= earliest


def test_availability_for_an_explicit_range(client: FlaskClient) -> None:
    first = local_today() + timedelta(days=7)
    for days in (1, 3, 62):
        last = first + timedelta(days=days - 1)
        response = availability(client, **{"from": str(first), "to": str(last)})
        assert response.status_code == 200, response.get_json()
        dates = [d["date"] for d in response.get_json()["days"]]
        assert dates == [str(first + timedelta(days=i)) for i in range(days)]
    # Only the end given: the range runs from today.
    only_to = availability(client, to=str(local_today() + timedelta(days=2))).get_json()
    assert only_to["days"][0]["date"] == str(local_today())
    assert len(only_to["days"]) == 3


def test_availability_range_of_63_days_is_refused(client: FlaskClient) -> None:
    first = local_today()
    response = availability(client, **{"from": str(first), "to": str(first + timedelta(days=62))})
    assert_error(response, 400, "invalid_range")


def test_availability_range_backwards_is_refused(client: FlaskClient) -> None:
    first = local_today() + timedelta(days=5)
    response = availability(client, **{"from": str(first), "to": str(first - timedelta(days=1))})
    assert_error(response, 400, "invalid_range")


@pytest.mark.parametrize(
    ("name", "value"),
    [("from", "2026-02-30"), ("from", ""), ("to", "tomorrow"), ("to", "2026-12-01T10:00")],
)
def test_availability_bad_dates(client: FlaskClient, name: str, value: str) -> None:
    assert_error(availability(client, **{name: value}), 400, "invalid_parameter", field=name)


@pytest.mark.parametrize(
    "params",
    [
        {"from": "0001-01-01"},
        {"from": "9999-12-25"},
        {"from": "9999-12-01", "to": "9999-12-31"},
    ],
)
def test_availability_at_the_ends_of_the_calendar_is_an_error_not_a_crash(
    client: FlaskClient, params: dict[str, str]
) -> None:
    assert_error(availability(client, **params), 400, "invalid_range")


# Booking


def test_create_booking(any_app: Flask) -> None:
    client = any_app.test_client()
    start = some_starts(client)[0]
    data = booked(client, start)
    token = data.pop("token")
    manage_url = data.pop("manage_url")
    source = service_data(OFFICE, SERVICE)
    assert data == {
        "code": data["code"],
        "status": "booked",
        "office": OFFICE,
        "service": SERVICE,
        "counter": data["counter"],
        "starts_at": start,
        "ends_at": iso(as_utc(start) + timedelta(minutes=30)),
        "mode": "in_person",
        "documents": source["documents"]["cs"],  # no language asked: the office's own
    }
    assert len(data["code"]) == 8 and set(data["code"]) <= set(ALPHABET)
    assert data["counter"] in {c["name"] for c in DEMO[OFFICE]["counters"]}
    assert len(token) >= 16
    assert manage_url == f"http://testserver/manage/{token}"

    # One counter of two is taken: the time is still offered, until the second is taken too.
    assert is_free(client, start)
    second = booked(client, start, name="Petr Novák", email="petr@example.com")
    assert second["counter"] != data["counter"]
    assert not is_free(client, start)
    assert count_bookings(any_app, status="booked") == 2

    messages = outbox(any_app)
    assert sorted(m["To"] for m in messages) == ["jana@example.com", "petr@example.com"]
    mine = next(m for m in messages if m["To"] == "jana@example.com")
    assert format_code(data["code"]) in mine["Subject"]
    assert manage_url in mine.get_body(("plain",)).get_content()


def test_mails_in_the_chosen_language_answers_in_the_request_language(app: Flask) -> None:
    client = app.test_client()
    response = client.post(
        "/api/v1/bookings",
        json=body(some_starts(client)[0], language="en"),
        headers={"Accept-Language": "cs"},
    )
    assert response.status_code == 201, response.get_json()
    documents = service_data(OFFICE, SERVICE)["documents"]
    assert response.get_json()["documents"] == documents["cs"]
    with app.app_context():
        assert db.session.scalar(select(Booking.language)) == "en"
    [mail] = outbox(app)
    text = mail.get_body(("plain",)).get_content()
    assert documents["en"][0] in text and documents["cs"][0] not in text


def test_booking_with_a_phone_only_sends_no_mail(app: Flask) -> None:
    client = app.test_client()
    booked(client, some_starts(client)[0], email=DROP, phone="378 032 222")
    assert outbox(app) == []
    with app.app_context():
        assert db.session.scalar(select(Booking.phone)) == "+420378032222"


def test_read_booking_needs_the_right_token(any_app: Flask) -> None:
    client = any_app.test_client()
    starts = some_starts(client)
    mine = booked(client, starts[0])
    other = booked(client, starts[1], name="Petr Novák", email="petr@example.com")
    token, code = mine.pop("token"), mine["code"]
    del mine["manage_url"]

    for written in (code, format_code(code).lower(), f" {code[:4]} {code[4:]} "):
        response = client.get(f"/api/v1/bookings/{written}", headers={"X-Booking-Token": token})
        assert response.status_code == 200, written
        assert response.get_json() == mine

    refusals = [
        client.get(f"/api/v1/bookings/{code}", headers={"X-Booking-Token": token + "x"}),
        client.get(f"/api/v1/bookings/{code}", headers={"X-Booking-Token": other["token"]}),
        client.get(f"/api/v1/bookings/{code}", headers={"X-Booking-Token": ""}),
        client.get(f"/api/v1/bookings/{code}"),
        client.get("/api/v1/bookings/AAAAAAAA", headers={"X-Booking-Token": token}),
        client.get(f"/api/v1/bookings/{other['code']}", headers={"X-Booking-Token": token}),
    ]
    answers = [assert_error(r, 404, "unknown_booking") for r in refusals]
    assert all(answer == answers[0] for answer in answers)  # nothing to learn by guessing


def test_cancel_booking_frees_the_time(any_app: Flask) -> None:
    client = any_app.test_client()
    start = some_starts(client)[0]
    mine = booked(client, start)
    booked(client, start, name="Petr Novák", email="petr@example.com")
    assert not is_free(client, start)
    url, token = f"/api/v1/bookings/{mine['code']}/cancel", mine["token"]

    assert_error(client.post(url, headers={"X-Booking-Token": "wrong"}), 404, "unknown_booking")
    assert_error(client.post(url), 404, "unknown_booking")
    assert count_bookings(any_app, status="booked") == 2

    response = client.post(url, headers={"X-Booking-Token": token})
    assert response.status_code == 200, response.get_json()
    cancelled = response.get_json()
    assert cancelled["status"] == "cancelled"
    assert (cancelled["code"], cancelled["starts_at"]) == (mine["code"], start)
    assert is_free(client, start)
    assert count_bookings(any_app, status="booked") == 1
    with any_app.app_context():
        booking_id = db.session.scalar(select(Booking.id).where(Booking.code == mine["code"]))
        held = select(func.count(BookingSlot.id)).where(BookingSlot.booking_id == booking_id)
        assert db.session.scalar(held) == 0

    read = client.get(f"/api/v1/bookings/{mine['code']}", headers={"X-Booking-Token": token})
    assert read.get_json()["status"] == "cancelled"
    subjects = [m["Subject"] for m in outbox(any_app) if m["To"] == "jana@example.com"]
    assert len(subjects) == 2 and all(format_code(mine["code"]) in s for s in subjects)

    again = client.post(url, headers={"X-Booking-Token": token})
    assert_error(again, 409, "not_active")
    assert len(outbox(any_app)) == 3  # no second cancellation mail


def test_taken_time_offers_alternatives_that_are_free(any_app: Flask) -> None:
    client = any_app.test_client()
    start = some_starts(client)[3]
    booked(client, start, email="a@example.com")
    booked(client, start, email="b@example.com")

    data = assert_error(book(client, start, email="c@example.com"), 409, "slot_taken")
    alternatives = data["alternatives"]
    assert 1 <= len(alternatives) <= 3 and alternatives == sorted(alternatives)
    assert start not in alternatives
    today = local_today()
    free = free_starts(client, **{"from": str(today), "to": str(today + timedelta(days=61))})
    assert set(alternatives) <= set(free)
    assert count_bookings(any_app) == 2
    booked(client, alternatives[0], email="c@example.com")


def test_too_many_bookings_for_one_contact(client: FlaskClient) -> None:
    starts = some_starts(client)
    booked(client, starts[0])
    booked(client, starts[2])
    response = book(client, starts[4], email="Jana@Example.com")
    assert_error(response, 409, "too_many_bookings")
    booked(client, starts[4], email="someone.else@example.com")


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"office": "nowhere"}, "unknown_office"),
        ({"service": "nothing"}, "unknown_service"),
        ({"service": "raty"}, "unknown_service"),  # a service of Koszalin, not of Plzeň
        ({"office": "koszalin-zbm"}, "unknown_service"),  # Plzeň's service at Koszalin
    ],
)
def test_booking_unknown_office_or_service(app: Flask, changes: dict[str, str], error: str) -> None:
    client = app.test_client()
    assert_error(book(client, some_starts(client)[0], **changes), 404, error)
    assert count_bookings(app) == 0


@pytest.mark.parametrize("text", ["plzen\x00", "\ud800"])  # NUL: PostgreSQL; surrogate: both
def test_office_or_service_that_cannot_exist(any_app: Flask, text: str) -> None:
    client = any_app.test_client()
    assert_error(client.get("/api/v1/offices/plzen%00"), 404, "unknown_office")
    assert_error(availability(client, service="plzen%00"), 404, "unknown_service")
    start = some_starts(client)[0]
    assert_error(book(client, start, office=text), 404, "unknown_office")
    assert_error(book(client, start, service=text), 404, "unknown_service")
    assert count_bookings(any_app) == 0


def test_booking_with_an_unknown_field(app: Flask) -> None:
    client = app.test_client()
    response = book(client, some_starts(client)[0], birthday="1970-01-01")
    assert_error(response, 400, "unknown_field", field="birthday")
    assert count_bookings(app) == 0


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("office", 1),
        ("service", ["volne-byty"]),
        ("start", 1_795_000_000),
        ("name", {"first": "Jana"}),
        ("email", True),
        ("phone", 378032222),
        ("language", 1),
        ("consent", "yes"),
        ("consent", 1),
    ],
)
def test_booking_fields_of_the_wrong_type(app: Flask, name: str, value: Any) -> None:
    client = app.test_client()
    response = book(client, some_starts(client)[0], **{name: value})
    assert_error(response, 400, "invalid_type", field=name)
    assert count_bookings(app) == 0


@pytest.mark.parametrize(
    "request_kwargs",
    [
        {"json": ["office", "service"]},
        {"json": "plzen"},
        {"json": 42},
        {"data": "null", "content_type": "application/json"},
        {"data": '{"office": "plzen-kontaktni-misto",', "content_type": "application/json"},
        {"data": {"office": OFFICE, "service": SERVICE}},  # a form, not JSON
        {"data": "[" * 30_000 + "]" * 30_000, "content_type": "application/json"},  # too deep
        {},
    ],
)
def test_booking_body_that_is_not_a_json_object(
    client: FlaskClient, request_kwargs: dict[str, Any]
) -> None:
    response = client.post("/api/v1/bookings", **request_kwargs)
    assert_error(response, 400, "invalid_json")


@pytest.mark.parametrize("name", ["office", "service", "start"])
@pytest.mark.parametrize("value", [DROP, "", None])
def test_booking_without_a_required_field(client: FlaskClient, name: str, value: Any) -> None:
    response = book(client, "2026-12-02T08:00:00Z", **{name: value})
    assert_error(response, 400, "missing_field", field=name)


@pytest.mark.parametrize(
    "start",
    [
        "2026-12-02T09:00:00",  # no zone
        "next Monday at nine",
        "2026-12-02",
        "0001-01-01T00:00:00+01:00",  # before the first instant in UTC
        "9999-12-31T23:59:59-01:00",  # after the last
        "2026-12-02T09:00:00.000000000000000000000+01:00",  # longer than 40 characters
    ],
)
def test_booking_start_that_is_not_a_time(client: FlaskClient, start: str) -> None:
    assert_error(book(client, start), 400, "invalid_start", field="start")


def test_booking_start_that_is_no_bookable_time(app: Flask) -> None:
    client = app.test_client()
    start = as_utc(some_starts(client)[0])
    off_grid = start + timedelta(minutes=15)
    past = start - timedelta(days=35)
    too_far = start + timedelta(days=70)
    closed_day = start + timedelta(days=1)  # Plzeň is closed on Tuesdays and Thursdays
    for when in (off_grid, past, too_far, closed_day):
        assert_error(book(client, iso(when)), 422, "not_bookable")
    assert count_bookings(app) == 0


@pytest.mark.parametrize(
    ("changes", "invalid"),
    [
        ({"email": DROP}, {"email"}),  # neither e-mail nor phone
        ({"email": "", "phone": None}, {"email"}),
        ({"email": "jana@"}, {"email"}),
        ({"email": DROP, "phone": "12"}, {"phone"}),
        ({"name": DROP}, {"name"}),
        ({"name": "<script>"}, {"name"}),
        ({"language": "de"}, {"language"}),
        ({"name": "   ", "email": "x"}, {"name", "email"}),
    ],
)
def test_booking_with_invalid_contact_details(
    app: Flask, changes: dict[str, Any], invalid: set[str]
) -> None:
    client = app.test_client()
    data = assert_error(book(client, some_starts(client)[0], **changes), 422, "invalid_fields")
    assert set(data["fields"]) == invalid
    for messages in data["fields"].values():
        assert messages and all(isinstance(m, str) and m for m in messages)
    assert count_bookings(app) == 0
    assert outbox(app) == []


# Languages


@pytest.mark.parametrize("lang", ["pl", "cs"])
def test_error_messages_come_in_the_language_of_the_request(client: FlaskClient, lang: str) -> None:
    def answers(language: str) -> list[dict[str, Any]]:
        headers = {"Accept-Language": language}
        return [
            client.get("/api/v1/offices/nowhere", headers=headers).get_json(),
            client.post("/api/v1/bookings", json=[], headers=headers).get_json(),
        ]

    english, translated = answers("en"), answers(lang)
    assert english[0]["message"] == "There is no such office."
    for en, other in zip(english, translated, strict=True):
        assert en["error"] == other["error"]
        assert en["message"] != other["message"], f"{other['error']} is not translated to {lang}"


def test_api_answers_are_not_cached_and_set_no_cookie(client) -> None:
    # Public reads may be kept but are checked every time (tests/test_cache.py); a
    # resident's booking never is.
    response = client.get("/api/v1/offices?lang=cs")
    assert response.headers["Cache-Control"] == "no-cache"
    assert "Set-Cookie" not in response.headers
    response = client.get("/api/v1/bookings/ABCD-EFGH", headers={"X-Booking-Token": "x"})
    assert response.status_code == 404
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers
