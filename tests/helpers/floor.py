"""The office floor as the floor tests work it: Koszalin's demo office on Wednesday
25 November 2026 (open 07:15-15:15 local, UTC+1), its kiosks and displays signed in through
device links, clerks logged in through the login form and working the counter's JSON API,
and the tickets, bookings and audit entries read back."""

from __future__ import annotations

import html
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import time_machine
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from booking.cli import find_office
from booking.models import Counter, Office, Service
from okienko.database import db
from queueing.cli import replace_device, upsert_staff
from queueing.models import AuditEntry, DeviceKind, Ticket
from queueing.status import status_serializer
from tests.helpers.admission import ADMITTED, KIOSK_ADMITTED
from tests.helpers.forms import csrf_token

KOSZALIN = "koszalin-zbm"
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)  # Wednesday, 10:00 in Koszalin
DAY = date(2026, 11, 25)
PASSWORD = "Okienko-test-2026"
SECRET = "test-secret-" + "x" * 40  # the SECRET_KEY of the test apps
ERROR_RE = re.compile(r'class="flash flash-error kiosk-error" role="alert">(.*?)</p>', re.S)


def utc(day: str, at: str) -> datetime:
    """A Koszalin wall-clock time (CET in November) as UTC."""
    local = datetime.fromisoformat(f"{day}T{at}+01:00")
    return local.astimezone(UTC)


def counter_id(app: Flask, name: str, office: str = KOSZALIN) -> int:
    with app.app_context():
        return db.session.scalar(
            select(Counter.id).join(Office).where(Office.slug == office, Counter.name == name)
        )


def service_id(app: Flask, key: str, office: str = KOSZALIN) -> int:
    with app.app_context():
        return db.session.scalar(
            select(Service.id).join(Office).where(Office.slug == office, Service.key == key)
        )


def device_link(app: Flask, kind: DeviceKind, name: str, office: str = KOSZALIN) -> str:
    with app.app_context():
        link = replace_device(find_office(office), kind, name)
        db.session.commit()
    return urlsplit(link).path


def signed_in_device(
    app: Flask, kind: DeviceKind = DeviceKind.KIOSK, name: str = "Kiosk 1", office: str = KOSZALIN
) -> FlaskClient:
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    response = client.get(device_link(app, kind, name, office))
    target = "/kiosk/" if kind == DeviceKind.KIOSK else "/display/"
    assert response.status_code == 302 and response.headers["Location"].endswith(target)
    # A device starts in its office's language; these tests read the English texts.
    client.get(f"{target}?lang=en")
    return client


def error_of(response: Any) -> str:
    match = ERROR_RE.search(response.get_data(as_text=True))
    assert match, response.get_data(as_text=True)[:2000]
    return html.unescape(match.group(1)).strip()


def ticket_id_of(response: Any) -> int:
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    return int(
        re.fullmatch(r".*/kiosk/ticket/(\d+)(?:\?print=1)?", response.headers["Location"]).group(1)
    )


def take_number(kiosk: FlaskClient, service: str = "raty") -> Any:
    token = csrf_token(kiosk, "/kiosk/")
    return kiosk.post(f"/kiosk/walk-in/{service}", data={"csrf_token": token, **KIOSK_ADMITTED})


def walk_in(kiosk: FlaskClient, service: str = "raty") -> int:
    return ticket_id_of(take_number(kiosk, service))


def check_in(kiosk: FlaskClient, code: str) -> Any:
    token = csrf_token(kiosk, "/kiosk/")
    return kiosk.post("/kiosk/check-in", data={"csrf_token": token, "code": code, **KIOSK_ADMITTED})


def ticket(app: Flask, ticket_id: int) -> Ticket:
    with app.app_context():
        row = db.session.get(Ticket, ticket_id)
        db.session.expunge(row)
        return row


def label(app: Flask, ticket_id: int) -> str:
    return ticket(app, ticket_id).label


def audit(app: Flask, ticket_id: int) -> list[tuple[str, int | None, int | None, datetime]]:
    with app.app_context():
        rows = db.session.scalars(
            select(AuditEntry).where(AuditEntry.ticket_id == ticket_id).order_by(AuditEntry.id)
        ).all()
        return [(r.action, r.staff_id, r.counter_id, r.at) for r in rows]


def book(app: Flask, start: datetime, service: str = "raty", office: str = KOSZALIN, **kw: Any):
    """A booking made through the API the day before; returns its JSON (code and token)."""
    body = {
        "office": office,
        "service": service,
        "start": start.isoformat(),
        "name": "Ewa Mieszkanka",
        "email": kw.pop("email", f"ewa{start:%H%M}@example.com"),
        "consent": True,
        "declaration": ADMITTED,
    }
    with time_machine.travel(start - timedelta(days=1), tick=False):
        response = app.test_client().post("/api/v1/bookings", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


class Clerk:
    """A clerk logged in through the login form, working through the counter's JSON API."""

    def __init__(
        self, app: Flask, username: str, counter: str | None = None, office: str = KOSZALIN
    ):
        self.app = app
        with app.app_context():
            user = upsert_staff(find_office(office), username, f"Clerk {username}", PASSWORD)
            db.session.commit()
            self.id = user.id
        self.client = app.test_client()
        self.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
        login = csrf_token(self.client, "/login")
        response = self.client.post(
            "/login",
            data={"csrf_token": login, "username": username, "password": PASSWORD},
        )
        assert response.status_code == 302, response.get_data(as_text=True)[:1000]
        self.token = csrf_token(self.client, "/counter/")
        self.office = office
        if counter is not None:
            response = self.seat(counter)
            assert response.status_code == 302, response.get_data(as_text=True)

    def post(self, path: str, **form: str) -> Any:
        return self.client.post(
            path, data=form, headers={"Accept": "application/json", "X-CSRFToken": self.token}
        )

    def seat(self, counter: str) -> Any:
        return self.post(
            "/counter/seat", counter_id=str(counter_id(self.app, counter, self.office))
        )

    def call_next(self) -> Any:
        return self.post("/counter/call-next")

    def act(self, ticket_id: int, action: str, **form: str) -> Any:
        return self.post(f"/counter/tickets/{ticket_id}/{action}", **form)


def ok(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    return response.get_json()["ticket"]


def refused(response: Any, status: int, error: str) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)[:2000]
    body = response.get_json()
    assert body["error"] == error, body
    assert body["message"]
    return body


def status_token(app: Flask, ticket_id: int) -> str:
    """The signed token of a ticket's phone status page (/t/<token>)."""
    with app.test_request_context():
        return status_serializer().dumps(ticket_id)
