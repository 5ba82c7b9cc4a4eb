"""Offices from a readable TOML file, so an office is set up without touching code.

See ``booking/data/demo_offices.toml`` for the format. Importing again
updates an office in place (matched by slug): its hours and closures are
replaced, services matched by key and counters by name are updated.
"""

from __future__ import annotations

import tomllib
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import email_validator
import holidays
import phonenumbers
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from okienko.i18n import LANGUAGES

from .admission import DEFAULT_NOTICES, DEFAULT_QUESTIONS
from .models import (
    AdmissionPolicy,
    AdmissionQuestion,
    Booking,
    BookingStatus,
    Closure,
    Counter,
    Department,
    Office,
    OpeningHours,
    Service,
)
from .offices import office_by_slug
from .slots import END_OF_DAY
from .versions import touch

# Numeric office settings and their defaults.
NUMBERS = {
    "slot_minutes": 15,
    "min_notice_minutes": 120,
    "max_days_ahead": 60,
    "max_active_bookings_per_contact": 2,
    "checkin_before_minutes": 30,
    "checkin_after_minutes": 15,
    "max_calls": 3,
    "call_cooldown_seconds": 10,
}
WEEKDAYS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}


class OfficeConfigError(ValueError):
    """A configuration that cannot be loaded; the message says where and why."""


def _time(text: Any, where: str) -> time:
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


def _complete(value: Any, where: str) -> dict[str, Any]:
    """Texts a resident reads at the door or in a refusal: every language must be there."""
    texts = _texts(value, where)
    missing = [lang for lang in LANGUAGES if not texts.get(lang)]
    if missing:
        raise OfficeConfigError(f"{where}: missing the {', '.join(missing)} text")
    return texts


def _phone(text: Any, where: str) -> str:
    try:
        number = phonenumbers.parse(str(text), None)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise OfficeConfigError(f"{where}: {text!r} is not a phone number in +48 ... form")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _dpo(value: Any, where: str) -> tuple[str | None, str | None]:
    """The data protection officer's e-mail and postal address; (None, None) when not given."""
    if value is None:
        return None, None
    if not isinstance(value, dict) or not value or not set(value) <= {"email", "address"}:
        raise OfficeConfigError(f'{where}: give a table like {{ email = "...", address = "..." }}')
    email, address = value.get("email"), value.get("address")
    if email is not None:
        try:
            checked = email_validator.validate_email(str(email), check_deliverability=False)
        except email_validator.EmailNotValidError:
            raise OfficeConfigError(f"{where}: {email!r} is not an e-mail address") from None
        email = checked.normalized
    if address is not None:
        if not isinstance(address, str) or not address.strip():
            raise OfficeConfigError(f"{where}: 'address' must be a postal address")
        address = address.strip()
    for key, text, limit in (("email", email, 200), ("address", address, 300)):
        if text and len(text) > limit:
            raise OfficeConfigError(f"{where}: '{key}' is longer than {limit} characters")
    return email, address


def _apply_departments(office: Office, entries: list[dict[str, Any]]) -> dict[str, Department]:
    existing = {d.key: d for d in office.departments}
    seen: dict[str, Department] = {}
    for position, entry in enumerate(entries):
        key = entry.get("key")
        where = f"office {office.slug}, department {key or '?'}"
        if not key or key in seen:
            raise OfficeConfigError(f"{where}: needs a key unique in the directory")
        kind = entry.get("kind", "department")
        if kind not in ("department", "branch"):
            raise OfficeConfigError(f"{where}: kind is 'department' or 'branch'")
        department = existing.get(key) or Department(key=key)
        department.kind = kind
        department.position = position
        department.names = _complete(entry.get("name"), f"{where}, name")
        department.email = entry.get("email")
        department.address = entry.get("address")
        department.phones = [
            {
                "number": _phone(phone.get("number"), f"{where}, phone"),
                "topics": _complete(phone["topic"], f"{where}, phone topic")
                if "topic" in phone
                else {},
            }
            for phone in entry.get("phones", [])
        ]
        seen[key] = department
    office.departments[:] = list(seen.values())
    return seen


def apply_admission(office: Office, entry: dict[str, Any] | None) -> None:
    """The sanitary regime: off unless configured; by default Bytomskie Mieszkania's questions."""
    entry = entry or {}
    where = f"office {office.slug}, admission"
    policy = office.admission or AdmissionPolicy()
    policy.enabled = bool(entry.get("enabled", False))
    policy.first_day = _date(entry.get("from"), where)
    policy.last_day = _date(entry.get("to"), where)
    if policy.first_day and policy.last_day and policy.first_day > policy.last_day:
        raise OfficeConfigError(f"{where}: 'from' is after 'to'")
    for key, default in (("link_hours_before", 24), ("rebook_after_days", 7)):
        value = entry.get(key, default)
        if not isinstance(value, int) or value < 0:
            raise OfficeConfigError(f"{where}: '{key}' must be a whole number")
        setattr(policy, key, value)
    notices = entry.get("notices", DEFAULT_NOTICES)
    policy.notices = _texts(notices, f"{where}, notices")
    office.admission = policy
    asked = entry.get("questions") or [
        {"key": key, "text": texts, "refuse_on": "yes"} for key, texts in DEFAULT_QUESTIONS
    ]
    existing = {q.key: q for q in office.questions}
    questions = []
    for position, item in enumerate(asked):
        key = str(item.get("key", ""))
        if not key.isascii() or not key.replace("_", "").isalnum() or len(key) > 40:
            raise OfficeConfigError(f"{where}: question key {key!r} must be letters, digits or _")
        if item.get("refuse_on") not in ("yes", "no"):
            raise OfficeConfigError(f"{where}, question {key}: refuse_on is 'yes' or 'no'")
        question = existing.get(key) or AdmissionQuestion(key=key)
        question.position = position
        question.texts = _complete(item.get("text"), f"{where}, question {key}")
        question.refuse_on = item["refuse_on"] == "yes"
        questions.append(question)
    if len({q.key for q in questions}) != len(questions):
        raise OfficeConfigError(f"{where}: question keys must be unique")
    office.questions[:] = questions


def _check_office(data: dict[str, Any]) -> None:
    where = f"office {data.get('slug', '?')}"
    for key in ("slug", "name", "address", "timezone", "country"):
        if not data.get(key):
            raise OfficeConfigError(f"{where}: '{key}' is required")
    try:
        ZoneInfo(data["timezone"])
    except (ZoneInfoNotFoundError, ValueError):
        raise OfficeConfigError(f"{where}: unknown time zone {data['timezone']!r}") from None
    supported = holidays.list_supported_countries()
    country = data["country"].upper()
    if country not in supported:
        raise OfficeConfigError(f"{where}: no public holidays known for country {country!r}")
    if data.get("subdivision") and data["subdivision"] not in supported[country]:
        raise OfficeConfigError(f"{where}: {country} has no subdivision {data['subdivision']!r}")


def _check_grid(session: Session, office: Office, minutes: int) -> None:
    """The slot grid must look the same in local time all year, and never change under bookings.

    Cells are counted from the epoch in UTC; that is the local grid only when the
    grid divides an hour and the zone's offsets are whole multiples of it. And
    bookings hold cells of the old grid, which a new grid would let overlap.
    """
    where = f"office {office.slug}"
    if 60 % minutes:
        raise OfficeConfigError(f"{where}: slot_minutes must divide 60 (5, 10, 15, 20, 30, 60)")
    zone = ZoneInfo(office.timezone)
    for month in (1, 7):
        offset = datetime(date.today().year, month, 15, tzinfo=zone).utcoffset() or timedelta(0)
        if offset.total_seconds() % (minutes * 60):
            raise OfficeConfigError(f"{where}: {office.timezone} is off the {minutes}-minute grid")
    if office.id is not None and office.slot_minutes not in (None, minutes):
        booked = session.scalar(
            select(func.count(Booking.id)).where(
                Booking.office_id == office.id,
                Booking.status == BookingStatus.BOOKED,
                Booking.ends_at > datetime.now(UTC),
            )
        )
        if booked:
            raise OfficeConfigError(
                f"{where}: slot_minutes cannot change while {booked} upcoming bookings exist"
            )


def _apply_hours(office: Office, entries: list[dict[str, Any]]) -> None:
    office.hours.clear()
    for i, entry in enumerate(entries):
        where = f"office {office.slug}, hours #{i + 1}"
        opens = _time(entry.get("open"), where)
        # "24:00" closes at midnight, the end of the day: open = "00:00" is the whole day.
        closes = END_OF_DAY if entry.get("close") == "24:00" else _time(entry.get("close"), where)
        if opens >= closes:
            raise OfficeConfigError(f"{where}: opens at {opens} but closes at {closes}")
        for t in (opens, closes) if closes != END_OF_DAY else (opens,):
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


def _apply_services(
    office: Office, entries: list[dict[str, Any]], departments: dict[str, Department]
) -> dict[str, Service]:
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
        department = entry.get("department")
        if department is not None and department not in departments:
            raise OfficeConfigError(f"{where}: unknown department {department!r}")
        service.department = departments.get(department) if department else None
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
    """Create or update the offices described in ``data`` (parsed TOML); the caller commits.

    Offices of one organisation share its contact directory: ``[directory.NAME]``
    lists departments once, and each office names it with ``directory = NAME``.
    """
    directories = data.get("directory", {})
    result = []
    for entry in data.get("office", []):
        _check_office(entry)
        office = office_by_slug(session, entry["slug"])
        if office is None:
            office = Office(slug=entry["slug"])
            session.add(office)
        office.name = entry["name"]
        office.address = entry["address"]
        office.timezone = entry["timezone"]
        office.country = entry["country"].upper()
        office.subdivision = entry.get("subdivision")
        public_holidays = entry.get("public_holidays", True)
        if not isinstance(public_holidays, bool):
            raise OfficeConfigError(f"office {office.slug}: 'public_holidays' is true or false")
        office.public_holidays = public_holidays
        office.language = entry.get("language", "pl")
        office.phone = entry.get("phone")
        office.email = entry.get("email")
        office.website = entry.get("website")
        office.postal_address = entry.get("postal_address")
        office.dpo_email, office.dpo_address = _dpo(entry.get("dpo"), f"office {office.slug}, dpo")
        office.drop_box = _texts(entry.get("drop_box", {}), f"office {office.slug}, drop_box")
        for key, default in NUMBERS.items():
            value = entry.get(key, default)
            if not isinstance(value, int) or value < 0 or (key == "slot_minutes" and not value):
                raise OfficeConfigError(f"office {office.slug}: '{key}' must be a whole number")
            if key == "slot_minutes":
                _check_grid(session, office, value)
            setattr(office, key, value)
        office.notices = _texts(entry.get("notices", {}), f"office {office.slug}, notices")
        office.reminder_time = _time(
            entry.get("reminder_time", "16:00"), f"office {office.slug}, reminder_time"
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
        directory = entry.get("directory")
        if directory is not None and directory not in directories:
            raise OfficeConfigError(f"office {office.slug}: unknown directory {directory!r}")
        departments = _apply_departments(
            office, directories[directory].get("departments", []) if directory else []
        )
        apply_admission(office, entry.get("admission"))
        services = _apply_services(office, entry.get("services", []), departments)
        _apply_counters(office, entry.get("counters", []), services)
        result.append(office)
    session.flush()
    for office in result:  # hours, closures, services, counters: all may have changed
        touch(session, office.id)
    return result


def load_file(session: Session, path: Path) -> list[Office]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise OfficeConfigError(f"{path}: {exc}") from None
    return import_offices(session, data)


DEMO_FILE = Path(__file__).parent / "data" / "demo_offices.toml"
