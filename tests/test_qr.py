"""The QR ticket on the confirmation page, read back by a real decoder (zxing-cpp)."""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET

import pytest
import zxingcpp
from flask import Flask
from PIL import Image

from booking.qr import ForgedTicket, booking_for_ticket, verify_ticket
from okienko.database import db
from tests.helpers.factories import MakeBooking, MakeOffice, MakeService
from tests.helpers.forms import csrf_token


def decode(png: bytes) -> str:
    results = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert len(results) == 1
    assert results[0].format == zxingcpp.BarcodeFormat.QRCode
    return results[0].text


@pytest.fixture
def ticket(
    app: Flask, make_office: MakeOffice, make_service: MakeService, make_booking: MakeBooking
):
    """The QR ticket of a booking, as its confirmation page shows it: (payload, code, token)."""
    client = app.test_client()
    token = make_booking(make_service(make_office())).token
    page = client.get(f"/manage/{token}?new=1").get_data(as_text=True)
    src = re.search(r'<img class="qr" src="([^"]+)"', page).group(1)
    image = client.get(src)
    assert image.status_code == 200 and image.mimetype == "image/png"
    code = re.search(r'data-code="(\w+)"', page).group(1)
    return decode(image.data), code, token


def test_qr_on_the_confirmation_page_decodes_to_this_booking(app: Flask, ticket) -> None:
    payload, code, _ = ticket
    secret = app.config["SECRET_KEY"]
    assert verify_ticket(payload, secret) == code
    with app.app_context():
        assert booking_for_ticket(db.session, payload, secret).code == code


def test_a_payload_with_one_character_changed_is_refused(app: Flask, ticket) -> None:
    payload, _, _ = ticket
    secret = app.config["SECRET_KEY"]
    for i in range(len(payload)):
        replacement = "A" if payload[i] != "A" else "B"
        forged = payload[:i] + replacement + payload[i + 1 :]
        with pytest.raises(ForgedTicket):
            verify_ticket(forged, secret)


def test_a_ticket_signed_with_another_secret_is_refused(app: Flask, ticket) -> None:
    payload, _, _ = ticket
    with pytest.raises(ForgedTicket):
        verify_ticket(payload, "another-installation-secret")
    with pytest.raises(ForgedTicket):
        verify_ticket(payload.split(".")[0], app.config["SECRET_KEY"])


def test_svg_ticket_is_served_and_well_formed(app: Flask, ticket) -> None:
    _, _, token = ticket
    response = app.test_client().get(f"/manage/{token}/qr.svg")
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    root = ET.fromstring(response.data)
    assert root.tag.endswith("svg")
    assert any(el.tag.endswith("path") for el in root.iter())


def test_cancelled_booking_serves_no_ticket(app: Flask, ticket) -> None:
    _, _, token = ticket
    client = app.test_client()

    response = client.post(
        f"/manage/{token}/cancel",
        data={"csrf_token": csrf_token(client, f"/manage/{token}/cancel")},
    )
    assert response.status_code == 302
    assert client.get(f"/manage/{token}/qr.png").status_code == 404
