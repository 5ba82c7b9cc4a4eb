"""The kiosk's walk-in button: none while the office is closed (and when it opens again, in
local time), none for an appointment-only service, and the kiosk's language: the office's
on start and again after each ticket.

Koszalin's demo office in November 2026 (open 07:15-15:15 local, UTC+1), through the real
kiosk pages.
"""

from __future__ import annotations

import html
import re
from datetime import datetime
from typing import Any

import pytest
import time_machine
from flask import Flask
from sqlalchemy import select

from booking.models import Service
from okienko.database import db
from queueing.models import (
    DeviceKind,
    Ticket,
)
from tests.helpers.floor import (
    device_link,
    error_of,
    service_id,
    signed_in_device,
    take_number,
    utc,
    walk_in,
)


@pytest.mark.parametrize(
    "now,opens",
    [
        (utc("2026-11-25", "06:30"), "07:15"),  # before opening on the day
        (utc("2026-11-25", "15:20"), "Thursday, 26 November 2026 07:15"),  # after closing
        (utc("2026-11-28", "10:00"), "Monday, 30 November 2026 07:15"),  # Saturday
    ],
)
def test_walk_in_when_closed_says_when_the_office_opens(app: Flask, now: datetime, opens: str):
    with time_machine.travel(now, tick=False):
        kiosk = signed_in_device(app)
        home = kiosk.get("/kiosk/").get_data(as_text=True)
        assert "/kiosk/walk-in/" not in home  # no buttons to press
        response = take_number(kiosk)
    assert response.status_code == 409
    page = html.unescape(response.get_data(as_text=True))
    assert "The office is closed now." in error_of(response)
    assert re.search(r"It opens [^<]*" + re.escape(opens), page), page[-3000:]
    with app.app_context():
        assert db.session.scalars(select(Ticket)).all() == []


def test_appointment_only_service_takes_no_walk_ins(app: Flask, clock: Any) -> None:
    with app.app_context():
        service = db.session.get(Service, service_id(app, "odpracowanie"))
        service.walk_in = False
        db.session.commit()
    kiosk = signed_in_device(app)
    assert "/kiosk/walk-in/odpracowanie" not in kiosk.get("/kiosk/").get_data(as_text=True)
    assert take_number(kiosk, "odpracowanie").status_code == 404
    assert take_number(kiosk, "no-such-service").status_code == 404


def test_a_kiosk_starts_in_its_offices_language(app: Flask) -> None:
    client = app.test_client()
    client.get(device_link(app, DeviceKind.KIOSK, "Kiosk 1"), headers={"Accept-Language": "en"})
    page = client.get("/kiosk/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert '<html lang="pl">' in page


def test_after_a_ticket_the_kiosk_returns_to_the_offices_language(app: Flask, clock: Any) -> None:
    kiosk = signed_in_device(app)  # switched to English, as a resident might
    page = kiosk.get(f"/kiosk/ticket/{walk_in(kiosk)}").get_data(as_text=True)
    done = re.search(r'<a class="button big" href="([^"]+)">Done</a>', page).group(1)
    assert '<html lang="pl">' in kiosk.get(html.unescape(done)).get_data(as_text=True)


def test_only_the_first_view_of_a_ticket_prints_it(app: Flask, clock: Any) -> None:
    """A new ticket opens with ?print=1; its language links and a plain reload do not print."""
    kiosk = signed_in_device(app)
    response = take_number(kiosk)
    assert response.headers["Location"].endswith("?print=1")
    first = kiosk.get(response.headers["Location"]).get_data(as_text=True)
    assert "data-print-on-load" in first
    links = re.findall(r'<nav class="langs"[^>]*>(.*?)</nav>', first, re.S)[0]
    assert "print" not in links and "?lang=cs" in links
    ticket_id = walk_in(kiosk)
    for again in (f"/kiosk/ticket/{ticket_id}", f"/kiosk/ticket/{ticket_id}?lang=cs"):
        assert "data-print-on-load" not in kiosk.get(again).get_data(as_text=True)
    app.config["KIOSK_PRINT_ON_LOAD"] = False  # a kiosk without a printer
    page = kiosk.get(f"/kiosk/ticket/{ticket_id}?print=1").get_data(as_text=True)
    assert "data-print-on-load" not in page


def test_the_kiosk_settings_come_from_the_environment(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from okienko.config import from_environment

    defaults = from_environment(tmp_path)
    assert (defaults["KIOSK_RETURN_SECONDS"], defaults["KIOSK_PRINT_ON_LOAD"]) == (60, True)
    monkeypatch.setenv("KIOSK_RETURN_SECONDS", "45")
    monkeypatch.setenv("KIOSK_PRINT_ON_LOAD", "0")
    config = from_environment(tmp_path)
    assert (config["KIOSK_RETURN_SECONDS"], config["KIOSK_PRINT_ON_LOAD"]) == (45, False)


def test_the_countdown_is_one_sentence_to_translate() -> None:
    """The number sits inside one message, where each language's word order puts it."""
    from pathlib import Path

    from babel.messages.extract import extract_from_file

    macros = Path(__file__).parent.parent / "templates/queueing/kiosk_macros.html"
    ids = {m[1] for m in extract_from_file("jinja2", str(macros))}
    assert "Back to the start in %(seconds)s s" in ids
    assert "Back to the start in" not in ids


def test_the_countdown_shows_the_seconds_in_the_sentence(app: Flask, clock: Any) -> None:
    kiosk = signed_in_device(app)
    page = kiosk.get(f"/kiosk/ticket/{walk_in(kiosk)}").get_data(as_text=True)
    shown = " ".join(re.search(r'id="return-home"[^>]*>(.*?)</p>', page, re.S).group(1).split())
    assert shown == 'Back to the start in <span id="countdown-seconds">60</span> s'
