"""A manager's or administrator's own staff tokens for the reports API: make one (shown
once), see when each was last used, revoke one."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from okienko.database import db, utcnow
from okienko.transaction import unit_of_work
from queueing.access import row_id

from ..access import admin_required, staff
from ..forms import AdminForm, strip
from ..tokens import create_token, revoke_token, token_of, tokens_of
from .blueprint import bp


class TokenForm(AdminForm):
    name = StringField(
        _l("What the token is for"),
        description=_l("For example “Monthly figures for the city council”."),
        validators=[
            DataRequired(_l("Give the token a name, so you know what it is for.")),
            Length(max=100, message=_l("Use at most %(max)d characters.")),
        ],
        filters=[strip],
    )


def tokens_page(form: TokenForm, secret: str | None = None, status: int = 200) -> Any:
    if secret is not None:
        g.no_store = True  # the token is shown this once: kept in no cache
    return render_template(
        "admin/tokens.html",
        tokens=tokens_of(db.session(), staff()),
        form=form,
        secret=secret,
        user=staff(),
    ), status


@bp.route("/tokens", methods=["GET", "POST"])
@admin_required()
def tokens() -> Any:
    form = TokenForm()
    if request.method == "GET":
        return tokens_page(form)
    if not form.validate():
        return tokens_page(form, status=422)
    with unit_of_work() as session:
        _token, secret = create_token(session, utcnow(), staff(), form.name.data or "")
    return tokens_page(TokenForm(formdata=None), secret)


@bp.post("/tokens/revoke")
@admin_required()
def token_revoke() -> Any:
    """Revoke one of the signed-in person's tokens (``token_id`` in the form), after a
    question. The id is not in the URL: a token is a person's, not an office's record."""
    token_id = row_id(request.form.get("token_id", ""))
    if not AdminForm().validate_on_submit() or token_id is None:
        abort(400)
    token = token_of(db.session(), staff(), token_id)
    if token is None:
        abort(404)
    if request.form.get("confirm") != "1" and token.revoked_at is None:
        return render_template(
            "admin/confirm.html",
            heading=_("Revoke the token “%(name)s”", name=token.name),
            text=[
                _(
                    "Programs that use it are refused from now on. It stays in the list,"
                    " marked revoked."
                )
            ],
            hidden={"token_id": token.id},
            button=_("Revoke the token"),
            button_class="danger",
            back=url_for(".tokens"),
        )
    name = token.name
    with unit_of_work() as session:
        revoke_token(session, utcnow(), staff(), token)
    flash(_("The token “%(name)s” is revoked.", name=name), "success")
    return redirect(url_for(".tokens"))
