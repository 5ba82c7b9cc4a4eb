"""Checking in at the kiosk with a booking: by its QR payload or its typed code, one ticket per
booking however often and wherever it is scanned, forged or altered payloads and mistyped
codes told apart, other offices' and cancelled bookings refused, the check-in window (too
early, too late, configurable), and a cancelled booking leaving the line.

Koszalin's demo office on Wednesday 25 November 2026 (open 07:15-15:15 local, UTC+1),
through the real kiosk pages.
"""

from __future__ import annotations

from typing import Any

import requests
import time_machine
from flask import Flask
from sqlalchemy import select

from booking.cli import find_office
from booking.codes import format_code
from booking.models import Booking
from booking.qr import ticket_payload
from okienko.database import db
from queueing.models import (
    AuditEntry,
    DeviceKind,
    Ticket,
    TicketKind,
    TicketSequence,
    TicketStatus,
)
from tests.helpers.admission import KIOSK_ADMITTED
from tests.helpers.floor import (
    DAY,
    KOSZALIN,
    NOW,
    SECRET,
    book,
    check_in,
    device_link,
    error_of,
    signed_in_device,
    ticket,
    ticket_id_of,
    utc,
)
from tests.helpers.forms import CSRF_RE, csrf_token
from tests.helpers.live_server import LiveServer
from tests.helpers.race import race


def test_check_in_by_qr_payload_makes_an_appointment_ticket(
    app: Flask, appointment: dict[str, Any]
) -> None:
    with time_machine.travel(utc("2026-11-25", "09:40"), tick=False):
        kiosk = signed_in_device(app)
        ticket_id = ticket_id_of(check_in(kiosk, ticket_payload(appointment["code"], SECRET)))
    made = ticket(app, ticket_id)
    assert made.label == "R001"
    assert made.kind == TicketKind.APPOINTMENT and made.status == TicketStatus.WAITING
    assert made.queued_at == NOW  # in line from the slot start, not from the scan
    assert made.issued_at == utc("2026-11-25", "09:40")
    with app.app_context():
        assert db.session.get(Booking, made.booking_id).code == appointment["code"]
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.ticket_id == ticket_id))
        assert entry.action == "check_in" and entry.device_id is not None


def test_check_in_by_typed_code_and_scanning_twice_gives_the_same_ticket(
    app: Flask, appointment: dict[str, Any]
) -> None:
    typed = "  " + format_code(appointment["code"]).lower() + " "
    assert "-" in typed
    with time_machine.travel(utc("2026-11-25", "09:50"), tick=False):
        kiosk = signed_in_device(app)
        first = ticket_id_of(check_in(kiosk, typed))
        second = ticket_id_of(check_in(kiosk, ticket_payload(appointment["code"], SECRET)))
        other_kiosk = signed_in_device(app, name="Kiosk 2")
        third = ticket_id_of(check_in(other_kiosk, appointment["code"]))
    assert first == second == third
    office_id = ticket(app, first).office_id
    with app.app_context():
        assert len(db.session.scalars(select(Ticket)).all()) == 1
        assert db.session.get(TicketSequence, (office_id, DAY, "R")).last_number == 1


def test_forged_or_altered_payloads_are_refused(app: Flask, appointment: dict[str, Any]) -> None:
    code = appointment["code"]
    genuine = ticket_payload(code, SECRET)
    other = next(c for c in "ACDEFGHJ" if c != code[0])
    altered = genuine.replace(code, other + code[1:])
    assert altered != genuine
    forged = [
        ticket_payload(code, "someone else's secret" + "y" * 30),
        altered,
        genuine[:-3] + ("AAA" if not genuine.endswith("AAA") else "BBB"),
        "OKN1:" + code,
        "https://example.com/" + code,
    ]
    with time_machine.travel(utc("2026-11-25", "09:50"), tick=False):
        kiosk = signed_in_device(app)
        for payload in forged:
            response = check_in(kiosk, payload)
            assert response.status_code == 400, payload
            message = error_of(response)
            assert "not a valid ticket" in message and "booking code" in message
        assert check_in(kiosk, "ZZZZ-ZZZZ").status_code == 404  # typed, no such booking
    with app.app_context():
        assert db.session.scalars(select(Ticket)).all() == []


def test_one_booking_scanned_at_many_kiosks_at_once_gives_one_ticket(any_app: Flask) -> None:
    booking = book(any_app, NOW)
    payload = ticket_payload(booking["code"], SECRET)
    scans = 12
    links = [device_link(any_app, DeviceKind.KIOSK, f"Kiosk {i}") for i in range(scans)]
    with time_machine.travel(utc("2026-11-25", "09:50"), tick=True), LiveServer(any_app) as server:

        class Scan:
            def prepare(self, i: int) -> tuple[requests.Session, str]:
                session = requests.Session()
                page = session.get(server.url + links[i], timeout=60)
                return session, CSRF_RE.search(page.text).group(1)

            def __call__(self, i: int, prepared: tuple[requests.Session, str]) -> Any:
                session, token = prepared
                return session.post(
                    f"{server.url}/kiosk/check-in",
                    data={"csrf_token": token, "code": payload, **KIOSK_ADMITTED},
                    allow_redirects=False,
                    timeout=120,
                )

        responses = race(scans, Scan())
    assert [r.status_code for r in responses] == [302] * scans
    assert len({r.headers["Location"] for r in responses}) == 1
    with any_app.app_context():
        tickets = db.session.scalars(select(Ticket)).all()
        assert [t.label for t in tickets] == ["R001"]
        assert db.session.scalars(select(TicketSequence.last_number)).all() == [1]
        entries = db.session.scalars(select(AuditEntry.action)).all()
        assert entries == ["check_in"]


def test_another_offices_booking_is_refused(app: Flask) -> None:
    bytom = book(app, NOW, service="raty-umorzenia", office="bytom-zielna")
    with time_machine.travel(utc("2026-11-25", "09:50"), tick=False):
        kiosk = signed_in_device(app)
        for code in (ticket_payload(bytom["code"], SECRET), bytom["code"]):
            response = check_in(kiosk, code)
            assert response.status_code == 409
            assert "another office" in error_of(response)
    with app.app_context():
        assert db.session.scalars(select(Ticket)).all() == []


def test_a_cancelled_booking_is_refused(app: Flask, appointment: dict[str, Any]) -> None:
    with time_machine.travel(utc("2026-11-25", "08:00"), tick=False):
        cancelled = app.test_client().post(
            f"/api/v1/bookings/{appointment['code']}/cancel",
            headers={"X-Booking-Token": appointment["token"]},
        )
        assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "cancelled"
    with time_machine.travel(utc("2026-11-25", "09:50"), tick=False):
        kiosk = signed_in_device(app)
        response = check_in(kiosk, ticket_payload(appointment["code"], SECRET))
    assert response.status_code == 409
    message = error_of(response)
    assert "cancelled" in message and "walk-in" in message


def test_too_early_says_from_when_in_local_time(app: Flask, appointment: dict[str, Any]) -> None:
    with time_machine.travel(utc("2026-11-25", "09:29"), tick=False):
        kiosk = signed_in_device(app)
        response = check_in(kiosk, appointment["code"])
        assert response.status_code == 409
        assert error_of(response) == ("It is too early to check in. Please come back from 09:30.")
    with time_machine.travel(utc("2026-11-25", "09:30"), tick=False):
        assert ticket_id_of(check_in(kiosk, appointment["code"]))


def test_too_early_on_another_day_names_the_day(app: Flask) -> None:
    tomorrow = book(app, utc("2026-11-26", "10:00"))
    with time_machine.travel(NOW, tick=False):
        kiosk = signed_in_device(app)
        response = check_in(kiosk, tomorrow["code"])
    assert response.status_code == 409
    assert error_of(response) == (
        "It is too early to check in. Please come back from Thursday, 26 November 2026 09:30."
    )


def test_too_late_is_refused_after_the_grace_time(app: Flask, appointment: dict[str, Any]) -> None:
    with time_machine.travel(utc("2026-11-25", "10:15:01"), tick=False):
        kiosk = signed_in_device(app)
        response = check_in(kiosk, appointment["code"])
    assert response.status_code == 409
    assert "has passed" in error_of(response) and "walk-in" in error_of(response)
    with time_machine.travel(utc("2026-11-25", "10:15"), tick=False):
        kiosk = signed_in_device(app)  # a fresh session: its cookie may not come from the future
        assert ticket_id_of(check_in(kiosk, appointment["code"]))


def test_the_check_in_window_is_configurable(app: Flask, appointment: dict[str, Any]) -> None:
    with app.app_context():
        office = find_office(KOSZALIN)
        office.checkin_before_minutes, office.checkin_after_minutes = 10, 5
        db.session.commit()
    with time_machine.travel(utc("2026-11-25", "09:45"), tick=False):
        kiosk = signed_in_device(app)
        response = check_in(kiosk, appointment["code"])
        assert response.status_code == 409 and "from 09:50" in error_of(response)
    with time_machine.travel(utc("2026-11-25", "10:05:01"), tick=False):
        response = check_in(kiosk, appointment["code"])
        assert response.status_code == 409 and "has passed" in error_of(response)
    with time_machine.travel(utc("2026-11-25", "10:05"), tick=False):
        kiosk = signed_in_device(app)  # a fresh session: its cookie may not come from the future
        assert ticket_id_of(check_in(kiosk, appointment["code"]))


def test_cancelling_a_checked_in_booking_takes_its_ticket_out_of_line(
    app: Flask, appointment: dict[str, Any]
) -> None:
    with time_machine.travel(utc("2026-11-25", "09:35"), tick=False):
        kiosk = signed_in_device(app)
        ticket_id = ticket_id_of(check_in(kiosk, appointment["code"]))
        cancelled = app.test_client().post(
            f"/api/v1/bookings/{appointment['code']}/cancel",
            headers={"X-Booking-Token": appointment["token"]},
        )
        assert cancelled.status_code == 200
    assert ticket(app, ticket_id).status == TicketStatus.CANCELLED


def test_moving_a_checked_in_booking_takes_its_ticket_out_of_line_until_the_new_time(
    app: Flask, appointment: dict[str, Any]
) -> None:
    """Checked in early, then moved to tomorrow on the booking's own page: today's ticket
    leaves the line, and tomorrow the booking checks in again with a ticket of its own."""
    manage = f"/manage/{appointment['token']}"
    with time_machine.travel(utc("2026-11-25", "09:35"), tick=False):
        kiosk = signed_in_device(app)
        first = ticket_id_of(check_in(kiosk, appointment["code"]))
        resident = app.test_client()
        token = csrf_token(resident, f"{manage}/reschedule/2026-11-26")
        moved = resident.post(
            f"{manage}/reschedule",
            data={"csrf_token": token, "start": utc("2026-11-26", "10:00").isoformat()},
        )
        assert moved.status_code == 302 and moved.headers["Location"].endswith(manage)
    assert ticket(app, first).status == TicketStatus.CANCELLED
    assert ticket(app, first).booking_id is None
    with time_machine.travel(utc("2026-11-26", "09:50"), tick=False):
        again = ticket_id_of(check_in(signed_in_device(app), appointment["code"]))
    assert again != first
    assert ticket(app, again).status == TicketStatus.WAITING


def test_a_mistyped_code_is_told_apart_from_a_forged_qr(app: Flask, clock: Any) -> None:
    kiosk = signed_in_device(app)
    response = check_in(kiosk, "KKKK-KKKK")
    assert response.status_code == 404
    assert "No booking has this code" in error_of(response)
