"""An office manager works the settings, services, counters and devices pages in Chromium,
clicking and typing: names the office in Czech, renames a service, gives it to another
counter, and adds a kiosk whose link opens the kiosk. axe-core checks every page visited,
at a desktop and a phone width.

Screenshots go to ``tmp_path``, or to the folder named by ``OKIENKO_SHOTS``.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import time_machine
import zxingcpp
from flask import Flask
from PIL import Image
from playwright.sync_api import Browser, Page, expect

from queueing.models import Role
from tests.helpers.admin import PASSWORD, ZIELNA, make_account
from tests.helpers.admin_pages import seen_at_both_widths, shots_folder, watched_page
from tests.helpers.floor import NOW

if TYPE_CHECKING:
    from tests.helpers.live_server import LiveServer

pytestmark = pytest.mark.browser

OFFICE = "Bytomskie Mieszkania – ul. Zielna 25b"


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    return shots_folder(tmp_path)


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    with watched_page(browser) as tab:
        yield tab


def seen(page: Page, shots: Path | None = None, name: str = "") -> None:
    seen_at_both_widths(page, shots, f"B-{name}")


@pytest.fixture
def manager(app: Flask) -> Iterator[None]:
    make_account(app, "zielna-manager", Role.MANAGER, manages=[ZIELNA])
    with time_machine.travel(NOW, tick=True):
        yield


def test_a_manager_edits_the_office_and_adds_a_kiosk(
    app: Flask, manager: None, live_server: LiveServer, page: Page, shots: Path
) -> None:
    base = live_server.url
    page.goto(f"{base}/login?lang=en")
    page.get_by_label("User name").fill("zielna-manager")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name=OFFICE).click()

    # Settings: a mistake is shown next to its field, what was typed stays.
    page.get_by_role("link", name="Settings").click()
    expect(page.locator("h1")).to_have_text("Settings")
    seen(page, shots, "settings")
    page.get_by_label("Name in Czech").fill("Bytomské byty – Zielna 25b")
    page.get_by_label("Book at most this many days ahead").fill("0")
    page.get_by_role("button", name="Save the settings").click()
    expect(page.locator(".field-error")).to_have_text("Give a whole number from 1 to 730.")
    expect(page.get_by_label("Name in Czech")).to_have_value("Bytomské byty – Zielna 25b")
    seen(page, shots, "settings-error")
    page.get_by_label("Book at most this many days ahead").fill("60")
    page.get_by_role("button", name="Save the settings").click()
    expect(page.locator(".flash-success")).to_have_text("The settings are saved.")

    # Services: renamed in Czech.
    page.get_by_role("link", name="Services", exact=True).click()
    seen(page, shots, "services")
    page.get_by_role("link", name="Flat exchange").click()
    seen(page, shots, "service")
    page.get_by_label("Name in Czech").fill("Výměna obecního bytu")
    page.get_by_role("button", name="Save the service").click()
    expect(page.locator(".flash-success")).to_have_text("The service is saved.")

    # Counters: the third counter takes the service too.
    page.get_by_role("link", name="Counters", exact=True).click()
    seen(page, shots, "counters")
    page.get_by_role("link", name="Punkt obsługi 3").click()
    seen(page, shots, "counter")
    page.get_by_role("button", name="Remove this counter…").click()
    expect(page.locator("h1")).to_have_text("Remove Punkt obsługi 3")
    seen(page, shots, "counter-remove")
    page.get_by_role("link", name="Keep it").click()
    page.get_by_label("Flat exchange").check()
    page.get_by_role("button", name="Save the counter").click()
    expect(page.locator(".flash-success")).to_have_text("The counter is saved.")
    expect(page.locator("tr", has_text="Punkt obsługi 3")).to_contain_text("Z")

    # Devices: a kiosk, its link shown once with the code to scan.
    page.get_by_role("link", name="Kiosks and displays").click()
    seen(page, shots, "devices")
    page.get_by_label("Kind").select_option(label="Kiosk")
    page.get_by_label("Device name").fill("Kiosk at the entrance")
    page.get_by_role("button", name="Add and show its link").click()
    expect(page.locator("svg.qr")).to_be_visible()
    link = page.get_by_label("Link", exact=True).input_value()
    drawn = Image.open(io.BytesIO(page.locator("svg.qr").screenshot()))
    assert [code.text for code in zxingcpp.read_barcodes(drawn)] == [link]  # scans as the link
    seen(page, shots, "device-link")
    page.get_by_role("link", name="Done").click()
    seen(page, shots, "devices-listed")
    page.get_by_role("button", name="Revoke Kiosk at the entrance").click()
    seen(page, shots, "device-revoke")
    page.get_by_role("link", name="Back").click()

    # The resident, in Czech, and the kiosk from its link.
    page.goto(f"{base}/o/{ZIELNA}?lang=cs")
    expect(page.locator("h1")).to_have_text("Bytomské byty – Zielna 25b")
    expect(page.locator("main")).to_contain_text("Výměna obecního bytu")
    kiosk = page.context.browser.new_context(locale="pl-PL")  # type: ignore[union-attr]
    try:
        screen = kiosk.new_page()
        screen.goto(link.replace("http://testserver", base))
        expect(screen).to_have_url(f"{base}/kiosk/")
    finally:
        kiosk.close()
