"""Accounts and signing in: the password, then a real TOTP code from pyotp (or a recovery
code), enrolment of the second factor, passwords and their policy, sessions that end
(a new password, idleness, a disabled account) while kiosks stay on, one-time reset links,
the accounts an administrator keeps, and the history of all of it.

Everything goes through the pages' own forms, the CSRF token read from each page.
"""

from __future__ import annotations

import html
import json
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pyotp
import pytest
import requests
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from admin.models import ChangeLog, PasswordReset
from admin.second_factor import accept_code, new_recovery_codes
from okienko import scheduler
from okienko.database import db
from queueing.models import DeviceKind, Role, StaffUser
from tests.helpers.admin import PASSWORD, PLZEN, ZIELNA, Account, make_account, office
from tests.helpers.floor import Clerk, signed_in_device
from tests.helpers.forms import CSRF_RE, csrf_token
from tests.helpers.live_server import LiveServer
from tests.helpers.race import race

# Wednesday 25 November 2026, 10:00 in Warsaw; the clock stands still unless moved.
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
NEW_PASSWORD = "Seven green tractors 1984"
FIELD_ERROR = (
    r'<div class="field has-error">\s*<label for="{id}">.*?'
    r'<p class="field-error" role="alert">(.*?)</p>'
)
LINK_RE = re.compile(r'id="one-time-link" type="text" readonly value="([^"]+)"')


@pytest.fixture
def clock() -> Any:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


# --- a browser, as the tests use it ---------------------------------------------------


def browser(app: Flask) -> FlaskClient:
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def post_form(client: FlaskClient, page: str, data: dict[str, str], action: str = "") -> Any:
    """Post the form of ``page`` (to ``action``, or the page itself) with its CSRF token."""
    return client.post(action or page, data={"csrf_token": csrf_token(client, page), **data})


def password_step(client: FlaskClient, username: str, password: str = PASSWORD) -> Any:
    return post_form(client, "/login", {"username": username, "password": password})


def code_step(client: FlaskClient, code: str) -> Any:
    return post_form(client, "/login/code", {"code": code})


def sign_in(app: Flask, account: Account, password: str = PASSWORD) -> FlaskClient:
    """A browser signed in through the forms: the password, then the app's code if any."""
    client = browser(app)
    response = password_step(client, account.username, password)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    if account.totp_secret:
        assert response.headers["Location"] == "/login/code"
        response = code_step(client, account.code())
        assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    return client


def field_error(response: Any, field_id: str) -> str:
    """The message shown next to the field ``field_id``."""
    page = response.get_data(as_text=True)
    match = re.search(FIELD_ERROR.format(id=re.escape(field_id)), page, re.S)
    assert match, f"no message next to {field_id}:\n{page[:3000]}"
    return html.unescape(match.group(1))


def signed_in(client: FlaskClient, page: str = "/admin/account") -> bool:
    response = client.get(page)
    assert response.status_code in (200, 302), response.status_code
    return response.status_code == 200


def history(app: Flask, action: str | None = None) -> list[ChangeLog]:
    with app.app_context():
        query = select(ChangeLog).order_by(ChangeLog.id)
        if action:
            query = query.where(ChangeLog.action == action)
        entries = list(db.session.scalars(query))
        db.session.expunge_all()
        return entries


def user(app: Flask, user_id: int) -> StaffUser:
    with app.app_context():
        found = db.session.get(StaffUser, user_id)
        assert found is not None
        db.session.expunge(found)
        return found


def one_time_link(response: Any) -> str:
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    match = LINK_RE.search(response.get_data(as_text=True))
    assert match, response.get_data(as_text=True)[:3000]
    return match.group(1).removeprefix("http://testserver")


def set_password_by_link(app: Flask, link: str, password: str = NEW_PASSWORD) -> Any:
    client = browser(app)
    # The token of any page: the link's own page may already refuse to open.
    token = csrf_token(client, "/login")
    return client.post(link, data={"csrf_token": token, "new": password, "repeat": password})


# --- signing in with the second factor -------------------------------------------------


def test_an_administrator_signs_in_with_a_real_code_from_the_app(app: Flask, clock: Any) -> None:
    admin = make_account(app, "ada", Role.ADMINISTRATOR)
    client = browser(app)
    response = password_step(client, "ada")
    assert response.status_code == 302 and response.headers["Location"] == "/login/code"
    assert not signed_in(client), "the password alone signs nobody in"

    code = pyotp.TOTP(admin.totp_secret).now()
    response = code_step(client, code)
    assert response.status_code == 302 and response.headers["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200
    assert user(app, admin.id).last_login_at == NOW
    [entry] = history(app, "sign_in")
    assert (entry.actor_id, entry.office_id, entry.address) == (admin.id, None, "127.0.0.1")
    assert entry.after == {"username": "ada", "method": "totp"}


def test_a_wrong_code_and_a_used_code_are_refused(any_app: Flask, clock: Any) -> None:
    admin = make_account(any_app, "ada", Role.ADMINISTRATOR)
    first = browser(any_app)
    password_step(first, "ada")
    wrong = f"{(int(admin.code()) + 1) % 1_000_000:06d}"
    response = code_step(first, wrong)
    assert response.status_code == 401
    assert field_error(response, "code") == "This code is not right, or was used already."
    assert not signed_in(first)
    assert code_step(first, admin.code()).status_code == 302

    # The same code again, seen over a shoulder, within its 30 seconds: refused.
    second = browser(any_app)
    password_step(second, "ada")
    assert code_step(second, admin.code()).status_code == 401
    assert not signed_in(second)
    # The next code, half a minute on, works.
    clock.shift(timedelta(seconds=30))
    assert code_step(second, admin.code()).status_code == 302
    assert [e.actor_id for e in history(any_app, "second_factor_failed")] == [admin.id, admin.id]


def test_a_code_posted_twice_at_once_signs_in_once(any_app: Flask) -> None:
    admin = make_account(any_app, "ada", Role.ADMINISTRATOR)
    with time_machine.travel(NOW, tick=False), LiveServer(any_app) as server:

        class Attempt:
            def prepare(self, i: int) -> tuple[requests.Session, str]:
                session = requests.Session()
                page = session.get(f"{server.url}/login", timeout=60).text
                token = CSRF_RE.search(page).group(1)
                answer = session.post(
                    f"{server.url}/login",
                    data={"csrf_token": token, "username": "ada", "password": PASSWORD},
                    timeout=60,
                )
                return session, CSRF_RE.search(answer.text).group(1)

            def __call__(self, i: int, prepared: tuple[requests.Session, str]) -> Any:
                session, token = prepared
                return session.post(
                    f"{server.url}/login/code",
                    data={"csrf_token": token, "code": admin.code()},
                    allow_redirects=False,
                    timeout=120,
                )

        statuses = sorted(r.status_code for r in race(4, Attempt()))
    assert statuses == [302, 401, 401, 401]


def test_a_recovery_code_works_once(app: Flask, clock: Any) -> None:
    admin = make_account(app, "ada", Role.ADMINISTRATOR)
    with app.app_context():
        codes = new_recovery_codes(db.session(), db.session.get(StaffUser, admin.id))
        db.session.commit()
    client = browser(app)
    password_step(client, "ada")
    response = code_step(client, codes[3].lower().replace("-", " "))  # as typed from paper
    assert response.status_code == 302 and response.headers["Location"] == "/admin/"
    assert "It will not work again" in client.get("/admin/").get_data(as_text=True)
    again = browser(app)
    password_step(again, "ada")
    assert code_step(again, codes[3]).status_code == 401
    assert code_step(again, codes[4]).status_code == 302
    assert [e.after["method"] for e in history(app, "sign_in")] == ["recovery_code"] * 2


def test_the_second_step_lapses_after_five_minutes(app: Flask, clock: Any) -> None:
    admin = make_account(app, "ada", Role.ADMINISTRATOR)
    client = browser(app)
    password_step(client, "ada")
    clock.shift(timedelta(minutes=5, seconds=1))
    response = client.get("/login/code")
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    late = client.post(
        "/login/code",
        data={"csrf_token": csrf_token(client, "/login"), "code": admin.code()},
    )
    assert late.status_code == 302 and late.headers["Location"] == "/login"
    assert not signed_in(client)


def test_each_role_lands_on_its_own_start_page(app: Flask, clock: Any) -> None:
    clerk = make_account(app, "clerk", Role.CLERK)
    manager = make_account(app, "manager", Role.MANAGER, manages=[ZIELNA])
    assert password_step(browser(app), "clerk").headers["Location"] == "/counter/"
    assert password_step(browser(app), "manager").headers["Location"] == "/admin/"
    # A page asked for before the sign-in comes first, through both steps.
    admin = make_account(app, "ada", Role.ADMINISTRATOR)
    client = browser(app)
    token = csrf_token(client, "/login")
    client.post(
        "/login?next=/admin/history",
        data={"csrf_token": token, "username": "ada", "password": PASSWORD},
    )
    assert code_step(client, admin.code()).headers["Location"] == "/admin/history"
    assert clerk.id and manager.id


def test_a_wrong_password_is_recorded_with_the_typed_name_and_the_address(
    app: Flask, clock: Any
) -> None:
    make_account(app, "clerk", Role.CLERK)
    response = password_step(browser(app), "clerk", "not the password")
    assert response.status_code == 401
    response = password_step(browser(app), "nobody-here", "whatever")
    assert response.status_code == 401
    entries = history(app, "sign_in_failed")
    assert [(e.after, e.address, e.actor_id) for e in entries] == [
        ({"username": "clerk"}, "127.0.0.1", None),
        ({"username": "nobody-here"}, "127.0.0.1", None),
    ]


def test_the_code_step_is_rate_limited_too(app: Flask, clock: Any) -> None:
    from okienko.app import create_app

    limited = create_app(
        {
            **{k: app.config[k] for k in ("SQLALCHEMY_DATABASE_URI", "SECRET_KEY", "MAIL_OUTBOX")},
            "INSTANCE_PATH": app.instance_path,
            "TESTING": True,
            "RATELIMIT_ENABLED": True,
            "RATELIMIT_STORAGE_URI": "memory://",
            "RATELIMIT_KEY_PREFIX": uuid.uuid4().hex,
            "LOGIN_RATE_LIMIT": "3 per minute",
        }
    )
    make_account(limited, "ada", Role.ADMINISTRATOR)
    client = browser(limited)
    password_step(client, "ada")
    token = csrf_token(client, "/login/code")
    statuses = [
        client.post("/login/code", data={"csrf_token": token, "code": "000000"}).status_code
        for _ in range(4)
    ]
    assert statuses == [401, 401, 401, 429]


def wrong_code(account: Account) -> str:
    """A code that is none of the three the sign-in accepts now (this step and either side)."""
    assert account.totp_secret
    totp = pyotp.TOTP(account.totp_secret)
    now = datetime.now(UTC)
    right = {totp.at(now + timedelta(seconds=s)) for s in (-30, 0, 30)}
    return next(c for c in ("000000", "111111", "222222", "333333") if c not in right)


def flashed(client: FlaskClient, response: Any) -> str:
    """The page a refusal redirected to, as text (its flashed message with it)."""
    assert response.status_code == 302, response.status_code
    return html.unescape(client.get(response.headers["Location"]).get_data(as_text=True))


def test_five_wrong_codes_ask_for_the_password_again_even_with_an_old_cookie(
    any_app: Flask, clock: Any
) -> None:
    admin = make_account(any_app, "ada", Role.ADMINISTRATOR)
    client = browser(any_app)
    password_step(client, "ada")
    token = csrf_token(client, "/login/code")
    cookie = client.get_cookie("session")
    assert cookie is not None
    guesses = [
        client.post("/login/code", data={"csrf_token": token, "code": wrong_code(admin)})
        for _ in range(5)
    ]
    assert [r.status_code for r in guesses] == [401, 401, 401, 401, 302]
    assert guesses[-1].headers["Location"] == "/login"
    assert "Too many wrong codes. Sign in again with your password." in flashed(client, guesses[-1])
    # Even the right code is refused now; and sending the cookie of before the guesses
    # again revives nothing: the tries are counted in the history, not in the browser.
    client.set_cookie("session", cookie.value)
    late = client.post("/login/code", data={"csrf_token": token, "code": admin.code()})
    assert late.status_code == 302 and late.headers["Location"] == "/login"
    assert not signed_in(client)
    assert len(history(any_app, "second_factor_failed")) == 5
    # The password again opens five new tries; the right code signs in.
    again = browser(any_app)
    assert password_step(again, "ada").headers["Location"] == "/login/code"
    assert code_step(again, admin.code()).status_code == 302
    assert signed_in(again)


def test_ten_wrong_codes_in_a_quarter_hour_make_the_account_wait(app: Flask, clock: Any) -> None:
    admin = make_account(app, "ada", Role.ADMINISTRATOR)
    for address in ("192.0.2.1", "198.51.100.7"):  # guesses from two places, five each
        guesser = browser(app)
        guesser.environ_base["REMOTE_ADDR"] = address
        password_step(guesser, "ada")
        statuses = [code_step(guesser, wrong_code(admin)).status_code for _ in range(5)]
        assert statuses == [401, 401, 401, 401, 302]
    assert {e.address for e in history(app, "second_factor_failed")} == {
        "192.0.2.1",
        "198.51.100.7",
    }

    owner = browser(app)
    assert password_step(owner, "ada").headers["Location"] == "/login/code"
    refused = owner.get("/login/code")
    assert refused.status_code == 302 and refused.headers["Location"] == "/login"
    assert (
        "Too many wrong codes were typed for this account. "
        "Wait a quarter of an hour, then sign in again."
    ) in flashed(owner, refused)
    password_step(owner, "ada")
    token = csrf_token(owner, "/login")
    right = owner.post("/login/code", data={"csrf_token": token, "code": admin.code()})
    assert right.status_code == 302 and right.headers["Location"] == "/login"
    assert not signed_in(owner)

    clock.shift(timedelta(minutes=14, seconds=59))
    password_step(owner, "ada")
    assert owner.get("/login/code").status_code == 302
    clock.shift(timedelta(seconds=2))  # the first ten are older than a quarter of an hour
    assert password_step(owner, "ada").headers["Location"] == "/login/code"
    assert code_step(owner, admin.code()).status_code == 302
    assert signed_in(owner)


# --- enrolling the second factor -------------------------------------------------------


def enrolment_secret(page: str) -> str:
    match = re.search(r'<code class="secret">([A-Z2-7 ]+)</code>', page)
    assert match, page[:3000]
    return match.group(1).replace(" ", "")


def test_an_administrator_without_a_second_factor_must_enrol_first(app: Flask, clock: Any) -> None:
    admin = make_account(app, "ada", Role.ADMINISTRATOR, second_factor=False)
    client = browser(app)
    response = password_step(client, "ada")
    assert response.status_code == 302 and response.headers["Location"] == "/admin/"
    for page in ("/admin/", "/admin/accounts", "/admin/account", f"/admin/o/{ZIELNA}/"):
        response = client.get(page)
        assert response.status_code == 302, page
        assert response.headers["Location"] == "/admin/account/second-factor", page

    page = client.get("/admin/account/second-factor")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert '<svg class="qr" role="img"' in text and "data:" not in text
    secret = enrolment_secret(text)
    assert client.get("/admin/account/second-factor").get_data(as_text=True).count(secret[:4]) >= 1

    wrong = post_form(client, "/admin/account/second-factor", {"action": "enrol", "code": "123456"})
    assert wrong.status_code == 422
    assert field_error(wrong, "code").startswith("This code does not match.")
    done = post_form(
        client,
        "/admin/account/second-factor",
        {"action": "enrol", "code": pyotp.TOTP(secret).now()},
    )
    assert done.status_code == 200 and done.headers["Cache-Control"] == "no-store"
    codes = re.findall(r"<li><code>([A-Z2-7]{4}(?:-[A-Z2-7]{4}){3})</code></li>", done.text)
    assert len(set(codes)) == 10
    assert client.get("/admin/").status_code == 200
    stored = user(app, admin.id)
    assert stored.totp_secret == secret and stored.totp_enabled_at == NOW
    [entry] = history(app, "second_factor_enrolled")
    assert entry.actor_id == admin.id and secret not in json.dumps([entry.before, entry.after])

    # From now on the sign-in asks for the code; the enrolment code itself is spent.
    again = browser(app)
    assert password_step(again, "ada").headers["Location"] == "/login/code"
    assert code_step(again, pyotp.TOTP(secret).now()).status_code == 401
    clock.shift(timedelta(seconds=30))
    assert code_step(again, pyotp.TOTP(secret).now()).status_code == 302


def session_cookie(app: Flask, client: FlaskClient) -> dict[str, Any]:
    """What the browser's session cookie holds, read as the app reads it."""
    cookie = client.get_cookie("session")
    assert cookie is not None
    serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
    return serializer.loads(cookie.value)


def test_the_secret_being_enrolled_stays_on_the_account_not_in_the_cookie(
    app: Flask, clock: Any
) -> None:
    admin = make_account(app, "ada", Role.ADMINISTRATOR, second_factor=False)
    client = browser(app)
    password_step(client, "ada")
    secret = enrolment_secret(client.get("/admin/account/second-factor").text)
    assert secret not in json.dumps(session_cookie(app, client))
    assert enrolment_secret(client.get("/admin/account/second-factor").text) == secret
    stored = user(app, admin.id)
    assert (stored.totp_secret, stored.totp_enabled_at) == (secret, None)

    # Being enrolled is not having a second factor: the password alone signs in (to the
    # enrolment), and no code of the pending secret counts as a second factor.
    other = browser(app)
    assert password_step(other, "ada").headers["Location"] == "/admin/"
    assert other.get("/admin/").headers["Location"] == "/admin/account/second-factor"
    with app.app_context():
        pending = db.session.get(StaffUser, admin.id)
        assert not accept_code(db.session(), pending, pyotp.TOTP(secret).now(), NOW)

    done = post_form(
        client,
        "/admin/account/second-factor",
        {"action": "enrol", "code": pyotp.TOTP(secret).now()},
    )
    assert done.status_code == 200
    assert secret not in json.dumps(session_cookie(app, client))
    assert user(app, admin.id).totp_enabled_at == NOW


def test_a_person_with_a_second_factor_never_starts_another(app: Flask, clock: Any) -> None:
    manager = make_account(app, "manager", Role.MANAGER, manages=[ZIELNA], second_factor=True)
    client = sign_in(app, manager)
    page = client.get("/admin/account/second-factor").text
    assert '<svg class="qr"' not in page and 'name="off-password"' in page
    assert post_form(
        client,
        "/admin/account/second-factor",
        {"action": "enrol", "code": manager.code()},
        action="/admin/account/second-factor",
    ).status_code in (400, 422)
    stored = user(app, manager.id)
    assert stored.totp_secret == manager.totp_secret and stored.totp_enabled_at == NOW
    assert history(app, "second_factor_enrolled") == []


def test_a_manager_may_turn_the_second_factor_off_and_an_administrator_may_not(
    app: Flask, clock: Any
) -> None:
    manager = make_account(app, "manager", Role.MANAGER, manages=[ZIELNA], second_factor=True)
    client = sign_in(app, manager)
    page = "/admin/account/second-factor"
    token = re.search(r'name="off-csrf_token" type="hidden" value="([^"]+)"', client.get(page).text)
    assert token
    wrong = client.post(
        page, data={"off-csrf_token": token.group(1), "action": "off", "off-password": "nope"}
    )
    assert wrong.status_code == 422
    assert field_error(wrong, "off-password") == "This is not your password."
    off = client.post(
        page, data={"off-csrf_token": token.group(1), "action": "off", "off-password": PASSWORD}
    )
    assert off.status_code == 302
    assert user(app, manager.id).totp_secret is None
    assert password_step(browser(app), "manager").headers["Location"] == "/admin/"

    admin = make_account(app, "ada", Role.ADMINISTRATOR)
    clock.shift(timedelta(seconds=30))
    client = sign_in(app, admin)
    assert 'name="off-password"' not in client.get(page).text
    token = csrf_token(client, "/admin/account")
    refused = client.post(
        page, data={"csrf_token": token, "action": "off", "off-password": PASSWORD}
    )
    assert refused.status_code == 403
    assert user(app, admin.id).totp_enabled_at is not None
    assert [e.actor_id for e in history(app, "second_factor_disabled")] == [manager.id]


def test_new_recovery_codes_replace_the_old_ones(app: Flask, clock: Any) -> None:
    admin = make_account(app, "ada", Role.ADMINISTRATOR)
    with app.app_context():
        old = new_recovery_codes(db.session(), db.session.get(StaffUser, admin.id))
        db.session.commit()
    client = sign_in(app, admin)
    page = "/admin/account/second-factor"
    token = re.search(
        r'name="codes-csrf_token" type="hidden" value="([^"]+)"', client.get(page).text
    )
    assert token
    response = client.post(
        page,
        data={"codes-csrf_token": token.group(1), "action": "codes", "codes-password": PASSWORD},
    )
    assert response.status_code == 200
    new = re.findall(r"<li><code>([A-Z2-7-]{19})</code></li>", response.text)
    assert len(new) == 10 and not set(new) & set(old)
    for code, works in ((old[0], False), (new[0], True)):
        client = browser(app)
        password_step(client, "ada")
        assert code_step(client, code).status_code == (302 if works else 401), code
    assert len(history(app, "recovery_codes_renewed")) == 1


# --- passwords and sessions ------------------------------------------------------------


@pytest.mark.parametrize(
    "password,message",
    [
        ("short", "Use at least 12 characters."),
        ("password1234", "This is one of the most common passwords. Choose another."),
        ("zielna-manager-2026", "This password is too easy to guess. Add words or characters."),
    ],
)
def test_the_password_policy_is_told_next_to_the_field(
    app: Flask, clock: Any, password: str, message: str
) -> None:
    manager = make_account(app, "zielna-manager", Role.MANAGER, manages=[ZIELNA])
    client = sign_in(app, manager)
    response = post_form(
        client,
        "/admin/account/password",
        {"current": PASSWORD, "new": password, "repeat": password},
    )
    assert response.status_code == 422
    assert field_error(response, "new") == message
    assert 'value="' + password not in response.text  # passwords are never sent back
    assert password_step(browser(app), "zielna-manager").status_code == 302  # unchanged


def test_a_wrong_current_password_or_a_mistyped_repeat_is_refused(app: Flask, clock: Any) -> None:
    manager = make_account(app, "manager", Role.MANAGER, manages=[ZIELNA])
    client = sign_in(app, manager)
    page = "/admin/account/password"
    response = post_form(
        client, page, {"current": "wrong", "new": NEW_PASSWORD, "repeat": NEW_PASSWORD}
    )
    assert response.status_code == 422
    assert field_error(response, "current") == "This is not your current password."
    response = post_form(client, page, {"current": PASSWORD, "new": NEW_PASSWORD, "repeat": "x"})
    assert response.status_code == 422
    assert field_error(response, "repeat") == "The two passwords differ."


def test_a_new_password_ends_the_other_sessions_but_not_a_kiosk(app: Flask, clock: Any) -> None:
    manager = make_account(app, "manager", Role.MANAGER, manages=[ZIELNA])
    here, elsewhere = sign_in(app, manager), sign_in(app, manager)
    kiosk = signed_in_device(app, DeviceKind.KIOSK)
    response = post_form(
        here,
        "/admin/account/password",
        {"current": PASSWORD, "new": NEW_PASSWORD, "repeat": NEW_PASSWORD},
    )
    assert response.status_code == 302 and response.headers["Location"] == "/admin/account"
    assert signed_in(here)
    assert not signed_in(elsewhere)
    assert kiosk.get("/kiosk/").status_code == 200
    assert password_step(browser(app), "manager").status_code == 401
    assert password_step(browser(app), "manager", NEW_PASSWORD).status_code == 302
    [entry] = history(app, "password_changed")
    assert entry.actor_id == manager.id and entry.before == entry.after == {}


def test_signing_out_of_one_browser_leaves_the_kiosk_and_other_browsers(
    app: Flask, clock: Any
) -> None:
    kiosk = signed_in_device(app, DeviceKind.KIOSK)
    clerk = Clerk(app, "koszalin1")
    other = Clerk(app, "koszalin1")
    response = clerk.client.post("/counter/logout", data={"csrf_token": clerk.token})
    assert response.status_code == 302
    assert clerk.client.get("/counter/").status_code == 302
    assert other.client.get("/counter/").status_code == 200
    assert kiosk.get("/kiosk/").status_code == 200


def test_idle_sessions_end_after_their_time(app: Flask, clock: Any) -> None:
    manager = sign_in(app, make_account(app, "manager", Role.MANAGER, manages=[ZIELNA]))
    clerk = sign_in(app, make_account(app, "clerk", Role.CLERK))
    kiosk = signed_in_device(app, DeviceKind.KIOSK)
    for client in (manager, clerk):
        assert signed_in(client)
    clock.shift(timedelta(minutes=29))
    assert signed_in(manager), "29 minutes of reading a page is not idleness"
    clock.shift(timedelta(minutes=31))
    response = manager.get("/admin/account")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/admin/account"
    assert signed_in(clerk), "a clerk's counter stays open through the shift"
    clock.shift(timedelta(minutes=app.config["CLERK_IDLE_MINUTES"] + 1))
    assert not signed_in(clerk)
    assert kiosk.get("/kiosk/").status_code == 200


# --- reset links -----------------------------------------------------------------------


def confirmed(client: FlaskClient, action: str, data: dict[str, str]) -> Any:
    """Post ``data`` to ``action``, then confirm on the page that answers, as a person does."""
    asked = client.post(action, data=data)
    assert asked.status_code == 200 and 'name="confirm" value="1"' in asked.text, asked.text[:2000]
    return client.post(action, data={**data, "confirm": "1"})


def start_reset(client: FlaskClient, user_id: int) -> Any:
    page = f"/admin/accounts/{user_id}"
    return confirmed(client, f"{page}/reset", {"csrf_token": csrf_token(client, page)})


def test_a_reset_link_works_once(any_app: Flask, clock: Any) -> None:
    admin = sign_in(any_app, make_account(any_app, "ada", Role.ADMINISTRATOR))
    clerk = make_account(any_app, "clerk", Role.CLERK)
    signed_in_clerk = sign_in(any_app, clerk)
    response = start_reset(admin, clerk.id)
    assert response.headers["Cache-Control"] == "no-store"
    link = one_time_link(response)
    assert link.startswith("/admin/reset/")
    assert "24 hours" in response.text

    page = browser(any_app).get(link)
    assert page.status_code == 200 and "clerk" in page.text
    weak = set_password_by_link(any_app, link, "password1234")
    assert weak.status_code == 422
    assert field_error(weak, "new") == "This is one of the most common passwords. Choose another."
    done = set_password_by_link(any_app, link)
    assert done.status_code == 302 and done.headers["Location"] == "/login"
    assert not signed_in(signed_in_clerk, "/counter/")
    assert password_step(browser(any_app), "clerk", NEW_PASSWORD).status_code == 302

    again = browser(any_app).get(link)
    assert again.status_code == 410 and "cannot be used" in again.text
    assert set_password_by_link(any_app, link, "Another fine password 77").status_code == 410
    assert browser(any_app).get("/admin/reset/made-up").status_code == 410
    started, used = history(any_app, "password_reset_started"), history(any_app, "password_reset")
    assert [(e.actor_id, e.record_id) for e in started] == [(admin_id(any_app), str(clerk.id))]
    assert [(e.actor_id, e.record_id) for e in used] == [(clerk.id, str(clerk.id))]


def admin_id(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(StaffUser.id).where(StaffUser.username == "ada"))


def test_a_reset_link_expires_and_a_newer_one_voids_it(app: Flask, clock: Any) -> None:
    admin = sign_in(app, make_account(app, "ada", Role.ADMINISTRATOR))
    clerk = make_account(app, "clerk", Role.CLERK)
    first = one_time_link(start_reset(admin, clerk.id))
    second = one_time_link(start_reset(admin, clerk.id))
    assert browser(app).get(first).status_code == 410
    assert browser(app).get(second).status_code == 200
    clock.shift(timedelta(hours=24, seconds=1))
    assert browser(app).get(second).status_code == 410


def test_two_tabs_cannot_both_use_one_reset_link(any_app: Flask) -> None:
    with time_machine.travel(NOW, tick=True):
        admin = sign_in(any_app, make_account(any_app, "ada", Role.ADMINISTRATOR))
        clerk = make_account(any_app, "clerk", Role.CLERK)
        link = one_time_link(start_reset(admin, clerk.id))
        with LiveServer(any_app) as server:

            class Attempt:
                def prepare(self, i: int) -> tuple[requests.Session, str]:
                    session = requests.Session()
                    page = session.get(server.url + link, timeout=60).text
                    return session, CSRF_RE.search(page).group(1)

                def __call__(self, i: int, prepared: tuple[requests.Session, str]) -> Any:
                    session, token = prepared
                    password = f"Tab number {i} sets this one"
                    return session.post(
                        server.url + link,
                        data={"csrf_token": token, "new": password, "repeat": password},
                        allow_redirects=False,
                        timeout=120,
                    )

            statuses = sorted(r.status_code for r in race(2, Attempt()))
    assert statuses == [302, 410]
    with any_app.app_context():
        [reset] = db.session.scalars(select(PasswordReset)).all()
        assert reset.used_at is not None
    assert len(history(any_app, "password_reset")) == 1


def test_a_manager_resets_only_the_clerks_of_their_office(app: Flask, clock: Any) -> None:
    manager = sign_in(app, make_account(app, "manager", Role.MANAGER, manages=[ZIELNA]))
    clerk = make_account(app, "clerk", Role.CLERK)
    other_manager = make_account(app, "other", Role.MANAGER, manages=[ZIELNA])
    admin = make_account(app, "ada", Role.ADMINISTRATOR)
    plzen_clerk = make_account(app, "plzen-clerk", Role.CLERK, home=PLZEN)
    staff_page = f"/admin/o/{ZIELNA}/staff"
    page = manager.get(staff_page)
    assert page.status_code == 200
    resets = re.findall(r'action="/admin/o/bytom-zielna/staff/(\d+)/reset"', page.text)
    assert resets == [str(clerk.id)]
    assert "Staff" in manager.get(f"/admin/o/{ZIELNA}/").text  # in the office's navigation

    def reset(slug: str, user_id: int) -> Any:
        action = f"/admin/o/{slug}/staff/{user_id}/reset"
        token = csrf_token(manager, staff_page)
        if slug == ZIELNA and user_id == clerk.id:
            return confirmed(manager, action, {"csrf_token": token})
        return post_form(manager, staff_page, {"confirm": "1"}, action=action)

    link = one_time_link(reset(ZIELNA, clerk.id))
    assert browser(app).get(link).status_code == 200
    assert reset(ZIELNA, other_manager.id).status_code == 403
    assert reset(ZIELNA, admin.id).status_code == 403
    assert reset(ZIELNA, plzen_clerk.id).status_code == 404  # not this office's
    assert reset(PLZEN, plzen_clerk.id).status_code == 403  # not the manager's office
    [entry] = history(app, "password_reset_started")
    with app.app_context():
        assert entry.office_id == office(ZIELNA).id and entry.record_id == str(clerk.id)


# --- accounts --------------------------------------------------------------------------


def account_form(**values: Any) -> dict[str, Any]:
    return {"name": "Jana Nová", "role": "clerk", "office": "", "offices": [], **values}


def test_an_administrator_creates_an_account_that_gets_its_password_by_link(
    app: Flask, clock: Any
) -> None:
    admin = sign_in(app, make_account(app, "ada", Role.ADMINISTRATOR))
    with app.app_context():
        zielna, ak = office(ZIELNA).id, office("bytom-armii-krajowej").id
    data = account_form(
        username=" Nowa.Kierowniczka ",
        name="Nowa Kierowniczka",
        role="manager",
        office=str(zielna),
        offices=[str(zielna), str(ak)],
    )
    response = post_form(admin, "/admin/accounts/new", data)
    link = one_time_link(response)
    assert "The account is created." in response.text
    with app.app_context():
        created = db.session.scalar(
            select(StaffUser).where(StaffUser.username == "nowa.kierowniczka")
        )
        assert created is not None and created.role == Role.MANAGER
        assert sorted(o.id for o in created.managed_offices) == sorted([zielna, ak])
        created_id = created.id
    # Nobody knows its password until the link sets one.
    assert set_password_by_link(app, link).status_code == 302
    client = browser(app)
    assert password_step(client, "nowa.kierowniczka", NEW_PASSWORD).headers["Location"] == "/admin/"
    assert client.get(f"/admin/o/{ZIELNA}/staff").status_code == 200

    [entry] = history(app, "create")
    assert entry.record_id == str(created_id) and entry.office_id is None
    assert entry.after == {
        "username": "nowa.kierowniczka",
        "name": "Nowa Kierowniczka",
        "role": "manager",
        "office": ZIELNA,
        "offices": sorted([ZIELNA, "bytom-armii-krajowej"]),
        "active": True,
    }

    taken = post_form(admin, "/admin/accounts/new", {**data, "username": "nowa.kierowniczka"})
    assert taken.status_code == 409
    assert field_error(taken, "username") == "This user name is taken. Choose another."
    assert 'value="Nowa Kierowniczka"' in taken.text  # what was typed stays
    bad = post_form(admin, "/admin/accounts/new", {**data, "username": "with space"})
    assert bad.status_code == 422 and field_error(bad, "username").startswith("Use small letters")


def test_an_administrator_edits_an_account_and_the_history_keeps_the_changed_fields(
    app: Flask, clock: Any
) -> None:
    admin = sign_in(app, make_account(app, "ada", Role.ADMINISTRATOR))
    clerk = make_account(app, "clerk", Role.CLERK)
    with app.app_context():
        zielna, plzen = office(ZIELNA).id, office(PLZEN).id
    page = f"/admin/accounts/{clerk.id}"
    data = account_form(
        name="Clerk Promoted", role="manager", office=str(zielna), offices=[str(plzen)]
    )
    response = post_form(admin, page, data)
    assert response.status_code == 302 and response.headers["Location"] == page
    [entry] = history(app, "update")
    assert entry.before == {"name": "Clerk", "role": "clerk", "offices": []}
    assert entry.after == {"name": "Clerk Promoted", "role": "manager", "offices": [PLZEN]}
    assert "Clerk Promoted" in admin.get("/admin/accounts?role=manager").text
    assert "Clerk Promoted" not in admin.get("/admin/accounts?role=clerk").text
    assert admin.get("/admin/accounts?role=boss").status_code == 400


def test_a_disabled_account_is_signed_out_and_its_counter_freed(app: Flask, clock: Any) -> None:
    admin = sign_in(app, make_account(app, "ada", Role.ADMINISTRATOR))
    kiosk = signed_in_device(app, DeviceKind.KIOSK)
    clerk = Clerk(app, "koszalin1", "Stanowisko 1", office="koszalin-zbm")
    assert user(app, clerk.id).counter_id is not None
    page = f"/admin/accounts/{clerk.id}"
    action = f"/admin/accounts/{clerk.id}/active"
    response = confirmed(admin, action, {"csrf_token": csrf_token(admin, page), "active": "0"})
    assert response.status_code == 302
    stored = user(app, clerk.id)
    assert not stored.active and stored.counter_id is None
    assert clerk.client.get("/counter/").status_code == 302
    assert "disabled" in admin.get("/admin/accounts?active=0").text
    assert password_step(browser(app), "koszalin1", "Okienko-test-2026").status_code == 401
    assert kiosk.get("/kiosk/").status_code == 200

    response = post_form(admin, page, {"active": "1"}, action=action)
    assert response.status_code == 302 and user(app, clerk.id).active
    assert password_step(browser(app), "koszalin1", "Okienko-test-2026").status_code == 302
    changes = [e for e in history(app) if e.action in ("disable", "enable")]
    assert [(e.action, e.before, e.after) for e in changes] == [
        ("disable", {"active": True}, {"active": False}),
        ("enable", {"active": False}, {"active": True}),
    ]


def test_the_last_administrator_cannot_disable_or_demote_themselves(app: Flask, clock: Any) -> None:
    ada = make_account(app, "ada", Role.ADMINISTRATOR)
    client = sign_in(app, ada)
    page = f"/admin/accounts/{ada.id}"
    response = post_form(client, page, {"active": "0", "confirm": "1"}, action=f"{page}/active")
    assert response.status_code == 409
    assert "This is the last active administrator." in response.text
    assert 'value="Ada"' in response.text  # the account's form, as it is
    with app.app_context():
        zielna = office(ZIELNA).id
    demoted = post_form(client, page, account_form(name="Ada", role="manager", office=str(zielna)))
    assert demoted.status_code == 409
    assert field_error(demoted, "role").startswith("This is the last active administrator.")
    assert user(app, ada.id).active and user(app, ada.id).role == Role.ADMINISTRATOR

    # With a second administrator, either may step down.
    bob = make_account(app, "bob", Role.ADMINISTRATOR)
    response = post_form(client, page, {"active": "0", "confirm": "1"}, action=f"{page}/active")
    assert response.status_code == 302 and not user(app, ada.id).active
    assert user(app, bob.id).active
    assert not history(app, "disable")[0].before.get("password_hash")


def test_two_administrators_disabling_each_other_at_once_leave_one(any_app: Flask) -> None:
    with time_machine.travel(NOW, tick=True):
        accounts = [make_account(any_app, name, Role.ADMINISTRATOR) for name in ("ada", "bob")]
        with LiveServer(any_app) as server:

            class Attempt:
                def prepare(self, i: int) -> tuple[requests.Session, str]:
                    me, other = accounts[i], accounts[1 - i]
                    session = requests.Session()
                    for url, data in (
                        ("/login", {"username": me.username, "password": PASSWORD}),
                        ("/login/code", {"code": me.code()}),
                    ):
                        page = session.get(server.url + url, timeout=60).text
                        token = CSRF_RE.search(page).group(1)
                        session.post(server.url + url, data={"csrf_token": token, **data})
                    page = session.get(f"{server.url}/admin/accounts/{other.id}", timeout=60)
                    assert page.status_code == 200, page.text[:2000]
                    return session, CSRF_RE.search(page.text).group(1)

                def __call__(self, i: int, prepared: tuple[requests.Session, str]) -> Any:
                    session, token = prepared
                    return session.post(
                        f"{server.url}/admin/accounts/{accounts[1 - i].id}/active",
                        data={"csrf_token": token, "active": "0", "confirm": "1"},
                        allow_redirects=False,
                        timeout=120,
                    )

            statuses = sorted(r.status_code for r in race(2, Attempt()))
    # The second to commit finds itself the last administrator (or already signed out).
    assert statuses[0] == 302 and statuses[1] in (302, 409), statuses
    assert sum(user(any_app, a.id).active for a in accounts) == 1


def test_no_password_or_secret_ever_reaches_the_history(app: Flask, clock: Any) -> None:
    admin = sign_in(app, make_account(app, "ada", Role.ADMINISTRATOR))
    clerk = make_account(app, "clerk", Role.CLERK)
    set_password_by_link(app, one_time_link(start_reset(admin, clerk.id)))
    post_form(
        admin,
        f"/admin/accounts/{clerk.id}",
        {"active": "0", "confirm": "1"},
        f"/admin/accounts/{clerk.id}/active",
    )
    with app.app_context():
        hashes = [u.password_hash for u in db.session.scalars(select(StaffUser))]
        secrets = [u.totp_secret for u in db.session.scalars(select(StaffUser)) if u.totp_secret]
    entries = history(app)
    assert {e.action for e in entries} >= {
        "sign_in",
        "password_reset_started",
        "password_reset",
        "disable",
    }
    text = json.dumps([[e.before, e.after] for e in entries])
    for secret in [*hashes, *secrets, NEW_PASSWORD, PASSWORD, "scrypt:", "pbkdf2:"]:
        assert secret not in text


# --- retention -------------------------------------------------------------------------


def test_sign_in_entries_forget_the_name_and_address_after_the_retention_period(
    app: Flask,
) -> None:
    clerk = make_account(app, "clerk", Role.CLERK)
    old, recent = NOW - timedelta(days=91), NOW - timedelta(days=89)
    for when in (old, recent):
        with time_machine.travel(when, tick=False):
            sign_in(app, Account(clerk.id, "clerk", None))
            password_step(browser(app), "clerk", "a wrong one")
    with time_machine.travel(NOW, tick=False):
        scheduler._app = app
        assert scheduler.run_job("sign_in_retention") == 2  # one erased, one deleted
        assert scheduler.run_job("sign_in_retention") == 0
    entries = history(app)
    assert [(e.action, e.at, e.address, e.after) for e in entries] == [
        ("sign_in", old, None, {"method": "password"}),
        ("sign_in", recent, "127.0.0.1", {"username": "clerk", "method": "password"}),
        ("sign_in_failed", recent, "127.0.0.1", {"username": "clerk"}),
    ]
    assert entries[0].actor_id == clerk.id  # who signed in stays, as for any change


# --- the demo --------------------------------------------------------------------------


def test_flask_demo_prints_the_administration_and_its_logins(app: Flask, clock: Any) -> None:
    output = app.test_cli_runner().invoke(args=["demo"]).output
    assert "Administration: http://testserver/admin/" in output
    secret = re.search(r"add the key ([A-Z2-7]{32}) to an authenticator app", output).group(1)
    recovery = re.search(r"recovery code ([A-Z2-7]{4}(?:-[A-Z2-7]{4}){3})", output).group(1)
    for line in ("kierownik  manager: ", "vedouci    manager: ", "admin      administrator: "):
        assert line in output

    admin = browser(app)
    password_step(admin, "admin", "demo")
    assert code_step(admin, pyotp.TOTP(secret).now()).headers["Location"] == "/admin/"
    again = browser(app)
    password_step(again, "admin", "demo")
    assert code_step(again, recovery).status_code == 302
    manager = browser(app)
    assert password_step(manager, "kierownik", "demo").headers["Location"] == "/admin/"
    home = manager.get("/admin/").text
    assert "ul. Zielna 25b" in home and "ul. Armii Krajowej 54b" in home and "Plze" not in home
    vedouci = browser(app)
    password_step(vedouci, "vedouci", "demo")
    assert vedouci.get(f"/admin/o/{PLZEN}/").status_code == 200
    assert vedouci.get(f"/admin/o/{ZIELNA}/").status_code == 403

    # A second `flask demo` enrols a fresh secret: the old one stops working.
    output = app.test_cli_runner().invoke(args=["demo"]).output
    assert secret not in output
    clock.shift(timedelta(seconds=30))
    late = browser(app)
    password_step(late, "admin", "demo")
    assert code_step(late, pyotp.TOTP(secret).now()).status_code == 401
