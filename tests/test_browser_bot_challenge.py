"""The bot challenge in Chromium: the resident ticks the box (with the keyboard), the vendored
ALTCHA widget solves the server's real challenge in a worker from this site under the
strict CSP, and the booking goes through; sent without it, the form comes back with the
error summary and what was typed. axe-core checks each page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, expect

from tests.helpers.admin_pages import SIZES, shots_folder
from tests.helpers.api import OFFICE, SERVICE, some_starts
from tests.helpers.apps import make_app
from tests.helpers.page_checks import assert_accessible, assert_forms_send_each_field_once

if TYPE_CHECKING:
    from tests.helpers.live_server import LiveServer

pytestmark = pytest.mark.browser

WCAG22 = ("target-size",)


@pytest.fixture
def app(request: pytest.FixtureRequest, tmp_path: Path) -> Flask:
    """Every office asks for the challenge; a real one, at a size a test solves quickly."""
    return make_app(
        request,
        tmp_path,
        "sqlite",
        BOT_CHALLENGE=True,
        ALTCHA_HMAC_KEY="browser-" + "k" * 40,
        ALTCHA_MAX_NUMBER=20000,
    )


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(locale="en-GB", viewport={"width": 390, "height": 844})
    context.set_default_timeout(15_000)
    errors: list[str] = []
    tab = context.new_page()
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    # A CSP violation shows in the console: none may happen.
    tab.on(
        "console", lambda msg: errors.append(msg.text) if "Content Security" in msg.text else None
    )
    try:
        yield tab
    finally:
        context.close()
    assert errors == [], errors


def seen(page: Page, shots: Path | None = None, name: str = "") -> None:
    page.wait_for_load_state()
    assert_accessible(page, WCAG22)
    assert_forms_send_each_field_once(page)
    if shots is not None:
        for size, (width, height) in SIZES.items():
            page.set_viewport_size({"width": width, "height": height})
            assert_accessible(page, WCAG22)
            page.screenshot(path=shots / f"{name}-{size}.png", full_page=True)
        page.set_viewport_size({"width": 390, "height": 844})


def submit(page: Page, status: int) -> None:
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.get_by_role("button", name="Book this time").click()
    assert posted.value.status == status
    page.wait_for_load_state()


def answer_questions(page: Page) -> None:
    questions = page.locator(".declaration .question")
    for index in range(questions.count()):
        questions.nth(index).get_by_label("No", exact=True).check()


def test_the_widget_solves_itself_and_the_booking_goes_through(
    app: Flask, live_server: LiveServer, page: Page, tmp_path: Path
) -> None:
    start = some_starts(app.test_client())[0]
    shots = shots_folder(tmp_path)
    page.goto(f"{live_server.url}/o/{OFFICE}/{SERVICE}/book?start={start}&lang=en")
    seen(page)
    page.get_by_label("Full name").fill("Ewa Nowak")
    page.get_by_label("E-mail").fill("ewa.nowak@example.com")
    answer_questions(page)

    # Sent without the check: 422, the summary links to it, and the typing is kept.
    submit(page, 422)
    summary = page.locator(".error-summary")
    expect(summary).to_be_focused()
    expect(summary.get_by_role("link")).to_have_attribute("href", "#bot-check")
    expect(page.get_by_label("Full name")).to_have_value("Ewa Nowak")
    seen(page, shots, "bot-check-missing")

    # The box, by keyboard: its label is the localised text the template gave.
    box = page.get_by_role("checkbox", name="I am not a robot")
    box.focus()
    page.keyboard.press("Space")
    expect(page.locator("altcha-widget [data-state]")).to_have_attribute("data-state", "verified")
    expect(page.locator("altcha-widget")).to_contain_text("Checked")
    payload = page.locator("input[type=hidden][name=altcha]")
    expect(payload).to_have_count(1)
    assert len(payload.input_value()) > 40
    seen(page, shots, "bot-check-verified")

    answer_questions(page)
    submit(page, 302)  # to the new booking's page
    expect(page).to_have_url(re.compile(r"/manage/"))
    seen(page)
