"""Booking: the contact details (and on regime days the declaration) for a chosen time."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from okienko.database import db, utcnow
from okienko.transaction import unit_of_work

from .. import admission, challenge, notifications
from ..availability import nearest_free
from ..bookings import Contact, create_booking
from ..declaration import Wanted, declare
from ..forms import ContactForm, answers, with_declaration
from ..models import BookingMode
from ..refusals import Refusal, SlotTaken
from ..times import iso, parse_start
from .blueprint import bp
from .calendar import is_free
from .limits import over_booking_limit
from .lookups import get_office, get_service
from .refused import refused_page


@bp.route("/o/<slug>/<key>/book", methods=["GET", "POST"])
def book(slug: str, key: str) -> Any:
    """The booking form for the time a link chose; the time stays in the form when sent."""
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
        alternatives = nearest_free(db.session(), office, service, start, utcnow())
        status = 409
    valid = form.validate_on_submit()
    # The bot challenge, where the office asks for it: checked with the fields (its message
    # joins theirs in the error summary), spent with the booking.
    bot_check = challenge.required(office)
    bot_error: object | None = None
    if request.method == "POST" and bot_check:
        try:
            challenge.checked(request.form.get(challenge.FIELD), utcnow())
        except challenge.ChallengeRefused as exc:
            bot_error, valid = exc.message, False
    if valid and over_booking_limit():
        status = 429  # the form again, with what was typed
    elif valid:
        contact = Contact(
            form.name.data, form.email.data or None, form.phone.data or None, form.language.data
        )
        now = utcnow()
        try:
            with unit_of_work() as session:
                if bot_check:
                    challenge.spend(session, request.form.get(challenge.FIELD), now)
                outcome = None
                if asked:
                    # The answers are not stored; on a refusal nothing is booked, and the
                    # page returned from inside the unit commits the kept outcome.
                    declaration = declare(
                        session,
                        office,
                        asked,
                        answers(form, asked),
                        "booking",
                        now,
                        wanted=Wanted(service, start, contact),
                    )
                    if declaration.refused:
                        return refused_page(office, service, start, form=form)
                    outcome = declaration.outcome
                booking, token = create_booking(
                    session,
                    office,
                    service,
                    start,
                    contact,
                    now,
                    mode=BookingMode.PHONE if by_phone else BookingMode.IN_PERSON,
                    outcome=outcome,
                )
                notifications.booking_confirmed(session, booking, token, now)
        except challenge.ChallengeRefused as exc:  # used already, or just expired
            bot_error, status = exc.message, exc.status
        except Refusal as exc:
            flash(str(exc.message), "error")
            status = exc.status
            alternatives = exc.alternatives if isinstance(exc, SlotTaken) else []
        else:
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
        bot_check=bot_check,
        bot_error=bot_error,
        time_url=lambda s: url_for(".book", slug=slug, key=key, start=iso(s)),
    ), status
