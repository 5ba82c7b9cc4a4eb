"""Who may do what on the office floor: kiosks, displays, clerks and anonymous visitors each
only their own pages; device links (replaced links sign the old browsers out) and other
offices' tickets; CSRF tokens on every post; staff passwords hashed, disabled clerks logged
out, login redirects kept on the site, and login attempts rate-limited.

Koszalin's demo office on Wednesday 25 November 2026 (open 07:15-15:15 local, UTC+1).
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from flask import Flask
from sqlalchemy import select
from werkzeug.security import check_password_hash

from booking.cli import find_office
from okienko.database import db
from queueing.cli import upsert_staff
from queueing.models import (
    DeviceKind,
    StaffUser,
    Ticket,
    TicketStatus,
)
from tests.helpers.floor import (
    KOSZALIN,
    PASSWORD,
    Clerk,
    counter_id,
    device_link,
    label,
    signed_in_device,
    take_number,
    ticket,
    walk_in,
)
from tests.helpers.forms import csrf_token


def test_kiosk_and_display_cannot_open_staff_pages(app: Flask, clock: Any) -> None:
    kiosk = signed_in_device(app)
    display = signed_in_device(app, DeviceKind.DISPLAY, "Lobby display")
    for device in (kiosk, display):
        for path in ("/counter/", "/counter/line.json", "/counter/stream"):
            assert device.get(path).status_code == 403, path
    token = csrf_token(kiosk, "/kiosk/")
    headers = {"Accept": "application/json", "X-CSRFToken": token}
    for path in ("/counter/call-next", "/counter/seat", "/counter/tickets/1/finish"):
        assert kiosk.post(path, headers=headers).status_code == 403, path
    # Each device only its own kind of page.
    assert kiosk.get("/display/").status_code == 403
    assert kiosk.get("/display/state.json").status_code == 403
    assert display.get("/kiosk/").status_code == 403
    assert display.get("/display/").status_code == 200
    assert kiosk.get("/kiosk/").status_code == 200


def test_device_links_and_tickets_of_other_offices(app: Flask, clock: Any) -> None:
    old_link = device_link(app, DeviceKind.KIOSK, "Kiosk 1")
    kiosk = signed_in_device(app)  # replaces the link of "Kiosk 1"
    assert app.test_client().get(old_link).status_code == 404
    bytom = signed_in_device(app, name="Kiosk 1", office="bytom-zielna")
    ticket_id = walk_in(kiosk)
    assert bytom.get(f"/kiosk/ticket/{ticket_id}").status_code == 404
    assert bytom.get(f"/kiosk/ticket/{ticket_id}/qr.png").status_code == 404
    assert kiosk.get(f"/kiosk/ticket/{ticket_id}").status_code == 200
    # The Bytom kiosk cannot issue Koszalin numbers either.
    assert take_number(bytom, "raty").status_code == 404
    assert label(app, walk_in(kiosk)) == "R002"


def test_a_clerk_cannot_use_the_devices_pages(app: Flask, clock: Any) -> None:
    kiosk = signed_in_device(app)
    ticket_id = walk_in(kiosk)
    clerk = Clerk(app, "koszalin1", "Stanowisko 1")
    for path in (
        "/kiosk/",
        f"/kiosk/ticket/{ticket_id}",
        f"/kiosk/ticket/{ticket_id}/qr.png",
        "/display/",
        "/display/state.json",
        "/display/stream",
    ):
        assert clerk.client.get(path).status_code == 403, path
    assert clerk.post("/kiosk/walk-in/raty").status_code == 403
    assert clerk.client.get("/counter/").status_code == 200


def test_anonymous_visitors_are_sent_to_login_or_refused(app: Flask, clock: Any) -> None:
    client = app.test_client()
    for path in ("/counter/", "/counter/line.json"):
        response = client.get(path)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login?next=")
    for path in ("/kiosk/", "/kiosk/ticket/1", "/display/", "/display/state.json"):
        assert client.get(path).status_code == 403, path
    assert client.get("/device/not-a-device-token").status_code == 404
    assert client.get("/device/" + "x" * 65).status_code == 404
    token = csrf_token(client, "/login")
    response = client.post(
        "/counter/call-next", headers={"X-CSRFToken": token, "Accept": "application/json"}
    )
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_posts_without_a_csrf_token_are_refused(app: Flask, clock: Any) -> None:
    kiosk = signed_in_device(app)
    ticket_id = walk_in(kiosk)
    clerk = Clerk(app, "koszalin1", "Stanowisko 1")
    no_token = {"Accept": "application/json"}
    for path in ("/counter/call-next", f"/counter/tickets/{ticket_id}/call", "/counter/seat"):
        assert clerk.client.post(path, headers=no_token).status_code == 400, path
    bad = {"Accept": "application/json", "X-CSRFToken": "forged"}
    assert clerk.client.post("/counter/call-next", headers=bad).status_code == 400
    assert kiosk.post("/kiosk/walk-in/raty").status_code == 400
    assert kiosk.post("/kiosk/check-in", data={"code": "ABCD-EFGH"}).status_code == 400
    assert ticket(app, ticket_id).status == TicketStatus.WAITING
    with app.app_context():
        assert len(db.session.scalars(select(Ticket)).all()) == 1


def test_staff_passwords_are_hashed_and_checked(app: Flask) -> None:
    with app.app_context():
        user = upsert_staff(find_office(KOSZALIN), "koszalin1", "Ewa Zielińska", PASSWORD)
        db.session.commit()
        assert PASSWORD not in user.password_hash
        assert check_password_hash(user.password_hash, PASSWORD)
    client = app.test_client()
    for username, password in (("koszalin1", "wrong"), ("nobody", PASSWORD)):
        token = csrf_token(client, "/login")
        response = client.post(
            "/login",
            data={"csrf_token": token, "username": username, "password": password},
        )
        assert response.status_code == 401
    assert client.get("/counter/").status_code == 302


def test_a_disabled_clerk_is_logged_out(app: Flask, clock: Any) -> None:
    clerk = Clerk(app, "koszalin1", "Stanowisko 1")
    assert clerk.client.get("/counter/").status_code == 200
    with app.app_context():
        db.session.get(StaffUser, clerk.id).active = False
        db.session.commit()
    assert clerk.client.get("/counter/").status_code == 302
    refused_call = clerk.call_next()
    assert refused_call.status_code == 302 and "/login" in refused_call.headers["Location"]


def test_login_redirects_only_within_the_site(app: Flask) -> None:
    with app.app_context():
        upsert_staff(find_office(KOSZALIN), "koszalin1", "Ewa", PASSWORD)
        db.session.commit()
    for target, expected in (
        ("/counter/line.json", "/counter/line.json"),
        ("https://evil.example/", "/counter/"),
        ("//evil.example/", "/counter/"),
    ):
        client = app.test_client()
        token = csrf_token(client, "/login")
        response = client.post(
            "/login",
            query_string={"next": target},
            data={"csrf_token": token, "username": "koszalin1", "password": PASSWORD},
        )
        assert response.status_code == 302 and response.headers["Location"] == expected, target
    # A backslash that browsers read as a slash still stays on this site.
    client = app.test_client()
    token = csrf_token(client, "/login")
    response = client.post(
        "/login",
        query_string={"next": "/\\evil.example/"},
        data={"csrf_token": token, "username": "koszalin1", "password": PASSWORD},
    )
    location = response.headers["Location"]
    assert location.startswith("/") and not re.match(r"/[/\\]", location), location


def test_a_clerk_cannot_touch_another_offices_tickets(app: Flask, clock: Any) -> None:
    kiosk = signed_in_device(app)
    ticket_id = walk_in(kiosk)
    bytom = Clerk(app, "zielna1", "Punkt obsługi 1", office="bytom-zielna")
    for action in ("call", "urgent", "finish"):
        assert bytom.act(ticket_id, action).status_code == 404
    response = bytom.post("/counter/seat", counter_id=str(counter_id(app, "Stanowisko 2")))
    assert response.status_code == 400
    assert "ticket" not in bytom.call_next().get_json()
    assert ticket(app, ticket_id).status == TicketStatus.WAITING


def test_a_new_device_link_signs_out_browsers_using_the_old_one(app: Flask) -> None:
    kiosk = signed_in_device(app)
    assert kiosk.get("/kiosk/").status_code == 200
    device_link(app, DeviceKind.KIOSK, "Kiosk 1")  # the link is replaced
    assert kiosk.get("/kiosk/").status_code == 403


def test_staff_login_is_rate_limited_and_starts_a_new_session(app: Flask) -> None:
    from okienko.app import create_app

    limited = create_app(
        {
            **{k: app.config[k] for k in ("SQLALCHEMY_DATABASE_URI", "SECRET_KEY", "MAIL_OUTBOX")},
            "INSTANCE_PATH": app.instance_path,
            "TESTING": True,
            "RATELIMIT_ENABLED": True,
            "RATELIMIT_STORAGE_URI": "memory://",
            "LOGIN_RATE_LIMIT": "3 per minute",
        }
    )
    client = limited.test_client()
    token = csrf_token(client, "/login")
    statuses = [
        client.post(
            "/login", data={"csrf_token": token, "username": "x", "password": "y"}
        ).status_code
        for _ in range(4)
    ]
    assert statuses == [401, 401, 401, 429]
    nul = app.test_client()
    answer = nul.post(
        "/login",
        data={"csrf_token": csrf_token(nul, "/login"), "username": "a\0b", "password": "y"},
    )
    assert answer.status_code == 400


def session_cookie(client: Any) -> str | None:
    cookie = client.get_cookie("session")
    return cookie.value if cookie is not None else None


def test_a_request_sent_with_an_older_cookie_does_not_undo_a_language_switch(
    app: Flask, clock: Any
) -> None:
    """A kiosk page's favicon or stream can leave with the cookie from before a resident
    switched the language; answered after the switch, it must not bring the old one back."""
    kiosk = app.test_client()
    kiosk.get(device_link(app, DeviceKind.KIOSK, "Kiosk 1"))
    kiosk.get("/kiosk/")  # the first page keeps a CSRF token in the session
    before_switch = session_cookie(kiosk)
    assert kiosk.get("/kiosk/").headers.get("Set-Cookie") is None  # nothing changed
    assert "session=" in kiosk.get("/kiosk/?lang=en").headers["Set-Cookie"]
    after_switch = session_cookie(kiosk)
    assert after_switch != before_switch

    kiosk.set_cookie("session", before_switch or "")
    late = kiosk.get("/favicon.ico")  # left before the switch, answered after it
    assert late.status_code == 404 and late.headers.get("Set-Cookie") is None
    kiosk.set_cookie("session", after_switch or "")
    page = kiosk.get("/kiosk/")
    assert page.status_code == 200 and b'<html lang="en"' in page.data


def test_a_device_stays_signed_in_for_months(app: Flask, clock: Any) -> None:
    """A kiosk's sign-in is renewed once a day, though the session cookie is sent again
    only when the session changes."""
    kiosk = app.test_client()
    kiosk.get(device_link(app, DeviceKind.KIOSK, "Kiosk 1"))
    kiosk.get("/kiosk/")
    for _ in range(4):
        clock.shift(timedelta(days=25))  # each time within the cookie's 31 days
        renewed = kiosk.get("/kiosk/")
        assert renewed.status_code == 200
        assert "session=" in renewed.headers["Set-Cookie"]
        assert kiosk.get("/kiosk/").headers.get("Set-Cookie") is None  # once a day
