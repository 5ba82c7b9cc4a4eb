"""The accounts, for administrators: list, create, change, disable and enable, and reset
links; and an office's people, for its manager, who may hand a clerk a reset link."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import HiddenField, SelectField, SelectMultipleField, StringField, widgets
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]
from wtforms.validators import AnyOf, DataRequired, InputRequired, Length, Optional, Regexp

from booking.models import Office
from okienko.database import db, utcnow
from okienko.transaction import unit_of_work
from queueing.models import Role, StaffUser

from ..access import admin_required, managed_office, owned, staff
from ..accounts import (
    AccountRefusal,
    UsernameTaken,
    accounts,
    create_account,
    set_active,
    update_account,
)
from ..forms import AdminForm, lowercase, strip
from ..resets import may_reset, start_reset
from .blueprint import bp, section

section("admin.office_staff", _l("Staff"), 80)

ROLES = [
    SelectChoice(Role.CLERK.value, _l("Clerk")),
    SelectChoice(Role.MANAGER.value, _l("Office manager")),
    SelectChoice(Role.ADMINISTRATOR.value, _l("Administrator")),
]


class CheckboxesField(SelectMultipleField):
    """Several choices as checkboxes (the template puts them in a fieldset)."""

    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


def optional_id(value: object) -> int | None:
    """A select's value as an id; its empty "— choose —" option as None."""
    return None if value in ("", None) else int(str(value))


class AccountForm(AdminForm):
    username = StringField(
        _l("User name"),
        filters=[strip, lowercase],
        validators=[
            DataRequired(),
            Length(min=2, max=80),
            Regexp(
                r"^[a-z0-9][a-z0-9._-]*$",
                message=_l("Use small letters, digits, dots, dashes and underscores only."),
            ),
        ],
    )
    name = StringField(
        _l("Full name"),
        filters=[strip],
        validators=[DataRequired(), Length(max=120)],
    )
    role = SelectField(_l("Role"), choices=ROLES, validators=[DataRequired()])
    office = SelectField(
        _l("Home office"),
        coerce=optional_id,
        validators=[InputRequired(_l("Choose the home office."))],
        validate_choice=True,
    )
    offices = CheckboxesField(_l("Offices they manage"), coerce=int)


class FilterForm(AdminForm):
    class Meta:
        csrf = False

    office = SelectField(_l("Home office"), default="", validators=[Optional()])
    role = SelectField(
        _l("Role"),
        choices=[SelectChoice("", _l("Any role")), *ROLES],
        default="",
        validators=[Optional()],
    )
    active = SelectField(
        _l("State"),
        choices=[
            SelectChoice("", _l("Active and disabled")),
            SelectChoice("1", _l("Active")),
            SelectChoice("0", _l("Disabled")),
        ],
        default="",
        validators=[Optional()],
    )


class ActiveForm(AdminForm):
    active = HiddenField(validators=[DataRequired(), AnyOf(["0", "1"])])


def all_offices() -> list[Office]:
    return list(db.session.scalars(select(Office).order_by(Office.name)))


def account_form(offices: list[Office], user: StaffUser | None = None) -> AccountForm:
    """The posted form; or, given ``user``, the form filled from the account as it is."""
    form = AccountForm()
    if user is not None:
        form = AccountForm(
            formdata=None,
            data={
                "username": user.username,
                "name": user.name,
                "role": user.role.value,
                "office": user.office_id,
                "offices": [o.id for o in user.managed_offices],
            },
        )
    form.office.choices = [
        SelectChoice("", _("— choose —")),
        *(SelectChoice(str(o.id), o.name) for o in offices),
    ]
    form.offices.choices = [SelectChoice(str(o.id), o.name) for o in offices]
    return form


def one_time_link(token: str) -> str:
    base = current_app.config["PUBLIC_URL"].rstrip("/")
    return base + url_for("admin.reset_password", token=token)


def reset_hours() -> int:
    return int(current_app.config["PASSWORD_RESET_HOURS"])


def show_link(user: StaffUser, token: str, *, new: bool, office: Office | None = None) -> Any:
    g.no_store = True  # the link is shown once
    return render_template(
        "admin/accounts_link.html",
        person=user,
        link=one_time_link(token),
        hours=reset_hours(),
        new=new,
        office=office,
    )


@bp.get("/accounts", endpoint="accounts")
@admin_required(Role.ADMINISTRATOR)
def accounts_list() -> Any:
    offices = all_offices()
    form = FilterForm(request.args)
    form.office.choices = [
        SelectChoice("", _("Every office")),
        *(SelectChoice(o.slug, o.name) for o in offices),
    ]
    if not form.validate():
        return render_template("admin/accounts.html", form=form, people=[]), 400
    office = next((o for o in offices if o.slug == form.office.data), None)
    people = accounts(
        db.session(),
        office.id if office else None,
        Role(form.role.data) if form.role.data else None,
        {"1": True, "0": False}.get(form.active.data or ""),
    )
    return render_template("admin/accounts.html", form=form, people=people)


@bp.route("/accounts/new", methods=["GET", "POST"])
@admin_required(Role.ADMINISTRATOR)
def account_new() -> Any:
    form = account_form(all_offices())
    status = 200
    if form.validate_on_submit():
        now = utcnow()
        offices = {o.id: o for o in all_offices()}
        try:
            with unit_of_work() as session:
                user = create_account(
                    session,
                    now,
                    staff(),
                    username=form.username.data or "",
                    name=form.name.data or "",
                    role=Role(form.role.data),
                    office=offices[form.office.data],
                    managed=[offices[i] for i in form.offices.data or []],
                )
                token = start_reset(session, now, staff(), user, timedelta(hours=reset_hours()))
        except UsernameTaken as refusal:
            form.username.errors = [str(refusal.message)]
            status = 409
        else:
            return show_link(user, token, new=True)
    elif request.method == "POST":
        status = 422
    return render_template("admin/accounts_form.html", form=form, person=None), status


def account_of(user_id: int) -> StaffUser:
    user = db.session.get(StaffUser, user_id)
    if user is None:
        abort(404)
    return user


@bp.route("/accounts/<int:user_id>", methods=["GET", "POST"])
@admin_required(Role.ADMINISTRATOR)
def account_edit(user_id: int) -> Any:
    user = account_of(user_id)
    offices = all_offices()
    form = account_form(offices, user if request.method == "GET" else None)
    del form.username  # not changed: the history and the person know the account by it
    status = 200
    if form.validate_on_submit():
        by_id = {o.id: o for o in offices}
        try:
            with unit_of_work() as session:
                update_account(
                    session,
                    utcnow(),
                    staff(),
                    user,
                    name=form.name.data or "",
                    role=Role(form.role.data),
                    office=by_id[form.office.data],
                    managed=[by_id[i] for i in form.offices.data or []],
                )
        except AccountRefusal as refusal:
            form.role.errors = [str(refusal.message)]
            status = refusal.status
        else:
            flash(_("The account is saved."), "success")
            return redirect(url_for(".account_edit", user_id=user.id))
    elif request.method == "POST":
        status = 422
    return edit_page(user, form, status)


def edit_page(user: StaffUser, form: AccountForm, status: int = 200) -> Any:
    return render_template(
        "admin/accounts_form.html", form=form, person=user, active_form=ActiveForm()
    ), status


@bp.post("/accounts/<int:user_id>/active")
@admin_required(Role.ADMINISTRATOR)
def account_active(user_id: int) -> Any:
    """Disable the account (its sessions end, its counter is freed), or enable it again."""
    user = account_of(user_id)
    form = ActiveForm()
    if not form.validate_on_submit():
        abort(400)
    if form.active.data == "0" and request.form.get("confirm") != "1":
        return render_template(
            "admin/confirm.html",
            heading=_("Disable the account of %(name)s", name=user.name),
            text=[
                _(
                    "A disabled account cannot sign in; its sessions end at once and its"
                    " counter is freed. It stays in the history."
                )
            ],
            hidden={"active": "0"},
            button=_("Disable the account"),
            button_class="danger",
            back=url_for(".account_edit", user_id=user.id),
        )
    try:
        with unit_of_work() as session:
            set_active(session, utcnow(), staff(), user, form.active.data == "1")
    except AccountRefusal as refusal:
        db.session.refresh(user)
        flash(str(refusal.message), "error")
        edit = account_form(all_offices(), user)
        del edit.username
        return edit_page(user, edit, refusal.status)
    flash(_("The account is enabled.") if user.active else _("The account is disabled."), "success")
    return redirect(url_for(".account_edit", user_id=user.id))


@bp.post("/accounts/<int:user_id>/reset")
@admin_required(Role.ADMINISTRATOR)
def account_reset(user_id: int) -> Any:
    user = account_of(user_id)
    return reset(user)


def reset(user: StaffUser, office: Office | None = None) -> Any:
    """Start a reset for ``user`` if the signed-in person may, and show its link once."""
    if not FlaskForm().validate_on_submit():
        abort(400)
    if not may_reset(staff(), user):
        abort(403)
    back = (
        url_for(".office_staff", slug=office.slug)
        if office
        else url_for(".account_edit", user_id=user.id)
    )
    if not user.active:
        flash(_("The account is disabled: enable it before you reset its password."), "error")
        return redirect(back)
    if request.form.get("confirm") != "1":  # a new link voids the one handed over before
        return render_template(
            "admin/confirm.html",
            office=office,
            heading=_("Reset the password of %(name)s", name=user.name),
            text=[
                _(
                    "A reset gives you a one-time link to hand over; whoever opens it sets a"
                    " new password for this account."
                ),
                _("A link made before stops working."),
            ],
            hidden={},
            button=_("Reset the password"),
            button_class="primary",
            back=back,
        )
    hours = timedelta(hours=reset_hours())
    with unit_of_work() as session:
        token = start_reset(session, utcnow(), staff(), user, hours, office)
    return show_link(user, token, new=False, office=office)


@bp.get("/o/<slug>/staff")
@admin_required()
def office_staff(slug: str) -> Any:
    office = managed_office(slug)
    people = accounts(db.session(), office.id, None, None)
    resettable = {p.id for p in people if p.active and may_reset(staff(), p)}
    return render_template(
        "admin/accounts_office.html", office=office, people=people, resettable=resettable
    )


@bp.post("/o/<slug>/staff/<int:user_id>/reset")
@admin_required()
def office_staff_reset(slug: str, user_id: int) -> Any:
    office = managed_office(slug)
    return reset(owned(db.session(), StaffUser, user_id, office), office)
