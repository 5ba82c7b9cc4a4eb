"""Staff accounts of every role for the administration's tests, and signing them in."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pyotp
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from booking.models import Office
from okienko.database import db, utcnow
from queueing.access import hash_password
from queueing.models import Role, StaffUser

PASSWORD = "Okienko-admin-2026"
ZIELNA = "bytom-zielna"  # the manager's own office in these tests
PLZEN = "plzen-kontaktni-misto"  # another manager's office


@dataclass(frozen=True)
class Account:
    id: int
    username: str
    totp_secret: str | None

    def code(self) -> str:
        assert self.totp_secret, f"{self.username} has no second factor"
        return pyotp.TOTP(self.totp_secret).now()


def office(slug: str) -> Office:
    found = db.session.scalar(select(Office).where(Office.slug == slug))
    assert found is not None, slug
    return found


def make_account(
    app: Flask,
    username: str,
    role: Role,
    *,
    home: str = ZIELNA,
    manages: Sequence[str] = (),
    second_factor: bool | None = None,
    password: str = PASSWORD,
) -> Account:
    """An active account; administrators get an enrolled second factor unless told otherwise."""
    with app.app_context():
        user = StaffUser(
            username=username,
            name=username.replace("-", " ").title(),
            office_id=office(home).id,
            role=role,
            active=True,
            password_hash=hash_password(password),
            password_changed_at=utcnow(),
        )
        user.managed_offices = [office(slug) for slug in manages]
        if second_factor if second_factor is not None else role == Role.ADMINISTRATOR:
            user.totp_secret = pyotp.random_base32()
            user.totp_enabled_at = utcnow()
        db.session.add(user)
        db.session.commit()
        return Account(user.id, username, user.totp_secret)


def session_of(app: Flask, account: Account) -> FlaskClient:
    """A client signed in as ``account``, as after the full sign-in (both factors).

    For tests of what a role may open; the sign-in itself is tested through its forms.
    """
    client = app.test_client()
    with app.app_context():
        user = db.session.get(StaffUser, account.id)
        assert user is not None
        user_id = user.get_id()
    with client.session_transaction() as session:
        session["_user_id"] = user_id
        session["_fresh"] = True
    return client
