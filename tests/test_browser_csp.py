"""The Content-Security-Policy in Chromium: the main pages run with no violation.

Every page of a resident and of the office floor is opened in Debian's Chromium, the
floor's pages doing what they do (the display's event stream, the kiosk's questions and
ticket, the counter's live list); a listener installed before any page script records
every ``securitypolicyviolation`` event, and the console's errors are collected too.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest
import time_machine
from flask import Flask
from playwright.sync_api import Browser, ConsoleMessage, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from booking.admission import DEFAULT_QUESTIONS
from booking.cli import find_office
from okienko.database import db
from queueing.cli import replace_device, upsert_staff
from queueing.models import DeviceKind
from tests.helpers.floor import status_token
from tests.helpers.forms import book_form, manage_token

if TYPE_CHECKING:
    from tests.helpers.live_server import LiveServer

pytestmark = [pytest.mark.browser]

OFFICE, SERVICE = "bytom-zielna", "raty-umorzenia"  # under the sanitary regime in the demo
OPEN_MONDAY = datetime(2026, 3, 23, 8, 0, tzinfo=UTC)  # 09:00 in Warsaw: open
RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__violations.push(e.violatedDirective + " " + (e.blockedURI || "inline") + " "
    + (e.sourceFile || "") + ":" + e.lineNumber);
});
"""


class Watched:
    def __init__(self, page: Page) -> None:
        self.page = page
        self.console: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.console.append(f"script error: {exc}"))

    def _console(self, message: ConsoleMessage) -> None:
        # An HTTP error status (the 404 page visited on purpose) is not this test's business;
        # anything CSP blocks is also a securitypolicyviolation event.
        text = message.text
        http_error = text.startswith("Failed to load resource")
        if (message.type == "error" and not http_error) or "Content Security Policy" in text:
            self.console.append(text)

    def violations(self) -> list[str]:
        return list(self.page.evaluate("window.__violations || []")) + self.console


def open_page(browser: Browser) -> Watched:
    context = browser.new_context(locale="pl-PL", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(30_000)
    context.add_init_script(RECORD_VIOLATIONS)
    return Watched(context.new_page())


def link(app: Flask, kind: DeviceKind, name: str) -> str:
    with app.app_context():
        url = replace_device(find_office(OFFICE), kind, name)
        db.session.commit()
    return url


def test_main_pages_run_without_csp_violations(
    app: Flask, live_server: LiveServer, browser: Browser
) -> None:
    app.config["PUBLIC_URL"] = live_server.url
    base = live_server.url
    seen: dict[str, list[str]] = {}

    def visit(watched: Watched, name: str, url: str | None = None, ready: str = "body") -> None:
        """The page's violations once ``ready`` is there and the page's own loads are done.

        networkidle: the document's images, scripts, styles and fetches have ended, and no
        other has started for 0.5 s (Playwright does not count an event stream, which
        never ends). It belongs to the page's last navigation; what a step does without
        navigating, the step waits for itself before calling this.
        """
        if url is not None:
            watched.page.goto(url if url.startswith("http") else base + url)
        expect(watched.page.locator(ready).first).to_be_attached()
        watched.page.wait_for_load_state("networkidle")
        seen[name] = watched.violations()
        watched.console.clear()
        watched.page.evaluate("window.__violations = []")

    with time_machine.travel(OPEN_MONDAY, tick=True):
        resident = open_page(browser)
        client = app.test_client()
        days = client.get(f"/api/v1/offices/{OFFICE}/services/{SERVICE}/availability").get_json()
        day = next(d for d in days["days"] if len(d["starts"]) > 1)
        start, other = day["starts"][0], day["starts"][1]
        answers = {key: "no" for key, _texts in DEFAULT_QUESTIONS}
        token = manage_token(book_form(client, OFFICE, SERVICE, other, answers=answers))

        visit(resident, "office list", "/", "a[href*='/o/']")
        visit(resident, "privacy", "/privacy")
        visit(resident, "office", f"/o/{OFFICE}")
        visit(resident, "calendar", f"/o/{OFFICE}/{SERVICE}", "a[href*='/o/']")
        visit(resident, "day", f"/o/{OFFICE}/{SERVICE}/{day['date']}", "a.time")
        visit(resident, "booking form", f"/o/{OFFICE}/{SERVICE}/book?start={start}", "form")
        visit(resident, "manage", f"/manage/{token}", "img.qr")
        visit(resident, "not found", "/nothing/here")

        with app.app_context():
            upsert_staff(find_office(OFFICE), "csp-clerk", "Anna Testowa", "a password 1")
            db.session.commit()
        clerk = open_page(browser)
        clerk.page.goto(f"{base}/login")
        visit(clerk, "login")
        clerk.page.fill("#username", "csp-clerk")
        clerk.page.fill("#password", "a password 1")
        clerk.page.locator("form.form button[type=submit]").click()
        expect(clerk.page).to_have_url(re.compile(r"/counter/$"))
        visit(clerk, "counter", ready="#live")

        display = open_page(browser)
        display.page.goto(link(app, DeviceKind.DISPLAY, "Lobby display"))
        expect(display.page).to_have_url(re.compile(r"/display/$"))
        visit(display, "display", ready="#waiting li")

        kiosk = open_page(browser)
        kiosk.page.goto(link(app, DeviceKind.KIOSK, "Kiosk 1"))
        expect(kiosk.page).to_have_url(re.compile(r"/kiosk/$"))
        visit(kiosk, "kiosk", ready="#code")
        kiosk.page.locator("#camera-button").click()  # no camera here: it says so
        expect(kiosk.page.locator("#camera-status")).not_to_be_empty()
        visit(kiosk, "kiosk camera")
        kiosk.page.locator(".service-button").first.click()
        expect(kiosk.page.locator(".question").first).to_be_visible()
        visit(kiosk, "kiosk questions")
        for key in answers:
            kiosk.page.locator(f'.question[data-question="{key}"] input[value="no"]').check()
        kiosk.page.locator("#questions-form button[type=submit]").click()
        expect(kiosk.page).to_have_url(re.compile(r"/kiosk/ticket/\d+$"))
        kiosk.page.locator("img.slip-qr").evaluate(
            "img => img.complete ? null : new Promise(done => img.addEventListener('load', done))"
        )
        visit(kiosk, "ticket")
        ticket_id = int(kiosk.page.url.rsplit("/", 1)[1])

        phone = open_page(browser)
        visit(phone, "ticket status", f"/t/{status_token(app, ticket_id)}", ".phone-ticket")
        # The ticket's own event stream connects and status.js writes what it sends.
        phone.page.locator("#headline").evaluate("line => { line.textContent = ''; }")
        try:
            expect(phone.page.locator("#connection")).not_to_be_empty()
            phone.page.evaluate("() => window.dispatchEvent(new Event('online'))")  # reconnect
            expect(phone.page.locator("#headline")).not_to_be_empty()
        except (PlaywrightTimeoutError, AssertionError) as exc:
            raise AssertionError(f"no status from the stream: {phone.violations()}") from exc
        visit(phone, "ticket status refreshed", ready=".phone-ticket")

        # The display shows the call the clerk makes; the counter's list follows.
        clerk.page.select_option("#counter_id", index=1)
        clerk.page.locator("form.seat button[type=submit]").click()
        expect(clerk.page.locator("#call-next")).to_be_visible()
        with clerk.page.expect_navigation():  # a form: the counter page comes again
            clerk.page.locator("#call-next").click()
        expect(display.page.locator("li.call")).to_have_count(1)
        visit(clerk, "counter after a call", ready="#live")
        visit(display, "display after a call", ready="li.call")

        for watched in (resident, clerk, display, kiosk, phone):
            watched.page.context.close()

    problems: dict[str, Any] = {name: found for name, found in seen.items() if found}
    assert len(seen) == 19, sorted(seen)
    assert problems == {}, problems
