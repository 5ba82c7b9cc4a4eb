"""The clerks' switch for walk-in capacity: keep a service's tickets coming today."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import HiddenField
from wtforms.validators import AnyOf

from booking.offices import service_by_key
from okienko.database import db, utcnow
from okienko.transaction import unit_of_work

from .access import staff_required
from .capacity import keep_issuing, kept_issuing, runs_past_closing
from .closing import closing_time

bp = Blueprint("walk_ins", __name__, url_prefix="/counter/walk-ins")


class SwitchForm(FlaskForm):
    keep = HiddenField(validators=[AnyOf(["1", "0"])])


@bp.get("/")
@staff_required
def page() -> Any:
    office = current_user.office
    now = utcnow()
    session = db.session()
    services = [
        {
            "service": s,
            "past_closing": runs_past_closing(session, s, now),
            "kept": kept_issuing(session, s, now),
        }
        for s in office.services
        if s.walk_in
    ]
    return render_template(
        "queueing/walk_ins.html",
        office=office,
        services=services,
        closes=closing_time(office, now),
        form=SwitchForm(),
    )


@bp.post("/<key>")
@staff_required
def switch(key: str) -> Any:
    office = current_user.office
    form = SwitchForm()
    if not form.validate_on_submit():
        abort(400)
    with unit_of_work() as session:
        service = service_by_key(session, office, key) or abort(404)
        keep_issuing(session, service, form.keep.data == "1", current_user.id, utcnow())
        name = service.name(str(get_locale()))
    flash(
        _("%(service)s: the kiosk keeps issuing tickets today.", service=name)
        if form.keep.data == "1"
        else _(
            "%(service)s: the kiosk stops issuing when the wait runs past closing.", service=name
        ),
        "success",
    )
    return redirect(url_for(".page"))
