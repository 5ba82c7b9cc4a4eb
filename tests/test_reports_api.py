"""The reports as JSON at /api/v1/reports, for programs holding a staff token: who may read
which office, the errors of a bad request, the figures of a known history, and every
answer as the OpenAPI document describes it."""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any, get_args

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from booking.models import Office
from booking.openapi import GRAINS, KINDS, STAFF_TOKEN
from okienko.database import db
from queueing.models import Role, StaffUser
from reports.catalogue import REPORTS
from reports.scope import Grain, Period, Scope
from reports.table import Kind
from tests.helpers.admin import PLZEN, ZIELNA, make_account
from tests.helpers.apps import make_app
from tests.helpers.factories import MakeOffice, MakeService
from tests.helpers.floor import NOW
from tests.helpers.openapi import MEDIA, SPEC, assert_valid, validator
from tests.helpers.report_history import History
from tests.helpers.staff_tokens import bearer, token_for

API = "/api/v1"
LIST, REPORT, LIVE = "/reports", "/reports/{name}", "/reports/today"
WEEK = {"first": "2026-10-19", "last": "2026-10-25"}


class CheckedApi:
    """Calls the reports' operations and checks each answer against the document."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client
        self.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
        self.seen: set[tuple[str, int, str | None]] = set()

    def __call__(self, name: str | None, token: str | None = None, **query: str) -> Any:
        path = {None: LIST, "today": LIVE}.get(name, REPORT)
        url = API + ("/reports" if name is None else f"/reports/{name}")
        headers = bearer(token) if token else {}
        response = self.client.get(url, query_string=query, headers=headers)
        responses = SPEC["paths"][path]["get"]["responses"]
        status = str(response.status_code)
        assert status in responses, (url, query, status, response.get_data(as_text=True))
        assert response.mimetype == "application/json"
        assert response.headers["Cache-Control"] == "no-store"
        data = response.get_json()
        assert_valid(validator("paths", path, "get", "responses", status, *MEDIA), data)
        for header in responses[status].get("headers", {}):
            assert header in response.headers, (url, header)
        code = data.get("error") if response.status_code >= 400 else None
        self.seen.add((path, response.status_code, code))
        return response


def documented() -> set[tuple[str, int, str | None]]:
    """(path, status, error code or None) of every answer the reports' operations document,
    but the rate limit's."""
    answers = set()
    for path in (LIST, REPORT, LIVE):
        for status, response in SPEC["paths"][path]["get"]["responses"].items():
            if status in ("default", "429"):
                continue
            schema = response["content"]["application/json"]["schema"]
            codes = schema.get("properties", {}).get("error", {}).get("enum", [None])
            answers |= {(path, int(status), code) for code in codes}
    return answers


def token_of(app: Flask, username: str, role: Role, manages: Sequence[str] = ()) -> str:
    """A new account's token."""
    return token_for(app, make_account(app, username, role, manages=manages))


# ----------------------------------------------------------------------- the document


def test_the_reports_are_documented_behind_the_staff_token() -> None:
    scheme = SPEC["components"]["securitySchemes"][STAFF_TOKEN]
    assert scheme["type"] == "http" and scheme["scheme"] == "bearer"
    assert "security" not in SPEC  # the booking API stays open
    for path, item in SPEC["paths"].items():
        for method, operation in item.items():
            expected = [{STAFF_TOKEN: []}] if path.startswith("/reports") else None
            assert operation.get("security") == expected, (method, path)
    report = SPEC["paths"][REPORT]["get"]
    assert {p["name"] for p in report["parameters"] if "name" in p} == {
        "name",
        "office",
        "first",
        "last",
        "grain",
        "service",
    }
    assert "WWW-Authenticate" in report["responses"]["401"]["headers"]


def test_the_document_and_the_reports_use_the_same_words() -> None:
    assert tuple(GRAINS) == get_args(Grain)
    assert set(KINDS) == set(get_args(Kind))


# ----------------------------------------------------------------------- who reads what


def test_who_may_read_which_office(app: Flask) -> None:
    api = CheckedApi(app.test_client())
    administrator = token_of(app, "admin", Role.ADMINISTRATOR)
    manager = token_of(app, "zielna-manager", Role.MANAGER, [ZIELNA])
    nobody = token_of(app, "new-manager", Role.MANAGER)
    clerk = token_of(app, "zielna-clerk", Role.CLERK)
    with app.app_context():
        everyone = list(db.session.scalars(select(Office.slug).order_by(Office.name)))

    def offices(token: str, office: str) -> list[str]:
        response = api("visitors", token, office=office, **WEEK)
        assert response.status_code == 200, response.get_json()
        return response.get_json()["offices"]

    assert offices(administrator, "all") == everyone
    assert offices(administrator, PLZEN) == [PLZEN]
    assert offices(manager, "all") == offices(manager, ZIELNA) == [ZIELNA]
    assert api("visitors", manager, **WEEK).get_json()["offices"] == [ZIELNA]  # all, by default
    assert api("visitors", manager, office=PLZEN, **WEEK).status_code == 403
    assert api("visitors", nobody, office="all", **WEEK).status_code == 403
    assert api(None, nobody).status_code == 200  # the list says what there is to read
    for path in (None, "visitors"):
        refused = api(path, clerk, office=ZIELNA, **WEEK)
        assert refused.status_code == 403 and refused.get_json()["error"] == "forbidden"


def test_a_token_acts_with_its_owners_current_role_and_offices(app: Flask) -> None:
    api = CheckedApi(app.test_client())
    account = make_account(app, "zielna-manager", Role.MANAGER, manages=[ZIELNA, PLZEN])
    token = token_for(app, account)
    assert api("visitors", token, office=PLZEN, **WEEK).status_code == 200
    with app.app_context():
        user = db.session.get(StaffUser, account.id)
        user.managed_offices = [o for o in user.managed_offices if o.slug == ZIELNA]
        db.session.commit()
    assert api("visitors", token, office=PLZEN, **WEEK).status_code == 403
    assert api("visitors", token, office=ZIELNA, **WEEK).status_code == 200
    with app.app_context():
        db.session.get(StaffUser, account.id).role = Role.CLERK
        db.session.commit()
    assert api("visitors", token, office=ZIELNA, **WEEK).status_code == 403


# ----------------------------------------------------------------------- bad requests


def test_without_a_valid_token_the_answer_is_401_with_a_bearer_challenge(app: Flask) -> None:
    client = app.test_client()
    manager = token_of(app, "zielna-manager", Role.MANAGER, [ZIELNA])
    for headers, challenge in [
        ({}, "Bearer realm=okienko"),
        ({"Authorization": "Bearer "}, "Bearer realm=okienko"),  # none, in effect
        (bearer("not-a-token"), "Bearer realm=okienko, error=invalid_token"),
        (bearer("x" * 500), "Bearer realm=okienko, error=invalid_token"),
        (bearer(manager[:-1]), "Bearer realm=okienko, error=invalid_token"),
        ({"Authorization": "Basic dXNlcjpwYXNz"}, "Bearer realm=okienko"),
    ]:
        for url in (f"{API}/reports", f"{API}/reports/visitors", f"{API}/reports/nothing"):
            response = client.get(url, headers=headers, query_string=WEEK)
            assert response.status_code == 401, (headers, url)
            assert response.headers["WWW-Authenticate"] == challenge
            assert response.get_json()["error"] == "unauthorized"
            assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    ("name", "query", "status", "error", "field"),
    [
        ("nothing", WEEK, 404, "unknown_report", None),
        ("visitors", {**WEEK, "office": "nowhere"}, 404, "unknown_office", "office"),
        ("visitors", {**WEEK, "service": "nothing"}, 404, "unknown_service", "service"),
        # Plzeň's services are not Zielna's: the filter names a service of the report's offices.
        ("visitors", {**WEEK, "service": "volne-byty"}, 404, "unknown_service", "service"),
        ("visitors", {"last": "2026-10-25"}, 400, "invalid_parameter", "first"),
        ("visitors", {**WEEK, "first": "19 October"}, 400, "invalid_parameter", "first"),
        ("visitors", {**WEEK, "last": "2026-02-30"}, 400, "invalid_parameter", "last"),
        ("visitors", {**WEEK, "last": "20261025"}, 400, "invalid_parameter", "last"),
        ("visitors", {**WEEK, "first": "1999-12-31"}, 400, "invalid_parameter", "first"),
        ("visitors", {**WEEK, "last": "9999-12-31"}, 400, "invalid_parameter", "last"),
        ("visitors", {**WEEK, "grain": "year"}, 400, "invalid_parameter", "grain"),
        ("visitors", {"first": "2026-10-25", "last": "2026-10-19"}, 400, "invalid_range", None),
        ("visitors", {"first": "2026-01-01", "last": "2029-01-01"}, 400, "invalid_range", None),
        ("visitors", {"first": "2028-02-29", "last": "2031-03-01"}, 400, "invalid_range", None),
    ],
)
def test_a_bad_request_gets_its_error(
    app: Flask, name: str, query: dict[str, str], status: int, error: str, field: str | None
) -> None:
    api = CheckedApi(app.test_client())
    manager = token_of(app, "zielna-manager", Role.MANAGER, [ZIELNA])
    response = api(name, manager, **{"office": ZIELNA, **query})
    assert response.status_code == status
    body = response.get_json()
    assert body["error"] == error and body.get("field") == field
    assert body["message"]


def test_errors_speak_the_readers_language(app: Flask) -> None:
    manager = token_of(app, "zielna-manager", Role.MANAGER, [ZIELNA])
    client = app.test_client()

    def message(language: str) -> str:
        headers = {**bearer(manager), "Accept-Language": language}
        answer = client.get(f"{API}/reports/nothing", headers=headers, query_string=WEEK)
        return str(answer.get_json()["message"])

    assert message("en") == "There is no such report."
    assert message("pl") == "Nie ma takiego raportu."
    assert message("cs") == "Takový přehled neexistuje."
    titles = client.get(f"{API}/reports?lang=en", headers=bearer(manager)).get_json()
    assert {"name": "visitors", "title": "Visitors served"} in titles


def test_three_years_at_most(app: Flask) -> None:
    api = CheckedApi(app.test_client())
    manager = token_of(app, "zielna-manager", Role.MANAGER, [ZIELNA])
    longest = {"first": "2028-02-29", "last": "2031-02-28", "grain": "month"}
    response = api("visitors", manager, office=ZIELNA, **longest)
    assert response.status_code == 200
    assert response.get_json()["first"] == "2028-02-29"


def test_too_many_requests_are_refused_like_the_rest_of_the_api(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    app = make_app(request, tmp_path, "sqlite", RATELIMIT_ENABLED=True, API_RATE_LIMIT="1/minute")
    api = CheckedApi(app.test_client())
    assert api("visitors").status_code == 401  # counted before the token is looked at
    limited = api("visitors")
    assert limited.status_code == 429 and limited.get_json()["error"] == "rate_limited"
    assert "Retry-After" in limited.headers


# ----------------------------------------------------------------------- the figures


@pytest.fixture
def week(any_app: Flask, make_office: MakeOffice, make_service: MakeService) -> None:
    """The week of 19 October 2026 in two offices that both offer "meldunek": Alpha serves
    three walk-ins on Monday (one of them for "inne"; one more does not come when called)
    and an appointment on Tuesday; Beta serves one walk-in."""
    alpha = make_office("alpha", name="Alpha", counters=["Counter 1"])
    beta = make_office("beta", name="Beta", counters=["Counter 1"])
    meldunek, inne = make_service(alpha, "meldunek"), make_service(alpha, "inne")
    beta_meldunek = make_service(beta, "meldunek")
    history = History(any_app)
    ala = history.clerk(alpha, "ala", "Counter 1")
    ola = history.clerk(beta, "ola", "Counter 1")
    first = history.walk_in(meldunek, "2026-10-19 09:00")
    second = history.walk_in(meldunek, "2026-10-19 09:05")
    third = history.walk_in(inne, "2026-10-19 09:10")
    gone = history.walk_in(meldunek, "2026-10-19 09:15")
    history.serve(ala, first, "2026-10-19 09:02", "2026-10-19 09:10")
    history.serve(ala, second, "2026-10-19 09:11", "2026-10-19 09:20")
    history.serve(ala, third, "2026-10-19 09:21", "2026-10-19 09:30")
    history.missed(ala, gone, "2026-10-19 09:31")
    booked = history.book(meldunek, "2026-10-20 10:00", "2026-10-12 12:00")
    visit = history.check_in(booked, "2026-10-20 09:55")
    history.serve(ala, visit, "2026-10-20 10:01", "2026-10-20 10:15")
    elsewhere = history.walk_in(beta_meldunek, "2026-10-19 11:00")
    history.serve(ola, elsewhere, "2026-10-19 11:01", "2026-10-19 11:05")


def visitors(api: CheckedApi, token: str, **query: str) -> dict[str, Any]:
    response = api("visitors", token, **WEEK, **query)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def table(answer: dict[str, Any], key: str) -> dict[str, Any]:
    [found] = [t for t in answer["tables"] if t["key"] == key]
    return found


def test_the_figures_of_a_known_week(any_app: Flask, week: None) -> None:
    app = any_app
    api = CheckedApi(app.test_client())
    manager = token_of(app, "alpha-manager", Role.MANAGER, ["alpha"])
    administrator = token_of(app, "admin", Role.ADMINISTRATOR)

    answer = visitors(api, manager, office="alpha")
    assert {k: v for k, v in answer.items() if k != "tables"} == {
        "report": "visitors",
        "title": "Visitors served",
        "offices": ["alpha"],
        "first": "2026-10-19",
        "last": "2026-10-25",
        "grain": "day",
        "service": None,
    }
    by_time = table(answer, "by_time")
    assert by_time["columns"][0] == {"key": "period", "label": "Day", "kind": "date"}
    assert {"key": "total", "label": "Total", "kind": "int"} in by_time["columns"]
    days = {row["period"]: row for row in by_time["rows"]}
    assert list(days) == [f"2026-10-{d}" for d in range(19, 26)]
    assert days["2026-10-19"] == {
        "period": "2026-10-19",
        "appointments": 0,
        "walk_ins": 3,
        "in_person": 3,
        "phone": 0,
        "total": 3,
    }
    assert days["2026-10-20"]["appointments"] == 1 and days["2026-10-20"]["total"] == 1
    assert [row["total"] for row in by_time["rows"][2:]] == [0] * 5
    assert table(answer, "totals")["rows"] == [
        {"appointments": 1, "walk_ins": 3, "in_person": 4, "phone": 0, "total": 4}
    ]

    only = visitors(api, manager, office="alpha", service="meldunek")
    assert only["service"] == "meldunek"
    assert table(only, "totals")["rows"][0]["total"] == 3  # "inne" left out

    everywhere = visitors(api, administrator, service="meldunek", grain="week")
    assert {"alpha", "beta"} <= set(everywhere["offices"])  # and the demo offices
    weeks = table(everywhere, "by_time")["rows"]
    assert [(row["period"], row["total"]) for row in weeks] == [("2026-10-19", 4)]


def test_every_report_answers_as_it_builds_and_as_documented(
    any_app: Flask, week: None, clock: Any
) -> None:
    """Each report there is (others are still being written): the API gives what ``build``
    makes, each value as JSON has it, in the described shape."""
    app = any_app
    api = CheckedApi(app.test_client())
    manager = token_of(app, "alpha-manager", Role.MANAGER, ["alpha"])
    listed = api(None, manager).get_json()
    assert [entry["name"] for entry in listed] == list(REPORTS)
    for entry in REPORTS.values():
        if importlib.util.find_spec(f"reports.{entry.module}") is None:
            continue
        for grain in GRAINS:
            answer = api(entry.name, manager, office="alpha", grain=grain, **WEEK)
            assert answer.status_code == 200, (entry.name, answer.get_json())
            with app.test_request_context("/?lang=en"):
                alpha = db.session.scalar(select(Office.id).where(Office.slug == "alpha"))
                period = Period(date(2026, 10, 19), date(2026, 10, 25), grain)
                built = entry.build(db.session(), Scope((alpha,)), period, locale="en", now=NOW)
                expected = [
                    {
                        "key": t.key,
                        "title": str(t.title),
                        "columns": [[c.key, str(c.label), c.kind] for c in t.columns],
                        "rows": [
                            {c.key: as_json(row.get(c.key)) for c in t.columns} for row in t.rows
                        ],
                    }
                    for t in built.tables
                ]
            tables = [
                {**t, "columns": [[c["key"], c["label"], c["kind"]] for c in t["columns"]]}
                for t in answer.get_json()["tables"]
            ]
            assert tables == expected, (entry.name, grain)


def as_json(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def test_every_documented_answer_of_the_reports_is_given(app: Flask) -> None:
    api = CheckedApi(app.test_client())
    manager = token_of(app, "zielna-manager", Role.MANAGER, [ZIELNA])
    clerk = token_of(app, "zielna-clerk", Role.CLERK)
    good = {"office": ZIELNA, **WEEK}
    api(None, manager)
    api(None, "wrong")
    api(None, clerk)
    api("visitors", manager, **good)
    api("visitors", "wrong", **good)
    api("visitors", manager, **{**good, "office": PLZEN})
    api("visitors", manager, **{**good, "first": "tomorrow"})
    api("visitors", manager, **{**good, "first": "2026-10-26"})
    api("nothing", manager, **good)
    api("visitors", manager, **{**good, "office": "nowhere"})
    api("visitors", manager, **{**good, "service": "nothing"})
    api("today", manager, office=ZIELNA)
    api("today", "wrong", office=ZIELNA)
    api("today", clerk, office=ZIELNA)
    api("today", manager)  # all offices: the live report is of one floor
    api("today", manager, office=PLZEN)
    api("today", manager, office="nowhere")
    assert api.seen == documented()
