"""The office's settings page: names, address, calendar, contacts, booking and floor rules."""

from __future__ import annotations

import functools
import zoneinfo
from typing import Any
from urllib.parse import urlsplit

from babel import Locale
from babel.core import get_global
from babel.dates import get_timezone_location
from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, Field, IntegerField, SelectField, StringField, TimeField

# WTForms 3.2's choice type; types-WTForms does not list it yet.
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from booking.contact import ContactError, normalize_email, normalize_phone
from booking.formatting import phone as international
from booking.limits import BOUNDS
from booking.models import Office
from okienko.database import utcnow
from okienko.i18n import LANGUAGE_NAMES, LANGUAGES

from ..access import admin_required, managed_office, staff
from ..changes import NeedsDecision, affected_page, change_office
from ..forms import AdminForm, strip
from ..offices import SETTINGS, SLOT_CHOICES, SettingsRefused, countries, update_settings
from .blueprint import bp, section

section("admin.office_settings", _l("Settings"), 10)

NAME_LABELS = {
    "pl": _l("Name in Polish"),
    "cs": _l("Name in Czech"),
    "en": _l("Name in English"),
    "uk": _l("Name in Ukrainian"),
}


class WholeNumberField(IntegerField):
    """A whole number; anything else gets the form's own message, and is shown as typed."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        self.data = None
        if valuelist and str(valuelist[0]).strip():
            try:
                self.data = int(str(valuelist[0]).strip())
            except ValueError:
                raise ValueError(_l("Give a whole number.")) from None


def number(label: Any, name: str, description: Any = None) -> WholeNumberField:
    """The field of the office's setting ``name``, within its bounds (``booking.limits``)."""
    low, high = BOUNDS[name]
    return WholeNumberField(
        label,
        validators=[
            NumberRange(low, high, _l("Give a whole number from %(min)s to %(max)s.")),
        ],
        description=description,
    )


@functools.cache
def time_zones() -> tuple[str, ...]:
    """The IANA zone names this system knows (its tzdata), read once."""
    return tuple(sorted(zoneinfo.available_timezones()))


@functools.cache
def zone_label(zone: str, locale: str) -> str:
    """The IANA name, with its city as the reader's language names it where that differs:
    Europe/Warsaw (Warszawa)."""
    try:
        city = get_timezone_location(zone, locale=locale, return_city=True)
    except LookupError:  # a zone Babel does not know, such as "Factory"
        return zone
    return zone if city == zone.rsplit("/", 1)[-1].replace("_", " ") else f"{zone} ({city})"


def zone_choices(country: str | None, locale: str) -> dict[str, list[SelectChoice]]:
    """Every zone, those of the office's country in a group of their own first."""
    own = [z for z in get_global("territory_zones").get(country or "", []) if z in time_zones()]
    everywhere = [SelectChoice(z, zone_label(z, locale)) for z in time_zones()]
    if not own:
        return {str(_("All time zones")): everywhere}
    country_name = Locale.parse(locale).territories.get(country or "", country or "")
    return {
        country_name: [SelectChoice(z, zone_label(z, locale)) for z in own],
        str(_("All time zones")): everywhere,
    }


def country_choices(locale: str) -> list[SelectChoice]:
    """The countries with known public holidays, by their name in the reader's language."""
    names = Locale.parse(locale).territories
    named = sorted((names.get(code, code), code) for code in countries())
    return [SelectChoice(code, name) for name, code in named]


class SettingsForm(AdminForm):
    name_pl = StringField(NAME_LABELS["pl"], validators=[Length(max=200)], filters=[strip])
    name_cs = StringField(NAME_LABELS["cs"], validators=[Length(max=200)], filters=[strip])
    name_en = StringField(NAME_LABELS["en"], validators=[Length(max=200)], filters=[strip])
    name_uk = StringField(NAME_LABELS["uk"], validators=[Length(max=200)], filters=[strip])
    language = SelectField(
        _l("The office's language"),
        choices=[SelectChoice(code, LANGUAGE_NAMES[code]) for code in LANGUAGES],
        description=_l("Kiosks, displays and the office's own name start in this language."),
    )
    address = StringField(
        _l("Address"),
        validators=[DataRequired(_l("Give the office's address.")), Length(max=300)],
        filters=[strip],
    )
    timezone = SelectField(
        _l("Time zone"),
        validators=[DataRequired(_l("Choose a time zone from the list, such as Europe/Warsaw."))],
        validate_choice=False,  # validate_timezone says which, in words of its own
    )
    country = SelectField(_l("Country"), description=_l("It decides the public holidays."))
    subdivision = StringField(
        _l("Region"),
        validators=[Optional(), Length(max=10)],
        filters=[strip],
        description=_l("Only where the region has public holidays of its own; else leave empty."),
    )
    public_holidays = BooleanField(_l("Closed on public holidays"))
    # [altcha]
    bot_challenge = BooleanField(
        _l("Ask online bookings to pass a check that they are not a robot")
    )
    email = StringField(
        _l("Contact e-mail"), validators=[Optional(), Length(max=200)], filters=[strip]
    )
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=40)], filters=[strip])
    website = StringField(_l("Website"), validators=[Optional(), Length(max=300)], filters=[strip])
    postal_address = StringField(
        _l("Postal address for letters"),
        validators=[Optional(), Length(max=300)],
        filters=[strip],
        description=_l("If letters go elsewhere than the office's address."),
    )
    dpo_email = StringField(
        _l("Data protection officer's e-mail"),
        validators=[Optional(), Length(max=200)],
        filters=[strip],
    )
    dpo_address = StringField(
        _l("Data protection officer's postal address"),
        validators=[Optional(), Length(max=300)],
        filters=[strip],
    )
    slot_minutes = SelectField(
        _l("Slot length"),
        coerce=int,
        choices=[SelectChoice(m, _l("%(num)d minutes", num=m)) for m in SLOT_CHOICES],
        description=_l("Every visit starts on this grid and takes whole slots."),
    )
    min_notice_minutes = number(
        _l("Book at least this many minutes ahead"),
        "min_notice_minutes",
        _l("0 allows booking until the start."),
    )
    max_days_ahead = number(_l("Book at most this many days ahead"), "max_days_ahead")
    max_active_bookings_per_contact = number(
        _l("Upcoming bookings per e-mail or phone, at most"), "max_active_bookings_per_contact"
    )
    # [share] The office's default; a service may set its own (services page).
    walk_in_share = number(
        _l("Time kept for walk-ins, per cent of each day"),
        "walk_in_share",
        _l(
            "The first slots of each day, this share of them rounded up, are not bookable "
            "online: they stay for residents without an appointment. 0 keeps none."
        ),
    )
    # [confirm] bookings held as pending until the resident opens the link in the mail
    confirm_by_mail = BooleanField(_l("Bookings must be confirmed by the link in their e-mail"))
    confirm_minutes = number(
        _l("Minutes to confirm a booking before its time is released"),
        "confirm_minutes",
        _l("Only with confirmation by e-mail: an unconfirmed booking is then released."),
    )
    # [waitlist] a freed time held for the first in line; a cancelled one kept back a while
    waitlist_hold_minutes = number(
        _l("Minutes a freed time is held for the first on the waiting list"),
        "waitlist_hold_minutes",
    )
    rebook_delay_minutes = number(
        _l("Minutes before a cancelled time can be booked again"),
        "rebook_delay_minutes",
        _l("Offered to the waiting list first. 0 frees it at once."),
    )
    reminder_time = TimeField(
        _l("Reminder time, the day before the visit"),
        validators=[DataRequired(_l("Give a time like 16:00."))],
    )
    checkin_before_minutes = number(
        _l("Check-in opens, minutes before the visit"), "checkin_before_minutes"
    )
    checkin_after_minutes = number(
        _l("Check-in closes, minutes after the start"), "checkin_after_minutes"
    )
    max_calls = number(_l("Calls before a ticket counts as not present"), "max_calls")
    call_cooldown_seconds = number(
        _l("Seconds between two calls at one counter"), "call_cooldown_seconds"
    )
    retention_days = WholeNumberField(
        _l("Days a resident's name and contacts are kept after the visit"),
        validators=[
            Optional(),
            NumberRange(
                *BOUNDS["retention_days"], _l("Give a whole number from %(min)s to %(max)s.")
            ),
        ],
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.country.choices = country_choices(str(get_locale()))
        self.timezone.choices = zone_choices(self.country.data, str(get_locale()))

    def validate_timezone(self, field: Field) -> None:
        if field.data not in frozenset(time_zones()):
            raise ValidationError(_l("Choose a time zone from the list, such as Europe/Warsaw."))

    def validate_subdivision(self, field: Field) -> None:
        known = countries().get(self.country.data or "", [])
        if field.data and field.data.upper() not in known:
            raise ValidationError(
                _l("This country has no such region. Known: %(codes)s", codes=", ".join(known))
                if known
                else _l("This country has no regions with holidays of their own.")
            )
        field.data = field.data.upper() if field.data else None

    def validate_email(self, field: Field) -> None:
        field.data = checked_email(field.data)

    def validate_dpo_email(self, field: Field) -> None:
        field.data = checked_email(field.data)

    def validate_phone(self, field: Field) -> None:
        if field.data:
            try:
                field.data = international(normalize_phone(field.data, self.country.data or "PL"))
            except ContactError as exc:
                raise ValidationError(str(exc.message)) from exc

    def validate_website(self, field: Field) -> None:
        if not field.data:
            return
        parts = urlsplit(field.data)
        if parts.scheme not in ("http", "https") or "." not in parts.netloc:
            raise ValidationError(_l("Give the whole address, such as https://www.example.pl/."))

    def validate(self, extra_validators: Any = None) -> bool:
        ok = super().validate(extra_validators)
        own = self[f"name_{self.language.data}"] if self.language.data in LANGUAGES else None
        if own is not None and not own.data and not own.errors:
            own.errors = [*own.errors, _l("Give the name in the office's own language.")]
            ok = False
        return ok

    def values(self) -> dict[str, Any]:
        """The office's columns as the form sets them."""
        language = self.language.data
        values = {name: self[name].data for name in SETTINGS if name in self}
        values["name"] = self[f"name_{language}"].data
        values["names"] = {
            code: self[f"name_{code}"].data
            for code in LANGUAGES
            if code != language and self[f"name_{code}"].data
        }
        optional = ("subdivision", "email", "phone", "website", "postal_address")
        for name in (*optional, "dpo_email", "dpo_address"):
            values[name] = values[name] or None
        return values


def checked_email(text: str | None) -> str | None:
    if not text:
        return None
    try:
        return normalize_email(text)
    except ContactError as exc:
        raise ValidationError(str(exc.message)) from exc


def settings_form(office: Office) -> SettingsForm:
    """The form filled in from the office (GET) or from what was posted."""
    if request.method == "POST":
        return SettingsForm()
    data = {name: getattr(office, name) for name in SETTINGS}
    for code in LANGUAGES:
        data[f"name_{code}"] = office.name if code == office.language else office.names.get(code)
    return SettingsForm(data=data)


def page(office: Office, form: SettingsForm, status: int = 200) -> tuple[str, int]:
    form.retention_days.description = _(
        "Empty: the installation's default, %(num)d days.",
        num=current_app.config["RETENTION_DAYS"],
    )
    return render_template(
        "admin/office_settings.html",
        office=office,
        form=form,
        subdivisions=countries().get(form.country.data or office.country, []),
    ), status


@bp.route("/o/<slug>/settings", methods=["GET", "POST"])
@admin_required()
def office_settings(slug: str) -> Any:
    office = managed_office(slug)
    form = settings_form(office)
    if request.method == "GET":
        return page(office, form)
    if not form.validate():
        return page(office, form, 422)
    values = form.values()
    now = utcnow()
    try:
        change_office(office, lambda s: update_settings(s, now, staff(), office, values), now)
    except SettingsRefused as refused:
        form[refused.field].errors = [refused.message]
        return page(office, form, 409)
    except NeedsDecision as needed:
        what = _("The new country or public holidays close days that residents booked.")
        return affected_page(office, needed, what=what)
    flash(_("The settings are saved."), "success")
    return redirect(url_for("admin.office_settings", slug=office.slug))
