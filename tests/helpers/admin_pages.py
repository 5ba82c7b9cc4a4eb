"""Chromium pages for the administration's browser tests: an English desktop tab that fails
the test on a script or console error, and checks of each page at both widths managers use."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Browser, Page

from tests.helpers.page_checks import assert_accessible, assert_forms_send_each_field_once

SIZES = {"desktop": (1280, 800), "phone": (390, 844)}


def shots_folder(tmp_path: Path) -> Path:
    """Where screenshots go: ``tmp_path``, or the folder named by ``OKIENKO_SHOTS``."""
    folder = Path(os.environ.get("OKIENKO_SHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@contextmanager
def watched_page(browser: Browser) -> Iterator[Page]:
    """An English desktop tab; a script error or a console error fails the test (a form
    refused by design answers 409 or 422, which the browser logs: not an error here)."""
    context = browser.new_context(locale="en-GB", viewport={"width": 1280, "height": 800})
    context.set_default_timeout(30_000)  # a bound for a busy machine, not a speed
    tab = context.new_page()
    problems: list[str] = []
    tab.on("pageerror", lambda exc: problems.append(str(exc)))
    tab.on(
        "console",
        lambda m: (
            m.type == "error"
            and not m.location.get("url", "").endswith("/favicon.ico")
            and not re.search(r"status of (409|422)", m.text)
            and problems.append(f"{m.text} ({m.location.get('url')})")
        ),
    )
    try:
        yield tab
    finally:
        context.close()
    assert problems == [], problems


def seen_at_both_widths(page: Page, shots: Path | None = None, name: str = "") -> None:
    """axe-core at both widths (screenshots of each when named), forms send each field once."""
    page.wait_for_load_state()
    for size, (width, height) in SIZES.items():
        page.set_viewport_size({"width": width, "height": height})
        assert_accessible(page)
        if shots is not None:
            page.screenshot(path=shots / f"{name}-{size}.png", full_page=True)
    page.set_viewport_size({"width": 1280, "height": 800})
    assert_forms_send_each_field_once(page)
