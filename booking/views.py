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
from flask_limiter.errors import RateLimitExceeded
from sqlalchemy import select

from . import admission, notifications
from .availability import availability, booking_window, local_today, nearest_free
from .bookings import (
    Contact,
    SlotTaken,
    cancel_booking,
    create_booking,
    rebook,
    refuse_booking,
    reschedule_booking,
    to_phone,
)
from .codes import format_code, hash_token
from .contact import ContactError, normalize_phone
from .database import db, utcnow
from .extensions import limiter
from .formatting import local_datetime, refusal_message
from .forms import (
    ConfirmForm,
    ContactForm,
    DeclarationForm,
    RescheduleForm,
    answers,
    with_declaration,
)
from .models import Booking, BookingMode, BookingStatus, BookingToken, Office, Service
from .privacy import supervisory_authority
from .refusals import Refusal
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
    digest = hash_token(token)
    booking = db.session.scalar(select(Booking).where(Booking.manage_token_hash == digest))
    if booking is None:  # a link minted for a later mail
        booking = db.session.scalar(
            select(Booking).join(BookingToken).where(BookingToken.token_hash == digest)
        )
    return booking or abort(404)


def month_view(
    office: Office,
    service: Service,
    month: str | None,
    now: datetime,
    ignore_booking: int | None = None,
    not_before: datetime | None = None,
) -> dict[str, Any]:
    """The calendar of one month: which days have free times (from ``not_before`` on)."""
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
        "free_days": {
            d
            for d, starts in free.items()
            if any(not_before is None or s >= not_before for s in starts)
        },
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
    not_before: datetime | None = None,
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
    return day, [s for s in free.get(day, []) if not_before is None or s >= not_before]


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
    """The information notice in general, with a link to each office's own."""
    return render_template(
        "booking/privacy.html",
        office=None,
        offices=db.session.scalars(select(Office).order_by(Office.name)).all(),
        authority=None,
        retention_days=current_app.config["ADMISSION_RETENTION_DAYS"],
        retention=current_app.config["RETENTION_DAYS"],
    )


@bp.get("/privacy/<slug>")
def office_privacy(slug: str) -> str:
    """The office's information notice (Art. 13 GDPR), linked from its booking form."""
    office = get_office(slug)
    return render_template(
        "booking/privacy.html",
        office=office,
        offices=[],
        authority=supervisory_authority(office.country),
        retention_days=current_app.config["ADMISSION_RETENTION_DAYS"],
        retention=current_app.config["RETENTION_DAYS"],
    )


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


@bp.get("/o/<slug>/<key>/remote")
def remote(slug: str, key: str) -> str:
    """How to handle a service without coming in: linked from the kiosk after a refusal."""
    office = get_office(slug)
    if "\0" in key:
        abort(404)
    service = db.session.scalar(
        select(Service).where(Service.office_id == office.id, Service.key == key)
    ) or abort(404)
    return render_template("booking/remote.html", office=office, service=service)


@limiter.limit(lambda: current_app.config["BOOKING_RATE_LIMIT"])
def booking_attempt() -> None:
    """One attempt at booking (or answering, or switching to phone): what the limit counts.

    Called once the form has validated, so a form sent back to correct (422) uses up
    nothing; over the limit it raises RateLimitExceeded. The count is per page
    (the request's endpoint), as the limit was when it decorated the views.
    """


def over_booking_limit() -> bool:
    """Count this attempt; True, with a message, when it is one too many."""
    try:
        booking_attempt()
    except RateLimitExceeded:
        flash(
            _(
                "Too many attempts from your connection. Please wait a few minutes and "
                "send this again."
            ),
            "error",
        )
        return True
    return False


def refused_page(
    office: Office,
    service: Service,
    start: datetime,
    booking: Booking | None = None,
    token: str | None = None,
    form: Any = None,
    typed_phone: str | None = None,
) -> tuple[str, int]:
    """What a resident who may not come in sees: where to turn, and the next steps.

    ``typed_phone`` is the number sent for a phone consultation, shown again with the page.
    """
    now = utcnow()
    rebook_day = (
        local_today(office, admission.rebook_from(booking))
        if booking is not None
        else local_today(office, now)
        + timedelta(days=office.admission.rebook_after_days if office.admission else 0)
    )
    return render_template(
        "booking/refused.html",
        office=office,
        service=service,
        start=start,
        booking=booking,
        token=token,
        form=form,
        phone_form=ConfirmForm(),
        typed_phone=typed_phone,
        rebook_day=rebook_day,
        can_phone=start + timedelta(minutes=service.duration_minutes) > now,
        now=now,
    ), 403


@bp.route("/o/<slug>/<key>/book", methods=["GET", "POST"])
def book(slug: str, key: str) -> Any:
    office = get_office(slug)
    service = get_service(office, key)
    start = parse_start(request.form.get("start") if request.method == "POST" else None)
    if request.method == "GET":
        start = parse_start(request.args.get("start"))
    by_phone = request.form.get("mode") == "phone"
    # The declaration is asked for visits in person on the days of the sanitary regime.
    asked = (
        admission.questions(office)
        if start and not by_phone and admission.regime_active_at(office, start)
        else []
    )
    form_class = with_declaration(ContactForm, asked, str(get_locale())) if asked else ContactForm
    form = form_class(region=office.country)
    if request.method == "GET":
        form.start.data = request.args.get("start")
        form.language.data = str(get_locale())
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
    valid = form.validate_on_submit()
    if valid and over_booking_limit():
        status = 429  # the form again, with what was typed
    elif valid:
        contact = Contact(
            form.name.data, form.email.data or None, form.phone.data or None, form.language.data
        )
        now = utcnow()
        outcome = admission.evaluate(asked, answers(form, asked)) if asked else None
        if outcome is not None and not outcome.admitted:
            # Nothing is booked; only the outcome is kept, and the answers are not.
            admission.record(db.session, office, "booking", outcome, now)
            db.session.commit()
            page = refused_page(office, service, start, form=form)
            if contact.email:
                notifications.refused_before_booking(office, service, start, contact)
            return page
        try:
            booking, token = create_booking(
                db.session,
                office,
                service,
                start,
                contact,
                now,
                mode=BookingMode.PHONE if by_phone else BookingMode.IN_PERSON,
                outcome=outcome,
            )
            db.session.commit()
        except Refusal as exc:
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
        asked=asked,
        notices=admission.notices(
            office, start.astimezone(ZoneInfo(office.timezone)).date(), str(get_locale())
        ),
        start=start,
        alternatives=alternatives,
        time_url=lambda s: url_for(".book", slug=slug, key=key, start=iso(s)),
    ), status


@bp.get("/manage/<token>")
def manage(token: str) -> str:
    booking = get_booking(token)
    if booking.status == BookingStatus.REFUSED:
        return refused_page(booking.office, booking.service, booking.starts_at, booking, token)[0]
    now = utcnow()
    opens, closes = admission.online_window(booking)
    return render_template(
        "booking/manage.html",
        booking=booking,
        token=token,
        new=request.args.get("new") == "1",
        code=format_code(booking.code),
        now=now,
        notices=[]
        if booking.by_phone
        else admission.notices(
            booking.office, local_today(booking.office, booking.starts_at), str(get_locale())
        ),
        check_open=booking.active and admission.needs_check(booking) and opens <= now <= closes,
        check_opens=opens if booking.active and admission.needs_check(booking) else None,
    )


@bp.route("/manage/<token>/admission", methods=["GET", "POST"])
def admission_check(token: str) -> Any:
    """The admission questions before the visit: the reminder links here."""
    booking = get_booking(token)
    if not booking.active or not admission.needs_check(booking):
        return redirect(url_for(".manage", token=token))
    now = utcnow()
    opens, closes = admission.online_window(booking)
    if not opens <= now <= closes:
        flash(
            _(
                "The questions can be answered from %(time)s.",
                time=local_datetime(opens, booking.office),
            )
            if now < opens
            else _("The time to answer online has passed."),
            "error",
        )
        return redirect(url_for(".manage", token=token))
    asked = admission.questions(booking.office)
    form = with_declaration(DeclarationForm, asked, str(get_locale()))()
    status = 200
    valid = form.validate_on_submit()
    if valid and over_booking_limit():
        status = 429
    elif valid:
        outcome = admission.evaluate(asked, answers(form, asked))
        try:
            if not outcome.admitted:
                refuse_booking(db.session, booking, now)
            admission.record(db.session, booking.office, "online", outcome, now, booking=booking)
            db.session.commit()
        except Refusal as exc:
            db.session.rollback()
            flash(str(exc.message), "error")
            return redirect(url_for(".manage", token=token))
        if not outcome.admitted:
            notifications.admission_refused(booking)
            return redirect(url_for(".manage", token=token))
        flash(
            _("Thank you. You may come; the kiosk will ask the same questions on arrival."),
            "success",
        )
        return redirect(url_for(".manage", token=token))
    elif request.method == "POST":
        status = 422
    return render_template(
        "booking/admission.html", booking=booking, token=token, form=form, asked=asked
    ), status


@bp.post("/manage/<token>/phone")
def phone(token: str) -> Any:
    """A refused visit becomes a phone consultation at the same time."""
    booking = get_booking(token)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    typed = (request.form.get("phone") or "").strip()[:30]
    try:
        number = normalize_phone(typed, booking.office.country) if typed else ""
    except ContactError as exc:
        flash(str(exc.message), "error")
        return phone_page(booking, token, typed), 422
    if over_booking_limit():
        return phone_page(booking, token, typed), 429
    try:
        to_phone(db.session, booking, number or None, utcnow())
        db.session.commit()
    except Refusal as exc:
        db.session.rollback()
        flash(str(exc.message), "error")
        return phone_page(booking, token, typed), exc.status
    notifications.booking_to_phone(booking, token)
    flash(_("Your visit is now a phone consultation. The office will call you."), "success")
    return redirect(url_for(".manage", token=token))


def phone_page(booking: Booking, token: str, typed: str) -> str:
    """The page the phone form was sent from, again, with the number as it was typed."""
    if booking.status != BookingStatus.REFUSED:
        return manage(token)
    page, _status = refused_page(
        booking.office, booking.service, booking.starts_at, booking, token, typed_phone=typed
    )
    return page


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
        except Refusal as exc:
            db.session.rollback()
            flash(str(exc.message), "error")
            return manage(token), exc.status
        notifications.booking_cancelled(booking)
        flash(_("Your booking has been cancelled."), "success")
        return redirect(url_for(".manage", token=token))
    return render_template("booking/cancel.html", booking=booking, token=token, form=form)


def movable(booking: Booking) -> datetime | None:
    """Whether the booking can get a new time, and from when (a refused one waits)."""
    if booking.active:
        return utcnow()
    if booking.status == BookingStatus.REFUSED:
        return admission.rebook_from(booking)
    abort(404)


def declare_again(booking: Booking, token: str, start: datetime) -> Any:
    """Coming back in person after a refusal, on a regime day: the declaration first.

    Returns the passing outcome or a page to show. Only answers that validate are an
    attempt for the booking limit: the questions shown, or sent back to correct, are not.
    """
    asked = admission.questions(booking.office)
    form = with_declaration(DeclarationForm, asked, str(get_locale()))()
    answered = request.form.get("answered") == "1"
    valid = answered and form.validate()
    if not valid or over_booking_limit():
        # The questions (200), sent back to correct (422), or again with the answers (429).
        status = 429 if valid else 422 if answered else 200
        return render_template(
            "booking/admission.html",
            booking=booking,
            token=token,
            form=form,
            asked=asked,
            start=start,
            action=url_for(".reschedule", token=token),
        ), status
    outcome = admission.evaluate(asked, answers(form, asked))
    if outcome.admitted:
        return outcome
    now = utcnow()
    admission.record(db.session, booking.office, "booking", outcome, now, booking=booking)
    booking.refused_at = now  # the waiting days start again
    db.session.commit()
    flash(_("Under the office's sanitary rules you cannot come in person now."), "error")
    return redirect(url_for(".manage", token=token))


@bp.get("/manage/<token>/reschedule")
def reschedule_calendar(token: str) -> str:
    booking = get_booking(token)
    not_before = movable(booking)
    month = request.args.get("month")
    if month is None and not booking.active:
        month = local_today(booking.office, not_before).strftime("%Y-%m")
    view = month_view(booking.office, booking.service, month, utcnow(), booking.id, not_before)
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
    return times_page(get_booking(token), token, day)


def times_page(booking: Booking, token: str, day_text: str, chosen: datetime | None = None) -> str:
    """The free times of a day to move the booking to; ``chosen`` is marked as picked."""
    not_before = movable(booking)
    day, starts = day_starts(
        booking.office, booking.service, day_text, utcnow(), booking.id, not_before
    )
    return render_template(
        "booking/times.html",
        office=booking.office,
        service=booking.service,
        booking=booking,
        day=day,
        starts=starts,
        chosen=chosen,
        move_url=url_for(".reschedule", token=token),
        back_url=url_for(".reschedule_calendar", token=token, month=day.strftime("%Y-%m")),
    )


def chosen_again(booking: Booking, token: str, start: datetime) -> str:
    """After an attempt too many: the chosen day's times, the chosen one marked."""
    if not (booking.active or booking.status == BookingStatus.REFUSED):
        return manage(token)
    earliest, latest = booking_window(booking.office, utcnow())
    if not earliest <= start <= latest:  # no day of the calendar shows it
        return reschedule_calendar(token)
    day = start.astimezone(ZoneInfo(booking.office.timezone)).date()
    return times_page(booking, token, day.isoformat(), chosen=start)


@bp.post("/manage/<token>/reschedule")
def reschedule(token: str) -> Any:
    booking = get_booking(token)
    form = RescheduleForm()
    start = parse_start(form.start.data) if form.validate_on_submit() else None
    if start is None:
        abort(400)
    refused = booking.status == BookingStatus.REFUSED
    outcome = None
    if (
        refused
        and start >= admission.rebook_from(booking)
        and admission.regime_active_at(booking.office, start)
    ):
        # Coming back in person on a regime day: the limit counts only answers that validate.
        answered = declare_again(booking, token, start)
        if not isinstance(answered, admission.Outcome):
            return answered  # the questions, or the refusal
        outcome = answered
    elif over_booking_limit():
        return chosen_again(booking, token, start), 429
    try:
        if refused:
            rebook(db.session, booking, start, utcnow(), outcome)
        else:
            reschedule_booking(db.session, booking, start, utcnow())
        db.session.commit()
    except Refusal as exc:
        db.session.rollback()
        flash(refusal_message(exc, booking.office), "error")
        if isinstance(exc, SlotTaken) and (booking.active or refused):
            # The day's times as they are now: the nearest free ones to what was chosen.
            day = start.astimezone(ZoneInfo(booking.office.timezone)).date()
            return times_page(booking, token, day.isoformat()), exc.status
        page = reschedule_calendar(token) if booking.active or refused else manage(token)
        return page, exc.status
    notifications.booking_rescheduled(booking, token)
    flash(_("Your booking has been moved."), "success")
    return redirect(url_for(".manage", token=token))
