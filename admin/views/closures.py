"""Closures: the month calendar with public holidays and closures, adding one (through
``admin/changes.py``: booked visits it closes are shown first), deleting one.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from babel.dates import format_date
from flask import flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import DateField, Field, StringField
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from booking.availability import local_today
from booking.models import Closure, Office
from booking.slots import clock_text, parse_clock
from okienko.database import db, utcnow
from okienko.i18n import date_locale
from okienko.transaction import unit_of_work

from ..access import admin_required, managed_office, owned, staff
from ..changes import NeedsDecision, affected_page, change_office, lock_office
from ..closures import (
    YEARS,
    add_closure,
    calendar_span,
    delete_closure,
    month_days,
    month_within,
    upcoming,
)
from ..forms import AdminForm, strip
from .blueprint import bp, section

section("admin.closures", _l("Closures"), 40)

LONGEST = timedelta(days=366)  # one closure; a longer one is a typing mistake


class ClosureForm(AdminForm):
    first_day = DateField(
        _l("First day"),
        validators=[InputRequired(_l("Give the first closed day."))],
    )
    last_day = DateField(
        _l("Last day"),
        validators=[Optional()],
        description=_l("Empty: only the first day."),
    )
    starts = StringField(
        _l("Closed from"),
        filters=[strip],
        description=_l("Empty, with “until” empty too: the whole day."),
    )
    ends = StringField(_l("Closed until"), filters=[strip])
    reason = StringField(
        _l("Note for residents"),
        filters=[strip],
        validators=[Length(max=200, message=_l("Use at most %(max)d characters."))],
        description=_l("Shown in the booking calendar, e.g. “Staff training”."),
    )

    def __init__(self, office: Office, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.office = office

    def validate_first_day(self, field: Field) -> None:
        today = local_today(self.office, utcnow())
        if field.data and field.data < today:
            raise ValidationError(_l("Choose today or a later day."))
        if field.data and field.data > calendar_span(today)[1]:
            raise ValidationError(_("Choose a day at most %(years)d years ahead.", years=YEARS))

    def validate_last_day(self, field: Field) -> None:
        first = self.first_day.data
        if field.data and first and field.data < first:
            raise ValidationError(_l("This day is before the first day."))
        if field.data and first and field.data - first > LONGEST:
            raise ValidationError(_l("A closure can last a year at most."))

    def validate_starts(self, field: Field) -> None:
        if field.data and parse_clock(field.data) is None:
            raise ValidationError(_l("Give a time like 12:30."))
        if not field.data and self.ends.data:
            raise ValidationError(_l("Give both times, or neither for the whole day."))

    def validate_ends(self, field: Field) -> None:
        if field.data and parse_clock(field.data, end=True) is None:
            raise ValidationError(_l("Give a time like 12:30."))
        elif not field.data and self.starts.data:
            raise ValidationError(_l("Give both times, or neither for the whole day."))
        starts = parse_clock(self.starts.data or "")
        ends = parse_clock(field.data or "", end=True)
        if starts and ends and ends <= starts:
            raise ValidationError(_l("The end must be after the start."))

    def values(self) -> tuple[date, date, time | None, time | None, str]:
        first = self.first_day.data
        assert first is not None  # validated
        return (
            first,
            self.last_day.data or first,
            parse_clock(self.starts.data or ""),
            parse_clock(self.ends.data or "", end=True),
            self.reason.data or "",
        )


def _month(office: Office, form: ClosureForm) -> date:
    """The month to show: the one asked for, the new closure's after a post; never one
    outside ``calendar_span``, so that its neighbours' dates exist too."""
    today = local_today(office, utcnow())
    if request.method == "POST" and form.first_day.data:
        return month_within(form.first_day.data, today)  # where the new closure would be
    try:
        asked = datetime.strptime(request.args.get("month", ""), "%Y-%m").date()
    except ValueError:
        return today.replace(day=1)
    return month_within(asked, today)


def _page(office: Office, form: ClosureForm, status: int = 200) -> Any:
    month = _month(office, form)
    previous = (month - timedelta(days=1)).replace(day=1)
    following = (month + timedelta(days=32)).replace(day=1)
    return render_template(
        "admin/closures.html",
        office=office,
        form=form,
        month=month,
        weeks=month_days(office, month, str(get_locale())),
        weekdays=[date(2024, 1, 1) + timedelta(days=i) for i in range(7)],
        previous=previous.strftime("%Y-%m"),
        following=following.strftime("%Y-%m"),
        closures=upcoming(office, local_today(office, utcnow())),
        closure_text=closure_text,
    ), status


def closure_text(closure: Closure) -> str:
    """When a closure applies, in words: "24 December 2026", "… – …", with its times."""
    first = format_date(closure.first_day, "full", locale=date_locale())
    days = (
        first
        if closure.first_day == closure.last_day
        else f"{first} – {format_date(closure.last_day, 'full', locale=date_locale())}"
    )
    if closure.starts is None or closure.ends is None:
        return days
    return _(
        "%(days)s, %(starts)s–%(ends)s",
        days=days,
        starts=clock_text(closure.starts),
        ends=clock_text(closure.ends),
    )


@bp.route("/o/<slug>/closures", methods=["GET", "POST"])
@admin_required()
def closures(slug: str) -> Any:
    office = managed_office(slug)
    form = ClosureForm(office)
    if request.method == "GET":
        return _page(office, form)
    if not form.validate_on_submit():
        return _page(office, form, 422)
    first, last, starts, ends, reason = form.values()
    actor, now = staff(), utcnow()
    try:
        closure = change_office(
            office,
            lambda session: add_closure(
                session, office, first, last, starts, ends, reason, actor, now
            ),
            now,
        )
    except NeedsDecision as needed:
        draft = Closure(first_day=first, last_day=last, starts=starts, ends=ends)
        return affected_page(
            office,
            needed,
            what=_("The office closes: %(when)s.", when=closure_text(draft)),
            back=url_for("admin.closures", slug=office.slug),
            reason=reason,
        )
    flash(_("The closure is added: %(when)s.", when=closure_text(closure)), "success")
    return redirect(url_for("admin.closures", slug=office.slug, month=first.strftime("%Y-%m")))


@bp.post("/o/<slug>/closures/<int:closure_id>/delete")
@admin_required()
def closure_delete(slug: str, closure_id: int) -> Any:
    office = managed_office(slug)
    closure = owned(db.session(), Closure, closure_id, office)
    if request.form.get("confirm") != "1":  # the list's button asks first
        return render_template(
            "admin/confirm.html",
            office=office,
            heading=_("Delete the closure: %(when)s", when=closure_text(closure)),
            text=[_("The office opens on these days again: residents can book them.")],
            hidden={},
            button=_("Delete the closure"),
            button_class="danger",
            back=url_for(
                "admin.closures", slug=office.slug, month=closure.first_day.strftime("%Y-%m")
            ),
        )
    with unit_of_work() as session:
        lock_office(session, office)
        closure = owned(session, Closure, closure_id, office)
        when = closure_text(closure)
        delete_closure(session, office, closure, staff(), utcnow())
    flash(_("The closure is deleted: %(when)s.", when=when), "success")
    return redirect(url_for("admin.closures", slug=office.slug))
