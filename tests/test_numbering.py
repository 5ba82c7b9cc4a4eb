"""Ticket numbers: one count per prefix from 001, per office and per local day (restarting at
local midnight, not UTC midnight), contiguous when 40 kiosks issue at the same instant, and
unique in the database itself.

Koszalin's demo office on Wednesday 25 November 2026 (open 07:15-15:15 local, UTC+1), and
offices of the tests' own where only a number matters.
"""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime
from typing import Any

import pytest
import requests
import time_machine
from flask import Flask
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from booking.cli import find_office
from okienko.database import db
from queueing.models import (
    AuditEntry,
    DeviceKind,
    Ticket,
    TicketKind,
    TicketSequence,
)
from queueing.numbering import next_number
from tests.helpers.admission import KIOSK_ADMITTED
from tests.helpers.factories import MakeOffice, MakeService, MakeTicket
from tests.helpers.floor import (
    DAY,
    KOSZALIN,
    NOW,
    device_link,
    label,
    signed_in_device,
    ticket,
    ticket_id_of,
    utc,
    walk_in,
)
from tests.helpers.forms import CSRF_RE
from tests.helpers.live_server import LiveServer
from tests.helpers.race import race


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
    ids = [ticket_id_of(r) for r in responses]
    with any_app.app_context():
        tickets = db.session.scalars(select(Ticket).where(Ticket.id.in_(ids))).all()
        assert sorted(t.number for t in tickets) == list(range(1, KIOSKS + 1))
        assert {t.prefix for t in tickets} == {"R"} and {t.day for t in tickets} == {DAY}
        assert len({t.device_id for t in audit_rows(tickets)}) == KIOSKS
        sequence = db.session.get(TicketSequence, (find_office(KOSZALIN).id, DAY, "R"))
        assert sequence.last_number == KIOSKS


def audit_rows(tickets: list[Ticket]) -> list[AuditEntry]:
    return db.session.scalars(
        select(AuditEntry).where(AuditEntry.ticket_id.in_([t.id for t in tickets]))
    ).all()


def test_next_number_from_many_threads_at_once(any_app: Flask, make_office: MakeOffice) -> None:
    """The numbering statement alone, each thread in its own transaction."""
    office_id = make_office().id
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


def test_database_refuses_a_duplicate_ticket_number(
    any_app: Flask,
    clock: Any,
    make_office: MakeOffice,
    make_service: MakeService,
    make_ticket: MakeTicket,
) -> None:
    office = make_office()
    first = make_ticket(office, make_service(office))
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


def test_numbers_start_again_at_local_midnight_not_utc_midnight(
    app: Flask, make_office: MakeOffice, make_service: MakeService, make_ticket: MakeTicket
) -> None:
    office = make_office(timezone="Europe/Warsaw")  # open round the clock
    service = make_service(office, "long", prefix="L")
    before = datetime(2026, 11, 25, 22, 40, tzinfo=UTC)  # 23:40 in Warsaw
    after = datetime(2026, 11, 25, 23, 10, tzinfo=UTC)  # 00:10 on the 26th, same UTC date
    with time_machine.travel(before, tick=False):
        first, second = make_ticket(office, service).id, make_ticket(office, service).id
    with time_machine.travel(after, tick=False):
        third = make_ticket(office, service).id
    assert [label(app, t) for t in (first, second, third)] == ["L001", "L002", "L001"]
    assert ticket(app, third).day == date(2026, 11, 26)
