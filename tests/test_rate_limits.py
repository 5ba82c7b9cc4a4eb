"""What the booking limits count: attempts at booking, not forms sent back to correct."""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import time_machine
from flask import Flask

from booking.admission import DEFAULT_QUESTIONS
from booking.models import BookingStatus
from tests.helpers.apps import make_app
from tests.helpers.bookings import booking_of
from tests.helpers.forms import book_form, csrf_token, local_start, manage_token
from tests.helpers.payloads import booking_payload

TODAY = datetime(2026, 3, 20, 9, tzinfo=UTC)  # a Friday
PLZEN, FLATS, ZONE = "plzen-kontaktni-misto", "volne-byty", "Europe/Prague"
# Zielna admits visitors in person only under the sanitary regime (Plzeň has none).
BYTOM, INSTALMENTS, WARSAW = "bytom-zielna", "raty-umorzenia", "Europe/Warsaw"
KEYS = [key for key, _texts in DEFAULT_QUESTIONS]


@pytest.fixture
def limited(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Flask]:
    app = make_app(
        request,
        tmp_path,
        "sqlite",
        RATELIMIT_ENABLED=True,
        RATELIMIT_STORAGE_URI="memory://",
        RATELIMIT_KEY_PREFIX=uuid.uuid4().hex,
        BOOKING_RATE_LIMIT="10 per hour;3 per minute",
        API_BOOKING_RATE_LIMIT="3 per hour",
    )
    with time_machine.travel(TODAY, tick=True):
        yield app


def start_at(hour: str) -> str:
    return local_start("2026-03-23", hour, ZONE)


def test_typos_on_the_booking_form_do_not_use_up_the_limit(limited: Flask) -> None:
    client = limited.test_client()
    typos = [
        book_form(client, PLZEN, FLATS, start_at("08:00"), email="jan@").status_code,
        book_form(client, PLZEN, FLATS, start_at("08:00"), name="").status_code,
        book_form(client, PLZEN, FLATS, start_at("08:00"), email="jan@example").status_code,
        book_form(client, PLZEN, FLATS, start_at("08:00"), email="", phone="").status_code,
    ]
    assert typos == [422] * 4
    assert book_form(client, PLZEN, FLATS, start_at("08:00")).status_code == 302


def test_over_the_limit_the_form_comes_back_with_what_was_typed(limited: Flask) -> None:
    client = limited.test_client()
    for i, hour in enumerate(("08:00", "08:30", "09:00")):
        response = book_form(client, PLZEN, FLATS, start_at(hour), email=f"r{i}@example.com")
        assert response.status_code == 302
    response = book_form(
        client,
        PLZEN,
        FLATS,
        start_at("09:30"),
        name="Zdeňka Štěpánková",
        email="zdenka@example.cz",
        phone="+420 603 123 456",
        language="cs",
    )
    assert response.status_code == 429
    assert response.headers.get("Retry-After")
    page = html.unescape(response.get_data(as_text=True))
    assert 'value="Zdeňka Štěpánková"' in page
    assert 'value="zdenka@example.cz"' in page
    assert "+420603123456" in page.replace(" ", "")
    assert f'value="{start_at("09:30")}"' in page
    assert 'name="csrf_token"' in page  # sent again later, it books
    assert 'class="flash flash-error"' in page


def api_body(hour: str, **fields: object) -> dict[str, object]:
    fields = {"name": "Jan Novák", "email": f"jan.{hour.replace(':', '')}@example.com", **fields}
    return booking_payload(start_at(hour), office=PLZEN, service=FLATS, **fields)


def test_invalid_api_fields_do_not_use_up_the_api_booking_limit(limited: Flask) -> None:
    client = limited.test_client()
    invalid = [
        client.post("/api/v1/bookings", json=api_body("08:00", email="jan@")).status_code
        for _ in range(5)
    ]
    assert invalid == [422] * 5
    booked = [
        client.post("/api/v1/bookings", json=api_body(hour)).status_code
        for hour in ("08:00", "08:30", "09:00", "09:30")
    ]
    assert booked == [201, 201, 201, 429]
    # A malformed request is no typo: it still counts (here: refused, the limit is used up).
    assert client.post("/api/v1/bookings", json={"office": PLZEN}).status_code == 429


# ---------------------------------------------------------------- moving and rebooking


def warsaw(day: str, at: str) -> datetime:
    return datetime.fromisoformat(local_start(day, at, WARSAW))


def refused_visit(app: Flask) -> str:
    """A visit in person at Zielna on 2026-11-25, refused online the day before: its token.

    A visit in person can be booked again from 2026-12-01; 2026-12-02 is a regime day.
    """
    client = app.test_client()
    with time_machine.travel(datetime(2026, 11, 20, 9, tzinfo=UTC), tick=False):
        start = local_start("2026-11-25", "10:00", WARSAW)
        token = manage_token(book_form(client, BYTOM, INSTALMENTS, start))
    with time_machine.travel(warsaw("2026-11-24", "12:00"), tick=False):
        field = csrf_token(client, f"/manage/{token}/admission")
        answers = {f"q_{k}": "yes" if k == "symptoms" else "no" for k in KEYS}
        refused = client.post(f"/manage/{token}/admission", data={"csrf_token": field, **answers})
        assert refused.status_code == 302
    assert booking_of(app, token).status == BookingStatus.REFUSED
    return token


def declaration(*, leave_out: str | None = None) -> dict[str, str]:
    """The answers that admit (every one "no"), but ``leave_out`` not answered at all."""
    return {"answered": "1", **{f"q_{k}": "no" for k in KEYS if k != leave_out}}


def test_a_question_left_out_on_the_way_back_in_uses_up_no_limit(limited: Flask) -> None:
    """Rebooking after a refusal takes two POSTs (the questions, the answers): a typo on top
    of them is no attempt, and the answers still book at "3 per minute"."""
    token = refused_visit(limited)
    client = limited.test_client()
    url = f"/manage/{token}/reschedule"
    with time_machine.travel(warsaw("2026-11-24", "12:05"), tick=False):
        field = csrf_token(client, f"{url}/2026-12-02")
        chosen = {"csrf_token": field, "start": local_start("2026-12-02", "10:00", WARSAW)}
        sent = [
            client.post(url, data=chosen).status_code,  # the questions
            client.post(url, data={**chosen, **declaration(leave_out="contact")}).status_code,
            client.post(url, data={**chosen, **declaration(leave_out="symptoms")}).status_code,
            client.post(url, data={**chosen, **declaration()}).status_code,
        ]
    assert sent == [200, 422, 422, 302]
    booking = booking_of(limited, token)
    assert booking.status == BookingStatus.BOOKED
    assert booking.starts_at == warsaw("2026-12-02", "10:00")


def test_over_the_limit_the_questions_come_back_with_the_answers(limited: Flask) -> None:
    token = refused_visit(limited)
    client = limited.test_client()
    url = f"/manage/{token}/reschedule"
    later = local_start("2026-12-02", "10:00", WARSAW)
    with time_machine.travel(warsaw("2026-11-24", "12:05"), tick=False):
        field = csrf_token(client, f"{url}/2026-12-02")
        too_soon = {"csrf_token": field, "start": local_start("2026-11-30", "10:00", WARSAW)}
        # Times before the waiting days end need no answers: each is an attempt.
        assert [client.post(url, data=too_soon).status_code for _ in range(3)] == [422] * 3
        answered = {"csrf_token": field, "start": later, **declaration()}
        response = client.post(url, data=answered)
        assert response.status_code == 429
        assert response.headers.get("Retry-After")
        page = response.get_data(as_text=True)
        assert 'class="flash flash-error"' in page
        assert f'name="start" value="{later}"' in page
        assert 'name="answered" value="1"' in page
        for key in KEYS:  # every answer is still given
            assert re.search(rf'<input checked[^>]*name="q_{key}"[^>]*value="no"', page), key
        assert booking_of(limited, token).status == BookingStatus.REFUSED
    with time_machine.travel(warsaw("2026-11-24", "12:07"), tick=False):
        assert client.post(url, data=answered).status_code == 302  # sent again, it books
    assert booking_of(limited, token).starts_at == warsaw("2026-12-02", "10:00")


def test_over_the_limit_a_move_shows_the_days_times_with_the_one_chosen(limited: Flask) -> None:
    client = limited.test_client()
    token = manage_token(book_form(client, PLZEN, FLATS, start_at("08:00")))
    url = f"/manage/{token}/reschedule"
    field = csrf_token(client, f"{url}/2026-03-23")
    moves = [
        client.post(url, data={"csrf_token": field, "start": start_at(hour)}).status_code
        for hour in ("08:30", "09:00", "09:30")
    ]
    assert moves == [302] * 3
    response = client.post(url, data={"csrf_token": field, "start": start_at("10:00")})
    assert response.status_code == 429
    assert response.headers.get("Retry-After")
    page = response.get_data(as_text=True)
    assert 'class="flash flash-error"' in page
    chosen = re.search(rf'value="{start_at("10:00")}">\s*<button([^>]*)>', page)
    assert chosen, "the chosen time is not on the page"
    assert 'aria-current="true"' in chosen.group(1)
    assert 'name="csrf_token"' in page  # chosen again, it moves
    assert booking_of(limited, token).starts_at == datetime.fromisoformat(start_at("09:30"))


def test_the_phone_number_typed_is_kept_when_it_is_not_valid(limited: Flask) -> None:
    token = refused_visit(limited)
    client = limited.test_client()
    with time_machine.travel(warsaw("2026-11-24", "12:05"), tick=False):
        field = csrf_token(client, f"/manage/{token}")
        response = client.post(f"/manage/{token}/phone", data={"csrf_token": field, "phone": "60"})
    assert response.status_code == 422
    assert 'name="phone" id="phone" value="60"' in response.get_data(as_text=True)


def test_over_the_limit_the_phone_page_keeps_the_number_typed(limited: Flask) -> None:
    token = refused_visit(limited)  # booked without a phone number
    client = limited.test_client()
    url = f"/manage/{token}/phone"
    with time_machine.travel(warsaw("2026-11-24", "12:05"), tick=False):
        field = csrf_token(client, f"/manage/{token}")
        no_number = [
            client.post(url, data={"csrf_token": field, "phone": ""}).status_code for _ in range(3)
        ]
        assert no_number == [422] * 3  # a number is needed: each was an attempt
        response = client.post(url, data={"csrf_token": field, "phone": "601 200 300"})
    assert response.status_code == 429
    assert response.headers.get("Retry-After")
    page = response.get_data(as_text=True)
    assert 'name="phone" id="phone" value="601 200 300"' in page
    assert 'class="flash flash-error"' in page
    assert booking_of(limited, token).status == BookingStatus.REFUSED
