"""A person's own account: who they are, their password, their second factor; and the
public page behind a reset link."""

from __future__ import annotations

from typing import Any

from flask import (
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_user
from werkzeug.security import check_password_hash
from wtforms import Field, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from booking.qr import qr_markup
from okienko.database import db, utcnow, writes
from okienko.extensions import limiter
from okienko.transaction import unit_of_work
from queueing.models import Role

from .. import second_factor as factor
from ..access import admin_required, offices_of, second_factor_exempt, staff
from ..accounts import change_own_password
from ..audit import record
from ..forms import AdminForm
from ..passwords import password_problem
from ..resets import usable_reset, use_reset
from .blueprint import bp

# Posts that check a password or a code are limited like the sign-in itself.
attempts = limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])


class NewPasswordForm(AdminForm):
    new = PasswordField(_l("New password"), validators=[DataRequired()])
    repeat = PasswordField(
        _l("New password again"),
        validators=[DataRequired(), EqualTo("new", message=_l("The two passwords differ."))],
    )


class PasswordChangeForm(NewPasswordForm):
    current = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=200)])


class CodeForm(AdminForm):
    code = StringField(_l("Code from the app"), validators=[DataRequired(), Length(max=20)])


class ConfirmForm(AdminForm):
    """The password again, before a change to the second factor."""

    password = PasswordField(_l("Your password"), validators=[DataRequired(), Length(max=200)])


def policy_problem(field: Field, username: str, name: str) -> bool:
    """Put the password policy's objection, if any, next to ``field``."""
    if problem := password_problem(field.data or "", username, name):
        field.errors = [*field.errors, problem]
        return True
    return False


@bp.get("/account")
@admin_required(Role.CLERK)
def account() -> Any:
    user = staff()
    return render_template(
        "admin/account.html",
        user=user,
        offices=offices_of(db.session(), user),
        codes_left=factor.unused_recovery_codes(db.session(), user),
    )


@bp.route("/account/password", methods=["GET", "POST"])
@attempts
@admin_required(Role.CLERK)
def password() -> Any:
    user = staff()
    form = PasswordChangeForm()
    status = 200
    if form.validate_on_submit():
        if not check_password_hash(user.password_hash, form.current.data or ""):
            form.current.errors = [_("This is not your current password.")]
        elif not policy_problem(form.new, user.username, user.name):
            with unit_of_work() as db_session:
                change_own_password(db_session, utcnow(), user, form.new.data or "")
            login_user(user)  # this browser stays signed in, with the new session key
            flash(_("Your password is changed. Other browsers were signed out."), "success")
            return redirect(url_for(".account"))
        status = 422
    elif request.method == "POST":
        status = 422
    return render_template("admin/account_password.html", form=form), status


@bp.route("/account/second-factor", methods=["GET", "POST"])
@attempts
@admin_required(Role.CLERK)
@second_factor_exempt
@writes  # the first look at the enrolment page stores the secret it shows
def second_factor() -> Any:
    """Enrol a second factor; or, with one, renew the recovery codes or turn it off."""
    user = staff()
    if user.totp_enabled_at is None:
        return enrol()
    codes_form, off_form = ConfirmForm(prefix="codes"), ConfirmForm(prefix="off")
    action = request.form.get("action")
    status = 200
    if request.method == "POST":
        form = {"codes": codes_form, "off": off_form}.get(action or "")
        if form is None:
            abort(400)
        if action == "off" and not factor.may_turn_off(user):
            abort(403)
        if form.validate_on_submit():
            if check_password_hash(user.password_hash, form.password.data or ""):
                return renew_codes() if action == "codes" else turn_off()
            form.password.errors = [_("This is not your password.")]
        status = 422
    return render_template(
        "admin/second_factor.html",
        user=user,
        codes_form=codes_form,
        off_form=off_form,
        may_turn_off=factor.may_turn_off(user),
        codes_left=factor.unused_recovery_codes(db.session(), user),
    ), status


def enrol() -> Any:
    """The QR code of the secret being enrolled, kept on the account until a code confirms it."""
    user = staff()
    form = CodeForm()
    status = 200
    with unit_of_work() as db_session:
        secret = factor.enrolment_secret(db_session, user)
    if request.method == "POST":
        if request.form.get("action") != "enrol":
            abort(400)
        if form.validate_on_submit():
            now = utcnow()
            with unit_of_work() as db_session:
                codes = factor.enrol(db_session, user, form.code.data or "", now)
                if codes is not None:
                    record(db_session, now, user, "second_factor_enrolled", "account", user.id)
            if codes is not None:
                return show_codes(codes, enrolled=True)
            form.code.errors = [_("This code does not match. Check the app and try the next code.")]
        status = 422
    uri = factor.provisioning_uri(secret, user.username)
    return render_template(
        "admin/second_factor_enrol.html",
        form=form,
        qr=qr_markup(uri, _("QR code to scan with the authenticator app")),
        secret=factor.grouped(secret),
        must=user.role == Role.ADMINISTRATOR,
    ), status


def renew_codes() -> Any:
    user, now = staff(), utcnow()
    with unit_of_work() as db_session:
        codes = factor.new_recovery_codes(db_session, user)
        record(db_session, now, user, "recovery_codes_renewed", "account", user.id)
    return show_codes(codes, enrolled=False)


def turn_off() -> Any:
    user, now = staff(), utcnow()
    with unit_of_work() as db_session:
        factor.turn_off(db_session, user)
        record(db_session, now, user, "second_factor_disabled", "account", user.id)
    flash(_("The second factor is off. You sign in with your password alone."), "success")
    return redirect(url_for(".account"))


def show_codes(codes: list[str], *, enrolled: bool) -> Any:
    g.no_store = True  # shown once: not kept in any cache
    return render_template("admin/second_factor_codes.html", codes=codes, enrolled=enrolled)


@bp.route("/reset/<token>", methods=["GET", "POST"])
@attempts
def reset_password(token: str) -> Any:
    """A reset link, opened without signing in: the new password, once."""
    g.no_store = True
    now = utcnow()
    found = usable_reset(db.session(), token, now)
    if found is None:
        return render_template("admin/reset_gone.html"), 410
    reset, user = found
    form = NewPasswordForm()
    status = 200
    if form.validate_on_submit():
        if not policy_problem(form.new, user.username, user.name):
            with unit_of_work() as db_session:
                used = use_reset(db_session, now, reset, form.new.data or "")
            if not used:  # another tab was first
                return render_template("admin/reset_gone.html"), 410
            flash(_("Your password is set. Sign in with it."), "success")
            return redirect(url_for("staff.login"))
        status = 422
    elif request.method == "POST":
        status = 422
    return render_template("admin/reset_password.html", form=form, user=user), status
