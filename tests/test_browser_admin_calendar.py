"""An office manager works the hours and closures pages in Chromium: signs in through the
login form, closes a booked day, decides on the visits it takes away, and the resident's
page says why; edits the week (rows added in the page by hours.js), previews it, saves,
and the booking calendar shows the new hours. axe-core checks every page visited, at a
desktop and a phone width.

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

from booking.models import BookingStatus
from tests.helpers.admin import PASSWORD
from tests.helpers.admin_pages import seen_at_both_widths, shots_folder, watched_page
from tests.helpers.factories import MakeBooking, MakeOffice, MakeService
from tests.helpers.office_changes import NAME, NOW, SLUG, World, booked_office
from tests.helpers.page_checks import assert_accessible

if TYPE_CHECKING:
    from tests.helpers.live_server import LiveServer

pytestmark = pytest.mark.browser


@pytest.fixture
def world(
    app: Flask, make_office: MakeOffice, make_service: MakeService, make_booking: MakeBooking
) -> Iterator[World]:
    with time_machine.travel(NOW, tick=True):
        yield booked_office(app, make_office, make_service, make_booking)


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    return shots_folder(tmp_path)


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    with watched_page(browser) as tab:
        yield tab


def seen(page: Page, shots: Path | None = None, name: str = "") -> None:
    seen_at_both_widths(page, shots, f"C-{name}")


def sign_in(page: Page, base: str) -> None:
    """Through the login form; a manager without a second factor lands on /admin/."""
    page.goto(f"{base}/login?lang=en")
    seen(page)
    page.get_by_label("User name").fill("zmiany-manager")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("h1")).to_have_text("Administration")
    seen(page)
    page.get_by_role("link", name=NAME).click()
    expect(page.locator("h1")).to_have_text(NAME)
    seen(page)


def test_a_manager_closes_a_booked_day_and_the_resident_reads_why(
    app: Flask, world: World, live_server: LiveServer, page: Page, shots: Path
) -> None:
    base = live_server.url
    sign_in(page, base)
    page.get_by_role("link", name="Closures").click()
    expect(page.locator("h1")).to_have_text("Closures")
    page.get_by_role("link", name="Next month").click()  # December, with the visits
    expect(page.locator(".closures-calendar h2")).to_have_text(re.compile("December 2026", re.I))
    seen(page, shots, "closures")

    page.get_by_label("First day").fill("2026-12-02")
    page.get_by_label("Note for residents").fill("Szkolenie pracowników")
    page.get_by_role("button", name="Add the closure").click()
    expect(page.locator("h1")).to_have_text("Bookings affected by the change")
    rows = page.locator("table.affected-list tbody tr")
    expect(rows).to_have_count(3)
    for name in ("cs", "en", "afternoon"):
        expect(page.locator(f"tr[data-booking='{world.bookings[name].code}']")).to_contain_text(
            "Cannot be moved"
        )
    seen(page, shots, "affected")

    reason = "Awaria zasilania – prosimy wybrać inny termin."
    page.get_by_label("Reason for the residents whose visit is cancelled").fill(reason)
    page.get_by_role("button", name="Confirm the change").click()
    expect(page.locator(".flash-success")).to_contain_text("The closure is added")
    expect(page.locator(".admin-calendar td.closed")).to_have_count(1)
    seen(page, shots, "closures-after")
    assert world.booking("en").status == BookingStatus.CANCELLED

    page.goto(f"{base}/manage/{world.bookings['en'].token}?lang=en")
    expect(page.locator("h1")).to_have_text("This booking is cancelled")
    expect(page.locator(".office-cancelled")).to_contain_text("The office cancelled this visit.")
    expect(page.locator(".office-cancelled")).to_contain_text(reason)
    seen(page, shots, "manage-cancelled")

    page.goto(f"{base}/o/{SLUG}/paszport/2026-12-02?lang=en")
    expect(page.locator(".closure-notes")).to_contain_text("Szkolenie pracowników")
    expect(page.locator(".times .time")).to_have_count(0)
    seen(page)


def test_a_manager_edits_the_week_and_the_booking_calendar_follows(
    world: World, live_server: LiveServer, page: Page, shots: Path
) -> None:
    base = live_server.url
    sign_in(page, base)
    page.get_by_role("link", name="Opening hours").click()
    expect(page.locator("h1")).to_have_text("Opening hours")
    seen(page, shots, "hours")
    page.get_by_role("link", name=re.compile("^Edit")).click()
    expect(page.locator("h1")).to_have_text("Edit opening hours")
    seen(page, shots, "hours-editor")

    wednesday = page.locator("fieldset[data-day='wed']")
    wednesday.get_by_label(re.compile("^Closes")).first.fill("12:00")
    blank = wednesday.locator(".interval").nth(1)
    blank.get_by_label(re.compile("^Opens")).fill("13:00")
    blank.get_by_label(re.compile("^Closes")).fill("18:00")
    # A row added in the page by hours.js, filled in, then removed again: no round trip.
    wednesday.get_by_role("button", name=re.compile("^Add an interval")).click()
    expect(wednesday.locator(".interval")).to_have_count(3)
    third = wednesday.locator(".interval").nth(2)
    expect(third.get_by_label(re.compile("^Opens"))).to_be_focused()
    third.get_by_label(re.compile("^Opens")).fill("19:00")
    third.get_by_role("button", name=re.compile("^Remove")).click()
    expect(wednesday.locator(".interval")).to_have_count(2)
    seen(page, shots, "hours-editor-filled")

    page.get_by_role("button", name="Preview the week").last.click()
    expect(page.locator("h1")).to_have_text("Preview of the opening hours")
    expect(page.locator("table.week-chart tbody tr").nth(2)).to_contain_text(
        "08:00–12:00, 13:00–18:00"
    )
    seen(page, shots, "hours-preview")
    page.get_by_role("button", name="Save these hours").click()
    expect(page.locator(".flash-success")).to_contain_text("The opening hours are saved")
    seen(page)

    page.goto(f"{base}/o/{SLUG}/paszport?month=2026-12&lang=en")
    seen(page)
    page.locator("table.calendar td.free a[href$='/2026-12-09']").click()
    expect(page.locator("h2").first).to_contain_text("9 December 2026")
    shown = [t.strip() for t in page.locator(".times .time").all_inner_texts()]
    assert shown[0] == "08:00" and shown[-1] == "17:30", shown
    assert "11:30" in shown and "12:00" not in shown and "13:00" in shown, shown
    seen(page)


def tab_to(page: Page, target: Locator) -> None:
    """Press Tab until ``target`` has the focus, as a keyboard user moves through the page."""
    for _ in range(120):
        if target.evaluate("el => el === document.activeElement"):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {target}")


def test_a_manager_closes_a_day_with_the_keyboard_alone(
    world: World, live_server: LiveServer, page: Page
) -> None:
    """No mouse: Tab to each field, type, Enter; from the sign-in to the confirmed closure."""
    base = live_server.url
    page.goto(f"{base}/login?lang=en")
    tab_to(page, page.get_by_label("User name"))
    page.keyboard.type("zmiany-manager")
    tab_to(page, page.get_by_label("Password"))
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_have_text("Administration")
    tab_to(page, page.get_by_role("link", name=NAME))
    page.keyboard.press("Enter")
    tab_to(page, page.get_by_role("link", name="Closures"))
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_have_text("Closures")

    first_day = page.get_by_label("First day")
    tab_to(page, first_day)
    # Tab walks a date field's segments too; their order is the browser's (day or month
    # first), so type one, and if the field read it the other way, go back and type again.
    page.keyboard.type("02122026")
    if first_day.input_value() != "2026-12-02":
        page.keyboard.press("Shift+Tab")
        page.keyboard.press("Shift+Tab")
        page.keyboard.type("12022026")
    assert first_day.input_value() == "2026-12-02"
    tab_to(page, page.get_by_label("Note for residents"))
    page.keyboard.type("Szkolenie")
    tab_to(page, page.get_by_role("button", name="Add the closure"))
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_have_text("Bookings affected by the change")
    tab_to(page, page.get_by_label("Reason for the residents whose visit is cancelled"))
    page.keyboard.type("Szkolenie pracowników")
    tab_to(page, page.get_by_role("button", name="Confirm the change"))
    page.keyboard.press("Enter")
    expect(page.locator(".flash-success")).to_contain_text("The closure is added")
    assert world.booking("en").status == BookingStatus.CANCELLED
    assert_accessible(page)
