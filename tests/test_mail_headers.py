"""Every mail has Date, Message-ID and (when the office has an address) Reply-To; the HTML part
fits a phone screen and shows the QR ticket itself, which stays attached as well."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from pathlib import Path

import time_machine
import zxingcpp
from flask import Flask
from PIL import Image
from sqlalchemy import select

from booking.models import Booking, Office
from booking.notifications import reminder_message
from booking.qr import verify_ticket
from okienko.database import db
from tests.helpers.factories import MakeBooking, MakeOffice, MakeService
from tests.helpers.forms import book_form, csrf_token, local_start, manage_token
from tests.helpers.mailbox import Mailbox, mail_sent

TODAY = datetime(2026, 3, 20, 9, tzinfo=UTC)  # a Friday
PLZEN, SERVICE = "plzen-kontaktni-misto", "volne-byty"
VIEWPORT = '<meta name="viewport" content="width=device-width, initial-scale=1">'
MESSAGE_ID = re.compile(r"<[^<>@\s]+@okienko\.local>")


def use_smtp(app: Flask, port: int) -> None:
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port)


def set_office_email(app: Flask, slug: str, email: str | None) -> None:
    with app.app_context():
        office = db.session.scalar(select(Office).where(Office.slug == slug))
        office.email = email
        db.session.commit()


def assert_headers(message: EmailMessage, reply_to: str | None) -> None:
    sent = parsedate_to_datetime(message["Date"])
    assert sent.tzinfo is not None and abs(sent - TODAY) < timedelta(minutes=5), message["Date"]
    assert MESSAGE_ID.fullmatch(message["Message-ID"]), message["Message-ID"]
    assert message["Reply-To"] == reply_to
    html = message.get_body(("html",)).get_content()
    assert VIEWPORT in html


def qr_code(png: bytes, secret: str) -> str:
    (decoded,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    return verify_ticket(decoded.text, secret)


def test_confirmation_shows_the_qr_inline_and_replies_go_to_the_office(
    app: Flask, smtp: Mailbox
) -> None:
    use_smtp(app, smtp.port)
    set_office_email(app, PLZEN, "bydleni@plzen.example")
    start = local_start("2026-03-23", "10:00", "Europe/Prague")
    with time_machine.travel(TODAY, tick=True):
        token = manage_token(book_form(app.test_client(), PLZEN, SERVICE, start, language="en"))
        mail_sent(app)
    (message,) = smtp.messages
    assert_headers(message, "bydleni@plzen.example")
    with app.app_context():
        code = db.session.scalar(select(Booking.code))

    # mixed: [alternative: [plain, related: [html, the QR]], the .ics, the QR]
    assert message.get_content_type() == "multipart/mixed"
    body, *attached = message.get_payload()
    assert body.get_content_type() == "multipart/alternative"
    plain, related = body.get_payload()
    assert plain.get_content_type() == "text/plain"
    assert related.get_content_type() == "multipart/related"
    html_part, image = related.get_payload()
    assert html_part.get_content_type() == "text/html"
    assert image.get_content_type() == "image/png"
    assert image.get_content_disposition() == "inline"
    cid = image["Content-ID"].strip("<>")
    html = html_part.get_content()
    assert f'<img src="cid:{cid}"' in html
    assert f"/manage/{token}" in html
    assert qr_code(image.get_content(), app.config["SECRET_KEY"]) == code

    assert sorted(p.get_content_type() for p in attached) == ["image/png", "text/calendar"]
    (png,) = [p for p in message.iter_attachments() if p.get_content_type() == "image/png"]
    assert png.get_content_disposition() == "attachment"
    assert png.get_content() == image.get_content()


def test_an_office_without_an_address_gets_no_reply_to_and_cancellations_no_qr(
    app: Flask, smtp: Mailbox
) -> None:
    use_smtp(app, smtp.port)
    start = local_start("2026-03-25", "08:30", "Europe/Prague")
    with time_machine.travel(TODAY, tick=True):
        client = app.test_client()
        token = manage_token(book_form(client, PLZEN, SERVICE, start))
        client.post(
            f"/manage/{token}/cancel",
            data={"csrf_token": csrf_token(client, f"/manage/{token}/cancel")},
        )
        mail_sent(app)
    confirmation, cancellation = smtp.messages
    for message in (confirmation, cancellation):
        assert_headers(message, None)
        assert "Reply-To" not in message
    assert confirmation["Message-ID"] != cancellation["Message-ID"]
    assert not [p for p in cancellation.walk() if p.get_content_type() == "image/png"]
    assert "cid:" not in cancellation.get_body(("html",)).get_content()


def test_a_refusal_at_booking_has_the_headers_too(app: Flask, smtp: Mailbox) -> None:
    """No booking, so no QR: the mail that says where to turn instead."""
    use_smtp(app, smtp.port)
    set_office_email(app, "bytom-zielna", "obsluga@bytom.example")
    start = local_start("2026-03-23", "10:00", "Europe/Warsaw")
    refusing = {"symptoms": "yes", "isolation": "no", "household": "no", "contact": "no"}
    with time_machine.travel(TODAY, tick=True):
        response = book_form(
            app.test_client(), "bytom-zielna", "raty-umorzenia", start, answers=refusing
        )
        mail_sent(app)
    assert response.status_code == 403
    (message,) = smtp.messages
    assert_headers(message, "obsluga@bytom.example")
    assert not [p for p in message.walk() if p.get_content_type() == "image/png"]


def test_the_reminder_shows_the_qr_inline(
    app: Flask, make_office: MakeOffice, make_service: MakeService, make_booking: MakeBooking
) -> None:
    service = make_service(make_office(timezone="Europe/Prague"))  # an office without e-mail
    start = local_start("2026-03-23", "11:00", "Europe/Prague")
    with time_machine.travel(TODAY, tick=True):
        make_booking(service, start)
        with app.test_request_context():
            booking = db.session.scalar(select(Booking))
            message = reminder_message(db.session, booking, TODAY)
            code = booking.code
    assert_headers(message, None)
    [image] = [
        p
        for p in message.walk()
        if p.get_content_type() == "image/png" and p.get_content_disposition() == "inline"
    ]
    html = message.get_body(("html",)).get_content()
    assert f'src="cid:{image["Content-ID"].strip("<>")}"' in html
    assert qr_code(image.get_content(), app.config["SECRET_KEY"]) == code


def test_every_mail_template_fits_a_phone_screen() -> None:
    """Each mail's HTML extends one base page, which has the viewport (rendered mails are
    checked above); no mail repeats the page head."""
    folder = Path(__file__).resolve().parent.parent / "templates" / "mail"
    assert VIEWPORT in (folder / "_base.html").read_text(encoding="utf-8")
    pages = [p for p in folder.glob("*.html") if not p.name.startswith("_")]
    assert len(pages) >= 6
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert text.startswith('{% extends "mail/_base.html" %}'), page.name
        assert "<head>" not in text and "viewport" not in text, page.name
