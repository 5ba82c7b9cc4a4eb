"""The kiosk: check in by QR or booking code, take a walk-in ticket, print it."""

from __future__ import annotations

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
    url_for,
)
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from booking.database import db, utcnow
from booking.formatting import local_datetime, local_day, local_time
from booking.models import Office, Service

from .access import device_required
from .arrival import check_in as check_in_booking
from .arrival import find_booking, is_open, next_opening, walk_in
from .errors import FloorError
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


def _when(value: object, office: Office) -> object:
    """A time today as "09:30"; on another day with the date, so nobody comes back wrongly."""
    if not isinstance(value, datetime):
        return value
    if local_day(value, office) == local_day(utcnow(), office):
        return local_time(value, office)
    return local_datetime(value, office)


def floor_message(exc: FloorError, office: Office) -> str:
    """The refusal in the reader's language, with times shown in the office's zone."""
    values = {key: _when(value, office) for key, value in exc.details.items()}
    text = str(exc.message)
    return text % values if values and "%(" in text else text


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
    ), status


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
        booking = find_booking(db.session, office, form.code.data, current_app.config["SECRET_KEY"])
        ticket = check_in_booking(db.session, office, booking, now, device_id=g.device.id)
        db.session.commit()
    except FloorError as exc:
        db.session.rollback()
        return kiosk_page(floor_message(exc, office), exc.status)
    return redirect(url_for(".ticket", ticket_id=ticket.id))


@bp.post("/walk-in/<key>")
@device_required(DeviceKind.KIOSK)
def take_number(key: str) -> Any:
    office = g.device.office
    if not WalkInForm().validate_on_submit():
        abort(400)
    if "\0" in key:  # PostgreSQL refuses NUL in text; no key has one
        abort(404)
    service = db.session.scalar(
        select(Service).where(Service.office_id == office.id, Service.key == key)
    )
    if service is None:
        abort(404)
    try:
        ticket = walk_in(db.session, office, service, utcnow(), device_id=g.device.id)
        db.session.commit()
    except FloorError as exc:
        db.session.rollback()
        return kiosk_page(floor_message(exc, office), exc.status)
    return redirect(url_for(".ticket", ticket_id=ticket.id))


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
        place=place_in_line(db.session, ticket, utcnow()),
        status_url=status_url(ticket),
    )


@bp.get("/ticket/<int(max=2147483647):ticket_id>/qr.png")
@device_required(DeviceKind.KIOSK)
def ticket_qr(ticket_id: int) -> Any:
    from booking.tickets import qr_png

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
    place = place_in_line(db.session, ticket, utcnow())
    return render_template(
        "queueing/status.html", ticket=ticket, office=ticket.office, place=place, token=token
    )


@status_bp.get("/t/<token>/status.json")
def status_json(token: str) -> Any:
    ticket = ticket_from_token(token)
    response = jsonify(place_in_line(db.session, ticket, utcnow()))
    response.headers["Cache-Control"] = "no-store"
    return response
