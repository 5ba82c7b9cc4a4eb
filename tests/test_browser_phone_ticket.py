"""The resident's phone ticket in Chromium at 390×844, in Koszalin's demo office at the fixed
NOW: the place and the wait range, "you are next" and then the full-screen call arriving by
the ticket's own stream without a reload (the phone vibrates: navigator.vibrate is stubbed
to record), the sound switch, the lost connection said and recovered, the language switch,
a call again after parking, the closed ticket, a refused stream tried again less and less
often; axe-core on each state, and a screenshot of each."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, expect

from tests.helpers.admin_pages import shots_folder
from tests.helpers.floor import NOW, Clerk, ok, signed_in_device, status_token, walk_in
from tests.helpers.live_server import LiveServer
from tests.helpers.page_checks import assert_accessible

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
# The phone's vibrations, recorded instead of felt.
VIBRATE_STUB = """
window.__vibrations = [];
Object.defineProperty(navigator, "vibrate", {
  configurable: true,
  value: function (pattern) { window.__vibrations.push(pattern); return true; },
});
"""


def vibrations(page: Page) -> list[Any]:
    return page.evaluate("window.__vibrations")


def look(page: Page, shots: Path, name: str) -> None:
    assert_accessible(page)
    page.screenshot(path=shots / f"phone-ticket-{name}.png")


def test_the_phone_follows_the_ticket_to_the_counter(
    app: Flask, clock: Any, browser: Browser, tmp_path: Path
) -> None:
    shots = shots_folder(tmp_path)
    kiosk = signed_in_device(app)
    clerk = Clerk(app, "koszalin1", "Stanowisko 1")
    first, mine = walk_in(kiosk), walk_in(kiosk)
    context = browser.new_context(locale="en-GB", viewport=PHONE, is_mobile=True, has_touch=True)
    context.set_default_timeout(30_000)  # a bound for a busy machine, not a speed
    context.add_init_script(VIBRATE_STUB)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    offline = False

    def on_console(message: Any) -> None:
        # While offline Chromium logs the stream's failed reconnects: that is the point.
        favicon = message.location.get("url", "").endswith("/favicon.ico")
        if message.type == "error" and not offline and not favicon:
            problems.append(message.text)

    page.on("console", on_console)
    headline, wait = page.locator("#headline"), page.locator("#wait")
    connection, called = page.locator("#connection"), page.locator("#called")
    try:
        with LiveServer(app) as server:
            page.goto(f"{server.url}/t/{status_token(app, mine)}")
            expect(page.locator("h1")).to_have_text("R002")
            expect(headline).to_have_text("People ahead of you: 1")
            expect(wait).to_have_text("Estimated wait: 20–40 min")
            expect(connection).to_have_text("Connected: this page updates by itself.")
            expect(called).to_be_hidden()
            look(page, shots, "waiting")
            page.evaluate("window.__same_page = true")  # gone if the page were reloaded

            sound = page.get_by_role("button", name="Turn on sound")
            sound.click()
            expect(page.locator("#sound-button")).to_have_attribute("aria-pressed", "true")
            expect(page.locator("#sound-button")).to_have_text("Sound is on")

            ok(clerk.call_next())  # another resident's ticket: this one is next
            expect(headline).to_have_text("You are next.")
            expect(headline).to_have_class(re.compile(r"\bis-next\b"))
            expect(wait).to_have_text("Estimated wait: under 5 min")
            assert vibrations(page) == []
            look(page, shots, "next")

            ok(clerk.act(first, "finish"))
            clock.shift(timedelta(seconds=10))  # past the counter's cooldown between calls
            ok(clerk.call_next())
            expect(called).to_be_visible()
            expect(called.locator("#called-line")).to_have_text("Please go to Stanowisko 1.")
            expect(called.locator("#called-counter")).to_have_text("Stanowisko 1")
            expect(page.locator("#called-ok")).to_be_focused()
            assert page.evaluate("window.__same_page") is True
            assert len(vibrations(page)) == 1
            box = called.bounding_box()
            assert box is not None and (box["width"], box["height"]) == (390, 844)
            look(page, shots, "called")

            page.locator("#called-ok").click()
            expect(called).to_be_hidden()
            expect(headline).to_have_text("Please go to Stanowisko 1.")
            clock.shift(timedelta(seconds=10))
            ok(clerk.act(mine, "recall"))  # a recall alerts again
            expect(called).to_be_visible()
            page.wait_for_function("window.__vibrations.length === 2")
            page.locator("#called-ok").click()

            offline = True
            context.set_offline(True)
            expect(connection).to_have_text("Connection lost. Reconnecting…")
            expect(connection).to_have_class(re.compile(r"\bis-lost\b"))
            look(page, shots, "offline")
            context.set_offline(False)
            expect(connection).to_have_text("Connected: this page updates by itself.")
            offline = False

            page.get_by_role("link", name="Polski").click()
            expect(page.locator("html")).to_have_attribute("lang", "pl")
            expect(headline).to_have_text("Prosimy podejść do stanowiska: Stanowisko 1.")
            expect(called).to_be_hidden()  # dismissed already: not shown again
            look(page, shots, "polish")
            page.get_by_role("link", name="English").click()
            expect(page.locator("html")).to_have_attribute("lang", "en")

            # Parking sets the ticket's count of calls back to 0: calling it again is a new
            # call all the same (on this page, reloaded by the language switch, the first).
            ok(clerk.act(mine, "park"))
            expect(headline).to_have_text("Your ticket is set aside. It will be called again.")
            clock.shift(timedelta(seconds=10))
            ok(clerk.act(mine, "call"))
            expect(called).to_be_visible()
            expect(page.locator("#called-ok")).to_be_focused()
            page.wait_for_function("window.__vibrations.length === 1")
            page.locator("#called-ok").click()
            expect(called).to_be_hidden()

            ok(clerk.act(mine, "finish"))
            expect(headline).to_have_text("This ticket is closed.")
            expect(wait).to_have_text("")
            expect(connection).to_have_text("")
            expect(page.locator("#sound-button")).to_be_hidden()
            look(page, shots, "closed")
    finally:
        context.close()
    assert problems == [], problems


def test_a_refused_stream_is_tried_again_less_and_less_often(
    app: Flask, clock: Any, browser: Browser, tmp_path: Path
) -> None:
    """A stream the server refuses (too many windows, too many requests) is tried again
    after 5 s, then twice as long each time up to a minute, and the page says when. The
    page's timers run on Playwright's clock, moved on by hand."""
    shots = shots_folder(tmp_path)
    mine = walk_in(signed_in_device(app))
    context = browser.new_context(locale="en-GB", viewport=PHONE, is_mobile=True, has_touch=True)
    context.set_default_timeout(30_000)  # a bound for a busy machine, not a speed
    page = context.new_page()
    tries: list[str] = []

    def refuse(route: Any) -> None:
        tries.append(route.request.url)
        route.fulfill(status=429, content_type="text/plain", body="Too many")

    connection = page.locator("#connection")
    try:
        with LiveServer(app) as server:
            page.clock.install(time=NOW)
            page.clock.pause_at(NOW + timedelta(seconds=1))  # timers move only when told
            page.route("**/stream", refuse)
            page.goto(f"{server.url}/t/{status_token(app, mine)}")
            for seconds in (5, 10, 20, 40, 60, 60):
                expect(connection).to_have_text(f"Could not connect. Trying again in {seconds} s.")
                expect(connection).to_have_class(re.compile(r"\bis-lost\b"))
                if seconds == 5:  # axe-core needs running timers: it checks the page below
                    page.screenshot(path=shots / "phone-ticket-refused.png")
                held = len(tries)
                page.clock.run_for(seconds * 1000 - 100)
                assert len(tries) == held  # not before its time
                with page.expect_request("**/stream"):
                    page.clock.run_for(100)
            page.unroute("**/stream")
            page.clock.run_for(60_000)
            expect(connection).to_have_text("Connected: this page updates by itself.")
            expect(connection).not_to_have_class(re.compile(r"\bis-lost\b"))
            page.clock.resume()
            assert_accessible(page)
    finally:
        context.close()
