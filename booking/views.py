"""Resident pages: choose an office, a service, a day and a time; manage the booking."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import select

from . import notifications
from .availability import availability, booking_window, local_today, nearest_free
from .bookings import (
    BookingError,
    Contact,
    SlotTaken,
    cancel_booking,
    create_booking,
    reschedule_booking,
)
from .codes import format_code, hash_token
from .database import db, utcnow
from .extensions import limiter
from .forms import ConfirmForm, ContactForm, RescheduleForm
from .models import Booking, Office, Service
from .tickets import qr_png, qr_svg, ticket_payload

bp = Blueprint("booking", __name__)

# Instants within a day of the ends of the calendar overflow in local time: never a start.
FIRST_START = datetime.min.replace(tzinfo=UTC) + timedelta(days=1)
LAST_START = datetime.max.replace(tzinfo=UTC) - timedelta(days=1)


def parse_start(text: str | None) -> datetime | None:
    """An ISO 8601 instant with a zone, as the time links carry it; None if malformed."""
    if not text or len(text) > 40:
        return None
    try:
        value = datetime.fromisoformat(text)
        start = value.astimezone(UTC) if value.tzinfo else None
    except (ValueError, OverflowError):
        return None
    return start if start is not None and FIRST_START <= start <= LAST_START else None


def iso(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def get_office(slug: str) -> Office:
    if "\0" in slug:  # PostgreSQL refuses NUL in text; no slug has one
        abort(404)
    return db.session.scalar(select(Office).where(Office.slug == slug)) or abort(404)


def get_service(office: Office, key: str) -> Service:
    if "\0" in key:  # PostgreSQL refuses NUL in text; no key has one
        abort(404)
    service = db.session.scalar(
        select(Service).where(Service.office_id == office.id, Service.key == key)
    )
    if service is None or not service.bookable_online:
        abort(404)
    return service


def get_booking(token: str) -> Booking:
    g.no_store = True
    if len(token) > 64:
        abort(404)
    return db.session.scalar(
        select(Booking).where(Booking.manage_token_hash == hash_token(token))
    ) or abort(404)


def month_view(
    office: Office,
    service: Service,
    month: str | None,
    now: datetime,
    ignore_booking: int | None = None,
) -> dict[str, Any]:
    """The calendar of one month: which days have free times."""
    today = local_today(office, now)
    last_day = booking_window(office, now)[1].astimezone(ZoneInfo(office.timezone)).date()
    try:
        first = datetime.strptime(month, "%Y-%m").date() if month else today.replace(day=1)
    except ValueError:
        first = today.replace(day=1)
    first = min(max(first, today.replace(day=1)), last_day.replace(day=1))
    following = (first + timedelta(days=32)).replace(day=1)
    free = availability(
        db.session,
        office,
        service,
        max(first, today),
        min(following - timedelta(days=1), last_day),
        now,
        ignore_booking,
    )
    weeks: list[list[date | None]] = []
    week: list[date | None] = [None] * first.weekday()
    day = first
    while day < following:
        week.append(day)
        if len(week) == 7:
            weeks.append(week)
            week = []
        day += timedelta(days=1)
    if week:
        weeks.append(week + [None] * (7 - len(week)))
    return {
        "month": first,
        "weeks": weeks,
        "free_days": {d for d, starts in free.items() if starts},
        "previous": (first - timedelta(days=1)).strftime("%Y-%m")
        if first > today.replace(day=1)
        else None,
        "next": following.strftime("%Y-%m") if following <= last_day else None,
        "weekdays": [date(2024, 1, 1) + timedelta(days=i) for i in range(7)],
    }


def day_starts(
    office: Office,
    service: Service,
    day_text: str,
    now: datetime,
    ignore_booking: int | None = None,
) -> tuple[date, list[datetime]]:
    try:
        day = date.fromisoformat(day_text)
    except ValueError:
        abort(404)
    last_day = booking_window(office, now)[1].astimezone(ZoneInfo(office.timezone)).date()
    # No time outside the booking window is ever free, and days at the ends of the
    # calendar overflow in the arithmetic below: such a day is a link no longer valid.
    if not local_today(office, now) <= day <= last_day:
        abort(404)
    free = availability(db.session, office, service, day, day, now, ignore_booking)
    return day, free.get(day, [])


def is_free(office: Office, service: Service, start: datetime) -> bool:
    now = utcnow()
    earliest, latest = booking_window(office, now)
    if not earliest <= start <= latest:
        return False
    day = start.astimezone(ZoneInfo(office.timezone)).date()
    return start in availability(db.session, office, service, day, day, now)[day]


@bp.get("/")
def offices() -> str:
    rows = db.session.scalars(select(Office).order_by(Office.name)).all()
    return render_template("booking/offices.html", offices=rows)


@bp.get("/privacy")
def privacy() -> str:
    return render_template("booking/privacy.html")


@bp.get("/o/<slug>")
def office(slug: str) -> str:
    office = get_office(slug)
    services = [s for s in office.services if s.bookable_online]
    return render_template("booking/office.html", office=office, services=services)


@bp.get("/o/<slug>/<key>")
def service_calendar(slug: str, key: str) -> str:
    office = get_office(slug)
    service = get_service(office, key)
    view = month_view(office, service, request.args.get("month"), utcnow())
    return render_template(
        "booking/calendar.html",
        office=office,
        service=service,
        **view,
        day_url=lambda d: url_for(".service_day", slug=slug, key=key, day=d.isoformat()),
        month_url=lambda m: url_for(".service_calendar", slug=slug, key=key, month=m),
    )


@bp.get("/o/<slug>/<key>/<day>")
def service_day(slug: str, key: str, day: str) -> str:
    office = get_office(slug)
    service = get_service(office, key)
    chosen, starts = day_starts(office, service, day, utcnow())
    return render_template(
        "booking/times.html",
        office=office,
        service=service,
        day=chosen,
        starts=starts,
        time_url=lambda s: url_for(".book", slug=slug, key=key, start=iso(s)),
        back_url=url_for(".service_calendar", slug=slug, key=key, month=chosen.strftime("%Y-%m")),
    )


@bp.route("/o/<slug>/<key>/book", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["BOOKING_RATE_LIMIT"], methods=["POST"])
def book(slug: str, key: str) -> Any:
    office = get_office(slug)
    service = get_service(office, key)
    form = ContactForm(region=office.country)
    if request.method == "GET":
        form.start.data = request.args.get("start")
        form.language.data = str(get_locale())
    start = parse_start(form.start.data)
    if start is None:
        if request.method == "POST":
            abort(400)
        flash(_("Please choose a time."), "error")
        return redirect(url_for(".service_calendar", slug=slug, key=key))
    status = 200
    alternatives: list[datetime] = []
    if request.method == "GET" and not is_free(office, service, start):
        # A stale link or a slot taken since the page was shown: say so before any typing.
        flash(str(SlotTaken.message), "error")
        alternatives = nearest_free(db.session, office, service, start, utcnow())
        status = 409
    if form.validate_on_submit():
        contact = Contact(
            form.name.data, form.email.data or None, form.phone.data or None, form.language.data
        )
        now = utcnow()
        try:
            booking, token = create_booking(db.session, office, service, start, contact, now)
            db.session.commit()
        except BookingError as exc:
            db.session.rollback()
            flash(str(exc.message), "error")
            status = exc.status
            alternatives = exc.alternatives if isinstance(exc, SlotTaken) else []
        else:
            notifications.booking_confirmed(booking, token)
            return redirect(url_for(".manage", token=token, new=1))
    elif request.method == "POST":
        status = 422
    return render_template(
        "booking/details.html",
        office=office,
        service=service,
        form=form,
        start=start,
        alternatives=alternatives,
        time_url=lambda s: url_for(".book", slug=slug, key=key, start=iso(s)),
    ), status


@bp.get("/manage/<token>")
def manage(token: str) -> str:
    booking = get_booking(token)
    return render_template(
        "booking/manage.html",
        booking=booking,
        token=token,
        new=request.args.get("new") == "1",
        code=format_code(booking.code),
        now=utcnow(),
    )


@bp.get("/manage/<token>/qr.<kind>")
def qr(token: str, kind: str) -> Response:
    booking = get_booking(token)
    if not booking.active:
        abort(404)
    payload = ticket_payload(booking.code, current_app.config["SECRET_KEY"])
    if kind == "png":
        return Response(qr_png(payload), mimetype="image/png")
    if kind == "svg":
        return Response(qr_svg(payload), mimetype="image/svg+xml")
    abort(404)


@bp.get("/manage/<token>/booking.ics")
def ics(token: str) -> Response:
    booking = get_booking(token)
    body = notifications.calendar_file(booking, cancel=not booking.active)
    return Response(
        body,
        mimetype="text/calendar",
        headers={"Content-Disposition": f'attachment; filename="{booking.code}.ics"'},
    )


@bp.route("/manage/<token>/cancel", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["BOOKING_RATE_LIMIT"], methods=["POST"])
def cancel(token: str) -> Any:
    booking = get_booking(token)
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            cancel_booking(db.session, booking, utcnow())
            db.session.commit()
        except BookingError as exc:
            db.session.rollback()
            flash(str(exc.message), "error")
            return manage(token), exc.status
        notifications.booking_cancelled(booking)
        flash(_("Your booking has been cancelled."), "success")
        return redirect(url_for(".manage", token=token))
    return render_template("booking/cancel.html", booking=booking, token=token, form=form)


@bp.get("/manage/<token>/reschedule")
def reschedule_calendar(token: str) -> str:
    booking = get_booking(token)
    if not booking.active:
        abort(404)
    view = month_view(
        booking.office, booking.service, request.args.get("month"), utcnow(), booking.id
    )
    return render_template(
        "booking/calendar.html",
        office=booking.office,
        service=booking.service,
        booking=booking,
        token=token,
        **view,
        day_url=lambda d: url_for(".reschedule_day", token=token, day=d.isoformat()),
        month_url=lambda m: url_for(".reschedule_calendar", token=token, month=m),
    )


@bp.get("/manage/<token>/reschedule/<day>")
def reschedule_day(token: str, day: str) -> str:
    booking = get_booking(token)
    if not booking.active:
        abort(404)
    chosen, starts = day_starts(booking.office, booking.service, day, utcnow(), booking.id)
    return render_template(
        "booking/times.html",
        office=booking.office,
        service=booking.service,
        booking=booking,
        day=chosen,
        starts=starts,
        form=RescheduleForm(),
        move_url=url_for(".reschedule", token=token),
        back_url=url_for(".reschedule_calendar", token=token, month=chosen.strftime("%Y-%m")),
    )


@bp.post("/manage/<token>/reschedule")
@limiter.limit(lambda: current_app.config["BOOKING_RATE_LIMIT"])
def reschedule(token: str) -> Any:
    booking = get_booking(token)
    form = RescheduleForm()
    start = parse_start(form.start.data) if form.validate_on_submit() else None
    if start is None:
        abort(400)
    try:
        reschedule_booking(db.session, booking, start, utcnow())
        db.session.commit()
    except BookingError as exc:
        db.session.rollback()
        flash(str(exc.message), "error")
        if isinstance(exc, SlotTaken) and booking.active:
            # The day's times as they are now: the nearest free ones to what was chosen.
            day = start.astimezone(ZoneInfo(booking.office.timezone)).date()
            return reschedule_day(token, day.isoformat()), exc.status
        page = reschedule_calendar(token) if booking.active else manage(token)
        return page, exc.status
    notifications.booking_rescheduled(booking, token)
    flash(_("Your booking has been moved."), "success")
    return redirect(url_for(".manage", token=token))
