"""The report's form, sent by GET: which offices, which dates, how finely, which service.

A period is a day, an ISO week, a month or a year around the date given first, or any
range of at most three years. Left out, it is this month on the clocks of the office
chosen (the first of them for "all"): the defaults come from ``now``, never the server's
date.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import MultiDict
from wtforms import Form, SelectField, StringField

# WTForms 3.2's choice type; types-WTForms does not list it yet.
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]
from wtforms.validators import ValidationError

from admin.forms import RefusesUnstorable, strip
from booking.models import Office
from okienko.i18n import localized

from .scope import Grain, Period, Scope

ALL = "all"
PERIODS = ("day", "week", "month", "year", "range")
# Dates a report can be about: wide enough for any history, narrow enough that a week or
# year around them stays within the calendar.
EARLIEST, LATEST = date(2000, 1, 1), date(2100, 12, 31)
MAX_YEARS = 3


@dataclass(frozen=True)
class Selection:
    """What the form asked for, checked: the offices by id, the dates, the service."""

    office: str  # a slug or "all", as in the URL
    offices: tuple[Office, ...]
    kind: str  # day, week, month, year or range
    period: Period
    service_key: str | None
    grain: str  # as asked: "" lets the period choose (``default_grain``)

    @property
    def scope(self) -> Scope:
        return Scope(tuple(o.id for o in self.offices), self.service_key)


def local_today(office: Office | None, now: datetime) -> date:
    zone = ZoneInfo(office.timezone) if office is not None else None
    return now.astimezone(zone).date()


def bounds(kind: str, first: date, last: date | None = None) -> tuple[date, date]:
    """The first and last day of the day, ISO week, month or year that holds ``first``
    (or the range ``first``..``last``)."""
    if kind == "day":
        return first, first
    if kind == "week":
        monday = first - timedelta(days=first.weekday())
        return monday, monday + timedelta(days=6)
    if kind == "month":
        days = calendar.monthrange(first.year, first.month)[1]
        return first.replace(day=1), first.replace(day=days)
    if kind == "year":
        return date(first.year, 1, 1), date(first.year, 12, 31)
    return first, last if last is not None else first


def shifted(kind: str, first: date, step: int) -> date:
    """The first day of the period ``step`` periods after the one starting on ``first``."""
    if kind == "week":
        return first + timedelta(weeks=step)
    if kind == "month":
        months = first.year * 12 + first.month - 1 + step
        return date(months // 12, months % 12 + 1, 1)
    if kind == "year":
        return date(first.year + step, 1, 1)
    return first + timedelta(days=step)


def default_grain(first: date, last: date) -> Grain:
    """Days for up to two months, weeks for up to half a year, months beyond."""
    days = (last - first).days + 1
    if days <= 62:
        return "day"
    return "week" if days <= 183 else "month"


def too_long(first: date, last: date) -> bool:
    """More than ``MAX_YEARS`` years: ``last`` on or after the same day three years on."""
    try:
        limit = first.replace(year=first.year + MAX_YEARS)
    except ValueError:  # 29 February
        limit = first.replace(year=first.year + MAX_YEARS, day=28) + timedelta(days=1)
    return last >= limit


def _parse(field: StringField) -> date | None:
    """The field's date, or None if it was left empty; refused when it is not a date."""
    text = (field.data or "").strip()
    if not text:
        return None
    try:
        value = date.fromisoformat(text)
    except ValueError:
        raise ValidationError(_l("Give a date as YYYY-MM-DD, such as 2026-11-25.")) from None
    if not EARLIEST <= value <= LATEST:
        raise ValidationError(_l("Give a date from 2000 to 2100."))
    return value


class ReportForm(Form):
    """No CSRF token: it only reads. Built with the offices the person may see."""

    class Meta(RefusesUnstorable):
        pass

    office = SelectField(_l("Office"), validate_choice=False)
    period = SelectField(
        _l("Period"),
        choices=[
            SelectChoice("day", _l("A day")),
            SelectChoice("week", _l("A week")),
            SelectChoice("month", _l("A month")),
            SelectChoice("year", _l("A year")),
            SelectChoice("range", _l("From – to")),
        ],
        default="month",
        validate_choice=False,
    )
    first = StringField(
        _l("Date or first day"),
        filters=[strip],
        description=_l("For a day, week, month or year: any day in it."),
    )
    last = StringField(_l("Last day"), filters=[strip], description=_l("Only for “From – to”."))
    grain = SelectField(
        _l("Figures by"),
        choices=[
            SelectChoice("", _l("Chosen for the period")),
            SelectChoice("day", _l("Day")),
            SelectChoice("week", _l("Week")),
            SelectChoice("month", _l("Month")),
        ],
        default="",
        validate_choice=False,
    )
    service = SelectField(_l("Service"), default="", validate_choice=False)

    def __init__(
        self,
        args: MultiDict[str, str],
        *,
        offices: Sequence[Office],
        locale: str,
        now: datetime,
    ) -> None:
        super().__init__(args)
        self.offices = list(offices)
        self.now = now
        self.office.choices = [SelectChoice(ALL, _l("All my offices"))] + [
            SelectChoice(o.slug, o.name_in(locale)) for o in self.offices
        ]
        if not self.office.data:
            self.office.data = self.offices[0].slug if len(self.offices) == 1 else ALL
        self.service_names = self._services(locale)
        self.service.choices = [
            SelectChoice("", _l("All services")),
            *(SelectChoice(key, name) for key, name in self.service_names.items()),
        ]
        self.chosen: Selection | None = None

    def chosen_offices(self) -> list[Office]:
        if self.office.data == ALL:
            return self.offices
        return [o for o in self.offices if o.slug == self.office.data]

    def _services(self, locale: str) -> dict[str, str]:
        """The names of the chosen offices' services (all offices' if the office is wrong) by
        key, in alphabetical order."""
        names: dict[str, str] = {}
        for office in self.chosen_offices() or self.offices:
            for service in office.services:
                names.setdefault(service.key, localized(service.names, locale) or service.key)
        return dict(sorted(names.items(), key=lambda item: item[1].casefold()))

    def validate_office(self, field: SelectField) -> None:
        if not self.chosen_offices():
            raise ValidationError(_l("Choose one of your offices."))

    def validate_period(self, field: SelectField) -> None:
        if field.data not in PERIODS:
            raise ValidationError(_l("Choose a day, a week, a month, a year or a range."))

    def validate_grain(self, field: SelectField) -> None:
        if field.data not in ("", "day", "week", "month"):
            raise ValidationError(_l("Choose days, weeks or months."))

    def validate_service(self, field: SelectField) -> None:
        if field.data and field.data not in self.service_names:
            raise ValidationError(_l("The chosen offices do not offer this service."))

    def validate_first(self, field: StringField) -> None:
        if _parse(field) is None and self.period.data == "range":
            raise ValidationError(_l("Give the first day of the range."))

    def validate_last(self, field: StringField) -> None:
        if self.period.data != "range":
            return  # the period around the first day: the last is worked out
        last = _parse(field)
        if last is None:
            raise ValidationError(_l("Give the last day of the range."))
        try:
            first = _parse(self.first)
        except ValidationError:
            return  # said at the first day
        if first is None:
            return
        if last < first:
            raise ValidationError(_l("The last day must not come before the first."))
        if too_long(first, last):
            raise ValidationError(_l("A report covers at most three years."))

    def validate(self, extra_validators: Any = None) -> bool:
        if not super().validate(extra_validators):
            return False
        offices = tuple(self.chosen_offices())
        kind = self.period.data or "month"
        first = _parse(self.first) or local_today(offices[0], self.now)
        start, end = bounds(kind, first, _parse(self.last) if kind == "range" else None)
        grain = cast(Grain, self.grain.data or default_grain(start, end))
        # Shown back as the period covered: a month asked by any of its days reads 1..30.
        self.first.data, self.last.data = start.isoformat(), end.isoformat()
        self.chosen = Selection(
            office=self.office.data or ALL,
            offices=offices,
            kind=kind,
            period=Period(start, end, grain),
            service_key=self.service.data or None,
            grain=self.grain.data or "",
        )
        return True
