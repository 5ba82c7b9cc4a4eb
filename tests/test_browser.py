"""A resident books a visit end to end in Polish, in a real browser.

Debian's Chromium is driven through Playwright against the live server; the
confirmation mail goes to the real SMTP server. Expected interface texts come
from the Polish catalogue (translations/pl/LC_MESSAGES/messages.po): a string
that is not translated there fails the test rather than being skipped.
"""

from __future__ import annotations

import io
import re
import shutil
import tomllib
from collections.abc import Iterator
from datetime import date
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import icalendar
import pytest
import zxingcpp
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po
from flask import Flask
from PIL import Image
from playwright.sync_api import Browser, Locator, Page, Response, expect
from sqlalchemy import func, select

from booking.codes import ALPHABET
from booking.importer import DEMO_FILE
from booking.models import Booking
from booking.qr import verify_ticket
from okienko.database import db
from tests.helpers.page_checks import assert_accessible, assert_forms_send_each_field_once
from tests.helpers.waiting import wait_until

if TYPE_CHECKING:
    from tests.helpers.live_server import LiveServer
    from tests.helpers.mailbox import Mailbox

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
PL_CATALOGUE = ROOT / "translations" / "pl" / "LC_MESSAGES" / "messages.po"
SCREENSHOT_COPY = Path("/tmp/okienko-confirmation.png")

OFFICE_SLUG = "koszalin-zbm"
SERVICE_KEY = "raty"
SERVICE = "Rozłożenie zaległości na raty"
NAME = "Zofia Wąsowska-Żółć"
EMAIL = "zofia.wasowska@example.com"
CODE_RE = re.compile(rf"^[{ALPHABET}]{{4}}-[{ALPHABET}]{{4}}$")


@pytest.fixture
def app(app: Flask, smtp: Mailbox) -> Flask:
    """The conftest app, mailing through the real SMTP server (live_server serves this one)."""
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp.port)
    return app


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser context whose language is Polish (in conftest's module-wide Chromium)."""
    context = browser.new_context(locale="pl-PL", viewport={"width": 1024, "height": 800})
    context.set_default_timeout(15_000)
    try:
        yield context.new_page()
    finally:
        context.close()


def watch(page: Page) -> list[str]:
    """Collects what went wrong while browsing: script errors and HTTP errors."""
    problems: list[str] = []

    def on_response(response: Response) -> None:
        if response.status >= 400 and not response.url.endswith("/favicon.ico"):
            problems.append(f"{response.status} {response.request.method} {response.url}")

    page.on("pageerror", lambda exc: problems.append(f"script error: {exc}"))
    page.on("requestfailed", lambda req: problems.append(f"failed: {req.url} {req.failure}"))
    page.on("response", on_response)
    return problems


@cache
def _catalogue() -> Catalog:
    if not PL_CATALOGUE.exists():
        pytest.fail(f"the Polish catalogue {PL_CATALOGUE} does not exist yet")
    with PL_CATALOGUE.open("rb") as handle:
        return read_po(handle, locale="pl")


def polish(msgid: str, **values: str) -> str:
    """``msgid`` as the Polish catalogue translates it; fails if it is not translated."""
    message = _catalogue().get(msgid)
    if message is None or not message.string:
        pytest.fail(f"not translated in {PL_CATALOGUE.relative_to(ROOT)}: {msgid!r}")
    return message.string % values if values else message.string


def shown_in_polish(locator: Locator, msgid: str, **values: str) -> None:
    """The element shows the Polish text; a stale .mo shows the English msgid instead."""
    expected = polish(msgid, **values)
    shown = locator.inner_text().strip()
    assert shown == expected, (
        f"expected the Polish {expected!r} for {msgid!r}, the page shows {shown!r}"
        + (" (is the .mo compiled? `make translations`)" if shown == msgid % values else "")
    )


def demo_documents() -> list[str]:
    """The Polish list of documents for the service, as the demo file gives it."""
    offices = tomllib.loads(Path(DEMO_FILE).read_text(encoding="utf-8"))["office"]
    office = next(o for o in offices if o["slug"] == OFFICE_SLUG)
    service = next(s for s in office["services"] if s["key"] == SERVICE_KEY)
    return service["documents"]["pl"]


def checked(page: Page) -> None:
    """axe-core finds nothing wrong with the page, and none of its forms sends a field twice."""
    page.wait_for_load_state()
    assert_accessible(page)
    assert_forms_send_each_field_once(page)


def open_booking_form(page: Page, base_url: str) -> tuple[date, str, str]:
    """Office, service, first free day, first time, as a resident clicks through them.

    Returns the day, its Polish long form from the calendar and the time clicked.
    """
    page.goto(f"{base_url}/?lang=pl")
    expect(page.locator("html")).to_have_attribute("lang", "pl")
    checked(page)
    page.get_by_role("link", name=re.compile("Koszalin")).click()
    expect(page).to_have_url(re.compile(rf"/o/{OFFICE_SLUG}$"))
    checked(page)
    page.get_by_role("link", name=SERVICE, exact=True).click()
    expect(page).to_have_url(re.compile(rf"/o/{OFFICE_SLUG}/{SERVICE_KEY}(\?|$)"))
    expect(page.locator("h1")).to_have_text(SERVICE)
    checked(page)

    free_days = page.locator("table.calendar td.free a")
    for _ in range(3):  # 60 days ahead span at most three calendar months
        page.wait_for_load_state()
        if free_days.count() or not page.locator("a[rel=next]").count():
            break
        month = page.locator(".month-name").inner_text()
        page.locator("a[rel=next]").click()
        expect(page.locator(".month-name")).not_to_have_text(month)
    assert free_days.count(), "no free day in the booking window"
    first_day = free_days.first
    href = first_day.get_attribute("href") or ""
    day = date.fromisoformat(href.rsplit("/", 1)[-1])
    day_label = first_day.get_attribute("aria-label") or ""
    first_day.click()
    expect(page).to_have_url(re.compile(rf"/{day.isoformat()}$"))
    expect(page.locator("h2")).to_have_text(day_label)
    checked(page)

    first_time = page.locator("a.time").first
    time_text = first_time.inner_text().strip()
    assert re.fullmatch(r"\d\d:\d\d", time_text), time_text
    first_time.click()
    expect(page).to_have_url(re.compile(rf"/o/{OFFICE_SLUG}/{SERVICE_KEY}/book\?start="))
    expect(page.locator(".summary .when")).to_have_text(f"{day_label} {time_text}")
    expect(page.locator("#language")).to_have_value("pl")
    checked(page)
    return day, day_label, time_text


def wait_for_mail(smtp: Mailbox, count: int = 1) -> list[Any]:
    wait_until(
        lambda: len(smtp.messages) >= count,
        message=lambda: f"{len(smtp.messages)} of {count} mails arrived",
    )
    return smtp.messages


def test_book_a_visit_in_polish(
    app: Flask, live_server: LiveServer, smtp: Mailbox, page: Page, tmp_path: Path
) -> None:
    app.config["PUBLIC_URL"] = live_server.url
    problems = watch(page)
    day, day_label, time_text = open_booking_form(page, live_server.url)

    page.fill("#name", NAME)
    page.fill("#email", EMAIL)
    # No consent to give: the form says who processes the data and links the notice.
    expect(page.locator("#consent")).to_have_count(0)
    expect(page.locator(f".privacy-info a[href='/privacy/{OFFICE_SLUG}']")).to_be_visible()
    page.locator("form.form button[type=submit]").click()

    # The confirmation page, with the QR code really loaded; the screenshot comes first
    # so that it is there to look at whatever fails below.
    expect(page).to_have_url(re.compile(r"/manage/[^/?]+\?new=1$"))
    page.wait_for_load_state()
    qr = page.locator("img.qr")
    natural = qr.evaluate(
        """img => img.complete ? [img.naturalWidth, img.naturalHeight] : new Promise(done => {
            img.addEventListener("load", () => done([img.naturalWidth, img.naturalHeight]));
            img.addEventListener("error", () => done([0, 0]));
        })"""
    )
    page.screenshot(path=tmp_path / "confirmation.png", full_page=True)
    shutil.copy(tmp_path / "confirmation.png", SCREENSHOT_COPY)
    checked(page)
    assert natural[0] > 0 and natural[0] == natural[1], f"QR image not loaded: {natural}"

    # The booking code, and the QR code is this booking's signed ticket.
    code = page.locator(".ticket .code").inner_text().strip()
    assert CODE_RE.match(code), code
    raw_code = code.replace("-", "")
    expect(page.locator(".ticket .code")).to_have_attribute("data-code", raw_code)
    assert verify_ticket(read_qr(qr.screenshot()), app.config["SECRET_KEY"]) == raw_code

    # In Polish: the interface texts, the service, the date and the documents to bring.
    expect(page.locator("html")).to_have_attribute("lang", "pl")
    shown_in_polish(page.locator("h1"), "Your visit is booked")
    shown_in_polish(page.locator(".ticket .label"), "Booking code")
    expect(page.locator(".summary strong").first).to_have_text(SERVICE)
    when = page.locator(".summary .when").inner_text()
    assert when.startswith(f"{day_label} {time_text}–"), when
    documents = demo_documents()
    assert any("dochody" in doc for doc in documents)  # the income documents
    expect(page.locator(".documents li")).to_have_text(documents)
    shown_in_polish(page.locator(".documents h2"), "Documents to bring")

    # The booking is in the database under that code.
    with app.app_context():
        booking = db.session.scalar(select(Booking).where(Booking.code == raw_code))
        assert booking is not None, f"no booking {raw_code} in the database"
        assert booking.active
        assert (booking.office.slug, booking.service.key) == (OFFICE_SLUG, SERVICE_KEY)
        assert (booking.name, booking.email, booking.phone) == (NAME, EMAIL, None)
        assert booking.language == "pl"
        local_start = booking.starts_at.astimezone(ZoneInfo(booking.office.timezone))
        assert (local_start.date(), local_start.strftime("%H:%M")) == (day, time_text)
        starts_at, ends_at = booking.starts_at, booking.ends_at

    # The confirmation mail, in Polish, with the calendar file.
    messages = wait_for_mail(smtp)
    assert len(messages) == 1, [m["Subject"] for m in messages]
    mail = messages[0]
    assert mail["To"] == EMAIL
    assert mail["Subject"] == polish("Your booking %(code)s is confirmed", code=code)
    body = mail.get_body(preferencelist=("plain",)).get_content()
    assert page.url.removesuffix("?new=1") in body, "the mail lacks the manage link"
    calendars = [
        part for part in mail.iter_attachments() if part.get_filename() == f"{raw_code}.ics"
    ]
    assert len(calendars) == 1, [part.get_filename() for part in mail.iter_attachments()]
    assert calendars[0].get_content_type() == "text/calendar"
    ics = calendars[0].get_payload(decode=True)
    event = next(iter(icalendar.Calendar.from_ical(ics).walk("VEVENT")))
    assert (event.decoded("dtstart"), event.decoded("dtend")) == (starts_at, ends_at)
    assert NAME.encode() not in ics and EMAIL.encode() not in ics

    assert problems == []


def test_a_missing_contact_keeps_what_was_typed(
    app: Flask, live_server: LiveServer, smtp: Mailbox, page: Page
) -> None:
    problems = watch(page)
    open_booking_form(page, live_server.url)

    page.fill("#name", NAME)
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.locator("form.form button[type=submit]").click()
    assert posted.value.status == 422

    # The Polish error sits with the e-mail field, and nothing typed is lost.
    email = page.locator(".field", has=page.locator("#email"))
    expect(email).to_have_class(re.compile(r"\bhas-error\b"))
    missing = "Please give an e-mail address or a phone number."
    shown_in_polish(email.locator(".field-error"), missing)
    expect(page.locator(".field-error")).to_have_count(1)
    box, error = (
        page.locator("#email").bounding_box(),
        email.locator(".field-error").bounding_box(),
    )
    assert box and error and 0 <= error["y"] - box["y"] < 120, (box, error)
    expect(page.locator("#name")).to_have_value(NAME)
    expect(page.locator("#language")).to_have_value("pl")
    # On top, the error summary has the focus and links to the field.
    summary = page.locator(".error-summary")
    expect(summary).to_be_focused()
    shown_in_polish(summary.locator("h2"), "There is a problem")
    expect(summary.locator("a")).to_have_attribute("href", "#email")
    checked(page)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Booking)) == 0
    assert smtp.messages == []

    # An e-mail address is all it takes now.
    page.fill("#email", EMAIL)
    page.locator("form.form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/manage/[^/?]+\?new=1$"))
    shown_in_polish(page.locator("h1"), "Your visit is booked")
    code = page.locator(".ticket .code").inner_text().strip()
    with app.app_context():
        booking = db.session.scalar(select(Booking).where(Booking.code == code.replace("-", "")))
        assert booking is not None and (booking.name, booking.email) == (NAME, EMAIL)

    assert problems == [f"422 POST {posted.value.url}"]


def read_qr(png: bytes) -> str:
    """The text of the one QR code in a screenshot."""
    results = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert len(results) == 1, f"{len(results)} codes found in the QR screenshot"
    return results[0].text
