"""Moving a booking to another time; a refused visit comes back in person this way too."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_wtf import FlaskForm

from okienko.database import utcnow
from okienko.transaction import unit_of_work

from .. import admission, notifications
from ..availability import booking_window, local_today
from ..bookings import rebook, reschedule_booking
from ..declaration import declare
from ..formatting import refusal_message
from ..forms import DeclarationForm, RescheduleForm, answers, with_declaration
from ..models import AdmissionQuestion, Booking, BookingStatus
from ..refusals import Refusal, SlotTaken
from ..times import parse_start
from .blueprint import bp
from .calendar import closures_between, day_starts, month_view
from .limits import over_booking_limit
from .lookups import get_booking
from .manage import manage


def movable(booking: Booking) -> datetime:
    """From when the booking can get a new time (a refused one waits); 404 if it cannot."""
    if booking.active:
        return utcnow()
    if booking.status == BookingStatus.REFUSED:
        return admission.rebook_from(booking)
    abort(404)


@bp.get("/manage/<token>/reschedule")
def reschedule_calendar(token: str) -> str:
    """The month to pick a new day from; a refused booking's opens where it may come back."""
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
        closures=closures_between(booking.office, day, day),
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


def questions_page(
    booking: Booking, token: str, start: datetime, form: FlaskForm, asked: list[AdmissionQuestion]
) -> str:
    """The declaration asked before a refused visit comes back in person, sent to the move."""
    return render_template(
        "booking/admission.html",
        booking=booking,
        token=token,
        form=form,
        asked=asked,
        start=start,
        action=url_for(".reschedule", token=token),
    )


@bp.post("/manage/<token>/reschedule")
def reschedule(token: str) -> Any:
    """Move the booking to the time picked; a refused one comes back in person.

    Coming back in person on a regime day needs the declaration first. Only answers
    that validate are an attempt for the booking limit: the questions shown, or sent
    back to correct, are not.
    """
    booking = get_booking(token)
    move = RescheduleForm()
    start = parse_start(move.start.data) if move.validate_on_submit() else None
    if start is None:
        abort(400)
    refused = booking.status == BookingStatus.REFUSED
    declaring = None
    if (
        refused
        and start >= admission.rebook_from(booking)
        and admission.regime_active_at(booking.office, start)
    ):
        asked = admission.questions(booking.office)
        form = with_declaration(DeclarationForm, asked, str(get_locale()))()
        answered = request.form.get("answered") == "1"
        valid = answered and form.validate()
        if not valid or over_booking_limit():
            # The questions (200), sent back to correct (422), or again with the answers (429).
            status = 429 if valid else 422 if answered else 200
            return questions_page(booking, token, start, form, asked), status
        declaring = (asked, answers(form, asked))
    elif over_booking_limit():
        return chosen_again(booking, token, start), 429
    now = utcnow()
    try:
        with unit_of_work() as session:
            outcome = None
            if declaring is not None:
                asked, given = declaring
                declaration = declare(
                    session, booking.office, asked, given, "booking", now, booking=booking
                )
                if declaration.refused:  # kept refused, and the waiting days start again
                    message = _("Under the office's sanitary rules you cannot come in person now.")
                    flash(message, "error")
                    return redirect(url_for(".manage", token=token))
                outcome = declaration.outcome
            if refused:
                rebook(session, booking, start, now, outcome)
            else:
                reschedule_booking(session, booking, start, now)
            notifications.booking_rescheduled(session, booking, token, now)
    except Refusal as exc:
        flash(refusal_message(exc, booking.office), "error")
        if isinstance(exc, SlotTaken) and (booking.active or refused):
            # The day's times as they are now: the nearest free ones to what was chosen.
            day = start.astimezone(ZoneInfo(booking.office.timezone)).date()
            return times_page(booking, token, day.isoformat()), exc.status
        page = reschedule_calendar(token) if booking.active or refused else manage(token)
        return page, exc.status
    flash(_("Your booking has been moved."), "success")
    return redirect(url_for(".manage", token=token))
