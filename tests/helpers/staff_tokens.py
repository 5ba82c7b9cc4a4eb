"""Staff tokens for the reports API's tests: one made for an account, and the header
that carries it."""

from __future__ import annotations

from flask import Flask

from admin.tokens import create_token
from okienko.database import db, utcnow
from okienko.transaction import unit_of_work
from queueing.models import StaffUser
from tests.helpers.admin import Account


def token_for(app: Flask, account: Account, name: str = "Test script") -> str:
    """A new token of ``account`` (made as the token page makes it), its secret returned."""
    with app.app_context(), unit_of_work() as session:
        owner = db.session.get(StaffUser, account.id)
        assert owner is not None
        _token, secret = create_token(session, utcnow(), owner, name)
    return secret


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}
