"""The kiosk as a touch screen in Chromium, portrait 1080×1920 and landscape 1920×1080, at the
fixed NOW: the on-screen keypad types a booking code and checks in, every target is at least
90 px, the ticket counts down back to the start, the language switch works on the admission
questions (Bytom's sanitary regime), which fill the screen without scrolling, as does the
ticket, its number large, yet printed on an 80 mm slip; axe-core on each page, and a
screenshot of each."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, ViewportSize, expect

from queueing.models import DeviceKind
from tests.helpers.admin_pages import shots_folder
from tests.helpers.floor import device_link
from tests.helpers.live_server import LiveServer
from tests.helpers.page_checks import assert_accessible

pytestmark = pytest.mark.browser

SIZES: dict[str, ViewportSize] = {
    "portrait": {"width": 1080, "height": 1920},
    "landscape": {"width": 1920, "height": 1080},
}
# A radio button is tapped through its whole label (.answer), which is the target.
TARGETS = (
    "button:visible, a:visible, input:visible:not([type=hidden]):not([type=radio]), .answer:visible"
)


def small_targets(page: Page) -> list[str]:
    found = []
    for target in page.locator(TARGETS).all():
        box = target.bounding_box()
        if box and (box["width"] < 90 or box["height"] < 90):
            found.append(f"{target.evaluate('e => e.outerHTML')[:80]} {box}")
    return found


def look(page: Page, shots: Path, name: str) -> None:
    assert_accessible(page)
    assert small_targets(page) == []
    page.screenshot(path=shots / f"kiosk-{name}.png", full_page=True)


def font_px(page: Page, selector: str) -> list[float]:
    """The computed font size of each element the selector finds."""
    sizes = page.locator(selector).evaluate_all(
        "els => els.map(e => parseFloat(getComputedStyle(e).fontSize))"
    )
    assert sizes, f"nothing matches {selector}"
    return [float(size) for size in sizes]


def bottom_share(page: Page, selector: str) -> float:
    """Where the element's bottom edge is, as a share of the viewport's height."""
    return float(
        page.locator(selector).evaluate(
            "e => e.getBoundingClientRect().bottom / window.innerHeight"
        )
    )


def assert_fits_the_screen(page: Page) -> None:
    """Nothing to scroll to, down or across: a kiosk has no scroll bar a resident would find."""
    scroll = page.evaluate(
        """() => ({height: document.scrollingElement.scrollHeight, width:
        document.scrollingElement.scrollWidth, innerHeight: innerHeight, innerWidth: innerWidth})"""
    )
    assert scroll["height"] <= scroll["innerHeight"], scroll
    assert scroll["width"] <= scroll["innerWidth"], scroll


def assert_questions_fill_the_screen(page: Page) -> None:
    """Large questions and answers spread over the whole screen: Continue, the form's last
    control, sits in the lower quarter, within reach, and nothing is left to scroll."""
    assert_fits_the_screen(page)
    assert bottom_share(page, "#questions-form button[type=submit]") >= 0.75
    assert min(font_px(page, ".question-text")) >= 28
    assert min(font_px(page, ".answer")) >= 28
    for answer in page.locator(".answer").all():
        box = answer.bounding_box()
        assert box and box["height"] >= 90


def assert_ticket_reads_standing(page: Page, shots: Path, name: str) -> None:
    """The number very large, the service and the place in line large, the screen filled;
    printed, the slip is still an 80 mm receipt."""
    assert_fits_the_screen(page)
    assert font_px(page, ".slip-number")[0] >= 120
    assert min(font_px(page, ".slip-service, .slip-ahead, .slip-wait")) >= 32
    assert bottom_share(page, ".no-print.actions") >= 0.75
    page.emulate_media(media="print")
    try:
        slip = page.locator(".ticket-slip").bounding_box()
        assert slip and slip["width"] <= 80 / 25.4 * 96  # 80 mm at CSS's 96 px to the inch
        assert font_px(page, ".slip-number")[0] <= 40 / 72 * 96 + 0.5  # floor.css: 40pt
        assert max(font_px(page, ".slip-service, .slip-ahead, .slip-wait, .ticket-slip h2")) <= 16
        page.locator(".ticket-slip").screenshot(path=shots / f"kiosk-{name}-print.png")
    finally:
        page.emulate_media(media="screen")


@pytest.mark.parametrize("size", SIZES)
def test_the_keypad_checks_in_and_the_ticket_returns_to_the_start(
    app: Flask, clock: Any, appointment: dict[str, Any], browser: Browser, tmp_path: Path, size: str
) -> None:
    app.config["KIOSK_RETURN_SECONDS"] = 3  # a short time-out, waited on, not slept
    app.config["KIOSK_PRINT_ON_LOAD"] = False
    shots = shots_folder(tmp_path)
    context = browser.new_context(locale="en-GB", viewport=SIZES[size], has_touch=True)
    context.set_default_timeout(30_000)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    try:
        with LiveServer(app) as server:
            page.goto(server.url + device_link(app, DeviceKind.KIOSK, "Kiosk 1") + "")
            page.goto(server.url + "/kiosk/?lang=en")
            look(page, shots, f"{size}-start")
            main = page.locator("main").bounding_box()
            assert main and main["width"] >= SIZES[size]["width"] - 20  # the screen is used
            for key in appointment["code"]:
                page.locator(f'#keypad [data-key="{key}"]').tap()
            expect(page.locator("#code")).to_have_value(appointment["code"])
            page.locator("#keypad [data-key=back]").tap()
            page.locator(f'#keypad [data-key="{appointment["code"][-1]}"]').tap()
            page.locator("#checkin-form button[type=submit]").tap()
            expect(page).to_have_url(re.compile(r"/kiosk/ticket/\d+$"))
            expect(page.locator("#return-home")).to_be_visible()
            look(page, shots, f"{size}-ticket")
            assert_ticket_reads_standing(page, shots, f"{size}-ticket")
            # The countdown runs down and the kiosk is back at the start, in Polish.
            expect(page).to_have_url(re.compile(r"/kiosk/\?lang=pl$"))
    finally:
        context.close()
    assert problems == []


@pytest.mark.parametrize("size", SIZES)
def test_the_language_switch_on_the_questions(
    app: Flask, clock: Any, browser: Browser, tmp_path: Path, size: str
) -> None:
    app.config["KIOSK_PRINT_ON_LOAD"] = False
    shots = shots_folder(tmp_path)
    context = browser.new_context(locale="en-GB", viewport=SIZES[size], has_touch=True)
    context.set_default_timeout(30_000)
    page = context.new_page()
    try:
        with LiveServer(app) as server:
            page.goto(server.url + device_link(app, DeviceKind.KIOSK, "Kiosk 1", "bytom-zielna"))
            page.goto(server.url + "/kiosk/?lang=en")
            page.locator(".service-button").first.tap()
            expect(page.locator(".question")).to_have_count(4)
            expect(page.locator("html")).to_have_attribute("lang", "en")
            look(page, shots, f"{size}-questions-en")
            assert_questions_fill_the_screen(page)
            page.locator('.langs button[lang="cs"]').tap()
            expect(page.locator("html")).to_have_attribute("lang", "cs")
            expect(page.locator(".question")).to_have_count(4)
            expect(page.locator(".question").first).to_contain_text("Máte příznaky")
            look(page, shots, f"{size}-questions-cs")
            assert_questions_fill_the_screen(page)
            page.locator('.langs button[lang="pl"]').tap()
            expect(page.locator("html")).to_have_attribute("lang", "pl")
            expect(page.locator(".question")).to_have_count(4)
            look(page, shots, f"{size}-questions-pl")
            assert_questions_fill_the_screen(page)
            for question in page.locator(".question").all():
                question.locator("input[value=no]").check()
            page.locator("#questions-form button[type=submit]").tap()
            # Admitted: the ticket, with the regime's notices on the slip.
            expect(page).to_have_url(re.compile(r"/kiosk/ticket/\d+"))
            expect(page.locator(".ticket-slip .regime-notices")).to_be_visible()
            look(page, shots, f"{size}-ticket-regime")
            assert_ticket_reads_standing(page, shots, f"{size}-ticket-regime")
    finally:
        context.close()


# Counts window.print calls across page loads (the init script runs again on each one).
COUNT_PRINTS = """
window.print = function () {
  sessionStorage.setItem("prints", String(Number(sessionStorage.getItem("prints") || 0) + 1));
};
"""


def test_a_ticket_prints_once_and_not_again_after_a_language_switch_or_reload(
    app: Flask, clock: Any, browser: Browser, tmp_path: Path
) -> None:
    app.config["KIOSK_PRINT_ON_LOAD"] = True  # as in production
    app.config["KIOSK_RETURN_SECONDS"] = 30
    shots = shots_folder(tmp_path)
    context = browser.new_context(locale="en-GB", viewport=SIZES["portrait"], has_touch=True)
    context.set_default_timeout(30_000)
    context.add_init_script(COUNT_PRINTS)
    page = context.new_page()
    prints = 'Number(sessionStorage.getItem("prints") || 0)'
    try:
        with LiveServer(app) as server:
            page.goto(server.url + device_link(app, DeviceKind.KIOSK, "Kiosk 1"))
            page.goto(server.url + "/kiosk/?lang=en")
            page.locator("button.service-button").first.tap()
            # The first view prints once the page (with the QR) has loaded, and drops ?print=1.
            expect(page).to_have_url(re.compile(r"/kiosk/ticket/\d+$"))
            page.wait_for_function(f"() => {prints} === 1")  # a function: CSP forbids eval
            look(page, shots, "ticket-printed")
            page.locator('.langs a[lang="cs"]').tap()
            expect(page.locator("html")).to_have_attribute("lang", "cs")
            page.wait_for_load_state("load")
            page.reload(wait_until="load")
            expect(page.locator("html")).to_have_attribute("lang", "cs")
            assert page.evaluate(f"() => {prints}") == 1
            # A touch gives the resident the full time again.
            page.wait_for_function(
                "() => Number(document.getElementById('countdown-seconds').textContent) <= 28"
            )
            page.locator(".slip-number").tap()
            expect(page.locator("#countdown-seconds")).to_have_text("30")
    finally:
        context.close()
