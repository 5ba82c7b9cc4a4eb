"""An office's own settings as its manager edits them: names, contacts, calendar and floor rules.

The form checks each value alone; what needs the database is checked here, by the rules
the office file follows too (``booking.limits``): neither the slot grid nor the time zone
changes under upcoming bookings (they are kept in UTC: in another zone their visits would
move on the clock). A new country or public holidays may close days someone booked: the
view saves through ``admin.changes.change_office``, which finds those bookings before
anything is saved.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import holidays
from flask_babel import LazyString, get_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from booking.limits import divides_hour, upcoming_bookings, zone_on_grid
from booking.models import Office
from booking.versions import touch
from queueing.models import StaffUser

from .audit import record, snapshot

# The office's columns the settings page edits, in the history's order.
SETTINGS = (
    "name",
    "names",
    "address",
    "timezone",
    "country",
    "subdivision",
    "public_holidays",
    "bot_challenge",  # [altcha]
    "language",
    "email",
    "phone",
    "website",
    "postal_address",
    "dpo_email",
    "dpo_address",
    "slot_minutes",
    "min_notice_minutes",
    "max_days_ahead",
    "max_active_bookings_per_contact",
    "reminder_time",
    "checkin_before_minutes",
    "checkin_after_minutes",
    "max_calls",
    "call_cooldown_seconds",
    "retention_days",
    "walk_in_share",  # [share]
    "confirm_by_mail",  # [confirm]
    "confirm_minutes",  # [confirm]
    "waitlist_hold_minutes",  # [waitlist]
    "rebook_delay_minutes",  # [waitlist]
)
# The slot lengths a grid may have: each divides an hour (``booking.limits``).
SLOT_CHOICES = (5, 10, 15, 20, 30, 60)


class SettingsRefused(ValueError):
    """A value the database refuses; ``field`` names the form field, ``message`` says why."""

    def __init__(self, field: str, message: LazyString) -> None:
        super().__init__(str(message))
        self.field = field
        self.message = message


@functools.cache
def countries() -> dict[str, list[str]]:
    """The countries whose public holidays are known, with their subdivisions' codes."""
    return {
        code: list(subdivisions)
        for code, subdivisions in holidays.list_supported_countries().items()
    }


def grid_problem(
    session: Session, office: Office, minutes: int, now: datetime
) -> LazyString | None:
    """Why the slot grid of ``office`` (in its time zone as set now) cannot be ``minutes``."""
    if not divides_hour(minutes):
        return _l("Choose a length that divides an hour: 5, 10, 15, 20, 30 or 60 minutes.")
    if not zone_on_grid(office.timezone, minutes):
        return _l("The time zone is not on a grid of this length; choose a shorter one.")
    if minutes != office.slot_minutes and upcoming_bookings(session, office, now):
        return _l(
            "The slot length cannot change while visits are booked ahead: "
            "they hold time on the present grid."
        )
    return None


def update_settings(
    session: Session, now: datetime, actor: StaffUser, office: Office, values: Mapping[str, Any]
) -> None:
    """Give ``office`` the settings in ``values`` (the form's, each already valid alone),
    with its history entry; raises ``SettingsRefused`` for what the database refuses."""
    before = snapshot(office, SETTINGS)
    zone_changed = values["timezone"] != office.timezone
    if zone_changed and upcoming_bookings(session, office, now):
        raise SettingsRefused(
            "timezone",
            _l(
                "The time zone cannot change while visits are booked ahead: "
                "they would move to other hours on the clock."
            ),
        )
    for name in SETTINGS:
        if name != "slot_minutes":
            setattr(office, name, values[name])
    minutes = values["slot_minutes"]
    if minutes != office.slot_minutes or zone_changed:
        problem = grid_problem(session, office, minutes, now)
        if problem is not None:
            raise SettingsRefused("slot_minutes", problem)
    # A service's visit takes whole slots (the services page asks for a multiple).
    locale = str(get_locale() or office.language)
    uneven = [s.name(locale) for s in office.services if s.duration_minutes % minutes]
    if uneven:
        raise SettingsRefused(
            "slot_minutes",
            _l(
                "These services do not last a whole number of slots of this length: "
                "%(services)s. Change their durations first.",
                services=", ".join(uneven),
            ),
        )
    office.slot_minutes = minutes
    after = snapshot(office, SETTINGS)
    if after == before:
        return
    record(
        session,
        now,
        actor,
        "update",
        "office",
        office.id,
        office_id=office.id,
        before=before,
        after=after,
    )
    # Residents' pages show all of this, and the free times depend on much of it.
    touch(session, office.id)
