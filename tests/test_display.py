"""The lobby display's page and state: the office's language in any browser, and each
service's line with its estimated wait in /display/state.json. (The live feed is in
test_display_stream.py.)

Koszalin's demo office on Wednesday 25 November 2026 (open 07:15-15:15 local, UTC+1).
"""

from __future__ import annotations

from typing import Any

from flask import Flask

from queueing.models import (
    DeviceKind,
)
from tests.helpers.floor import (
    KOSZALIN,
    Clerk,
    signed_in_device,
    walk_in,
)


def test_the_display_speaks_the_offices_language_in_any_browser(app: Flask) -> None:
    display = signed_in_device(app, DeviceKind.DISPLAY, name="Screen", office=KOSZALIN)
    page = display.get("/display/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert '<html lang="pl">' in page
    assert 'data-announce="Numer {ticket}, {counter}"' in page


def test_the_display_state_has_an_estimate_per_service(app: Flask, clock: Any) -> None:
    kiosk = signed_in_device(app)
    for _ in range(3):
        walk_in(kiosk, "raty")
    Clerk(app, "estimator", "Stanowisko 1")
    display = signed_in_device(app, DeviceKind.DISPLAY, name="Screen")
    lines = {
        line["service"]: line for line in display.get("/display/state.json").get_json()["waiting"]
    }
    assert lines["raty"]["waiting"] == 3
    # Three ahead, one open counter, 30 planned minutes each.
    assert lines["raty"]["wait_minutes"] == 90
    assert lines["zamiana"]["waiting"] == 0
