"""Staff sign in to the administration in a real browser: an administrator types the password
and a code computed by pyotp, as an authenticator app would show it; another, without a
second factor yet, scans the enrolment QR code from the page. axe-core checks every page.

Screenshots of each page at a desktop and a phone width go to ``tmp_path``, or to the folder
named by ``OKIENKO_SHOTS`` for a person to look at.
"""

from __future__ import annotations

import io
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

import pyotp
import pytest
import zxingcpp
from flask import Flask
from PIL import Image
from playwright.sync_api import Browser, Page, expect

from admin.audit import record
from okienko.database import db, utcnow
from queueing.models import Role, StaffUser
from tests.helpers.admin import PASSWORD, ZIELNA, make_account, office
from tests.helpers.page_checks import assert_accessible, assert_forms_send_each_field_once

if TYPE_CHECKING:
    from tests.helpers.live_server import LiveServer

pytestmark = pytest.mark.browser

SIZES = {"desktop": (1280, 800), "phone": (390, 844)}


def open_page(browser: Browser) -> Page:
    context = browser.new_context(locale="en-GB", viewport={"width": 1280, "height": 800})
    context.set_default_timeout(30_000)  # a bound for a busy machine, not a speed
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on(
        "console",
        lambda m: (
            m.type == "error"
            and not m.location.get("url", "").endswith("/favicon.ico")
            and problems.append(f"{m.text} ({m.location.get('url')})")
        ),
    )
    page.problems = problems  # type: ignore[attr-defined]
    return page


def check(page: Page, name: str, shots: Path) -> None:
    """axe-core at both widths, forms sending each field once, and the screenshots."""
    for size, (width, height) in SIZES.items():
        page.set_viewport_size({"width": width, "height": height})
        assert_accessible(page)
        page.screenshot(path=shots / f"A-{name}-{size}.png", full_page=True)
    page.set_viewport_size({"width": 1280, "height": 800})
    assert_forms_send_each_field_once(page)
    assert page.problems == [], page.problems  # type: ignore[attr-defined]


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("OKIENKO_SHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_an_administrator_signs_in_with_a_code_from_the_app(
    app: Flask, live_server: LiveServer, browser: Browser, shots: Path
) -> None:
    admin = make_account(app, "ada", Role.ADMINISTRATOR)
    make_account(app, "zielna-clerk", Role.CLERK)
    page = open_page(browser)
    page.goto(f"{live_server.url}/login?lang=en")
    check(page, "login", shots)
    page.get_by_label("User name").fill("ada")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()

    expect(page).to_have_url(re.compile(r"/login/code$"))
    field = page.get_by_label("Code")
    expect(field).to_be_focused()
    check(page, "code", shots)
    assert admin.totp_secret
    field.fill(pyotp.TOTP(admin.totp_secret).now())
    page.keyboard.press("Enter")

    expect(page).to_have_url(f"{live_server.url}/admin/")
    expect(page.get_by_role("heading", name="Administration")).to_be_visible()
    check(page, "home", shots)

    page.get_by_role("link", name="Accounts").click()
    expect(page.get_by_role("heading", name="Accounts")).to_be_visible()
    page.get_by_label("Role").select_option("clerk")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_role("link", name="Zielna Clerk")).to_be_visible()
    expect(page.get_by_role("link", name="Ada")).to_have_count(0)
    check(page, "accounts", shots)

    page.get_by_role("link", name="Zielna Clerk").click()
    expect(page.get_by_role("heading", name="Zielna Clerk")).to_be_visible()
    check(page, "account-edit", shots)
    page.get_by_role("button", name="Reset the password").click()
    expect(page.get_by_text("A link made before stops working.")).to_be_visible()
    check(page, "reset-confirm", shots)
    page.get_by_role("button", name="Reset the password").click()
    expect(page.get_by_label("One-time link")).to_have_value(re.compile(r"/admin/reset/"))
    check(page, "reset-link", shots)

    page.get_by_role("link", name="Accounts").click()
    page.get_by_role("link", name="New account").click()
    check(page, "account-new", shots)

    page.get_by_role("link", name="My account").click()
    expect(page.get_by_role("heading", name="My account")).to_be_visible()
    check(page, "my-account", shots)
    page.get_by_role("link", name="Change your password").click()
    check(page, "password", shots)

    page.goto(f"{live_server.url}/admin/o/{ZIELNA}/staff")
    check(page, "office-staff", shots)


def test_an_administrator_enrols_by_scanning_the_qr_code(
    app: Flask, live_server: LiveServer, browser: Browser, shots: Path
) -> None:
    make_account(app, "eve", Role.ADMINISTRATOR, second_factor=False)
    page = open_page(browser)
    page.goto(f"{live_server.url}/login?lang=en")
    page.get_by_label("User name").fill("eve")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()

    # Every administration page leads to the enrolment until it is done.
    expect(page).to_have_url(f"{live_server.url}/admin/account/second-factor")
    expect(page.get_by_text("Set up the second factor before you continue.")).to_be_visible()
    check(page, "enrol", shots)
    picture = Image.open(io.BytesIO(page.locator("svg.qr").screenshot()))
    [found] = zxingcpp.read_barcodes(picture)
    uri = pyotp.parse_uri(found.text)
    assert isinstance(uri, pyotp.TOTP) and uri.name == "eve" and uri.issuer == "Okienko"
    typed = page.locator("code.secret").inner_text().replace(" ", "")
    assert typed == uri.secret

    page.get_by_label("Code from the app").fill(uri.now())
    page.get_by_role("button", name="Turn on the second factor").click()
    expect(page.get_by_role("heading", name="Your recovery codes")).to_be_visible()
    expect(page.locator("ul.recovery-codes li")).to_have_count(10)
    check(page, "recovery-codes", shots)
    page.get_by_role("link", name="I have kept them, continue").click()
    expect(page).to_have_url(f"{live_server.url}/admin/")
    assert_accessible(page)


def test_a_manager_reads_the_office_history_in_polish(
    app: Flask, live_server: LiveServer, browser: Browser, shots: Path
) -> None:
    manager = make_account(app, "zielna-manager", Role.MANAGER, manages=[ZIELNA])
    with app.app_context():
        actor = db.session.get(StaffUser, manager.id)
        zielna = office(ZIELNA)
        service, counter, now = zielna.services[0], zielna.counters[0], utcnow()
        week = {"mon": ["07:30–17:00"], "tue": ["07:30–15:30"]}
        old_names = {"pl": "Stara nazwa", "cs": "Starý název"}
        changes = [
            ("update", "office", None, {"max_days_ahead": 60}, {"max_days_ahead": 90}),
            ("update", "service", service.id, {"names": old_names}, {"names": service.names}),
            ("update", "counter", counter.id, {"services": []}, {"services": [service.id]}),
            ("create", "hours", "2026-12-01", {}, {"valid_from": "2026-12-01", "week": week}),
            ("cancel", "booking", 41, {"status": "booked"}, {"status": "cancelled"}),
        ]
        for action, kind, record_id, before, after in changes:
            record(
                db.session(),
                now,
                actor,
                action,
                kind,
                record_id,
                office_id=zielna.id,
                before=before,
                after=after,
            )
        db.session.commit()

    page = open_page(browser)
    page.goto(f"{live_server.url}/login?lang=pl")
    page.get_by_label("Nazwa użytkownika").fill("zielna-manager")
    page.get_by_label("Hasło").fill(PASSWORD)
    page.get_by_role("button", name="Zaloguj się").click()
    page.get_by_role("link", name="Bytomskie Mieszkania – ul. Zielna 25b").click()
    page.get_by_role("link", name="Historia zmian").click()
    expect(page.get_by_role("heading", name=re.compile("^Historia zmian"))).to_be_visible()
    table = page.get_by_role("table")
    for words in (
        "zmieniono",
        "ustawienia urzędu",
        "Rezerwacja najwyżej tyle dni naprzód",
        "anulowano przez urząd",
        "Obsługiwane usługi",
        "pon.: 07:30–17:00",
    ):
        expect(table).to_contain_text(words)
    expect(table).not_to_contain_text("max_days_ahead")
    check(page, "history-pl", shots)
