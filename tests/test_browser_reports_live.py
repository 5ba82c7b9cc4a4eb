"""Today, live in Chromium: a manager has the page open while a clerk calls a number and a
resident takes one; the figures follow the office's event stream without a reload. axe-core
checks the page at a desktop and a phone width.

Koszalin's demo office on Wednesday 25 November 2026 at 10:00 (tests/helpers/floor.py); the
live server runs in this process, so its thread shares the travelled clock. The kiosk and
the clerk work through the app's own pages (Flask test clients of the same app), so their
events reach the page's stream as they reach a lobby display.

Screenshots go to ``tmp_path``, or to the folder named by ``OKIENKO_SHOTS``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import time_machine
from flask import Flask
from playwright.sync_api import Browser, Locator, Page, expect

from queueing.models import Role
from tests.helpers.admin import PASSWORD, make_account
from tests.helpers.admin_pages import seen_at_both_widths, shots_folder, watched_page
from tests.helpers.charts import drawn
from tests.helpers.floor import KOSZALIN, NOW, Clerk, ok, signed_in_device, walk_in

if TYPE_CHECKING:
    from tests.helpers.live_server import LiveServer

pytestmark = pytest.mark.browser


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    with watched_page(browser) as tab:
        yield tab


@pytest.fixture
def at_ten(app: Flask) -> Iterator[None]:
    make_account(app, "koszalin-manager", Role.MANAGER, home=KOSZALIN, manages=[KOSZALIN])
    with time_machine.travel(NOW, tick=True):
        yield


# The people waiting that the chart of the lines shows, all services together.
WAITING_CHARTED = """(n) => {
  const chart = Chart.getChart(document.getElementById("chart-by_service"));
  return chart && chart.data.datasets[0].data.reduce((a, b) => a + b, 0) === n;
}"""


def figure(page: Page, label: str) -> Locator:
    """The value shown for ``label`` in the page's summary."""
    return page.locator(
        "dl[data-table=now] dt", has_text=re.compile(f"^{re.escape(label)}$")
    ).locator("xpath=following-sibling::dd[1]")


def test_the_figures_follow_the_floor_without_a_reload(
    app: Flask, at_ten: None, live_server: LiveServer, page: Page, tmp_path: Path
) -> None:
    kiosk = signed_in_device(app)
    walk_in(kiosk)
    walk_in(kiosk)
    clerk = Clerk(app, "koszalin1", "Stanowisko 1")

    page.goto(f"{live_server.url}/login?lang=en")
    page.get_by_label("User name").fill("koszalin-manager")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live_server.url}/admin/reports/o/{KOSZALIN}/today")
    expect(page.locator("h1")).to_have_text("Today, live")
    expect(figure(page, "Waiting")).to_have_text("2")
    expect(figure(page, "Calls in the last hour")).to_have_text("0")
    expect(figure(page, "Counters idle")).to_have_text("1")
    counter = page.locator("table[data-table=by_counter] tr", has_text="Stanowisko 1")
    expect(counter).to_contain_text("idle")
    drawn(page, "chart-by_service", "first", 20)  # the bars of the waiting, per service
    seen_at_both_widths(page, shots_folder(tmp_path), "R-today")
    page.evaluate("() => { window.notReloaded = true; }")

    # The clerk calls: the call and the shorter line show up by themselves.
    ok(clerk.call_next())
    expect(figure(page, "Calls in the last hour")).to_have_text("1")
    expect(figure(page, "Waiting")).to_have_text("1")
    expect(figure(page, "Counters busy")).to_have_text("1")
    expect(counter).to_contain_text("busy")
    page.wait_for_function(WAITING_CHARTED, arg=1)  # the chart redrawn from the new figures

    # A resident takes a number: the line grows again.
    walk_in(kiosk)
    expect(figure(page, "Waiting")).to_have_text("2")
    page.wait_for_function(WAITING_CHARTED, arg=2)
    drawn(page, "chart-by_service", "first", 20)
    assert page.evaluate("() => window.notReloaded === true")
    expect(page.locator("#live-connection")).to_have_text("")
    seen_at_both_widths(page, shots_folder(tmp_path), "R-today-after")
