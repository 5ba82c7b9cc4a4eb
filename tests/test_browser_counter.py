"""A clerk works the counter page in a real browser with the keyboard: N calls the next
ticket, S starts, F finishes; a key pressed while a field has the focus does nothing. The page
shows the line's waits with the long one marked, and for a booked resident the name, the
booked time, the service, the wait and a timer that ticks on its own; the open page keeps
the seat with its heartbeat. axe-core checks the page in each state, at 1280×800 and
1920×1080, and screenshots of each go to ``tmp_path`` (or the folder in ``OKIENKO_SHOTS``).

Koszalin's demo office on Wednesday 25 November 2026: the server's clock is moved with
time_machine (the live server runs in this process) and ticks from 10:05 local.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import time_machine
from flask import Flask
from playwright.sync_api import Browser, Page, expect

from booking.cli import find_office
from okienko.database import db
from queueing.cli import upsert_staff
from queueing.models import Ticket, TicketStatus
from tests.helpers.admin_pages import shots_folder, watched_page
from tests.helpers.floor import (
    DAY,
    KOSZALIN,
    NOW,
    PASSWORD,
    book,
    check_in,
    signed_in_device,
    ticket,
    ticket_id_of,
    utc,
    walk_in,
)
from tests.helpers.page_checks import assert_accessible

if TYPE_CHECKING:
    from tests.helpers.live_server import LiveServer

pytestmark = pytest.mark.browser

SIZES = {"1280": (1280, 800), "1920": (1920, 1080)}


def at_both_sizes(page: Page, shots: Path, name: str) -> None:
    """axe-core and a screenshot at each size the counter's desk screens have."""
    for size, (width, height) in SIZES.items():
        page.set_viewport_size({"width": width, "height": height})
        assert_accessible(page)
        page.screenshot(path=shots / f"counter-{name}-{size}.png", full_page=True)
    page.set_viewport_size({"width": 1280, "height": 800})


def press(page: Page, key: str) -> None:
    """The clerk presses ``key`` once the page has loaded: its shortcuts come with its
    script, which a busy browser may still be fetching when the buttons already show."""
    page.wait_for_load_state()
    page.keyboard.press(key)


def status(app: Flask, ticket_id: int) -> TicketStatus:
    return ticket(app, ticket_id).status


def test_a_clerk_calls_starts_and_finishes_with_the_keyboard(
    app: Flask, live_server: LiveServer, browser: Browser, tmp_path: Path
) -> None:
    shots = shots_folder(tmp_path)
    booked = book(app, NOW)  # raty at 10:00, booked the day before
    with time_machine.travel(utc(str(DAY), "09:20"), tick=False):
        kiosk = signed_in_device(app)
        long_waiting = walk_in(kiosk)
    with time_machine.travel(utc(str(DAY), "09:40"), tick=False):
        appointment = ticket_id_of(check_in(kiosk, booked["code"]))
    with time_machine.travel(utc(str(DAY), "10:01"), tick=False):
        walk_in(kiosk)
    with app.app_context():
        upsert_staff(find_office(KOSZALIN), "desk1", "Anna Urzędniczka", PASSWORD)
        db.session.commit()
        cooldown = find_office(KOSZALIN).call_cooldown_seconds
    first, second = ticket(app, long_waiting).label, ticket(app, appointment).label

    with (
        time_machine.travel(utc(str(DAY), "10:05"), tick=True) as clock,
        watched_page(browser) as page,
    ):
        page.goto(f"{live_server.url}/login?lang=en")
        page.fill("#username", "desk1")
        page.fill("#password", PASSWORD)
        page.locator("form.form button[type=submit]").click()
        expect(page).to_have_url(re.compile(r"/counter/$"))
        page.select_option("#counter_id", label="Stanowisko 1")
        # The page renews the seat as soon as it opens, then every minute.
        with page.expect_response(lambda r: r.url.endswith("/counter/seat/keep")) as beat:
            page.locator("form.seat button[type=submit]").click()
        assert beat.value.json() == {"seated": True}
        call_next = page.locator("#call-next")
        expect(call_next).to_have_text("Call next (N)")
        expect(call_next).to_have_attribute("aria-keyshortcuts", "N")

        # The line: each ticket's wait, the 45 minutes of the first marked in words.
        long_row = page.locator(f'tr[data-ticket="{first}"]')
        expect(long_row.locator(".minutes")).to_have_text("45")
        expect(long_row.locator(".long-mark")).to_have_text("long wait")
        expect(long_row).to_have_class("long")
        # Checked in early for 10:00: 5 minutes counted from the booked time, as the mark is.
        booked_row = page.locator(f'tr[data-ticket="{second}"]')
        expect(booked_row.locator(".minutes")).to_have_text("5")
        expect(booked_row.locator(".long-mark")).to_be_hidden()
        height = page.evaluate(
            "() => Math.min(...[...document.querySelectorAll('main button, main select')]"
            ".map(e => e.getBoundingClientRect().height))"
        )
        assert height >= 44, f"a control is {height}px high"
        at_both_sizes(page, shots, "idle")

        # A press whose form goes nowhere (here a handler stops it) leaves the keys working.
        page.evaluate(
            "() => document.addEventListener('submit', (e) => {"
            " e.preventDefault(); window.stopped = true; }, { once: true })"
        )
        press(page, "n")
        page.wait_for_function("() => window.stopped === true")
        assert status(app, long_waiting) == TicketStatus.WAITING
        # N calls the first in line.
        press(page, "n")
        expect(page.locator(".slip-number")).to_have_attribute("data-current", first)
        expect(page.locator('[data-fact="waited"]')).to_have_text("45 min")
        expect(page.locator('[data-action="serve"]')).to_have_text("Start (S)")
        # A key typed while a list has the focus stays in the list: F does not finish.
        page.focus("#to")
        press(page, "f")
        page.locator("h1").click()  # the focus leaves the list
        # S starts the service: the timer counts on its own, from the server's time.
        press(page, "s")
        timer = page.locator('[data-fact="serving"] .timer')
        expect(timer).to_have_text(re.compile(r"^\d+:\d\d$"))
        assert status(app, long_waiting) == TicketStatus.SERVING  # not finished by the F
        expect(timer).not_to_have_text(re.compile(r"^0:00$"))
        # F finishes; N calls the booked resident next.
        press(page, "f")
        expect(page.locator("p.flash-success")).to_have_text(f"{first} finished.")
        expect(call_next).to_be_visible()
        clock.shift(timedelta(seconds=cooldown))  # the office's pause between two calls
        press(page, "n")
        expect(page.locator(".slip-number")).to_have_attribute("data-current", second)
        expect(page.locator('[data-fact="name"]')).to_have_text("Ewa Mieszkanka")
        expect(page.locator('[data-fact="booked"]')).to_have_text("10:00")
        expect(page.locator('[data-fact="waited"]')).to_have_text("25 min")
        expect(page.locator('[data-fact="called"] .timer')).to_have_text(re.compile(r"^0:\d\d$"))
        at_both_sizes(page, shots, "called")
        press(page, "s")
        expect(page.locator('[data-fact="serving"]')).to_be_visible()
        at_both_sizes(page, shots, "serving")

    with app.app_context():
        done = db.session.get(Ticket, long_waiting)
        assert done is not None and done.status == TicketStatus.DONE
        assert done.serving_at is not None and done.finished_at is not None
    assert status(app, appointment) == TicketStatus.SERVING
