"""The waiting list: join when nothing is free, offered a freed time, claim or pass it on."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from flask import Flask
from flask_babel import force_locale
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value

from booking import waitlist
from booking.availability import first_free_start
from booking.bookings import cancel_booking
from booking.models import (
    Booking,
    BookingSlot,
    BookingStatus,
    Office,
    Service,
    SlotHold,
    WaitlistEntry,
    WaitlistPart,
    WaitlistStatus,
)
from okienko import scheduler
from okienko.database import db
from okienko.transaction import unit_of_work
from tests.helpers.altcha import solve
from tests.helpers.apps import make_app
from tests.helpers.factories import MadeService, MakeBooking, MakeOffice, MakeService
from tests.helpers.forms import CSRF_RE
from tests.helpers.mailbox import Mailbox, mail_sent, outbox

# Wednesday 07:00 in Warsaw: the office opens 08:00-10:00, one-hour visits, two days ahead.
NOW = datetime(2026, 3, 18, 6, 0, tzinfo=UTC)


@pytest.fixture
def fixed() -> Iterator[Any]:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def use_smtp(app: Flask, port: int) -> None:
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port)


def full_service(
    make_office: MakeOffice, make_service: MakeService, make_booking: MakeBooking, **settings: Any
) -> tuple[MadeService, list[Any]]:
    """A service whose every time in the booking window is booked."""
    office = make_office(
        hours={"daily": "08:00-10:00"},
        min_notice_minutes=0,
        max_days_ahead=2,
        slot_minutes=30,
        **settings,
    )
    service = make_service(office, "raty", duration=60)
    bookings = [make_booking(service, now=NOW) for _ in range(4)]
    return service, bookings


def join(client: Any, service: MadeService, email: str, **form: str) -> Any:
    url = f"/o/{service.office.slug}/{service.key}/waitlist"
    page = client.get(url)
    assert page.status_code == 200, page.get_data(as_text=True)[:300]
    token = CSRF_RE.search(page.get_data(as_text=True))
    assert token
    data = {
        "csrf_token": token.group(1),
        "first_day": "2026-03-18",
        "last_day": "2026-03-20",
        "part": "any",
        "name": "Anna Nowak",
        "email": email,
        "language": "en",
        **form,
    }
    return client.post(url, data=data)


def cancel(app: Flask, booking_id: int, now: datetime = NOW) -> None:
    with app.test_request_context("/"), unit_of_work() as session:
        booking = session.get(Booking, booking_id)
        assert booking is not None
        cancel_booking(session, booking, now)


def run_job(app: Flask, name: str, now: datetime) -> int:
    with time_machine.travel(now, tick=False):
        scheduler._app = app
        return scheduler.run_job(name)


def claim_link(message: Any) -> str:
    text = message.get_body(("plain",)).get_content()
    match = re.search(r"https?://[^/\s]+(/w/[\w-]+)", text)
    assert match, text
    return match.group(1)


def free(app: Flask, service: MadeService, now: datetime = NOW) -> datetime | None:
    with app.app_context():
        office = db.session.get(Office, service.office.id)
        found = db.session.get(Service, service.id)
        assert office is not None and found is not None
        return first_free_start(db.session(), office, found, now)


def counts(app: Flask, service: MadeService) -> dict[str, int]:
    with app.app_context():
        return waitlist.counts(db.session(), service.office.id, date(2026, 3, 1), date(2026, 3, 31))


def test_join_offer_hold_and_claim(
    app: Flask,
    smtp: Mailbox,
    fixed: Any,
    make_office: MakeOffice,
    make_service: MakeService,
    make_booking: MakeBooking,
) -> None:
    use_smtp(app, smtp.port)
    service, bookings = full_service(make_office, make_service, make_booking)
    client = app.test_client()
    calendar = client.get(f"/o/{service.office.slug}/{service.key}").get_data(as_text=True)
    assert f"/o/{service.office.slug}/{service.key}/waitlist" in calendar

    bad = join(client, service, "not-an-address")
    assert bad.status_code == 422
    assert "error-summary" in bad.get_data(as_text=True)

    joined = join(client, service, "anna@example.com")
    assert joined.status_code == 302
    mail_sent(app)
    (welcome,) = smtp.wait_for(1)
    assert "/w/leave/" in welcome.get_body(("plain",)).get_content()

    cancel(app, bookings[1].id)
    mail_sent(app)
    offer = smtp.wait_for(2)[1]
    assert offer["To"] == "anna@example.com"
    # Held: nobody else can book it, though the booking is cancelled.
    assert free(app, service) is None
    with app.app_context():
        hold = db.session.scalar(select(SlotHold))
        assert hold is not None and hold.starts_at == bookings[1].starts_at
        assert hold.expires_at == NOW + timedelta(minutes=30)

    link = claim_link(offer)
    page = client.get(link)
    assert page.status_code == 200
    token = CSRF_RE.search(page.get_data(as_text=True))
    assert token
    done = client.post(link, data={"csrf_token": token.group(1)})
    assert done.status_code == 302 and "/manage/" in done.headers["Location"]
    with app.app_context():
        booking = db.session.scalar(select(Booking).where(Booking.email == "anna@example.com"))
        assert booking is not None and booking.starts_at == bookings[1].starts_at
        assert db.session.scalar(select(func.count(SlotHold.id))) == 0
        assert (
            db.session.scalar(
                select(func.count(BookingSlot.id)).where(BookingSlot.hold_id.is_not(None))
            )
            == 0
        )
    assert client.get(link).status_code == 410  # a second claim finds nothing
    assert counts(app, service) == {
        "joined": 1,
        "offered": 1,
        "claimed": 1,
        "expired": 0,
        "left": 0,
        "ended": 0,
    }


def test_unclaimed_goes_to_the_next_then_back_to_everyone(
    app: Flask,
    smtp: Mailbox,
    fixed: Any,
    make_office: MakeOffice,
    make_service: MakeService,
    make_booking: MakeBooking,
) -> None:
    use_smtp(app, smtp.port)
    service, bookings = full_service(make_office, make_service, make_booking)
    client = app.test_client()
    assert join(client, service, "first@example.com").status_code == 302
    fixed.shift(timedelta(minutes=1))
    assert join(client, service, "second@example.com").status_code == 302
    # Mornings only: not offered a time that starts in the afternoon, nor this one either
    # when it asks for afternoons.
    assert join(client, service, "third@example.com", part="afternoon").status_code == 302
    fixed.shift(timedelta(minutes=1))
    later = NOW + timedelta(minutes=2)
    cancel(app, bookings[3].id, later)
    mail_sent(app)
    assert [m["To"] for m in smtp.wait_for(4)[3:]] == ["first@example.com"]

    assert run_job(app, "waitlist_holds", later + timedelta(minutes=29)) == 0
    assert run_job(app, "waitlist_holds", later + timedelta(minutes=30)) == 1
    fixed.shift(timedelta(minutes=30))
    mail_sent(app)
    assert [m["To"] for m in smtp.wait_for(5)[4:]] == ["second@example.com"]
    assert free(app, service, later + timedelta(minutes=30)) is None

    assert run_job(app, "waitlist_holds", later + timedelta(minutes=60)) == 1
    # Nobody else in line for it: free for everyone again.
    assert free(app, service, later + timedelta(minutes=60)) == bookings[3].starts_at
    with app.app_context():
        assert db.session.scalar(select(func.count(BookingSlot.id))) == 3 * 2
        statuses = db.session.scalars(select(WaitlistEntry.status)).all()
        assert set(statuses) == {WaitlistStatus.WAITING}
    assert counts(app, service)["expired"] == 2
    assert counts(app, service)["offered"] == 2


def test_leave_link(
    app: Flask,
    smtp: Mailbox,
    fixed: Any,
    make_office: MakeOffice,
    make_service: MakeService,
    make_booking: MakeBooking,
) -> None:
    use_smtp(app, smtp.port)
    service, bookings = full_service(make_office, make_service, make_booking)
    client = app.test_client()
    joined = join(client, service, "anna@example.com")
    leave = joined.headers["Location"]
    page = client.get(leave)
    token = CSRF_RE.search(page.get_data(as_text=True))
    assert token
    assert client.post(leave, data={"csrf_token": token.group(1)}).status_code == 302
    with app.app_context():
        assert db.session.scalar(select(WaitlistEntry.status)) == WaitlistStatus.LEFT
    cancel(app, bookings[0].id)
    assert free(app, service) == bookings[0].starts_at  # offered to nobody
    assert counts(app, service)["left"] == 1
    assert client.get("/w/leave/not-a-token").status_code == 404


def test_entries_end_after_their_last_day_and_are_erased(
    app: Flask,
    smtp: Mailbox,
    fixed: Any,
    make_office: MakeOffice,
    make_service: MakeService,
    make_booking: MakeBooking,
) -> None:
    use_smtp(app, smtp.port)
    service, _bookings = full_service(make_office, make_service, make_booking)
    client = app.test_client()
    join(client, service, "anna@example.com", last_day="2026-03-18")
    join(client, service, "ben@example.com", last_day="2026-03-19")
    assert run_job(app, "retention", NOW + timedelta(hours=12)) == 0
    assert run_job(app, "retention", NOW + timedelta(days=1)) == 1
    with app.app_context():
        assert db.session.scalars(select(WaitlistEntry.email)).all() == ["ben@example.com"]
    assert counts(app, service)["ended"] == 1
    assert counts(app, service)["joined"] == 2


def test_rebook_delay_holds_a_cancelled_time_for_nobody(
    app: Flask,
    fixed: Any,
    make_office: MakeOffice,
    make_service: MakeService,
    make_booking: MakeBooking,
) -> None:
    service, bookings = full_service(
        make_office, make_service, make_booking, rebook_delay_minutes=15
    )
    cancel(app, bookings[0].id)
    assert free(app, service) is None
    assert run_job(app, "waitlist_holds", NOW + timedelta(minutes=14)) == 0
    assert run_job(app, "waitlist_holds", NOW + timedelta(minutes=15)) == 1
    assert free(app, service, NOW + timedelta(minutes=15)) == bookings[0].starts_at


def test_full_service_page_offers_no_list_when_times_are_free(
    app: Flask, fixed: Any, make_office: MakeOffice, make_service: MakeService
) -> None:
    office = make_office(min_notice_minutes=0, max_days_ahead=2)
    service = make_service(office, "raty")
    response = app.test_client().get(f"/o/{office.slug}/{service.key}/waitlist")
    assert response.status_code == 302


# --- Review fixes: duplicates, bot check, rate limit, confirmation, expiry, counter, erasure


def set_office(app: Flask, office_id: int, **values: Any) -> None:
    with app.app_context():
        office = db.session.get(Office, office_id)
        assert office is not None
        for key, value in values.items():
            setattr(office, key, value)
        db.session.commit()


def entries(app: Flask) -> list[tuple[str, str, WaitlistStatus]]:
    with app.app_context():
        rows = db.session.execute(
            select(WaitlistEntry.name, WaitlistEntry.email, WaitlistEntry.status).order_by(
                WaitlistEntry.id
            )
        )
        return [(name, email, status) for name, email, status in rows]


def test_one_address_waits_once_per_service(
    app: Flask,
    fixed: Any,
    make_office: MakeOffice,
    make_service: MakeService,
    make_booking: MakeBooking,
) -> None:
    service, _bookings = full_service(make_office, make_service, make_booking)
    client = app.test_client()
    joined = join(client, service, "anna@example.com")
    assert joined.status_code == 302
    again = join(client, service, "Anna@Example.com")
    assert again.status_code == 409
    with app.test_request_context(), force_locale("pl"):  # the office's language
        said = str(waitlist.AlreadyWaiting.message)
    assert said in again.get_data(as_text=True)
    assert [m["To"] for m in outbox(app)] == ["anna@example.com"]  # no second mail
    # Once out of line, the address may join again.
    leave = joined.headers["Location"]
    token = CSRF_RE.search(client.get(leave).get_data(as_text=True))
    assert token
    assert client.post(leave, data={"csrf_token": token.group(1)}).status_code == 302
    assert join(client, service, "anna@example.com").status_code == 302
    assert len(outbox(app)) == 2
    # The index itself refuses a second entry in line, whatever the timing.
    with app.test_request_context("/"), unit_of_work() as session:
        office = session.get(Office, service.office.id)
        found = session.get(Service, service.id)
        assert office is not None and found is not None
        with pytest.raises(IntegrityError), session.begin_nested():
            session.add(
                WaitlistEntry(
                    office_id=office.id,
                    service_id=found.id,
                    first_day=NOW.date(),
                    last_day=NOW.date(),
                    part=WaitlistPart.ANY,
                    name="Bot",
                    email="anna@example.com",
                    language="en",
                    status=WaitlistStatus.WAITING,
                    leave_token_hash="x" * 64,
                    created_at=NOW,
                )
            )
            session.flush()


def test_join_needs_the_bot_check_where_the_office_asks_for_it(
    app: Flask,
    fixed: Any,
    make_office: MakeOffice,
    make_service: MakeService,
    make_booking: MakeBooking,
) -> None:
    app.config.update(ALTCHA_MAX_NUMBER=2000)
    service, _bookings = full_service(make_office, make_service, make_booking)
    set_office(app, service.office.id, bot_challenge=True)
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    page = client.get(f"/o/{service.office.slug}/{service.key}/waitlist").get_data(as_text=True)
    assert '<altcha-widget name="altcha" challengeurl="/api/v1/challenge"' in page
    refused = join(client, service, "anna@example.com")
    assert refused.status_code == 422
    assert 'href="#bot-check"' in refused.get_data(as_text=True)
    assert outbox(app) == [] and entries(app) == []
    answer = solve(client.get("/api/v1/challenge").get_json())
    assert join(client, service, "anna@example.com", altcha=answer).status_code == 302
    # One answer, one join.
    again = join(client, service, "ben@example.com", altcha=answer)
    assert again.status_code == 422 and "already been used" in again.get_data(as_text=True)
    assert [m["To"] for m in outbox(app)] == ["anna@example.com"]


@pytest.fixture
def limited_app(request: pytest.FixtureRequest, tmp_path: Path) -> Flask:
    return make_app(
        request,
        tmp_path,
        "sqlite",
        RATELIMIT_ENABLED=True,
        RATELIMIT_STORAGE_URI="memory://",
        RATELIMIT_KEY_PREFIX=uuid.uuid4().hex,
    )


@pytest.fixture
def factory_app(request: pytest.FixtureRequest) -> Flask:
    """The factories work on the test's app: ``limited_app`` here too."""
    name = next(n for n in ("limited_app", "any_app", "app") if n in request.fixturenames)
    return request.getfixturevalue(name)


def test_join_has_the_booking_forms_rate_limit(
    limited_app: Flask,
    fixed: Any,
    make_office: MakeOffice,
    make_service: MakeService,
    make_booking: MakeBooking,
) -> None:
    service, _bookings = full_service(make_office, make_service, make_booking)
    client = limited_app.test_client()
    assert join(client, service, "not-an-address").status_code == 422  # counts nothing
    statuses = [join(client, service, f"r{i}@example.com").status_code for i in range(4)]
    assert statuses == [302, 302, 302, 429]
    assert len(outbox(limited_app)) == 3


def offer_to(
    app: Flask, service: MadeService, booking_id: int, fixed: Any, now: datetime = NOW
) -> tuple[Any, str]:
    """Anna in line, ``booking_id`` cancelled at ``now``: the hold and its claim link."""
    fixed.move_to(now)  # the mail is sent when it is due
    with app.test_request_context("/"), unit_of_work() as session:
        office = session.get(Office, service.office.id)
        found = session.get(Service, service.id)
        assert office is not None and found is not None
        waitlist.join(
            session,
            office,
            found,
            first_day=NOW.date(),
            last_day=NOW.date() + timedelta(days=2),
            part=WaitlistPart.ANY,
            name="Anna Nowak",
            email="anna@example.com",
            language="en",
            now=NOW,
        )
    cancel(app, booking_id, now)
    offers = [m for m in outbox(app) if "freed up" in str(m["Subject"])]
    with app.app_context():
        hold = db.session.scalar(select(SlotHold).where(SlotHold.entry_id.is_not(None)))
        assert hold is not None and len(offers) == 1
        db.session.expunge(hold)
    return hold, claim_link(offers[0])


def claim_page(client: Any, link: str) -> Any:
    token = CSRF_RE.search(client.get(link).get_data(as_text=True))
    assert token
    return client.post(link, data={"csrf_token": token.group(1)})


def test_a_claim_is_confirmed_at_once_where_bookings_are_confirmed_by_mail(
    app: Flask,
    fixed: Any,
    make_office: MakeOffice,
    make_service: MakeService,
    make_booking: MakeBooking,
) -> None:
    service, bookings = full_service(make_office, make_service, make_booking)
    set_office(app, service.office.id, confirm_by_mail=True)
    _hold, link = offer_to(app, service, bookings[1].id, fixed)
    assert claim_page(app.test_client(), link).status_code == 302
    with app.app_context():
        booking = db.session.scalar(select(Booking).where(Booking.email == "anna@example.com"))
        assert booking is not None and booking.status == BookingStatus.BOOKED
    subjects = [str(m["Subject"]) for m in outbox(app) if m["To"] == "anna@example.com"]
    assert not any("Confirm your booking" in s for s in subjects), subjects
    # Booked: out of line for good, the name and address erased from the entry.
    assert entries(app) == [("", "", WaitlistStatus.BOOKED)]


def test_an_unconfirmed_booking_released_goes_to_the_waiting_list(
    app: Flask,
    fixed: Any,
    make_office: MakeOffice,
    make_service: MakeService,
    make_booking: MakeBooking,
) -> None:
    office = make_office(
        hours={"daily": "08:00-10:00"},
        min_notice_minutes=0,
        max_days_ahead=2,
        slot_minutes=30,
        confirm_by_mail=True,
    )
    service = make_service(office, "raty", duration=60)
    pending = [make_booking(service, now=NOW) for _ in range(4)]
    with app.test_request_context("/"), unit_of_work() as session:
        found = session.get(Service, service.id)
        office_row = session.get(Office, office.id)
        assert found is not None and office_row is not None
        waitlist.join(
            session,
            office_row,
            found,
            first_day=NOW.date(),
            last_day=NOW.date() + timedelta(days=2),
            part=WaitlistPart.ANY,
            name="Anna Nowak",
            email="anna@example.com",
            language="en",
            now=NOW,
        )
    with app.app_context():
        confirm_by = db.session.scalar(
            select(Booking.confirm_by).where(Booking.id == pending[0].id)
        )
    assert confirm_by is not None
    fixed.move_to(confirm_by)
    assert run_job(app, "confirmations", confirm_by) == 4
    with app.app_context():
        hold = db.session.scalar(select(SlotHold))
        assert hold is not None and hold.entry is not None
        assert hold.entry.email == "anna@example.com"
    assert [m["To"] for m in outbox(app)][-1] == "anna@example.com"


def test_a_hold_ends_when_its_time_can_no_longer_be_booked(
    app: Flask,
    fixed: Any,
    make_office: MakeOffice,
    make_service: MakeService,
    make_booking: MakeBooking,
) -> None:
    service, bookings = full_service(make_office, make_service, make_booking)
    first = bookings[0]  # 07:00 UTC, the first time of the day
    late = first.starts_at - timedelta(minutes=5)
    hold, link = offer_to(app, service, first.id, fixed, late)
    assert hold.expires_at == first.starts_at  # not 30 minutes: the visit starts by then
    fixed.move_to(first.starts_at - timedelta(minutes=1))
    assert claim_page(app.test_client(), link).status_code == 302


def test_no_offer_once_the_notice_has_passed_and_no_delay_past_the_start(
    app: Flask,
    fixed: Any,
    make_office: MakeOffice,
    make_service: MakeService,
    make_booking: MakeBooking,
) -> None:
    service, bookings = full_service(
        make_office, make_service, make_booking, rebook_delay_minutes=30
    )
    with app.app_context():
        first = db.session.get(Booking, bookings[0].id)
        assert first is not None
        db.session.expunge(first)
    # The rebooking delay ends at the start at the latest.
    cancel(app, first.id, first.starts_at - timedelta(minutes=10))
    with app.app_context():
        hold = db.session.scalar(select(SlotHold))
        assert hold is not None and hold.expires_at == first.starts_at
    # Ten minutes' notice: a time freed five minutes before it starts is offered to nobody.
    set_office(app, service.office.id, min_notice_minutes=10)
    with app.test_request_context("/"), unit_of_work() as session:
        office = session.get(Office, service.office.id)
        found = session.get(Service, service.id)
        assert office is not None and found is not None
        waitlist.join(
            session,
            office,
            found,
            first_day=NOW.date(),
            last_day=NOW.date(),
            part=WaitlistPart.ANY,
            name="Anna Nowak",
            email="anna@example.com",
            language="en",
            now=NOW,
        )
        late = first.starts_at - timedelta(minutes=5)
        assert (
            waitlist.offer(session, office, first.starts_at, first.ends_at, late, chain="c") == []
        )
        assert waitlist.hold_expiry(office, first.starts_at, 30, late) is None
    assert entries(app)[0][2] == WaitlistStatus.WAITING


def test_a_claim_books_the_held_counter(
    app: Flask,
    fixed: Any,
    make_office: MakeOffice,
    make_service: MakeService,
    make_booking: MakeBooking,
) -> None:
    office = make_office(
        hours={"daily": "08:00-10:00"},
        min_notice_minutes=0,
        max_days_ahead=2,
        slot_minutes=30,
        counters=2,
    )
    service = make_service(office, "raty", duration=60)
    made = [make_booking(service, now=NOW).id for _ in range(8)]
    with app.app_context():
        bookings = db.session.scalars(select(Booking).where(Booking.id.in_(made))).all()
        for booking in bookings:
            db.session.expunge(booking)
    at_seven = sorted(
        (b for b in bookings if b.starts_at == min(x.starts_at for x in bookings)),
        key=lambda b: b.counter_id,
    )
    # The second counter's time is held for Anna; then the first counter's frees too.
    hold, link = offer_to(app, service, at_seven[1].id, fixed)
    assert hold.counter_id == at_seven[1].counter_id
    cancel(app, at_seven[0].id)
    assert claim_page(app.test_client(), link).status_code == 302
    with app.app_context():
        claimed = db.session.scalar(select(Booking).where(Booking.email == "anna@example.com"))
        assert claimed is not None and claimed.counter_id == hold.counter_id


def test_leaving_erases_the_person_and_never_undoes_a_claim(
    app: Flask,
    fixed: Any,
    make_office: MakeOffice,
    make_service: MakeService,
    make_booking: MakeBooking,
) -> None:
    service, bookings = full_service(make_office, make_service, make_booking)
    _hold, link = offer_to(app, service, bookings[1].id, fixed)
    assert claim_page(app.test_client(), link).status_code == 302
    with app.test_request_context("/"), unit_of_work() as session:
        stale = session.scalar(select(WaitlistEntry))
        assert stale is not None
        # As a leave request read it before the claim committed.
        set_committed_value(stale, "status", WaitlistStatus.OFFERED)
        waitlist.leave(session, stale, NOW)
    assert entries(app) == [("", "", WaitlistStatus.BOOKED)]
    assert counts(app, service)["left"] == 0
    # Leaving while waiting: out of line, and the name and address go at once.
    with app.test_request_context("/"), unit_of_work() as session:
        office = session.get(Office, service.office.id)
        found = session.get(Service, service.id)
        assert office is not None and found is not None
        entry, _token = waitlist.join(
            session,
            office,
            found,
            first_day=NOW.date(),
            last_day=NOW.date(),
            part=WaitlistPart.ANY,
            name="Ben",
            email="ben@example.com",
            language="en",
            now=NOW,
        )
        waitlist.leave(session, entry, NOW)
    assert entries(app)[1] == ("", "", WaitlistStatus.LEFT)
