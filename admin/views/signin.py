"""The one sign-in of all staff at /login: clerks, managers and administrators.

The password first; then, for whoever has a second factor, a code from their app or a
recovery code (``admin/signins.py``). ``/counter/login`` is the same page, as clerks knew it.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from okienko.database import db, utcnow
from okienko.extensions import limiter
from okienko.redirects import same_site_path
from okienko.transaction import unit_of_work
from queueing.access import authenticate

from .. import signins
from ..forms import AdminForm

bp = Blueprint("staff", __name__)


class LoginForm(AdminForm):
    username = StringField(_l("User name"), validators=[DataRequired(), Length(max=80)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])


class CodeForm(AdminForm):
    code = StringField(
        _l("Code"),
        validators=[DataRequired(), Length(max=40)],
        description=_l(
            "The 6-digit code your authenticator app shows now, or one of your recovery codes."
        ),
    )


def safe_next(target: str | None, fallback: str) -> str:
    # Only paths on this site: an open redirect would help phishing.
    return target if same_site_path(target) else fallback


# The first rule registered (the lowest decorator) is the one url_for builds.
@bp.route("/counter/login", methods=["GET", "POST"])  # where clerks have it bookmarked
@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
def login() -> Any:
    """The one sign-in of all staff: clerks, managers and administrators."""
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        username, now = form.username.data or "", utcnow()
        user = authenticate(username, form.password.data or "")
        target = request.args.get("next")
        if user is not None and user.totp_enabled_at is not None:
            signins.begin_second_step(db.session(), user, now, target)
            return redirect(url_for(".login_code"))
        with unit_of_work() as session:
            if user is None:
                signins.record_failure(session, now, username)
            else:
                signins.finish(session, now, user, "password")
        if user is not None:
            return redirect(safe_next(target, signins.landing(user)))
        flash(_l("Wrong user name or password."), "error")
        status = 401
    elif request.method == "POST":
        status = 400
    return render_template("admin/signin.html", form=form), status


@bp.route("/login/code", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
def login_code() -> Any:
    """The second step, for those with a second factor: a code from the app, or a recovery code."""
    now = utcnow()
    found = signins.pending(db.session(), now)
    if found is None:
        flash(_("Please sign in again: the sign-in was not finished in time."), "error")
        return redirect(url_for(".login"))
    if blocked := signins.blocked(db.session(), found, now):
        return refuse_codes(blocked)
    user = found.user
    form = CodeForm()
    status = 200
    if form.validate_on_submit():
        with unit_of_work() as session:
            method = signins.second_factor(session, user, form.code.data or "", now)
            if method is None:
                signins.record_second_factor_failure(session, now, user)
            else:
                signins.finish(session, now, user, method)
        if method == "recovery_code":
            flash(_("You used a recovery code. It will not work again."), "success")
        if method is not None:
            return redirect(safe_next(found.next_url, signins.landing(user)))
        if blocked := signins.blocked(db.session(), found, now):
            return refuse_codes(blocked)
        form.code.errors = [_("This code is not right, or was used already.")]
        status = 401
    elif request.method == "POST":
        status = 400
    return render_template("admin/signin_code.html", form=form), status


def refuse_codes(blocked: signins.Blocked) -> Any:
    """Too many wrong codes: back to the password, after a wait if the account had its tries."""
    signins.abandon()
    if blocked == signins.Blocked.WAIT:
        flash(
            _(
                "Too many wrong codes were typed for this account. "
                "Wait a quarter of an hour, then sign in again."
            ),
            "error",
        )
    else:
        flash(_("Too many wrong codes. Sign in again with your password."), "error")
    return redirect(url_for(".login"))
