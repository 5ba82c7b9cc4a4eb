"""The report pages' tests: a known office's Monday and Tuesday, a manager of it signed in,
and the tables of a page read back as text."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from queueing.models import Role
from tests.helpers.admin import make_account, session_of
from tests.helpers.factories import MadeOffice, MakeOffice, MakeService
from tests.helpers.report_history import History

KNOWN_OFFICE = "okno-testowe"


def known_office(app: Flask, make_office: MakeOffice, make_service: MakeService) -> MadeOffice:
    """A Warsaw office with two services, and its visitors of 2 and 3 November 2026:

    - Monday 2 November: two walk-ins for the flat exchange ("zamiana"), arrived 09:00 and
      10:00, called 09:05 and 10:30 (waits of 5 and 30 min), done 09:20 and 10:40.
    - Tuesday 3 November, registration ("meldunek"): an appointment for 10:00 booked on
      30 October, checked in 09:50 and called 10:00 (10 min), done 10:15; a walk-in at
      11:00 called 11:10 (10 min), done 11:30; a walk-in at 12:00 called at 12:05 (5 min)
      who never came (no-show: called, not served).

    Served: 1 appointment and 3 walk-ins, all in person. Waits 5, 30, 10, 10, 5 minutes.
    """
    office = make_office(
        KNOWN_OFFICE, name="Okienko – Łódź", timezone="Europe/Warsaw", counters=["Okno 1"]
    )
    exchange = make_service(
        office,
        "zamiana",
        prefix="Z",
        name={"pl": "Zamiana lokalu", "cs": "Výměna bytu", "en": "Flat exchange"},
    )
    registration = make_service(
        office,
        "meldunek",
        prefix="M",
        name={"pl": "Meldunek – zgłoszenie", "cs": "Přihlášení k pobytu", "en": "Registration"},
    )
    history = History(app)
    ala = history.clerk(office, "okno-ala", "Okno 1")
    for arrived, called, done in (("09:00", "09:05", "09:20"), ("10:00", "10:30", "10:40")):
        ticket = history.walk_in(exchange, f"2026-11-02 {arrived}")
        history.serve(ala, ticket, f"2026-11-02 {called}", f"2026-11-02 {done}")
    booking = history.book(registration, "2026-11-03 10:00", "2026-10-30 12:00")
    ticket = history.check_in(booking, "2026-11-03 09:50")
    history.serve(ala, ticket, "2026-11-03 10:00", "2026-11-03 10:15")
    ticket = history.walk_in(registration, "2026-11-03 11:00")
    history.serve(ala, ticket, "2026-11-03 11:10", "2026-11-03 11:30")
    ticket = history.walk_in(registration, "2026-11-03 12:00")
    history.missed(ala, ticket, "2026-11-03 12:05")
    return office


def signed_in(app: Flask, username: str, role: Role, **kw: Any) -> FlaskClient:
    """A client of a new account of ``role`` (``make_account``'s keywords), reading English."""
    client = session_of(app, make_account(app, username, role, **kw))
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


class _Tables(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.current: list[list[str]] | None = None
        self.cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        key = dict(attrs).get("data-table")
        if tag == "table" and key:
            self.current = self.tables.setdefault(key, [])
        elif tag == "tr" and self.current is not None:
            self.current.append([])
        elif tag in ("td", "th") and self.current is not None:
            self.cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self.cell is not None and self.current is not None:
            self.current[-1].append(" ".join("".join(self.cell).split()))
            self.cell = None
        elif tag == "table":
            self.current = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)


def page_tables(page: str) -> dict[str, list[list[str]]]:
    """The cells of each ``<table data-table=KEY>`` of the page by KEY, header row first."""
    parser = _Tables()
    parser.feed(page)
    return parser.tables
