"""Who is called next, and when: the order of the line (urgent tickets, appointments on time
before later walk-ins, only what a counter serves), the cooldown between calls and recalls,
no-shows after the calls at the counter that has the ticket, one ticket per counter (also in
the database itself), and counters calling at the same instant never getting the same ticket.

Koszalin's demo office on Wednesday 25 November 2026 (open 07:15-15:15 local, UTC+1), and an
office of the test's own where only the counter matters.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import requests
import time_machine
from flask import Flask
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from booking.cli import find_office
from okienko.database import db
from queueing.cli import upsert_staff
from queueing.models import (
    AuditEntry,
    Ticket,
    TicketKind,
    TicketStatus,
)
from tests.helpers.factories import MakeOffice, MakeService, MakeTicket
from tests.helpers.floor import (
    DAY,
    KOSZALIN,
    NOW,
    PASSWORD,
    Clerk,
    audit,
    book,
    check_in,
    counter_id,
    label,
    ok,
    refused,
    signed_in_device,
    ticket,
    ticket_id_of,
    utc,
    walk_in,
)
from tests.helpers.forms import CSRF_RE
from tests.helpers.live_server import LiveServer
from tests.helpers.race import race


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


def test_the_clerk_line_lists_tickets_in_calling_order(app: Flask, clock: Any) -> None:
    kiosk = signed_in_device(app)
    clerk = Clerk(app, "koszalin1", "Stanowisko 1")
    ids = [walk_in(kiosk, key) for key in ("raty", "zamiana", "raty")]
    ok(clerk.act(ids[2], "urgent"))
    waiting = clerk.client.get("/counter/line.json").get_json()["waiting"]
    assert [w["id"] for w in waiting] == [ids[2], ids[0], ids[1]]
    assert [w["ticket"] for w in waiting] == ["R002", "R001", "Z001"]
    assert waiting[0]["urgent"] is True


def test_a_clerk_sees_only_what_their_counter_can_take(app: Flask, clock: Any) -> None:
    kiosk = signed_in_device(app)
    raty = label(app, walk_in(kiosk, "raty"))
    zamiana = label(app, walk_in(kiosk, "zamiana"))
    only_exchanges = Clerk(app, "exchanges", "Stanowisko 3")  # serves "zamiana" only
    page = only_exchanges.client.get("/counter/").get_data(as_text=True)
    assert f'data-ticket="{zamiana}"' in page and f'data-ticket="{raty}"' not in page


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


def test_the_database_itself_keeps_one_ticket_per_counter(
    any_app: Flask,
    clock: Any,
    make_office: MakeOffice,
    make_service: MakeService,
    make_ticket: MakeTicket,
) -> None:
    """The partial unique index, bypassing the calling code."""
    office = make_office(counters=["Stanowisko 1"])
    service = make_service(office, prefix="R")
    first, second, third = (make_ticket(office, service).id for _ in range(3))
    seat = office.counters["Stanowisko 1"]
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
    page = session.get(f"{server.url}/login", timeout=60).text
    response = session.post(
        f"{server.url}/login",
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
        office = find_office(KOSZALIN)
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
