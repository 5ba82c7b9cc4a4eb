"""Offices from a readable TOML file, so an office is set up without touching code.

See ``booking/data/demo_offices.toml`` for the format. Importing again
updates an office in place (matched by slug): its hours and closures are
replaced, services matched by key and counters by name are updated.
"""

from __future__ import annotations

import tomllib
from datetime import date, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
from sqlalchemy import select
from sqlalchemy.orm import Session

from .i18n import LANGUAGES
from .models import Closure, Counter, Office, OpeningHours, Service

WEEKDAYS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}


class OfficeConfigError(ValueError):
    """A configuration that cannot be loaded; the message says where and why."""


def _time(text: str, where: str) -> time:
    try:
        return time.fromisoformat(text)
    except (TypeError, ValueError):
        raise OfficeConfigError(f"{where}: {text!r} is not a time like 08:00") from None


def _date(text: Any, where: str) -> date | None:
    if text is None or isinstance(text, date):
        return text
    try:
        return date.fromisoformat(text)
    except (TypeError, ValueError):
        raise OfficeConfigError(f"{where}: {text!r} is not a date like 2026-12-24") from None


def _texts(value: Any, where: str) -> dict[str, Any]:
    if isinstance(value, str):
        return {"en": value}
    if not isinstance(value, dict) or not set(value) <= set(LANGUAGES):
        raise OfficeConfigError(f"{where}: give a table with keys among {', '.join(LANGUAGES)}")
    return dict(value)


def _check_office(data: dict[str, Any]) -> None:
    where = f"office {data.get('slug', '?')}"
    for key in ("slug", "name", "address", "timezone", "country"):
        if not data.get(key):
            raise OfficeConfigError(f"{where}: '{key}' is required")
    try:
        ZoneInfo(data["timezone"])
    except (ZoneInfoNotFoundError, ValueError):
        raise OfficeConfigError(f"{where}: unknown time zone {data['timezone']!r}") from None
    if data["country"].upper() not in holidays.list_supported_countries():
        raise OfficeConfigError(
            f"{where}: no public holidays known for country {data['country']!r}"
        )


def _apply_hours(office: Office, entries: list[dict[str, Any]]) -> None:
    office.hours.clear()
    for i, entry in enumerate(entries):
        where = f"office {office.slug}, hours #{i + 1}"
        opens, closes = _time(entry.get("open"), where), _time(entry.get("close"), where)
        if opens >= closes:
            raise OfficeConfigError(f"{where}: opens at {opens} but closes at {closes}")
        for t in (opens, closes):
            if (t.hour * 60 + t.minute) % office.slot_minutes or t.second:
                raise OfficeConfigError(
                    f"{where}: {t} is not on the {office.slot_minutes}-minute grid"
                )
        for day in entry.get("days", []):
            if day not in WEEKDAYS:
                raise OfficeConfigError(f"{where}: {day!r} is not one of {', '.join(WEEKDAYS)}")
            office.hours.append(
                OpeningHours(
                    weekday=WEEKDAYS[day],
                    opens=opens,
                    closes=closes,
                    valid_from=_date(entry.get("valid_from"), where),
                    valid_to=_date(entry.get("valid_to"), where),
                )
            )


def _apply_services(office: Office, entries: list[dict[str, Any]]) -> dict[str, Service]:
    existing = {s.key: s for s in office.services}
    prefixes: set[str] = set()
    for position, entry in enumerate(entries):
        where = f"office {office.slug}, service {entry.get('key', '?')}"
        key, prefix = entry.get("key"), str(entry.get("prefix", "")).upper()
        if not key or len(prefix) != 1 or not prefix.isalpha() or prefix in prefixes:
            raise OfficeConfigError(
                f"{where}: needs a key and a one-letter prefix unique in the office"
            )
        duration = entry.get("duration")
        if not isinstance(duration, int) or duration <= 0:
            raise OfficeConfigError(f"{where}: 'duration' must be a positive number of minutes")
        prefixes.add(prefix)
        service = existing.get(key) or Service(key=key)
        service.position = position
        service.prefix = prefix
        service.duration_minutes = duration
        service.names = _texts(entry.get("name"), f"{where}, name")
        service.descriptions = _texts(entry.get("description", {}), f"{where}, description")
        service.documents = _texts(entry.get("documents", {}), f"{where}, documents")
        service.bookable_online = bool(entry.get("online", True))
        service.walk_in = bool(entry.get("walk_in", True))
        if key not in existing:
            office.services.append(service)
        existing[key] = service
    return existing


def _apply_counters(
    office: Office, entries: list[dict[str, Any]], services: dict[str, Service]
) -> None:
    existing = {c.name: c for c in office.counters}
    for position, entry in enumerate(entries):
        name = entry.get("name")
        if not name:
            raise OfficeConfigError(f"office {office.slug}: every counter needs a name")
        keys = entry.get("services", "*")
        if keys == "*":
            keys = list(services)
        unknown = [k for k in keys if k not in services]
        if unknown:
            raise OfficeConfigError(
                f"office {office.slug}, counter {name}: unknown services {unknown}"
            )
        counter = existing.get(name) or Counter(name=name)
        counter.position = position
        counter.services = [services[k] for k in keys]
        if name not in existing:
            office.counters.append(counter)


def import_offices(session: Session, data: dict[str, Any]) -> list[Office]:
    """Create or update the offices described in ``data`` (parsed TOML); the caller commits."""
    result = []
    for entry in data.get("office", []):
        _check_office(entry)
        office = session.scalar(select(Office).where(Office.slug == entry["slug"]))
        if office is None:
            office = Office(slug=entry["slug"])
            session.add(office)
        office.name = entry["name"]
        office.address = entry["address"]
        office.timezone = entry["timezone"]
        office.country = entry["country"].upper()
        office.subdivision = entry.get("subdivision")
        office.language = entry.get("language", "pl")
        office.phone = entry.get("phone")
        office.email = entry.get("email")
        office.website = entry.get("website")
        office.slot_minutes = int(entry.get("slot_minutes", 15))
        office.min_notice_minutes = int(entry.get("min_notice_minutes", 120))
        office.max_days_ahead = int(entry.get("max_days_ahead", 60))
        office.max_active_bookings_per_contact = int(
            entry.get("max_active_bookings_per_contact", 2)
        )
        _apply_hours(office, entry.get("hours", []))
        office.closures.clear()
        for closure in entry.get("closures", []):
            where = f"office {office.slug}, closure"
            first = _date(closure.get("from"), where)
            office.closures.append(
                Closure(
                    first_day=first,
                    last_day=_date(closure.get("to"), where) or first,
                    reason=closure.get("reason", ""),
                )
            )
        services = _apply_services(office, entry.get("services", []))
        _apply_counters(office, entry.get("counters", []), services)
        result.append(office)
    session.flush()
    return result


def load_file(session: Session, path: Path) -> list[Office]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise OfficeConfigError(f"{path}: {exc}") from None
    return import_offices(session, data)


DEMO_FILE = Path(__file__).parent / "data" / "demo_offices.toml"
