"""Showing UTC instants as the office's local time, in the reader's language."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime, format_time
from flask_babel import get_locale

from .models import Office


def _locale() -> str:
    return str(get_locale() or "pl")


def local_datetime(instant: datetime, office: Office, fmt: str = "full") -> str:
    """E.g. 'środa, 2 grudnia 2026 09:30' for a Polish reader of a Polish office."""
    tz = ZoneInfo(office.timezone)
    if fmt != "full":
        return format_datetime(instant, fmt, tzinfo=tz, locale=_locale())
    local = instant.astimezone(tz)
    day = format_date(local.date(), "full", locale=_locale())
    return f"{day} {format_time(local, 'HH:mm', locale=_locale())}"


def local_time(instant: datetime, office: Office) -> str:
    return format_time(instant, "HH:mm", tzinfo=ZoneInfo(office.timezone), locale=_locale())


def local_date(day: date, fmt: str = "full") -> str:
    return format_date(day, fmt, locale=_locale())


def month_name(day: date) -> str:
    return format_date(day, "LLLL y", locale=_locale())


def local_day(instant: datetime, office: Office) -> date:
    return instant.astimezone(ZoneInfo(office.timezone)).date()
