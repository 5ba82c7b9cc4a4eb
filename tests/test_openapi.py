"""The OpenAPI document is valid, names exactly the routes of /api/v1, and every status and
error code it documents is one the running app really gives, in the documented shape."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openapi_spec_validator import validate
from sqlalchemy import update  # [altcha]
from werkzeug.test import TestResponse

from booking import challenge  # [altcha]
from booking.models import Office  # [altcha]
from okienko.database import db, utcnow  # [altcha]
from tests.helpers.admission import ADMITTED
from tests.helpers.altcha import solve  # [altcha]
from tests.helpers.api import (  # [confirm] DROP
    DROP,
    OFFICE,
    SERVICE,
    body,
    free_starts,
    local_today,
    some_starts,
)
from tests.helpers.apps import make_app
from tests.helpers.openapi import MEDIA, SPEC, assert_valid, validator

PREFIX = "/api/v1"
HTTP_METHODS = {"get", "put", "post", "delete", "patch"}


def operations() -> list[tuple[str, str]]:
    return [(m, path) for path, item in SPEC["paths"].items() for m in item if m in HTTP_METHODS]


def documented(status_filter: Any = lambda status: True) -> set[tuple[str, str, str, Any]]:
    """(method, path, status, error code or None) for every documented answer."""
    answers = set()
    for method, path in operations():
        for status, response in SPEC["paths"][path][method]["responses"].items():
            if status == "default" or not status_filter(status):
                continue
            schema = response["content"]["application/json"]["schema"]  # every answer is JSON
            codes = schema.get("properties", {}).get("error", {}).get("enum", [None])
            answers |= {(method, path, status, code) for code in codes}
    return answers


class CheckedApi:
    """Calls operations by their documented path and checks each answer against the document."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client
        self.seen: set[tuple[str, str, str, Any]] = set()

    def __call__(self, method: str, path: str, params: dict[str, str] | None = None, **kw: Any):
        url = PREFIX + path.format(**(params or {}))
        response: TestResponse = self.client.open(url, method=method.upper(), **kw)
        responses = SPEC["paths"][path][method]["responses"]
        status = str(response.status_code)
        assert status in responses, (method, path, status, response.get_data(as_text=True))
        assert response.mimetype == "application/json"
        data = response.get_json()
        assert_valid(validator("paths", path, method, "responses", status, *MEDIA), data)
        for header in responses[status].get("headers", {}):
            assert header in response.headers, (method, path, header)
        code = data.get("error") if response.status_code >= 400 else None
        self.seen.add((method, path, status, code))
        return response


def test_document_is_valid_openapi_3_1() -> None:
    assert SPEC["openapi"].startswith("3.1")
    validate(SPEC)


def test_document_is_served(client: FlaskClient) -> None:
    response = client.get(f"{PREFIX}/openapi.json")
    assert response.status_code == 200
    assert response.get_json() == SPEC


def test_every_route_is_documented_and_every_operation_exists(app: Flask) -> None:
    routes = {
        (method.lower(), re.sub(r"<(?:[^<>:]+:)?([^<>]+)>", r"{\1}", rule.rule[len(PREFIX) :]))
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith(PREFIX + "/")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert len(routes) == 14  # [altcha] GET /challenge
    assert routes == set(operations())


def test_path_parameters_match_the_paths() -> None:
    for method, path in operations():
        declared = {
            p["name"] for p in SPEC["paths"][path][method]["parameters"] if p.get("in") == "path"
        }
        assert declared == set(re.findall(r"{(\w+)}", path)), (method, path)
    for path in ("/bookings/{code}", "/bookings/{code}/cancel"):
        [operation] = [op for m, op in SPEC["paths"][path].items() if m in HTTP_METHODS]
        headers = [p for p in operation["parameters"] if p.get("in") == "header"]
        assert [(p["name"], p["required"]) for p in headers] == [("X-Booking-Token", True)]


def test_booking_request_schema_agrees_with_the_api() -> None:
    request = validator("components", "schemas", "BookingRequest")
    good = body("2026-12-02T08:00:00Z")
    assert_valid(request, good)
    assert_valid(request, {**good, "email": None, "phone": "+420 378 032 222", "language": "en"})
    # Booking needs no consent: without it, or with the field older clients still send.
    assert_valid(request, {k: v for k, v in good.items() if k != "consent"})
    assert_valid(request, {**good, "consent": False})
    for bad in (
        {**good, "age": 40},  # 400 unknown_field
        {**good, "consent": "yes"},  # 400 invalid_type
        {**good, "office": ""},  # 400 missing_field
        {k: v for k, v in good.items() if k != "start"},  # 400 missing_field
        {k: v for k, v in good.items() if k != "email"},  # 422: e-mail or phone
        {**good, "email": "", "phone": None},  # 422: e-mail or phone
        {**good, "language": "de"},  # 422 invalid_fields
    ):
        assert not request.is_valid(bad), bad


def test_every_documented_answer_is_given_and_matches_its_schema(any_app: Flask) -> None:
    api = CheckedApi(any_app.test_client())
    office, service = {"slug": OFFICE}, {"slug": OFFICE, "key": SERVICE}
    nowhere = {"slug": "nowhere", "key": SERVICE}
    api("get", "/openapi.json")
    api("get", "/offices")
    for path in ("/offices/{slug}", "/offices/{slug}/services"):
        api("get", path, office)
        api("get", path, nowhere)

    for path in ("/offices/{slug}/hours", "/offices/{slug}/queue"):
        api("get", path, office)
        api("get", path, nowhere)
    api("get", "/offices/{slug}/hours", office, query_string={"days": "60", "lang": "en"})
    api("get", "/offices/{slug}/hours", office, query_string={"days": "61"})

    free = "/offices/{slug}/services/{key}/availability"
    api("get", free, service)
    api("get", free, service, query_string={"from": str(local_today()), "to": "2099-01-01"})
    api("get", free, service, query_string={"from": "1 December"})
    api("get", free, nowhere)
    api("get", free, {"slug": OFFICE, "key": "nothing"})

    starts = some_starts(api.client)
    create = "/bookings"
    first = api("post", create, json=body(starts[0])).get_json()
    api("post", create, json=body(starts[0], email="petr@example.com"))
    api("post", create, json=body(starts[0], email="eva@example.com"))  # slot_taken
    api("post", create, json=body(starts[2]))
    api("post", create, json=body(starts[4]))  # too_many_bookings
    api("post", create, json=[])
    api("post", create, json={**body(starts[4]), "age": 40})
    api("post", create, json=body(starts[4], consent="yes"))
    api("post", create, json=body(starts[4], office=""))
    api("post", create, json=body("tomorrow at nine"))
    api("post", create, json=body(starts[4], office="nowhere"))
    api("post", create, json=body(starts[4], service="nothing"))
    api("post", create, json=body(starts[4], language="de"))  # invalid_fields
    api("post", create, json=body("2020-01-01T08:00:00Z"))  # not_bookable
    api("post", create, json=body(starts[4], mode="by pigeon"))  # invalid_mode
    api("post", create, json=body(starts[4], email="ola@example.com", mode="phone"))  # no phone
    # Bytom admits visitors under a sanitary regime: the declaration is required, and a
    # refusing answer is refused with the remote channels.
    bytom = {"office": "bytom-zielna", "service": "raty-umorzenia"}
    first_bytom = local_today("bytom-zielna") + timedelta(days=2)
    span = {"from": str(first_bytom), "to": str(first_bytom + timedelta(days=13))}
    regime_start = free_starts(api.client, **bytom, **span)[0]
    api("post", create, json=body(regime_start, **bytom))  # answers_missing
    refusing = {**ADMITTED, "symptoms": True}
    api("post", create, json=body(regime_start, **bytom, declaration=refusing))  # not_admitted
    api("post", create, data="[" * 140_000, content_type="application/json")  # over 128 KiB

    code, token = {"code": first["code"]}, {"X-Booking-Token": first["token"]}
    for path in ("/bookings/{code}", "/bookings/{code}/cancel"):
        method = "get" if path == "/bookings/{code}" else "post"
        api(method, path, code, headers={"X-Booking-Token": "wrong"})
        api(method, path, code, headers=token)
    api("post", "/bookings/{code}/cancel", code, headers=token)  # not_active

    # [altcha] An office that asks for the bot challenge: each of its refusals, and a pass.
    with any_app.app_context():
        db.session.execute(update(Office).where(Office.slug == OFFICE).values(bot_challenge=True))
        db.session.commit()
        with any_app.test_request_context():
            old = challenge.new_challenge(utcnow() - timedelta(hours=1))
    zofia = {"email": "zofia@example.com"}
    api("post", create, json=body(starts[6], **zofia))  # challenge_required
    api("post", create, json=body(starts[6], **zofia, altcha="e30="))  # challenge_invalid
    api("post", create, json=body(starts[6], **zofia, altcha=solve(old)))  # challenge_expired
    answer = solve(api("get", "/challenge").get_json())
    assert api("post", create, json=body(starts[6], **zofia, altcha=answer)).status_code == 201
    api("post", create, json=body(starts[8], **zofia, altcha=answer))  # challenge_used

    # [confirm] An office that confirms bookings by e-mail: a booking is pending (with its
    # confirm_by), and one without an e-mail address is refused.
    with any_app.app_context():
        db.session.execute(
            update(Office)
            .where(Office.slug == OFFICE)
            .values(bot_challenge=False, confirm_by_mail=True)
        )
        db.session.commit()
    adam = {"email": "adam@example.com"}
    pending = api("post", create, json=body(starts[10], **adam)).get_json()
    assert pending["status"] == "pending" and "confirm_by" in pending
    api(
        "get",
        "/bookings/{code}",
        {"code": pending["code"]},
        headers={"X-Booking-Token": pending["token"]},
    )
    api("post", create, json=body(starts[12], email=DROP, phone="+420601123456"))  # email_needed

    # The reports' answers need staff tokens: tests/test_reports_api.py gives each of them.
    answers = documented(lambda status: status != "429")
    assert api.seen == {a for a in answers if not a[1].startswith("/reports")}


def test_rate_limited_answers_match_their_schema(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    app = make_app(
        request,
        tmp_path,
        "sqlite",
        RATELIMIT_ENABLED=True,
        API_RATE_LIMIT="1 per minute",
        API_BOOKING_RATE_LIMIT="1 per minute",
    )
    api = CheckedApi(app.test_client())
    params = {"slug": OFFICE, "key": SERVICE, "code": "AAAAAAAA", "name": "visitors"}
    for method, path in operations():
        for _ in range(2):
            api(method, path, params, json={})
    assert {answer for answer in api.seen if answer[2] == "429"} == documented(
        lambda status: status == "429"
    )


def test_other_errors_have_the_documented_default_shape(client: FlaskClient) -> None:
    error = validator("components", "schemas", "Error")
    for response in (client.delete(f"{PREFIX}/offices"), client.get(f"{PREFIX}/nothing/here")):
        assert response.status_code in (404, 405)
        assert_valid(error, response.get_json())
