"""Bookings confirmed by e-mail (``booking/confirmation.py``): pending until the link in
the mail is opened, released by the scheduler after the office's minutes, exactly once."""

from __future__ import annotations

import re
import threading
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from flask import Flask
from flask_babel import force_locale
from sqlalchemy import func, select

from admin.affected import cancel_by_office, stranded
from booking import confirmation
from booking.availability import availability
from booking.models import (
    Booking,
    BookingEvent,
    BookingEventKind,
    BookingSlot,
    BookingStatus,
    Closure,
    Office,
    Service,
)
from booking.versions import touch
from okienko import scheduler
from okienko.database import db
from okienko.tokens import hash_token
from okienko.transaction import unit_of_work
from tests.helpers.forms import book_form, csrf_token, local_start, manage_token
from tests.helpers.mailbox import Mailbox, mail_sent
from tests.helpers.office_files import import_office

PLZEN, FLATS, PRAGUE = "plzen-kontaktni-misto", "volne-byty", "Europe/Prague"
NOW = datetime(2026, 3, 20, 9, tzinfo=UTC)  # a Friday
DAY = "2026-03-30"  # a Monday the office is open
START = local_start(DAY, "10:00", PRAGUE)
LINK = re.compile(r"http://testserver/confirm/([\w-]+)")


def switch_on(app: Flask, minutes: int = 15) -> None:
    with app.app_context(), unit_of_work() as session:
        office = session.scalar(select(Office).where(Office.slug == PLZEN))
        assert office is not None
        office.confirm_by_mail, office.confirm_minutes = True, minutes
        touch(session, office.id)


def book(
    app: Flask, when: datetime = NOW, email: str = "jan@example.com", start: str = START
) -> Any:
    with time_machine.travel(when, tick=False):
        response = book_form(app.test_client(), PLZEN, FLATS, start, email=email, language="en")
        mail_sent(app)
    return response


def booking(app: Flask, code_or_id: Any = None) -> Booking:
    with app.app_context():
        query = select(Booking).order_by(Booking.id.desc())
        row = db.session.scalars(query).first()
        assert row is not None
        db.session.expunge(row)
        return row


def english(app: Flask) -> Any:
    """A browser that asks for English pages."""
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def run(app: Flask, job: str, now: datetime) -> int:
    with time_machine.travel(now, tick=False):
        scheduler._app = app
        return scheduler.run_job(job)


def is_free(app: Flask, start: str) -> bool:
    with app.app_context():
        session = db.session()
        office = session.scalars(select(Office).where(Office.slug == PLZEN)).one()
        service = session.scalars(
            select(Service).where(Service.office_id == office.id, Service.key == FLATS)
        ).one()
        day = date.fromisoformat(DAY)
        times = availability(session, office, service, day, day, NOW)[day]
        return datetime.fromisoformat(start.replace("Z", "+00:00")) in times


def slots(app: Flask, booking_id: int) -> int:
    with app.app_context():
        return (
            db.session.scalar(
                select(func.count(BookingSlot.id)).where(BookingSlot.booking_id == booking_id)
            )
            or 0
        )


def released_events(app: Flask) -> int:
    with app.app_context():
        return (
            db.session.scalar(
                select(func.count(BookingEvent.id)).where(
                    BookingEvent.kind == BookingEventKind.RELEASED
                )
            )
            or 0
        )


def press_confirm(client: Any, confirm_token: str) -> Any:
    """Open the mail's link and press its button, as the resident does."""
    url = f"/confirm/{confirm_token}"
    return client.post(url, data={"csrf_token": csrf_token(client, url)})


def test_off_by_default_bookings_are_booked_at_once(app: Flask) -> None:
    token = manage_token(book(app))
    assert booking(app).status == BookingStatus.BOOKED
    page = english(app).get(f"/manage/{token}").get_data(as_text=True)
    assert "pending-notice" not in page


def test_book_mail_link_pending_page_confirm(app: Flask, smtp: Mailbox) -> None:
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp.port)
    switch_on(app, 15)
    token = manage_token(book(app))
    row = booking(app)
    assert row.status == BookingStatus.PENDING
    assert row.confirm_by == NOW + timedelta(minutes=15)
    assert slots(app, row.id) > 0  # the time is held
    [mail] = smtp.wait_for(1)
    assert "Confirm your booking" in mail["Subject"]
    text = mail.get_body(("plain",)).get_content()
    [confirm_token] = LINK.findall(text)
    assert confirm_token != token
    client = english(app)
    with time_machine.travel(NOW + timedelta(minutes=5), tick=False):
        page = client.get(f"/manage/{token}").get_data(as_text=True)
        assert "Your booking is not confirmed yet" in page
        assert "confirmation link" in page and "10:15" in page  # until 10:15 local time
        # Opening the link (a mail scanner does it too) only shows the booking.
        for _scan in range(2):
            shown = client.get(f"/confirm/{confirm_token}")
            assert shown.status_code == 200
            body = shown.get_data(as_text=True)
            assert "Confirm my booking" in body and "10:15" in body and "Vacant city flats" in body
        assert booking(app).status == BookingStatus.PENDING
        # A POST without the form's CSRF token confirms nothing.
        assert client.post(f"/confirm/{confirm_token}").status_code == 400
        assert booking(app).status == BookingStatus.PENDING
        first = press_confirm(client, confirm_token)
        assert first.status_code == 200
        assert "Your booking is confirmed" in first.get_data(as_text=True)
        again = client.get(f"/confirm/{confirm_token}")
        assert "already confirmed" in again.get_data(as_text=True)
        assert "Confirm my booking" not in again.get_data(as_text=True)
        page = client.get(f"/manage/{token}").get_data(as_text=True)
        assert "pending-notice" not in page and f"/manage/{token}/cancel" in page
    row = booking(app)
    assert row.status == BookingStatus.BOOKED and row.confirmed_at is not None
    assert client.get("/confirm/not-a-token").status_code == 404
    # Confirmed bookings never expire.
    assert run(app, "confirmations", NOW + timedelta(hours=1)) == 0
    assert booking(app).status == BookingStatus.BOOKED


def test_unconfirmed_is_released_after_the_minutes(app: Flask, smtp: Mailbox) -> None:
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp.port)
    switch_on(app, 15)
    token = manage_token(book(app))
    [confirm_token] = LINK.findall(smtp.wait_for(1)[0].get_body(("plain",)).get_content())
    row = booking(app)
    # Both counters' time held by pending bookings: nobody else can take it.
    book(app, NOW + timedelta(minutes=1), email="petr@example.com")
    assert not is_free(app, START)
    assert book(app, NOW + timedelta(minutes=2), email="eva@example.com").status_code == 409
    assert run(app, "confirmations", NOW + timedelta(minutes=14)) == 0
    assert run(app, "confirmations", NOW + timedelta(minutes=15)) == 1
    assert run(app, "confirmations", NOW + timedelta(minutes=16)) == 1  # the second one
    assert run(app, "confirmations", NOW + timedelta(minutes=17)) == 0  # each once
    with app.app_context():
        released = db.session.get(Booking, row.id)
        assert released is not None and released.status == BookingStatus.RELEASED
    assert slots(app, row.id) == 0 and is_free(app, START)  # bookable again
    assert released_events(app) == 2
    client = english(app)
    with time_machine.travel(NOW + timedelta(minutes=20), tick=False):
        late = client.get(f"/confirm/{confirm_token}")
        assert late.status_code == 410
        body = late.get_data(as_text=True)
        assert "The time was released" in body and f"/o/{PLZEN}/{FLATS}" in body
        assert "The time was released" in client.get(f"/manage/{token}").get_data(as_text=True)
    # Someone else books the freed time.
    assert book(app, NOW + timedelta(minutes=21), email="eva@example.com").status_code == 302


def test_a_late_click_releases_even_before_the_job(app: Flask, smtp: Mailbox) -> None:
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp.port)
    switch_on(app, 15)
    book(app)
    [confirm_token] = LINK.findall(smtp.wait_for(1)[0].get_body(("plain",)).get_content())
    client = app.test_client()
    with time_machine.travel(NOW + timedelta(minutes=14), tick=False):
        token = csrf_token(client, f"/confirm/{confirm_token}")  # the page opened in time
    with time_machine.travel(NOW + timedelta(minutes=15), tick=False):
        # Only opened late: it says so, and changes nothing.
        assert client.get(f"/confirm/{confirm_token}").status_code == 410
        assert booking(app).status == BookingStatus.PENDING and released_events(app) == 0
        # The button pressed late releases it on the spot.
        late = client.post(f"/confirm/{confirm_token}", data={"csrf_token": token})
        assert late.status_code == 410
    assert booking(app).status == BookingStatus.RELEASED and released_events(app) == 1
    assert run(app, "confirmations", NOW + timedelta(minutes=16)) == 0


def test_pending_counts_toward_the_cap(app: Flask) -> None:
    switch_on(app)
    with app.app_context():
        cap = db.session.scalars(
            select(Office.max_active_bookings_per_contact).where(Office.slug == PLZEN)
        ).one()
    starts = [local_start(DAY, f"{9 + i:02d}:00", PRAGUE) for i in range(cap + 1)]
    for start in starts[:cap]:
        assert book(app, start=start).status_code == 302
    refused = book(app, start=starts[cap])
    assert refused.status_code != 302
    with app.app_context():
        assert (
            db.session.scalar(
                select(func.count(Booking.id)).where(Booking.status == BookingStatus.PENDING)
            )
            == cap
        )


def test_kiosk_refuses_a_pending_booking(app: Flask) -> None:
    from queueing.arrival import may_check_in

    switch_on(app)
    book(app)
    with app.app_context():
        row = db.session.scalars(select(Booking)).one()
        from booking.refusals import NotConfirmed

        with pytest.raises(NotConfirmed) as refused:
            may_check_in(row.office, row, row.starts_at)
        with force_locale("en"):  # the kiosk speaks the office's language, Polish here
            assert "not confirmed" in str(refused.value.message)
        assert refused.value.error == "not_confirmed"


def test_api_says_pending_and_until_when(app: Flask) -> None:
    switch_on(app)
    body = {
        "office": PLZEN,
        "service": FLATS,
        "start": START,
        "name": "Jan Novák",
        "email": "jan@example.com",
        "consent": True,
    }
    with time_machine.travel(NOW, tick=False):
        client = app.test_client()
        made = client.post("/api/v1/bookings", json=body)
        assert made.status_code == 201, made.get_json()
        answer = made.get_json()
        assert answer["status"] == "pending"
        assert answer["confirm_by"].startswith("2026-03-20T09:15")
        read = client.get(
            f"/api/v1/bookings/{answer['code']}", headers={"X-Booking-Token": answer["token"]}
        ).get_json()
        assert read["status"] == "pending" and read["confirm_by"] == answer["confirm_by"]


def test_api_without_email_is_refused(app: Flask) -> None:
    switch_on(app)
    body = {
        "office": PLZEN,
        "service": FLATS,
        "start": START,
        "name": "Jan Novák",
        "phone": "+420601123456",
        "consent": True,
    }
    with time_machine.travel(NOW, tick=False):
        made = app.test_client().post("/api/v1/bookings", json=body)
    assert made.status_code == 422 and made.get_json()["error"] == "email_needed"


# ------------------------------------------------------------------ races


def pending_booking(app: Flask) -> tuple[int, str]:
    """A pending booking made directly, with its confirm token."""
    switch_on(app)
    book(app)
    row = booking(app)
    token = "race-token-" + row.code
    with app.app_context(), unit_of_work() as session:
        from okienko.tokens import hash_token

        session.get(Booking, row.id).confirm_token_hash = hash_token(token)  # type: ignore[union-attr]
    return row.id, token


def together(count: int, act: Any) -> list[Any]:
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def one(i: int) -> None:
        barrier.wait()
        results[i] = act(i)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return results


def test_two_schedulers_release_once(any_app: Flask) -> None:
    booking_id, _token = pending_booking(any_app)
    late = NOW + timedelta(minutes=15)

    def release(_i: int) -> int:
        with any_app.app_context():
            try:
                return confirmation.release_overdue(db.session(), late)
            finally:
                db.session.remove()

    assert sorted(together(2, release)) == [0, 1]
    assert booking(any_app).status == BookingStatus.RELEASED
    assert slots(any_app, booking_id) == 0 and released_events(any_app) == 1


def test_confirm_racing_the_release_one_wins(any_app: Flask) -> None:
    """The resident presses the button just before the deadline while the scheduler,
    just after it, releases: each one's deadline test passes, so only the status test of
    the two UPDATEs keeps both from winning."""
    booking_id, token = pending_booking(any_app)
    deadline = NOW + timedelta(minutes=15)
    millisecond = timedelta(milliseconds=1)

    def act(i: int) -> str:
        with any_app.app_context():
            try:
                session = db.session()
                if i == 0:
                    released = confirmation.release_overdue(session, deadline + millisecond)
                    return f"released:{released}"
                with unit_of_work(session):
                    row = confirmation.booking_for_token(session, token)
                    assert row is not None
                    return confirmation.confirm(session, row, deadline - millisecond).value
            finally:
                db.session.remove()

    results = together(2, act)
    row = booking(any_app)
    if results[1] == "confirmed":
        assert results[0] == "released:0"
        assert row.status == BookingStatus.BOOKED and row.confirmed_at is not None
        assert slots(any_app, booking_id) > 0 and released_events(any_app) == 0
    else:
        assert results == ["released:1", "released"]
        assert row.status == BookingStatus.RELEASED and row.confirmed_at is None
        assert slots(any_app, booking_id) == 0 and released_events(any_app) == 1


def test_a_release_that_read_the_booking_before_its_confirm_changes_nothing(
    any_app: Flask,
) -> None:
    """The scheduler listed the booking as overdue, then the confirm committed first: its
    UPDATE must find the booking no longer pending (a deadline test alone would pass)."""
    booking_id, token = pending_booking(any_app)
    deadline = NOW + timedelta(minutes=15)
    with any_app.app_context(), unit_of_work() as session:
        row = confirmation.booking_for_token(session, token)
        assert row is not None
        outcome = confirmation.confirm(session, row, deadline - timedelta(milliseconds=1))
        assert outcome == confirmation.Outcome.CONFIRMED
    with any_app.app_context(), unit_of_work() as session:
        late = deadline + timedelta(milliseconds=1)
        assert not confirmation._release_row(session, booking_id, late)
    row = booking(any_app)
    assert row.status == BookingStatus.BOOKED and slots(any_app, booking_id) > 0
    assert released_events(any_app) == 0


def test_the_resident_cancels_a_pending_booking(app: Flask) -> None:
    switch_on(app)
    token = manage_token(book(app))
    client = english(app)
    with time_machine.travel(NOW + timedelta(minutes=1), tick=False):
        page = client.get(f"/manage/{token}").get_data(as_text=True)
        assert "pending-notice" in page and f"/manage/{token}/cancel" in page
        assert "qr.png" not in page and "/reschedule" not in page
        url = f"/manage/{token}/cancel"
        sent = client.post(url, data={"csrf_token": csrf_token(client, url)})
        assert sent.status_code == 302
    row = booking(app)
    assert row.status == BookingStatus.CANCELLED and slots(app, row.id) == 0
    assert is_free(app, START)
    # The link in the mail now says so, and the scheduler leaves it alone.
    with app.app_context(), unit_of_work() as session:
        cancelled = session.get(Booking, row.id)
        assert cancelled is not None
        cancelled.confirm_token_hash = hash_token("cancelled-token")
    with time_machine.travel(NOW + timedelta(minutes=2), tick=False):
        page = client.get("/confirm/cancelled-token").get_data(as_text=True)
    assert "This booking was cancelled" in page and "Confirm my booking" not in page
    assert run(app, "confirmations", NOW + timedelta(hours=1)) == 0


def test_a_closure_over_a_pending_booking_strands_it_for_the_office_to_cancel(
    app: Flask,
) -> None:
    switch_on(app)
    book(app)
    row = booking(app)
    day = date.fromisoformat(DAY)
    with app.test_request_context(), unit_of_work() as session:  # the mail has links
        office = session.scalars(select(Office).where(Office.slug == PLZEN)).one()
        session.add(Closure(office=office, first_day=day, last_day=day, reason="Flood"))
        session.flush()
        [lost] = stranded(session, office, NOW)
        assert lost.id == row.id and lost.status == BookingStatus.PENDING
        cancel_by_office(session, lost, "Flood", NOW)
    row = booking(app)
    assert row.status == BookingStatus.CANCELLED and row.cancel_reason == "Flood"
    assert slots(app, row.id) == 0


# ------------------------------------------------------------------ the office file


def test_office_file_sets_it_and_refuses_bad_values(app: Flask, tmp_path: Path) -> None:
    settings = "confirm_by_mail = true\nconfirm_minutes = 30"
    assert import_office(app, tmp_path, settings=settings).exit_code == 0
    with app.app_context():
        office = db.session.scalars(select(Office).where(Office.slug == "test-office")).one()
        assert (office.confirm_by_mail, office.confirm_minutes) == (True, 30)
    refused = import_office(app, tmp_path, settings='confirm_by_mail = "yes"')
    assert refused.exit_code != 0
    assert "'confirm_by_mail' is true or false" in refused.output
    assert import_office(app, tmp_path, settings="confirm_minutes = 0").exit_code != 0
    assert import_office(app, tmp_path).exit_code == 0  # left out: off again, 15 minutes
    with app.app_context():
        office = db.session.scalars(select(Office).where(Office.slug == "test-office")).one()
        assert (office.confirm_by_mail, office.confirm_minutes) == (False, 15)
