"""Residents book, move and rebook visits by clicking through the real pages in Chromium.

Nothing is posted by hand: every form is filled and submitted as a resident does, from
the office list on. The clock is fixed (time_machine, ticking) so the visits fall on known
days whatever the real date; axe-core checks every page on the way.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from flask import Flask
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from booking.models import Booking, BookingMode, BookingStatus
from okienko.database import db
from tests.helpers.page_checks import assert_accessible, assert_forms_send_each_field_once

if TYPE_CHECKING:
    from tests.helpers.live_server import LiveServer

pytestmark = pytest.mark.browser

WARSAW = ZoneInfo("Europe/Warsaw")
OFFICE = "Bytomskie Mieszkania – ul. Zielna 25b"
SERVICE = "Rent arrears: instalments and write-offs"
NAME, EMAIL = "Ewa Nowak", "ewa.nowak@example.com"
# Monday 16 November 2026, 09:00 in Bytom: Zielna is open, and the sanitary regime is on.
MONDAY = datetime(2026, 11, 16, 8, 0, tzinfo=UTC)


def local(day: str, at: str) -> datetime:
    return datetime.fromisoformat(f"{day}T{at}").replace(tzinfo=WARSAW)


@pytest.fixture
def clock() -> Iterator[Any]:
    with time_machine.travel(MONDAY, tick=True) as traveller:
        yield traveller


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A phone-sized page (390×844) in English; any script error fails the test."""
    context = browser.new_context(locale="en-GB", viewport={"width": 390, "height": 844})
    context.set_default_timeout(15_000)
    errors: list[str] = []
    tab = context.new_page()
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        yield tab
    finally:
        context.close()
    assert errors == [], errors


def seen(page: Page) -> Page:
    """The page is loaded; axe-core finds nothing wrong, and no form sends a field twice."""
    page.wait_for_load_state()
    assert_accessible(page)
    assert_forms_send_each_field_once(page)
    return page


def answer_all(page: Page, answer: str, *, except_first: str | None = None) -> None:
    """Answers every admission question on the page by clicking its radio button."""
    questions = page.locator(".declaration .question")
    expect(questions).to_have_count(4)
    for index in range(questions.count()):
        given = except_first if index == 0 and except_first else answer
        questions.nth(index).get_by_label(given, exact=True).check()


def pick_day(page: Page, day: str) -> None:
    """Clicks ``day`` in the calendar, turning to the next month when needed."""
    link = page.locator(f"table.calendar td.free a[href$='/{day}']")
    if not link.count():
        page.locator("a[rel=next]").click()
        seen(page)
    link.click()
    expect(page).to_have_url(re.compile(rf"/{day}$"))
    seen(page)


def click_time(page: Page, at: str) -> None:
    """Clicks the time ``at`` on a day page: a link when booking, a button when moving."""
    page.locator(".times .time", has_text=re.compile(rf"^{at}")).first.click()


def book_by_clicking(page: Page, base_url: str, day: str, at: str) -> str:
    """From the office list to the confirmation, answering the questions "No".

    Returns the manage page's URL.
    """
    page.goto(f"{base_url}/?lang=en")
    seen(page)
    page.get_by_role("link", name=OFFICE).click()
    seen(page)
    page.get_by_role("link", name=SERVICE, exact=True).click()
    expect(page.locator("h1")).to_have_text(SERVICE)
    seen(page)
    pick_day(page, day)
    click_time(page, at)
    expect(page).to_have_url(re.compile(r"/book\?start="))
    seen(page)
    page.get_by_label("Full name").fill(NAME)
    page.get_by_label("E-mail").fill(EMAIL)
    answer_all(page, "No")
    expect(page.locator("#consent")).to_have_count(0)  # a public task asks no consent
    page.get_by_role("button", name="Book this time").click()
    expect(page.locator("h1")).to_have_text("Your visit is booked")
    seen(page)
    return page.url.removesuffix("?new=1")


def the_booking(app: Flask) -> Booking:
    with app.app_context():
        booking = db.session.scalars(select(Booking)).one()
        db.session.expunge(booking)
        return booking


def test_book_under_the_regime_by_clicking_every_step(
    app: Flask, live_server: LiveServer, page: Page, clock: Any
) -> None:
    book_by_clicking(page, live_server.url, "2026-11-18", "10:00")

    booking = the_booking(app)
    assert (booking.name, booking.email, booking.status) == (NAME, EMAIL, BookingStatus.BOOKED)
    assert booking.starts_at == local("2026-11-18", "10:00")
    assert booking.mode == BookingMode.IN_PERSON


def test_move_a_booking_by_clicking_a_time(
    app: Flask, live_server: LiveServer, page: Page, clock: Any
) -> None:
    book_by_clicking(page, live_server.url, "2026-11-18", "10:00")

    page.get_by_role("link", name="Change the time").click()
    expect(page.locator("h1")).to_have_text("Choose a new day")
    seen(page)
    pick_day(page, "2026-11-19")
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        click_time(page, "09:00")
    assert posted.value.status == 302  # it was 400: an empty "start" went first
    expect(page.locator(".flash")).to_contain_text("Your booking has been moved.")
    seen(page)
    assert the_booking(app).starts_at == local("2026-11-19", "09:00")


def test_come_back_in_person_after_an_online_refusal(
    app: Flask, live_server: LiveServer, page: Page, clock: Any
) -> None:
    manage = book_by_clicking(page, live_server.url, "2026-11-18", "10:00")

    # The day before, the resident answers online: a household member is in isolation.
    clock.move_to(local("2026-11-17", "12:00"))
    page.goto(manage)
    page.get_by_role("link", name="Answer the admission questions").click()
    seen(page)
    answer_all(page, "No", except_first="Yes")
    page.get_by_role("button", name="Send the answers").click()
    expect(page.locator("h1")).to_have_text("Please do not come in person")
    seen(page)
    assert the_booking(app).status == BookingStatus.REFUSED

    # A week later at the earliest: the first day offered, a time, and the questions again.
    page.get_by_role("link", name=re.compile("^Choose a new time from")).click()
    expect(page.locator("h1")).to_have_text("Choose a new day")
    seen(page)
    pick_day(page, "2026-11-25")
    click_time(page, "10:00")
    expect(page.locator("h1")).to_have_text("Admission check")
    seen(page)
    answer_all(page, "No")
    page.get_by_role("button", name="Send the answers").click()
    expect(page.locator(".flash")).to_contain_text("Your booking has been moved.")
    expect(page.locator("h1")).to_have_text("Your booking")
    seen(page)
    booking = the_booking(app)
    assert booking.status == BookingStatus.BOOKED
    assert booking.starts_at == local("2026-11-25", "10:00")


def test_a_refusal_at_booking_becomes_a_phone_consultation_by_clicking(
    app: Flask, live_server: LiveServer, page: Page, clock: Any
) -> None:
    page.goto(f"{live_server.url}/?lang=en")
    page.get_by_role("link", name=OFFICE).click()
    page.get_by_role("link", name=SERVICE, exact=True).click()
    pick_day(page, "2026-11-18")
    click_time(page, "11:00")
    page.get_by_label("Full name").fill(NAME)
    page.get_by_label("E-mail").fill(EMAIL)
    answer_all(page, "No", except_first="Yes")
    page.get_by_role("button", name="Book this time").click()
    expect(page.locator("h1")).to_have_text("Please do not come in person")
    seen(page)
    with app.app_context():
        assert db.session.scalars(select(Booking)).all() == []

    page.get_by_label("Phone").fill("601 234 567")
    page.get_by_role("button", name="Book a phone consultation instead").click()
    expect(page.locator("h1")).to_have_text("Your visit is booked")
    expect(page.locator(".phone-consultation")).to_contain_text("+48 601 234 567")
    seen(page)
    booking = the_booking(app)
    assert booking.mode == BookingMode.PHONE and booking.phone == "+48601234567"
    assert booking.starts_at == local("2026-11-18", "11:00")
