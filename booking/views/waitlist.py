"""The waiting list: joining it when nothing is free, claiming an offered time, leaving."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, RadioField, StringField

# WTForms 3.2's choice type; types-WTForms does not list it yet.
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]
from wtforms.validators import DataRequired, Length, ValidationError

from okienko.database import db, utcnow
from okienko.transaction import unit_of_work

from .. import admission, challenge, notifications, waitlist
from ..availability import first_free_start, window_days
from ..declaration import Wanted, declare
from ..forms import ConfirmForm, ContactForm, answers, with_declaration
from ..models import WaitlistPart, WaitlistStatus
from ..refusals import Refusal
from .blueprint import bp
from .limits import over_booking_limit
from .lookups import get_office, get_service


class WaitlistForm(ContactForm):
    """The booking form's name and e-mail (its rules), the days and the part of the day."""

    start = None  # type: ignore[assignment]
    mode = None  # type: ignore[assignment]
    phone = None  # type: ignore[assignment]
    email = StringField(
        _l("E-mail"),
        validators=[
            DataRequired(_l("Please enter your e-mail address.")),
            Length(max=254, message=_l("This e-mail address is too long.")),
        ],
        filters=[lambda s: s.strip() if isinstance(s, str) else s],
    )
    first_day = DateField(
        _l("Earliest day"), validators=[DataRequired(_l("Please enter a date like 2026-12-24."))]
    )
    last_day = DateField(
        _l("Latest day"), validators=[DataRequired(_l("Please enter a date like 2026-12-24."))]
    )
    part = RadioField(
        _l("Time of day"),
        choices=[
            SelectChoice(WaitlistPart.ANY.value, _l("Any time")),
            SelectChoice(WaitlistPart.MORNING.value, _l("Mornings (before 12:00)")),
            SelectChoice(WaitlistPart.AFTERNOON.value, _l("Afternoons (from 12:00)")),
        ],
        default=WaitlistPart.ANY.value,
    )

    def validate(self, extra_validators: Any = None) -> bool:
        # The booking form's own checks are about a time, a phone and a mode: none here.
        return FlaskForm.validate(self, extra_validators)

    def validate_last_day(self, field: DateField) -> None:
        if self.first_day.data and field.data and field.data < self.first_day.data:
            raise ValidationError(_l("The latest day cannot be before the earliest day."))
        window = getattr(self, "window", None)
        if window and field.data and not window[0] <= field.data <= window[1]:
            raise ValidationError(_l("Please choose a day within the booking period."))

    def validate_first_day(self, field: DateField) -> None:
        window = getattr(self, "window", None)
        if window and field.data and not window[0] <= field.data <= window[1]:
            raise ValidationError(_l("Please choose a day within the booking period."))


@bp.route("/o/<slug>/<key>/waitlist", methods=["GET", "POST"])
def waitlist_join(slug: str, key: str) -> Any:
    office = get_office(slug)
    service = get_service(office, key)
    now = utcnow()
    window = window_days(office, now)
    if first_free_start(db.session(), office, service, now) is not None:
        flash(_("This service has free times: please book one."), "info")
        return redirect(url_for(".service_calendar", slug=slug, key=key))
    form = WaitlistForm(region=office.country)
    form.window = window
    if request.method == "GET":
        form.language.data = str(get_locale())
        form.first_day.data = window[0]
        form.last_day.data = min(window[1], window[0] + timedelta(days=14))
    status = 200
    valid = form.validate_on_submit()
    # Each join mails the address typed: the booking form's bot check and rate limit.
    bot_check = challenge.required(office)
    bot_error: object | None = None
    if request.method == "POST" and bot_check:
        try:
            challenge.checked(request.form.get(challenge.FIELD), now)
        except challenge.ChallengeRefused as exc:
            bot_error, valid = exc.message, False
    if valid and over_booking_limit():
        status = 429
    elif valid:
        assert form.first_day.data and form.last_day.data and form.name.data and form.email.data
        try:
            with unit_of_work() as session:
                if bot_check:
                    challenge.spend(session, request.form.get(challenge.FIELD), now)
                entry, token = waitlist.join(
                    session,
                    office,
                    service,
                    first_day=form.first_day.data,
                    last_day=form.last_day.data,
                    part=WaitlistPart(form.part.data),
                    name=form.name.data,
                    email=form.email.data,
                    language=form.language.data,
                    now=now,
                )
                waitlist.mail_joined(session, office, entry, token, now)
        except challenge.ChallengeRefused as exc:
            bot_error, status = exc.message, exc.status
        except waitlist.AlreadyWaiting as exc:
            flash(str(exc.message), "info")
            status = exc.status
        else:
            return redirect(url_for(".waitlist_leave", token=token, joined=1))
    elif request.method == "POST":
        status = 422
    return render_template(
        "booking/waitlist.html",
        office=office,
        service=service,
        form=form,
        window=window,
        bot_check=bot_check,
        bot_error=bot_error,
    ), status


@bp.route("/w/<token>", methods=["GET", "POST"])
def waitlist_claim(token: str) -> Any:
    """The offered time: the resident confirms (with the declaration on a regime day)."""
    g.no_store = True
    now = utcnow()
    try:
        hold = waitlist.hold_by_token(db.session(), token, now)
    except waitlist.HoldGone as exc:
        db.session.rollback()
        return render_template("booking/waitlist_gone.html", message=exc.message), 410
    office, service, start, entry = hold.service.office, hold.service, hold.starts_at, hold.entry
    assert entry is not None
    asked = admission.questions(office) if admission.regime_active_at(office, start) else []
    form_class = with_declaration(ConfirmForm, asked, str(get_locale())) if asked else ConfirmForm
    form = form_class()
    status = 200
    if form.validate_on_submit():
        contact = waitlist.Contact(entry.name, entry.email, None, entry.language)
        try:
            with unit_of_work() as session:
                outcome = None
                if asked:
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
                        raise admission.NotAdmitted()
                    outcome = declaration.outcome
                booking, manage = waitlist.claim(session, token, now, outcome)
                notifications.booking_confirmed(session, booking, manage, now)
        except Refusal as exc:
            flash(str(exc.message), "error")
            status = exc.status
        else:
            return redirect(url_for(".manage", token=manage, new=1))
    elif request.method == "POST":
        status = 422
    expires_at = hold.expires_at
    db.session.rollback()  # the lock taken to read the hold
    return render_template(
        "booking/waitlist_claim.html",
        office=office,
        service=service,
        start=start,
        expires_at=expires_at,
        name=entry.name,
        form=form,
        asked=asked,
    ), status


@bp.route("/w/leave/<token>", methods=["GET", "POST"])
def waitlist_leave(token: str) -> Any:
    g.no_store = True
    entry = waitlist.entry_by_token(db.session(), token) or abort(404)
    form = ConfirmForm()
    if form.validate_on_submit():
        with unit_of_work() as session:
            waitlist.leave(session, entry, utcnow())
        flash(_("You have left the waiting list."), "info")
        return redirect(url_for(".waitlist_leave", token=token))
    return render_template(
        "booking/waitlist_leave.html",
        entry=entry,
        office=entry.service.office,
        service=entry.service,
        waiting=entry.status in (WaitlistStatus.WAITING, WaitlistStatus.OFFERED),
        joined=request.args.get("joined") == "1",
        form=form,
    )
