"""A clerk at a counter, through the counter's JSON API: a ticket's life (call, serve, finish,
with times and the audit log), parking and resuming, transfers to another service or a named
counter, one clerk per seat, leaving or being released from the counter, and JSON errors for
missing tickets, missing CSRF tokens and odd ids.

Koszalin's demo office on Wednesday 25 November 2026 (open 07:15-15:15 local, UTC+1).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from flask import Flask

from booking.models import Counter
from okienko.database import db
from queueing.models import (
    StaffUser,
    TicketStatus,
)
from queueing.state import recent_handling_by_service
from tests.helpers.floor import (
    NOW,
    Clerk,
    audit,
    counter_id,
    ok,
    refused,
    service_id,
    signed_in_device,
    ticket,
    walk_in,
)


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
        handled = recent_handling_by_service(db.session, [done.service_id])
        assert handled[done.service_id] == [timedelta(minutes=12)]
    # Actions that do not fit the state are refused, and nothing is logged for them.
    refused(clerk.act(ticket_id, "serve"), 409, "not_allowed")
    refused(clerk.act(ticket_id, "park"), 409, "not_allowed")
    assert len(audit(any_app, ticket_id)) == 4


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
        handling = recent_handling_by_service(db.session, [done.service_id])[done.service_id]
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
        handling = recent_handling_by_service(db.session, [row.service_id])[row.service_id]
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


def test_a_clerk_cannot_leave_the_counter_holding_a_ticket(app: Flask, clock: Any) -> None:
    kiosk = signed_in_device(app)
    walk_in(kiosk)
    clerk = Clerk(app, "leaver", "Stanowisko 1")
    ok(clerk.call_next())
    assert clerk.seat("Stanowisko 2").status_code == 409
    assert clerk.post("/counter/logout").status_code == 409
    with app.app_context():
        assert db.session.get(StaffUser, clerk.id).counter is not None


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


def test_counter_api_errors_are_json(app: Flask, clock: Any) -> None:
    clerk = Clerk(app, "jsonclerk", "Stanowisko 1")
    missing = clerk.act(999999, "finish")
    assert missing.status_code == 404 and missing.get_json()["error"] == "not_found"
    no_token = clerk.client.post("/counter/call-next", headers={"Accept": "application/json"})
    assert no_token.status_code == 400 and no_token.get_json()["error"] == "csrf"


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


def test_a_removed_counter_is_no_seat_and_no_transfer_target(any_app: Flask, clock: Any) -> None:
    sent = walk_in(signed_in_device(any_app))
    clerk = Clerk(any_app, "koszalin1", "Stanowisko 1")
    ok(clerk.call_next())
    removed = counter_id(any_app, "Stanowisko 3")
    with any_app.app_context():  # a manager removed it; its history keeps it (retired)
        counter = db.session.get(Counter, removed)
        counter.services, counter.retired_at = [], NOW
        db.session.commit()
    page = clerk.client.get("/counter/").get_data(as_text=True)
    assert "Stanowisko 2" in page and "Stanowisko 3" not in page
    late = Clerk(any_app, "koszalin2")  # the page was open before the removal
    response = late.seat("Stanowisko 3")
    assert response.status_code == 409
    assert response.get_json()["message"] == "This counter was removed. Choose another."
    sent_there = clerk.post(f"/counter/tickets/{sent}/transfer", to=f"counter:{removed}")
    assert sent_there.status_code == 409
    with any_app.app_context():
        assert db.session.get(StaffUser, late.id).counter_id is None
    assert ticket(any_app, sent).target_counter_id is None
