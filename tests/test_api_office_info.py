"""What a portal or a voice bot answers from: an office's opening hours, each service's next
free start and the queue now, in the office's own language unless the request asks for one.

Plzeň (the demo office: Monday and Wednesday 08:00-17:00 in Europe/Prague, two counters) at
10:00 on Wednesday 1 April 2026: Good Friday (3 April) and Easter Monday (6 April) are public
holidays in Czechia, so the Monday after is closed.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time
from typing import Any

import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient

from booking.cli import find_office
from booking.models import Closure
from booking.offices import service_by_key
from booking.versions import touch
from okienko.database import db
from okienko.transaction import unit_of_work
from queueing.arrival import walk_in
from tests.helpers.api import OFFICE, free_starts
from tests.helpers.factories import MakeOffice

NOW = datetime(2026, 4, 1, 8, 0, tzinfo=UTC)  # Wednesday, 10:00 in Plzeň (CEST)
PLZEN = f"/api/v1/offices/{OFFICE}"
SERVICES = ("volne-byty", "jak-ziskat-byt", "zmena-registrace")


@pytest.fixture
def clock() -> Iterator[Any]:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def ok(client: FlaskClient, url: str, **kw: Any) -> Any:
    response = client.get(url, **kw)
    assert response.status_code == 200, response.get_json()
    return response


def close_plzen(app: Flask, *closures: Closure) -> None:
    with app.app_context(), unit_of_work() as session:
        office = find_office(OFFICE)
        office.closures.extend(closures)
        touch(session, office.id)


def by_date(days: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {d["date"]: d for d in days}


# Opening hours


def test_plzen_hours_week_holidays_and_closures(any_app: Flask, clock: Any) -> None:
    client = any_app.test_client()
    close_plzen(
        any_app,
        Closure(first_day=date(2026, 4, 8), last_day=date(2026, 4, 8), reason="Sanitární den"),
        Closure(
            first_day=date(2026, 4, 13),
            last_day=date(2026, 4, 13),
            starts=time(10, 0),
            ends=time(12, 0),
            reason="Porada",
        ),
    )
    data = ok(client, f"{PLZEN}/hours").get_json()
    assert data["office"] == OFFICE and data["timezone"] == "Europe/Prague"
    nine_to_five = [{"opens": "08:00", "closes": "17:00"}]
    assert data["week"] == [
        {"weekday": day, "hours": nine_to_five if day in ("mon", "wed") else []}
        for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    ]
    days = by_date(data["days"])
    assert len(data["days"]) == 14 and data["days"][0]["date"] == "2026-04-01"
    assert days["2026-04-01"] == {
        "date": "2026-04-01",
        "weekday": "wed",
        "open": True,
        "hours": [
            {
                "opens": "08:00",
                "closes": "17:00",
                "opens_at": "2026-04-01T06:00:00Z",
                "closes_at": "2026-04-01T15:00:00Z",
            }
        ],
        "holiday": None,
        "closures": [],
    }
    assert not days["2026-04-02"]["open"] and days["2026-04-02"]["hours"] == []  # Thursday
    good_friday, easter_monday = days["2026-04-03"], days["2026-04-06"]
    assert good_friday["holiday"] and not good_friday["open"]
    assert easter_monday["holiday"] == "Velikonoční pondělí"  # Czech: the office's language
    assert not easter_monday["open"] and easter_monday["hours"] == []
    closed = days["2026-04-08"]
    assert not closed["open"]
    assert closed["closures"] == [{"from": None, "to": None, "note": "Sanitární den"}]
    part = days["2026-04-13"]
    assert [(h["opens"], h["closes"]) for h in part["hours"]] == [
        ("08:00", "10:00"),
        ("12:00", "17:00"),
    ]
    assert part["closures"] == [{"from": "10:00", "to": "12:00", "note": "Porada"}]

    english = ok(client, f"{PLZEN}/hours?lang=en").get_json()
    assert by_date(english["days"])["2026-04-06"]["holiday"] == "Easter Monday"
    assert len(ok(client, f"{PLZEN}/hours?days=60").get_json()["days"]) == 60


@pytest.mark.parametrize("days", ["0", "61", "abc", "-1", "1e2", "٣"])
def test_days_out_of_range(client: FlaskClient, days: str) -> None:
    response = client.get(f"{PLZEN}/hours", query_string={"days": days})
    data = response.get_json()
    assert (response.status_code, data["error"], data["field"]) == (
        400,
        "invalid_parameter",
        "days",
    )


def test_hours_across_the_change_to_summer_time(
    any_app: Flask, make_office: MakeOffice, clock: Any
) -> None:
    """On 29 March 2026 Prague's clocks jump from 02:00 to 03:00: 01:00-04:00 lasts two hours
    that day, and every day still reads 01:00-04:00 on the wall."""
    office = make_office(
        timezone="Europe/Prague", country="CZ", hours={"daily": "01:00-04:00"}, language="cs"
    )
    clock.move_to(datetime(2026, 3, 28, 12, 0, tzinfo=UTC))
    data = ok(any_app.test_client(), f"/api/v1/offices/{office.slug}/hours?days=3").get_json()
    assert [(d["date"], d["hours"]) for d in data["days"]] == [
        (
            day,
            [{"opens": "01:00", "closes": "04:00", "opens_at": opens, "closes_at": closes}],
        )
        for day, opens, closes in (
            ("2026-03-28", "2026-03-28T00:00:00Z", "2026-03-28T03:00:00Z"),
            ("2026-03-29", "2026-03-29T00:00:00Z", "2026-03-29T02:00:00Z"),
            ("2026-03-30", "2026-03-29T23:00:00Z", "2026-03-30T02:00:00Z"),
        )
    ]


# The next free start


def test_next_free_start_is_the_first_start_the_availability_lists(
    any_app: Flask, clock: Any
) -> None:
    client = any_app.test_client()
    office = ok(client, PLZEN).get_json()
    listing = ok(client, f"{PLZEN}/services").get_json()
    assert [s["key"] for s in office["services"]] == list(SERVICES)
    assert listing == office["services"]
    for service in office["services"]:
        first = free_starts(client, service=service["key"])[0]
        assert service["next_free_start"] == first
    # Today 10:00 plus two hours' notice: noon is the first free start.
    assert office["services"][0]["next_free_start"] == "2026-04-01T10:00:00Z"


# The queue


def test_queue_after_a_walk_in(any_app: Flask, clock: Any) -> None:
    client = any_app.test_client()
    before = ok(client, f"{PLZEN}/queue")
    assert before.headers["Cache-Control"] == "public, max-age=2"
    assert "Set-Cookie" not in before.headers and "Accept-Language" in before.headers["Vary"]
    data = before.get_json()
    assert data["open_now"] and data["timezone"] == "Europe/Prague"
    assert [(h["opens"], h["closes"]) for h in data["hours_today"]] == [("08:00", "17:00")]
    assert [(s["key"], s["waiting"], s["walk_ins"]) for s in data["services"]] == [
        (key, 0, True) for key in SERVICES
    ]
    again = client.get(f"{PLZEN}/queue", headers={"If-None-Match": before.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""

    with any_app.app_context(), unit_of_work() as session:
        office = find_office(OFFICE)
        service = service_by_key(session, office, "volne-byty")
        assert service is not None
        walk_in(session, office, service, NOW)
        db.session.flush()

    after = client.get(f"{PLZEN}/queue", headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200 and after.headers["ETag"] != before.headers["ETag"]
    line = {s["key"]: s for s in after.get_json()["services"]}
    assert line["volne-byty"]["waiting"] == 1
    assert line["jak-ziskat-byt"]["waiting"] == 0
    # No clerk has sat down: no estimate yet, and tickets are still issued.
    assert line["volne-byty"]["wait_minutes"] is None and line["volne-byty"]["wait_range"] is None
    assert line["volne-byty"]["wait_text"] == "žádná přepážka není otevřená"
    assert line["volne-byty"]["walk_ins"]


def test_queue_of_a_closed_day(any_app: Flask, clock: Any) -> None:
    clock.move_to(datetime(2026, 4, 2, 8, 0, tzinfo=UTC))  # Thursday: closed
    data = ok(any_app.test_client(), f"{PLZEN}/queue").get_json()
    assert not data["open_now"] and data["hours_today"] == []
    assert not any(s["walk_ins"] for s in data["services"])


# Language and revalidation


@pytest.mark.parametrize("suffix", ["", "/services", "/hours", "/queue"])
def test_plzen_answers_in_czech_unless_asked(any_app: Flask, clock: Any, suffix: str) -> None:
    client = any_app.test_client()
    url = PLZEN + suffix
    czech = ok(client, url)
    english = ok(client, url, query_string={"lang": "en"})
    by_header = ok(client, url, headers={"Accept-Language": "en"})
    polish = ok(client, url, headers={"Accept-Language": "pl"})
    assert "Accept-Language" in czech.headers["Vary"]
    tags = {r.headers["ETag"] for r in (czech, english, polish)}
    assert len(tags) == 3
    assert by_header.headers["ETag"] == english.headers["ETag"]
    assert by_header.get_json() == english.get_json()

    def names(response: Any) -> list[str]:
        data = response.get_json()
        if suffix == "/hours":
            return [by_date(data["days"])["2026-04-06"]["holiday"]]
        services = data if suffix == "/services" else data["services"]
        return [s["name"] for s in services]

    if suffix == "/hours":
        assert names(czech) == ["Velikonoční pondělí"]
        assert names(english) == ["Easter Monday"]
    else:
        assert names(czech)[0] == "Volné městské byty"
        assert names(english)[0] == "Vacant city flats"
        assert names(polish)[0] == "Wolne mieszkania miejskie"
    for response, lang in ((czech, None), (english, "en")):
        again = client.get(
            url,
            query_string={"lang": lang} if lang else {},
            headers={"If-None-Match": response.headers["ETag"]},
        )
        assert again.status_code == 304 and again.data == b""
    # Another language's ETag is no match.
    crossed = client.get(url, headers={"If-None-Match": english.headers["ETag"]})
    assert crossed.status_code == 200


def test_errors_about_an_office_are_in_its_language(client: FlaskClient) -> None:
    unasked = client.get(f"{PLZEN}/hours?days=0").get_json()["message"]
    czech = client.get(f"{PLZEN}/hours?days=0&lang=cs").get_json()["message"]
    english = client.get(f"{PLZEN}/hours?days=0&lang=en").get_json()["message"]
    assert english == "days must be a whole number from 1 to 60."
    assert unasked == czech
    unknown = client.get("/api/v1/offices/nowhere/hours").get_json()["message"]
    assert unknown == "Nie ma takiej placówki."  # no office: the installation's default


@pytest.mark.parametrize("suffix", ["/hours", "/queue"])
def test_unknown_office(client: FlaskClient, suffix: str) -> None:
    response = client.get(f"/api/v1/offices/nowhere{suffix}")
    assert (response.status_code, response.get_json()["error"]) == (404, "unknown_office")
