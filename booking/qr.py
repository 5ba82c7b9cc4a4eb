"""The QR ticket: a booking code signed with the app's secret, drawn as PNG or SVG.

``verify_ticket`` is the check the kiosk runs on a scanned payload. ``qr_markup`` draws
any text (a device's sign-in link, an authenticator's key) as a QR code inside a page.
"""

from __future__ import annotations

import hashlib
import io

import qrcode
import qrcode.image.svg
from itsdangerous import BadSignature, Signer
from markupsafe import Markup, escape
from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import Booking

PREFIX = "OKN1:"


class ForgedTicket(ValueError):
    """A payload that was not issued by this app, or was altered."""


def _signer(secret: str) -> Signer:
    return Signer(secret, salt="okienko.ticket", digest_method=hashlib.sha256)


def ticket_payload(code: str, secret: str) -> str:
    return PREFIX + _signer(secret).sign(code).decode()


def verify_ticket(payload: str, secret: str) -> str:
    """The booking code in a scanned payload; raises ForgedTicket if the signature fails."""
    payload = payload.strip()
    if not payload.startswith(PREFIX):
        raise ForgedTicket(payload)
    try:
        code = _signer(secret).unsign(payload.removeprefix(PREFIX)).decode()
    except BadSignature as exc:
        raise ForgedTicket(payload) from exc
    # Base64's last character carries spare bits: only the exact payload we issue counts.
    if payload != ticket_payload(code, secret):
        raise ForgedTicket(payload)
    return code


def booking_for_ticket(session: Session, payload: str, secret: str) -> Booking | None:
    """The booking a scanned ticket stands for; raises ForgedTicket for a forged payload."""
    code = verify_ticket(payload, secret)
    return session.scalar(select(Booking).where(Booking.code == code))


def _qr(payload: str) -> qrcode.QRCode:
    # A fixed mask: trying all eight for the lowest penalty was most of a booking's CPU
    # time (its confirmation carries the code), and every mask reads the same.
    qr = qrcode.QRCode(
        error_correction=qrcode.constants.ERROR_CORRECT_M, border=4, box_size=8, mask_pattern=0
    )
    qr.add_data(payload)
    qr.make(fit=True)
    return qr


def qr_png(payload: str) -> bytes:
    buffer = io.BytesIO()
    _qr(payload).make_image().save(buffer, format="PNG")
    return buffer.getvalue()


def qr_svg(payload: str) -> bytes:
    buffer = io.BytesIO()
    _qr(payload).make_image(image_factory=qrcode.image.svg.SvgPathImage).save(buffer)
    return buffer.getvalue()


def qr_markup(text: str, label: str) -> Markup:
    """``text`` as an SVG QR code to put inside a page, named by ``label`` to screen
    readers; sized by the page's CSS (its CSP allows no style attributes)."""
    image = _qr(text).make_image(image_factory=qrcode.image.svg.SvgPathImage)
    svg = image.to_string(encoding="unicode")
    named = f'<svg class="qr" role="img" aria-label="{escape(label)}" '
    return Markup(svg.replace("<svg ", named, 1))  # qrcode's own markup, an escaped label
