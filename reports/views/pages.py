"""The report pages: a chart and its table per report, with CSV and XLSX downloads.

``/admin/reports/<name>?office=&period=&first=&last=&grain=&service=`` shows a report
(``reports.catalogue``) for the offices the signed-in person administers; the same query
string after ``<name>.csv`` or ``<name>.xlsx`` downloads it. The form is checked by
``reports.forms``; figures are shown in the reader's number and date format, and each
chart is drawn by ``static/js/reports.js`` from a JSON island next to its table.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from babel.dates import format_date, format_interval, format_skeleton
from flask import Response, abort, render_template, request, send_file
from flask_babel import format_decimal, format_percent, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from admin.access import admin_required, managed_office, offices_of, staff
from admin.views.blueprint import section
from booking.models import Office
from booking.offices import storable
from okienko.database import db, utcnow
from okienko.i18n import date_locale
from queueing.models import Role

from ..catalogue import REPORTS, Entry
from ..export import Heading, hour_label, report_csv, report_xlsx, weekday_name
from ..forms import ALL, ReportForm, Selection, shifted
from ..table import Column, Report, Table
from .blueprint import bp

section("reports.office", _l("Reports"), 95)

# What each report answers, on the list of reports.
ABOUT = {
    "visitors": _l(
        "How many people were served, by appointment or walking in, in person or by phone."
    ),
    "bookings": _l(
        "Bookings made, moved, cancelled and missed, refusals, and how far ahead people book."
    ),
    "services": _l("The services most asked for, their share and how it changed."),
    "waiting": _l("Waits from joining the line to the first call, by service, hour and weekday."),
    "handling": _l("How long serving takes, by service, counter and clerk."),
    "load": _l("Arrivals per hour against counters open, and the peak hours."),
}

NAMES = ", ".join(REPORTS)
NO_FIGURE = "—"
NUMERIC = ("int", "share", "minutes", "number")
LABELS = ("text", "date", "hour", "weekday")  # a first column of these names its row
FILE_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@dataclass(frozen=True)
class Shown:
    """A table as the page shows it: its cells formatted, its chart's data for the script."""

    table: Table
    cells: list[list[str]]
    chart: dict[str, Any] | None

    @property
    def row_headers(self) -> bool:
        return bool(self.table.columns) and self.table.columns[0].kind in LABELS


def locale() -> str:
    return str(get_locale())


def figure(value: Any, column: Column, grain: str | None = None) -> str:
    """A value in the reader's format; ``grain`` for a date that stands for a week or month."""
    if value is None:
        return NO_FIGURE
    kind = column.kind
    if kind == "int":
        return str(format_decimal(value))
    if kind == "share":
        return str(format_percent(value, "#,##0.0%"))
    if kind in ("minutes", "number"):
        return str(format_decimal(value, "#,##0.0"))
    if kind == "date" and isinstance(value, date):
        if grain == "month":
            return format_skeleton("yMMMM", value, locale=date_locale())
        return format_date(value, "medium", locale=date_locale())
    if kind == "hour":
        return hour_label(value)
    if kind == "weekday":
        return weekday_name(value, locale())
    return str(value)


def axis_label(value: Any, column: Column, grain: str) -> str:
    """A shorter label on the chart's axis than in the table beside it: "Nov 2", "Mon"."""
    if column.kind == "date" and isinstance(value, date):
        return format_skeleton("yMMM" if grain == "month" else "MMMd", value, locale=date_locale())
    if column.kind == "weekday" and value is not None:
        return weekday_name(value, locale(), "abbreviated")
    return figure(value, column, grain)


def chart_data(table: Table, grain: str) -> dict[str, Any] | None:
    """What ``reports.js`` draws: labels on the x axis, a data set per series.

    Shares are drawn as percentages; a gap (None) stays a gap.
    """
    if table.chart is None:
        return None
    columns = {c.key: c for c in table.columns}
    x = columns[table.chart.x]
    series = [columns[key] for key in table.chart.series]
    percent = bool(series) and series[0].kind == "share"
    minutes = bool(series) and series[0].kind == "minutes"

    def point(value: Any) -> Any:
        return None if value is None else round(value * 100, 1) if percent else value

    return {
        "type": "line" if table.chart.type == "line" else "bar",
        "stacked": table.chart.type == "stacked",
        "horizontal": x.kind == "text",  # names read across, one bar under the other
        "unit": "%" if percent else _("min") if minutes else "",
        "integer": all(c.kind == "int" for c in series),  # no ticks at 0.5 of a visitor
        "labels": [axis_label(row.get(x.key), x, grain) for row in table.rows],
        "datasets": [
            {"label": str(c.label), "data": [point(row.get(c.key)) for row in table.rows]}
            for c in series
        ],
    }


def shown(table: Table, grain: str) -> Shown:
    # A date on the chart's time axis is the first day of a bucket of the grain.
    x = table.chart.x if table.chart else None
    cells = [
        [figure(row.get(c.key), c, grain if c.key == x else None) for c in table.columns]
        for row in table.rows
    ]
    return Shown(table, cells, chart_data(table, grain))


def period_label(first: date, last: date) -> str:
    return format_interval(first, last, "yMMMd", locale=date_locale())


def offices_label(chosen: Selection) -> str:
    if chosen.office == ALL:
        return _("All my offices (%(num)d)", num=len(chosen.offices))
    return chosen.offices[0].name_in(locale())


def foreign_office(offices: list[Office]) -> bool:
    """The URL names an office that exists but that this person does not administer."""
    slug = request.args.get("office", ALL)
    if slug == ALL or any(o.slug == slug for o in offices) or not storable(slug):
        return False  # NUL and the like: the form refuses them, the database could not
    return db.session.scalar(select(Office.id).where(Office.slug == slug)) is not None


def asked() -> tuple[list[Office], ReportForm]:
    """The person's offices and the form filled from the query string, checked."""
    offices = offices_of(db.session(), staff())
    if foreign_office(offices):
        abort(403)
    form = ReportForm(request.args, offices=offices, locale=locale(), now=utcnow())
    if offices:
        form.validate()
    return offices, form


def query(chosen: Selection, **changes: Any) -> dict[str, str]:
    """The query string of the choice (with ``changes``), as links to it carry it."""
    args = {
        "office": chosen.office,
        "period": chosen.kind,
        "first": chosen.period.first.isoformat(),
        "last": chosen.period.last.isoformat(),
        "grain": chosen.grain,
        "service": chosen.service_key or "",
    }
    return {key: value for key, value in (args | changes).items() if value}


def neighbours(chosen: Selection) -> tuple[dict[str, str], dict[str, str]]:
    """The query strings of the period before and the period after."""
    first, last = chosen.period.first, chosen.period.last
    if chosen.kind == "range":
        days = timedelta(days=chosen.period.days)
        return (
            query(
                chosen, first=(first - days).isoformat(), last=(first - timedelta(1)).isoformat()
            ),
            query(chosen, first=(last + timedelta(1)).isoformat(), last=(last + days).isoformat()),
        )
    return (
        query(chosen, first=shifted(chosen.kind, first, -1).isoformat(), last=""),
        query(chosen, first=shifted(chosen.kind, first, 1).isoformat(), last=""),
    )


def heading(chosen: Selection, form: ReportForm) -> Heading:
    """What a downloaded file covers, above its tables."""
    service = form.service_names.get(chosen.service_key or "") or _("All services")
    return [
        (_("Offices"), ", ".join(o.name_in(locale()) for o in chosen.offices)),
        (_("Period"), f"{chosen.period.first.isoformat()} – {chosen.period.last.isoformat()}"),
        (_("Service"), str(service)),
    ]


def build(entry: Entry, chosen: Selection) -> Report:
    return entry.build(db.session(), chosen.scope, chosen.period, locale=locale(), now=utcnow())


def ascii_name(text: str) -> str:
    """``text`` in ASCII letters, digits and - only, for a file's name."""
    return re.sub(r"[^A-Za-z0-9-]+", "-", text).strip("-")


def file_name(name: str, chosen: Selection, extension: str) -> str:
    """``visitors_<office>_<first>_<last>.xlsx``, in ASCII letters, digits, - and _ only."""
    office = ascii_name(chosen.office) or ALL
    return f"{name}_{office}_{chosen.period.first}_{chosen.period.last}.{extension}"


@bp.get("/")
@admin_required(Role.MANAGER)
def index() -> str:
    offices = offices_of(db.session(), staff())
    return render_template(
        "reports/index.html", offices=offices, office=None, reports=REPORTS, about=ABOUT
    )


@bp.get("/o/<slug>/")
@admin_required(Role.MANAGER)
def office(slug: str) -> str:
    """The reports of one office, among its administration's pages."""
    chosen = managed_office(slug)
    return render_template(
        "reports/index.html", offices=[chosen], office=chosen, reports=REPORTS, about=ABOUT
    )


@bp.get(f"/<any({NAMES}):name>")
@admin_required(Role.MANAGER)
def report(name: str) -> tuple[str, int]:
    entry = REPORTS[name]
    offices, form = asked()
    chosen = form.chosen
    if chosen is None:  # no office to report on, or the form is wrong: said next to it
        status = 400 if offices else 200
        return render_template(
            "reports/report.html",
            entry=entry,
            form=form,
            offices=offices,
            office=None,
            reports=REPORTS,
        ), status
    built = build(entry, chosen)
    earlier, later = neighbours(chosen)
    return render_template(
        "reports/report.html",
        entry=entry,
        form=form,
        offices=offices,
        reports=REPORTS,
        numeric=NUMERIC,
        chosen=chosen,
        # One office: its administration's sections around the report.
        office=chosen.offices[0] if chosen.office != ALL else None,
        report=built,
        tables=[shown(t, chosen.period.grain) for t in built.tables],
        covered=period_label(chosen.period.first, chosen.period.last),
        covers_offices=offices_label(chosen),
        service_name=form.service_names.get(chosen.service_key or ""),
        query=query(chosen),
        earlier=earlier,
        later=later,
    ), 200


@bp.get(f"/<any({NAMES}):name>.<any(csv, xlsx):extension>")
@admin_required(Role.MANAGER)
def download(name: str, extension: str) -> Response | tuple[str, int]:
    """The report as a CSV or XLSX file (``reports.export``), for the same query string."""
    _offices, form = asked()
    chosen = form.chosen
    if chosen is None:
        said = [str(error) for errors in form.errors.values() for error in errors]
        message = said[0] if said else _("You administer no office yet.")
        return render_template("errors/error.html", status=400, message=message), 400
    built = build(REPORTS[name], chosen)
    render = report_csv if extension == "csv" else report_xlsx
    body = render(built, heading(chosen, form), locale=locale())
    response = send_file(
        io.BytesIO(body),
        mimetype=FILE_TYPES[extension],
        as_attachment=True,
        download_name=file_name(name, chosen, extension),
    )
    response.headers["Cache-Control"] = "no-store"
    return response
