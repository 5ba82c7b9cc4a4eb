"""The hours and closures tests' world: an office with two counters and booked visits, its
manager signed in, and the administration's forms read and sent back as a browser would.

    world = booked_office(app, make_office, make_service, make_booking)
    page = world.manager.post(world.url("closures"), data={...})
    fields = form_fields(page, "affected")     # the preview's form, as the browser posts it

The manager reads the pages in English. The office is in Warsaw, open Monday to Friday
08:00-16:00 on a 15-minute grid, with no public holidays (so no test depends on a
holiday's date); the visits are on Wednesday 2 December 2026, before and after the noon
hour, and on the day after, a week after the test's clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from booking.models import Booking, BookingSlot, Office, OpeningHours
from okienko.database import db
from queueing.models import Role
from tests.helpers.admin import make_account, session_of
from tests.helpers.factories import MadeBooking, MadeService, MakeBooking, MakeOffice, MakeService
from tests.helpers.forms import local_start

SLUG = "zmiany-test"
NAME = "Urząd Testowy – Zmiany"
ZONE = "Europe/Warsaw"
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)  # Wednesday, 10:00 in Warsaw
DAY = "2026-12-02"  # the Wednesday a week later


class _Form(HTMLParser):
    """The fields a browser would send from the first form with ``css_class``."""

    def __init__(self, css_class: str) -> None:
        super().__init__()
        self.css_class = css_class
        self.depth = 0  # inside the form while > 0
        self.done = False
        self.fields: list[tuple[str, str]] = []
        self.action: str | None = None
        self._textarea: str | None = None
        self._text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and not self.done and self.css_class in a.get("class", "").split():
            self.depth = 1
            self.action = a.get("action")
            return
        if not self.depth:
            return
        kind = a.get("type", "text")
        if tag == "input" and a.get("name"):
            if kind in ("radio", "checkbox") and "checked" not in a:
                return
            if kind not in ("submit", "button"):
                self.fields.append((a["name"], a.get("value", "")))
        elif tag == "textarea" and a.get("name"):
            self._textarea, self._text = a["name"], ""

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea" and self._textarea is not None:
            self.fields.append((self._textarea, self._text))
            self._textarea = None
        if tag == "form" and self.depth:
            self.depth = 0
            self.done = True


def form_fields(response: Any, css_class: str) -> MultiDict[str, str]:
    """What the form would post, before the test changes anything."""
    parser = _Form(css_class)
    parser.feed(response.get_data(as_text=True))
    assert parser.done, f"no form.{css_class} on the page"
    return MultiDict(parser.fields)


def with_values(fields: MultiDict[str, str], **changes: str) -> MultiDict[str, str]:
    """``fields`` with the named ones set (a radio chosen, a date typed); the preview's own
    fields are written ``affected_reason`` for ``affected-reason``."""
    named = {
        key.replace("_", "-", 1) if key.startswith("affected_") else key: value
        for key, value in changes.items()
    }
    kept = [(name, value) for name, value in fields.items(multi=True) if name not in named]
    return MultiDict(kept + list(named.items()))


@dataclass
class World:
    app: Flask
    service: MadeService
    manager: FlaskClient
    bookings: dict[str, MadeBooking]  # by a name the test uses

    def url(self, page: str) -> str:
        return f"/admin/o/{SLUG}/{page}"

    def booking(self, name: str) -> Booking:
        with self.app.app_context():
            row = db.session.get(Booking, self.bookings[name].id)
            assert row is not None
            db.session.expunge(row)
            return row

    def hours_id(self) -> int:
        """The id of the office's first opening-hours row: its set's address."""
        with self.app.app_context():
            found = db.session.scalar(
                select(OpeningHours.id)
                .join(Office)
                .where(Office.slug == SLUG)
                .order_by(OpeningHours.id)
            )
            assert found is not None
            return found

    def hours_to_save(self, hours_id: int, **days: tuple[str, str]) -> MultiDict[str, str]:
        """The week editor with the given days (``wed=("08:00", "12:00")``) changed, sent to
        the preview; the fields its "Save" button posts."""
        page = self.manager.get(self.url(f"hours/{hours_id}"))
        fields = [
            (name, value)
            for name, value in form_fields(page, "hours-editor").items(multi=True)
            if not any(name.startswith(f"{day}-") for day in days)
        ]
        for day, (opens, closes) in days.items():
            fields += [(f"{day}-0-opens", opens), (f"{day}-0-closes", closes)]
        preview = self.manager.post(
            self.url(f"hours/{hours_id}"), data=MultiDict([*fields, ("preview", "1")])
        )
        assert preview.status_code == 200, preview.get_data(as_text=True)[:3000]
        return with_values(form_fields(preview, "hours-save"), save="1")

    def cells(self, name: str) -> list[tuple[int, datetime]]:
        with self.app.app_context():
            rows = db.session.execute(
                select(BookingSlot.counter_id, BookingSlot.starts_at).where(
                    BookingSlot.booking_id == self.bookings[name].id
                )
            )
            return sorted((counter, start) for counter, start in rows)


def start(at: str, day: str = DAY) -> str:
    return local_start(day, at, ZONE)


def booked_office(
    app: Flask,
    make_office: MakeOffice,
    make_service: MakeService,
    make_booking: MakeBooking,
) -> World:
    """The office, its manager (no second factor) and these visits, booked at ``NOW``:

    - "cs" and "en" at 10:00 on 2 December (the first on Counter 1, the second on 2),
      by residents who chose Czech and English;
    - "afternoon" at 14:00 on 2 December, "next day" at 10:00 on 3 December.
    """
    office = make_office(
        SLUG,
        name=NAME,
        timezone=ZONE,
        hours={"mon tue wed thu fri": "08:00-16:00"},
        counters=2,
        public_holidays=False,
        slot_minutes=15,
        email="urzad@example.org",
    )
    service = make_service(office, "paszport", duration=30, name={"pl": "Paszport", "cs": "Pas"})
    bookings = {
        "cs": make_booking(service, start("10:00"), now=NOW, language="cs", email="cs@example.cz"),
        "en": make_booking(service, start("10:00"), now=NOW, language="en", email="en@example.com"),
        "afternoon": make_booking(service, start("14:00"), now=NOW, language="pl"),
        "next day": make_booking(service, start("10:00", "2026-12-03"), now=NOW, language="pl"),
    }
    account = make_account(app, "zmiany-manager", Role.MANAGER, manages=[SLUG])
    manager = session_of(app, account)
    manager.get("/?lang=en")  # the manager reads English: the tests match its texts
    return World(app, service, manager, bookings)
