"""The office floor end to end: kiosks, check-in, numbering, counters, access and the phone page.

Everything runs against Koszalin's demo office on Wednesday 25 November 2026 (open
07:15-15:15 local, UTC+1), through the real pages and the counter's JSON API.
"""

from __future__ import annotations

import html
import re
import threading
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash

from booking.codes import format_code
from booking.database import db
from booking.models import Booking, Counter, Office, Service
from booking.tickets import ticket_payload
from queueing.cli import office_by_slug, replace_device, upsert_staff
from queueing.kiosk import status_serializer
from queueing.models import (
    AuditEntry,
    DeviceKind,
    StaffUser,
    Ticket,
    TicketKind,
    TicketSequence,
    TicketStatus,
)
from queueing.numbering import next_number
from queueing.state import recent_handling
from tests.conftest import ADMITTED, CSRF_RE, LiveServer, csrf_token
from tests.live_floor import KIOSK_ADMITTED
from tests.test_concurrency import race

KOSZALIN = "koszalin-zbm"
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)  # Wednesday, 10:00 in Koszalin
DAY = date(2026, 11, 25)
PASSWORD = "Okienko-test-2026"
SECRET = "test-secret-" + "x" * 40  # the SECRET_KEY of the test apps
ERROR_RE = re.compile(r'class="flash flash-error kiosk-error" role="alert">(.*?)</p>', re.S)


# ---------------------------------------------------------------- helpers


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
        link = replace_device(office_by_slug(office), kind, name)
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
    return int(re.fullmatch(r".*/kiosk/ticket/(\d+)", response.headers["Location"]).group(1))


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
            user = upsert_staff(office_by_slug(office), username, f"Clerk {username}", PASSWORD)
            db.session.commit()
            self.id = user.id
        self.client = app.test_client()
        self.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
        login = csrf_token(self.client, "/counter/login")
        response = self.client.post(
            "/counter/login",
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


@pytest.fixture
def clock():
    """10:00 in Koszalin on an ordinary Wednesday; time moves only when a test shifts it."""
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


# ---------------------------------------------------------------- numbering


def test_numbers_count_per_prefix_from_001_and_start_again_the_next_day(app: Flask) -> None:
    with time_machine.travel(NOW, tick=False) as traveller:
        kiosk = signed_in_device(app)
        first = [walk_in(kiosk, "raty"), walk_in(kiosk, "raty"), walk_in(kiosk, "odroczenie")]
        first.append(walk_in(kiosk, "raty"))
        assert [label(app, t) for t in first] == ["R001", "R002", "D001", "R003"]
        page = kiosk.get(f"/kiosk/ticket/{first[-1]}").get_data(as_text=True)
        assert 'data-ticket="R003"' in page
        traveller.move_to(utc("2026-11-26", "08:00"))  # Thursday morning
        again = [walk_in(kiosk, "odroczenie"), walk_in(kiosk, "raty")]
        assert [label(app, t) for t in again] == ["D001", "R001"]
    with app.app_context():
        days = {t.day for t in db.session.scalars(select(Ticket))}
        assert days == {DAY, date(2026, 11, 26)}
        sequences = {
            (s.day, s.prefix): s.last_number for s in db.session.scalars(select(TicketSequence))
        }
        assert sequences == {
            (DAY, "R"): 3,
            (DAY, "D"): 1,
            (date(2026, 11, 26), "R"): 1,
            (date(2026, 11, 26), "D"): 1,
        }


def test_numbering_is_per_office(app: Flask) -> None:
    with time_machine.travel(NOW, tick=False):
        koszalin = signed_in_device(app)
        bytom = signed_in_device(app, office="bytom-zielna")
        assert label(app, walk_in(koszalin, "raty")) == "R001"
        assert label(app, walk_in(bytom, "raty-umorzenia")) == "R001"
        assert label(app, walk_in(koszalin, "raty")) == "R002"


KIOSKS = 40


def test_many_kiosks_issuing_at_once_get_distinct_contiguous_numbers(any_app: Flask) -> None:
    """40 kiosks, each its own device and browser session, press the button at the same instant."""
    links = [device_link(any_app, DeviceKind.KIOSK, f"Kiosk {i}") for i in range(KIOSKS)]
    with time_machine.travel(NOW, tick=True), LiveServer(any_app) as server:

        class Press:
            def prepare(self, i: int) -> tuple[requests.Session, str]:
                session = requests.Session()
                page = session.get(server.url + links[i], timeout=60)
                assert page.url.endswith("/kiosk/"), page.url
                return session, CSRF_RE.search(page.text).group(1)

            def __call__(self, i: int, prepared: tuple[requests.Session, str]) -> Any:
                session, token = prepared
                return session.post(
                    f"{server.url}/kiosk/walk-in/raty",
                    data={"csrf_token": token, **KIOSK_ADMITTED},
                    allow_redirects=False,
                    timeout=120,
                )

        responses = race(KIOSKS, Press())
    assert [r.status_code for r in responses] == [302] * KIOSKS
    ids = [int(r.headers["Location"].rsplit("/", 1)[1]) for r in responses]
    with any_app.app_context():
        tickets = db.session.scalars(select(Ticket).where(Ticket.id.in_(ids))).all()
        assert sorted(t.number for t in tickets) == list(range(1, KIOSKS + 1))
        assert {t.prefix for t in tickets} == {"R"} and {t.day for t in tickets} == {DAY}
        assert len({t.device_id for t in audit_rows(tickets)}) == KIOSKS
        sequence = db.session.get(TicketSequence, (office_by_slug(KOSZALIN).id, DAY, "R"))
        assert sequence.last_number == KIOSKS


def audit_rows(tickets: list[Ticket]) -> list[AuditEntry]:
    return db.session.scalars(
        select(AuditEntry).where(AuditEntry.ticket_id.in_([t.id for t in tickets]))
    ).all()


def test_next_number_from_many_threads_at_once(any_app: Flask) -> None:
    """The numbering statement alone, each thread in its own transaction."""
    with any_app.app_context():
        office_id = office_by_slug(KOSZALIN).id
    barrier = threading.Barrier(KIOSKS)
    got: dict[str, list[int]] = {"R": [], "D": []}
    errors: list[BaseException] = []

    def bump(i: int) -> None:
        prefix = "R" if i % 4 else "D"
        try:
            with any_app.app_context():
                barrier.wait()
                number = next_number(db.session, office_id, DAY, prefix)
                db.session.commit()
                got[prefix].append(number)
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=bump, args=(i,)) for i in range(KIOSKS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    assert sorted(got["R"]) == list(range(1, 31))
    assert sorted(got["D"]) == list(range(1, 11))


def test_database_refuses_a_duplicate_ticket_number(any_app: Flask, clock: Any) -> None:
    kiosk = signed_in_device(any_app)
    first = ticket(any_app, walk_in(kiosk))
    with any_app.app_context():
        db.session.add(
            Ticket(
                office_id=first.office_id,
                service_id=first.service_id,
                day=first.day,
                prefix=first.prefix,
                number=first.number,
                kind=TicketKind.WALK_IN,
                queued_at=NOW,
                issued_at=NOW,
                calls=0,
            )
        )
        with pytest.raises(IntegrityError):
            db.session.flush()
        db.session.rollback()


# ---------------------------------------------------------------- check-in


@pytest.fixture
def appointment(app: Flask) -> dict[str, Any]:
    """Raty at 10:00 on Wednesday in Koszalin, booked the day before."""
    return book(app, NOW)


def test_check_in_by_qr_payload_makes_an_appointment_ticket(
    app: Flask, appointment: dict[str, Any]
) -> None:
    with time_machine.travel(utc("2026-11-25", "09:40"), tick=False):
        kiosk = signed_in_device(app)
        ticket_id = ticket_id_of(check_in(kiosk, ticket_payload(appointment["code"], SECRET)))
    made = ticket(app, ticket_id)
    assert made.label == "R001"
    assert made.kind == TicketKind.APPOINTMENT and made.status == TicketStatus.WAITING
    assert made.queued_at == NOW  # in line from the slot start, not from the scan
    assert made.issued_at == utc("2026-11-25", "09:40")
    with app.app_context():
        assert db.session.get(Booking, made.booking_id).code == appointment["code"]
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.ticket_id == ticket_id))
        assert entry.action == "check_in" and entry.device_id is not None


def test_check_in_by_typed_code_and_scanning_twice_gives_the_same_ticket(
    app: Flask, appointment: dict[str, Any]
) -> None:
    typed = "  " + format_code(appointment["code"]).lower() + " "
    assert "-" in typed
    with time_machine.travel(utc("2026-11-25", "09:50"), tick=False):
        kiosk = signed_in_device(app)
        first = ticket_id_of(check_in(kiosk, typed))
        second = ticket_id_of(check_in(kiosk, ticket_payload(appointment["code"], SECRET)))
        other_kiosk = signed_in_device(app, name="Kiosk 2")
        third = ticket_id_of(check_in(other_kiosk, appointment["code"]))
    assert first == second == third
    office_id = ticket(app, first).office_id
    with app.app_context():
        assert len(db.session.scalars(select(Ticket)).all()) == 1
        assert db.session.get(TicketSequence, (office_id, DAY, "R")).last_number == 1


def test_forged_or_altered_payloads_are_refused(app: Flask, appointment: dict[str, Any]) -> None:
    code = appointment["code"]
    genuine = ticket_payload(code, SECRET)
    other = next(c for c in "ACDEFGHJ" if c != code[0])
    altered = genuine.replace(code, other + code[1:])
    assert altered != genuine
    forged = [
        ticket_payload(code, "someone else's secret" + "y" * 30),
        altered,
        genuine[:-3] + ("AAA" if not genuine.endswith("AAA") else "BBB"),
        "OKN1:" + code,
        "https://example.com/" + code,
    ]
    with time_machine.travel(utc("2026-11-25", "09:50"), tick=False):
        kiosk = signed_in_device(app)
        for payload in forged:
            response = check_in(kiosk, payload)
            assert response.status_code == 400, payload
            message = error_of(response)
            assert "not a valid ticket" in message and "booking code" in message
        assert check_in(kiosk, "ZZZZ-ZZZZ").status_code == 404  # typed, no such booking
    with app.app_context():
        assert db.session.scalars(select(Ticket)).all() == []


def test_one_booking_scanned_at_many_kiosks_at_once_gives_one_ticket(any_app: Flask) -> None:
    booking = book(any_app, NOW)
    payload = ticket_payload(booking["code"], SECRET)
    scans = 12
    links = [device_link(any_app, DeviceKind.KIOSK, f"Kiosk {i}") for i in range(scans)]
    with time_machine.travel(utc("2026-11-25", "09:50"), tick=True), LiveServer(any_app) as server:

        class Scan:
            def prepare(self, i: int) -> tuple[requests.Session, str]:
                session = requests.Session()
                page = session.get(server.url + links[i], timeout=60)
                return session, CSRF_RE.search(page.text).group(1)

            def __call__(self, i: int, prepared: tuple[requests.Session, str]) -> Any:
                session, token = prepared
                return session.post(
                    f"{server.url}/kiosk/check-in",
                    data={"csrf_token": token, "code": payload, **KIOSK_ADMITTED},
                    allow_redirects=False,
                    timeout=120,
                )

        responses = race(scans, Scan())
    assert [r.status_code for r in responses] == [302] * scans
    assert len({r.headers["Location"] for r in responses}) == 1
    with any_app.app_context():
        tickets = db.session.scalars(select(Ticket)).all()
        assert [t.label for t in tickets] == ["R001"]
        assert db.session.scalars(select(TicketSequence.last_number)).all() == [1]
        entries = db.session.scalars(select(AuditEntry.action)).all()
        assert entries == ["check_in"]


def test_another_offices_booking_is_refused(app: Flask) -> None:
    bytom = book(app, NOW, service="raty-umorzenia", office="bytom-zielna")
    with time_machine.travel(utc("2026-11-25", "09:50"), tick=False):
        kiosk = signed_in_device(app)
        for code in (ticket_payload(bytom["code"], SECRET), bytom["code"]):
            response = check_in(kiosk, code)
            assert response.status_code == 409
            assert "another office" in error_of(response)
    with app.app_context():
        assert db.session.scalars(select(Ticket)).all() == []


def test_a_cancelled_booking_is_refused(app: Flask, appointment: dict[str, Any]) -> None:
    with time_machine.travel(utc("2026-11-25", "08:00"), tick=False):
        cancelled = app.test_client().post(
            f"/api/v1/bookings/{appointment['code']}/cancel",
            headers={"X-Booking-Token": appointment["token"]},
        )
        assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "cancelled"
    with time_machine.travel(utc("2026-11-25", "09:50"), tick=False):
        kiosk = signed_in_device(app)
        response = check_in(kiosk, ticket_payload(appointment["code"], SECRET))
    assert response.status_code == 409
    message = error_of(response)
    assert "cancelled" in message and "walk-in" in message


def test_too_early_says_from_when_in_local_time(app: Flask, appointment: dict[str, Any]) -> None:
    with time_machine.travel(utc("2026-11-25", "09:29"), tick=False):
        kiosk = signed_in_device(app)
        response = check_in(kiosk, appointment["code"])
        assert response.status_code == 409
        assert error_of(response) == ("It is too early to check in. Please come back from 09:30.")
    with time_machine.travel(utc("2026-11-25", "09:30"), tick=False):
        assert ticket_id_of(check_in(kiosk, appointment["code"]))


def test_too_early_on_another_day_names_the_day(app: Flask) -> None:
    tomorrow = book(app, utc("2026-11-26", "10:00"))
    with time_machine.travel(NOW, tick=False):
        kiosk = signed_in_device(app)
        response = check_in(kiosk, tomorrow["code"])
    assert response.status_code == 409
    assert error_of(response) == (
        "It is too early to check in. Please come back from Thursday, November 26, 2026 09:30."
    )


def test_too_late_is_refused_after_the_grace_time(app: Flask, appointment: dict[str, Any]) -> None:
    with time_machine.travel(utc("2026-11-25", "10:15:01"), tick=False):
        kiosk = signed_in_device(app)
        response = check_in(kiosk, appointment["code"])
    assert response.status_code == 409
    assert "has passed" in error_of(response) and "walk-in" in error_of(response)
    with time_machine.travel(utc("2026-11-25", "10:15"), tick=False):
        kiosk = signed_in_device(app)  # a fresh session: its cookie may not come from the future
        assert ticket_id_of(check_in(kiosk, appointment["code"]))


def test_the_check_in_window_is_configurable(app: Flask, appointment: dict[str, Any]) -> None:
    with app.app_context():
        office = office_by_slug(KOSZALIN)
        office.checkin_before_minutes, office.checkin_after_minutes = 10, 5
        db.session.commit()
    with time_machine.travel(utc("2026-11-25", "09:45"), tick=False):
        kiosk = signed_in_device(app)
        response = check_in(kiosk, appointment["code"])
        assert response.status_code == 409 and "from 09:50" in error_of(response)
    with time_machine.travel(utc("2026-11-25", "10:05:01"), tick=False):
        response = check_in(kiosk, appointment["code"])
        assert response.status_code == 409 and "has passed" in error_of(response)
    with time_machine.travel(utc("2026-11-25", "10:05"), tick=False):
        kiosk = signed_in_device(app)  # a fresh session: its cookie may not come from the future
        assert ticket_id_of(check_in(kiosk, appointment["code"]))


# ---------------------------------------------------------------- walk-in hours


@pytest.mark.parametrize(
    "now,opens",
    [
        (utc("2026-11-25", "06:30"), "07:15"),  # before opening on the day
        (utc("2026-11-25", "15:20"), "Thursday, November 26, 2026 07:15"),  # after closing
        (utc("2026-11-28", "10:00"), "Monday, November 30, 2026 07:15"),  # Saturday
    ],
)
def test_walk_in_when_closed_says_when_the_office_opens(app: Flask, now: datetime, opens: str):
    with time_machine.travel(now, tick=False):
        kiosk = signed_in_device(app)
        home = kiosk.get("/kiosk/").get_data(as_text=True)
        assert "/kiosk/walk-in/" not in home  # no buttons to press
        response = take_number(kiosk)
    assert response.status_code == 409
    page = html.unescape(response.get_data(as_text=True))
    assert "The office is closed now." in error_of(response)
    assert re.search(r"It opens [^<]*" + re.escape(opens), page), page[-3000:]
    with app.app_context():
        assert db.session.scalars(select(Ticket)).all() == []


def test_appointment_only_service_takes_no_walk_ins(app: Flask, clock: Any) -> None:
    with app.app_context():
        service = db.session.get(Service, service_id(app, "odpracowanie"))
        service.walk_in = False
        db.session.commit()
    kiosk = signed_in_device(app)
    assert "/kiosk/walk-in/odpracowanie" not in kiosk.get("/kiosk/").get_data(as_text=True)
    assert take_number(kiosk, "odpracowanie").status_code == 404
    assert take_number(kiosk, "no-such-service").status_code == 404


# ---------------------------------------------------------------- the counter


def test_full_lifecycle_through_the_json_api(any_app: Flask, clock: Any) -> None:
    kiosk = signed_in_device(any_app)
    clerk = Clerk(any_app, "koszalin1", "Stanowisko 1")
    ticket_id = walk_in(kiosk)
    seat = counter_id(any_app, "Stanowisko 1")

    clock.shift(timedelta(minutes=2))
    called = ok(clerk.call_next())
    assert called["ticket_id"] == ticket_id and called["ticket"] == "R001"
    assert called["status"] == "called" and called["counter"] == "Stanowisko 1"
    assert called["counter_id"] == seat
    clock.shift(timedelta(minutes=1))
    assert ok(clerk.act(ticket_id, "serve"))["status"] == "serving"
    clock.shift(timedelta(minutes=12))
    assert ok(clerk.act(ticket_id, "finish"))["status"] == "done"

    done = ticket(any_app, ticket_id)
    assert done.status == TicketStatus.DONE and done.calls == 1
    assert done.issued_at == NOW and done.queued_at == NOW
    assert done.called_at == NOW + timedelta(minutes=2)
    assert done.serving_at == NOW + timedelta(minutes=3)
    assert done.finished_at == NOW + timedelta(minutes=15)
    assert done.counter_id == seat
    assert audit(any_app, ticket_id) == [
        ("walk_in", None, None, NOW),
        ("call", clerk.id, seat, NOW + timedelta(minutes=2)),
        ("serve", clerk.id, seat, NOW + timedelta(minutes=3)),
        ("finish", clerk.id, seat, NOW + timedelta(minutes=15)),
    ]
    with any_app.app_context():
        assert recent_handling(db.session, db.session.get(Service, done.service_id)) == [
            timedelta(minutes=12)
        ]
    # Actions that do not fit the state are refused, and nothing is logged for them.
    refused(clerk.act(ticket_id, "serve"), 409, "not_allowed")
    refused(clerk.act(ticket_id, "park"), 409, "not_allowed")
    assert len(audit(any_app, ticket_id)) == 4


def test_call_next_with_nobody_waiting_and_without_a_counter(app: Flask, clock: Any) -> None:
    clerk = Clerk(app, "koszalin1")
    refused(clerk.call_next(), 409, "no_counter")
    assert clerk.seat("Stanowisko 1").status_code == 302
    response = clerk.call_next()
    assert response.status_code == 200 and "ticket" not in response.get_json()
    assert "Nobody is waiting" in response.get_json()["message"]


def test_recall_has_a_cooldown_and_no_show_needs_max_calls(any_app: Flask, clock: Any) -> None:
    kiosk = signed_in_device(any_app)
    clerk = Clerk(any_app, "koszalin1", "Stanowisko 1")
    ticket_id = walk_in(kiosk)
    walk_in(kiosk)
    ok(clerk.call_next())
    refused(clerk.act(ticket_id, "recall"), 409, "too_soon")
    refused(clerk.act(ticket_id, "no-show"), 409, "not_allowed")
    clock.shift(timedelta(seconds=9))
    refused(clerk.act(ticket_id, "recall"), 409, "too_soon")
    clock.shift(timedelta(seconds=1))
    assert ok(clerk.act(ticket_id, "recall"))["at"] == (NOW + timedelta(seconds=10)).isoformat()
    refused(clerk.act(ticket_id, "no-show"), 409, "not_allowed")  # 2 of 3 calls
    clock.shift(timedelta(seconds=5))
    refused(clerk.act(ticket_id, "recall"), 409, "too_soon")
    clock.shift(timedelta(seconds=5))
    ok(clerk.act(ticket_id, "recall"))
    assert ticket(any_app, ticket_id).calls == 3
    clock.shift(timedelta(seconds=30))
    assert ok(clerk.act(ticket_id, "no-show"))["status"] == "no_show"
    gone = ticket(any_app, ticket_id)
    assert gone.status == TicketStatus.NO_SHOW
    assert gone.finished_at == NOW + timedelta(seconds=50)
    actions = [a[0] for a in audit(any_app, ticket_id)]
    assert actions == ["walk_in", "call", "recall", "recall", "no_show"]
    assert all(a[1] == clerk.id for a in audit(any_app, ticket_id)[1:])
    # The counter is free again: the next call goes to the second ticket.
    assert ok(clerk.call_next())["ticket"] == "R002"


def test_a_fresh_call_right_after_a_call_is_blocked(app: Flask, clock: Any) -> None:
    kiosk = signed_in_device(app)
    clerk = Clerk(app, "koszalin1", "Stanowisko 1")
    first, second = walk_in(kiosk), walk_in(kiosk)
    ok(clerk.call_next())
    ok(clerk.act(first, "finish"))
    refused(clerk.call_next(), 409, "too_soon")
    refused(clerk.act(second, "call"), 409, "too_soon")
    clock.shift(timedelta(seconds=10))
    assert ok(clerk.call_next())["ticket_id"] == second


def test_park_and_resume(any_app: Flask, clock: Any) -> None:
    kiosk = signed_in_device(any_app)
    clerk = Clerk(any_app, "koszalin1", "Stanowisko 1")
    parked_id, other_id = walk_in(kiosk), walk_in(kiosk)
    ok(clerk.call_next())
    clock.shift(timedelta(minutes=1))
    ok(clerk.act(parked_id, "serve"))
    clock.shift(timedelta(minutes=2))
    assert ok(clerk.act(parked_id, "park"))["status"] == "parked"
    parked = ticket(any_app, parked_id)
    assert parked.status == TicketStatus.PARKED and parked.counter_id is None
    assert parked.parked_at == NOW + timedelta(minutes=3)
    line = clerk.client.get("/counter/line.json").get_json()
    assert line["current"] is None
    assert [t["ticket"] for t in line["waiting"]] == ["R002"]  # a parked ticket is not in line
    # The counter is free for the next resident meanwhile.
    assert ok(clerk.call_next())["ticket_id"] == other_id
    ok(clerk.act(other_id, "finish"))
    clock.shift(timedelta(minutes=5))
    resumed = ok(clerk.act(parked_id, "call"))
    assert resumed["status"] == "called" and resumed["counter"] == "Stanowisko 1"
    clock.shift(timedelta(minutes=1))
    ok(clerk.act(parked_id, "finish"))
    done = ticket(any_app, parked_id)
    # Calls count the current turn: after parking the resume was the first call again.
    assert done.status == TicketStatus.DONE and done.calls == 1
    assert done.called_at == NOW + timedelta(minutes=8)
    assert [a[0] for a in audit(any_app, parked_id)] == [
        "walk_in",
        "call",
        "serve",
        "park",
        "call",
        "finish",
    ]
    with any_app.app_context():
        handling = recent_handling(db.session, db.session.get(Service, done.service_id))
    # Back from parking it was finished without a new start: handled from its last call,
    # not from the first start (which would count the 5 minutes it sat parked).
    assert timedelta(minutes=1) in handling and max(handling) < timedelta(minutes=5)


def test_transfer_to_another_service_keeps_the_number(any_app: Flask, clock: Any) -> None:
    kiosk = signed_in_device(any_app)
    desk = Clerk(any_app, "koszalin1", "Stanowisko 1")
    exchange = Clerk(any_app, "koszalin3", "Stanowisko 3")  # serves only "zamiana"
    sent = walk_in(kiosk, "raty")
    clock.shift(timedelta(minutes=1))
    later_exchange = walk_in(kiosk, "zamiana")
    ok(desk.call_next())
    ok(desk.act(sent, "serve"))
    clock.shift(timedelta(minutes=4))
    moved = ok(
        desk.post(
            f"/counter/tickets/{sent}/transfer", to=f"service:{service_id(any_app, 'zamiana')}"
        )
    )
    assert moved["status"] == "transferred" and moved["ticket"] == "R001"
    assert moved["service"] == "zamiana"
    row = ticket(any_app, sent)
    assert row.label == "R001" and row.counter_id is None
    assert row.transferred_at == NOW + timedelta(minutes=5)
    assert (
        "transfer",
        desk.id,
        counter_id(any_app, "Stanowisko 1"),
        NOW + timedelta(minutes=5),
    ) in audit(any_app, sent)
    # In the exchange line, ahead of the Z ticket taken after it arrived.
    clock.shift(timedelta(minutes=30))
    called = ok(exchange.call_next())
    assert called["ticket_id"] == sent and called["counter"] == "Stanowisko 3"
    clock.shift(timedelta(minutes=5))
    ok(exchange.act(sent, "finish"))  # finished without a new start
    clock.shift(timedelta(seconds=10))
    assert ok(exchange.call_next())["ticket_id"] == later_exchange
    with any_app.app_context():
        handling = recent_handling(db.session, db.session.get(Service, row.service_id))
    assert handling == [timedelta(minutes=5)]  # from its call at Stanowisko 3, not the first start


def test_transfer_to_a_named_counter_only_that_counter_can_call_it(
    any_app: Flask, clock: Any
) -> None:
    kiosk = signed_in_device(any_app)
    first = Clerk(any_app, "koszalin1", "Stanowisko 1")
    second = Clerk(any_app, "koszalin2", "Stanowisko 2")
    third = Clerk(any_app, "koszalin3", "Stanowisko 3")
    sent = walk_in(kiosk, "raty")
    ok(first.call_next())
    target = counter_id(any_app, "Stanowisko 3")
    moved = ok(first.post(f"/counter/tickets/{sent}/transfer", to=f"counter:{target}"))
    assert moved["status"] == "transferred" and moved["service"] == "raty"
    assert ticket(any_app, sent).target_counter_id == target
    # Stanowisko 2 serves raty, but the ticket was sent to Stanowisko 3 by name.
    assert "ticket" not in second.call_next().get_json()
    refused(second.act(sent, "call"), 409, "not_allowed")
    clock.shift(timedelta(seconds=10))
    refused(first.act(sent, "call"), 409, "not_allowed")
    called = ok(third.call_next())  # Stanowisko 3 does not serve raty, yet takes this one
    assert called["ticket_id"] == sent and called["counter"] == "Stanowisko 3"
    assert ticket(any_app, sent).target_counter_id is None


def test_transfer_needs_a_target_of_the_same_office(app: Flask, clock: Any) -> None:
    kiosk = signed_in_device(app)
    clerk = Clerk(app, "koszalin1", "Stanowisko 1")
    sent = walk_in(kiosk)
    ok(clerk.call_next())
    bytom = counter_id(app, "Punkt obsługi 1", "bytom-zielna")
    assert clerk.post(f"/counter/tickets/{sent}/transfer", to=f"counter:{bytom}").status_code == 400
    assert clerk.post(f"/counter/tickets/{sent}/transfer", to="nowhere").status_code == 400
    assert ticket(app, sent).status == TicketStatus.CALLED


def test_urgent_ticket_is_called_first(app: Flask, clock: Any) -> None:
    kiosk = signed_in_device(app)
    clerk = Clerk(app, "koszalin1", "Stanowisko 1")
    first = walk_in(kiosk)
    clock.shift(timedelta(minutes=3))
    urgent = walk_in(kiosk, "odroczenie")
    assert ok(clerk.act(urgent, "urgent"))["ticket"] == "D001"
    assert ("urgent", clerk.id, counter_id(app, "Stanowisko 1"), NOW + timedelta(minutes=3)) in (
        audit(app, urgent)
    )
    assert ok(clerk.call_next())["ticket_id"] == urgent
    refused(clerk.act(urgent, "urgent"), 409, "not_allowed")  # no longer in line
    assert ticket(app, first).status == TicketStatus.WAITING


def test_on_time_appointment_goes_before_later_walk_ins(app: Flask) -> None:
    booking = book(app, NOW)
    with time_machine.travel(utc("2026-11-25", "09:55"), tick=False) as traveller:
        kiosk = signed_in_device(app)
        clerk = Clerk(app, "koszalin1", "Stanowisko 1")
        early = walk_in(kiosk)  # came before the slot start: stays first
        traveller.move_to(utc("2026-11-25", "10:02"))
        late = walk_in(kiosk)
        traveller.move_to(utc("2026-11-25", "10:05"))
        visit = ticket_id_of(check_in(kiosk, booking["code"]))
        order = clerk.client.get("/counter/line.json").get_json()["waiting"]
        assert [t["id"] for t in order] == [early, visit, late]
        assert order[1]["kind"] == "appointment"
        called = []
        for _ in range(3):
            called.append(ok(clerk.call_next())["ticket_id"])
            ok(clerk.act(called[-1], "finish"))
            traveller.shift(timedelta(seconds=10))
    assert called == [early, visit, late]


def test_two_clerks_cannot_sit_at_one_counter(app: Flask, clock: Any) -> None:
    first = Clerk(app, "koszalin1", "Stanowisko 1")
    second = Clerk(app, "koszalin2")
    response = second.seat("Stanowisko 1")
    assert response.status_code == 409
    assert "Another clerk" in response.get_json()["message"]
    seat = counter_id(app, "Stanowisko 1")
    with app.app_context():
        assert db.session.get(StaffUser, second.id).counter_id is None
        assert db.session.get(StaffUser, first.id).counter_id == seat
    # Once the first clerk logs out, the counter is free.
    assert first.post("/counter/logout").status_code == 302
    assert second.seat("Stanowisko 1").status_code == 302


def test_a_counter_cannot_hold_two_tickets(any_app: Flask, clock: Any) -> None:
    kiosk = signed_in_device(any_app)
    clerk = Clerk(any_app, "koszalin1", "Stanowisko 1")
    first, second = walk_in(kiosk), walk_in(kiosk)
    ok(clerk.call_next())
    clock.shift(timedelta(seconds=30))
    refused(clerk.call_next(), 409, "counter_busy")
    refused(clerk.act(second, "call"), 409, "counter_busy")
    ok(clerk.act(first, "serve"))
    refused(clerk.call_next(), 409, "counter_busy")
    assert ticket(any_app, second).status == TicketStatus.WAITING


def test_the_database_itself_keeps_one_ticket_per_counter(any_app: Flask, clock: Any) -> None:
    """The partial unique index, bypassing the calling code."""
    kiosk = signed_in_device(any_app)
    first, second, third = walk_in(kiosk), walk_in(kiosk), walk_in(kiosk)
    seat = counter_id(any_app, "Stanowisko 1")
    with any_app.app_context():
        db.session.execute(
            update(Ticket)
            .where(Ticket.id == first)
            .values(status=TicketStatus.SERVING, counter_id=seat)
        )
        db.session.commit()
        for status in (TicketStatus.CALLED, TicketStatus.SERVING):
            with pytest.raises(IntegrityError):
                db.session.execute(
                    update(Ticket).where(Ticket.id == second).values(status=status, counter_id=seat)
                )
            db.session.rollback()
        template = db.session.get(Ticket, third)
        db.session.add(
            Ticket(
                office_id=template.office_id,
                service_id=template.service_id,
                day=DAY,
                prefix="R",
                number=99,
                kind=TicketKind.WALK_IN,
                status=TicketStatus.CALLED,
                counter_id=seat,
                queued_at=NOW,
                issued_at=NOW,
                calls=1,
            )
        )
        with pytest.raises(IntegrityError):
            db.session.flush()
        db.session.rollback()
        # Closed tickets may share the counter: the index covers only called and serving.
        db.session.execute(
            update(Ticket)
            .where(Ticket.id.in_([second, third]))
            .values(status=TicketStatus.DONE, counter_id=seat)
        )
        db.session.commit()
        held = db.session.scalars(
            select(Ticket.id).where(
                Ticket.counter_id == seat, Ticket.status.in_(("called", "serving"))
            )
        ).all()
        assert held == [first]


def http_clerk(server: LiveServer, username: str, counter: int) -> tuple[requests.Session, str]:
    session = requests.Session()
    page = session.get(f"{server.url}/counter/login", timeout=60).text
    response = session.post(
        f"{server.url}/counter/login",
        data={
            "csrf_token": CSRF_RE.search(page).group(1),
            "username": username,
            "password": PASSWORD,
        },
        timeout=60,
    )
    token = CSRF_RE.search(response.text).group(1)  # followed on to /counter/
    headers = {"Accept": "application/json", "X-CSRFToken": token}
    seated = session.post(
        f"{server.url}/counter/seat",
        data={"counter_id": str(counter)},
        headers=headers,
        allow_redirects=False,
        timeout=60,
    )
    assert seated.status_code == 302, seated.text
    return session, token


def test_counters_calling_at_the_same_instant_never_get_the_same_ticket(any_app: Flask) -> None:
    names = ["Stanowisko 1", "Stanowisko 2"]
    rounds, tickets = 6, 14
    with any_app.app_context():
        office = office_by_slug(KOSZALIN)
        office.call_cooldown_seconds = 0
        for i in range(len(names)):
            upsert_staff(office, f"racer{i}", f"Racer {i}", PASSWORD)
        db.session.commit()
    with time_machine.travel(NOW, tick=True):
        kiosk = signed_in_device(any_app)
        for i in range(tickets):
            walk_in(kiosk, "raty" if i % 2 else "odroczenie")
        with LiveServer(any_app) as server:
            clerks = [
                http_clerk(server, f"racer{i}", counter_id(any_app, name))
                for i, name in enumerate(names)
            ]
            seen: list[int] = []
            for _ in range(rounds):

                def call(i: int, _prepared: object) -> requests.Response:
                    session, token = clerks[i]
                    return session.post(
                        f"{server.url}/counter/call-next",
                        headers={"Accept": "application/json", "X-CSRFToken": token},
                        timeout=60,
                    )

                responses = race(len(names), call)
                got = [r.json()["ticket"]["ticket_id"] for r in responses]
                assert all(r.status_code == 200 for r in responses)
                assert len(set(got)) == len(names), got
                seen.extend(got)
                for (session, token), ticket_id in zip(clerks, got, strict=True):
                    finished = session.post(
                        f"{server.url}/counter/tickets/{ticket_id}/finish",
                        headers={"Accept": "application/json", "X-CSRFToken": token},
                        timeout=60,
                    )
                    assert finished.status_code == 200, finished.text
    assert len(seen) == len(set(seen)) == rounds * len(names)
    with any_app.app_context():
        calls = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "call")).all()
        assert sorted(c.ticket_id for c in calls) == sorted(seen)
        assert all(
            t.calls == 1 for t in db.session.scalars(select(Ticket).where(Ticket.id.in_(seen)))
        )


# ---------------------------------------------------------------- access


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
        assert response.headers["Location"].startswith("/counter/login?next=")
    for path in ("/kiosk/", "/kiosk/ticket/1", "/display/", "/display/state.json"):
        assert client.get(path).status_code == 403, path
    assert client.get("/device/not-a-device-token").status_code == 404
    assert client.get("/device/" + "x" * 65).status_code == 404
    token = csrf_token(client, "/counter/login")
    response = client.post(
        "/counter/call-next", headers={"X-CSRFToken": token, "Accept": "application/json"}
    )
    assert response.status_code == 302 and "/counter/login" in response.headers["Location"]


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
        user = upsert_staff(office_by_slug(KOSZALIN), "koszalin1", "Ewa Zielińska", PASSWORD)
        db.session.commit()
        assert PASSWORD not in user.password_hash
        assert check_password_hash(user.password_hash, PASSWORD)
    client = app.test_client()
    for username, password in (("koszalin1", "wrong"), ("nobody", PASSWORD)):
        token = csrf_token(client, "/counter/login")
        response = client.post(
            "/counter/login",
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
    assert refused_call.status_code == 302 and "/counter/login" in refused_call.headers["Location"]


def test_login_redirects_only_within_the_site(app: Flask) -> None:
    with app.app_context():
        upsert_staff(office_by_slug(KOSZALIN), "koszalin1", "Ewa", PASSWORD)
        db.session.commit()
    for target, expected in (
        ("/counter/line.json", "/counter/line.json"),
        ("https://evil.example/", "/counter/"),
        ("//evil.example/", "/counter/"),
    ):
        client = app.test_client()
        token = csrf_token(client, "/counter/login")
        response = client.post(
            "/counter/login",
            query_string={"next": target},
            data={"csrf_token": token, "username": "koszalin1", "password": PASSWORD},
        )
        assert response.status_code == 302 and response.headers["Location"] == expected, target
    # A backslash that browsers read as a slash still stays on this site.
    client = app.test_client()
    token = csrf_token(client, "/counter/login")
    response = client.post(
        "/counter/login",
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


# ---------------------------------------------------------------- place in line and the phone


def test_kiosk_ticket_shows_place_in_line_and_estimated_wait(app: Flask, clock: Any) -> None:
    kiosk = signed_in_device(app)
    first = walk_in(kiosk)
    page = kiosk.get(f"/kiosk/ticket/{first}").get_data(as_text=True)
    assert "0 people ahead of you" in page
    assert "Estimated wait" not in page  # no counter is open
    Clerk(app, "koszalin1", "Stanowisko 1")
    walk_in(kiosk, "odroczenie")
    third = walk_in(kiosk)
    page = kiosk.get(f"/kiosk/ticket/{third}").get_data(as_text=True)
    assert 'data-ticket="R002"' in page
    assert "2 people ahead of you" in page
    assert "Estimated wait: about 60 min" in page  # 2 × 30 planned minutes, one counter
    Clerk(app, "koszalin2", "Stanowisko 2")
    page = kiosk.get(f"/kiosk/ticket/{third}").get_data(as_text=True)
    assert "Estimated wait: about 30 min" in page
    # Stanowisko 3 serves only "zamiana": it does not shorten the raty line.
    Clerk(app, "koszalin3", "Stanowisko 3")
    page = kiosk.get(f"/kiosk/ticket/{third}").get_data(as_text=True)
    assert "Estimated wait: about 30 min" in page


def test_booked_visits_are_slotted_into_the_estimate(app: Flask) -> None:
    book(app, utc("2026-11-25", "10:30"), email="later@example.com")
    with time_machine.travel(NOW, tick=False):
        kiosk = signed_in_device(app)
        Clerk(app, "koszalin1", "Stanowisko 1")
        walk_in(kiosk)
        walk_in(kiosk)
        last = walk_in(kiosk)
        page = kiosk.get(f"/kiosk/ticket/{last}").get_data(as_text=True)
    # 2 ahead × 30 min. The 10:30 visit would join the line after these walk-ins:
    # by the priority rule it never goes before them, so it adds nothing.
    assert "2 people ahead of you" in page and "about 60 min" in page
    book(app, utc("2026-11-25", "09:45"))  # its slot began before the walk-ins came
    with time_machine.travel(NOW, tick=False):
        page = kiosk.get(f"/kiosk/ticket/{last}").get_data(as_text=True)
    # It may still check in (15 minutes' grace) and would then be served first: +30.
    assert "2 people ahead of you" in page and "about 90 min" in page


def test_an_early_check_in_is_not_delayed_by_its_own_booking(app: Flask) -> None:
    booking = book(app, utc("2026-11-25", "10:30"))
    with time_machine.travel(utc("2026-11-25", "10:01"), tick=False) as traveller:
        kiosk = signed_in_device(app)
        Clerk(app, "koszalin1", "Stanowisko 1")
        walk_in(kiosk)  # queued at 10:01, before the 10:30 slot: ahead of the visit
        traveller.move_to(utc("2026-11-25", "10:05"))
        visit = ticket_id_of(check_in(kiosk, booking["code"]))
        page = kiosk.get(f"/kiosk/ticket/{visit}").get_data(as_text=True)
        status = app.test_client().get(f"/t/{status_token(app, visit)}/status.json").get_json()
    assert "1 person ahead of you" in page
    # One walk-in of 30 minutes; the visit's own booking is not another visit slotted in.
    assert "Estimated wait: about 30 min" in page
    assert status["ahead"] == 1 and status["wait_minutes"] == 30


def status_token(app: Flask, ticket_id: int) -> str:
    with app.test_request_context():
        return status_serializer().dumps(ticket_id)


def test_phone_status_page_follows_the_ticket(app: Flask, clock: Any) -> None:
    kiosk = signed_in_device(app)
    clerk = Clerk(app, "koszalin1", "Stanowisko 1")
    first, second = walk_in(kiosk), walk_in(kiosk)
    qr = kiosk.get(f"/kiosk/ticket/{second}/qr.png")
    assert qr.status_code == 200 and qr.mimetype == "image/png"
    token = status_token(app, second)
    phone = app.test_client()
    phone.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    page = phone.get(f"/t/{token}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "R002" in text and "People ahead of you: 1" in text
    status = phone.get(f"/t/{token}/status.json").get_json()
    assert status == {
        "ticket": "R002",
        "status": "waiting",
        "ahead": 1,
        "wait_minutes": 30,
        "counter": None,
    }
    ok(clerk.call_next())
    ok(clerk.act(first, "finish"))
    clock.shift(timedelta(seconds=10))
    ok(clerk.call_next())
    status = phone.get(f"/t/{token}/status.json").get_json()
    assert status["status"] == "called" and status["counter"] == "Stanowisko 1"
    assert "Please go to Stanowisko 1." in phone.get(f"/t/{token}").get_data(as_text=True)


def test_a_tampered_status_token_is_not_found(app: Flask, clock: Any) -> None:
    kiosk = signed_in_device(app)
    ticket_id = walk_in(kiosk)
    token = status_token(app, ticket_id)
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    guessed = status_token(app, ticket_id).split(".")[0] + ".x"
    with app.test_request_context():
        not_an_id = status_serializer().dumps("1")
        missing = status_serializer().dumps(ticket_id + 1000)
    client = app.test_client()
    for bad in (tampered, guessed, not_an_id, missing, str(ticket_id)):
        assert client.get(f"/t/{bad}").status_code == 404, bad
        assert client.get(f"/t/{bad}/status.json").status_code == 404, bad
    assert client.get(f"/t/{token}").status_code == 200


def test_the_clerk_line_lists_tickets_in_calling_order(app: Flask, clock: Any) -> None:
    kiosk = signed_in_device(app)
    clerk = Clerk(app, "koszalin1", "Stanowisko 1")
    ids = [walk_in(kiosk, key) for key in ("raty", "zamiana", "raty")]
    ok(clerk.act(ids[2], "urgent"))
    waiting = clerk.client.get("/counter/line.json").get_json()["waiting"]
    assert [w["id"] for w in waiting] == [ids[2], ids[0], ids[1]]
    assert [w["ticket"] for w in waiting] == ["R002", "R001", "Z001"]
    assert waiting[0]["urgent"] is True


# ---------------------------------------------------------------- loose ends


def test_cancelling_a_checked_in_booking_takes_its_ticket_out_of_line(
    app: Flask, appointment: dict[str, Any]
) -> None:
    with time_machine.travel(utc("2026-11-25", "09:35"), tick=False):
        kiosk = signed_in_device(app)
        ticket_id = ticket_id_of(check_in(kiosk, appointment["code"]))
        cancelled = app.test_client().post(
            f"/api/v1/bookings/{appointment['code']}/cancel",
            headers={"X-Booking-Token": appointment["token"]},
        )
        assert cancelled.status_code == 200
    assert ticket(app, ticket_id).status == TicketStatus.CANCELLED


def test_a_mistyped_code_is_told_apart_from_a_forged_qr(app: Flask, clock: Any) -> None:
    kiosk = signed_in_device(app)
    response = check_in(kiosk, "KKKK-KKKK")
    assert response.status_code == 404
    assert "No booking has this code" in error_of(response)


def test_a_clerk_cannot_leave_the_counter_holding_a_ticket(app: Flask, clock: Any) -> None:
    kiosk = signed_in_device(app)
    walk_in(kiosk)
    clerk = Clerk(app, "leaver", "Stanowisko 1")
    ok(clerk.call_next())
    assert clerk.seat("Stanowisko 2").status_code == 409
    assert clerk.post("/counter/logout").status_code == 409
    with app.app_context():
        assert db.session.get(StaffUser, clerk.id).counter is not None


def test_counter_api_errors_are_json(app: Flask, clock: Any) -> None:
    clerk = Clerk(app, "jsonclerk", "Stanowisko 1")
    missing = clerk.act(999999, "finish")
    assert missing.status_code == 404 and missing.get_json()["error"] == "not_found"
    no_token = clerk.client.post("/counter/call-next", headers={"Accept": "application/json"})
    assert no_token.status_code == 400 and no_token.get_json()["error"] == "csrf"


def test_the_display_speaks_the_offices_language_in_any_browser(app: Flask) -> None:
    display = signed_in_device(app, DeviceKind.DISPLAY, name="Screen", office=KOSZALIN)
    page = display.get("/display/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert '<html lang="pl">' in page
    assert 'data-announce="Numer {ticket}, {counter}"' in page


def test_the_display_state_has_an_estimate_per_service(app: Flask, clock: Any) -> None:
    kiosk = signed_in_device(app)
    for _ in range(3):
        walk_in(kiosk, "raty")
    Clerk(app, "estimator", "Stanowisko 1")
    display = signed_in_device(app, DeviceKind.DISPLAY, name="Screen")
    lines = {
        line["service"]: line for line in display.get("/display/state.json").get_json()["waiting"]
    }
    assert lines["raty"]["waiting"] == 3
    # Three ahead, one open counter, 30 planned minutes each.
    assert lines["raty"]["wait_minutes"] == 90
    assert lines["zamiana"]["waiting"] == 0


def test_a_clerk_sees_only_what_their_counter_can_take(app: Flask, clock: Any) -> None:
    kiosk = signed_in_device(app)
    raty = label(app, walk_in(kiosk, "raty"))
    zamiana = label(app, walk_in(kiosk, "zamiana"))
    only_exchanges = Clerk(app, "exchanges", "Stanowisko 3")  # serves "zamiana" only
    page = only_exchanges.client.get("/counter/").get_data(as_text=True)
    assert f'data-ticket="{zamiana}"' in page and f'data-ticket="{raty}"' not in page


@pytest.mark.parametrize("raw", ["²", "1" * 30, "-1", " 7"])
def test_odd_ids_from_clerks_are_refused_not_crashed(any_app: Flask, raw: str) -> None:
    with time_machine.travel(NOW, tick=False):
        clerk = Clerk(any_app, "odd", "Stanowisko 1")
        assert clerk.post("/counter/seat", counter_id=raw).status_code == 400
        assert clerk.post("/counter/tickets/1/transfer", to=f"counter:{raw}").status_code in (
            400,
            404,
        )
        assert clerk.post(f"/counter/tickets/{'9' * 30}/finish").status_code == 404


def test_no_show_counts_the_calls_at_the_counter_that_took_over(app: Flask, clock: Any) -> None:
    kiosk = signed_in_device(app)
    ticket_id = walk_in(kiosk)
    first = Clerk(app, "first", "Stanowisko 1")
    second = Clerk(app, "second", "Stanowisko 2")
    ok(first.call_next())
    for _ in range(2):
        clock.shift(timedelta(seconds=11))
        ok(first.act(ticket_id, "recall"))
    ok(first.act(ticket_id, "transfer", to=f"counter:{counter_id(app, 'Stanowisko 2')}"))
    ok(second.act(ticket_id, "call"))
    refused(second.act(ticket_id, "no-show"), 409, "not_allowed")


def test_a_new_device_link_signs_out_browsers_using_the_old_one(app: Flask) -> None:
    kiosk = signed_in_device(app)
    assert kiosk.get("/kiosk/").status_code == 200
    device_link(app, DeviceKind.KIOSK, "Kiosk 1")  # the link is replaced
    assert kiosk.get("/kiosk/").status_code == 403


def test_a_kiosk_starts_in_its_offices_language(app: Flask) -> None:
    client = app.test_client()
    client.get(device_link(app, DeviceKind.KIOSK, "Kiosk 1"), headers={"Accept-Language": "en"})
    page = client.get("/kiosk/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert '<html lang="pl">' in page


def test_staff_login_is_rate_limited_and_starts_a_new_session(app: Flask) -> None:
    from booking.app import create_app

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
    token = csrf_token(client, "/counter/login")
    statuses = [
        client.post(
            "/counter/login", data={"csrf_token": token, "username": "x", "password": "y"}
        ).status_code
        for _ in range(4)
    ]
    assert statuses == [401, 401, 401, 429]
    nul = app.test_client()
    answer = nul.post(
        "/counter/login",
        data={"csrf_token": csrf_token(nul, "/counter/login"), "username": "a\0b", "password": "y"},
    )
    assert answer.status_code == 400


def test_a_clerk_who_left_can_be_released_from_the_counter(app: Flask, clock: Any) -> None:
    kiosk = signed_in_device(app)
    ticket_id = walk_in(kiosk)
    gone = Clerk(app, "gone", "Stanowisko 1")
    ok(gone.call_next())
    assert Clerk(app, "next", None).seat("Stanowisko 1").status_code == 409
    result = app.test_cli_runner().invoke(args=["staff", "disable", "gone"])
    assert result.exit_code == 0 and "parked" in result.output, result.output
    assert ticket(app, ticket_id).status == TicketStatus.PARKED
    assert Clerk(app, "next2", "Stanowisko 1")  # the seat is free again
    assert gone.client.get("/counter/").status_code == 302  # logged out: disabled


def test_numbers_start_again_at_local_midnight_not_utc_midnight(app: Flask) -> None:
    from tests.test_concurrency import single_counter_office

    single_counter_office(app)  # Europe/Warsaw, open round the clock
    before = datetime(2026, 11, 25, 22, 40, tzinfo=UTC)  # 23:40 in Warsaw
    after = datetime(2026, 11, 25, 23, 10, tzinfo=UTC)  # 00:10 on the 26th, same UTC date
    with time_machine.travel(before, tick=False):
        kiosk = signed_in_device(app, office="one-counter")
        first, second = walk_in(kiosk, "long"), walk_in(kiosk, "long")
    with time_machine.travel(after, tick=False):
        kiosk = signed_in_device(app, name="Kiosk 2", office="one-counter")
        third = walk_in(kiosk, "long")
    assert [label(app, t) for t in (first, second, third)] == ["L001", "L002", "L001"]
    assert ticket(app, third).day == date(2026, 11, 26)


def test_after_a_ticket_the_kiosk_returns_to_the_offices_language(app: Flask, clock: Any) -> None:
    kiosk = signed_in_device(app)  # switched to English, as a resident might
    page = kiosk.get(f"/kiosk/ticket/{walk_in(kiosk)}").get_data(as_text=True)
    done = re.search(r'<a class="button big" href="([^"]+)">Done</a>', page).group(1)
    assert '<html lang="pl">' in kiosk.get(html.unescape(done)).get_data(as_text=True)
