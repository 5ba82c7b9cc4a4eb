"""Kiosks and lobby displays as an office manager runs them at /admin/: a device is added
and its link shown once, as a QR code; the link signs the device in; a new link or revoking
stops the old one and the browsers signed in with it; the list shows when each was seen."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from admin.models import ChangeLog
from okienko.database import db, utcnow
from queueing.access import sign_in_device
from queueing.models import Device, DeviceKind, Role
from tests.helpers.admin import ZIELNA, make_account, session_of
from tests.helpers.floor import NOW
from tests.helpers.page_forms import field_errors, forms_of, resend, send, text_of

DEVICES = f"/admin/o/{ZIELNA}/devices"
LINK_RE = re.compile(r'id="device-link"[^>]*value="(http://testserver/device/[^"]+)"')


@pytest.fixture
def office_app(request: pytest.FixtureRequest) -> Flask:
    """The app the test asks for: ``any_app`` (SQLite, then PostgreSQL), else ``app``."""
    return request.getfixturevalue("any_app" if "any_app" in request.fixturenames else "app")


@pytest.fixture
def manager(office_app: Flask, clock: Any) -> FlaskClient:
    """Zielna's manager, reading the pages in English, on Wednesday 25 November 2026."""
    app = office_app
    account = make_account(app, "zielna-manager", Role.MANAGER, manages=[ZIELNA])
    client = session_of(app, account)
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def shown_link(response: Any) -> str:
    """The sign-in link on the page shown after adding a device (or a new link)."""
    assert response.status_code == 200, field_errors(response)
    page = response.get_data(as_text=True)
    match = LINK_RE.search(page)
    assert match, page[:3000]
    assert '<svg class="qr" role="img"' in page  # the code to scan, drawn inline
    assert response.headers["Cache-Control"] == "no-store"
    return urlsplit(match.group(1)).path


def add(manager: FlaskClient, kind: str, name: str) -> str:
    return shown_link(send(manager, DEVICES, {"kind": kind, "name": name}))


def device(app: Flask, name: str) -> Device:
    with app.app_context():
        found = db.session.scalar(select(Device).where(Device.name == name))
        assert found is not None, name
        db.session.expunge(found)
        return found


def signed_in(app: Flask, path: str) -> FlaskClient:
    browser = app.test_client()
    response = browser.get(path)
    assert response.status_code == 302, response.status_code
    return browser


def history(app: Flask) -> list[ChangeLog]:
    with app.app_context():
        rows = db.session.scalars(
            select(ChangeLog).where(ChangeLog.record_type == "device").order_by(ChangeLog.id)
        ).all()
        db.session.expunge_all()
        return list(rows)


def test_a_new_kiosk_signs_in_with_the_link_shown_once(app: Flask, manager: FlaskClient) -> None:
    path = add(manager, "kiosk", "Kiosk at the entrance")
    kiosk = app.test_client()
    response = kiosk.get(path)
    assert response.status_code == 302 and response.headers["Location"].endswith("/kiosk/")
    assert kiosk.get("/kiosk/").status_code == 200
    token = path.rsplit("/", 1)[1]
    listed = manager.get(DEVICES).get_data(as_text=True)
    assert "Kiosk at the entrance" in listed and token not in listed  # shown once only
    [entry] = history(app)
    assert entry.action == "create" and entry.after == {
        "kind": "kiosk",
        "name": "Kiosk at the entrance",
    }
    assert token not in str(entry.before) + str(entry.after)


def test_a_display_link_opens_the_display(app: Flask, manager: FlaskClient) -> None:
    path = add(manager, "display", "Lobby screen")
    display = signed_in(app, path)
    assert display.get("/display/").status_code == 200
    assert display.get("/kiosk/").status_code == 403


def test_revoking_stops_the_link_and_the_signed_in_browser(
    any_app: Flask, manager: FlaskClient
) -> None:
    app = any_app
    path = add(manager, "kiosk", "Kiosk 2")
    kiosk = signed_in(app, path)
    question = send(manager, DEVICES, button="Revoke")
    assert question.status_code == 200 and "Revoke Kiosk 2" in text_of(question)
    assert kiosk.get("/kiosk/").status_code == 200  # nothing happened yet
    done = resend(manager, question)
    assert done.status_code == 302
    assert kiosk.get("/kiosk/").status_code == 403
    assert app.test_client().get(path).status_code == 404
    revoked = device(app, "Kiosk 2")
    assert revoked.revoked_at == NOW
    listed = text_of(manager.get(DEVICES))
    assert "Revoked" in listed and "New link" not in listed
    assert [e.action for e in history(app)] == ["create", "revoke"]


def test_a_revoked_device_is_refused_even_with_its_old_session(app: Flask) -> None:
    """device_required and the sign-in check ``revoked_at`` themselves, whatever the hash."""
    with app.app_context():
        from queueing.access import new_device

        kept, token = new_device(1, DeviceKind.KIOSK, "Kiosk R")
        db.session.commit()
        kept_id = kept.id
    kiosk = signed_in(app, f"/device/{token}")
    with app.app_context():
        db.session.get(Device, kept_id).revoked_at = utcnow()  # the hash left as it was
        db.session.commit()
    assert kiosk.get("/kiosk/").status_code == 403
    assert app.test_client().get(f"/device/{token}").status_code == 404
    with app.test_request_context():
        assert sign_in_device(token) is None


def test_a_new_link_replaces_the_old_one(app: Flask, manager: FlaskClient) -> None:
    old = add(manager, "display", "Lobby screen")
    display = signed_in(app, old)
    question = send(manager, DEVICES, button="New link")
    assert question.status_code == 200 and "The present link stops working" in text_of(question)
    new = shown_link(resend(manager, question))
    assert new != old
    assert app.test_client().get(old).status_code == 404
    assert display.get("/display/").status_code == 403  # signed in with the old link
    assert signed_in(app, new).get("/display/").status_code == 200
    assert [e.action for e in history(app)] == ["create", "new_link"]


def test_a_revoked_device_gets_no_new_link(app: Flask, manager: FlaskClient) -> None:
    add(manager, "kiosk", "Kiosk 3")
    resend(manager, send(manager, DEVICES, button="Revoke"))
    revoked = device(app, "Kiosk 3")
    form = forms_of(manager.get(DEVICES).get_data(as_text=True))[1]
    response = manager.post(
        f"{DEVICES}/{revoked.id}/link",
        data={"csrf_token": form.value("csrf_token"), "confirm": "1"},
    )
    assert response.status_code == 409
    assert device(app, "Kiosk 3").token_hash == revoked.token_hash


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"name": "  "}, "name", "Give the device a name"),
        ({"name": "K" * 101}, "name", "Use at most 100 characters."),
        ({"kind": "printer", "name": "Printer"}, "kind", "Not a valid choice"),
    ],
)
def test_bad_device_input_gets_its_message(
    app: Flask, manager: FlaskClient, changes: dict[str, str], field: str, message: str
) -> None:
    response = send(manager, DEVICES, changes)
    assert response.status_code == 422
    errors = field_errors(response)
    assert list(errors) == [field] and message in errors[field][0], errors
    if field == "name":
        form = max(forms_of(response.get_data(as_text=True)), key=lambda f: len(f.fields))
        assert form.value("name") == changes["name"].strip()
    assert history(app) == []


def test_a_name_is_used_once_among_working_devices(app: Flask, manager: FlaskClient) -> None:
    add(manager, "kiosk", "Kiosk 1")  # the demo offices have no devices of their own
    again = send(manager, DEVICES, {"kind": "kiosk", "name": "Kiosk 1"})
    assert again.status_code == 409
    assert field_errors(again) == {"name": ["A device of this kind has this name already."]}
    assert add(manager, "display", "Kiosk 1")  # another kind may share it


def test_the_list_shows_when_each_device_was_last_seen(
    any_app: Flask, manager: FlaskClient
) -> None:
    app = any_app
    path = add(manager, "kiosk", "Kiosk 1")
    assert device(app, "Kiosk 1").last_seen_at is None
    assert " never " in text_of(manager.get(DEVICES))
    kiosk = signed_in(app, path)
    assert kiosk.get("/kiosk/").status_code == 200  # a read: written in its own transaction
    assert device(app, "Kiosk 1").last_seen_at == NOW
    with time_machine.travel(NOW + timedelta(seconds=50), tick=False):
        kiosk.get("/kiosk/")
        assert device(app, "Kiosk 1").last_seen_at == NOW  # at most once a minute
    later = NOW + timedelta(minutes=5)
    with time_machine.travel(later, tick=False):
        kiosk.get("/kiosk/")
    assert device(app, "Kiosk 1").last_seen_at == later
    listed = text_of(manager.get(DEVICES))
    assert " never " not in listed and "10:05" in listed  # 09:05 UTC, in Bytom's time


def test_a_kiosks_post_and_a_displays_stream_count_as_seen(
    any_app: Flask, manager: FlaskClient
) -> None:
    app = any_app
    from tests.helpers.floor import take_number

    kiosk = signed_in(app, add(manager, "kiosk", "Kiosk 1"))
    display = signed_in(app, add(manager, "display", "Screen"))
    with time_machine.travel(NOW + timedelta(minutes=2), tick=False):
        take_number(kiosk, "zamiana-lokalu")  # a post: the seen time is in its unit of work
    assert device(app, "Kiosk 1").last_seen_at == NOW + timedelta(minutes=2)
    with time_machine.travel(NOW + timedelta(minutes=3), tick=False):
        assert display.get("/display/state.json").status_code == 200
    assert device(app, "Screen").last_seen_at == NOW + timedelta(minutes=3)
