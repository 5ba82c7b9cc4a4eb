"""`flask admin create`: the first administrator, who signs in and must set up a second factor
before any administration page opens."""

from __future__ import annotations

import re

import pyotp
from flask import Flask
from sqlalchemy import select

from admin.models import ChangeLog
from okienko.database import db
from queueing.models import Role, StaffUser
from tests.helpers.forms import csrf_token

GOOD = "Kwiatek-na-oknie-2026"


def create(app: Flask, *args: str, password: str = GOOD) -> tuple[int, str]:
    result = app.test_cli_runner().invoke(
        args=["admin", "create", *args], input=f"{password}\n{password}\n"
    )
    return result.exit_code, result.output


def test_flask_admin_create_makes_an_administrator_who_must_enrol_a_second_factor(
    app: Flask,
) -> None:
    code, output = create(app, "ela", "--name", "Ela Nowak", "--office", "bytom-zielna")
    assert code == 0, output
    assert "ela: administrator" in output
    with app.app_context():
        user = db.session.scalar(select(StaffUser).where(StaffUser.username == "ela"))
        assert user is not None and user.role == Role.ADMINISTRATOR and user.active
        assert user.password_hash != GOOD and user.totp_enabled_at is None
        entry = db.session.scalar(select(ChangeLog).where(ChangeLog.record_id == str(user.id)))
        assert entry is not None and (entry.action, entry.actor_name) == ("create", "flask admin")

    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    signed = client.post(
        "/login",
        data={"csrf_token": csrf_token(client, "/login"), "username": "ela", "password": GOOD},
    )
    assert signed.status_code == 302 and signed.headers["Location"] == "/admin/"
    home = client.get("/admin/")
    assert home.status_code == 302 and home.headers["Location"] == "/admin/account/second-factor"
    enrol = client.get("/admin/account/second-factor").get_data(as_text=True)
    secret = re.sub(r"\s", "", re.search(r'class="secret"[^>]*>([A-Z2-7 ]+)<', enrol).group(1))
    confirmed = client.post(
        "/admin/account/second-factor",
        data={
            "csrf_token": csrf_token(client, "/admin/account/second-factor"),
            "action": "enrol",
            "code": pyotp.TOTP(secret).now(),
        },
    )
    assert confirmed.status_code in (200, 302)
    assert client.get("/admin/").status_code == 200


def test_flask_admin_create_refuses_a_weak_password_and_a_taken_name(app: Flask) -> None:
    code, output = create(app, "ela", "--name", "Ela", "--office", "bytom-zielna", password="demo")
    assert code != 0 and "at least 12 characters" in output
    assert create(app, "ela", "--name", "Ela", "--office", "bytom-zielna")[0] == 0
    code, output = create(app, "ela", "--name", "Ela", "--office", "bytom-zielna")
    assert code != 0 and "exists already" in output
    code, output = create(app, "ola", "--name", "Ola", "--office", "no-such-office")
    assert code != 0
