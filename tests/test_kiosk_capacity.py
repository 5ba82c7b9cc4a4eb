"""Walk-in capacity at the kiosk: once the estimated wait for a service would run past
closing time (Koszalin closes at 15:15), the kiosk stops issuing its tickets, says why and
offers the next free appointment with a QR code to book it; a clerk can keep it issuing.

Koszalin's demo office on Wednesday 25 November 2026, late in the afternoon.
"""

from __future__ import annotations

import html
import io
import re
from datetime import timedelta
from typing import Any

import zxingcpp
from flask import Flask
from PIL import Image

from booking.models import Service
from okienko.database import db
from queueing.capacity import called_after_closing
from tests.helpers.floor import (
    Clerk,
    service_id,
    signed_in_device,
    take_number,
    utc,
    walk_in,
)
from tests.helpers.forms import csrf_token

LATE = utc("2026-11-25", "14:40")  # 35 minutes before closing


def fits_before_closing(app: Flask) -> int:
    """How many walk-ins one counter can still call before 15:15, at the planned duration."""
    with app.app_context():
        minutes = db.session.get(Service, service_id(app, "raty")).duration_minutes
    return 35 // minutes + 1  # ahead 0, 1, ... while ahead × duration ≤ 35 minutes


def test_the_kiosk_stops_issuing_when_the_wait_runs_past_closing(app: Flask, clock: Any) -> None:
    clock.move_to(LATE)
    Clerk(app, "koszalin1", "Stanowisko 1")
    kiosk = signed_in_device(app)
    for _ in range(fits_before_closing(app)):
        walk_in(kiosk)
    home = kiosk.get("/kiosk/").get_data(as_text=True)
    assert 'href="/kiosk/full/raty"' in home
    assert 'action="/kiosk/walk-in/raty"' not in home
    response = take_number(kiosk)
    assert response.status_code == 302 and response.headers["Location"].endswith("/kiosk/full/raty")

    page = kiosk.get("/kiosk/full/raty").get_data(as_text=True)
    assert "No more tickets for this service today" in page
    assert "The next free appointment:" in page
    # The QR encodes the day the page shows, whatever is free by the time the image loads.
    src = html.unescape(re.search(r'<img src="(/kiosk/full/raty/qr\.png[^"]*)"', page).group(1))
    day = re.fullmatch(r".*\?day=(2026-\d\d-\d\d)", src).group(1)
    shown = re.search(r"The next free appointment: ([^<]+)\.", page).group(1)
    assert str(int(day[-2:])) in shown and "2026" in shown, (day, shown)
    qr = kiosk.get(src)
    assert qr.status_code == 200 and qr.mimetype == "image/png"
    text = zxingcpp.read_barcodes(Image.open(io.BytesIO(qr.data)))[0].text
    assert re.fullmatch(rf"https?://[^/]+/o/koszalin-zbm/raty/{day}", text), text
    for bad in ("", "?day=2026-02-30", "?day=2026-11-24", "?day=%3Cscript%3E"):
        assert kiosk.get(f"/kiosk/full/raty/qr.png{bad}").status_code == 400, bad
    # In the resident's language: the page follows the kiosk's language switch.
    assert '<html lang="cs">' in kiosk.get("/kiosk/full/raty?lang=cs").get_data(as_text=True)


def test_a_clerk_keeps_the_service_issuing_today(app: Flask, clock: Any) -> None:
    clock.move_to(LATE)
    clerk = Clerk(app, "koszalin1", "Stanowisko 1")
    kiosk = signed_in_device(app)
    for _ in range(fits_before_closing(app)):
        walk_in(kiosk)
    assert take_number(kiosk).status_code == 302  # to the "no more tickets" page
    switch = clerk.client.get("/counter/walk-ins/").get_data(as_text=True)
    assert "Keep issuing today" in switch
    token = csrf_token(clerk.client, "/counter/walk-ins/")
    response = clerk.client.post("/counter/walk-ins/raty", data={"csrf_token": token, "keep": "1"})
    assert response.status_code == 302
    assert "Keeps issuing today" in clerk.client.get("/counter/walk-ins/").get_data(as_text=True)
    walk_in(kiosk)  # a ticket again
    # Bad input is a 400, not a 500; a kiosk cannot reach the switch.
    assert (
        clerk.client.post(
            "/counter/walk-ins/raty", data={"csrf_token": token, "keep": "x"}
        ).status_code
        == 400
    )
    assert kiosk.get("/counter/walk-ins/").status_code == 403


def test_the_switch_lapses_at_midnight(app: Flask, clock: Any) -> None:
    clock.move_to(LATE)
    clerk = Clerk(app, "koszalin1", "Stanowisko 1")
    token = csrf_token(clerk.client, "/counter/walk-ins/")
    clerk.client.post("/counter/walk-ins/raty", data={"csrf_token": token, "keep": "1"})
    clock.move_to(utc("2026-11-26", "14:40"))
    assert "Keeps issuing today" not in clerk.client.get("/counter/walk-ins/").get_data(
        as_text=True
    )


def test_a_break_in_the_day_moves_the_call_later() -> None:
    """An hour open before lunch and two after it: nobody is called over lunch, so the
    wait is counted in open time only."""
    day = "2026-11-25"
    hours = [(utc(day, "10:00"), utc(day, "11:00")), (utc(day, "12:00"), utc(day, "14:00"))]
    assert not called_after_closing(hours, timedelta(minutes=50))  # before lunch
    assert not called_after_closing(hours, timedelta(hours=2, minutes=50))  # 13:50, after it
    assert not called_after_closing(hours, timedelta(hours=3))  # at closing
    assert called_after_closing(hours, timedelta(hours=3, minutes=1))  # 3 h of open time left
    assert called_after_closing(hours[1:], timedelta(hours=2, minutes=1))  # asked over lunch
    assert not called_after_closing([], timedelta(hours=9))  # closed: so is the kiosk
