"""Today, live: the floor now, updated from its event stream.

The page subscribes to the office's floor events, the stream the lobby display and the
counter pages get, here behind the manager's login; on each event it fetches the figures
again as JSON and redraws them in place.
"""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_time
from flask import Response, jsonify, render_template, send_file
from flask_babel import get_locale
from flask_babel import gettext as _

from admin.access import admin_required, managed_office
from booking.models import Office
from okienko.database import db, utcnow
from queueing.display import event_stream
from queueing.models import Role

from .. import live
from ..export import report_csv, report_xlsx
from ..table import Report
from .blueprint import bp
from .pages import FILE_TYPES, ascii_name, chart_data, figure


def as_json(report: Report) -> dict[str, Any]:
    """The report's figures, each table's cells as the page shows them, and its chart."""
    return {
        "name": report.name,
        "title": str(report.title),
        "tables": [
            {
                "key": table.key,
                "title": str(table.title),
                "columns": [
                    {"key": c.key, "label": str(c.label), "kind": c.kind} for c in table.columns
                ],
                "rows": table.rows,
                "cells": [[figure(row[c.key], c) for c in table.columns] for row in table.rows],
                "chart": chart_data(table, "day"),
            }
            for table in report.tables
        ],
    }


def as_of(office: Office, now: datetime, locale: str) -> str:
    """The moment of the figures on the office's clock, to the second."""
    return format_time(now.astimezone(ZoneInfo(office.timezone)), "HH:mm:ss", locale=locale)


def figures_now(office: Office) -> dict[str, Any]:
    locale = str(get_locale())
    now = utcnow()
    report = live.today(db.session(), office, now, locale)
    return as_json(report) | {"updated": as_of(office, now, locale)}


@bp.get("/o/<slug>/today")
@admin_required(Role.MANAGER)
def today(slug: str) -> str:
    office = managed_office(slug)
    return render_template("reports/today.html", office=office, figures=figures_now(office))


@bp.get("/o/<slug>/today.json")
@admin_required(Role.MANAGER)
def today_figures(slug: str) -> Response:
    """The figures now, fetched by the page on each floor event."""
    response = jsonify(figures_now(managed_office(slug)))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/o/<slug>/today.<any(csv, xlsx):extension>")
@admin_required(Role.MANAGER)
def today_download(slug: str, extension: str) -> Response:
    """The figures now as a CSV or XLSX file, as the other reports download."""
    office = managed_office(slug)
    locale, now = str(get_locale()), utcnow()
    report = live.today(db.session(), office, now, locale)
    local = now.astimezone(ZoneInfo(office.timezone))
    heading = [
        (_("Office"), office.name_in(locale)),
        (_("Figures as of"), local.strftime("%Y-%m-%d %H:%M:%S")),
    ]
    render = report_csv if extension == "csv" else report_xlsx
    response = send_file(
        io.BytesIO(render(report, heading, locale=locale)),
        mimetype=FILE_TYPES[extension],
        as_attachment=True,
        download_name=f"today_{ascii_name(office.slug)}_{local:%Y-%m-%d_%H%M}.{extension}",
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/o/<slug>/today/stream")
@admin_required(Role.MANAGER)
def today_stream(slug: str) -> Response:
    """The office's floor events (Server-Sent Events), for the manager's open page."""
    return event_stream(managed_office(slug).id)
