"""Residents book, move and rebook visits by clicking through the real pages in Chromium.

Nothing is posted by hand: every form is filled and submitted as a resident does, from
the office list on. The clock is fixed (time_machine, ticking) so the visits fall on known
days whatever the real date; axe-core checks every page on the way, with WCAG 2.2's target
size too, and a failed submit puts the focus on an error summary that links to each field.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from flask import Flask
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from booking.models import Booking, BookingMode, BookingStatus
from okienko.database import db
from tests.helpers.admin_pages import SIZES, shots_folder
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


# Off in axe-core by default: WCAG 2.2 AA's 24 px targets (radio buttons, links, buttons).
WCAG22 = ("target-size",)


def seen(page: Page) -> Page:
    """The page is loaded; axe-core finds nothing wrong, and no form sends a field twice."""
    page.wait_for_load_state()
    assert_accessible(page, WCAG22)
    assert_forms_send_each_field_once(page)
    return page


def looked_at(page: Page, shots: Path, name: str) -> None:
    """``seen`` on a phone and on a desktop, with a screenshot of each; back to the phone."""
    seen(page)
    for size, (width, height) in SIZES.items():
        page.set_viewport_size({"width": width, "height": height})
        assert_accessible(page, WCAG22)
        page.screenshot(path=shots / f"{name}-{size}.png", full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})


def submit(page: Page, button: str, status: int) -> None:
    """Clicks the form's button; the server answers ``status`` (422: sent back to correct)."""
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.get_by_role("button", name=button).click()
    assert posted.value.status == status
    page.wait_for_load_state()


def error_links(page: Page) -> list[str]:
    """The fields the focused error summary links to, in its order."""
    summary = page.locator(".error-summary")
    expect(summary).to_be_focused()
    expect(summary.get_by_role("heading", level=2)).to_have_text("There is a problem")
    expect(summary).to_have_attribute("role", "alert")
    links = summary.get_by_role("link")
    return [str(href) for href in links.evaluate_all("all => all.map(a => a.hash)")]


def radio_ids(page: Page, question: int) -> list[str]:
    inputs = page.locator(".declaration .question").nth(question).locator("input[type=radio]")
    return [str(i) for i in inputs.evaluate_all("all => all.map(i => i.id)")]


def answer_all(page: Page, answer: str, *, except_first: str | None = None) -> None:
    """Answers every admission question on the page by clicking its radio button."""
    questions = page.locator(".declaration .question")
    expect(questions).to_have_count(4)
    for index in range(questions.count()):
        given = except_first if index == 0 and except_first else answer
        questions.nth(index).get_by_label(given, exact=True).check()


def pick_day(page: Page, day: str) -> None:
    """Clicks ``day`` in the calendar, turning to the next month when needed."""
    expect(page.locator("table.calendar")).to_be_visible()  # not the page clicked from
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


def test_on_a_phone_a_failed_submit_shows_what_to_correct_then_the_visit_is_booked(
    app: Flask, live_server: LiveServer, page: Page, clock: Any, tmp_path: Path
) -> None:
    shots = shots_folder(tmp_path)
    page.goto(f"{live_server.url}/?lang=en")
    looked_at(page, shots, "1-offices")
    page.get_by_role("link", name=OFFICE).click()
    looked_at(page, shots, "2-office")
    page.get_by_role("link", name=SERVICE, exact=True).click()
    looked_at(page, shots, "3-calendar")
    pick_day(page, "2026-11-18")
    looked_at(page, shots, "4-times")
    click_time(page, "10:00")
    expect(page.locator("h1")).to_have_text("Your details")
    looked_at(page, shots, "5-details")
    radios = page.locator("input[type=radio]")
    expect(radios).to_have_count(8)
    for index in range(8):  # WCAG 2.2's target size, on the phone
        box = radios.nth(index).bounding_box()
        assert box and box["width"] >= 24 and box["height"] >= 24, box

    # A mistyped e-mail address, and two of the four questions left unanswered.
    page.get_by_label("Full name").fill(NAME)
    page.get_by_label("E-mail").fill("ewa.nowak@")
    questions = page.locator(".declaration .question")
    for index in (0, 1):
        questions.nth(index).get_by_label("No", exact=True).check()
    submit(page, "Book this time", 422)
    assert error_links(page) == ["#email", f"#{radio_ids(page, 2)[0]}", f"#{radio_ids(page, 3)[0]}"]
    expect(page.locator(".error-summary li").first).to_contain_text("E-mail: ")
    expect(page.locator("#email")).to_have_attribute("aria-invalid", "true")
    looked_at(page, shots, "6-details-errors")
    expect(page.locator(".error-summary")).to_be_focused()  # still, after the resizes

    # Everything typed is still there; each link takes the focus to its field.
    expect(page.locator("#name")).to_have_value(NAME)
    expect(page.locator("#email")).to_have_value("ewa.nowak@")
    for index in (0, 1):
        expect(questions.nth(index).get_by_label("No", exact=True)).to_be_checked()
    page.locator(".error-summary a").first.click()
    expect(page.locator("#email")).to_be_focused()
    page.locator(".error-summary a").nth(1).click()
    expect(page.locator(f"#{radio_ids(page, 2)[0]}")).to_be_focused()
    expect(questions.nth(2).locator(".question-text")).to_be_in_viewport()

    page.get_by_label("E-mail").fill(EMAIL)
    for index in (2, 3):
        questions.nth(index).get_by_label("No", exact=True).check()
    page.get_by_role("button", name="Book this time").click()
    expect(page.locator("h1")).to_have_text("Your visit is booked")
    expect(page.locator(".error-summary")).to_have_count(0)
    looked_at(page, shots, "7-confirmation")
    booking = the_booking(app)
    assert (booking.name, booking.email, booking.status) == (NAME, EMAIL, BookingStatus.BOOKED)
    assert booking.starts_at == local("2026-11-18", "10:00")


def test_the_pages_after_booking_and_their_failed_submits(
    app: Flask, live_server: LiveServer, page: Page, clock: Any, tmp_path: Path
) -> None:
    shots = shots_folder(tmp_path)
    manage = book_by_clicking(page, live_server.url, "2026-11-18", "10:00")
    looked_at(page, shots, "manage")
    page.get_by_role("link", name="Cancel the booking").click()
    expect(page.locator("h1")).to_have_text("Cancel the booking?")
    looked_at(page, shots, "cancel")
    page.get_by_role("link", name="No, keep it").click()
    page.get_by_role("link", name="Change the time").click()
    looked_at(page, shots, "reschedule-calendar")
    pick_day(page, "2026-11-19")
    looked_at(page, shots, "reschedule-times")
    page.get_by_role("link", name="Privacy notice").click()
    looked_at(page, shots, "privacy")
    page.get_by_role("link", name=OFFICE).click()
    expect(page.locator(".controller-contact")).to_be_visible()
    looked_at(page, shots, "privacy-office")
    page.goto(f"{live_server.url}/o/bytom-zielna/raty-umorzenia/remote?lang=en")
    looked_at(page, shots, "remote")

    # The day before: the questions sent with one answer only, then a refusal.
    clock.move_to(local("2026-11-17", "12:00"))
    page.goto(manage)
    page.get_by_role("link", name="Answer the admission questions").click()
    looked_at(page, shots, "admission")
    first_yes = page.locator(".declaration .question").first.get_by_label("Yes", exact=True)
    first_yes.check()
    submit(page, "Send the answers", 422)
    assert error_links(page) == [f"#{radio_ids(page, index)[0]}" for index in (1, 2, 3)]
    expect(first_yes).to_be_checked()
    looked_at(page, shots, "admission-errors")
    answer_all(page, "No", except_first="Yes")
    page.get_by_role("button", name="Send the answers").click()
    expect(page.locator("h1")).to_have_text("Please do not come in person")
    expect(page.locator(".remote-channels .department")).to_be_visible()
    looked_at(page, shots, "refused")

    # A phone number too short for a phone consultation: said next to the field, kept.
    page.get_by_label("Phone").fill("60")
    submit(page, "Turn it into a phone consultation", 422)
    assert error_links(page) == ["#phone"]
    expect(page.locator("#phone")).to_have_value("60")
    expect(page.locator("#phone")).to_have_attribute("aria-invalid", "true")
    looked_at(page, shots, "refused-phone-error")
    assert the_booking(app).status == BookingStatus.REFUSED

    # Back in person a week later: the questions skipped once, then answered.
    page.get_by_role("link", name=re.compile("^Choose a new time from")).click()
    pick_day(page, "2026-11-25")
    click_time(page, "10:00")
    expect(page.locator("h1")).to_have_text("Admission check")
    seen(page)
    submit(page, "Send the answers", 422)
    assert error_links(page) == [f"#{radio_ids(page, index)[0]}" for index in range(4)]
    looked_at(page, shots, "rebook-questions-errors")
    answer_all(page, "No")
    page.get_by_role("button", name="Send the answers").click()
    expect(page.locator(".flash")).to_contain_text("Your booking has been moved.")
    seen(page)
    assert the_booking(app).starts_at == local("2026-11-25", "10:00")


def test_a_cancel_that_fails_puts_the_focus_on_why(
    app: Flask, live_server: LiveServer, page: Page, clock: Any
) -> None:
    book_by_clicking(page, live_server.url, "2026-11-18", "10:00")
    page.get_by_role("link", name="Cancel the booking").click()
    # Meanwhile the booking is cancelled in another tab.
    other = page.context.new_page()
    other.goto(page.url)
    other.get_by_role("button", name="Yes, cancel the booking").click()
    expect(other.locator("h1")).to_have_text("This booking is cancelled")

    page.get_by_role("button", name="Yes, cancel the booking").click()
    expect(page.locator("h1")).to_have_text("This booking is cancelled")
    error = page.locator("main > .flash-error[role=alert]")
    expect(error).to_contain_text("This booking has been cancelled or has already taken place.")
    expect(error).to_be_focused()
    seen(page)


# The contrast of an element's text against the first opaque background behind it (WCAG).
CONTRAST = """el => {
  const rgb = c => c.match(/[\\d.]+/g).map(Number);
  const lum = ([r, g, b]) => {
    const ch = v => (v /= 255) <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    return 0.2126 * ch(r) + 0.7152 * ch(g) + 0.0722 * ch(b);
  };
  let back = el;
  while (back && rgb(getComputedStyle(back).backgroundColor)[3] === 0) back = back.parentElement;
  const bg = back ? rgb(getComputedStyle(back).backgroundColor) : [255, 255, 255];
  const [a, b] = [lum(rgb(getComputedStyle(el).color)), lum(bg)].sort((x, y) => y - x);
  return (a + 0.05) / (b + 0.05);
}"""


@pytest.mark.parametrize(
    ("lang", "service"),
    [
        ("cs", "Volné městské byty"),
        ("pl", "Wolne mieszkania miejskie"),
        ("en", "Vacant city flats"),
    ],
)
def test_a_calendar_of_mostly_closed_days_is_readable(
    live_server: LiveServer, page: Page, clock: Any, lang: str, service: str
) -> None:
    """Plzeň opens on Mondays and Wednesdays only: most days of its calendar are
    unavailable, and each must still be readable (it measured 2.38:1 in light grey)."""
    page.goto(f"{live_server.url}/?lang={lang}")
    page.get_by_role("link", name="Kontaktní místo pro bydlení Plzeň").click()
    page.get_by_role("link", name=service, exact=True).click()
    closed = page.locator("table.calendar td.full")
    expect(page.locator("table.calendar td.free").first).to_be_visible()
    assert closed.count() >= 15
    assert min(closed.evaluate_all(f"all => all.map({CONTRAST})")) >= 4.5
    expect(page.locator("html")).to_have_attribute("lang", lang)
    seen(page)  # axe-core: contrast, heading order, names, target size


def test_first_free_time_from_the_calendar_opens_the_booking_form_at_that_time(
    app: Flask, live_server: LiveServer, page: Page, clock: Any, tmp_path: Path
) -> None:
    """The office page names each service's next free day; the calendar's "First free
    time" goes straight to the form for that time. Screenshots on a phone of the office,
    calendar and day pages (the day's times grouped into morning and afternoon)."""
    from booking.availability import first_free_start
    from booking.formatting import local_datetime
    from booking.models import Office, Service

    with app.test_request_context("/?lang=en"):
        office = db.session.scalars(select(Office).where(Office.slug == "bytom-zielna")).one()
        service = db.session.scalars(
            select(Service).where(Service.office_id == office.id, Service.key == "raty-umorzenia")
        ).one()
        first = first_free_start(db.session(), office, service, datetime.now(UTC))
        assert first is not None
        when = local_datetime(first, office)
        day = first.astimezone(WARSAW)

    shots = shots_folder(tmp_path)
    page.goto(f"{live_server.url}/?lang=en")
    seen(page)
    page.get_by_role("link", name=OFFICE).click()
    card = page.locator(".card", has=page.get_by_role("link", name=SERVICE, exact=True))
    expect(card.locator(".next-free")).to_have_text(
        f"Next free: {day.strftime('%A')}, {day.day} {day.strftime('%B %Y')}"
    )
    looked_at(page, shots, "first-free-1-office")
    page.get_by_role("link", name=SERVICE, exact=True).click()
    looked_at(page, shots, "first-free-2-calendar")
    button = page.get_by_role("link", name=re.compile(r"^First free time: "))
    expect(button).to_have_text(
        f"First free time: {day.strftime('%a')} {day.day} {day.strftime('%B, %H:%M')}"
    )
    button.click()
    expect(page).to_have_url(re.compile(r"/book\?start="))
    expect(page.locator("h1")).to_have_text("Your details")
    expect(page.locator(".when")).to_have_text(when)
    assert page.locator("input[name=start]").input_value() == first.strftime("%Y-%m-%dT%H:%M:%SZ")
    seen(page)

    # The day page of that day, as the calendar's link shows it.
    page.get_by_role("link", name="Choose another time").click()
    expect(page.locator("h2").first).to_have_text(
        f"{day.strftime('%A')}, {day.day} {day.strftime('%B %Y')}"
    )
    halves = page.locator("h3.day-half")
    expect(halves.first).to_have_text("Morning" if day.hour < 12 else "Afternoon")
    looked_at(page, shots, "first-free-3-times")
