"""The waiting list under concurrency, on SQLite and PostgreSQL: a hold expires once with
two schedulers, and a claim racing normal bookings (and itself) never overbooks."""

from __future__ import annotations

import threading
from collections import Counter as Tally
from datetime import timedelta
from typing import Any

import requests
import time_machine
from flask import Flask
from sqlalchemy import func, select

from booking import waitlist
from booking.models import Booking, BookingStatus, Office, Service, SlotHold, WaitlistPart
from okienko import scheduler
from okienko.database import db
from okienko.models import QueuedMail
from okienko.transaction import unit_of_work
from tests.helpers.factories import MakeBooking, MakeOffice, MakeService
from tests.helpers.forms import CSRF_RE
from tests.helpers.live_server import LiveServer
from tests.helpers.mailbox import outbox
from tests.helpers.race import race
from tests.test_waiting_list import NOW, cancel, claim_link, full_service


def line_up(app: Flask, service_id: int, emails: list[str]) -> None:
    with app.test_request_context("/"), unit_of_work() as session:
        service = session.get(Service, service_id)
        assert service is not None
        office = session.get(Office, service.office_id)
        assert office is not None
        for i, email in enumerate(emails):
            waitlist.join(
                session,
                office,
                service,
                first_day=NOW.date(),
                last_day=NOW.date() + timedelta(days=2),
                part=WaitlistPart.ANY,
                name="Anna Nowak",
                email=email,
                language="en",
                now=NOW + timedelta(seconds=i),
            )


def test_two_schedulers_pass_an_expired_hold_on_once(
    any_app: Flask, make_office: MakeOffice, make_service: MakeService, make_booking: MakeBooking
) -> None:
    with time_machine.travel(NOW, tick=False):
        service, bookings = full_service(make_office, make_service, make_booking)
        line_up(any_app, service.id, ["first@example.com", "second@example.com"])
        cancel(any_app, bookings[3].id)
    scheduler._app = any_app
    barrier = threading.Barrier(2)
    results: list[int] = []

    def run() -> None:
        barrier.wait()
        results.append(scheduler.run_job("waitlist_holds"))

    with time_machine.travel(NOW + timedelta(minutes=30), tick=False):
        threads = [threading.Thread(target=run) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
    assert sorted(results) == [0, 1]
    with any_app.app_context():
        holds = db.session.scalars(select(SlotHold)).all()
        assert len(holds) == 1
        assert holds[0].entry is not None and holds[0].entry.email == "second@example.com"
        recipients = db.session.scalars(select(QueuedMail.recipient)).all()
        assert Tally(recipients) == {"first@example.com": 1, "second@example.com": 1}


def test_claims_racing_bookings_never_overbook(
    any_app: Flask, make_office: MakeOffice, make_service: MakeService, make_booking: MakeBooking
) -> None:
    with time_machine.travel(NOW, tick=False):
        service, bookings = full_service(make_office, make_service, make_booking)
        line_up(any_app, service.id, ["anna@example.com"])
        cancel(any_app, bookings[3].id)
        [offer] = [m for m in outbox(any_app) if m["To"] == "anna@example.com"]
        link = claim_link(offer)
        start = bookings[3].starts_at.strftime("%Y-%m-%dT%H:%M:%SZ")
        with LiveServer(any_app) as server:

            class Attempt:
                def prepare(self, i: int) -> Any:
                    client = requests.Session()
                    if i < 2:
                        page = client.get(f"{server.url}{link}", timeout=60)
                        match = CSRF_RE.search(page.text)
                        assert match
                        return client, match.group(1)
                    return client, None

                def __call__(self, i: int, prepared: Any) -> requests.Response:
                    client, csrf = prepared
                    if csrf is not None:  # two tabs claiming the same link
                        return client.post(
                            f"{server.url}{link}",
                            data={"csrf_token": csrf},
                            allow_redirects=False,
                            timeout=120,
                        )
                    return client.post(
                        f"{server.url}/api/v1/bookings",
                        json={
                            "office": service.office.slug,
                            "service": service.key,
                            "start": start,
                            "name": f"Resident {i}",
                            "email": f"racer{i}@example.com",
                            "language": "pl",
                            "consent": True,
                        },
                        timeout=120,
                    )

            responses = race(10, Attempt())
    claims = [r.status_code for r in responses[:2]]
    assert sorted(claims) == [302, 410], claims
    assert all(r.status_code == 409 for r in responses[2:]), [r.status_code for r in responses]
    with any_app.app_context():
        booked = db.session.scalars(
            select(Booking).where(
                Booking.starts_at == bookings[3].starts_at,
                Booking.status == BookingStatus.BOOKED,
            )
        ).all()
        assert [b.email for b in booked] == ["anna@example.com"]
        assert db.session.scalar(select(func.count(SlotHold.id))) == 0


def in_threads(*work: Any) -> list[Any]:
    """Run each callable in its own thread, started together; their results or errors."""
    barrier = threading.Barrier(len(work))
    results: list[Any] = [None] * len(work)

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = work[i]()
        except Exception as exc:
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(work))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return results


def test_a_claim_and_the_expiry_at_the_same_instant_never_deadlock(
    any_app: Flask, make_office: MakeOffice, make_service: MakeService, make_booking: MakeBooking
) -> None:
    with time_machine.travel(NOW, tick=False):
        service, bookings = full_service(make_office, make_service, make_booking)
        line_up(any_app, service.id, ["anna@example.com"])
        cancel(any_app, bookings[3].id)
        [offer] = [m for m in outbox(any_app) if m["To"] == "anna@example.com"]
    token = claim_link(offer).rsplit("/", 1)[1]
    with any_app.app_context():
        expires_at = db.session.scalar(select(SlotHold.expires_at))
    assert expires_at is not None

    def claim() -> str:
        with any_app.test_request_context("/"), unit_of_work() as session:
            booking, _manage = waitlist.claim(session, token, expires_at - timedelta(seconds=1))
            return booking.email or ""

    def expire() -> bool:
        with any_app.test_request_context("/"), unit_of_work() as session:
            hold = session.scalar(select(SlotHold))
            return hold is not None and waitlist.release(session, hold, expires_at)

    claimed, released = in_threads(claim, expire)
    # One of them got the hold, the other was told so: no deadlock, no other error.
    if isinstance(claimed, waitlist.HoldGone):
        assert released is True
    else:
        assert claimed == "anna@example.com" and released is False, (claimed, released)
    with any_app.app_context():
        assert db.session.scalar(select(func.count(SlotHold.id))) == 0


def test_two_cancels_at_once_offer_one_person_one_time(
    any_app: Flask, make_office: MakeOffice, make_service: MakeService, make_booking: MakeBooking
) -> None:
    with time_machine.travel(NOW, tick=False):
        service, bookings = full_service(make_office, make_service, make_booking)
        line_up(any_app, service.id, ["anna@example.com"])
        results = in_threads(
            lambda: cancel(any_app, bookings[2].id), lambda: cancel(any_app, bookings[3].id)
        )
    assert results == [None, None], results
    with any_app.app_context():
        holds = db.session.scalars(select(SlotHold)).all()
        assert [h.entry_id is not None for h in holds] == [True]
        recipients = db.session.scalars(select(QueuedMail.recipient)).all()
        assert Tally(recipients)["anna@example.com"] == 1
