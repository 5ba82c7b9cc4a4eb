"""Mails to residents, written in the language they chose when booking.

Each is queued in the caller's unit of work (``okienko.outbox.post``) and sent
after it commits; nothing here commits.
"""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage
from email.utils import parseaddr
from typing import Any

from flask import current_app, render_template, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from okienko import outbox
from okienko.database import utcnow
from okienko.mail import Attachment, Inline, build_message, new_cid

from . import admission
from .bookings import Contact, link_token
from .codes import format_code
from .formatting import local_date, local_day
from .ics import booking_calendar
from .models import Booking, BookingStatus, Office, Service
from .qr import qr_png, ticket_payload


def calendar_file(booking: Booking, *, cancel: bool = False) -> bytes:
    """The .ics for ``booking`` in the current locale; no personal data in it."""
    service = booking.service.name(booking.language)
    return booking_calendar(
        booking,
        summary=f"{service} – {booking.office.name_in(booking.language)}",
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


def public_url(endpoint: str, **values: Any) -> str:
    return current_app.config["PUBLIC_URL"].rstrip("/") + url_for(endpoint, **values)


def _post(
    session: Session,
    booking: Booking,
    now: datetime,
    template: str,
    subject: object,
    token: str | None,
    cancel: bool,
    **extra: object,
) -> None:
    if booking.email:
        message = compose(booking, template, subject, token, cancel, **extra)
        outbox.post(session, message, now, booking.office_id, booking.id)


def compose(
    booking: Booking,
    template: str,
    subject: object,
    token: str | None,
    cancel: bool,
    **extra: object,
) -> EmailMessage:
    """A mail about ``booking`` in the resident's language, with the .ics and the QR ticket."""
    assert booking.email
    sender = current_app.config["MAIL_SENDER"]
    qr = None
    if not cancel and not booking.by_phone:
        # The QR ticket shows in the mail itself, and is attached too for printing or saving.
        png = qr_png(ticket_payload(booking.code, current_app.config["SECRET_KEY"]))
        qr = Inline(new_cid(sender), Attachment("ticket.png", png, "image", "png"))
    with force_locale(booking.language):
        manage_url = public_url("booking.manage", token=token) if token else None
        day = local_day(booking.starts_at, booking.office)
        context = {
            "booking": booking,
            "office": booking.office,
            "service": booking.service,
            "code": format_code(booking.code),
            "manage_url": manage_url,
            "locale": booking.language,
            "notices": []
            if booking.by_phone
            else admission.notices(booking.office, day, booking.language),
            "admission_url": public_url("booking.admission_check", token=token)
            if token and booking.active and admission.needs_check(booking)
            else None,
            "qr_cid": qr.cid if qr else None,
            **extra,
        }
        attachments = [_ics_attachment(booking, cancel)]
        if qr:
            attachments.append(qr.attachment)
        message = build_message(
            sender,
            booking.email,
            str(subject),
            render_template(f"mail/{template}.txt", **context),
            render_template(f"mail/{template}.html", **context),
            tuple(attachments),
            reply_to=booking.office.email,
            inline=(qr,) if qr else (),
        )
    return message


def booking_confirmed(session: Session, booking: Booking, token: str, now: datetime) -> None:
    if booking.status == BookingStatus.PENDING:  # [confirm] the mail asks to confirm instead
        from .confirmation import ask_to_confirm

        return ask_to_confirm(session, booking, token, now)
    code = format_code(booking.code)
    subject = _l("Your booking %(code)s is confirmed", code=code)
    _post(session, booking, now, "confirmation", subject, token, cancel=False)


def booking_rescheduled(session: Session, booking: Booking, token: str, now: datetime) -> None:
    code = format_code(booking.code)
    subject = _l("Your booking %(code)s has been moved", code=code)
    _post(session, booking, now, "rescheduled", subject, token, cancel=False)


def reminder_message(session: Session, booking: Booking, now: datetime) -> EmailMessage:
    """The reminder the day before, with a fresh link to the booking's page."""
    code = format_code(booking.code)
    subject = _l("Reminder: your visit %(code)s is tomorrow", code=code)
    return compose(booking, "reminder", subject, link_token(session, booking, now), cancel=False)


def booking_to_phone(session: Session, booking: Booking, token: str, now: datetime) -> None:
    code = format_code(booking.code)
    subject = _l("Your booking %(code)s is now a phone consultation", code=code)
    _post(session, booking, now, "confirmation", subject, token, cancel=False)


def booking_cancelled(session: Session, booking: Booking, now: datetime) -> None:
    code = format_code(booking.code)
    subject = _l("Your booking %(code)s has been cancelled", code=code)
    _post(session, booking, now, "cancellation", subject, None, cancel=True)


def booking_cancelled_by_office(
    session: Session, booking: Booking, reason: str, now: datetime
) -> None:
    """The office cancelled the visit (a closure, shorter hours): the reason its manager
    typed, a link to book the service again, and the calendar's cancellation."""
    code = format_code(booking.code)
    subject = _l("The office has cancelled your booking %(code)s", code=code)
    rebook_url = public_url(
        "booking.service_calendar", slug=booking.office.slug, key=booking.service.key
    )
    _post(
        session,
        booking,
        now,
        "cancelled_by_office",
        subject,
        None,
        cancel=True,
        reason=reason,
        rebook_url=rebook_url,
    )


def admission_refused(session: Session, booking: Booking, now: datetime) -> None:
    """Where to turn instead, with the next steps: a phone consultation or a later visit."""
    code = format_code(booking.code)
    subject = _l("Your visit %(code)s: please do not come in person", code=code)
    if not booking.email:
        return
    token = link_token(session, booking, now)
    with force_locale(booking.language):
        rebook_day = local_date(local_day(admission.rebook_from(booking), booking.office))
    _post(session, booking, now, "refused", subject, token, cancel=True, rebook_day=rebook_day)


def refused_before_booking(
    session: Session,
    office: Office,
    service: Service,
    start: datetime,
    contact: Contact,
    now: datetime,
) -> None:
    """A declaration refused while booking: nothing was booked, but the resident is told,
    in their language, where to turn instead. Nothing about it is stored."""
    if not contact.email:
        return
    with force_locale(contact.language):
        context = {
            "office": office,
            "service": service,
            "start": start,
            "locale": contact.language,
            "book_url": public_url("booking.office", slug=office.slug),
        }
        message = build_message(
            current_app.config["MAIL_SENDER"],
            contact.email,
            str(
                _l(
                    "Please do not come in person: %(service)s",
                    service=service.name(contact.language),
                )
            ),
            render_template("mail/refused_at_booking.txt", **context),
            render_template("mail/refused_at_booking.html", **context),
            (),
            reply_to=office.email,
        )
    outbox.post(session, message, now, office.id, None)
