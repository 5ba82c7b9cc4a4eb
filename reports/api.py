"""The reports as JSON for staff programs: /api/v1/reports, with a staff token.

The token (``admin.tokens``) acts as its owner: a manager reads the offices they run,
an administrator every office, a clerk nothing. Errors have the booking API's shape
(``booking.api.ApiError``), and the document at /api/v1/openapi.json describes both.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, select
from werkzeug.datastructures import WWWAuthenticate

from admin.access import can_manage, offices_of
from admin.tokens import resolve
from booking.api import ApiError
from booking.models import Office, Service
from booking.offices import office_by_slug, storable
from okienko.database import db, utcnow
from okienko.errorpages import json_error
from okienko.extensions import limiter
from queueing.models import Role, StaffUser

from . import live
from .catalogue import REPORTS, Entry
from .scope import Grain, Period, Scope
from .table import Column, Report

bp = Blueprint("reports_api", __name__, url_prefix="/api/v1/reports")
limiter.limit(lambda: current_app.config["API_RATE_LIMIT"])(bp)

GRAINS: tuple[Grain, ...] = ("day", "week", "month")
# As the report pages have them (``reports.forms``): any history, and far from the ends
# of the calendar, where turning local days into UTC instants overflows.
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2100, 12, 31)
MAX_YEARS = 3
DAY_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
REALM = "okienko"


class Unauthorized(ApiError):
    """401 with the challenge of RFC 6750: ``error`` only when a token was sent."""

    def __init__(self, *, token_sent: bool) -> None:
        super().__init__(
            401,
            "unauthorized",
            _l("Send a valid staff token: Authorization: Bearer followed by the token."),
        )
        params: dict[str, str | None] = {"realm": REALM}
        if token_sent:
            params["error"] = "invalid_token"
        self.challenge = WWWAuthenticate("bearer", params)


@bp.after_request
def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"  # figures of the offices, for staff only
    return response


@bp.errorhandler(ApiError)
def _api_error(exc: ApiError) -> tuple[Response, int]:
    response, status = json_error(exc.status, exc.error, exc.message, **exc.extra)
    if isinstance(exc, Unauthorized):
        response.www_authenticate = exc.challenge
    return response, status


def token_owner() -> StaffUser:
    """The staff member whose token came with the request, if they may read reports."""
    sent = request.authorization
    if sent is None or sent.type != "bearer" or not sent.token:
        raise Unauthorized(token_sent=False)  # no token, or another scheme's credentials
    owner = resolve(db.session(), sent.token, utcnow())
    if owner is None:
        raise Unauthorized(token_sent=True)
    if not owner.at_least(Role.MANAGER):
        raise ApiError(403, "forbidden", _l("Reports are for office managers and administrators."))
    return owner


def report_entry(name: str) -> Entry:
    entry = REPORTS.get(name)
    if entry is None:
        raise ApiError(404, "unknown_report", _l("There is no such report."))
    return entry


def offices_asked(owner: StaffUser) -> list[Office]:
    """``office``: one office's slug, or ``all`` (the default) for every office the owner runs."""
    slug = request.args.get("office", "all")
    if slug == "all":
        offices = offices_of(db.session(), owner)
        if not offices:
            raise ApiError(403, "forbidden", _l("You run no office yet."))
        return offices
    office = office_by_slug(db.session(), slug)
    if office is None:
        raise ApiError(404, "unknown_office", _l("There is no such office."), field="office")
    if not can_manage(owner, office):
        raise ApiError(403, "forbidden", _l("This office is not one you run."))
    return [office]


def day_asked(name: str) -> date:
    text = request.args.get(name, "")
    try:
        day = date.fromisoformat(text) if DAY_RE.fullmatch(text) else None
    except ValueError:
        day = None
    if day is None:
        raise ApiError(400, "invalid_parameter", _l("Dates must look like 2026-12-31."), field=name)
    if not FIRST_DAY <= day <= LAST_DAY:
        raise ApiError(400, "invalid_parameter", _l("Give a date from 2000 to 2100."), field=name)
    return day


def years_after(day: date, years: int) -> date:
    """The same day ``years`` on; 29 February's is 1 March."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28) + timedelta(days=1)


def period_asked() -> Period:
    """``first``, ``last`` and ``grain``, checked.

    The API's own parser for now; the report pages (``reports.forms``) read the same
    three, and the two may share one later.
    """
    first, last = day_asked("first"), day_asked("last")
    grain = request.args.get("grain", "day")
    if grain not in GRAINS:
        raise ApiError(
            400, "invalid_parameter", _l("The grain must be day, week or month."), field="grain"
        )
    if last < first or last >= years_after(first, MAX_YEARS):
        raise ApiError(
            400,
            "invalid_range",
            _l("The last day must not be before the first, and a report spans at most 3 years."),
        )
    return Period(first, last, grain)


def service_asked(offices: list[Office]) -> str | None:
    """``service``: a service's key, offered (now or before) by one of the offices."""
    key = request.args.get("service") or None
    if key is None:
        return None
    offered = exists().where(Service.office_id.in_([o.id for o in offices]), Service.key == key)
    if not storable(key) or not db.session.scalar(select(offered)):
        raise ApiError(
            404, "unknown_service", _l("No office in the report has this service."), field="service"
        )
    return key


def value_json(value: Any, column: Column) -> Any:
    """A figure as JSON has it: dates in ISO, numbers as numbers (never a decimal's text)."""
    if value is None:
        return None
    if column.kind == "date":
        return value.isoformat() if isinstance(value, date) else str(value)
    if column.kind in ("int", "hour", "weekday"):
        return int(value)
    if column.kind in ("share", "minutes", "number") or isinstance(value, Decimal):
        return float(value)
    return str(value)


def tables_json(report: Report) -> list[dict[str, Any]]:
    """Each table with its columns, and its rows of JSON values."""
    return [
        {
            "key": table.key,
            "title": str(table.title),
            "columns": [
                {"key": c.key, "label": str(c.label), "kind": c.kind} for c in table.columns
            ],
            "rows": [
                {c.key: value_json(row.get(c.key), c) for c in table.columns} for row in table.rows
            ],
        }
        for table in report.tables
    ]


def report_json(
    report: Report, offices: list[Office], period: Period, service: str | None
) -> dict[str, Any]:
    return {
        "report": report.name,
        "title": str(report.title),
        "offices": [o.slug for o in offices],
        "first": period.first.isoformat(),
        "last": period.last.isoformat(),
        "grain": period.grain,
        "service": service,
        "tables": tables_json(report),
    }


@bp.get("")
def reports() -> Response:
    token_owner()
    return jsonify([{"name": e.name, "title": str(e.title)} for e in REPORTS.values()])


@bp.get("/today")
def today() -> Response:
    """Today, live (``reports.live``): of one office, named by ``office``."""
    owner = token_owner()
    if request.args.get("office", "all") == "all":
        raise ApiError(
            400,
            "invalid_parameter",
            _l("Give one office's slug: the live report is of one office's floor."),
            field="office",
        )
    (office,) = offices_asked(owner)
    now = utcnow()
    built = live.today(db.session(), office, now, str(get_locale()))
    return jsonify(
        {
            "report": built.name,
            "title": str(built.title),
            "office": office.slug,
            "at": now.isoformat().replace("+00:00", "Z"),
            "tables": tables_json(built),
        }
    )


@bp.get("/<name>")
def report(name: str) -> Response:
    owner = token_owner()
    entry = report_entry(name)
    offices = offices_asked(owner)
    period = period_asked()
    service = service_asked(offices)
    scope = Scope(tuple(o.id for o in offices), service)
    built = entry.build(db.session(), scope, period, locale=str(get_locale()), now=utcnow())
    return jsonify(report_json(built, offices, period, service))
