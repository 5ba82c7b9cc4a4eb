"""Offices from a readable TOML file, so an office is set up without touching code.

See ``booking/data/demo_offices.toml`` for the format. Importing again
updates an office in place (matched by slug): its hours and closures are
replaced, services matched by key and counters by name are updated. A closure
of part of a day gives times with its dates: ``{from = 2026-12-24T12:00:00,
to = 2026-12-24T15:00:00}`` closes 12:00-15:00 on each day from the first to the last.
"""

from __future__ import annotations

import tomllib
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import email_validator
import holidays
import phonenumbers
from sqlalchemy.orm import Session

from okienko.i18n import LANGUAGES, REQUIRED_LANGUAGES

from .admission import DEFAULT_NOTICES, DEFAULT_QUESTIONS
from .file_values import OfficeConfigError, fits, storable_texts, tables, whole_number, words
from .limits import BOUNDS, divides_hour, upcoming_bookings, within, zone_on_grid
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
from .offices import RESERVED_KEYS, office_by_slug
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
    # [waitlist] a freed time held for the waiting list; a cancelled time kept back
    "waitlist_hold_minutes": 30,
    "rebook_delay_minutes": 0,
    # [share] Per cent of each day's counter time kept for walk-ins (``walk_in_share``).
    "walk_in_share": 0,
    # [confirm] minutes a booking waits for its confirmation by mail (``confirm_by_mail``)
    "confirm_minutes": 15,
}
WEEKDAYS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}


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
    missing = [lang for lang in REQUIRED_LANGUAGES if not texts.get(lang)]
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
    for position, entry in enumerate(tables(entries, f"office {office.slug}, departments")):
        key = entry.get("key")
        where = f"office {office.slug}, department {key or '?'}"
        if not isinstance(key, str) or not key or key in seen:
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
            for phone in tables(entry.get("phones"), f"{where}, phones")
        ]
        fits(department, where)
        seen[key] = department
    office.departments[:] = list(seen.values())
    return seen


def apply_admission(office: Office, entry: dict[str, Any] | None) -> None:
    """The sanitary regime: off unless configured; by default Bytomskie Mieszkania's questions."""
    where = f"office {office.slug}, admission"
    if entry is not None and not isinstance(entry, dict):
        raise OfficeConfigError(f"{where}: give a table")
    entry = entry or {}
    policy = office.admission or AdmissionPolicy()
    policy.enabled = bool(entry.get("enabled", False))
    policy.first_day = _date(entry.get("from"), where)
    policy.last_day = _date(entry.get("to"), where)
    if policy.first_day and policy.last_day and policy.first_day > policy.last_day:
        raise OfficeConfigError(f"{where}: 'from' is after 'to'")
    for key, default in (("link_hours_before", 24), ("rebook_after_days", 7)):
        setattr(policy, key, whole_number(entry.get(key, default), key, where))
    notices = entry.get("notices", DEFAULT_NOTICES)
    policy.notices = _texts(notices, f"{where}, notices")
    office.admission = policy
    asked = entry.get("questions") or [
        {"key": key, "text": texts, "refuse_on": "yes"} for key, texts in DEFAULT_QUESTIONS
    ]
    existing = {q.key: q for q in office.questions}
    questions = []
    for position, item in enumerate(tables(asked, f"{where}, questions")):
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
    texts = ("subdivision", "language", "phone", "email", "website", "postal_address", "directory")
    for key in ("slug", "name", "address", "timezone", "country", *texts):
        if data.get(key) is not None and not isinstance(data[key], str):
            raise OfficeConfigError(f"{where}: '{key}' must be text")
    if data.get("language", "pl") not in LANGUAGES:
        raise OfficeConfigError(f"{where}: 'language' is one of {', '.join(LANGUAGES)}")
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


def _retention(value: Any, slug: str) -> int | None:
    """Days a visit's personal data is kept; None: the installation's RETENTION_DAYS."""
    return None if value is None else whole_number(value, "retention_days", f"office {slug}")


def _check_grid(session: Session, office: Office, minutes: int) -> None:
    """The slot grid must look the same in local time all year (``booking.limits``), and
    never change under bookings: they hold cells of the old grid, which a new one would
    let overlap."""
    where = f"office {office.slug}"
    if not divides_hour(minutes):
        raise OfficeConfigError(f"{where}: slot_minutes must divide 60 (5, 10, 15, 20, 30, 60)")
    if not zone_on_grid(office.timezone, minutes):
        raise OfficeConfigError(f"{where}: {office.timezone} is off the {minutes}-minute grid")
    if office.slot_minutes not in (None, minutes):
        booked = upcoming_bookings(session, office, datetime.now(UTC))
        if booked:
            raise OfficeConfigError(
                f"{where}: slot_minutes cannot change while {booked} upcoming bookings exist"
            )


def _apply_hours(office: Office, entries: list[dict[str, Any]]) -> None:
    office.hours.clear()
    for i, entry in enumerate(tables(entries, f"office {office.slug}, hours")):
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
        for day in words(entry.get("days", []), f"{where}, days"):
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


def _day_and_time(value: Any, where: str) -> tuple[date | None, time | None]:
    """A closure's "from" or "to": a date, or a local date and time (TOML or ISO text)."""
    if isinstance(value, str) and ("T" in value or " " in value.strip()):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise OfficeConfigError(
                f"{where}: {value!r} is not a date like 2026-12-24 or 2026-12-24T12:00"
            ) from None
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            raise OfficeConfigError(f"{where}: {value} is the office's local time, without a zone")
        return value.date(), value.time()
    return _date(value, where), None


def _closure(entry: dict[str, Any], where: str) -> Closure:
    """``from``/``to`` dates close whole days; with times (2026-12-24T12:00) only that part
    of each day from the first to the last, in the office's local time."""
    first, starts = _day_and_time(entry.get("from"), where)
    last, ends = _day_and_time(entry.get("to"), where)
    if first is None:
        raise OfficeConfigError(f"{where}: 'from' is needed")
    if (starts is None) != (ends is None):
        raise OfficeConfigError(f"{where}: give times in both 'from' and 'to', or in neither")
    if starts is not None and ends is not None and starts >= ends:
        raise OfficeConfigError(f"{where}: closes at {starts} but reopens at {ends}")
    last = last or first
    if last < first:
        raise OfficeConfigError(f"{where}: ends on {last}, before it begins on {first}")
    closure = Closure(
        first_day=first,
        last_day=last,
        reason=entry.get("reason", ""),
        starts=starts,
        ends=ends,
    )
    fits(closure, where)
    return closure


def _apply_services(
    office: Office, entries: list[dict[str, Any]], departments: dict[str, Department]
) -> dict[str, Service]:
    existing = {s.key: s for s in office.services}
    prefixes: set[str] = set()
    for position, entry in enumerate(tables(entries, f"office {office.slug}, services")):
        where = f"office {office.slug}, service {entry.get('key', '?')}"
        key, prefix = entry.get("key"), str(entry.get("prefix", "")).upper()
        if not isinstance(key, str) or not key:
            raise OfficeConfigError(f"{where}: needs a key")
        if key in RESERVED_KEYS:
            raise OfficeConfigError(
                f"{where}: '{key}' is the address of another page; pick another key"
            )
        if len(prefix) != 1 or not prefix.isalpha() or prefix in prefixes:
            raise OfficeConfigError(
                f"{where}: needs a key and a one-letter prefix unique in the office"
            )
        duration = entry.get("duration")
        if not isinstance(duration, int) or isinstance(duration, bool) or duration <= 0:
            raise OfficeConfigError(f"{where}: 'duration' must be a positive number of minutes")
        if not within("duration_minutes", duration):
            longest = BOUNDS["duration_minutes"][1]
            raise OfficeConfigError(f"{where}: 'duration' must be at most {longest} minutes")
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
        # [share] The service's own share held back for walk-ins; absent: the office's.
        share = entry.get("walk_in_share")
        service.walk_in_share = (
            None if share is None else whole_number(share, "walk_in_share", where)
        )
        department = entry.get("department")
        if department is not None and (
            not isinstance(department, str) or department not in departments
        ):
            raise OfficeConfigError(f"{where}: unknown department {department!r}")
        service.department = departments.get(department) if department else None
        fits(service, where)
        if key not in existing:
            office.services.append(service)
        existing[key] = service
    return existing


def _apply_counters(
    office: Office, entries: list[dict[str, Any]], services: dict[str, Service]
) -> None:
    existing = {c.name: c for c in office.counters}
    for position, entry in enumerate(tables(entries, f"office {office.slug}, counters")):
        name = entry.get("name")
        if not isinstance(name, str) or not name:
            raise OfficeConfigError(f"office {office.slug}: every counter needs a name")
        keys = entry.get("services", "*")
        where = f"office {office.slug}, counter {name}"
        keys = list(services) if keys == "*" else words(keys, f"{where}, services")
        unknown = [k for k in keys if k not in services]
        if unknown:
            raise OfficeConfigError(
                f"office {office.slug}, counter {name}: unknown services {unknown}"
            )
        counter = existing.get(name) or Counter(name=name)
        counter.position = position
        counter.services = [services[k] for k in keys]
        counter.retired_at = None  # a removed counter the file names is back
        fits(counter, where)
        if name not in existing:
            office.counters.append(counter)


def import_offices(session: Session, data: dict[str, Any]) -> list[Office]:
    """Create or update the offices described in ``data`` (parsed TOML); the caller commits.

    Offices of one organisation share its contact directory: ``[directory.NAME]``
    lists departments once, and each office names it with ``directory = NAME``.
    """
    storable_texts(data)
    directories = data.get("directory", {})
    if not isinstance(directories, dict) or not all(
        isinstance(d, dict) for d in directories.values()
    ):
        raise OfficeConfigError("directory: give a table of [directory.NAME] tables")
    result = []
    for entry in tables(data.get("office"), "office"):
        _check_office(entry)
        office = office_by_slug(session, entry["slug"])
        if office is None:
            office = Office(slug=entry["slug"])
            session.add(office)
        elif entry["timezone"] != office.timezone:
            # Bookings are kept in UTC: in another zone their visits would move on the clock.
            booked = upcoming_bookings(session, office, datetime.now(UTC))
            if booked:
                raise OfficeConfigError(
                    f"office {office.slug}: the time zone cannot change while "
                    f"{booked} upcoming bookings exist"
                )
        office.name = entry["name"]
        office.names = _texts(entry.get("names", {}), f"office {office.slug}, names")
        office.address = entry["address"]
        office.timezone = entry["timezone"]
        office.country = entry["country"].upper()
        office.subdivision = entry.get("subdivision")
        public_holidays = entry.get("public_holidays", True)
        if not isinstance(public_holidays, bool):
            raise OfficeConfigError(f"office {office.slug}: 'public_holidays' is true or false")
        office.public_holidays = public_holidays
        # [altcha] online bookings pass the bot challenge (booking/challenge.py)
        bot_challenge = entry.get("bot_challenge", False)
        if not isinstance(bot_challenge, bool):
            raise OfficeConfigError(f"office {office.slug}: 'bot_challenge' is true or false")
        office.bot_challenge = bot_challenge
        # [confirm] bookings confirmed by the link in their mail; off unless the file says so
        confirm_by_mail = entry.get("confirm_by_mail", False)
        if not isinstance(confirm_by_mail, bool):
            raise OfficeConfigError(f"office {office.slug}: 'confirm_by_mail' is true or false")
        office.confirm_by_mail = confirm_by_mail
        office.language = entry.get("language", "pl")
        office.phone = entry.get("phone")
        office.email = entry.get("email")
        office.website = entry.get("website")
        office.postal_address = entry.get("postal_address")
        office.dpo_email, office.dpo_address = _dpo(entry.get("dpo"), f"office {office.slug}, dpo")
        office.drop_box = _texts(entry.get("drop_box", {}), f"office {office.slug}, drop_box")
        fits(office, f"office {office.slug}")  # before a query would send it to the database
        for key, default in NUMBERS.items():
            value = whole_number(entry.get(key, default), key, f"office {office.slug}")
            if key == "slot_minutes":
                _check_grid(session, office, value)
            setattr(office, key, value)
        office.notices = _texts(entry.get("notices", {}), f"office {office.slug}, notices")
        office.reminder_time = _time(
            entry.get("reminder_time", "16:00"), f"office {office.slug}, reminder_time"
        )
        office.retention_days = _retention(entry.get("retention_days"), office.slug)
        _apply_hours(office, entry.get("hours", []))
        office.closures.clear()
        for closure in tables(entry.get("closures"), f"office {office.slug}, closures"):
            office.closures.append(_closure(closure, f"office {office.slug}, closure"))
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
