"""The sanitary admission check: at booking, before the visit, at the kiosk and at the counter.

Bytomskie Mieszkania admits visitors only under a sanitary regime; Plzeň has none.
Every refusing answer refuses at each place, a refusal frees the counter time and names the
right department, no ticket can be had without a passing answer, and only outcomes are kept.
"""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests
import time_machine
import zxingcpp
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import func, select

from booking import admission
from booking.admission import DEFAULT_QUESTIONS
from booking.importer import OfficeConfigError, import_offices
from booking.models import (
    AdmissionCheck,
    AdmissionQuestion,
    Booking,
    BookingMode,
    BookingSlot,
    BookingStatus,
    Office,
)
from booking.qr import ticket_payload
from okienko.database import db
from okienko.tokens import hash_token
from queueing import arrival
from queueing.models import AuditEntry, DeviceKind, Ticket, TicketKind, TicketStatus
from queueing.state import display_state
from tests.helpers.admission import KIOSK_ADMITTED
from tests.helpers.bookings import booking_of
from tests.helpers.floor import (
    ERROR_RE,
    SECRET,
    Clerk,
    device_link,
    signed_in_device,
    ticket_id_of,
)
from tests.helpers.forms import CSRF_RE, book_form, csrf_token, local_start, manage_token
from tests.helpers.live_server import LiveServer
from tests.helpers.mailbox import Mailbox, mail_sent, outbox
from tests.helpers.race import race

BYTOM, RATY = "bytom-zielna", "raty-umorzenia"  # Dział Windykacji handles instalments
PLZEN, FLATS = "plzen-kontaktni-misto", "volne-byty"
WARSAW = "Europe/Warsaw"
VISIT_DAY = "2026-11-25"  # a Wednesday: Zielna is open 07:30-15:00
BOOKED_ON = datetime(2026, 11, 20, 9, tzinfo=UTC)
KEYS = [key for key, _texts in DEFAULT_QUESTIONS]
QUESTION_RE = re.compile(r'data-question="(\w+)"')


def warsaw(day: str, at: str) -> datetime:
    return datetime.fromisoformat(local_start(day, at, WARSAW))


def refusing(key: str) -> dict[str, str]:
    """The four questions answered "no" but ``key``, answered "yes"."""
    return {k: "yes" if k == key else "no" for k in KEYS}


def kiosk_answers(answers: dict[str, str]) -> dict[str, str]:
    return {"answered": "1", **{f"q_{k}": v for k, v in answers.items()}}


def book_bytom(app: Flask, at: str = "10:00", language: str = "cs", **kw: Any) -> str:
    """A visit in person at Zielna on the visit day, booked days before; its manage token."""
    with time_machine.travel(BOOKED_ON, tick=False):
        response = book_form(
            app.test_client(),
            BYTOM,
            RATY,
            local_start(VISIT_DAY, at, WARSAW),
            language=language,
            **kw,
        )
        mail_sent(app)  # the confirmation, at the booking's time
    return manage_token(response)


def cells_of(app: Flask, booking_id: int) -> int:
    with app.app_context():
        return db.session.scalar(
            select(func.count(BookingSlot.id)).where(BookingSlot.booking_id == booking_id)
        )


def checks(app: Flask) -> list[tuple[str, bool, str | None, str | None, int | None]]:
    with app.app_context():
        rows = db.session.scalars(select(AdmissionCheck).order_by(AdmissionCheck.id))
        return [(r.place, r.admitted, r.question, r.reason, r.booking_id) for r in rows]


def tickets(app: Flask) -> list[Ticket]:
    with app.app_context():
        rows = db.session.scalars(select(Ticket).order_by(Ticket.id)).all()
        for row in rows:
            db.session.expunge(row)
        return rows


def set_regime(app: Flask, slug: str, on: bool, first: str | None = None, last: str | None = None):
    args = ["admission", "on" if on else "off", slug]
    if on and first:
        args += ["--from", first]
    if on and last:
        args += ["--to", last]
    result = app.test_cli_runner().invoke(args=args)
    assert result.exit_code == 0, result.output


# ---------------------------------------------------------------- at booking


def test_the_booking_form_asks_the_four_questions_only_under_the_regime(app: Flask) -> None:
    client = app.test_client()
    with time_machine.travel(BOOKED_ON, tick=False):
        start = local_start(VISIT_DAY, "10:00", WARSAW)
        page = client.get(f"/o/{BYTOM}/{RATY}/book?start={start}&lang=en").get_data(as_text=True)
        assert QUESTION_RE.findall(page) == KEYS
        assert "symptoms of an infectious disease" in page
        assert "mask covering your nose and mouth" in page  # the regime's notice

        plzen = local_start("2026-11-25", "10:00", "Europe/Prague")
        page = client.get(f"/o/{PLZEN}/{FLATS}/book?start={plzen}").get_data(as_text=True)
        assert QUESTION_RE.findall(page) == []
        # Without the regime nobody answers anything, and the booking is made.
        assert book_form(client, PLZEN, FLATS, plzen, answers={}).status_code == 302

    set_regime(app, BYTOM, False)
    with time_machine.travel(BOOKED_ON, tick=False):
        page = client.get(f"/o/{BYTOM}/{RATY}/book?start={start}").get_data(as_text=True)
        assert QUESTION_RE.findall(page) == []
        assert book_form(client, BYTOM, RATY, start, answers={}).status_code == 302


def test_the_regime_applies_only_to_its_days(app: Flask) -> None:
    set_regime(app, BYTOM, True, first="2026-11-26", last="2026-11-27")
    client = app.test_client()
    with time_machine.travel(BOOKED_ON, tick=False):
        for day, asked in (("2026-11-25", False), ("2026-11-26", True), ("2026-11-30", False)):
            start = local_start(day, "10:00", WARSAW)
            page = client.get(f"/o/{BYTOM}/{RATY}/book?start={start}").get_data(as_text=True)
            assert bool(QUESTION_RE.findall(page)) == asked, day


@pytest.mark.parametrize("key", KEYS)
def test_each_refusing_answer_at_booking_books_nothing(app: Flask, key: str) -> None:
    client = app.test_client()
    with time_machine.travel(BOOKED_ON, tick=False):
        start = local_start(VISIT_DAY, "10:00", WARSAW)
        response = book_form(client, BYTOM, RATY, start, language="en", answers=refusing(key))
    assert response.status_code == 403
    page = response.get_data(as_text=True)
    assert "windykacja@bm.bytom.pl" in page and "+48 32 532 50 25" in page
    assert "Skrzynka podawcza przed budynkiem" in page or "drop box" in page.lower()
    with app.app_context():
        assert db.session.scalar(select(func.count(Booking.id))) == 0
    assert checks(app) == [("booking", False, key, None, None)]


def test_a_passing_declaration_books_and_missing_answers_are_asked_again(app: Flask) -> None:
    client = app.test_client()
    with time_machine.travel(BOOKED_ON, tick=False):
        start = local_start(VISIT_DAY, "10:00", WARSAW)
        partial = {k: "no" for k in KEYS[:3]}
        response = book_form(client, BYTOM, RATY, start, name="Ewa Nowak", answers=partial)
        assert response.status_code == 422
        page = response.get_data(as_text=True)
        assert 'value="Ewa Nowak"' in page  # what was typed is kept
        assert checks(app) == []
        token = manage_token(book_form(client, BYTOM, RATY, start))
    booking = booking_of(app, token)
    assert checks(app) == [("booking", True, None, None, booking.id)]


def test_the_refusal_at_booking_offers_a_phone_consultation_at_the_same_time(
    app: Flask,
) -> None:
    client = app.test_client()
    with time_machine.travel(BOOKED_ON, tick=False):
        start = local_start(VISIT_DAY, "10:00", WARSAW)
        page = book_form(client, BYTOM, RATY, start, answers=refusing("contact"))
        form = page.get_data(as_text=True)
        assert 'name="mode" value="phone"' in form
        data = {
            "csrf_token": csrf_token(client, f"/o/{BYTOM}/{RATY}/book?start={start}"),
            "mode": "phone",
            "start": start,
            "name": "Jan Kowalski",
            "email": "jan@example.com",
            "phone": "",
            "language": "pl",
        }
        # A phone consultation needs a number to call.
        assert client.post(f"/o/{BYTOM}/{RATY}/book", data=data).status_code == 422
        response = client.post(f"/o/{BYTOM}/{RATY}/book", data={**data, "phone": "601 200 300"})
    token = manage_token(response)
    booking = booking_of(app, token)
    assert booking.mode == BookingMode.PHONE and booking.phone == "+48601200300"
    assert cells_of(app, booking.id) == 2  # 30 minutes of a clerk's time, on the 15-minute grid


def test_the_api_needs_the_declaration_and_refuses_with_the_remote_channels(app: Flask) -> None:
    client = app.test_client()
    body = {
        "office": BYTOM,
        "service": RATY,
        "start": local_start(VISIT_DAY, "10:00", WARSAW),
        "name": "Jan Kowalski",
        "email": "jan@example.com",
        "consent": True,
    }
    with time_machine.travel(BOOKED_ON, tick=False):
        missing = client.post("/api/v1/bookings?lang=en", json=body)
        assert missing.status_code == 400
        assert missing.get_json()["questions"] == KEYS
        half = {"symptoms": False, "isolation": False}
        assert (
            client.post("/api/v1/bookings", json={**body, "declaration": half}).status_code == 400
        )
        for key in KEYS:
            answers = {k: k == key for k in KEYS}
            answer = client.post("/api/v1/bookings", json={**body, "declaration": answers})
            assert answer.status_code == 403
            remote = answer.get_json()["remote"]
            assert remote["department"]["email"] == "windykacja@bm.bytom.pl"
            assert "+48325325025" in [p["number"] for p in remote["department"]["phones"]]
        passed = client.post(
            "/api/v1/bookings", json={**body, "declaration": dict.fromkeys(KEYS, False)}
        )
        assert passed.status_code == 201, passed.get_json()
    assert [c[:3] for c in checks(app)] == [
        *[("booking", False, key) for key in KEYS],
        ("booking", True, None),
    ]


# ---------------------------------------------------------------- before the visit, online


def test_the_online_answer_opens_a_day_before_and_a_refusal_frees_the_slot(
    app: Flask, smtp: Mailbox
) -> None:
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp.port)
    token = book_bytom(app, language="cs", email="ewa@example.cz")
    booking = booking_of(app, token)
    assert cells_of(app, booking.id) == 2
    client = app.test_client()
    # Two days before: the link says when it opens.
    with time_machine.travel(warsaw("2026-11-23", "10:00"), tick=False):
        assert client.get(f"/manage/{token}/admission").status_code == 302
        page = client.get(f"/manage/{token}?lang=en").get_data(as_text=True)
        assert "you can answer the admission questions" in page
    with time_machine.travel(warsaw("2026-11-24", "18:00"), tick=False):
        page = client.get(f"/manage/{token}?lang=en").get_data(as_text=True)
        assert f"/manage/{token}/admission" in page
        form = client.get(f"/manage/{token}/admission?lang=cs")
        assert form.status_code == 200
        assert QUESTION_RE.findall(form.get_data(as_text=True)) == KEYS
        token_field = csrf_token(client, f"/manage/{token}/admission")
        answers = {f"q_{k}": v for k, v in refusing("household").items()}
        response = client.post(
            f"/manage/{token}/admission", data={"csrf_token": token_field, **answers}
        )
        assert response.status_code == 302
        page = client.get(f"/manage/{token}?lang=en")
        mail_sent(app)
    # The resident's own page now says so, and offers the next steps.
    assert page.status_code == 200
    assert 'data-refused="1"' in page.get_data(as_text=True)
    assert "phone consultation" in page.get_data(as_text=True)
    refused = booking_of(app, token)
    assert refused.status == BookingStatus.REFUSED
    assert cells_of(app, booking.id) == 0  # the counter time is free for others
    assert checks(app)[-1] == ("online", False, "household", None, booking.id)

    # The refusal mail, in Czech, names the department and how to reach it.
    _confirmation, refusal = smtp.messages
    text = refusal.get_body(("plain",)).get_content()
    assert refusal["To"] == "ewa@example.cz"
    assert "Dział Windykacji" not in text  # the department's name is in Czech
    assert "oddělení vymáhání" in text.lower() or "vymáhání" in text.lower()
    assert "windykacja@bm.bytom.pl" in text and "+48 32 532 50 25" in text
    assert "Podací schránka před budovou v ulici Zielna 25b" in text
    # A link of its own (the first token was shown once and only its hash kept) to the
    # same page, where the next steps are.
    [link] = re.findall(r"http://testserver/manage/([\w-]+)", text)
    assert link != token
    # Read the evening the mail came, before the visit (not at the real clock).
    with time_machine.travel(warsaw("2026-11-24", "18:30"), tick=False):
        same = app.test_client().get(f"/manage/{link}?lang=en").get_data(as_text=True)
    assert booking.code[:4] in same and "phone consultation" in same
    ics = [p for p in refusal.iter_attachments() if p.get_content_type() == "text/calendar"]
    assert "METHOD:CANCEL" in ics[0].get_content()


def test_a_passing_online_answer_today_counts_at_the_kiosk(app: Flask) -> None:
    token = book_bytom(app)
    booking = booking_of(app, token)
    client = app.test_client()
    with time_machine.travel(warsaw(VISIT_DAY, "07:00"), tick=False):
        field = csrf_token(client, f"/manage/{token}/admission")
        answers = {f"q_{k}": "no" for k in KEYS}
        client.post(f"/manage/{token}/admission", data={"csrf_token": field, **answers})
    assert checks(app)[-1] == ("online", True, None, None, booking.id)
    with time_machine.travel(warsaw(VISIT_DAY, "09:45"), tick=False):
        kiosk = signed_in_device(app, office=BYTOM)
        field = csrf_token(kiosk, "/kiosk/")
        response = kiosk.post("/kiosk/check-in", data={"csrf_token": field, "code": booking.code})
        # Not asked again: the ticket at once, and the kiosk says why.
        assert response.status_code == 302, response.get_data(as_text=True)[:2000]
        page = kiosk.get(response.headers["Location"]).get_data(as_text=True)
        assert not QUESTION_RE.findall(page)
        assert "You answered the admission questions online today" in page
    assert len(tickets(app)) == 1


# ---------------------------------------------------------------- at the kiosk


def kiosk_check_in(kiosk: FlaskClient, code: str, answers: dict[str, str] | None) -> Any:
    field = csrf_token(kiosk, "/kiosk/")
    data = {"csrf_token": field, "code": code}
    if answers is not None:
        data |= kiosk_answers(answers)
    return kiosk.post("/kiosk/check-in", data=data)


@pytest.mark.parametrize("key", KEYS)
def test_each_refusing_answer_at_the_kiosk_refuses_the_booking(app: Flask, key: str) -> None:
    token = book_bytom(app, at="10:00", language="en")
    booking = booking_of(app, token)
    with time_machine.travel(warsaw(VISIT_DAY, "09:45"), tick=False):
        kiosk = signed_in_device(app, office=BYTOM)
        payload = ticket_payload(booking.code, SECRET)
        response = kiosk_check_in(kiosk, payload, refusing(key))
        assert response.status_code == 403
        page = response.get_data(as_text=True)
        assert 'data-refused="1"' in page and "windykacja@bm.bytom.pl" in page
        # Scanning again gets no ticket either: the booking is refused.
        again = kiosk_check_in(kiosk, payload, {k: "no" for k in KEYS})
        assert again.status_code == 409
        mail_sent(app)
    assert tickets(app) == []
    assert booking_of(app, token).status == BookingStatus.REFUSED
    assert cells_of(app, booking.id) == 0
    assert checks(app)[-1] == ("kiosk", False, key, None, booking.id)
    sent = [m for m in outbox(app) if "please do not come" in m["Subject"].lower()]
    assert len(sent) == 1


def test_a_passing_answer_at_the_kiosk_gives_a_ticket_with_the_notices(app: Flask) -> None:
    token = book_bytom(app)
    booking = booking_of(app, token)
    with time_machine.travel(warsaw(VISIT_DAY, "09:45"), tick=False):
        kiosk = signed_in_device(app, office=BYTOM)
        asked = kiosk_check_in(kiosk, booking.code, None)
        assert asked.status_code == 200 and tickets(app) == []
        response = kiosk_check_in(kiosk, booking.code, {k: "no" for k in KEYS})
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        slip = kiosk.get(response.headers["Location"]).get_data(as_text=True)
    assert "mask covering your nose and mouth" in slip
    [issued] = tickets(app)
    assert issued.booking_id == booking.id
    assert checks(app)[-1] == ("kiosk", True, None, None, booking.id)


def test_no_ticket_without_the_check_whatever_is_posted(app: Flask) -> None:
    token = book_bytom(app)
    booking = booking_of(app, token)
    with time_machine.travel(warsaw(VISIT_DAY, "09:45"), tick=False):
        kiosk = signed_in_device(app, office=BYTOM)
        field = csrf_token(kiosk, "/kiosk/")
        for data in (
            {"code": booking.code, "answered": "1"},  # claims to have answered, did not
            {"code": booking.code, "answered": "1", "q_symptoms": "no"},
            {"code": booking.code, "answered": "1", **{f"q_{k}": "maybe" for k in KEYS}},
        ):
            response = kiosk.post("/kiosk/check-in", data={"csrf_token": field, **data})
            assert response.status_code == 400, data
        for data in ({}, {"answered": "1"}, {"answered": "1", "q_isolation": "no"}):
            response = kiosk.post(
                "/kiosk/walk-in/raty-umorzenia", data={"csrf_token": field, **data}
            )
            assert response.status_code in (200, 400), data
            assert "/kiosk/ticket/" not in response.headers.get("Location", "")
    assert tickets(app) == []

    # And the plain functions refuse as well: no passing answer today, no ticket.
    with app.app_context(), time_machine.travel(warsaw(VISIT_DAY, "09:45"), tick=False):
        office = db.session.scalar(select(Office).where(Office.slug == BYTOM))
        row = db.session.get(Booking, booking.id)
        with pytest.raises(admission.NotChecked):
            arrival.check_in(db.session, office, row, datetime.now(UTC))
        service = row.service
        with pytest.raises(admission.NotChecked):
            arrival.walk_in(db.session, office, service, datetime.now(UTC))
        # A pass from the day before does not count on the day of the visit.
        db.session.add(
            AdmissionCheck(
                office_id=office.id,
                booking_id=row.id,
                place="online",
                admitted=True,
                at=warsaw("2026-11-24", "20:00"),
            )
        )
        db.session.flush()
        with pytest.raises(admission.NotChecked):
            arrival.check_in(db.session, office, row, datetime.now(UTC))
        db.session.rollback()


@pytest.mark.parametrize("key", KEYS)
def test_a_walk_in_answers_before_a_number_and_a_refusal_gives_none(app: Flask, key: str) -> None:
    with time_machine.travel(warsaw(VISIT_DAY, "09:00"), tick=False):
        kiosk = signed_in_device(app, office=BYTOM)
        field = csrf_token(kiosk, "/kiosk/")
        page = kiosk.post("/kiosk/walk-in/raty-umorzenia", data={"csrf_token": field})
        assert page.status_code == 200
        assert QUESTION_RE.findall(page.get_data(as_text=True)) == KEYS
        refused = kiosk.post(
            "/kiosk/walk-in/raty-umorzenia",
            data={"csrf_token": field, **kiosk_answers(refusing(key))},
        )
        assert refused.status_code == 403
        text = refused.get_data(as_text=True)
        assert "windykacja@bm.bytom.pl" in text
        # The QR on the screen takes the contacts home: a real decoder reads the page's address.
        qr = kiosk.get("/kiosk/remote/raty-umorzenia/qr.png")
        (decoded,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(qr.data)))
        assert (
            decoded.text == f"http://127.0.0.1:5000/o/{BYTOM}/{RATY}/remote"
            or decoded.text.endswith(f"/o/{BYTOM}/{RATY}/remote")
        )
        remote = app.test_client().get(f"/o/{BYTOM}/{RATY}/remote?lang=en")
        assert remote.status_code == 200 and "windykacja@bm.bytom.pl" in remote.get_data(
            as_text=True
        )
        assert tickets(app) == []
        admitted = kiosk.post(
            "/kiosk/walk-in/raty-umorzenia", data={"csrf_token": field, **KIOSK_ADMITTED}
        )
        assert admitted.status_code == 302
    [issued] = tickets(app)
    assert issued.kind == TicketKind.WALK_IN
    assert [c[:3] for c in checks(app)] == [("kiosk", False, key), ("kiosk", True, None)]


# ---------------------------------------------------------------- at the counter


def checked_in(app: Flask, token: str) -> int:
    booking = booking_of(app, token)
    kiosk = signed_in_device(app, office=BYTOM)
    response = kiosk_check_in(kiosk, booking.code, {k: "no" for k in KEYS})
    assert response.status_code == 302
    return ticket_id_of(response)


def test_a_clerk_refuses_service_with_a_listed_reason_and_it_is_logged(app: Flask) -> None:
    token = book_bytom(app, at="10:00", language="pl")
    with time_machine.travel(warsaw(VISIT_DAY, "09:45"), tick=False):
        ticket_id = checked_in(app, token)
        clerk = Clerk(app, "anna", "Punkt obsługi 1", office=BYTOM)
        called = clerk.call_next()
        assert called.status_code == 200, called.get_data(as_text=True)
        page = clerk.client.get("/counter/").get_data(as_text=True)
        assert f"/counter/tickets/{ticket_id}/refuse" in page
        assert clerk.act(ticket_id, "refuse", reason="has a cough").status_code == 400  # free text
        response = clerk.act(ticket_id, "refuse", reason="no_mask")
        assert response.status_code == 200, response.get_data(as_text=True)
        mail_sent(app)
    [refused] = tickets(app)
    assert refused.status == TicketStatus.REFUSED
    booking = booking_of(app, token)
    assert booking.status == BookingStatus.REFUSED and cells_of(app, booking.id) == 0
    assert checks(app)[-1] == ("counter", False, None, "no_mask", booking.id)
    with app.app_context():
        entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "refuse")).one()
        # Who refused is audited; why (health) only in the outcome, which is purged.
        assert entry.detail == {} and entry.staff_id == clerk.id
    subjects = [m["Subject"] for m in outbox(app)]
    assert any("nie przychodź" in s.lower() or "osobiście" in s.lower() for s in subjects), subjects


def test_a_clerk_cannot_refuse_when_the_regime_is_off(app: Flask) -> None:
    token = book_bytom(app)
    with time_machine.travel(warsaw(VISIT_DAY, "09:45"), tick=False):
        ticket_id = checked_in(app, token)
        set_regime(app, BYTOM, False)
        clerk = Clerk(app, "anna", "Punkt obsługi 1", office=BYTOM)
        clerk.call_next()
        assert "/refuse" not in clerk.client.get("/counter/").get_data(as_text=True)
        assert clerk.act(ticket_id, "refuse", reason="looks_ill").status_code == 409


# ---------------------------------------------------------------- next steps


def refuse_online(app: Flask, token: str, at: datetime) -> None:
    client = app.test_client()
    with time_machine.travel(at, tick=False):
        field = csrf_token(client, f"/manage/{token}/admission")
        answers = {f"q_{k}": v for k, v in refusing("symptoms").items()}
        client.post(f"/manage/{token}/admission", data={"csrf_token": field, **answers})
    assert booking_of(app, token).status == BookingStatus.REFUSED


def test_a_refused_visit_becomes_a_phone_call_on_the_counters_list(app: Flask) -> None:
    token = book_bytom(app, phone="601 200 300")
    refuse_online(app, token, warsaw(VISIT_DAY, "08:00"))
    client = app.test_client()
    with time_machine.travel(warsaw(VISIT_DAY, "08:05"), tick=False):
        field = csrf_token(client, f"/manage/{token}?lang=en")
        response = client.post(f"/manage/{token}/phone", data={"csrf_token": field, "phone": ""})
        assert response.status_code == 302
    booking = booking_of(app, token)
    assert booking.status == BookingStatus.BOOKED and booking.mode == BookingMode.PHONE
    assert cells_of(app, booking.id) == 2  # the clerk's time is held again

    with time_machine.travel(warsaw(VISIT_DAY, "09:58"), tick=False):
        # Nobody checks a phone consultation in at the kiosk.
        kiosk = signed_in_device(app, office=BYTOM)
        answer = kiosk_check_in(kiosk, booking.code, {k: "no" for k in KEYS})
        assert answer.status_code == 409 and "phone" in ERROR_RE.search(
            answer.get_data(as_text=True)
        ).group(1)
        clerk = Clerk(app, "anna", "Punkt obsługi 1", office=BYTOM)
        page = clerk.client.get("/counter/").get_data(as_text=True)
        assert f'data-phone-booking="{booking.id}"' in page and "+48 601 200 300" in page
        started = clerk.post(f"/counter/phone/{booking.id}")
        assert started.status_code == 200, started.get_data(as_text=True)
        ticket_id = started.get_json()["ticket"]["ticket_id"]
        assert clerk.post(f"/counter/phone/{booking.id}").status_code == 409  # one call only
        assert clerk.act(ticket_id, "park").status_code == 409  # nobody in the lobby to call
        with app.app_context():
            office = db.session.scalar(select(Office).where(Office.slug == BYTOM))
            # The lobby never shows a phone call.
            assert display_state(db.session, office, datetime.now(UTC))["calls"] == []
        assert clerk.act(ticket_id, "finish").status_code == 200
    [call] = tickets(app)
    assert call.kind == TicketKind.PHONE and call.status == TicketStatus.DONE


def test_a_refused_visit_can_be_booked_again_only_after_the_waiting_days(app: Flask) -> None:
    token = book_bytom(app)
    refuse_online(app, token, warsaw("2026-11-24", "12:00"))
    client = app.test_client()
    with time_machine.travel(warsaw("2026-11-24", "12:05"), tick=False):
        calendar = client.get(f"/manage/{token}/reschedule").get_data(as_text=True)
        assert "/reschedule/2026-12-01" in calendar  # 7 days after the refusal
        assert "/reschedule/2026-11-30" not in calendar
        field = csrf_token(client, f"/manage/{token}/reschedule/2026-12-01")
        too_soon = client.post(
            f"/manage/{token}/reschedule",
            data={"csrf_token": field, "start": local_start("2026-11-30", "10:00", WARSAW)},
        )
        assert too_soon.status_code == 422
        assert booking_of(app, token).status == BookingStatus.REFUSED
        later = {"csrf_token": field, "start": local_start("2026-12-02", "10:00", WARSAW)}
        # Coming back in person on a regime day: the declaration again, first.
        asked = client.post(f"/manage/{token}/reschedule", data=later)
        assert asked.status_code == 200
        assert QUESTION_RE.findall(asked.get_data(as_text=True)) == KEYS
        assert booking_of(app, token).status == BookingStatus.REFUSED
        answered = client.post(f"/manage/{token}/reschedule", data={**later, **KIOSK_ADMITTED})
        assert answered.status_code == 302
    booking = booking_of(app, token)
    assert booking.status == BookingStatus.BOOKED and booking.mode == BookingMode.IN_PERSON
    assert booking.starts_at == warsaw("2026-12-02", "10:00")
    assert cells_of(app, booking.id) == 2
    assert checks(app)[-1] == ("booking", True, None, None, booking.id)


def test_a_refused_resident_answering_yes_again_stays_refused_and_waits_anew(app: Flask) -> None:
    token = book_bytom(app)
    refuse_online(app, token, warsaw("2026-11-24", "12:00"))
    client = app.test_client()
    with time_machine.travel(warsaw("2026-11-27", "12:00"), tick=False):
        field = csrf_token(client, f"/manage/{token}/reschedule/2026-12-02")
        data = {"csrf_token": field, "start": local_start("2026-12-02", "10:00", WARSAW)}
        answer = client.post(
            f"/manage/{token}/reschedule", data={**data, **kiosk_answers(refusing("contact"))}
        )
        assert answer.status_code == 302
    booking = booking_of(app, token)
    assert booking.status == BookingStatus.REFUSED and cells_of(app, booking.id) == 0
    assert admission_rebook_day(app, token) == "2026-12-04"  # seven days from the new refusal


def admission_rebook_day(app: Flask, token: str) -> str:
    with app.app_context():
        row = db.session.scalar(
            select(Booking).where(Booking.manage_token_hash == hash_token(token))
        )
        return str(admission.rebook_from(row).astimezone(ZoneInfo(WARSAW)).date())


def test_a_new_booking_is_no_way_around_the_waiting_days(app: Flask) -> None:
    token = book_bytom(app, email="ewa@example.com")
    refuse_online(app, token, warsaw("2026-11-24", "12:00"))
    client = app.test_client()
    with time_machine.travel(warsaw("2026-11-24", "12:10"), tick=False):
        soon = local_start("2026-11-27", "10:00", WARSAW)
        response = book_form(client, BYTOM, RATY, soon, email="EWA@example.com")
        assert response.status_code == 422
        later = local_start("2026-12-02", "11:00", WARSAW)
        assert book_form(client, BYTOM, RATY, later, email="ewa@example.com").status_code == 302


def test_refused_at_the_counter_then_a_phone_call_or_a_new_visit_each_get_a_ticket(
    app: Flask,
) -> None:
    """The refused ticket lets go of the booking, so what comes next is not blocked."""
    first = book_bytom(app, at="10:00", phone="601 200 300")
    with time_machine.travel(warsaw(VISIT_DAY, "09:45"), tick=False):
        ticket_id = checked_in(app, first)
        clerk = Clerk(app, "anna", "Punkt obsługi 1", office=BYTOM)
        clerk.call_next()
        assert clerk.act(ticket_id, "refuse", reason="looks_ill").status_code == 200
        # The resident turns the visit into a phone call, still the same morning.
        client = app.test_client()
        field = csrf_token(client, f"/manage/{first}")
        client.post(f"/manage/{first}/phone", data={"csrf_token": field, "phone": ""})
    booking = booking_of(app, first)
    assert booking.mode == BookingMode.PHONE and booking.active
    with time_machine.travel(warsaw(VISIT_DAY, "10:00"), tick=False):
        page = clerk.client.get("/counter/").get_data(as_text=True)
        assert f'data-phone-booking="{booking.id}"' in page
        started = clerk.post(f"/counter/phone/{booking.id}")
        assert started.status_code == 200, started.get_data(as_text=True)

    second = book_bytom(app, at="11:00", email="piotr@example.com")
    with time_machine.travel(warsaw(VISIT_DAY, "10:40"), tick=False):
        ticket_id = checked_in(app, second)
        clerk2 = Clerk(app, "jan", "Punkt obsługi 2", office=BYTOM)
        clerk2.call_next()
        assert clerk2.act(ticket_id, "refuse", reason="no_disinfection").status_code == 200
    client = app.test_client()
    with time_machine.travel(warsaw("2026-12-01", "09:00"), tick=False):
        field = csrf_token(client, f"/manage/{second}/reschedule/2026-12-04")
        data = {"csrf_token": field, "start": local_start("2026-12-04", "10:00", WARSAW)}
        answer = client.post(f"/manage/{second}/reschedule", data={**data, **KIOSK_ADMITTED})
        assert answer.status_code == 302
    with time_machine.travel(warsaw("2026-12-04", "09:50"), tick=False):
        new_ticket = checked_in(app, second)
    assert new_ticket != ticket_id
    assert ticket(app, new_ticket).booking_id == booking_of(app, second).id


def ticket(app: Flask, ticket_id: int) -> Ticket:
    with app.app_context():
        row = db.session.get(Ticket, ticket_id)
        db.session.expunge(row)
        return row


@pytest.mark.parametrize("reason", sorted(admission.COUNTER_REASONS))
def test_every_listed_reason_refuses_at_the_counter(app: Flask, reason: str) -> None:
    with time_machine.travel(warsaw(VISIT_DAY, "09:00"), tick=False):
        kiosk = signed_in_device(app, office=BYTOM)
        field = csrf_token(kiosk, "/kiosk/")
        walked = kiosk.post(
            "/kiosk/walk-in/rozliczenia-mediow", data={"csrf_token": field, **KIOSK_ADMITTED}
        )
        ticket_id = ticket_id_of(walked)
        clerk = Clerk(app, "anna", "Punkt obsługi 3", office=BYTOM)
        clerk.call_next()
        assert clerk.act(ticket_id, "refuse", reason=reason).status_code == 200
    assert ticket(app, ticket_id).status == TicketStatus.REFUSED
    assert checks(app)[-1] == ("counter", False, None, reason, None)


@pytest.mark.parametrize("key", KEYS)
def test_each_refusing_answer_online_refuses(app: Flask, key: str) -> None:
    token = book_bytom(app)
    client = app.test_client()
    with time_machine.travel(warsaw(VISIT_DAY, "07:00"), tick=False):
        field = csrf_token(client, f"/manage/{token}/admission")
        answers = {f"q_{k}": v for k, v in refusing(key).items()}
        client.post(f"/manage/{token}/admission", data={"csrf_token": field, **answers})
    booking = booking_of(app, token)
    assert booking.status == BookingStatus.REFUSED and cells_of(app, booking.id) == 0
    assert checks(app)[-1][:3] == ("online", False, key)


def test_a_question_refused_by_no_and_another_department(app: Flask) -> None:
    """An office's own question (a mask: "no" refuses); utility bills go to another department."""
    with app.app_context():
        office = db.session.scalar(select(Office).where(Office.slug == BYTOM))
        texts = {"pl": "Czy masz maseczkę?", "cs": "Máte roušku?", "en": "Do you have a mask?"}
        office.questions.append(
            AdmissionQuestion(key="mask", position=9, texts=texts, refuse_on=False)
        )
        db.session.commit()
    with time_machine.travel(warsaw(VISIT_DAY, "09:00"), tick=False):
        kiosk = signed_in_device(app, office=BYTOM)
        field = csrf_token(kiosk, "/kiosk/")
        url = "/kiosk/walk-in/rozliczenia-mediow"
        page = kiosk.post(url, data={"csrf_token": field}).get_data(as_text=True)
        assert QUESTION_RE.findall(page) == [*KEYS, "mask"]
        no_mask = kiosk.post(url, data={"csrf_token": field, **KIOSK_ADMITTED, "q_mask": "no"})
        assert no_mask.status_code == 403
        text = no_mask.get_data(as_text=True)
        assert "rozliczenia@bm.bytom.pl" in text and "windykacja@" not in text
        masked = kiosk.post(url, data={"csrf_token": field, **KIOSK_ADMITTED, "q_mask": "yes"})
        assert masked.status_code == 302
    assert [c[:3] for c in checks(app)] == [("kiosk", False, "mask"), ("kiosk", True, None)]


# ---------------------------------------------------------------- notices and personal data


def test_notices_on_the_confirmation_the_mail_and_the_display_only_under_the_regime(
    app: Flask,
) -> None:
    token = book_bytom(app, language="pl")
    with time_machine.travel(BOOKED_ON, tick=False):
        page = app.test_client().get(f"/manage/{token}?lang=pl").get_data(as_text=True)
    assert "maseczce zasłaniającej nos i usta" in page
    [mail] = outbox(app)
    text = mail.get_body(("plain",)).get_content()
    assert "maseczce zasłaniającej nos i usta" in text
    assert f"/manage/{token}/admission" in text
    with app.app_context(), time_machine.travel(warsaw(VISIT_DAY, "09:00"), tick=False):
        office = db.session.scalar(select(Office).where(Office.slug == BYTOM))
        notices = display_state(db.session, office, datetime.now(UTC))["notices"]
        assert any("maseczce" in n for n in notices["pl"])
        office.admission.enabled = False
        assert not any(
            "maseczce" in n
            for n in display_state(db.session, office, datetime.now(UTC))["notices"].get("pl", [])
        )
        db.session.rollback()


def test_only_outcomes_are_kept_and_they_are_purged(app: Flask) -> None:
    with time_machine.travel(BOOKED_ON, tick=False):
        start = local_start(VISIT_DAY, "10:00", WARSAW)
        book_form(app.test_client(), BYTOM, RATY, start, answers=refusing("isolation"))
    with app.app_context():
        columns = set(AdmissionCheck.__table__.columns.keys())
        # No answers, no free text: who, where, when, admitted or not, and which question.
        assert columns == {
            "id",
            "office_id",
            "booking_id",
            "ticket_id",
            "staff_id",
            "place",
            "admitted",
            "question",
            "reason",
            "at",
        }
    runner = app.test_cli_runner()
    with time_machine.travel(BOOKED_ON + timedelta(days=13), tick=False):
        assert "0 admission outcomes deleted" in runner.invoke(args=["admission", "purge"]).output
    with time_machine.travel(BOOKED_ON + timedelta(days=15), tick=False):
        assert "1 admission outcomes deleted" in runner.invoke(args=["admission", "purge"]).output
    assert checks(app) == []
    privacy = app.test_client().get("/privacy?lang=en").get_data(as_text=True)
    assert "health" in privacy and "14 days" in privacy


def test_office_files_configure_the_regime_and_are_checked(app: Flask) -> None:
    office = {
        "slug": "test-office",
        "name": "Test",
        "address": "Street 1",
        "timezone": WARSAW,
        "country": "PL",
        "admission": {
            "enabled": True,
            "questions": [
                {
                    "key": "mask",
                    "text": {
                        "pl": "Czy masz maseczkę?",
                        "cs": "Máte roušku?",
                        "en": "A mask?",
                        "uk": "Маска?",
                    },
                    "refuse_on": "no",
                }
            ],
        },
    }
    with app.app_context():
        [loaded] = import_offices(db.session, {"office": [office]})
        [question] = loaded.questions
        assert question.key == "mask" and question.refuse_on is False
        assert admission.evaluate([question], {"mask": False}) == admission.Outcome(False, "mask")
        assert admission.evaluate([question], {"mask": True}).admitted
        db.session.rollback()
        for bad in (
            {"refuse_on": "sometimes"},
            {"text": {"pl": "Tylko po polsku"}},
            {"key": "no spaces"},
        ):
            entry = {**office["admission"]["questions"][0], **bad}
            broken = {**office, "admission": {"enabled": True, "questions": [entry]}}
            with pytest.raises(OfficeConfigError):
                import_offices(db.session, {"office": [broken]})
            db.session.rollback()


# ---------------------------------------------------------------- races


def test_a_refusal_racing_a_check_in_never_leaves_a_ticket_for_a_refused_booking(
    any_app: Flask,
) -> None:
    """The resident refuses online while a kiosk checks the same booking in, six times over:
    either the ticket comes first and the refusal closes it, or the check-in is refused."""
    app = any_app
    tokens = [
        book_bytom(app, at=at, email=f"r{i}@example.com")
        for i, at in enumerate(["10:00", "10:00", "10:00", "10:30", "10:30", "10:30"])
    ]
    codes = [booking_of(app, t).code for t in tokens]
    with time_machine.travel(warsaw(VISIT_DAY, "10:05"), tick=True), LiveServer(app) as server:
        kiosk_path = device_link(app, DeviceKind.KIOSK, "Race kiosk", office=BYTOM)
        for token, code in zip(tokens, codes, strict=True):

            class Attempt:
                def __init__(self, token: str, code: str) -> None:
                    self.token, self.code = token, code

                def prepare(self, i: int) -> tuple[requests.Session, str]:
                    token = self.token
                    session = requests.Session()
                    url = server.url + (kiosk_path if i == 0 else f"/manage/{token}/admission")
                    page = session.get(url, timeout=60)
                    return session, CSRF_RE.search(page.text).group(1)

                def __call__(self, i: int, prepared: tuple[requests.Session, str]) -> Any:
                    session, field, token = *prepared, self.token
                    if i == 0:
                        data = {"csrf_token": field, "code": self.code, **KIOSK_ADMITTED}
                        path = "/kiosk/check-in"
                    else:
                        answers = {f"q_{k}": v for k, v in refusing("symptoms").items()}
                        data = {"csrf_token": field, **answers}
                        path = f"/manage/{token}/admission"
                    return session.post(
                        server.url + path, data=data, allow_redirects=False, timeout=120
                    )

            kiosk_answer, online_answer = race(2, Attempt(token, code))
            assert online_answer.status_code == 302
            assert kiosk_answer.status_code in (302, 409), kiosk_answer.text[:300]
    with app.app_context():
        for token in tokens:
            booking = db.session.scalar(
                select(Booking).where(Booking.manage_token_hash == hash_token(token))
            )
            assert booking.status == BookingStatus.REFUSED
            live = db.session.scalars(select(Ticket).where(Ticket.booking_id == booking.id)).all()
            assert live == [], [(t.label, t.status) for t in live]
        # Tickets issued before their refusal were closed with it.
        statuses = {t.status for t in db.session.scalars(select(Ticket))}
        assert statuses <= {TicketStatus.CANCELLED}
