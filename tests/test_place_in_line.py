"""A resident's place in line and estimated wait: on the kiosk's ticket (by the open counters
that serve the service, with booked visits slotted in), and on the phone status page the
ticket's QR code opens (its token signed, a tampered one not found).

Koszalin's demo office on Wednesday 25 November 2026 (open 07:15-15:15 local, UTC+1).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import time_machine
from flask import Flask

from queueing.status import status_serializer
from tests.helpers.floor import (
    NOW,
    Clerk,
    book,
    check_in,
    ok,
    signed_in_device,
    status_token,
    ticket_id_of,
    utc,
    walk_in,
)


def test_kiosk_ticket_shows_place_in_line_and_estimated_wait(app: Flask, clock: Any) -> None:
    kiosk = signed_in_device(app)
    first = walk_in(kiosk)
    page = kiosk.get(f"/kiosk/ticket/{first}").get_data(as_text=True)
    assert "0 people ahead of you" in page
    assert "Estimated wait" not in page  # no counter is open
    Clerk(app, "koszalin1", "Stanowisko 1")
    walk_in(kiosk, "odroczenie")
    third = walk_in(kiosk)
    page = kiosk.get(f"/kiosk/ticket/{third}").get_data(as_text=True)
    assert 'data-ticket="R002"' in page
    assert "2 people ahead of you" in page
    assert "Estimated wait: about 60 min" in page  # 2 × 30 planned minutes, one counter
    Clerk(app, "koszalin2", "Stanowisko 2")
    page = kiosk.get(f"/kiosk/ticket/{third}").get_data(as_text=True)
    assert "Estimated wait: about 30 min" in page
    # Stanowisko 3 serves only "zamiana": it does not shorten the raty line.
    Clerk(app, "koszalin3", "Stanowisko 3")
    page = kiosk.get(f"/kiosk/ticket/{third}").get_data(as_text=True)
    assert "Estimated wait: about 30 min" in page


def test_booked_visits_are_slotted_into_the_estimate(app: Flask) -> None:
    book(app, utc("2026-11-25", "10:30"), email="later@example.com")
    with time_machine.travel(NOW, tick=False):
        kiosk = signed_in_device(app)
        Clerk(app, "koszalin1", "Stanowisko 1")
        walk_in(kiosk)
        walk_in(kiosk)
        last = walk_in(kiosk)
        page = kiosk.get(f"/kiosk/ticket/{last}").get_data(as_text=True)
    # 2 ahead × 30 min. The 10:30 visit would join the line after these walk-ins:
    # by the priority rule it never goes before them, so it adds nothing.
    assert "2 people ahead of you" in page and "about 60 min" in page
    book(app, utc("2026-11-25", "09:45"))  # its slot began before the walk-ins came
    with time_machine.travel(NOW, tick=False):
        page = kiosk.get(f"/kiosk/ticket/{last}").get_data(as_text=True)
    # It may still check in (15 minutes' grace) and would then be served first: +30.
    assert "2 people ahead of you" in page and "about 90 min" in page


def test_an_early_check_in_is_not_delayed_by_its_own_booking(app: Flask) -> None:
    booking = book(app, utc("2026-11-25", "10:30"))
    with time_machine.travel(utc("2026-11-25", "10:01"), tick=False) as traveller:
        kiosk = signed_in_device(app)
        Clerk(app, "koszalin1", "Stanowisko 1")
        walk_in(kiosk)  # queued at 10:01, before the 10:30 slot: ahead of the visit
        traveller.move_to(utc("2026-11-25", "10:05"))
        visit = ticket_id_of(check_in(kiosk, booking["code"]))
        page = kiosk.get(f"/kiosk/ticket/{visit}").get_data(as_text=True)
        status = app.test_client().get(f"/t/{status_token(app, visit)}/status.json").get_json()
    assert "1 person ahead of you" in page
    # One walk-in of 30 minutes; the visit's own booking is not another visit slotted in.
    assert "Estimated wait: about 30 min" in page
    assert status["ahead"] == 1 and status["wait_minutes"] == 30


def test_next_in_line_waits_for_the_busy_counter(app: Flask, clock: Any) -> None:
    kiosk = signed_in_device(app)
    clerk = Clerk(app, "koszalin1", "Stanowisko 1")
    walk_in(kiosk)
    second = walk_in(kiosk)
    ok(clerk.call_next())  # R001 at the only open counter since 10:00, 30 planned minutes
    clock.shift(timedelta(minutes=12))
    page = kiosk.get(f"/kiosk/ticket/{second}").get_data(as_text=True)
    status = app.test_client().get(f"/t/{status_token(app, second)}/status.json").get_json()
    assert "0 people ahead of you" in page
    assert "Estimated wait: about 18 min" in page  # until 10:30, not "0 min"
    assert (status["ahead"], status["next"], status["wait_minutes"]) == (0, True, 18)


def test_phone_status_page_follows_the_ticket(app: Flask, clock: Any) -> None:
    kiosk = signed_in_device(app)
    clerk = Clerk(app, "koszalin1", "Stanowisko 1")
    first, second = walk_in(kiosk), walk_in(kiosk)
    qr = kiosk.get(f"/kiosk/ticket/{second}/qr.png")
    assert qr.status_code == 200 and qr.mimetype == "image/png"
    token = status_token(app, second)
    phone = app.test_client()
    phone.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    page = phone.get(f"/t/{token}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "R002" in text and "People ahead of you: 1" in text
    status = phone.get(f"/t/{token}/status.json").get_json()
    assert status == {
        "ticket": "R002",
        "status": "waiting",
        "ahead": 1,
        "wait_minutes": 30,
        "wait_range": [20, 40],
        "next": False,
        "counter": None,
        "calls": 0,
        "called_at": None,
        "closed": False,
    }
    ok(clerk.call_next())
    ok(clerk.act(first, "finish"))
    clock.shift(timedelta(seconds=10))
    ok(clerk.call_next())
    status = phone.get(f"/t/{token}/status.json").get_json()
    assert status["status"] == "called" and status["counter"] == "Stanowisko 1"
    assert "Please go to Stanowisko 1." in phone.get(f"/t/{token}").get_data(as_text=True)


def test_a_tampered_status_token_is_not_found(app: Flask, clock: Any) -> None:
    kiosk = signed_in_device(app)
    ticket_id = walk_in(kiosk)
    token = status_token(app, ticket_id)
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    guessed = status_token(app, ticket_id).split(".")[0] + ".x"
    with app.test_request_context():
        not_an_id = status_serializer().dumps("1")
        missing = status_serializer().dumps(ticket_id + 1000)
    client = app.test_client()
    for bad in (tampered, guessed, not_an_id, missing, str(ticket_id)):
        assert client.get(f"/t/{bad}").status_code == 404, bad
        assert client.get(f"/t/{bad}/status.json").status_code == 404, bad
    assert client.get(f"/t/{token}").status_code == 200
