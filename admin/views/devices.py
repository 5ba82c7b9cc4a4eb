"""The office's kiosks and displays: the list, a new one with its link as a QR code,
a new link for one, and revoking one."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from wtforms import SelectField, SelectMultipleField, StringField, widgets

# WTForms 3.2's choice type; types-WTForms does not list it yet.
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]
from wtforms.validators import DataRequired, Length

from booking.models import Office
from booking.qr import qr_markup
from okienko.database import db, utcnow
from okienko.transaction import unit_of_work
from queueing.models import Device, DeviceKind

from ..access import admin_required, managed_office, owned, staff
from ..changes import lock_office
from ..devices import (
    KIND_LABELS,
    DeviceRefused,
    create_device,
    replace_link,
    revoke,
    set_shows,
)
from ..forms import AdminForm, strip
from .blueprint import bp, section

section("admin.devices", _l("Kiosks and displays"), 60)


class CheckboxesField(SelectMultipleField):
    """Several choices as checkboxes (the template puts them in a fieldset)."""

    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class ShowsForm(AdminForm):
    """What a lobby display shows, when an office has several screens."""

    services = CheckboxesField(_l("Only these services"), coerce=int)
    counters = CheckboxesField(_l("Only these counters"), coerce=int)

    def __init__(self, office: Office, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        locale = str(get_locale())
        self.services.choices = [SelectChoice(s.id, s.name(locale)) for s in office.services]
        self.counters.choices = [
            SelectChoice(c.id, c.name) for c in office.counters if c.retired_at is None
        ]

    def shows(self) -> tuple[list[int], list[int]]:
        return list(self.services.data or []), list(self.counters.data or [])


class DeviceForm(ShowsForm):
    kind = SelectField(
        _l("Kind"), choices=[SelectChoice(kind.value, label) for kind, label in KIND_LABELS.items()]
    )
    name = StringField(
        _l("Device name"),
        validators=[
            DataRequired(_l("Give the device a name, such as “Kiosk at the entrance”.")),
            Length(max=100, message=_l("Use at most %(max)d characters.")),
        ],
        filters=[strip],
    )


def list_page(office: Office, form: DeviceForm, status: int = 200) -> Any:
    devices = db.session.scalars(
        select(Device)
        .where(Device.office_id == office.id)
        .order_by(Device.revoked_at.is_not(None), Device.kind, Device.name, Device.id)
    ).all()
    return render_template(
        "admin/devices.html", office=office, devices=devices, form=form, kinds=KIND_LABELS
    ), status


def link_page(office: Office, device: Device, link: str) -> Any:
    """The link, shown this once: never cached, never stored in the session."""
    g.no_store = True
    label = _("Sign-in link of %(device)s", device=device.name)
    return render_template(
        "admin/devices_link.html",
        office=office,
        device=device,
        link=link,
        qr=qr_markup(link, label),
        kinds=KIND_LABELS,
    )


@bp.route("/o/<slug>/devices", methods=["GET", "POST"])
@admin_required()
def devices(slug: str) -> Any:
    office = managed_office(slug)
    form = DeviceForm(office)
    if request.method == "GET":
        return list_page(office, form)
    if not form.validate():
        return list_page(office, form, 422)
    now = utcnow()
    try:
        with unit_of_work() as session:
            lock_office(session, office)
            kind = DeviceKind(form.kind.data)
            device, link = create_device(
                session, now, staff(), office, kind, form.name.data or "", form.shows()
            )
    except DeviceRefused as refused:
        form[refused.field].errors = [refused.message]
        return list_page(office, form, 409)
    return link_page(office, device, link)


def confirm_page(office: Office, device: Device, action: str, status: int = 200) -> Any:
    return render_template(
        "admin/devices_confirm.html", office=office, device=device, action=action
    ), status


@bp.post("/o/<slug>/devices/<int:device_id>/link")
@admin_required()
def device_link(slug: str, device_id: int) -> Any:
    """A new link for the device, after a question: its present link stops working."""
    office = managed_office(slug)
    device = owned(db.session(), Device, device_id, office)
    if device.revoked_at is not None:
        flash(_("This device is revoked. Add a new one instead."), "error")
        return confirm_page(office, device, "link", 409)
    if request.form.get("confirm") != "1":
        return confirm_page(office, device, "link")
    try:
        with unit_of_work() as session:
            lock_office(session, office)
            link = replace_link(session, utcnow(), staff(), office, device)
    except DeviceRefused:  # revoked meanwhile
        return confirm_page(office, device, "link", 409)
    return link_page(office, device, link)


@bp.post("/o/<slug>/devices/<int:device_id>/revoke")
@admin_required()
def device_revoke(slug: str, device_id: int) -> Any:
    """Revoke the device, after a question: its link and its signed-in browsers stop."""
    office = managed_office(slug)
    device = owned(db.session(), Device, device_id, office)
    if request.form.get("confirm") != "1" and device.revoked_at is None:
        return confirm_page(office, device, "revoke")
    name = device.name
    with unit_of_work() as session:
        lock_office(session, office)
        revoke(session, utcnow(), staff(), office, device)
    flash(
        _("%(device)s is revoked: its link and its screens stop working.", device=name), "success"
    )
    return redirect(url_for("admin.devices", slug=office.slug))


def shows_page(office: Office, device: Device, form: ShowsForm, status: int = 200) -> Any:
    return render_template(
        "admin/devices_shows.html", office=office, device=device, form=form
    ), status


@bp.route("/o/<slug>/devices/<int:device_id>/shows", methods=["GET", "POST"])
@admin_required()
def device_shows(slug: str, device_id: int) -> Any:
    """Which services and counters a lobby display shows (several screens in one lobby)."""
    office = managed_office(slug)
    device = owned(db.session(), Device, device_id, office)
    if device.kind != DeviceKind.DISPLAY or device.revoked_at is not None:
        abort(404)
    if request.method == "GET":
        form = ShowsForm(
            office, services=device.shown_service_ids, counters=device.shown_counter_ids
        )
        return shows_page(office, device, form)
    form = ShowsForm(office)
    if not form.validate():
        return shows_page(office, device, form, 422)
    try:
        with unit_of_work() as session:
            lock_office(session, office)
            set_shows(session, utcnow(), staff(), office, device, *form.shows())
    except DeviceRefused as refused:
        form[refused.field].errors = [refused.message]
        return shows_page(office, device, form, 409)
    flash(_("%(device)s now shows your choice.", device=device.name), "success")
    return redirect(url_for("admin.devices", slug=office.slug))
