"""The report pages under /admin/reports: who may open them, what a wrong form gets, and a
known week of an office shown in the visitors table, figures formatted for the reader."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient

from queueing.models import Role
from reports.catalogue import REPORTS
from reports.forms import bounds, default_grain, shifted, too_long
from tests.helpers.admin import PLZEN, ZIELNA
from tests.helpers.factories import MadeOffice, MakeOffice, MakeService
from tests.helpers.report_pages import known_office, page_tables, signed_in

# After the known office's Monday 2 and Tuesday 3 November 2026 (``known_office``).
LATER = datetime(2026, 12, 10, 9, 0, tzinfo=UTC)
NOVEMBER = "period=month&first=2026-11-01&grain=day"


def tables(response: Any) -> dict[str, list[list[str]]]:
    return page_tables(response.get_data(as_text=True))


def errors(response: Any) -> list[str]:
    text = response.get_data(as_text=True)
    return [
        html.unescape(e) for e in re.findall(r'class="field-error" role="alert">(.*?)</p>', text)
    ]


@pytest.fixture(autouse=True)
def clock() -> Iterator[None]:
    """A fixed day after the known history; first, so sessions are signed at it too."""
    with time_machine.travel(LATER, tick=False):
        yield


@pytest.fixture
def office(factory_app: Flask, make_office: MakeOffice, make_service: MakeService) -> MadeOffice:
    """The known office, on ``any_app`` for the tests of figures (both databases)."""
    return known_office(factory_app, make_office, make_service)


@pytest.fixture
def manager(factory_app: Flask, office: MadeOffice) -> FlaskClient:
    return signed_in(factory_app, "okno-manager", Role.MANAGER, manages=[office.slug])


@pytest.fixture
def zielna(app: Flask) -> FlaskClient:
    """The manager of a demo office, with no history: for what the form takes."""
    return signed_in(app, "zielna-manager", Role.MANAGER, manages=[ZIELNA])


# --- Who may open the reports ----------------------------------------------------------


def test_signed_out_people_are_sent_to_sign_in(app: Flask) -> None:
    response = app.test_client().get("/admin/reports/visitors")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_a_clerk_may_not_open_the_reports(app: Flask) -> None:
    clerk = signed_in(app, "zielna-clerk", Role.CLERK)
    for path in (
        "/admin/reports/",
        f"/admin/reports/o/{ZIELNA}/",
        "/admin/reports/visitors",
        "/admin/reports/visitors.csv",
        "/admin/reports/visitors.xlsx",
    ):
        assert clerk.get(path).status_code == 403, path


def test_a_manager_reads_their_own_office_and_no_other(app: Flask) -> None:
    manager = signed_in(app, "zielna-manager", Role.MANAGER, manages=[ZIELNA])
    for path in ("/admin/reports/", f"/admin/reports/o/{ZIELNA}/"):
        assert manager.get(path).status_code == 200, path
    for name in REPORTS:
        for path in (
            f"/admin/reports/{name}",
            f"/admin/reports/{name}?office={ZIELNA}",
            f"/admin/reports/{name}.csv?office=all",
        ):
            assert manager.get(path).status_code == 200, path
    for path in (
        f"/admin/reports/o/{PLZEN}/",
        f"/admin/reports/visitors?office={PLZEN}",
        f"/admin/reports/visitors.xlsx?office={PLZEN}",
    ):
        assert manager.get(path).status_code == 403, path
    # "All my offices" is theirs only: the form offers no other.
    page = manager.get("/admin/reports/visitors?office=all").get_data(as_text=True)
    assert f'value="{ZIELNA}"' in page and f'value="{PLZEN}"' not in page


def test_an_administrator_reads_every_office(app: Flask) -> None:
    admin = signed_in(app, "chief", Role.ADMINISTRATOR)
    for path in (
        f"/admin/reports/o/{PLZEN}/",
        f"/admin/reports/visitors?office={PLZEN}",
        f"/admin/reports/load.xlsx?office={ZIELNA}",
        "/admin/reports/waiting?office=all",
    ):
        assert admin.get(path).status_code == 200, path
    page = admin.get("/admin/reports/visitors").get_data(as_text=True)
    assert f'value="{ZIELNA}"' in page and f'value="{PLZEN}"' in page


def test_a_manager_without_an_office_is_told_so(app: Flask) -> None:
    manager = signed_in(app, "nobody", Role.MANAGER)
    response = manager.get("/admin/reports/visitors")
    assert response.status_code == 200
    assert "You administer no office yet" in response.get_data(as_text=True)
    assert manager.get("/admin/reports/visitors.csv").status_code == 400


def test_the_reports_are_in_the_navigation(app: Flask) -> None:
    manager = signed_in(app, "zielna-manager", Role.MANAGER, manages=[ZIELNA])
    home = manager.get("/admin/").get_data(as_text=True)
    assert 'href="/admin/reports/"' in home
    office = manager.get(f"/admin/o/{ZIELNA}/").get_data(as_text=True)
    assert f'href="/admin/reports/o/{ZIELNA}/"' in office
    listed = manager.get(f"/admin/reports/o/{ZIELNA}/").get_data(as_text=True)
    for name in REPORTS:
        assert f'href="/admin/reports/{name}?office={ZIELNA}"' in listed
    # Among the office's pages, a report of it is under "Reports".
    shown = manager.get(f"/admin/reports/load?office={ZIELNA}").get_data(as_text=True)
    assert f'<a href="/admin/reports/o/{ZIELNA}/" aria-current="page">Reports</a>' in shown


# --- What the form takes ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        (
            "period=range&first=2026-11-10&last=2026-11-01",
            "last",
            "The last day must not come before the first.",
        ),
        (
            "period=range&first=2023-01-01&last=2026-01-01",
            "last",
            "A report covers at most three years.",
        ),
        (
            "period=month&first=2026-02-30",
            "first",
            "Give a date as YYYY-MM-DD, such as 2026-11-25.",
        ),
        ("period=day&first=25.11.2026", "first", "Give a date as YYYY-MM-DD, such as 2026-11-25."),
        ("period=day&first=0001-01-01", "first", "Give a date from 2000 to 2100."),
        ("period=range&first=2026-11-01", "last", "Give the last day of the range."),
        ("period=range&last=2026-11-01", "first", "Give the first day of the range."),
        ("period=fortnight", "period", "Choose a day, a week, a month, a year or a range."),
        ("grain=hour", "grain", "Choose days, weeks or months."),
        ("office=no-such-office", "office", "Choose one of your offices."),
        ("office=%00", "office", "Remove the invisible control character (NUL) from this text."),
        ("service=no-such-service", "service", "The chosen offices do not offer this service."),
    ],
)
def test_a_wrong_form_is_answered_next_to_its_field(
    zielna: FlaskClient, query: str, field: str, message: str
) -> None:
    response = zielna.get(f"/admin/reports/visitors?{query}")
    assert response.status_code == 400
    assert errors(response) == [message]
    page = response.get_data(as_text=True)
    assert re.search(rf'<div class="field has-error">\s*<label for="{field}"', page)
    assert 'data-table="' not in page  # no figures for a question not understood
    download = zielna.get(f"/admin/reports/visitors.xlsx?{query}")
    assert download.status_code == 400
    assert html.escape(message, quote=False) in download.get_data(as_text=True)


def test_the_form_keeps_what_was_typed(zielna: FlaskClient) -> None:
    response = zielna.get("/admin/reports/visitors?period=range&first=2026-11-31&last=2026-12-05")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'value="2026-11-31"' in page and 'value="2026-12-05"' in page
    assert re.search(r'<option selected value="range">', page)


def test_an_unknown_report_is_not_found(zielna: FlaskClient) -> None:
    for path in (
        "/admin/reports/salaries",
        "/admin/reports/salaries.csv",
        "/admin/reports/visitors.pdf",
    ):
        assert zielna.get(path).status_code == 404, path


def test_three_years_are_the_longest_range(zielna: FlaskClient) -> None:
    ok = zielna.get("/admin/reports/visitors?period=range&first=2023-01-01&last=2025-12-31")
    assert ok.status_code == 200


def test_the_periods_around_a_day() -> None:
    from datetime import date

    day = date(2028, 2, 29)
    assert bounds("day", day) == (day, day)
    assert bounds("week", day) == (date(2028, 2, 28), date(2028, 3, 5))
    assert bounds("month", day) == (date(2028, 2, 1), day)
    assert bounds("year", day) == (date(2028, 1, 1), date(2028, 12, 31))
    assert shifted("month", date(2026, 12, 1), 1) == date(2027, 1, 1)
    assert shifted("month", date(2026, 1, 1), -1) == date(2025, 12, 1)
    assert shifted("week", date(2026, 11, 23), -1) == date(2026, 11, 16)
    assert too_long(day, date(2031, 2, 28)) is False and too_long(day, date(2031, 3, 1)) is True
    assert default_grain(date(2026, 1, 1), date(2026, 3, 3)) == "day"
    assert default_grain(date(2026, 1, 1), date(2026, 6, 30)) == "week"
    assert default_grain(date(2026, 1, 1), date(2026, 12, 31)) == "month"


# --- The figures -----------------------------------------------------------------------


def test_the_month_defaults_to_this_month_on_the_offices_clock(
    app: Flask, office: MadeOffice
) -> None:
    # 23:30 UTC on 30 November is already 1 December in Warsaw.
    with time_machine.travel(datetime(2026, 11, 30, 23, 30, tzinfo=UTC), tick=False):
        manager = signed_in(app, "late-manager", Role.MANAGER, manages=[office.slug])
        page = manager.get("/admin/reports/visitors").get_data(as_text=True)
    assert 'id="first" name="first" type="date" value="2026-12-01"' in page
    assert 'id="last" name="last" type="date" value="2026-12-31"' in page


def test_the_visitors_table_shows_the_known_days(
    any_app: Flask, office: MadeOffice, manager: FlaskClient
) -> None:
    response = manager.get(f"/admin/reports/visitors?office={office.slug}&{NOVEMBER}")
    assert response.status_code == 200, errors(response)
    found = tables(response)
    header, *days = found["by_time"]
    assert header == [
        "Day",
        "Appointments",
        "Walk-ins",
        "In person",
        "Phone consultations",
        "Total",
    ]
    assert len(days) == 30
    assert days[0] == ["1 Nov 2026", "0", "0", "0", "0", "0"]
    assert days[1] == ["2 Nov 2026", "0", "2", "2", "0", "2"]
    assert days[2] == ["3 Nov 2026", "1", "1", "2", "0", "2"]
    assert found["totals"] == [
        ["Appointments", "Walk-ins", "In person", "Phone consultations", "Total"],
        ["1", "3", "4", "0", "4"],
    ]
    page = response.get_data(as_text=True)
    # The chart's data on its canvas (no inline script under the CSP), which says what it is.
    canvas = re.search(
        r"<canvas id=\"chart-by_time\" data-chart='([^']*)' role=\"img\"\s+aria-label=\"Chart of",
        page,
    )
    assert canvas is not None
    assert json.loads(html.unescape(canvas.group(1)))["labels"]
    assert "<caption" in page and 'scope="col"' in page and 'scope="row"' in page


def test_figures_follow_the_readers_language(
    any_app: Flask, office: MadeOffice, manager: FlaskClient
) -> None:
    query = f"office={office.slug}&period=month&first=2026-11-01&grain=month"
    found = tables(manager.get(f"/admin/reports/visitors?{query}&lang=pl"))
    assert found["by_time"][1][0] == "listopad 2026"
    waiting = tables(manager.get(f"/admin/reports/waiting?{query}&lang=pl"))
    # Waits of 5 and 30 minutes on Monday, 10, 10 and 5 on Tuesday: median 10, the 90th
    # percentile 10 + 0.6 × 20 = 22, 4 of 5 within 10 and 20 minutes, all within 30.
    assert waiting["overall"][1] == ["5", "10,0", "22,0", "80,0%", "80,0%", "100,0%"]
    assert [row[0] for row in waiting["by_weekday"][1:]] == ["Poniedziałek", "Wtorek"]
    assert waiting["by_hour"][1][0] == "09:00"


def test_a_service_narrows_the_report(
    any_app: Flask, office: MadeOffice, manager: FlaskClient
) -> None:
    response = manager.get(
        f"/admin/reports/visitors?office={office.slug}&{NOVEMBER}&service=zamiana"
    )
    assert response.status_code == 200
    assert tables(response)["totals"][1] == ["0", "2", "2", "0", "2"]
    assert "Flat exchange" in response.get_data(as_text=True)


def test_the_neighbouring_periods_are_linked(
    app: Flask, office: MadeOffice, manager: FlaskClient
) -> None:
    page = manager.get(f"/admin/reports/visitors?office={office.slug}&{NOVEMBER}").get_data(
        as_text=True
    )
    assert (
        f"/admin/reports/visitors?office={office.slug}&amp;period=month&amp;first=2026-10-01"
        in page
    )
    assert (
        f"/admin/reports/visitors?office={office.slug}&amp;period=month&amp;first=2026-12-01"
        in page
    )
