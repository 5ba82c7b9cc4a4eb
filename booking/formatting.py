"""Showing UTC instants as the office's local time, in the reader's language."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import phonenumbers
from babel.dates import (
    format_date,
    format_datetime,
    format_skeleton,
    format_time,
    get_timezone_name,
)
from flask_babel import get_locale

from okienko.i18n import date_locale, localized

from .models import Office
from .refusals import Refusal


def _locale() -> str:
    return str(get_locale() or "pl")


def zone_if_repeated(local: datetime) -> str:
    """The zone in the reader's language for a wall-clock time that happens twice (the
    night the clocks go back, 02:00-02:59 in Central Europe), '' for every other time.

    Babel's short name from CLDR: ' CEST' then ' CET' in Polish, ' SELČ' then ' SEČ' in
    Czech; English has no abbreviation for Central European time there, so the offset:
    ' +0200' then ' +0100'. The reader's own locale, not ``date_locale``: zone names stay
    as English readers have always seen them (British data would say ' CEST').
    """
    if local.replace(fold=0).utcoffset() == local.replace(fold=1).utcoffset():
        return ""
    return f" {get_timezone_name(local, 'short', locale=_locale())}"


def local_datetime(instant: datetime, office: Office, fmt: str = "full") -> str:
    """E.g. 'środa, 2 grudnia 2026 09:30' for a Polish reader of a Polish office."""
    tz = ZoneInfo(office.timezone)
    if fmt != "full":
        return format_datetime(instant, fmt, tzinfo=tz, locale=date_locale())
    local = instant.astimezone(tz)
    day = format_date(local.date(), "full", locale=date_locale())
    return f"{day} {format_time(local, 'HH:mm', locale=date_locale())}{zone_if_repeated(local)}"


def local_time(instant: datetime, office: Office) -> str:
    """E.g. '09:30'; on the night the clocks go back '02:30 CEST', then '02:30 CET' (pl)."""
    local = instant.astimezone(ZoneInfo(office.timezone))
    return format_time(local, "HH:mm", locale=date_locale()) + zone_if_repeated(local)


def local_date(day: date, fmt: str = "full") -> str:
    """E.g. 'Monday, 30 November 2026' in English, 'poniedziałek, 30 listopada 2026' in Polish."""
    return format_date(day, fmt, locale=date_locale())


def short_day(day: date) -> str:
    """A day within the booking window, without its year: 'Wed 2 December', 'śr., 2 grudnia'."""
    return format_skeleton("MMMMEd", day, locale=date_locale())


def month_name(day: date) -> str:
    return format_date(day, "LLLL y", locale=date_locale())


def local_day(instant: datetime, office: Office) -> date:
    return instant.astimezone(ZoneInfo(office.timezone)).date()


def phone(number: str) -> str:
    """+48325325935 as '+48 32 532 59 35'; anything unparsable as it is."""
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return number
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def in_locale(texts: dict) -> object:
    """An office's text table (pl/cs/en) in the reader's language."""
    return localized(texts, _locale())


def _when(value: object, office: Office, now: datetime) -> object:
    """A time today as "09:30"; on another day with the date, so nobody comes back wrongly."""
    if not isinstance(value, datetime):
        return value
    if local_day(value, office) == local_day(now, office):
        return local_time(value, office)
    return local_datetime(value, office)


def refusal_message(exc: Refusal, office: Office, now: datetime | None = None) -> str:
    """The refusal in the reader's language, with times shown in the office's zone."""
    now = now or datetime.now(UTC)
    values = {key: _when(value, office, now) for key, value in exc.details.items()}
    text = str(exc.message)
    return text % values if values and "%(" in text else text


# Where the day page splits its times: before this local time is the morning.
NOON = 12


def day_halves(starts: list[datetime], office: Office) -> tuple[list[datetime], list[datetime]]:
    """A day's starts split at 12:00 in the office's zone: (morning, afternoon)."""
    tz = ZoneInfo(office.timezone)
    morning = [s for s in starts if s.astimezone(tz).hour < NOON]
    return morning, [s for s in starts if s.astimezone(tz).hour >= NOON]
