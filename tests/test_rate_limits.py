"""What the booking limits count: attempts at booking, not forms sent back to correct."""

from __future__ import annotations

import html
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import time_machine
from flask import Flask

from tests.conftest import book_form, local_start, make_app

TODAY = datetime(2026, 3, 20, 9, tzinfo=UTC)  # a Friday
PLZEN, FLATS, ZONE = "plzen-kontaktni-misto", "volne-byty", "Europe/Prague"


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
    return {
        "office": PLZEN,
        "service": FLATS,
        "start": start_at(hour),
        "name": "Jan Novák",
        "email": f"jan.{hour.replace(':', '')}@example.com",
        "consent": True,
        **fields,
    }


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
