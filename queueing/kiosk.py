"""The kiosk: check in by QR or booking code, take a walk-in ticket, print it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    abort,
    current_app,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import Session
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from booking import admission
from booking.availability import local_today
from booking.codes import ALPHABET
from booking.declaration import declare
from booking.formatting import local_datetime, refusal_message
from booking.forms import DeclarationForm, answers, with_declaration
from booking.models import AdmissionCheck, Booking, Office, Service
from booking.offices import service_by_key
from booking.qr import qr_png
from booking.refusals import Refusal
from okienko.database import db, utcnow
from okienko.transaction import unit_of_work

from .access import device_required
from .arrival import check_in as check_in_booking
from .arrival import (
    existing_ticket,
    find_booking,
    is_open,
    may_check_in,
    may_walk_in,
    next_opening,
    walk_in,
)
from .capacity import next_free_start, walk_ins_full
from .models import DeviceKind, Ticket
from .state import place_in_line
from .status import status_url

bp = Blueprint("kiosk", __name__, url_prefix="/kiosk")


class CheckInForm(FlaskForm):
    code = StringField(validators=[DataRequired(), Length(max=200)])


class WalkInForm(FlaskForm):
    """Only the CSRF token: the service is in the URL."""


floor_message = refusal_message


def kiosk_page(error: str | None = None, status: int = 200) -> Any:
    office = g.device.office
    now = utcnow()
    open_now = is_open(office, now)
    opens = None if open_now else next_opening(office, now)
    session = db.session()
    # A service whose wait runs past closing leads to the next free appointment instead.
    services = [
        (s, open_now and walk_ins_full(session, s, now)) for s in office.services if s.walk_in
    ]
    return render_template(
        "queueing/kiosk.html",
        office=office,
        services=services,
        open_now=open_now,
        opens=opens and local_datetime(opens, office),
        form=CheckInForm(),
        walk_in_form=WalkInForm(),
        error=error,
        keys=ALPHABET,
        notices=admission.notices(office, local_today(office, now), str(get_locale())),
    ), status


@dataclass(frozen=True)
class Screening:
    """How far the admission questions at the kiosk went.

    ``page`` is shown instead of a ticket: the questions (again), or the refusal.
    Otherwise ``check`` is the passing answer's record, for a walk-in's ticket; it is
    None when the regime is off.
    """

    page: tuple[str, int] | None = None
    check: AdmissionCheck | None = None


def screen(
    session: Session,
    office: Office,
    service: Service,
    now: datetime,
    action: str,
    booking: Booking | None = None,
) -> Screening:
    """The admission questions at the kiosk, on the days of the sanitary regime.

    A refusal is in ``session``: the caller returns the page from its unit of work,
    which commits the refusal and then sends its mail.
    """
    if not admission.regime_active(office, local_today(office, now)):
        return Screening()
    asked = admission.questions(office)
    form = with_declaration(DeclarationForm, asked, str(get_locale()))()
    answered = request.form.get("answered") == "1"
    if not answered or not form.validate():
        page = render_template(
            "queueing/kiosk_questions.html",
            office=office,
            service=service,
            booking=booking,
            form=form,
            asked=asked,
            action=action,
            code=request.form.get("code", ""),
        )
        return Screening(page=(page, 400 if answered else 200))
    declaration = declare(
        session, office, asked, answers(form, asked), "kiosk", now, booking=booking
    )
    if declaration.refused:
        page = refusal_page(service, released=booking is not None)
        return Screening(page=(page, 403))
    return Screening(check=declaration.check)


def remote_url(service: Service) -> str:
    return current_app.config["PUBLIC_URL"].rstrip("/") + url_for(
        "booking.remote", slug=service.office.slug, key=service.key
    )


def answered_online(session: Session, ticket: Ticket) -> bool:
    """The resident's admitting answer today was given online, so the kiosk asked nothing."""
    booking = ticket.booking
    if booking is None or not admission.regime_active(ticket.office, ticket.day):
        return False
    latest = session.scalar(
        select(AdmissionCheck)
        .where(
            AdmissionCheck.booking_id == booking.id,
            AdmissionCheck.at >= admission.day_start(ticket.office, ticket.day),
        )
        .order_by(AdmissionCheck.at.desc(), AdmissionCheck.id.desc())
        .limit(1)
    )
    return latest is not None and latest.admitted and latest.place in ("online", "booking")


@bp.get("/")
@device_required(DeviceKind.KIOSK)
def home() -> Any:
    return kiosk_page()


@bp.post("/check-in")
@device_required(DeviceKind.KIOSK)
def check_in() -> Any:
    office = g.device.office
    form = CheckInForm()
    if not form.validate_on_submit():
        return kiosk_page(str(_l("Please scan your QR code or type your booking code.")), 400)
    now = utcnow()
    try:
        with unit_of_work() as session:
            secret = current_app.config["SECRET_KEY"]
            booking = find_booking(session, office, form.code.data or "", secret)
            # An admitting answer given online today counts: no questions again.
            if existing_ticket(session, booking) is None and not admission.passed_today(
                session, booking, now
            ):
                may_check_in(office, booking, now)
                screening = screen(
                    session, office, booking.service, now, url_for(".check_in"), booking
                )
                if screening.page is not None:
                    return screening.page
            ticket = check_in_booking(session, office, booking, now, device_id=g.device.id)
    except Refusal as exc:
        return kiosk_page(floor_message(exc, office), exc.status)
    return redirect(url_for(".ticket", ticket_id=ticket.id, print=1))


@bp.post("/walk-in/<key>")
@device_required(DeviceKind.KIOSK)
def take_number(key: str) -> Any:
    office = g.device.office
    if not WalkInForm().validate_on_submit():
        abort(400)
    service = service_by_key(db.session(), office, key) or abort(404)
    now = utcnow()
    if is_open(office, now) and walk_ins_full(db.session(), service, now):
        return redirect(url_for(".full", key=key))
    try:
        with unit_of_work() as session:
            may_walk_in(office, service, now)
            screening = screen(session, office, service, now, url_for(".take_number", key=key))
            if screening.page is not None:
                return screening.page
            ticket = walk_in(
                session, office, service, now, device_id=g.device.id, check=screening.check
            )
    except Refusal as exc:
        return kiosk_page(floor_message(exc, office), exc.status)
    return redirect(url_for(".ticket", ticket_id=ticket.id, print=1))


@bp.get("/refused/<key>")
@device_required(DeviceKind.KIOSK)
def refused(key: str) -> Any:
    """The refusal again, in another language: the language switch leads here."""
    service = service_by_key(db.session(), g.device.office, key) or abort(404)
    return refusal_page(service, released=request.args.get("released") == "1")


def refusal_page(service: Service, released: bool) -> str:
    return render_template(
        "queueing/kiosk_refused.html",
        office=service.office,
        service=service,
        released=released,
        remote_url=remote_url(service),
    )


def booking_day_url(service: Service, day: date) -> str:
    return current_app.config["PUBLIC_URL"].rstrip("/") + url_for(
        "booking.service_day", slug=service.office.slug, key=service.key, day=day.isoformat()
    )


@bp.get("/full/<key>")
@device_required(DeviceKind.KIOSK)
def full(key: str) -> Any:
    """No more walk-in tickets for a service today: the next free appointment instead."""
    office = g.device.office
    service = service_by_key(db.session(), office, key) or abort(404)
    now = utcnow()
    if not walk_ins_full(db.session(), service, now):
        return redirect(url_for(".home"))
    start = next_free_start(db.session(), service, now)
    day = start and start.astimezone(ZoneInfo(office.timezone)).date()
    return render_template(
        "queueing/kiosk_full.html",
        office=office,
        service=service,
        start=start and local_datetime(start, office),
        day=day,
        return_seconds=current_app.config["KIOSK_RETURN_SECONDS"] * 2,
    )


@bp.get("/full/<key>/qr.png")
@device_required(DeviceKind.KIOSK)
def full_qr(key: str) -> Any:
    """A QR of the booking page of the day the page shows (?day=): computed again here, the
    next free appointment could have moved on since, and the QR disagree with the text."""
    service = service_by_key(db.session(), g.device.office, key) or abort(404)
    try:
        day = date.fromisoformat(request.args.get("day", ""))
    except ValueError:
        abort(400)
    if day < local_today(service.office, utcnow()):
        abort(400)
    return current_app.response_class(qr_png(booking_day_url(service, day)), mimetype="image/png")


@bp.get("/remote/<key>/qr.png")
@device_required(DeviceKind.KIOSK)
def remote_qr(key: str) -> Any:
    """A QR of the page with the service's remote channels, to take home on a phone."""
    service = service_by_key(db.session(), g.device.office, key) or abort(404)
    return current_app.response_class(qr_png(remote_url(service)), mimetype="image/png")


@bp.get("/ticket/<int(max=2147483647):ticket_id>")
@device_required(DeviceKind.KIOSK)
def ticket(ticket_id: int) -> Any:
    ticket = db.session.get(Ticket, ticket_id)
    if ticket is None or ticket.office_id != g.device.office_id:
        abort(404)
    now = utcnow()
    return render_template(
        "queueing/ticket.html",
        ticket=ticket,
        office=ticket.office,
        answered_online=answered_online(db.session(), ticket),
        return_seconds=current_app.config["KIOSK_RETURN_SECONDS"],
        # Only the first view after issuing prints: a language switch or a reload of the
        # same ticket must not print a second slip.
        print_on_load=current_app.config["KIOSK_PRINT_ON_LOAD"]
        and request.args.get("print") == "1",
        place=place_in_line(db.session(), ticket, now),
        status_url=status_url(ticket),
        notices=admission.notices(ticket.office, ticket.day, str(get_locale())),
    )


@bp.get("/ticket/<int(max=2147483647):ticket_id>/qr.png")
@device_required(DeviceKind.KIOSK)
def ticket_qr(ticket_id: int) -> Any:
    ticket = db.session.get(Ticket, ticket_id)
    if ticket is None or ticket.office_id != g.device.office_id:
        abort(404)
    return current_app.response_class(qr_png(status_url(ticket)), mimetype="image/png")
