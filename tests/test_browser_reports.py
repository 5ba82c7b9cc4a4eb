"""The report pages in Chromium: a manager opens the month's visitors through the real form,
sees the chart drawn (coloured bars on the canvas, not an empty one), reads the figures in
the table, downloads the XLSX and the file holds the same figures. axe-core checks every
page at a desktop and a phone width.

The known office's 2 and 3 November 2026 (tests/helpers/report_pages.py); the live server
runs in this process, so its thread shares the travelled clock.

Screenshots go to ``tmp_path``, or to the folder named by ``OKIENKO_SHOTS``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import time_machine
from flask import Flask
from openpyxl import load_workbook
from playwright.sync_api import Browser, Page, expect

from queueing.models import Role
from tests.helpers.admin import PASSWORD, make_account
from tests.helpers.admin_pages import seen_at_both_widths, shots_folder, watched_page
from tests.helpers.charts import PAINTED, drawn
from tests.helpers.factories import MakeOffice, MakeService
from tests.helpers.report_pages import KNOWN_OFFICE, known_office

if TYPE_CHECKING:
    from tests.helpers.live_server import LiveServer

pytestmark = pytest.mark.browser

LATER = datetime(2026, 12, 10, 9, 0, tzinfo=UTC)


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    with watched_page(browser) as tab:
        yield tab


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    return shots_folder(tmp_path)


@pytest.fixture
def manager(app: Flask, make_office: MakeOffice, make_service: MakeService) -> Iterator[None]:
    known_office(app, make_office, make_service)
    make_account(app, "okno-manager", Role.MANAGER, manages=[KNOWN_OFFICE])
    with time_machine.travel(LATER, tick=True):
        yield


def test_a_manager_reads_the_month_and_downloads_it(
    app: Flask, manager: None, live_server: LiveServer, page: Page, shots: Path, tmp_path: Path
) -> None:
    page.goto(f"{live_server.url}/login?lang=en")
    page.get_by_label("User name").fill("okno-manager")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.locator(".admin-top").get_by_role("link", name="Reports").click()
    expect(page.locator("h1")).to_have_text("Reports")
    seen_at_both_widths(page, shots, "R-reports")

    # The visitors of November, asked through the form by a day in it.
    page.get_by_role("link", name="Visitors served").click()
    page.get_by_label("Period", exact=True).select_option(label="A month")
    page.get_by_label("Date or first day").fill("2026-11-17")
    page.get_by_label("Figures by").select_option(label="Day")
    page.get_by_role("button", name="Show the report").click()
    expect(page.get_by_label("Date or first day")).to_have_value("2026-11-01")
    expect(page.get_by_label("Last day")).to_have_value("2026-11-30")
    expect(page.locator(".report-covers")).to_contain_text("1 – 30 Nov 2026")
    totals = page.locator("table[data-table=totals] tbody tr td")
    expect(totals).to_have_text(["1", "3", "4", "0", "4"])
    # The row headed exactly "2 Nov 2026": has_text would match "12 Nov" and "22 Nov" too.
    day = page.locator("table[data-table=by_time] tbody tr").filter(
        has=page.get_by_role("rowheader", name="2 Nov 2026", exact=True)
    )
    expect(day.locator("td")).to_have_text(["0", "2", "2", "0", "2"])

    # The chart is drawn: the appointments' and walk-ins' bars are on the canvas.
    canvas = page.locator("#chart-by_time")
    expect(canvas).to_have_attribute("aria-label", 'Chart of “Visitors served over time”. '
                                     "The table below gives the same figures.")  # fmt: skip
    drawn(page, "chart-by_time")
    painted = page.evaluate(PAINTED, "chart-by_time")
    assert painted["first"] > 20 and painted["second"] > 20, painted
    seen_at_both_widths(page, shots, "R-visitors")
    assert page.evaluate(PAINTED, "chart-by_time")["second"] > 20  # redrawn at each width

    # The XLSX holds the same figures.
    with page.expect_download() as started:
        page.get_by_role("link", name="Excel file (XLSX)").click()
    download = started.value
    assert download.suggested_filename == f"visitors_{KNOWN_OFFICE}_2026-11-01_2026-11-30.xlsx"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    book = load_workbook(saved)
    by_time, totals_sheet = book.worksheets
    assert [c.value for c in totals_sheet[7]] == [1, 3, 4, 0, 4]
    days = {row[0]: row[1:] for row in by_time.iter_rows(min_row=7, values_only=True)}
    assert len(days) == 30
    assert days[datetime(2026, 11, 2)] == (0, 2, 2, 0, 2)
    assert days[datetime(2026, 11, 3)] == (1, 1, 2, 0, 2)

    # Another report for the same month, its services drawn across.
    page.locator(".report-nav").get_by_role("link", name="Waiting time").click()
    expect(page.get_by_label("Date or first day")).to_have_value("2026-11-01")
    expect(page.locator("table[data-table=overall] tbody td").first).to_have_text("5")
    drawn(page, "chart-by_service", "first", 20)
    seen_at_both_widths(page, shots, "R-waiting")

    # The other reports of the month, each with a chart drawn.
    for name, title in (
        ("bookings", "Bookings"),
        ("services", "Most frequent services"),
        ("handling", "Service time"),
        ("load", "Load"),
    ):
        page.locator(".report-nav").get_by_role("link", name=title, exact=True).click()
        expect(page.locator("h1")).to_have_text(title)
        first_chart = page.locator("canvas[data-chart]").first.get_attribute("id")
        assert first_chart is not None, name
        drawn(page, first_chart)
        seen_at_both_widths(page, shots, f"R-{name}")


@pytest.fixture
def refused_page(browser: Browser) -> Iterator[Page]:
    """A tab for a page answered 400 by design, which Chromium logs as a console error:
    script errors still fail the test."""
    context = browser.new_context(locale="en-GB", viewport={"width": 1280, "height": 800})
    context.set_default_timeout(30_000)  # a bound for a busy machine, not a speed
    tab = context.new_page()
    problems: list[str] = []
    tab.on("pageerror", lambda exc: problems.append(str(exc)))
    try:
        yield tab
    finally:
        context.close()
    assert problems == []


def test_a_wrong_range_is_said_next_to_the_field(
    app: Flask, manager: None, live_server: LiveServer, refused_page: Page, shots: Path
) -> None:
    page = refused_page
    page.goto(f"{live_server.url}/login?lang=en")
    page.get_by_label("User name").fill("okno-manager")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live_server.url}/admin/reports/load")
    page.get_by_label("Period", exact=True).select_option(label="From – to")
    page.get_by_label("Date or first day").fill("2026-11-20")
    page.get_by_label("Last day").fill("2026-11-02")
    page.get_by_role("button", name="Show the report").click()
    expect(page.locator(".field-error")).to_have_text(
        "The last day must not come before the first."
    )
    expect(page.get_by_label("Last day")).to_have_value("2026-11-02")
    expect(page.locator("canvas")).to_have_count(0)
    seen_at_both_widths(page, shots, "R-load-error")
