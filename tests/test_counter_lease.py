"""A clerk's seat is a lease: the open counter page renews it (POST /counter/seat/keep), and
the ``seat_leases`` job frees a seat left silent for SEAT_LEASE_MINUTES (a browser closed or
crashed). The ticket called there goes back to the line at its old place, with an audit entry
and a floor event; the job frees each seat once, however many schedulers run it at once, and
a clerk's action at that moment either comes first or finds the seat gone.

Koszalin's demo office on Wednesday 25 November 2026, from 10:00 local (tests/helpers/floor.py).
"""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from flask import Flask
from sqlalchemy import select

from booking.models import Booking, BookingMode
from okienko import scheduler
from okienko.database import db
from queueing.models import AuditEntry, QueueEvent, StaffUser, Ticket, TicketStatus
from tests.helpers.floor import (
    NOW,
    Clerk,
    audit,
    book,
    counter_id,
    ok,
    service_id,
    signed_in_device,
    ticket,
    walk_in,
)

LEASE = timedelta(minutes=10)  # the default SEAT_LEASE_MINUTES


def run_leases(app: Flask) -> int:
    """One run of the job, as the scheduler makes it, at the clock's time."""
    scheduler._app = app
    return scheduler.run_job("seat_leases")


def seat_of(app: Flask, clerk: Clerk) -> int | None:
    with app.app_context():
        return db.session.scalar(select(StaffUser.counter_id).where(StaffUser.id == clerk.id))


def last_event(app: Flask) -> QueueEvent:
    with app.app_context():
        row = db.session.scalars(select(QueueEvent).order_by(QueueEvent.id.desc())).first()
        assert row is not None
        db.session.expunge(row)
        return row


def released_entries(app: Flask) -> list[AuditEntry]:
    with app.app_context():
        rows = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "released").order_by(AuditEntry.id)
        ).all()
        for row in rows:
            db.session.expunge(row)
        return list(rows)


def test_the_lease_is_a_setting_of_ten_minutes_by_default(app: Flask) -> None:
    assert app.config["SEAT_LEASE_MINUTES"] == 10
    assert "seat_leases" in scheduler.collect(app)
    assert scheduler.JOBS["seat_leases"].every == timedelta(minutes=1)


def test_a_silent_seat_is_freed_and_its_called_ticket_goes_back_to_its_place(
    any_app: Flask, clock: Any
) -> None:
    app = any_app
    kiosk = signed_in_device(app)
    first = walk_in(kiosk)
    clock.shift(timedelta(minutes=1))
    second = walk_in(kiosk)
    gone = Clerk(app, "gone", "Stanowisko 1")  # seated at 10:01: the lease runs from here
    seat = counter_id(app, "Stanowisko 1")
    assert ok(gone.call_next())["ticket_id"] == first

    clock.shift(LEASE - timedelta(seconds=1))
    assert run_leases(app) == 0  # not yet: a lease, not a minute less
    assert seat_of(app, gone) == seat

    clock.shift(timedelta(seconds=2))
    released_at = NOW + timedelta(minutes=1) + LEASE + timedelta(seconds=1)
    assert run_leases(app) == 1
    assert seat_of(app, gone) is None
    back = ticket(app, first)
    assert back.status == TicketStatus.WAITING and back.counter_id is None
    assert back.queued_at == NOW and back.calls == 0  # its place in line, a fresh turn
    assert back.first_called_at == NOW + timedelta(minutes=1)  # the reports keep the first call
    assert audit(app, first)[-1] == ("released", gone.id, seat, released_at)
    [entry] = released_entries(app)
    assert entry.detail == {"held": "called", "lease_minutes": 10}
    event = last_event(app)
    assert event.kind == "update"  # the displays' counts and the counter pages follow
    assert event.payload["ticket_id"] == first and event.payload["status"] == "waiting"
    assert event.payload["counter"] is None

    # Once only: the next runs find nothing to free.
    assert run_leases(app) == 0
    clock.shift(timedelta(minutes=1))
    assert run_leases(app) == 0
    assert len(released_entries(app)) == 1

    # The seat is free for another clerk, who calls the released ticket first: its old place.
    other = Clerk(app, "other", "Stanowisko 1")
    assert ok(other.call_next())["ticket_id"] == first
    ok(other.act(first, "finish"))
    clock.shift(timedelta(seconds=30))
    assert ok(other.call_next())["ticket_id"] == second
    # The clerk who left finds no seat: an action is refused, not done at a counter not theirs.
    refused = gone.call_next()
    assert refused.status_code == 409 and refused.get_json()["error"] == "no_counter"


def test_a_ticket_being_served_goes_back_to_the_line_too(app: Flask, clock: Any) -> None:
    served = walk_in(signed_in_device(app))
    clerk = Clerk(app, "gone", "Stanowisko 1")
    ok(clerk.call_next())
    ok(clerk.act(served, "serve"))
    clock.shift(LEASE + timedelta(minutes=1))
    assert run_leases(app) == 1
    back = ticket(app, served)
    assert back.status == TicketStatus.WAITING and back.counter_id is None
    assert released_entries(app)[0].detail["held"] == "serving"


def test_a_silent_seat_without_a_ticket_is_freed_and_logged(app: Flask, clock: Any) -> None:
    clerk = Clerk(app, "idle", "Stanowisko 2")
    clock.shift(LEASE + timedelta(minutes=1))
    assert run_leases(app) == 1
    assert seat_of(app, clerk) is None
    [entry] = released_entries(app)
    assert entry.ticket_id is None and entry.staff_id == clerk.id
    assert entry.counter_id == counter_id(app, "Stanowisko 2")
    assert last_event(app).kind == "update"


def test_the_open_page_keeps_the_seat(any_app: Flask, clock: Any) -> None:
    app = any_app
    called = walk_in(signed_in_device(app))
    clerk = Clerk(app, "present", "Stanowisko 1")
    ok(clerk.call_next())
    # A heartbeat every minute for three leases: the seat and the ticket stay.
    for _minute in range(3 * 10):
        clock.shift(timedelta(minutes=1))
        beat = clerk.post("/counter/seat/keep")
        assert beat.status_code == 200 and beat.get_json() == {"seated": True}
        assert run_leases(app) == 0
    assert seat_of(app, clerk) == counter_id(app, "Stanowisko 1")
    assert ticket(app, called).status == TicketStatus.CALLED
    # The page went to sleep: a lease later the seat is freed, and the page, waking, is told.
    clock.shift(LEASE + timedelta(seconds=1))
    assert run_leases(app) == 1
    beat = clerk.post("/counter/seat/keep")
    assert beat.status_code == 200 and beat.get_json() == {"seated": False}
    assert seat_of(app, clerk) is None


def test_the_heartbeat_needs_the_csrf_token_and_a_clerk(app: Flask, clock: Any) -> None:
    clerk = Clerk(app, "present", "Stanowisko 1")
    bare = clerk.client.post("/counter/seat/keep", headers={"Accept": "application/json"})
    assert bare.status_code == 400
    anonymous = app.test_client().post("/counter/seat/keep")
    assert anonymous.status_code in (302, 400)


def test_a_longer_lease_is_a_setting(app: Flask, clock: Any) -> None:
    app.config["SEAT_LEASE_MINUTES"] = 30
    clerk = Clerk(app, "slow", "Stanowisko 1")
    clock.shift(timedelta(minutes=20))
    assert run_leases(app) == 0
    clock.shift(timedelta(minutes=11))
    assert run_leases(app) == 1
    assert seat_of(app, clerk) is None


def in_threads(count: int, work: Any) -> list[Any]:
    """``work(i)`` in ``count`` threads released at the same instant."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def run(i: int) -> None:
        barrier.wait()
        results[i] = work(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not any(t.is_alive() for t in threads)
    return results


def test_schedulers_running_at_once_free_each_seat_once(any_app: Flask) -> None:
    """Four schedulers (started by mistake) run the job at the same instant over three
    silent seats: each seat is freed once, each ticket back in line once."""
    app = any_app
    seated_at = NOW
    with time_machine.travel(seated_at, tick=False):
        kiosk = signed_in_device(app)
        tickets = [walk_in(kiosk) for _ in range(3)]
        clerks = [Clerk(app, f"gone{i}", f"Stanowisko {i + 1}") for i in range(2)]
        for clerk in clerks:
            ok(clerk.call_next())
        idle = Clerk(app, "gone-idle", "Stanowisko 3")
    with time_machine.travel(seated_at + LEASE + timedelta(minutes=1), tick=False):
        results = in_threads(4, lambda _i: run_leases(app))
    assert sum(results) == 3, results
    entries = released_entries(app)
    assert sorted(e.staff_id for e in entries) == sorted([*(c.id for c in clerks), idle.id])
    assert sorted(e.ticket_id for e in entries if e.ticket_id) == sorted(tickets[:2])
    for ticket_id in tickets:
        assert ticket(app, ticket_id).status == TicketStatus.WAITING
    with app.app_context():
        updates = db.session.scalars(
            select(QueueEvent).where(QueueEvent.created_at >= seated_at + LEASE)
        ).all()
        assert len(updates) == 3


@pytest.mark.parametrize("round_", range(3))
def test_a_finish_at_the_moment_the_lease_runs_out_is_one_or_the_other(
    any_app: Flask, round_: int
) -> None:
    """The clerk finishes just as the lease runs out: either the finish comes first (the
    ticket finished, the seat renewed by it and kept) or the job does (the ticket back in
    line, the finish refused), never both."""
    app = any_app
    with time_machine.travel(NOW, tick=False):
        served = walk_in(signed_in_device(app))
        clerk = Clerk(app, "late", "Stanowisko 1")
        ok(clerk.call_next())
        ok(clerk.act(served, "serve"))
    with time_machine.travel(NOW + LEASE + timedelta(minutes=1), tick=False):
        job, finish = in_threads(
            2, lambda i: run_leases(app) if i == 0 else clerk.act(served, "finish")
        )
    row = ticket(app, served)
    if finish.status_code == 200:
        # The finish came first: the clerk is at work, the seat renewed and kept.
        assert job == 0 and released_entries(app) == []
        assert row.status == TicketStatus.DONE
        assert seat_of(app, clerk) == counter_id(app, "Stanowisko 1")
    else:
        # The job came first: the ticket is back in line and the finish finds no seat.
        assert job == 1
        assert finish.status_code == 409 and finish.get_json()["error"] == "no_counter"
        [entry] = released_entries(app)
        assert row.status == TicketStatus.WAITING and entry.ticket_id == served
        assert seat_of(app, clerk) is None


def test_a_clerks_actions_renew_the_seat_as_the_heartbeat_does(app: Flask, clock: Any) -> None:
    """A clerk at work keeps the seat even if the page's heartbeat never got through."""
    kiosk = signed_in_device(app)
    served = walk_in(kiosk)
    clerk = Clerk(app, "busy", "Stanowisko 1")  # 10:00, and no heartbeat from here on
    clock.shift(timedelta(minutes=6))
    ok(clerk.call_next())  # 10:06
    clock.shift(timedelta(minutes=5))  # 10:11: a lease after the seat, not after the call
    assert run_leases(app) == 0
    assert ticket(app, served).status == TicketStatus.CALLED
    ok(clerk.act(served, "serve"))
    clock.shift(LEASE - timedelta(seconds=1))
    assert run_leases(app) == 0
    ok(clerk.act(served, "finish"))
    # A refused action changes nothing, so it renews nothing either; idle for a lease: freed.
    clock.shift(LEASE + timedelta(seconds=1))
    assert run_leases(app) == 1
    assert seat_of(app, clerk) is None


def phone_booking(app: Flask) -> int:
    """A booking of today at 10:30 turned into a phone consultation (as a refused entry does)."""
    book(app, NOW + timedelta(minutes=30))
    with app.app_context():
        booking = db.session.scalars(select(Booking).order_by(Booking.id.desc())).first()
        assert booking is not None
        booking.mode, booking.phone = BookingMode.PHONE, "+48600999999"
        db.session.commit()
        return booking.id


def phone_list(clerk: Clerk) -> str:
    response = clerk.client.get("/counter/")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def ok_beat(clerk: Clerk) -> bool:
    beat = clerk.post("/counter/seat/keep")
    assert beat.status_code == 200
    return bool(beat.get_json()["seated"])


def phone_ticket(app: Flask, booking_id: int) -> int:
    with app.app_context():
        found = db.session.scalar(select(Ticket.id).where(Ticket.booking_id == booking_id))
        assert found is not None
        return found


def test_a_phone_call_at_a_silent_seat_goes_back_to_the_phone_list_not_the_line(
    any_app: Flask, clock: Any
) -> None:
    app = any_app
    booking_id = phone_booking(app)
    gone = Clerk(app, "gone", "Stanowisko 1")
    ok(gone.post(f"/counter/phone/{booking_id}"))
    call = phone_ticket(app, booking_id)
    other = Clerk(app, "other", "Stanowisko 2")
    assert f'data-phone-booking="{booking_id}"' not in phone_list(other)

    clock.shift(LEASE + timedelta(minutes=1))
    assert ok_beat(other)
    assert run_leases(app) == 1
    ended = ticket(app, call)
    assert ended.status == TicketStatus.CANCELLED and ended.closed_reason == "released"
    assert ended.counter_id is None and ended.booking_id is None
    [entry] = released_entries(app)
    assert entry.ticket_id == call
    assert entry.detail == {"held": "serving", "lease_minutes": 10, "booking": booking_id}
    event = last_event(app)
    assert event.kind == "update" and event.payload["status"] == "cancelled"

    # Nobody is in the lobby for it: the next call finds an empty line, not the phone call.
    response = other.call_next()
    assert response.status_code == 200 and "ticket" not in response.get_json()
    # The booking is back in the counters' phone list: another clerk calls the resident back.
    assert f'data-phone-booking="{booking_id}"' in phone_list(other)
    again = ok(other.post(f"/counter/phone/{booking_id}"))
    assert again["ticket_id"] != call and phone_ticket(app, booking_id) == again["ticket_id"]


def test_releasing_a_clerk_by_command_ends_their_phone_call_for_a_call_back(
    app: Flask, clock: Any
) -> None:
    booking_id = phone_booking(app)
    clerk = Clerk(app, "ph", "Stanowisko 1")
    ok(clerk.post(f"/counter/phone/{booking_id}"))
    call = phone_ticket(app, booking_id)
    result = app.test_cli_runner().invoke(args=["staff", "release", "ph"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "ph: counter freed"
    assert seat_of(app, clerk) is None
    ended = ticket(app, call)
    assert (ended.status, ended.counter_id, ended.booking_id) == (
        TicketStatus.CANCELLED,
        None,
        None,
    )
    assert audit(app, call)[-1][0] == "released"
    other = Clerk(app, "other", "Stanowisko 2")
    assert f'data-phone-booking="{booking_id}"' in phone_list(other)


def test_a_transferred_ticket_goes_back_to_the_line_it_was_sent_to(app: Flask, clock: Any) -> None:
    """Sent on to another service and called there: at a silent seat it goes back to that
    service's line, still marked as sent on, at its old place."""
    sent = walk_in(signed_in_device(app))  # raty, 10:00
    first = Clerk(app, "first", "Stanowisko 1")
    ok(first.call_next())
    ok(first.act(sent, "transfer", to=f"service:{service_id(app, 'zamiana')}"))
    gone = Clerk(app, "gone", "Stanowisko 3")  # serves zamiana only
    clock.shift(timedelta(seconds=30))
    assert ok(gone.call_next())["ticket_id"] == sent
    clock.shift(LEASE + timedelta(seconds=1))
    assert run_leases(app) == 2  # first sat idle too
    back = ticket(app, sent)
    assert back.status == TicketStatus.TRANSFERRED and back.counter_id is None
    assert back.service_id == service_id(app, "zamiana") and back.queued_at == NOW
    assert back.calls == 0 and back.target_counter_id is None
    assert released_entries(app)[-1].detail["held"] == "called"


def test_tickets_sent_to_a_freed_counter_by_name_go_to_any_counter(app: Flask, clock: Any) -> None:
    """With nobody at the counter they were sent to, only that counter could call them."""
    kiosk = signed_in_device(app)
    sent = walk_in(kiosk)
    gone = Clerk(app, "gone", "Stanowisko 2")  # 10:00, silent from here on
    clock.shift(timedelta(minutes=5))
    first = Clerk(app, "first", "Stanowisko 1")
    ok(first.call_next())
    to_gone = f"counter:{counter_id(app, 'Stanowisko 2')}"
    ok(first.act(sent, "transfer", to=to_gone))
    assert first.call_next().get_json().get("ticket") is None  # sent to Stanowisko 2 only
    clock.shift(LEASE - timedelta(minutes=5) + timedelta(seconds=1))
    assert run_leases(app) == 1 and seat_of(app, gone) is None
    back = ticket(app, sent)
    assert back.status == TicketStatus.TRANSFERRED and back.target_counter_id is None
    assert ok(first.call_next())["ticket_id"] == sent
