"""The office's counters: the list with who sits where, a new one, one edited, moved,
released or removed (with the bookings it held moved or cancelled first)."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from wtforms import SelectMultipleField, StringField

# WTForms 3.2's choice type; types-WTForms does not list it yet.
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]
from wtforms.validators import DataRequired, Length

from booking.models import Booking, BookingStatus, Counter, Office, Service
from okienko.database import db, utcnow
from okienko.transaction import unit_of_work
from queueing.models import StaffUser

from ..access import admin_required, managed_office, owned, staff
from ..changes import Decisions, NeedsDecision, affected_page, change_office, lock_office, settle
from ..counters import (
    CounterRefused,
    Removal,
    create_counter,
    finish_removal,
    has_history,
    in_service,
    move_counter,
    release_seat,
    seated_clerk,
    take_everything_off,
    update_counter,
)
from ..forms import AdminForm, strip
from .blueprint import bp, section

section("admin.counters", _l("Counters"), 30)


class CounterForm(AdminForm):
    name = StringField(
        _l("Counter name"),
        validators=[
            DataRequired(_l("Give the counter a name.")),
            Length(max=100, message=_l("Use at most %(max)d characters.")),
        ],
        filters=[strip],
        description=_l("As the display announces it, such as “Counter 3”."),
    )
    services = SelectMultipleField(_l("Services it serves"), coerce=int)

    def __init__(self, office: Office, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        locale = str(get_locale())
        self.services.choices = [SelectChoice(s.id, s.name(locale)) for s in office.services]


def chosen_services(session: Session, office: Office, form: CounterForm) -> list[Service]:
    """The posted services, each looked up within the office."""
    return [owned(session, Service, service_id, office) for service_id in form.services.data or []]


def working_counter(office: Office, counter_id: int) -> Counter:
    """The office's counter from the URL; a retired one is gone from the manager's pages."""
    counter = owned(db.session(), Counter, counter_id, office)
    if counter.retired_at is not None:
        abort(404)
    return counter


def upcoming_by_counter(office: Office) -> dict[int, int]:
    rows = db.session.execute(
        select(Booking.counter_id, func.count())
        .where(
            Booking.office_id == office.id,
            # Awaiting its confirmation by mail, a booking holds its time too.
            Booking.status.in_((BookingStatus.BOOKED, BookingStatus.PENDING)),
            Booking.ends_at > utcnow(),
        )
        .group_by(Booking.counter_id)
    )
    return {counter_id: count for counter_id, count in rows}


@bp.get("/o/<slug>/counters")
@admin_required()
def counters(slug: str) -> Any:
    office = managed_office(slug)
    seated = db.session.scalars(
        select(StaffUser).where(StaffUser.counter_id.in_([c.id for c in office.counters]))
    )
    return render_template(
        "admin/counters.html",
        office=office,
        counters=in_service(office),
        retired=[c for c in office.counters if c.retired_at is not None],
        clerks={clerk.counter_id: clerk for clerk in seated},
        upcoming=upcoming_by_counter(office),
    )


def edit_page(office: Office, form: CounterForm, counter: Counter | None, status: int) -> Any:
    return render_template(
        "admin/counters_edit.html", office=office, form=form, counter=counter
    ), status


@bp.route("/o/<slug>/counters/new", methods=["GET", "POST"])
@admin_required()
def counter_new(slug: str) -> Any:
    office = managed_office(slug)
    form = CounterForm(office)
    if request.method == "GET":
        return edit_page(office, form, None, 200)
    if not form.validate():
        return edit_page(office, form, None, 422)
    now = utcnow()
    try:
        with unit_of_work() as session:
            lock_office(session, office)
            services = chosen_services(session, office, form)
            create_counter(session, now, staff(), office, form.name.data or "", services)
    except CounterRefused as refused:
        form[refused.field].errors = [refused.message]
        return edit_page(office, form, None, 409)
    flash(_("The counter is added."), "success")
    return redirect(url_for("admin.counters", slug=office.slug))


@bp.route("/o/<slug>/counters/<int:counter_id>", methods=["GET", "POST"])
@admin_required()
def counter_edit(slug: str, counter_id: int) -> Any:
    office = managed_office(slug)
    counter = working_counter(office, counter_id)
    if request.method == "GET":
        data = {"name": counter.name, "services": [s.id for s in counter.services]}
        return edit_page(office, CounterForm(office, data=data), counter, 200)
    form = CounterForm(office)
    if not form.validate():
        return edit_page(office, form, counter, 422)
    now = utcnow()

    def apply(session: Session) -> None:
        services = chosen_services(session, office, form)
        update_counter(session, now, staff(), office, counter, form.name.data or "", services)

    try:
        change_office(office, apply, now)
    except CounterRefused as refused:
        form[refused.field].errors = [refused.message]
        return edit_page(office, form, counter, 409)
    except NeedsDecision as needed:
        what = _("The services taken off this counter leave these visits without a counter.")
        return affected_page(office, needed, what=what)
    flash(_("The counter is saved."), "success")
    return redirect(url_for("admin.counters", slug=office.slug))


@bp.post("/o/<slug>/counters/<int:counter_id>/delete")
@admin_required()
def counter_delete(slug: str, counter_id: int) -> Any:
    """First the question (a page), then, posted from it with ``confirm``, the removal:
    the counter serves nothing, its bookings are moved or cancelled, then it goes."""
    office = managed_office(slug)
    counter = working_counter(office, counter_id)
    if request.form.get("confirm") != "1":
        return render_template(
            "admin/counters_delete.html",
            office=office,
            counter=counter,
            clerk=seated_clerk(db.session(), counter),
            kept=has_history(db.session(), counter),
            upcoming=upcoming_by_counter(office).get(counter.id, 0),
        )
    now = utcnow()
    name = counter.name
    try:
        with unit_of_work() as session:
            lock_office(session, office)
            before = take_everything_off(session, counter)
            session.flush()
            settle(session, office, now, Decisions.from_form(request.form))
            removal = finish_removal(session, now, staff(), office, counter, before)
    except NeedsDecision as needed:
        what = _("Removing %(counter)s leaves these visits without a counter.", counter=name)
        return affected_page(office, needed, what=what)
    if removal == Removal.RETIRED:
        flash(
            _(
                "%(counter)s serves nothing from now on. It stays in the list for its history.",
                counter=name,
            ),
            "success",
        )
    else:
        flash(_("%(counter)s is removed.", counter=name), "success")
    return redirect(url_for("admin.counters", slug=office.slug))


@bp.post("/o/<slug>/counters/<int:counter_id>/release")
@admin_required()
def counter_release(slug: str, counter_id: int) -> Any:
    """Free the seat of a clerk who left without signing out; a held ticket is parked."""
    office = managed_office(slug)
    counter = working_counter(office, counter_id)
    with unit_of_work() as session:
        lock_office(session, office)
        released = release_seat(session, utcnow(), staff(), office, counter)
    if released is None:
        flash(_("Nobody sits at %(counter)s.", counter=counter.name), "success")
    else:
        clerk, parked = released
        message = _(
            "%(clerk)s no longer sits at %(counter)s.", clerk=clerk.name, counter=counter.name
        )
        if parked:
            message += " " + _("Ticket %(ticket)s was parked.", ticket=parked)
        flash(message, "success")
    return redirect(url_for("admin.counters", slug=office.slug))


@bp.post("/o/<slug>/counters/<int:counter_id>/move")
@admin_required()
def counter_move(slug: str, counter_id: int) -> Any:
    office = managed_office(slug)
    counter = working_counter(office, counter_id)
    step = {"up": -1, "down": 1}.get(request.form.get("direction", ""))
    if step is None:
        abort(400)
    with unit_of_work() as session:
        lock_office(session, office)
        move_counter(session, utcnow(), staff(), office, counter, step)
    return redirect(url_for("admin.counters", slug=office.slug, _anchor=f"counter-{counter.id}"))
