"""The administration's start page and an office's overview and history."""

from __future__ import annotations

from typing import Any

from flask import render_template, request
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from booking.models import Booking, BookingStatus
from okienko.database import db, utcnow
from queueing.access import row_id
from queueing.models import Role

from ..access import admin_required, managed_office, offices_of, staff
from ..history import history_page, shown
from .blueprint import bp, section

section("admin.office", _l("Overview"), 0)
section("admin.office_history", _l("History"), 100)


@bp.get("/")
@admin_required()
def home() -> Any:
    offices = offices_of(db.session(), staff())
    return render_template("admin/home.html", offices=offices)


@bp.get("/o/<slug>/")
@admin_required()
def office(slug: str) -> Any:
    office = managed_office(slug)
    now = utcnow()
    upcoming = db.session.scalar(
        select(func.count())
        .select_from(Booking)
        .where(
            Booking.office_id == office.id,
            # Awaiting its confirmation by mail, a booking holds its time too.
            Booking.status.in_((BookingStatus.BOOKED, BookingStatus.PENDING)),
            Booking.starts_at >= now,
        )
    )
    return render_template("admin/office.html", office=office, upcoming=upcoming)


@bp.get("/o/<slug>/history")
@admin_required()
def office_history(slug: str) -> Any:
    office = managed_office(slug)
    page = history_page(db.session(), office.id, row_id(request.args.get("before", "")))
    entries = shown(db.session(), page, office)
    return render_template("admin/history.html", office=office, page=page, entries=entries)


@bp.get("/history")
@admin_required(Role.ADMINISTRATOR)
def history() -> Any:
    page = history_page(db.session(), None, row_id(request.args.get("before", "")))
    entries = shown(db.session(), page, None)
    return render_template("admin/history.html", office=None, page=page, entries=entries)
