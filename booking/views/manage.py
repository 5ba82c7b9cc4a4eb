"""Managing a booking from its link: the overview, the admission check online, a phone
consultation instead of a refused visit, the QR code, the calendar file, cancelling."""

from __future__ import annotations

from typing import Any

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from okienko.database import utcnow
from okienko.extensions import limiter
from okienko.transaction import unit_of_work

from .. import admission, confirmation, notifications
from ..availability import local_today
from ..bookings import cancel_booking, to_phone
from ..codes import format_code
from ..contact import ContactError, normalize_phone
from ..declaration import declare
from ..formatting import local_datetime
from ..forms import ConfirmForm, DeclarationForm, answers, with_declaration
from ..models import Booking, BookingStatus
from ..qr import qr_png, qr_svg, ticket_payload
from ..refusals import PhoneNeeded, Refusal
from .blueprint import bp
from .limits import over_booking_limit
from .lookups import get_booking
from .refused import refused_page


@bp.get("/manage/<token>")
def manage(token: str) -> str:
    """The booking as it stands; a refused one shows where to turn instead."""
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
        try:
            with unit_of_work() as session:
                declaration = declare(
                    session,
                    booking.office,
                    asked,
                    answers(form, asked),
                    "online",
                    now,
                    booking=booking,
                )
        except Refusal as exc:  # the booking ended meanwhile
            flash(str(exc.message), "error")
            return redirect(url_for(".manage", token=token))
        if not declaration.refused:  # a refused booking's page says the rest
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
        return phone_page(booking, token, typed, str(exc.message)), 422
    if over_booking_limit():
        return phone_page(booking, token, typed), 429
    now = utcnow()
    try:
        with unit_of_work() as session:
            to_phone(session, booking, number or None, now)
            notifications.booking_to_phone(session, booking, token, now)
    except PhoneNeeded as exc:
        return phone_page(booking, token, typed, str(exc.message)), exc.status
    except Refusal as exc:
        flash(str(exc.message), "error")
        return phone_page(booking, token, typed), exc.status
    flash(_("Your visit is now a phone consultation. The office will call you."), "success")
    return redirect(url_for(".manage", token=token))


def phone_page(booking: Booking, token: str, typed: str, error: str | None = None) -> str:
    """The page the phone form was sent from, again, with the number as it was typed and
    ``error``, what is wrong with it, next to it and in the page's error summary."""
    if booking.status != BookingStatus.REFUSED:
        if error:
            flash(error, "error")
        return manage(token)
    page, _status = refused_page(
        booking.office,
        booking.service,
        booking.starts_at,
        booking,
        token,
        typed_phone=typed,
        phone_error=error,
    )
    return page


@bp.get("/manage/<token>/qr.<kind>")
def qr(token: str, kind: str) -> Response:
    """The QR code the kiosk scans to check in; only while the booking is active."""
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
    """The visit for a calendar; once it is no longer active, the event's cancellation."""
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
    """Asks to confirm, then cancels: a link alone (a GET) never cancels."""
    booking = get_booking(token)
    form = ConfirmForm()
    if form.validate_on_submit():
        now = utcnow()
        try:
            with unit_of_work() as session:
                cancel_booking(session, booking, now)
                notifications.booking_cancelled(session, booking, now)
        except Refusal as exc:
            flash(str(exc.message), "error")
            return manage(token), exc.status
        flash(_("Your booking has been cancelled."), "success")
        return redirect(url_for(".manage", token=token))
    return render_template("booking/cancel.html", booking=booking, token=token, form=form)


@bp.route("/confirm/<token>", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["BOOKING_RATE_LIMIT"], methods=["POST"])
def confirm(token: str) -> Any:
    """The link in a pending booking's mail shows the booking and a button; the button
    confirms it (a POST: mail scanners open links, they do not press buttons). A second
    press says so; a late link that the time was released (with a link to book again)."""
    now = utcnow()
    form = ConfirmForm()
    with unit_of_work() as session:
        booking = confirmation.booking_for_token(session, token)
        if booking is None:
            abort(404)
        if form.validate_on_submit():
            outcome: confirmation.Outcome | None = confirmation.confirm(session, booking, now)
        else:  # only looking: nothing changes, even past the deadline
            outcome = confirmation.standing(booking, now)
        page = render_template(
            "booking/confirm.html",
            booking=booking,
            outcome=outcome.value if outcome is not None else "ask",
            code=format_code(booking.code),
            form=form,
        )
    return page, 410 if outcome == confirmation.Outcome.RELEASED else 200
