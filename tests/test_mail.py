"""Mails reach a real SMTP server (aiosmtpd) with the calendar file and the ticket attached."""

from __future__ import annotations

import io
import socket
from datetime import UTC, datetime

import icalendar
import time_machine
import zxingcpp
from flask import Flask
from PIL import Image

from booking.qr import verify_ticket
from tests.helpers.forms import book_form, csrf_token, local_start, manage_token
from tests.helpers.live_server import LiveServer
from tests.helpers.mailbox import HeldMailbox, Mailbox, mail_sent
from tests.helpers.payloads import booking_payload
from tests.helpers.ports import free_port

TODAY = datetime(2026, 3, 20, 9, tzinfo=UTC)


def use_smtp(app: Flask, port: int) -> None:
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port)


def attachment(message, content_type: str) -> bytes:
    parts = [p for p in message.iter_attachments() if p.get_content_type() == content_type]
    assert len(parts) == 1, [p.get_content_type() for p in message.iter_attachments()]
    return parts[0].get_content()


def test_confirmation_mail_carries_ics_ticket_and_manage_link(app: Flask, smtp: Mailbox) -> None:
    use_smtp(app, smtp.port)
    start = local_start("2026-03-23", "10:00", "Europe/Prague")
    with time_machine.travel(TODAY, tick=True):
        client = app.test_client()
        token = manage_token(
            book_form(client, "plzen-kontaktni-misto", "volne-byty", start, email="jana@example.cz")
        )
        mail_sent(app)
    (message,) = smtp.messages
    assert message["To"] == "jana@example.cz"
    body = message.get_body(("plain",)).get_content()
    assert f"http://testserver/manage/{token}" in body
    calendar = icalendar.Calendar.from_ical(attachment(message, "text/calendar"))
    (event,) = calendar.walk("VEVENT")
    assert datetime.fromisoformat(start) == event.DTSTART
    assert calendar["METHOD"] == "PUBLISH"
    png = attachment(message, "image/png")
    (decoded,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    code = verify_ticket(decoded.text, app.config["SECRET_KEY"])
    assert code.replace("-", "") in body.replace("-", "")


def test_mail_is_in_the_language_the_resident_chose(app: Flask, smtp: Mailbox) -> None:
    use_smtp(app, smtp.port)
    with time_machine.travel(TODAY, tick=True):
        client = app.test_client()
        for i, language in enumerate(("cs", "pl", "en")):
            start = local_start("2026-03-23", f"1{i}:00", "Europe/Prague")
            book_form(
                client,
                "plzen-kontaktni-misto",
                "volne-byty",
                start,
                email=f"r{i}@example.cz",
                language=language,
            )
        mail_sent(app)
    subjects = [m["Subject"] for m in smtp.messages]
    assert len(subjects) == 3 and len(set(subjects)) == 3, subjects
    assert "confirmed" in subjects[2]
    assert not any("confirmed" in s for s in subjects[:2]), subjects
    services = [m.get_body(("plain",)).get_content() for m in smtp.messages]
    assert "Volné městské byty" in services[0]
    assert "Wolne mieszkania miejskie" in services[1]
    assert "Vacant city flats" in services[2]


def test_cancellation_mail_removes_the_event(app: Flask, smtp: Mailbox) -> None:
    use_smtp(app, smtp.port)
    with time_machine.travel(TODAY, tick=True):
        client = app.test_client()
        start = local_start("2026-03-25", "08:30", "Europe/Prague")
        token = manage_token(book_form(client, "plzen-kontaktni-misto", "volne-byty", start))
        client.post(
            f"/manage/{token}/cancel",
            data={"csrf_token": csrf_token(client, f"/manage/{token}/cancel")},
        )
        mail_sent(app)
    confirmation, cancellation = smtp.messages
    booked = icalendar.Calendar.from_ical(attachment(confirmation, "text/calendar"))
    cancelled = icalendar.Calendar.from_ical(attachment(cancellation, "text/calendar"))
    assert cancelled["METHOD"] == "CANCEL"
    (a,), (b,) = booked.walk("VEVENT"), cancelled.walk("VEVENT")
    assert a["UID"] == b["UID"] and int(b["SEQUENCE"]) > int(a["SEQUENCE"])
    assert not [p for p in cancellation.iter_attachments() if p.get_content_type() == "image/png"]


def test_booking_is_kept_when_the_mail_server_is_down(app: Flask) -> None:
    port = free_port()  # nothing listens here
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0
    use_smtp(app, port)
    with time_machine.travel(TODAY, tick=True):
        client = app.test_client()
        start = local_start("2026-03-23", "08:00", "Europe/Prague")
        token = manage_token(book_form(client, "plzen-kontaktni-misto", "volne-byty", start))
        page = client.get(f"/manage/{token}")
    assert page.status_code == 200 and 'data-code="' in page.get_data(as_text=True)


def test_without_a_mail_server_mail_goes_to_the_outbox(app: Flask, tmp_path) -> None:
    with time_machine.travel(TODAY, tick=True):
        client = app.test_client()
        start = local_start("2026-03-23", "08:00", "Europe/Prague")
        token = manage_token(book_form(client, "plzen-kontaktni-misto", "volne-byty", start))
        mail_sent(app)
    files = list((tmp_path / "outbox").glob("*.eml"))
    assert len(files) == 1
    assert f"/manage/{token}" in files[0].read_text()


def test_a_slow_mail_server_holds_up_nobody(app: Flask) -> None:
    """Mail goes out in the background, outside any transaction: the booking answers while
    the mail server still holds its confirmation, and so do other pages and another booking
    (on SQLite an open transaction would lock out every writer). Released, the mails arrive.
    """
    import requests

    box = HeldMailbox()
    box.controller.start()
    try:
        use_smtp(app, box.port)
        with LiveServer(app) as server:
            days = requests.get(
                f"{server.url}/api/v1/offices/koszalin-zbm/services/raty/availability", timeout=30
            ).json()["days"]
            first, second = [s for d in days for s in d["starts"]][:2]
            try:
                booked = requests.post(
                    f"{server.url}/api/v1/bookings", json=booking_payload(first), timeout=120
                )
                assert booked.status_code == 201, booked.text
                box.wait_reached(1)  # the confirmation is at the server, held there
                page = requests.get(f"{server.url}/o/koszalin-zbm", timeout=60)
                another = requests.post(
                    f"{server.url}/api/v1/bookings",
                    json=booking_payload(second, email="jan@example.com"),
                    timeout=60,
                )
                assert box.messages == [], "the mail server let a message through"
            finally:
                box.release.set()
        assert page.status_code == 200
        assert another.status_code == 201, another.text
        mail_sent(app)
        assert sorted(m["To"] for m in box.messages) == ["ewa@example.com", "jan@example.com"]
    finally:
        box.release.set()
        box.controller.stop()
