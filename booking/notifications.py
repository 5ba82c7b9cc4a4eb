"""Mails to residents, rendered in the language they chose when booking."""

from __future__ import annotations

from email.utils import parseaddr

from flask import current_app, render_template, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from .codes import format_code
from .database import db, utcnow
from .ics import booking_calendar
from .mail import Attachment, build_message, deliver
from .models import Booking
from .tickets import qr_png, ticket_payload


def calendar_file(booking: Booking, *, cancel: bool = False) -> bytes:
    """The .ics for ``booking`` in the current locale; no personal data in it."""
    service = booking.service.name(booking.language)
    return booking_calendar(
        booking,
        summary=f"{service} – {booking.office.name}",
        description=_("Booking code: %(code)s", code=format_code(booking.code)),
        domain=current_app.config["ICS_UID_DOMAIN"],
        organizer=booking.office.email or parseaddr(current_app.config["MAIL_SENDER"])[1],
        now=utcnow(),
        cancel=cancel,
    )


def _ics_attachment(booking: Booking, cancel: bool) -> Attachment:
    return Attachment(
        f"{booking.code}.ics",
        calendar_file(booking, cancel=cancel),
        "text",
        "calendar",
        {"method": "CANCEL" if cancel else "PUBLISH"},
    )


def _send(
    booking: Booking, template: str, subject: object, token: str | None, cancel: bool
) -> None:
    if not booking.email:
        return
    with force_locale(booking.language):
        manage_url = (
            current_app.config["PUBLIC_URL"].rstrip("/") + url_for("booking.manage", token=token)
            if token
            else None
        )
        context = {
            "booking": booking,
            "office": booking.office,
            "service": booking.service,
            "code": format_code(booking.code),
            "manage_url": manage_url,
            "locale": booking.language,
        }
        attachments = [_ics_attachment(booking, cancel)]
        if not cancel:
            payload = ticket_payload(booking.code, current_app.config["SECRET_KEY"])
            attachments.append(Attachment("ticket.png", qr_png(payload), "image", "png"))
        message = build_message(
            current_app.config["MAIL_SENDER"],
            booking.email,
            str(subject),
            render_template(f"mail/{template}.txt", **context),
            render_template(f"mail/{template}.html", **context),
            tuple(attachments),
        )
    # End the read transaction the rendering opened: on SQLite it holds the write lock,
    # and nobody should wait for a slow mail server.
    db.session.commit()
    try:
        deliver(message, current_app.config)
    except OSError:
        # The booking is saved either way; the resident still has the page and the code.
        current_app.logger.exception("mail to booking %s not delivered", booking.code)


def booking_confirmed(booking: Booking, token: str) -> None:
    code = format_code(booking.code)
    subject = _l("Your booking %(code)s is confirmed", code=code)
    _send(booking, "confirmation", subject, token, cancel=False)


def booking_rescheduled(booking: Booking, token: str) -> None:
    code = format_code(booking.code)
    subject = _l("Your booking %(code)s has been moved", code=code)
    _send(booking, "rescheduled", subject, token, cancel=False)


def booking_cancelled(booking: Booking) -> None:
    code = format_code(booking.code)
    subject = _l("Your booking %(code)s has been cancelled", code=code)
    _send(booking, "cancellation", subject, None, cancel=True)
