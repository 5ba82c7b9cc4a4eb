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
from tests.helpers.mailbox import Mailbox
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
    files = list((tmp_path / "outbox").glob("*.eml"))
    assert len(files) == 1
    assert f"/manage/{token}" in files[0].read_text()


class HeldMailbox(Mailbox):
    """A mail server that holds every message until the test lets it through."""

    def __init__(self) -> None:
        import threading

        super().__init__()
        self.arrived = threading.Event()  # a message is at the server, being held
        self.release = threading.Event()

    async def handle_DATA(self, server, session, envelope) -> str:
        import asyncio

        self.arrived.set()
        await asyncio.get_running_loop().run_in_executor(None, self.release.wait, 120)
        return await super().handle_DATA(server, session, envelope)


def test_a_slow_mail_server_holds_up_nobody_else(app: Flask) -> None:
    """Mail goes out after the transaction ends: on SQLite an open one would lock every request.

    The mail server holds the booking's confirmation for as long as the test likes: another
    page must answer while the booking's request is still waiting for the mail server.
    """
    import threading

    import requests

    box = HeldMailbox()
    box.controller.start()
    try:
        use_smtp(app, box.port)
        with LiveServer(app) as server:
            days = requests.get(
                f"{server.url}/api/v1/offices/koszalin-zbm/services/raty/availability", timeout=30
            ).json()["days"]
            start = next(s for d in days for s in d["starts"])
            answers: list[requests.Response] = []
            booking = threading.Thread(
                target=lambda: answers.append(
                    requests.post(
                        f"{server.url}/api/v1/bookings",
                        json=booking_payload(start),
                        timeout=120,
                    )
                )
            )
            booking.start()
            try:
                # The booking is committed and its mail is at the server, held there.
                assert box.arrived.wait(60), "the booking's mail did not reach the mail server"
                page = requests.get(f"{server.url}/o/koszalin-zbm", timeout=60)
                assert booking.is_alive(), "the booking's request ended before the mail went out"
            finally:
                box.release.set()
                booking.join(120)
        assert page.status_code == 200
        assert [answer.status_code for answer in answers] == [201]
        assert len(box.messages) == 1
    finally:
        box.release.set()
        box.controller.stop()
