"""The public state of the counters in Chromium: a resident opens it from the office's page
and watches it while a clerk calls numbers and others take them; it follows the floor
without a reload, at a phone's and a desktop's size, and its embed works inside another
site's page. axe-core checks every page at every size shown.

Koszalin's demo office on Wednesday 25 November 2026 at 10:00 (tests/helpers/floor.py); the
live server runs in this process, so its thread shares the travelled clock. The kiosk and
the clerk work through the app's own pages (Flask test clients of the same app), so their
events reach the page's stream as they reach a lobby display.

Screenshots go to ``tmp_path``, or to the folder named by ``OKIENKO_SHOTS``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import time_machine
from flask import Flask
from playwright.sync_api import Browser, FrameLocator, Locator, Page, expect

from tests.helpers.admin_pages import seen_at_both_widths, shots_folder, watched_page
from tests.helpers.floor import KOSZALIN, NOW, Clerk, ok, signed_in_device, walk_in
from tests.helpers.page_checks import assert_accessible

if TYPE_CHECKING:
    from tests.helpers.live_server import LiveServer

pytestmark = pytest.mark.browser

LIVE = 20_000  # ms: a bound for a busy machine while the page follows the stream


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    with watched_page(browser) as tab:
        yield tab


@pytest.fixture
def at_ten() -> Iterator[None]:
    with time_machine.travel(NOW, tick=True):
        yield


def waiting(root: Page | FrameLocator, service: str) -> Locator:
    """The number waiting shown in the service's row."""
    return root.locator("tbody[data-list=services] tr", has_text=service).locator("td").first


def tile(root: Page | FrameLocator, ticket: str) -> Locator:
    return root.locator("ul[data-list=serving] li", has_text=ticket)


def test_the_page_follows_the_floor_without_a_reload(
    app: Flask, at_ten: None, live_server: LiveServer, page: Page, tmp_path: Path
) -> None:
    kiosk = signed_in_device(app)
    first = walk_in(kiosk, "raty")
    walk_in(kiosk, "raty")
    clerk = Clerk(app, "public-clerk", "Stanowisko 1")
    shots = shots_folder(tmp_path)

    page.goto(f"{live_server.url}/o/{KOSZALIN}?lang=en")
    page.get_by_role("link", name="Current state of the counters").click()
    expect(page.locator("h1")).to_have_text("Current state of the counters")
    expect(waiting(page, "Paying arrears in instalments")).to_have_text("2")
    expect(page.locator("[data-empty=serving]")).to_be_visible()
    expect(page.locator("[data-field=counters_text]")).to_have_text("Counters open: 1 of 3")
    expect(page.locator("[data-field=hours_text]")).to_have_text("Open today 07:15–15:15.")
    seen_at_both_widths(page, shots, "PQ-quiet")
    page.evaluate("() => { window.notReloaded = true; }")

    # The clerk calls: the number and its counter show up by themselves, the line shrinks.
    called = ok(clerk.call_next())["ticket"]
    expect(tile(page, called)).to_contain_text("Stanowisko 1", timeout=LIVE)
    expect(tile(page, called)).to_contain_text("Called now")
    expect(waiting(page, "Paying arrears in instalments")).to_have_text("1", timeout=LIVE)
    expect(page.locator("[data-empty=serving]")).to_be_hidden()

    # Another resident takes a number, a second clerk sits down, the first starts serving.
    walk_in(kiosk, "zamiana")
    Clerk(app, "public-clerk-3", "Stanowisko 3")
    expect(waiting(page, "Exchanging a flat for a smaller one")).to_have_text("1", timeout=LIVE)
    expect(page.locator("[data-field=counters_text]")).to_have_text(
        "Counters open: 2 of 3", timeout=LIVE
    )
    ok(clerk.act(first, "serve"))
    expect(tile(page, called)).to_contain_text("Being served", timeout=LIVE)
    assert page.evaluate("() => window.notReloaded === true")
    expect(page.locator("[data-field=connection]")).to_have_text("")
    seen_at_both_widths(page, shots, "PQ-busy")


@contextmanager
def other_site(html: str) -> Iterator[str]:
    """Another origin serving ``html``: another port of this machine (Chromium keeps public
    sites from framing local ones, so a made-up public host would be refused anyway)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = html.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_the_embed_works_inside_another_sites_page(
    app: Flask, at_ten: None, live_server: LiveServer, page: Page, tmp_path: Path
) -> None:
    kiosk = signed_in_device(app)
    walk_in(kiosk, "raty")
    clerk = Clerk(app, "embed-clerk", "Stanowisko 1")
    shots = shots_folder(tmp_path)
    embed = f"{live_server.url}/o/{KOSZALIN}/queue/embed?lang=en"

    # The embed on its own, at the size an office gives it in its site.
    page.set_viewport_size({"width": 400, "height": 300})
    page.goto(embed)
    expect(waiting(page, "Paying arrears in instalments")).to_have_text("1")
    assert_accessible(page)
    page.screenshot(path=shots / "PQ-embed-400x300.png")

    # In an iframe of a page from another origin: shown (no DENY), and live there too.
    host = (
        '<!doctype html><html lang="en"><head><title>Town hall</title></head><body>'
        "<h1>Town hall</h1>"
        f'<iframe title="Counters" src="{embed}" width="400" height="300"></iframe>'
        "</body></html>"
    )

    with other_site(host) as town_hall:
        page.set_viewport_size({"width": 1280, "height": 800})
        page.goto(town_hall)
        frame = page.frame_locator("iframe")
        expect(frame.locator("h1")).to_contain_text("Current state of the counters")
        expect(waiting(frame, "Paying arrears in instalments")).to_have_text("1")
        called = ok(clerk.call_next())["ticket"]
        expect(tile(frame, called)).to_contain_text("Stanowisko 1", timeout=LIVE)
        expect(waiting(frame, "Paying arrears in instalments")).to_have_text("0", timeout=LIVE)
        page.locator("iframe").screenshot(path=shots / "PQ-embed-framed.png")
