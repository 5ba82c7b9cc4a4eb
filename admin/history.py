"""Reading the change history, newest first, a page at a time, in the reader's language.

The entries keep keys (``sign_in_failed``, ``max_days_ahead``) and plain JSON values; the
page shows them as the forms name them: the labels below reuse the forms' wording, and a key
without a label is shown as it is.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from babel.dates import format_datetime, get_day_names
from flask_babel import LazyString, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from booking.formatting import local_datetime
from booking.models import Counter, Department, Office, Service
from okienko.i18n import date_locale, localized

from .models import ChangeLog

PAGE = 50

ACTIONS = {
    "create": _l("created"),
    "update": _l("changed"),
    "delete": _l("deleted"),
    "cancel": _l("cancelled by the office"),
    "move": _l("moved"),
    "reorder": _l("order changed"),
    "import": _l("imported from the office file"),
    "release": _l("freed from its clerk"),
    "retire": _l("retired"),
    "new_link": _l("new sign-in link"),
    "revoke": _l("revoked"),
    "enable": _l("enabled"),
    "disable": _l("disabled"),
    "sign_in": _l("signed in"),
    "sign_in_failed": _l("failed sign-in"),
    "second_factor_failed": _l("wrong second-factor code"),
    "second_factor_enrolled": _l("second factor turned on"),
    "second_factor_disabled": _l("second factor turned off"),
    "recovery_codes_renewed": _l("new recovery codes"),
    "password_changed": _l("password changed"),
    "password_reset_started": _l("password reset link made"),
    "password_reset": _l("password set by a reset link"),
}

RECORDS = {
    "office": _l("office settings"),
    "service": _l("service"),
    "counter": _l("counter"),
    "hours": _l("opening hours"),
    "closure": _l("closure"),
    "booking": _l("booking"),
    "account": _l("account"),
    "device": _l("kiosk or display"),
    "api_token": _l("API token"),
    "admission_policy": _l("sanitary regime settings"),
    "admission_notices": _l("sanitary regime notices"),
    "admission_question": _l("admission question"),
    "department": _l("department"),
}
# Records that are the office itself: their id (the office's) says nothing.
OFFICE_RECORDS = {"office", "admission_policy", "admission_notices"}

# Field labels: by (record type, field) where one name means different things, else by field.
FIELDS: dict[tuple[str, str] | str, LazyString] = {
    # Office settings (admin/offices.py SETTINGS), as the settings form names them.
    ("office", "name"): _l("Name in the office's language"),
    "names": _l("Name in each language"),
    "address": _l("Address"),
    "timezone": _l("Time zone"),
    "country": _l("Country"),
    "subdivision": _l("Region"),
    "public_holidays": _l("Closed on public holidays"),
    "bot_challenge": _l("Ask online bookings to pass a check that they are not a robot"),
    "language": _l("The office's language"),
    ("office", "email"): _l("Contact e-mail"),
    "phone": _l("Phone"),
    "website": _l("Website"),
    "postal_address": _l("Postal address for letters"),
    "dpo_email": _l("Data protection officer's e-mail"),
    "dpo_address": _l("Data protection officer's postal address"),
    "slot_minutes": _l("Slot length"),
    "min_notice_minutes": _l("Book at least this many minutes ahead"),
    "max_days_ahead": _l("Book at most this many days ahead"),
    "max_active_bookings_per_contact": _l("Upcoming bookings per e-mail or phone, at most"),
    "reminder_time": _l("Reminder time, the day before the visit"),
    "checkin_before_minutes": _l("Check-in opens, minutes before the visit"),
    "checkin_after_minutes": _l("Check-in closes, minutes after the start"),
    "max_calls": _l("Calls before a ticket counts as not present"),
    "call_cooldown_seconds": _l("Seconds between two calls at one counter"),
    "retention_days": _l("Days a resident's name and contacts are kept after the visit"),
    # [share] The office's default and a service's own (booking/walk_in_share.py).
    "walk_in_share": _l("Time kept for walk-ins, per cent of each day"),
    "confirm_by_mail": _l("Bookings must be confirmed by the link in their e-mail"),
    "confirm_minutes": _l("Minutes to confirm a booking before its time is released"),
    "waitlist_hold_minutes": _l("Minutes a freed time is held for the first on the waiting list"),
    "rebook_delay_minutes": _l("Minutes before a cancelled time can be booked again"),
    # An import's counts (admin/transfer.py PARTS), as its summary names them.
    "office": _l("office settings"),
    "regime": _l("sanitary regime settings"),
    "questions": _l("admission questions"),
    "departments": _l("departments"),
    "services": _l("services"),
    "counters": _l("counters"),
    "hours": _l("opening hours"),
    "closures": _l("closures"),
    "file": _l("File"),
    # Services.
    "key": _l("Short name in the office file"),
    "descriptions": _l("Description"),
    "documents": _l("Documents to bring"),
    "duration_minutes": _l("Duration in minutes"),
    "prefix": _l("Ticket letter"),
    "bookable_online": _l("Residents can book it online"),
    "walk_in": _l("Visitors can take a ticket for it at the kiosk"),
    "department_id": _l("Department that handles it without a visit"),
    # Counters.
    ("counter", "name"): _l("Counter name"),
    "position": _l("Place in the order"),
    ("counter", "services"): _l("Services it serves"),
    "clerk": _l("Clerk"),
    "parked": _l("Parked"),
    # Opening hours and closures.
    "valid_from": _l("Valid from"),
    "valid_to": _l("Valid until"),
    "week": _l("Opening hours"),
    "first_day": _l("First day"),
    "last_day": _l("Last day"),
    "starts": _l("Closed from"),
    "ends": _l("Closed until"),
    ("closure", "reason"): _l("Note for residents"),
    # Bookings.
    "status": _l("Status"),
    "counter_id": _l("Counter"),
    "code": _l("Booking code"),
    "reason": _l("Reason"),
    # Accounts and signing in.
    "username": _l("User name"),
    ("account", "name"): _l("Full name"),
    "role": _l("Role"),
    ("account", "office"): _l("Home office"),
    "offices": _l("Offices they manage"),
    "active": _l("Active"),
    "method": _l("Signed in with"),
    "expires_at": _l("Valid until"),
    # Kiosks and displays.
    "kind": _l("Kind"),
    ("device", "name"): _l("Device name"),
    "revoked_at": _l("Signed out at"),
    ("api_token", "name"): _l("What the token is for"),
    ("api_token", "revoked_at"): _l("Revoked at"),
    # The sanitary regime.
    "enabled": _l("The sanitary regime is on"),
    "link_hours_before": _l("Residents may answer online this many hours before their visit"),
    "rebook_after_days": _l(
        "A refused resident may book a visit in person again after this many days"
    ),
    "notices": _l("Notices"),
    "texts": _l("Question"),
    "refuse_on": _l("Which answer keeps the visitor out?"),
    "email": _l("E-mail"),
    "phones": _l("Phones"),
}

# Values that are keys themselves, by (record type, field) or by field.
VALUES: dict[tuple[str, str] | str, Mapping[Any, LazyString]] = {
    "role": {
        "clerk": _l("Clerk"),
        "manager": _l("Office manager"),
        "administrator": _l("Administrator"),
    },
    "method": {
        "password": _l("the password alone"),
        "totp": _l("a code from the app"),
        "recovery_code": _l("a recovery code"),
    },
    "status": {
        "booked": _l("booked"),
        "cancelled": _l("cancelled"),
        "refused": _l("refused admission"),
        "no_show": _l("did not come"),
    },
    ("device", "kind"): {"kiosk": _l("Kiosk"), "display": _l("Lobby display")},
    ("department", "kind"): {"department": _l("Department"), "branch": _l("Branch office")},
    "refuse_on": {True: _l("Yes"), False: _l("No")},
}

# Fields holding ids of other records, shown by their names.
Named = Service | Counter | Department
REFERENCES: dict[tuple[str, str] | str, type[Named]] = {
    ("counter", "services"): Service,
    "department_id": Department,
    "counter_id": Counter,
}

INSTANT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d")
WHOLE_MINUTE = re.compile(r"(\d\d:\d\d):00")
DAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # admin/hours.py's week keys


@dataclass(frozen=True)
class HistoryPage:
    entries: list[ChangeLog]
    older: int | None  # the ``before`` of the next page, if there is one


@dataclass(frozen=True)
class Shown:
    """One entry as the history page shows it, in the reader's language."""

    when: str
    office: str | None  # the entry's office, on the page of every office's entries
    who: str
    address: str | None
    what: str
    record: str
    before: list[tuple[str, str]]
    after: list[tuple[str, str]]


def history_page(session: Session, office_id: int | None, before: int | None) -> HistoryPage:
    """One office's entries, or (``office_id`` None) everybody's, older than ``before``."""
    query = select(ChangeLog).order_by(ChangeLog.id.desc()).limit(PAGE + 1)
    if office_id is not None:
        query = query.where(ChangeLog.office_id == office_id)
    if before is not None:
        query = query.where(ChangeLog.id < before)
    rows = list(session.scalars(query))
    older = rows[PAGE - 1].id if len(rows) > PAGE else None
    return HistoryPage(rows[:PAGE], older)


def _lookup(table: Mapping[tuple[str, str] | str, Any], record_type: str, key: str) -> Any:
    return table.get((record_type, key), table.get(key))


def _locale() -> str:
    return str(get_locale() or "pl")


def when(instant: datetime, office: Office | None) -> str:
    """In the office's local time; in UTC, said so, when the page is not one office's."""
    if office is not None:
        return local_datetime(instant, office, "short")
    return f"{format_datetime(instant, 'short', tzinfo=UTC, locale=date_locale())} UTC"


class Reader:
    """Shows the entries of one page: their keys as labels, their values as text."""

    def __init__(self, session: Session, entries: Iterable[ChangeLog], office: Office | None):
        self.office = office
        entries = list(entries)
        self.names = self._names(session, entries)
        self.offices: dict[int, str] = {}
        if office is None:
            ids = {entry.office_id for entry in entries if entry.office_id is not None}
            self.offices = {
                row.id: row.name_in(_locale())
                for row in session.scalars(select(Office).where(Office.id.in_(ids)))
            }
        self.days = get_day_names("abbreviated", locale=_locale())

    def _names(
        self, session: Session, entries: list[ChangeLog]
    ) -> dict[type[Named], dict[int, str]]:
        """The names of the records the entries refer to by id, those that still exist."""
        wanted: dict[type[Named], set[int]] = {}
        for entry in entries:
            for values in (entry.before, entry.after):
                for key, value in values.items():
                    model = _lookup(REFERENCES, entry.record_type, key)
                    if model is not None:
                        found = value if isinstance(value, list) else [value]
                        wanted.setdefault(model, set()).update(i for i in found if type(i) is int)
        names: dict[type[Named], dict[int, str]] = {}
        for model, ids in wanted.items():
            rows = cast(Iterable[Named], session.scalars(select(model).where(model.id.in_(ids))))
            names[model] = {
                row.id: row.name if isinstance(row, Counter) else row.name(_locale())
                for row in rows
            }
        return names

    def entry(self, entry: ChangeLog) -> Shown:
        record = RECORDS.get(entry.record_type)
        label = str(record) if record is not None else entry.record_type
        return Shown(
            when=when(entry.at, self.office),
            office=self.offices.get(entry.office_id) if entry.office_id is not None else None,
            who=entry.actor_name,
            address=entry.address,
            what=str(ACTIONS.get(entry.action, entry.action)),
            record=(
                f"{label} #{entry.record_id}"
                if entry.record_id and entry.record_type not in OFFICE_RECORDS
                else label
            ),
            before=self.fields(entry.record_type, entry.before),
            after=self.fields(entry.record_type, entry.after),
        )

    def fields(self, record_type: str, values: Mapping[str, Any]) -> list[tuple[str, str]]:
        return [
            (str(_lookup(FIELDS, record_type, key) or key), self.value(record_type, key, value))
            for key, value in values.items()
        ]

    def value(self, record_type: str, key: str, value: Any) -> str:
        """``value`` of the field ``key`` as a person reads it."""
        if value is None or value == "" or value == [] or value == {}:
            return "—"
        labels = _lookup(VALUES, record_type, key)
        if labels is not None and not isinstance(value, list | dict) and value in labels:
            return str(labels[value])
        if isinstance(value, bool):
            return _("Yes") if value else _("No")
        model = _lookup(REFERENCES, record_type, key)
        if model is not None and type(value) is int:
            return self.names.get(model, {}).get(value) or f"#{value}"
        if key == "phones" and isinstance(value, list):
            return ", ".join(self.phone(p) for p in value)
        if isinstance(value, list):
            return ", ".join(self.value(record_type, key, v) for v in value)
        if isinstance(value, dict):  # per language ("pl: … · cs: …"), or per weekday
            return " · ".join(
                f"{self.key(k)}: {self.value(record_type, key, v)}" for k, v in value.items()
            )
        if isinstance(value, str) and INSTANT.match(value):
            try:
                return when(datetime.fromisoformat(value), self.office)
            except ValueError:
                return value
        if isinstance(value, str) and (minute := WHOLE_MINUTE.fullmatch(value)):
            return minute.group(1)  # 10:00:00 → 10:00
        return str(value)

    def key(self, key: str) -> str:
        return self.days[DAY_KEYS.index(key)] if key in DAY_KEYS else key

    def phone(self, phone: Any) -> str:
        if not isinstance(phone, dict):
            return str(phone)
        topic = localized(phone.get("topics") or phone.get("topic"), _locale())
        number = str(phone.get("number", ""))
        return f"{number} ({topic})" if topic else number


def shown(session: Session, page: HistoryPage, office: Office | None) -> list[Shown]:
    """The page's entries as the reader sees them."""
    reader = Reader(session, page.entries, office)
    return [reader.entry(entry) for entry in page.entries]
