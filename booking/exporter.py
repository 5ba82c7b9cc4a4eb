"""One office as an office file (TOML): the inverse of ``booking/importer.py``.

Every key the importer reads is written, so importing the file back gives the same
office, and exporting that again gives the same text. The office's departments go
into a directory of their own, named after the office.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time
from typing import Any, TypeVar

import tomli_w

from okienko.i18n import LANGUAGES

from .importer import NUMBERS, WEEKDAYS
from .models import (
    AdmissionPolicy,
    AdmissionQuestion,
    Closure,
    Counter,
    Department,
    Office,
    OpeningHours,
    Service,
)
from .slots import END_OF_DAY

T = TypeVar("T")

HEADER = (
    "# Office file exported from Okienko. Import it back from the office's administration\n"
    "# (Import and export), or with `flask offices import FILE`. Texts are tables of pl/cs/en.\n\n"
)
DAY_NAMES = {number: name for name, number in WEEKDAYS.items()}


def _hhmm(value: time) -> str:
    return "24:00" if value == END_OF_DAY else value.strftime("%H:%M")


def _texts(texts: Mapping[str, T] | None) -> dict[str, T]:
    """A per-language table in the order pl, cs, en, leaving out empty texts."""
    texts = texts or {}
    return {lang: texts[lang] for lang in LANGUAGES if texts.get(lang)}


def _without_none(entry: dict[str, Any]) -> dict[str, Any]:
    """TOML has no null: a key the office leaves unset is left out."""
    return {key: value for key, value in entry.items() if value is not None}


def _office_fields(office: Office) -> dict[str, Any]:
    dpo = _without_none({"email": office.dpo_email, "address": office.dpo_address})
    entry: dict[str, Any] = {
        "slug": office.slug,
        "name": office.name,
        "names": _texts(office.names) or None,
        "address": office.address,
        "timezone": office.timezone,
        "country": office.country,
        "subdivision": office.subdivision,
        "public_holidays": office.public_holidays,
        "bot_challenge": office.bot_challenge or None,  # [altcha] written only when on
        "confirm_by_mail": office.confirm_by_mail or None,  # [confirm] written only when on
        "language": office.language,
        "phone": office.phone,
        "email": office.email,
        "website": office.website,
        "postal_address": office.postal_address,
        "dpo": dpo or None,
        "drop_box": _texts(office.drop_box) or None,
        **{key: getattr(office, key) for key in NUMBERS},
        "notices": _texts(office.notices) or None,
        "reminder_time": _hhmm(office.reminder_time),
        "retention_days": office.retention_days,
    }
    if office.departments:
        entry["directory"] = office.slug
    return _without_none(entry)


def _hours_order(row: OpeningHours) -> tuple[Any, ...]:
    """Always-valid hours first, then by the dates they are valid, then by time and day."""
    return (
        row.valid_from is not None or row.valid_to is not None,
        row.valid_from or date.min,
        row.valid_to or date.max,
        row.opens,
        row.closes,
        row.weekday,
    )


def _hours(rows: list[OpeningHours]) -> list[dict[str, Any]]:
    """Intervals with the same times and validity, one entry listing their weekdays."""
    groups: dict[tuple[Any, ...], list[int]] = {}
    for row in sorted(rows, key=_hours_order):
        groups.setdefault((row.valid_from, row.valid_to, row.opens, row.closes), []).append(
            row.weekday
        )
    return [
        _without_none(
            {
                "days": [DAY_NAMES[day] for day in days],
                "open": _hhmm(opens),
                "close": _hhmm(closes),
                "valid_from": valid_from,
                "valid_to": valid_to,
            }
        )
        for (valid_from, valid_to, opens, closes), days in groups.items()
    ]


def _closure(closure: Closure) -> dict[str, Any]:
    """Whole days as dates; part of each day as local date-times (``from`` with the
    time it closes, ``to`` with the time it reopens), as the importer reads them."""
    first: date | datetime = closure.first_day
    last: date | datetime = closure.last_day
    if closure.starts is not None and closure.ends is not None:
        first = datetime.combine(closure.first_day, closure.starts)
        last = datetime.combine(closure.last_day, closure.ends)
    return {"from": first, "to": last, "reason": closure.reason}


def _closures(rows: list[Closure]) -> list[dict[str, Any]]:
    ordered = sorted(
        rows, key=lambda c: (c.first_day, c.last_day, c.starts or time.min, c.ends or time.min)
    )
    return [_closure(c) for c in ordered]


def _department(department: Department) -> dict[str, Any]:
    phones = [
        _without_none({"number": phone["number"], "topic": _texts(phone.get("topics")) or None})
        for phone in department.phones or []
    ]
    return _without_none(
        {
            "key": department.key,
            "kind": department.kind,
            "name": _texts(department.names),
            "email": department.email,
            "address": department.address,
            "phones": phones or None,
        }
    )


def _question(question: AdmissionQuestion) -> dict[str, Any]:
    return {
        "key": question.key,
        "text": _texts(question.texts),
        "refuse_on": "yes" if question.refuse_on else "no",
    }


def _admission(policy: AdmissionPolicy, questions: list[AdmissionQuestion]) -> dict[str, Any]:
    return _without_none(
        {
            "enabled": policy.enabled,
            "from": policy.first_day,
            "to": policy.last_day,
            "link_hours_before": policy.link_hours_before,
            "rebook_after_days": policy.rebook_after_days,
            "notices": _texts(policy.notices),
            "questions": [_question(q) for q in questions] or None,
        }
    )


def _service(service: Service) -> dict[str, Any]:
    return _without_none(
        {
            "key": service.key,
            "prefix": service.prefix,
            "duration": service.duration_minutes,
            "name": _texts(service.names),
            "description": _texts(service.descriptions) or None,
            "documents": _texts(service.documents) or None,
            "online": service.bookable_online,
            "walk_in": service.walk_in,
            "walk_in_share": service.walk_in_share,  # [share] None: the office's
            "department": service.department.key if service.department else None,
        }
    )


def _counter(counter: Counter) -> dict[str, Any]:
    served = sorted(counter.services, key=lambda s: (s.position, s.key))
    return {"name": counter.name, "services": [s.key for s in served]}


def office_data(office: Office) -> dict[str, Any]:
    """The office as parsed TOML, ready for ``import_offices``."""
    entry = _office_fields(office)
    if office.admission is not None:
        entry["admission"] = _admission(office.admission, list(office.questions))
    # Lists the importer defaults to empty are left out when empty.
    lists = {
        "hours": _hours(list(office.hours)),
        "closures": _closures(list(office.closures)),
        "services": [_service(s) for s in office.services],
        # A retired counter is only kept for the history that names it.
        "counters": [_counter(c) for c in office.counters if c.retired_at is None],
    }
    entry.update({key: value for key, value in lists.items() if value})
    data: dict[str, Any] = {"office": [entry]}
    if office.departments:
        data["directory"] = {
            office.slug: {"departments": [_department(d) for d in office.departments]}
        }
    return data


def export_office(office: Office) -> str:
    """The office file's text."""
    return HEADER + tomli_w.dumps(office_data(office))
