"""Browsing: the offices, their services and information notices, and the free times."""

from __future__ import annotations

from datetime import datetime

from flask import abort, current_app, render_template, request, url_for
from sqlalchemy import select

from okienko.database import db, utcnow

from ..cache import cached_first_free
from ..formatting import local_date, local_day, local_time, short_day
from ..models import Office, Service
from ..offices import service_by_key
from ..privacy import supervisory_authority
from ..times import iso
from ..versions import office_at_version
from .blueprint import bp
from .calendar import closures_between, day_starts, month_view
from .lookups import get_office, get_service_at_version


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
        retention=office.retention_days or current_app.config["RETENTION_DAYS"],
    )


def first_free_link(office: Office, service: Service, start: datetime) -> dict[str, str]:
    """The calendar's "First free time" button: to the booking form, as a time button goes."""
    return {
        "url": url_for(".book", slug=office.slug, key=service.key, start=iso(start)),
        "day": short_day(local_day(start, office)),
        "time": local_time(start, office),
    }


@bp.get("/o/<slug>")
def office(slug: str) -> str:
    office, version = office_at_version(db.session(), slug) or abort(404)
    now = utcnow()
    services = [s for s in office.services if s.bookable_online]
    next_free = {}
    for service in services:
        start = cached_first_free(db.session(), office, version, service, now)
        next_free[service.id] = local_date(local_day(start, office)) if start else None
    return render_template(
        "booking/office.html", office=office, services=services, next_free=next_free
    )


@bp.get("/o/<slug>/<key>")
def service_calendar(slug: str, key: str) -> str:
    # No ETag or 304 for pages: each carries its own CSRF token and CSP nonce. The free
    # times behind them come from the cache.
    office, service, version = get_service_at_version(slug, key)
    now = utcnow()
    view = month_view(office, service, request.args.get("month"), now, version=version)
    start = cached_first_free(db.session(), office, version, service, now)
    return render_template(
        "booking/calendar.html",
        office=office,
        service=service,
        **view,
        first_free=None if start is None else first_free_link(office, service, start),
        day_url=lambda d: url_for(".service_day", slug=slug, key=key, day=d.isoformat()),
        month_url=lambda m: url_for(".service_calendar", slug=slug, key=key, month=m),
    )


@bp.get("/o/<slug>/<key>/<day>")
def service_day(slug: str, key: str, day: str) -> str:
    office, service, version = get_service_at_version(slug, key)
    chosen, starts = day_starts(office, service, day, utcnow(), version=version)
    return render_template(
        "booking/times.html",
        office=office,
        service=service,
        day=chosen,
        starts=starts,
        closures=closures_between(office, chosen, chosen),
        time_url=lambda s: url_for(".book", slug=slug, key=key, start=iso(s)),
        back_url=url_for(".service_calendar", slug=slug, key=key, month=chosen.strftime("%Y-%m")),
    )


@bp.get("/o/<slug>/<key>/remote")
def remote(slug: str, key: str) -> str:
    """How to handle a service without coming in: linked from the kiosk after a refusal.

    Any service of the office, bookable online or not: the kiosk links each of them.
    """
    office = get_office(slug)
    service = service_by_key(db.session(), office, key) or abort(404)
    return render_template("booking/remote.html", office=office, service=service)
