"""The kiosk: check in by QR or booking code, take a walk-in ticket, print it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy.orm import Session
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from booking import admission
from booking.availability import local_today
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
from .models import DeviceKind, Ticket
from .state import place_in_line

bp = Blueprint("kiosk", __name__, url_prefix="/kiosk")
status_bp = Blueprint("status", __name__)


class CheckInForm(FlaskForm):
    code = StringField(validators=[DataRequired(), Length(max=200)])


class WalkInForm(FlaskForm):
    """Only the CSRF token: the service is in the URL."""


def status_serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="okienko.ticket-status")


def status_url(ticket: Ticket) -> str:
    """The phone's status page: a signed ticket id, so numbers cannot be enumerated."""
    token = status_serializer().dumps(ticket.id)
    return current_app.config["PUBLIC_URL"].rstrip("/") + url_for("status.page", token=token)


floor_message = refusal_message


def kiosk_page(error: str | None = None, status: int = 200) -> Any:
    office = g.device.office
    now = utcnow()
    open_now = is_open(office, now)
    opens = None if open_now else next_opening(office, now)
    services = [s for s in office.services if s.walk_in]
    return render_template(
        "queueing/kiosk.html",
        office=office,
        services=services,
        open_now=open_now,
        opens=opens and local_datetime(opens, office),
        form=CheckInForm(),
        walk_in_form=WalkInForm(),
        error=error,
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
        page = render_template(
            "queueing/kiosk_refused.html",
            office=office,
            service=service,
            booking=booking,
            remote_url=remote_url(service),
        )
        return Screening(page=(page, 403))
    return Screening(check=declaration.check)


def remote_url(service: Service) -> str:
    return current_app.config["PUBLIC_URL"].rstrip("/") + url_for(
        "booking.remote", slug=service.office.slug, key=service.key
    )


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
            if existing_ticket(session, booking) is None:
                may_check_in(office, booking, now)
                screening = screen(
                    session, office, booking.service, now, url_for(".check_in"), booking
                )
                if screening.page is not None:
                    return screening.page
            ticket = check_in_booking(session, office, booking, now, device_id=g.device.id)
    except Refusal as exc:
        return kiosk_page(floor_message(exc, office), exc.status)
    return redirect(url_for(".ticket", ticket_id=ticket.id))


@bp.post("/walk-in/<key>")
@device_required(DeviceKind.KIOSK)
def take_number(key: str) -> Any:
    office = g.device.office
    if not WalkInForm().validate_on_submit():
        abort(400)
    service = service_by_key(db.session(), office, key) or abort(404)
    now = utcnow()
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
    return redirect(url_for(".ticket", ticket_id=ticket.id))


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
    return render_template(
        "queueing/ticket.html",
        ticket=ticket,
        office=ticket.office,
        place=place_in_line(db.session(), ticket, utcnow()),
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


def ticket_from_token(token: str) -> Ticket:
    try:
        ticket_id = status_serializer().loads(token)
    except BadSignature:
        abort(404)
    ticket = db.session.get(Ticket, ticket_id) if isinstance(ticket_id, int) else None
    return ticket or abort(404)


@status_bp.get("/t/<token>")
def page(token: str) -> Any:
    ticket = ticket_from_token(token)
    place = place_in_line(db.session(), ticket, utcnow())
    return render_template(
        "queueing/status.html", ticket=ticket, office=ticket.office, place=place, token=token
    )


@status_bp.get("/t/<token>/status.json")
def status_json(token: str) -> Any:
    ticket = ticket_from_token(token)
    response = jsonify(place_in_line(db.session(), ticket, utcnow()))
    response.headers["Cache-Control"] = "no-store"
    return response
