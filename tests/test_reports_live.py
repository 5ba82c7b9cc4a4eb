"""Today, live: the figures of one office's floor at a moment, from a morning worked through
the floor's own functions (walk-ins, calls, a recall, a park, a transfer, a service started
and finished), compared with values worked out by hand; and who may open the page, its
figures and its event stream.

An office of the test's own in Warsaw (UTC+1 in November), open round the clock, on
Wednesday 25 November 2026; the figures are read at 10:00 local (09:00 UTC).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine
from flask import Flask
from openpyxl import load_workbook
from sqlalchemy.orm import Session

from booking.models import Office
from okienko.database import db
from okienko.transaction import unit_of_work
from queueing import calling
from queueing.arrival import walk_in
from queueing.models import DeviceKind, Role, StaffUser, Ticket
from queueing.staff import upsert_staff
from reports.live import today
from reports.table import Report
from tests.helpers.admin import PLZEN, ZIELNA, make_account, session_of
from tests.helpers.factories import MadeOffice, MakeOffice, MakeService
from tests.helpers.floor import signed_in_device
from tests.helpers.staff_tokens import bearer, token_for

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)  # 10:00 in Warsaw
COUNTERS = ["Okno 1", "Okno 2", "Okno 3", "Okno 4"]


def utc(at: str, day: int = 25) -> datetime:
    return datetime.fromisoformat(f"2026-11-{day:02d}T{at}+00:00")


@dataclass
class Floor:
    """An office's floor worked by the domain functions, each step its own unit of work."""

    app: Flask
    office: MadeOffice

    def _do(self, action: Callable[[Session, Office], Any]) -> Any:
        with self.app.app_context(), unit_of_work() as session:
            return action(session, session.get(Office, self.office.id))

    def walk_in(self, key: str, at: datetime) -> int:
        def issue(session: Session, office: Office) -> int:
            service = next(s for s in office.services if s.key == key)
            ticket = walk_in(session, office, service, at)
            session.flush()
            return ticket.id

        return self._do(issue)

    def seat(self, username: str, counter: str) -> None:
        def sit(session: Session, office: Office) -> None:
            clerk = upsert_staff(office, username, username.title(), "a clerk's password")
            clerk.counter_id = self.office.counters[counter]

        self._do(sit)

    def _clerk(self, session: Session, username: str) -> StaffUser:
        return session.query(StaffUser).filter_by(username=username).one()

    def call_next(self, username: str, at: datetime) -> int:
        def call(session: Session, _office: Office) -> int:
            ticket = calling.call_next(session, self._clerk(session, username), at)
            assert ticket is not None
            return ticket.id

        return self._do(call)

    def act(self, username: str, action: str, ticket_id: int, at: datetime) -> None:
        def work(session: Session, _office: Office) -> None:
            ticket = session.get(Ticket, ticket_id)
            getattr(calling, action)(session, self._clerk(session, username), ticket, at)

        self._do(work)

    def transfer_to(self, username: str, ticket_id: int, key: str, at: datetime) -> None:
        def work(session: Session, office: Office) -> None:
            service = next(s for s in office.services if s.key == key)
            ticket = session.get(Ticket, ticket_id)
            calling.transfer(session, self._clerk(session, username), ticket, at, service=service)

        self._do(work)

    def report(self, at: datetime, locale: str = "en") -> Report:
        with self.app.app_context():
            return today(db.session, db.session.get(Office, self.office.id), at, locale)


def rows(report: Report, key: str) -> list[dict[str, Any]]:
    return next(t.rows for t in report.tables if t.key == key)


@pytest.fixture
def floor(any_app: Flask, make_office: MakeOffice, make_service: MakeService) -> Floor:
    """The morning: three clerks at four counters, three services, one of them quiet."""
    office = make_office("warszawa-live", counters=COUNTERS)
    make_service(office, "meldunek", prefix="M", name={"en": "Registration", "pl": "Meldunek"})
    make_service(office, "lokale", prefix="L", name={"en": "Flats", "pl": "Lokale"})
    make_service(office, "zamiany", prefix="Z", name={"en": "Exchanges", "pl": "Zamiany"})
    floor = Floor(any_app, office)
    for clerk, counter in (("anna", "Okno 1"), ("bartek", "Okno 2"), ("celina", "Okno 3")):
        floor.seat(clerk, counter)

    floor.walk_in("meldunek", utc("15:00", day=24))  # yesterday's, never closed: not today's line
    m0 = floor.walk_in("meldunek", utc("07:30"))
    assert floor.call_next("anna", utc("07:35")) == m0  # more than an hour before 09:00
    floor.act("anna", "finish", m0, utc("07:50"))
    m1 = floor.walk_in("meldunek", utc("08:00"))
    m2 = floor.walk_in("meldunek", utc("08:10"))
    assert floor.call_next("anna", utc("08:15")) == m1
    l1 = floor.walk_in("lokale", utc("08:20"))
    assert floor.call_next("bartek", utc("08:25")) == m2
    floor.act("bartek", "recall", m2, utc("08:26"))
    floor.act("bartek", "park", m2, utc("08:27"))  # parked: out of the line
    m3 = floor.walk_in("meldunek", utc("08:30"))
    floor.act("anna", "start_serving", m1, utc("08:35"))
    floor.act("anna", "finish", m1, utc("08:40"))  # Okno 1 is idle from here
    l2 = floor.walk_in("lokale", utc("08:40"))
    assert floor.call_next("celina", utc("08:45")) == l1
    assert floor.call_next("bartek", utc("08:47")) == m3  # Okno 2 busy: called
    floor.walk_in("meldunek", utc("08:50:30"))
    floor.transfer_to("celina", l1, "zamiany", utc("08:52"))  # waits since 08:20, now for Z
    floor.act("celina", "call_ticket", l2, utc("08:53"))  # out of turn: L1 would be next
    floor.act("celina", "start_serving", l2, utc("08:54"))  # Okno 3 busy: serving
    floor.walk_in("meldunek", utc("08:58"))
    return floor


def test_the_floor_at_ten(floor: Floor, make_office: MakeOffice, make_service: MakeService) -> None:
    # Another office's line and calls are not this office's.
    other = make_office("krakow-live", counters=["Okno 1"])
    make_service(other, "meldunek", prefix="M", name="Registration")
    elsewhere = Floor(floor.app, other)
    elsewhere.seat("dorota", "Okno 1")
    elsewhere.walk_in("meldunek", utc("08:00"))
    elsewhere.walk_in("meldunek", utc("08:01"))
    elsewhere.call_next("dorota", utc("08:30"))

    report = floor.report(NOW)
    assert report.name == "today"
    assert rows(report, "now") == [
        {
            "waiting": 3,  # M at 08:50:30 and 08:58, L1 moved to Exchanges
            "longest_wait": 40.0,  # L1, in line since 08:20 whatever its service now
            "counters_open": 3,
            "counters_busy": 2,  # Okno 2 has M3 called, Okno 3 serves L2
            "counters_idle": 1,
            "calls_last_hour": 6,  # M1 08:15, M2 08:25 and its recall, L1, M3, L2
        }
    ]
    assert rows(report, "by_service") == [
        {"service": "Registration", "waiting": 2, "longest_wait": 9.5},
        {"service": "Flats", "waiting": 0, "longest_wait": None},
        {"service": "Exchanges", "waiting": 1, "longest_wait": 40.0},
    ]
    assert rows(report, "by_counter") == [
        {"counter": "Okno 1", "state": "idle"},
        {"counter": "Okno 2", "state": "busy"},
        {"counter": "Okno 3", "state": "busy"},
        {"counter": "Okno 4", "state": "closed"},
    ]


def test_the_waits_grow_and_the_hour_moves_on(floor: Floor) -> None:
    later = utc("09:16")
    summary = rows(floor.report(later), "now")[0]
    assert summary["calls_last_hour"] == 5  # M1's call at 08:15 is more than an hour ago
    assert summary["longest_wait"] == 56.0
    assert rows(floor.report(later), "by_service")[0]["longest_wait"] == 25.5
    # A call exactly an hour ago still counts.
    assert rows(floor.report(utc("09:15")), "now")[0]["calls_last_hour"] == 6


def test_a_clerk_leaving_closes_the_counter(floor: Floor) -> None:
    def leave(session: Session, _office: Office) -> None:
        session.query(StaffUser).filter_by(username="anna").one().counter_id = None

    floor._do(leave)
    summary = rows(floor.report(NOW), "now")[0]
    assert (summary["counters_open"], summary["counters_busy"], summary["counters_idle"]) == (
        2,
        2,
        0,
    )


def test_service_names_in_the_readers_language(floor: Floor) -> None:
    names = [row["service"] for row in rows(floor.report(NOW, "pl"), "by_service")]
    assert names == ["Meldunek", "Lokale", "Zamiany"]


# --- The page, its figures and its stream ---------------------------------------------

PATHS = (
    "/admin/reports/o/{}/today",
    "/admin/reports/o/{}/today.json",
    "/admin/reports/o/{}/today/stream",
    "/admin/reports/o/{}/today.csv",
    "/admin/reports/o/{}/today.xlsx",
)


def opened(client: Any, path: str) -> int:
    """The status of a page; a stream is closed after its first bytes."""
    response = client.get(path, buffered=False)
    try:
        return response.status_code
    finally:
        response.close()


def test_the_manager_sees_the_figures_and_the_stream(any_app: Flask) -> None:
    account = make_account(any_app, "zielna-manager", Role.MANAGER, manages=[ZIELNA])
    client = session_of(any_app, account)
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"

    page = client.get(f"/admin/reports/o/{ZIELNA}/today")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "<h1>Today, live</h1>" in text
    assert f'data-stream="/admin/reports/o/{ZIELNA}/today/stream"' in text
    assert "js/reports_live.js" in text
    assert 'Figures as of <time id="live-updated">' in text

    figures = client.get(f"/admin/reports/o/{ZIELNA}/today.json")
    assert figures.status_code == 200
    assert figures.headers["Cache-Control"] == "no-store"
    body = figures.get_json()
    assert body["name"] == "today" and body["updated"]
    now = next(t for t in body["tables"] if t["key"] == "now")
    assert [c["key"] for c in now["columns"]] == [
        "waiting",
        "longest_wait",
        "counters_open",
        "counters_busy",
        "counters_idle",
        "calls_last_hour",
    ]
    assert now["rows"][0]["longest_wait"] is None and now["cells"][0][1] == "—"

    stream = client.get(f"/admin/reports/o/{ZIELNA}/today/stream", buffered=False)
    try:
        assert stream.status_code == 200
        assert stream.mimetype == "text/event-stream"
        chunks = iter(stream.response)
        assert next(chunks).startswith(b"retry:")
        assert b"event: state" in next(chunks)  # the office's state at once
    finally:
        stream.close()


@pytest.mark.parametrize(
    ("role", "manages", "status"),
    [
        (Role.MANAGER, [PLZEN], 403),  # another office's manager
        (Role.CLERK, [], 403),
        (Role.ADMINISTRATOR, [], 200),
    ],
)
def test_who_may_open_the_page(any_app: Flask, role: Role, manages: list[str], status: int) -> None:
    account = make_account(any_app, "someone", role, manages=manages)
    client = session_of(any_app, account)
    for path in PATHS:
        assert opened(client, path.format(ZIELNA)) == status, path


def test_anonymous_a_display_and_unknown_offices(any_app: Flask) -> None:
    anonymous = any_app.test_client()
    display = signed_in_device(any_app, DeviceKind.DISPLAY, "Lobby", office=ZIELNA)
    for path in PATHS:
        response = anonymous.get(path.format(ZIELNA))
        assert response.status_code == 302 and "/login" in response.headers["Location"]
        assert opened(display, path.format(ZIELNA)) == 403, path  # a screen, not a manager
    manager = session_of(any_app, make_account(any_app, "boss", Role.MANAGER, manages=[ZIELNA]))
    for path in PATHS:
        assert opened(manager, path.format("no-such-office")) == 404, path


def test_the_figures_at_ten_download_and_answer_the_api(floor: Floor) -> None:
    """The files and the API give the figures ``today`` builds, at the moment they are asked."""
    app, slug = floor.app, floor.office.slug
    expected = floor.report(NOW)
    with time_machine.travel(NOW, tick=False):
        manager = session_of(app, make_account(app, "live-manager", Role.MANAGER, manages=[slug]))
        manager.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"

        sheet = manager.get(f"/admin/reports/o/{slug}/today.csv")
        assert sheet.status_code == 200 and sheet.mimetype == "text/csv"
        assert sheet.headers["Content-Disposition"] == (
            f"attachment; filename=today_{slug}_2026-11-25_1000.csv"
        )
        lines = list(csv.reader(io.StringIO(sheet.get_data().decode("utf-8-sig"))))
        assert lines[0] == ["Today, live"] and lines[1][0] == "Office"
        assert lines[2] == ["Figures as of", "2026-11-25 10:00:00"]
        assert ["Registration", "2", "9.5"] in lines
        assert ["Okno 4", "closed"] in lines

        book = load_workbook(io.BytesIO(manager.get(f"/admin/reports/o/{slug}/today.xlsx").data))
        now = book.worksheets[0]
        assert [c.value for c in now[6]] == [3, 40.0, 3, 2, 1, 6]  # under its header
        by_service = {
            r[0]: r[1:] for r in book.worksheets[1].iter_rows(min_row=6, values_only=True)
        }
        assert by_service["Exchanges"] == (1, 40.0)

        page = manager.get(f"/admin/reports/o/{slug}/today.json").get_json()
        service_table = next(t for t in page["tables"] if t["key"] == "by_service")
        assert service_table["chart"]["labels"] == ["Registration", "Flats", "Exchanges"]
        assert service_table["chart"]["datasets"][0]["data"] == [2, 0, 1]

        token = token_for(app, make_account(app, "live-program", Role.MANAGER, manages=[slug]))
        answer = app.test_client().get(
            f"/api/v1/reports/today?office={slug}&lang=en", headers=bearer(token)
        )
        assert answer.status_code == 200
        body = answer.get_json()
        assert (body["report"], body["office"], body["at"]) == (
            "today",
            slug,
            "2026-11-25T09:00:00Z",
        )
        assert {t["key"]: t["rows"] for t in body["tables"]} == {
            t.key: t.rows for t in expected.tables
        }
