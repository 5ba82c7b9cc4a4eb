"""Residents join the waiting list, claim an offered time and leave the list, and confirm a
booking from its mail, by clicking through the real pages in Chromium.

The mail goes to a real SMTP server and its links are opened in the browser. The clock is
fixed (time_machine, ticking); axe-core checks every page, WCAG 2.2's target size too,
on a phone and on a desktop, with a screenshot of each.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import time_machine
from flask import Flask
from playwright.sync_api import Page, expect
from sqlalchemy import select

from booking.models import Booking, BookingStatus, Office, WaitlistEntry, WaitlistStatus
from okienko.database import db
from okienko.transaction import unit_of_work
from tests.helpers.admin_pages import shots_folder
from tests.helpers.factories import MakeBooking, MakeOffice, MakeService
from tests.helpers.mailbox import Mailbox, mail_sent
from tests.test_browser_booking import click_time, error_links, looked_at, page, pick_day, seen
from tests.test_waiting_list import NOW, cancel

if TYPE_CHECKING:
    from tests.helpers.live_server import LiveServer

__all__ = ["page"]  # the phone-sized page fixture of the booking tests

pytestmark = pytest.mark.browser

SERVICE = "Rent instalments"


@pytest.fixture
def mailed(app: Flask, smtp: Mailbox, live_server: LiveServer) -> Flask:
    """The app mails the SMTP server, with links to the live server."""
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp.port, PUBLIC_URL=live_server.url)
    return app


def link_in(mail: Any, path: str) -> str:
    """The link in a mail's plain text whose path starts with ``path``."""
    text = mail.get_body(("plain",)).get_content()
    found = re.search(rf"https?://\S+?{re.escape(path)}[\w-]+", text)
    assert found, text
    return found.group(0)


def mail_to(app: Flask, smtp: Mailbox, address: str, count: int) -> Any:
    """The latest mail to ``address``, once ``count`` mails have arrived in all."""
    mail_sent(app)
    return [m for m in smtp.wait_for(count) if m["To"] == address][-1]


def join_by_clicking(page: Page, base_url: str, slug: str, name: str, email: str) -> None:
    """From the full service's calendar to the waiting list's form, filled and sent."""
    page.goto(f"{base_url}/o/{slug}/raty?lang=en")
    expect(page.locator("h1")).to_have_text(SERVICE)
    page.get_by_role("link", name="Join the waiting list").click()
    expect(page.locator("h1")).to_have_text("Waiting list")
    page.get_by_label("Full name").fill(name)
    page.get_by_label("E-mail").fill(email)
    page.get_by_role("button", name="Join the waiting list").click()


def entry_status(app: Flask, email: str) -> WaitlistStatus:
    with app.app_context():
        status = db.session.scalar(select(WaitlistEntry.status).where(WaitlistEntry.email == email))
        assert status is not None
        return status


def ended_entries(app: Flask, status: WaitlistStatus) -> list[str | None]:
    """The e-mail addresses kept on the entries that ended so (none: erased at once)."""
    with app.app_context():
        return list(
            db.session.scalars(select(WaitlistEntry.email).where(WaitlistEntry.status == status))
        )


@pytest.fixture
def full_clock() -> Iterator[Any]:
    """07:00 in Warsaw on the waiting list tests' Wednesday, ticking."""
    with time_machine.travel(NOW, tick=True) as traveller:
        yield traveller


def test_join_the_waiting_list_claim_the_offered_time_and_leave(
    mailed: Flask,
    live_server: LiveServer,
    smtp: Mailbox,
    page: Page,
    full_clock: Any,
    make_office: MakeOffice,
    make_service: MakeService,
    make_booking: MakeBooking,
    tmp_path: Path,
) -> None:
    app, shots = mailed, shots_folder(tmp_path)
    # As in tests/test_waiting_list.py, with a readable name; no sanitary regime, so an
    # offered time asks no admission questions.
    office = make_office(
        hours={"daily": "08:00-10:00"}, min_notice_minutes=0, max_days_ahead=2, slot_minutes=30
    )
    service = make_service(office, "raty", duration=60, name=SERVICE)
    bookings = [make_booking(service, now=NOW) for _ in range(4)]  # every time taken

    page.goto(f"{live_server.url}/o/{office.slug}/raty?lang=en")
    expect(page.locator("table.calendar td.free")).to_have_count(0)
    looked_at(page, shots, "waitlist-1-calendar-full")
    page.get_by_role("link", name="Join the waiting list").click()
    expect(page.locator("h1")).to_have_text("Waiting list")
    looked_at(page, shots, "waitlist-2-join")

    # A mistyped address: the summary takes the focus and links to the field; all is kept.
    page.get_by_label("Full name").fill("Anna Nowak")
    page.get_by_label("E-mail").fill("anna.nowak@")
    page.get_by_label("Mornings (before 12:00)").check()
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.get_by_role("button", name="Join the waiting list").click()
    assert posted.value.status == 422
    assert error_links(page) == ["#email"]
    expect(page.locator("#email")).to_have_attribute("aria-invalid", "true")
    looked_at(page, shots, "waitlist-3-join-errors")
    expect(page.locator(".error-summary")).to_be_focused()
    expect(page.locator("#name")).to_have_value("Anna Nowak")
    expect(page.locator("#email")).to_have_value("anna.nowak@")
    expect(page.get_by_label("Mornings (before 12:00)")).to_be_checked()
    page.locator(".error-summary a").first.click()
    expect(page.locator("#email")).to_be_focused()

    page.get_by_label("E-mail").fill("anna.nowak@example.com")
    page.get_by_role("button", name="Join the waiting list").click()
    expect(page).to_have_url(re.compile(r"/w/leave/[\w-]+\?joined=1$"))
    expect(page.locator("main")).to_contain_text("You are on the waiting list.")
    expect(page.get_by_role("button", name="Leave the waiting list")).to_be_visible()
    looked_at(page, shots, "waitlist-4-joined")
    assert entry_status(app, "anna.nowak@example.com") == WaitlistStatus.WAITING

    # Someone cancels a morning visit: the time is held for Anna and offered by mail.
    cancel(app, bookings[1].id)
    offer = mail_to(app, smtp, "anna.nowak@example.com", 2)
    claim = link_in(offer, "/w/")
    assert claim.startswith(live_server.url)
    page.goto(claim)
    expect(page.locator("h1")).to_have_text("A time for you")
    expect(page.locator(".summary")).to_contain_text(SERVICE)
    expect(page.locator(".summary")).to_contain_text("Anna Nowak")
    expect(page.locator(".summary .when")).to_contain_text("09:00")  # Warsaw wall clock
    expect(page.locator(".declaration")).to_have_count(0)
    looked_at(page, shots, "waitlist-5-claim")
    page.get_by_role("button", name="Book this time").click()
    expect(page.locator("h1")).to_have_text("Your visit is booked")
    expect(page).to_have_url(re.compile(r"/manage/[\w-]+\?new=1$"))
    seen(page)
    with app.app_context():
        claimed = db.session.scalars(
            select(Booking).where(Booking.email == "anna.nowak@example.com")
        ).one()
        assert claimed.starts_at == bookings[1].starts_at
        assert claimed.status == BookingStatus.BOOKED
    assert len(ended_entries(app, WaitlistStatus.BOOKED)) == 1
    assert "anna.nowak@example.com" not in ended_entries(app, WaitlistStatus.BOOKED)

    # The link again: the offer is gone, said in words.
    with page.expect_response(claim) as gone:
        page.goto(claim)
    assert gone.value.status == 410
    expect(page.locator("h1")).to_have_text("Waiting list")
    looked_at(page, shots, "waitlist-6-claim-gone")

    # Full again: Ben joins, then leaves by the link in his mail.
    join_by_clicking(page, live_server.url, office.slug, "Ben Lis", "ben.lis@example.com")
    expect(page).to_have_url(re.compile(r"\?joined=1$"))
    welcome = mail_to(app, smtp, "ben.lis@example.com", 4)
    page.goto(link_in(welcome, "/w/leave/"))
    expect(page.locator("main")).not_to_contain_text("You are on the waiting list.")
    looked_at(page, shots, "waitlist-7-leave")
    page.get_by_role("button", name="Leave the waiting list").click()
    expect(page.locator(".flash")).to_contain_text("You have left the waiting list.")
    expect(page.locator("main")).to_contain_text("You are not on the waiting list any more.")
    expect(page.get_by_role("button", name="Leave the waiting list")).to_have_count(0)
    looked_at(page, shots, "waitlist-8-left")
    assert len(ended_entries(app, WaitlistStatus.LEFT)) == 1
    assert "ben.lis@example.com" not in ended_entries(app, WaitlistStatus.LEFT)


# Friday 20 March 2026, 10:00 in Plzeň; the office opens on Mondays and Wednesdays.
FRIDAY = datetime(2026, 3, 20, 9, tzinfo=UTC)
PLZEN = "Kontaktní místo pro bydlení Plzeň"


@pytest.fixture
def friday() -> Iterator[Any]:
    with time_machine.travel(FRIDAY, tick=True) as traveller:
        yield traveller


def test_a_booking_confirmed_by_mail(
    mailed: Flask,
    live_server: LiveServer,
    smtp: Mailbox,
    page: Page,
    friday: Any,
    tmp_path: Path,
) -> None:
    app, shots = mailed, shots_folder(tmp_path)
    with app.app_context(), unit_of_work() as session:
        office = session.scalars(select(Office).where(Office.slug == "plzen-kontaktni-misto")).one()
        office.confirm_by_mail, office.confirm_minutes = True, 15

    page.goto(f"{live_server.url}/?lang=en")
    seen(page)
    page.get_by_role("link", name=PLZEN).click()
    seen(page)
    page.get_by_role("link", name="Vacant city flats", exact=True).click()
    seen(page)
    pick_day(page, "2026-03-30")
    click_time(page, "10:00")
    expect(page.locator("h1")).to_have_text("Your details")
    seen(page)
    page.get_by_label("Full name").fill("Jan Novák")
    page.get_by_label("E-mail").fill("jan.novak@example.com")
    expect(page.locator(".declaration")).to_have_count(0)  # Plzeň has no sanitary regime
    page.get_by_role("button", name="Book this time").click()

    expect(page.locator("h1")).to_have_text("Your booking is not confirmed yet")
    # 15 minutes from 10:00 in Plzeň, in its wall clock.
    expect(page.locator(".pending-notice")).to_contain_text("confirmation link")
    expect(page.locator(".pending-notice")).to_contain_text("10:15")
    # Pending, it can be cancelled, but not moved nor checked in.
    expect(page.get_by_role("link", name="Cancel the booking")).to_be_visible()
    expect(page.get_by_role("link", name="Change the time")).to_have_count(0)
    # The code read out at the kiosk stays on one line on the phone (it broke in two).
    code = page.locator(".ticket .code")
    one_line = (
        "el => el.getBoundingClientRect().height < 2 * parseFloat(getComputedStyle(el).fontSize)"
    )
    assert code.evaluate(one_line)
    assert code.evaluate("el => el.scrollWidth <= el.clientWidth")
    looked_at(page, shots, "confirm-1-pending")
    manage = page.url.removesuffix("?new=1")
    with app.app_context():
        assert db.session.scalars(select(Booking.status)).one() == BookingStatus.PENDING

    mail = mail_to(app, smtp, "jan.novak@example.com", 1)
    assert "Confirm your booking" in mail["Subject"]
    confirm_link = link_in(mail, "/confirm/")
    page.goto(confirm_link)  # opening the link alone (a mail scanner) confirms nothing
    expect(page.locator("h1")).to_have_text("Confirm your booking")
    page.get_by_role("button", name="Confirm my booking").click()
    expect(page.locator("h1")).to_have_text("Your booking is confirmed")
    expect(page.locator(".confirm-outcome")).to_contain_text("your visit is booked")
    expect(page.locator(".summary .when")).to_contain_text("10:00")
    looked_at(page, shots, "confirm-2-confirmed")
    page.goto(confirm_link)
    expect(page.locator("h1")).to_have_text("Your booking is already confirmed")
    looked_at(page, shots, "confirm-3-already")

    page.goto(manage)
    expect(page.locator("h1")).to_have_text("Your booking")
    expect(page.locator(".pending-notice")).to_have_count(0)
    expect(page.get_by_role("link", name="Cancel the booking")).to_be_visible()
    seen(page)
    with app.app_context():
        assert db.session.scalars(select(Booking.status)).one() == BookingStatus.BOOKED
