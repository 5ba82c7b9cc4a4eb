"""The office's services: the list in kiosk order, a new one, one edited, deleted or moved."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session
from wtforms import BooleanField, Field, SelectField, StringField, TextAreaField

# WTForms 3.2's choice type; types-WTForms does not list it yet.
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]
from wtforms.validators import Length, NumberRange, Optional, ValidationError

from booking.limits import BOUNDS
from booking.models import Department, Office, Service
from okienko.database import db, utcnow
from okienko.i18n import LANGUAGES
from okienko.transaction import unit_of_work

from ..access import admin_required, managed_office, owned, staff
from ..changes import lock_office
from ..forms import AdminForm, strip, uppercase
from ..services import (
    FIELDS,
    ServiceRefused,
    create_service,
    delete_service,
    in_use,
    move_service,
    update_service,
)
from .blueprint import bp, section
from .office_settings import WholeNumberField

section("admin.services", _l("Services"), 20)

# Worded as the settings' "Name in Polish": each language's own phrase reads better than
# a language name in brackets.
NAME_LABELS = {
    "pl": _l("Name in Polish"),
    "cs": _l("Name in Czech"),
    "en": _l("Name in English"),
    "uk": _l("Name in Ukrainian"),
}
DESCRIPTION_LABELS = {
    "pl": _l("Description in Polish"),
    "cs": _l("Description in Czech"),
    "en": _l("Description in English"),
    "uk": _l("Description in Ukrainian"),
}
DOCUMENTS_LABELS = {
    "pl": _l("Documents to bring, in Polish, one a line"),
    "cs": _l("Documents to bring, in Czech, one a line"),
    "en": _l("Documents to bring, in English, one a line"),
    "uk": _l("Documents to bring, in Ukrainian, one a line"),
}
DOCUMENT_LINE = 200


def lines(value: Any) -> Any:
    """Text with one item a line: the lines, trimmed, without empty ones."""
    if not isinstance(value, str):
        return value
    return "\n".join(line.strip() for line in value.splitlines() if line.strip())


def _name(code: str) -> StringField:
    return StringField(
        NAME_LABELS[code],
        validators=[Length(max=200, message=_l("Use at most %(max)d characters."))],
        filters=[strip],
    )


def _description(code: str) -> TextAreaField:
    return TextAreaField(
        DESCRIPTION_LABELS[code],
        validators=[Length(max=1000, message=_l("Use at most %(max)d characters."))],
        filters=[strip],
    )


def _documents(code: str) -> TextAreaField:
    return TextAreaField(
        DOCUMENTS_LABELS[code],
        validators=[Length(max=2000, message=_l("Use at most %(max)d characters."))],
        filters=[lines],
    )


class ServiceForm(AdminForm):
    name_pl, name_cs, name_en, name_uk = _name("pl"), _name("cs"), _name("en"), _name("uk")
    description_pl, description_cs, description_en, description_uk = (
        _description("pl"),
        _description("cs"),
        _description("en"),
        _description("uk"),
    )
    documents_pl, documents_cs, documents_en, documents_uk = (
        _documents("pl"),
        _documents("cs"),
        _documents("en"),
        _documents("uk"),
    )
    duration_minutes = WholeNumberField(
        _l("Duration in minutes"),
        validators=[NumberRange(1, 480, _l("Give a whole number from %(min)s to %(max)s."))],
    )
    prefix = StringField(
        _l("Ticket letter"),
        filters=[strip, uppercase],
        description=_l("Tickets of this service are numbered A001, A002… with this letter."),
    )
    bookable_online = BooleanField(_l("Residents can book it online"))
    walk_in = BooleanField(_l("Visitors can take a ticket for it at the kiosk"))
    # [share] Empty: the office's share (its settings page).
    walk_in_share = WholeNumberField(
        _l("Time kept for walk-ins, per cent of each day"),
        validators=[
            Optional(),
            NumberRange(
                *BOUNDS["walk_in_share"], _l("Give a whole number from %(min)s to %(max)s.")
            ),
        ],
    )
    department_id = SelectField(
        _l("Department that handles it without a visit"),
        coerce=lambda v: int(v) if v not in (None, "", "None") else None,
        description=_l("Named to residents who should not come in person."),
    )

    def __init__(self, office: Office, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.office = office
        self.department_id.choices = [SelectChoice(None, _l("None"))] + [
            SelectChoice(d.id, d.name(str(get_locale()))) for d in office.departments
        ]

    def validate_prefix(self, field: Field) -> None:
        if len(field.data or "") != 1 or not field.data.isalpha():
            raise ValidationError(_l("Give one letter."))

    def validate_duration_minutes(self, field: Field) -> None:
        grid = self.office.slot_minutes
        if field.data and field.data % grid:
            raise ValidationError(
                _l("Give a multiple of the office's slot length, %(num)d minutes.", num=grid)
            )

    def validate(self, extra_validators: Any = None) -> bool:
        ok = super().validate(extra_validators)
        own = self[f"name_{self.office.language}"]
        if not own.data and not own.errors:
            own.errors = [*own.errors, _l("Give the name in the office's own language.")]
            ok = False
        for code in LANGUAGES:
            field = self[f"documents_{code}"]
            if any(len(line) > DOCUMENT_LINE for line in (field.data or "").splitlines()):
                field.errors = [
                    *field.errors,
                    _l("Keep each document to %(max)d characters.", max=DOCUMENT_LINE),
                ]
                ok = False
        return ok

    def values(self) -> dict[str, Any]:
        """The service's columns as the form sets them."""
        return {
            "names": self._by_language("name"),
            "descriptions": self._by_language("description"),
            "documents": {
                code: text.splitlines() for code, text in self._by_language("documents").items()
            },
            "duration_minutes": self.duration_minutes.data,
            "prefix": self.prefix.data,
            "bookable_online": self.bookable_online.data,
            "walk_in": self.walk_in.data,
            "walk_in_share": self.walk_in_share.data,  # [share]
            "department_id": self.department_id.data,
        }

    def _by_language(self, kind: str) -> dict[str, str]:
        return {
            code: self[f"{kind}_{code}"].data for code in LANGUAGES if self[f"{kind}_{code}"].data
        }


def service_form(office: Office, service: Service | None) -> ServiceForm:
    """The form from what was posted, or filled in from the service (a new one: defaults)."""
    if request.method == "POST":
        return ServiceForm(office)
    data: dict[str, Any] = {"duration_minutes": office.slot_minutes * 2, "bookable_online": True}
    data["walk_in"] = True
    if service is not None:
        data = {name: getattr(service, name) for name in FIELDS}
        for code in LANGUAGES:
            data[f"name_{code}"] = service.names.get(code)
            data[f"description_{code}"] = service.descriptions.get(code)
            data[f"documents_{code}"] = "\n".join(service.documents.get(code) or [])
    return ServiceForm(office, data=data)


def posted(session: Session, office: Office, form: ServiceForm) -> dict[str, Any]:
    """The form's values, the department looked up within the office."""
    values = form.values()
    if values["department_id"] is not None:
        owned(session, Department, values["department_id"], office)
    return values


@bp.get("/o/<slug>/services")
@admin_required()
def services(slug: str) -> Any:
    office = managed_office(slug)
    return render_template("admin/services.html", office=office, services=office.services)


def edit_page(office: Office, form: ServiceForm, service: Service | None, status: int) -> Any:
    if service is not None:
        form.duration_minutes.description = _(
            "A new duration applies to new bookings; booked visits keep their times."
        )
    # [share] Says what an empty field means: the office's share, as set now.
    form.walk_in_share.description = _(
        "Empty: the office's share, %(num)d %%.", num=office.walk_in_share
    )
    return render_template(
        "admin/services_edit.html",
        office=office,
        form=form,
        service=service,
        used=service is not None and in_use(db.session(), service),
    ), status


@bp.route("/o/<slug>/services/new", methods=["GET", "POST"])
@admin_required()
def service_new(slug: str) -> Any:
    office = managed_office(slug)
    form = service_form(office, None)
    if request.method == "GET":
        return edit_page(office, form, None, 200)
    if not form.validate():
        return edit_page(office, form, None, 422)
    now = utcnow()
    try:
        with unit_of_work() as session:
            lock_office(session, office)
            create_service(session, now, staff(), office, posted(session, office, form))
    except ServiceRefused as refused:
        form[refused.field].errors = [refused.message]
        return edit_page(office, form, None, 409)
    flash(_("The service is added. Choose the counters that serve it."), "success")
    return redirect(url_for("admin.counters", slug=office.slug))


@bp.route("/o/<slug>/services/<int:service_id>", methods=["GET", "POST"])
@admin_required()
def service_edit(slug: str, service_id: int) -> Any:
    office = managed_office(slug)
    service = owned(db.session(), Service, service_id, office)
    form = service_form(office, service)
    if request.method == "GET":
        return edit_page(office, form, service, 200)
    if not form.validate():
        return edit_page(office, form, service, 422)
    now = utcnow()
    try:
        with unit_of_work() as session:
            lock_office(session, office)
            update_service(session, now, staff(), office, service, posted(session, office, form))
    except ServiceRefused as refused:
        form[refused.field].errors = [refused.message]
        return edit_page(office, form, service, 409)
    flash(_("The service is saved."), "success")
    return redirect(url_for("admin.services", slug=office.slug))


@bp.post("/o/<slug>/services/<int:service_id>/delete")
@admin_required()
def service_delete(slug: str, service_id: int) -> Any:
    """First the question (a page), then, posted from it with ``confirm``, the deletion."""
    office = managed_office(slug)
    service = owned(db.session(), Service, service_id, office)
    name = service.name(office.language)
    confirmed = request.form.get("confirm") == "1"
    used = in_use(db.session(), service)
    if confirmed and not used:
        try:
            with unit_of_work() as session:
                lock_office(session, office)
                delete_service(session, utcnow(), staff(), office, service)
        except ServiceRefused:
            used = True  # booked or ticketed in the meantime
        else:
            flash(_("%(service)s is deleted.", service=name), "success")
            return redirect(url_for("admin.services", slug=office.slug))
    return render_template(
        "admin/services_delete.html", office=office, service=service, used=used
    ), 409 if confirmed else 200


@bp.post("/o/<slug>/services/<int:service_id>/move")
@admin_required()
def service_move(slug: str, service_id: int) -> Any:
    office = managed_office(slug)
    service = owned(db.session(), Service, service_id, office)
    step = {"up": -1, "down": 1}.get(request.form.get("direction", ""))
    if step is None:
        abort(400)
    with unit_of_work() as session:
        lock_office(session, office)
        move_service(session, utcnow(), staff(), office, service, step)
    return redirect(url_for("admin.services", slug=office.slug, _anchor=f"service-{service.id}"))
