"""A manager's API tokens at /admin/tokens: one is made and shown once (only its hash is
kept), the list says when each was last used, revoking stops it, and a token stops with
its owner's account. Nobody sees or revokes another person's token."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from playwright.sync_api import Browser, expect
from sqlalchemy import select

from admin.models import ApiToken, ChangeLog
from okienko.database import db
from okienko.tokens import hash_token
from queueing.models import Role, StaffUser
from tests.helpers.admin import PASSWORD, PLZEN, ZIELNA, make_account, session_of
from tests.helpers.admin_pages import seen_at_both_widths, shots_folder, watched_page
from tests.helpers.floor import NOW
from tests.helpers.page_forms import field_errors, forms_of, resend, send, text_of
from tests.helpers.staff_tokens import bearer, token_for

if TYPE_CHECKING:
    from tests.helpers.live_server import LiveServer

TOKENS = "/admin/tokens"
REPORTS = "/api/v1/reports"
TOKEN_RE = re.compile(r'id="api-token"[^>]*value="([^"]+)"')


@pytest.fixture
def office_app(request: pytest.FixtureRequest) -> Flask:
    """The app the test asks for: ``any_app`` (SQLite, then PostgreSQL), else ``app``."""
    return request.getfixturevalue("any_app" if "any_app" in request.fixturenames else "app")


@pytest.fixture
def manager(office_app: Flask, clock: Any) -> FlaskClient:
    """Zielna's manager, reading the pages in English, on Wednesday 25 November 2026."""
    account = make_account(office_app, "zielna-manager", Role.MANAGER, manages=[ZIELNA])
    client = session_of(office_app, account)
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def make(manager: FlaskClient, name: str) -> str:
    """Make a token on the page; the secret it shows once."""
    response = send(manager, TOKENS, {"name": name})
    assert response.status_code == 200, field_errors(response)
    assert response.headers["Cache-Control"] == "no-store"
    match = TOKEN_RE.search(response.get_data(as_text=True))
    assert match, text_of(response)[:2000]
    return match.group(1)


def stored(app: Flask, name: str) -> ApiToken:
    with app.app_context():
        found = db.session.scalar(select(ApiToken).where(ApiToken.name == name))
        assert found is not None, name
        db.session.expunge(found)
        return found


def history(app: Flask) -> list[ChangeLog]:
    with app.app_context():
        rows = db.session.scalars(
            select(ChangeLog).where(ChangeLog.record_type == "api_token").order_by(ChangeLog.id)
        ).all()
        db.session.expunge_all()
        return list(rows)


def test_a_token_is_shown_once_and_only_its_hash_is_kept(app: Flask, manager: FlaskClient) -> None:
    secret = make(manager, "Council figures")
    assert app.test_client().get(REPORTS, headers=bearer(secret)).status_code == 200
    token = stored(app, "Council figures")
    assert token.token_hash == hash_token(secret) and secret not in token.token_hash
    assert token.created_at == NOW and token.revoked_at is None
    listed = manager.get(TOKENS)
    assert "Council figures" in text_of(listed)
    assert secret not in listed.get_data(as_text=True)  # shown once only
    [entry] = history(app)
    assert entry.action == "create" and entry.after == {"name": "Council figures"}
    assert entry.office_id is None and secret not in str(entry.before) + str(entry.after)


def test_the_page_is_linked_for_managers_and_closed_to_clerks(
    app: Flask, manager: FlaskClient
) -> None:
    assert f'href="{TOKENS}"' in manager.get("/admin/").get_data(as_text=True)
    clerk = session_of(app, make_account(app, "zielna-clerk", Role.CLERK))
    assert clerk.get(TOKENS).status_code == 403


def test_revoking_asks_first_then_the_token_is_refused(app: Flask, manager: FlaskClient) -> None:
    secret = make(manager, "Nightly export")
    question = send(manager, TOKENS, button="Revoke")
    assert question.status_code == 200
    assert "Revoke the token “Nightly export”" in text_of(question)
    assert app.test_client().get(REPORTS, headers=bearer(secret)).status_code == 200
    done = resend(manager, question)
    assert done.status_code == 302 and done.headers["Location"] == TOKENS
    refused = app.test_client().get(REPORTS, headers=bearer(secret))
    assert refused.status_code == 401
    assert refused.get_json()["error"] == "unauthorized"
    assert stored(app, "Nightly export").revoked_at == NOW
    listed = text_of(manager.get(TOKENS))
    assert "Nightly export" in listed and "Revoked" in listed
    assert [e.action for e in history(app)] == ["create", "revoke"]


def test_a_token_stops_with_its_owners_account(app: Flask, clock: Any) -> None:
    account = make_account(app, "zielna-manager", Role.MANAGER, manages=[ZIELNA])
    secret = token_for(app, account)
    api = app.test_client()
    assert api.get(REPORTS, headers=bearer(secret)).status_code == 200
    with app.app_context():
        db.session.get(StaffUser, account.id).active = False
        db.session.commit()
    refused = api.get(REPORTS, headers=bearer(secret))
    assert refused.status_code == 401
    assert "invalid_token" in refused.headers["WWW-Authenticate"]


def test_the_list_says_when_each_token_was_last_used(any_app: Flask, manager: FlaskClient) -> None:
    app = any_app
    secret = make(manager, "Dashboard")
    assert stored(app, "Dashboard").last_used_at is None
    assert " never " in text_of(manager.get(TOKENS))
    api = app.test_client()
    assert api.get(REPORTS, headers=bearer(secret)).status_code == 200  # a read: own write
    assert stored(app, "Dashboard").last_used_at == NOW
    with time_machine.travel(NOW + timedelta(seconds=50), tick=False):
        api.get(REPORTS, headers=bearer(secret))
    assert stored(app, "Dashboard").last_used_at == NOW  # at most once a minute
    later = NOW + timedelta(minutes=5)
    with time_machine.travel(later, tick=False):
        api.get(REPORTS, headers=bearer(secret))
    assert stored(app, "Dashboard").last_used_at == later
    listed = text_of(manager.get(TOKENS))
    assert " never " not in listed and "10:05" in listed  # 09:05 UTC, in Bytom's time


def test_another_persons_token_is_neither_listed_nor_revoked(
    app: Flask, manager: FlaskClient
) -> None:
    other = make_account(app, "plzen-manager", Role.MANAGER, home=PLZEN, manages=[PLZEN])
    secret = token_for(app, other, "Plzeň's script")
    theirs = stored(app, "Plzeň's script")
    page = manager.get(TOKENS)
    assert "Plzeň's script" not in text_of(page)
    csrf = forms_of(page.get_data(as_text=True))[-1].value("csrf_token")
    sent = {"csrf_token": csrf, "confirm": "1", "token_id": str(theirs.id)}
    assert manager.post(f"{TOKENS}/revoke", data=sent).status_code == 404
    assert manager.post(f"{TOKENS}/revoke", data={**sent, "token_id": "x"}).status_code == 400
    assert stored(app, "Plzeň's script").revoked_at is None
    assert app.test_client().get(REPORTS, headers=bearer(secret)).status_code == 200


def test_posts_without_the_csrf_token_are_refused(app: Flask, manager: FlaskClient) -> None:
    assert manager.post(TOKENS, data={"name": "Forged"}).status_code == 400
    make(manager, "Kept")
    kept = stored(app, "Kept")
    forged = manager.post(f"{TOKENS}/revoke", data={"confirm": "1", "token_id": str(kept.id)})
    assert forged.status_code == 400
    assert stored(app, "Kept").revoked_at is None
    with app.app_context():
        assert db.session.scalars(select(ApiToken.name)).all() == ["Kept"]


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("   ", "Give the token a name, so you know what it is for."),
        ("T" * 101, "Use at most 100 characters."),
        ("bad\x00name", "Remove the invisible control character (NUL) from this text."),
    ],
)
def test_a_token_needs_a_name(app: Flask, manager: FlaskClient, name: str, message: str) -> None:
    response = send(manager, TOKENS, {"name": name})
    assert response.status_code == 422
    assert field_errors(response) == {"name": [message]}
    assert not TOKEN_RE.search(response.get_data(as_text=True))
    assert history(app) == []


@pytest.mark.browser
def test_a_manager_makes_copies_and_revokes_a_token_in_the_browser(
    app: Flask, live_server: LiveServer, browser: Browser, tmp_path: Path
) -> None:
    make_account(app, "zielna-manager", Role.MANAGER, manages=[ZIELNA])
    shots = shots_folder(tmp_path)
    with time_machine.travel(NOW, tick=True), watched_page(browser) as page:
        page.context.grant_permissions(["clipboard-read", "clipboard-write"])
        page.goto(f"{live_server.url}/login?lang=en")
        page.get_by_label("User name").fill("zielna-manager")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.get_by_role("link", name="API tokens").click()
        expect(page.locator("h1")).to_have_text("API tokens")
        seen_at_both_widths(page, shots, "tokens-empty")

        page.get_by_label("What the token is for").fill("Council figures")
        page.get_by_role("button", name="Make the token and show it").click()
        secret = page.get_by_label("Token", exact=True).input_value()
        page.get_by_role("button", name="Copy the token").click()
        expect(page.locator("#api-token-copied")).to_have_text("Copied.")
        assert page.evaluate("navigator.clipboard.readText()") == secret
        seen_at_both_widths(page, shots, "tokens-shown")
        api = app.test_client()
        assert api.get(REPORTS, headers=bearer(secret)).status_code == 200

        page.get_by_role("button", name="Revoke the token “Council figures”").click()
        page.get_by_role("button", name="Revoke the token").click()
        expect(page.locator(".flash-success")).to_have_text(
            "The token “Council figures” is revoked."
        )
        seen_at_both_widths(page, shots, "tokens-revoked")
        assert api.get(REPORTS, headers=bearer(secret)).status_code == 401
