"""The bot challenge (ALTCHA) on online bookings: real challenges from the server, solved
here by brute force as a client would, through the resident's form and the JSON API."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, update

from booking import challenge
from booking.admission import DEFAULT_QUESTIONS
from booking.models import Booking, Office, UsedChallenge
from okienko import scheduler
from okienko.database import db, utcnow
from tests.helpers.altcha import solve, solved
from tests.helpers.api import OFFICE, SERVICE, body, some_starts
from tests.helpers.apps import make_app
from tests.helpers.forms import csrf_token

# Small enough to solve in a few milliseconds here; the protocol is the real one.
CONFIG = {"ALTCHA_HMAC_KEY": "test-" + "k" * 40, "ALTCHA_MAX_NUMBER": 2000}
WIDGET = re.compile(r'<altcha-widget name="([^"]+)" challengeurl="([^"]+)"')


def challenged_app(request: pytest.FixtureRequest, tmp_path: Path, **config: Any) -> Flask:
    return make_app(request, tmp_path, "sqlite", **{**CONFIG, **config})


@pytest.fixture
def everywhere(request: pytest.FixtureRequest, tmp_path: Path) -> Flask:
    """The installation asks every office (BOT_CHALLENGE)."""
    return challenged_app(request, tmp_path, BOT_CHALLENGE=True)


def bookings(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(Booking.id))) or 0


def form_page(office: str, service: str, start: str) -> str:
    return f"/o/{office}/{service}/book?start={start}"


def post_form(client: FlaskClient, start: str, **extra: str) -> Any:
    """The booking form's own fields, as the browser sends them, and ``extra``."""
    page = form_page(OFFICE, SERVICE, start)
    data = {
        "csrf_token": csrf_token(client, page),
        "start": start,
        "name": "Jana Nováková",
        "email": "jana@example.com",
        "phone": "",
        "language": "cs",
        **{f"q_{key}": "no" for key, _texts in DEFAULT_QUESTIONS},
        **extra,
    }
    return client.post(page.split("?")[0], data=data)


# ----------------------------------------------------------------------------- the form


def test_form_books_with_a_solved_challenge_and_refuses_without(everywhere: Flask) -> None:
    client = everywhere.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    start = some_starts(client)[0]
    page = client.get(form_page(OFFICE, SERVICE, start)).get_data(as_text=True)
    widget = WIDGET.search(page)
    assert widget, "the form has no challenge widget"
    field, url = widget.groups()
    assert url == "/api/v1/challenge"
    assert "vendor/altcha/altcha.js" in page and 'type="module"' in page

    # Without the solution: 422, the error summary says why, and what was typed stays.
    refused = post_form(client, start, name="Jana Nováková")
    text = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert "data-error-summary" in text and 'href="#bot-check"' in text
    assert "not a robot" in text
    assert 'value="Jana Nováková"' in text and 'value="jana@example.com"' in text
    # A made-up answer is refused the same way.
    assert post_form(client, start, **{field: "bm90IGEgcGF5bG9hZA=="}).status_code == 422
    assert bookings(everywhere) == 0

    answer = solve(client.get(url).get_json())
    booked = post_form(client, start, **{field: answer})
    assert booked.status_code == 302, booked.get_data(as_text=True)[:800]
    assert "/manage/" in booked.headers["Location"]
    assert bookings(everywhere) == 1

    # The same answer again: refused, in the user's language, with the fields kept.
    again = post_form(client, some_starts(client)[1], **{field: answer})
    assert again.status_code == 422
    assert "already been used" in again.get_data(as_text=True)
    assert bookings(everywhere) == 1


def test_form_messages_are_in_the_residents_language(everywhere: Flask) -> None:
    client = everywhere.test_client()
    client.get("/?lang=pl")
    start = some_starts(client)[0]
    text = post_form(client, start).get_data(as_text=True)
    assert '<html lang="pl">' in text
    page = client.get(form_page(OFFICE, SERVICE, start)).get_data(as_text=True)
    assert "strings=" in page  # the widget's own texts come from the template


# ------------------------------------------------------------------------------ the API


def test_api_challenge_is_fresh_signed_and_not_cached(everywhere: Flask) -> None:
    client = everywhere.test_client()
    first, second = (client.get("/api/v1/challenge") for _ in range(2))
    assert first.headers["Cache-Control"] == "no-store"
    one, two = first.get_json(), second.get_json()
    assert set(one) == {"algorithm", "challenge", "maxnumber", "salt", "signature"}
    assert one["algorithm"] == "SHA-256" and one["maxnumber"] == 2000
    assert "expires=" in one["salt"] and one["salt"] != two["salt"]


def test_api_booking_needs_a_solution_once(everywhere: Flask) -> None:
    client = everywhere.test_client()
    starts = some_starts(client)
    missing = client.post("/api/v1/bookings", json=body(starts[0]))
    assert missing.status_code == 422
    assert missing.get_json()["error"] == "challenge_required"

    forged = client.post("/api/v1/bookings", json=body(starts[0], altcha="e30="))
    assert (forged.status_code, forged.get_json()["error"]) == (422, "challenge_invalid")

    answer = solved(client)
    ok = client.post("/api/v1/bookings", json=body(starts[0], altcha=answer))
    assert ok.status_code == 201, ok.get_json()

    replay = client.post(
        "/api/v1/bookings", json=body(starts[1], altcha=answer), headers={"Accept-Language": "cs"}
    )
    assert (replay.status_code, replay.get_json()["error"]) == (422, "challenge_used")
    assert bookings(everywhere) == 1


def test_a_solution_not_spent_when_nothing_is_booked(everywhere: Flask) -> None:
    """A refused booking (here: a time that cannot be booked) leaves the answer unused."""
    client = everywhere.test_client()
    start = some_starts(client)[0]
    answer = solved(client)
    off_grid = start.replace(":00Z", ":07Z") if start.endswith(":00Z") else start[:-3] + "07Z"
    refused = client.post("/api/v1/bookings", json=body(off_grid, altcha=answer))
    assert refused.status_code in (409, 422) and refused.get_json()["error"] != "challenge_used"
    assert client.post("/api/v1/bookings", json=body(start, altcha=answer)).status_code == 201


def test_an_expired_challenge_is_refused(everywhere: Flask) -> None:
    client = everywhere.test_client()
    start = some_starts(client)[0]
    with everywhere.test_request_context():
        old = challenge.new_challenge(utcnow() - timedelta(minutes=challenge.CHALLENGE_MINUTES + 1))
    answer = solve(old)
    response = client.post("/api/v1/bookings", json=body(start, altcha=answer))
    assert (response.status_code, response.get_json()["error"]) == (422, "challenge_expired")


def test_spent_answers_are_deleted_once_expired(everywhere: Flask) -> None:
    client = everywhere.test_client()
    starts = some_starts(client)
    assert (
        client.post("/api/v1/bookings", json=body(starts[0], altcha=solved(client))).status_code
        == 201
    )
    with everywhere.app_context():
        assert db.session.scalar(select(func.count()).select_from(UsedChallenge)) == 1
        later = utcnow() + timedelta(minutes=challenge.CHALLENGE_MINUTES + 1)
        with everywhere.test_request_context():
            fresh = solve(challenge.new_challenge(later))
            challenge.spend(db.session(), fresh, later)
        db.session.commit()
        assert db.session.scalar(select(func.count()).select_from(UsedChallenge)) == 2
    # The hourly retention job deletes the expired one, not the new one.
    with time_machine.travel(later, tick=False):
        scheduler._app = everywhere
        scheduler.run_job("retention")
    with everywhere.app_context():
        assert db.session.scalar(select(func.count()).select_from(UsedChallenge)) == 1


# ------------------------------------------------------------------- on and off, by office


def test_off_by_default(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    app = challenged_app(request, tmp_path)
    client = app.test_client()
    start = some_starts(client)[0]
    assert "altcha-widget" not in client.get(form_page(OFFICE, SERVICE, start)).get_data(
        as_text=True
    )
    assert client.post("/api/v1/bookings", json=body(start)).status_code == 201


def test_one_office_asks_for_it(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    app = challenged_app(request, tmp_path)
    with app.app_context():
        db.session.execute(update(Office).where(Office.slug == OFFICE).values(bot_challenge=True))
        db.session.commit()
    client = app.test_client()
    start = some_starts(client)[0]
    assert "altcha-widget" in client.get(form_page(OFFICE, SERVICE, start)).get_data(as_text=True)
    assert client.post("/api/v1/bookings", json=body(start)).status_code == 422
    assert (
        client.post("/api/v1/bookings", json=body(start, altcha=solved(client))).status_code == 201
    )


def test_doctor_wants_the_key_in_the_environment_only_when_in_use(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ALTCHA_HMAC_KEY", raising=False)
    app = make_app(request, tmp_path, "sqlite")
    assert app.config["ALTCHA_HMAC_KEY_SOURCE"].startswith("generated into ")
    with app.app_context():
        (quiet,) = challenge.check_hmac_key(app.config)
        assert quiet.status == "ok"
        app.config["BOT_CHALLENGE"] = True
        (problem,) = challenge.check_hmac_key(app.config)
    assert problem.status == "PROBLEM" and "ALTCHA_HMAC_KEY" in (problem.fix or "")
