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
from playwright.sync_api import Browser, Page, ViewportSize, expect

from tests.helpers.admin_pages import shots_folder
from tests.helpers.floor import NOW, Clerk, ok, signed_in_device, status_token, walk_in
from tests.helpers.live_server import LiveServer
from tests.helpers.page_checks import assert_accessible

pytestmark = pytest.mark.browser

PHONE: ViewportSize = {"width": 390, "height": 844}
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
            # Next, but the only counter has just called R001: about 30 minutes still.
            expect(wait).to_have_text("Estimated wait: 20–40 min")
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


# --- Notifications through the service worker ----------------------------------------------

# Every notification the page asks the service worker for, counted (a re-show with the same
# tag would replace the first silently: only the count shows it was asked twice).
SHOWN_STUB = """
window.__shown = [];
(function () {
  var show = ServiceWorkerRegistration.prototype.showNotification;
  ServiceWorkerRegistration.prototype.showNotification = function (title, options) {
    window.__shown.push(title);
    return show.call(this, title, options);
  };
})();
"""
# Each status event of the ticket's stream, counted before the page's own listener sees it.
STATUS_EVENTS_STUB = """
window.__statuses = 0;
window.EventSource = class extends window.EventSource {
  constructor(url, options) {
    super(url, options);
    this.addEventListener("status", function () { window.__statuses += 1; });
  }
};
"""
# Android's Chrome: the page may not construct a Notification, but permission is granted.
ANDROID_NOTIFICATION_STUB = """
(function () {
  function Notification() {
    throw new TypeError(
      "Failed to construct 'Notification': Illegal constructor. " +
      "Use ServiceWorkerRegistration.showNotification() instead."
    );
  }
  Object.defineProperty(Notification, "permission", { get: function () { return "granted"; } });
  Notification.requestPermission = function () { return Promise.resolve("granted"); };
  window.Notification = Notification;
})();
"""
# A browser without service workers: the page's own Notification, recorded.
PAGE_NOTIFICATION_STUB = """
window.__constructed = [];
(function () {
  function Notification(title, options) { window.__constructed.push([title, options.body]); }
  Object.defineProperty(Notification, "permission", { get: function () { return "granted"; } });
  Notification.requestPermission = function () { return Promise.resolve("granted"); };
  window.Notification = Notification;
})();
"""
NOTIFICATIONS = """navigator.serviceWorker.ready
  .then(r => r.getNotifications())
  .then(list => list.map(n => ({title: n.title, body: n.body, tag: n.tag, url: n.data.url})))"""


def notifications(page: Page) -> list[dict[str, Any]]:
    return page.evaluate(NOTIFICATIONS)


def wait_for_notifications(page: Page, count: int) -> list[dict[str, Any]]:
    page.wait_for_function(f"{NOTIFICATIONS}.then(list => list.length === {count})", polling=100)
    return notifications(page)


def phone_with_notifications(browser: Browser, server_url: str, *scripts: str) -> Any:
    context = browser.new_context(locale="en-GB", viewport=PHONE, is_mobile=True, has_touch=True)
    context.set_default_timeout(30_000)  # a bound for a busy machine, not a speed
    context.grant_permissions(["notifications"], origin=server_url)
    for script in scripts:
        context.add_init_script(script)
    return context


def watch_problems(page: Page) -> list[str]:
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))

    def on_console(message: Any) -> None:
        favicon = message.location.get("url", "").endswith("/favicon.ico")
        if message.type == "error" and not favicon:
            problems.append(message.text)

    page.on("console", on_console)
    return problems


def test_the_call_is_notified_once_through_the_service_worker(
    app: Flask, clock: Any, browser: Browser, tmp_path: Path
) -> None:
    """The call's notification comes from the ticket pages' service worker (the only way on
    Android), names the counter and leads back to the page; the stream's repeated state
    and a reload do not show it again, and a recall replaces it (one tag per ticket)."""
    clerk = Clerk(app, "koszalin1", "Stanowisko 1")
    mine = walk_in(signed_in_device(app))
    called = None
    with LiveServer(app) as server:
        context = phone_with_notifications(browser, server.url, SHOWN_STUB, STATUS_EVENTS_STUB)
        try:
            page = context.new_page()
            problems = watch_problems(page)
            url = f"{server.url}/t/{status_token(app, mine)}"
            page.goto(url)
            expect(page.locator("#notify-state")).to_have_text("Notifications are on.")
            expect(page.locator("#notify-button")).to_be_hidden()
            scope = page.evaluate("navigator.serviceWorker.ready.then(r => r.scope)")
            assert scope == f"{server.url}/t/"
            page.wait_for_function("window.__statuses === 1")
            assert notifications(page) == [] and page.evaluate("window.__shown") == []
            look(page, shots_folder(tmp_path), "notifications-on")

            ok(clerk.call_next())
            called = page.locator("#called")
            expect(called).to_be_visible()
            [notice] = wait_for_notifications(page, 1)
            assert notice["title"] == "Your turn: R001"
            assert notice["body"] == "Please go to Stanowisko 1."
            assert notice["url"] == url
            assert page.evaluate("window.__shown") == ["Your turn: R001"]
            assert_accessible(page)

            page.reload()  # the same call again, from the page and from its stream
            expect(called).to_be_visible()
            page.wait_for_function("window.__statuses === 1")
            assert page.evaluate("window.__shown") == []
            assert len(notifications(page)) == 1

            page.locator("#called-ok").click()
            clock.shift(timedelta(seconds=10))
            ok(clerk.act(mine, "recall"))  # a new call: notified again, replacing the first
            expect(called).to_be_visible()
            page.wait_for_function("window.__shown.length === 1")
            assert len(wait_for_notifications(page, 1)) == 1
            assert_accessible(page)
        finally:
            context.close()
    assert problems == [], problems


def test_a_browser_that_refuses_the_notification_constructor_still_notifies(
    app: Flask, clock: Any, browser: Browser
) -> None:
    """Android's Chrome throws on ``new Notification``: the call is notified through the
    service worker all the same, with no error on the page."""
    clerk = Clerk(app, "koszalin1", "Stanowisko 1")
    mine = walk_in(signed_in_device(app))
    with LiveServer(app) as server:
        context = phone_with_notifications(browser, server.url, ANDROID_NOTIFICATION_STUB)
        try:
            page = context.new_page()
            problems = watch_problems(page)
            page.goto(f"{server.url}/t/{status_token(app, mine)}")
            expect(page.locator("#notify-state")).to_have_text("Notifications are on.")
            expect(page.locator("#connection")).to_have_text(
                "Connected: this page updates by itself."
            )
            ok(clerk.call_next())
            expect(page.locator("#called")).to_be_visible()
            [notice] = wait_for_notifications(page, 1)
            assert notice["body"] == "Please go to Stanowisko 1."
            assert_accessible(page)
        finally:
            context.close()
    assert problems == [], problems


def test_without_service_workers_the_page_notifies_by_itself(
    app: Flask, clock: Any, browser: Browser
) -> None:
    clerk = Clerk(app, "koszalin1", "Stanowisko 1")
    mine = walk_in(signed_in_device(app))
    with LiveServer(app) as server:
        context = phone_with_notifications(browser, server.url, PAGE_NOTIFICATION_STUB)
        try:
            page = context.new_page()
            problems = watch_problems(page)
            page.add_init_script("delete Navigator.prototype.serviceWorker")
            page.goto(f"{server.url}/t/{status_token(app, mine)}")
            assert page.evaluate("'serviceWorker' in navigator") is False
            expect(page.locator("#connection")).to_have_text(
                "Connected: this page updates by itself."
            )
            ok(clerk.call_next())
            expect(page.locator("#called")).to_be_visible()
            page.wait_for_function("window.__constructed.length === 1")
            assert page.evaluate("window.__constructed") == [
                ["Your turn: R001", "Please go to Stanowisko 1."]
            ]
            assert_accessible(page)
        finally:
            context.close()
    assert problems == [], problems


def test_the_service_worker_is_served_for_the_ticket_pages(app: Flask) -> None:
    response = app.test_client().get("/t/ticket-sw.js")
    assert response.status_code == 200
    assert response.mimetype == "application/javascript"
    assert response.headers["Cache-Control"] == "no-cache"
    assert "Service-Worker-Allowed" not in response.headers  # its own folder is the scope
    source = response.get_data(as_text=True)
    assert "notificationclick" in source and '"fetch"' not in source  # no caching proxy
