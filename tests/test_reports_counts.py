"""The count reports against figures worked out by hand: visitors served, bookings, and the
most frequent services.

Two offices in Warsaw's zone live through October 2026, when the clocks go back on Sunday
25 October (03:00 CEST becomes 02:00 CET). Office A has the sanitary regime on Thursday
22 October; every ticket and booking state is reached through the application's own
functions, a ticket is moved from one service to another, and the retention job erases old
bookings at the end. Each figure in the assertions was counted from the story below, not
computed by the reports' code.

The story (office A unless B is named; local times)::

    week before  Tue 13 meldunek walk-in served        Wed 14 lokale walk-in served
                 Thu 15 archiwum walk-in served        Fri 16 meldunek walk-in no-show
                 Fri 16 14:00 b10 made (meldunek, for Fri 23 14:00: 7 days ahead)
                 Sun 18 23:30 meldunek walk-in served  B: Wed 14 inne walk-in served
    Mon 19  00:30 meldunek walk-in served (22:30 UTC on Sunday)
            b1, b2 made 09:00 (meldunek Wed 10:00, lokale today 14:00); B: bb1 made 10:00
            raty walk-in no-show; b3 made 12:00 (raty by phone, Tue 12:00)
            b2 checks in and is served
    Tue 20  meldunek walk-in moved to lokale and served there; B: meldunek walk-in served
            b7 made 09:00 (meldunek Thu 11:00), b4, b5 made 10:00 (meldunek Fri 11:00,
            raty Thu 29 10:00 CET); B: bb1 cancelled by the resident
            lokale walk-in parked, called back and served; b3's phone call served
            14:00 refused while booking (symptoms)
    Wed 21  b4 cancelled by the resident; b6 made 09:00 (lokale Fri 09:00); b1 served
            b8 made 10:00 (raty Thu 12:00); 11:00 refused while booking (symptoms)
            B: inne walk-in served; b9 made 13:00 (meldunek Thu 13:00)
            b6 moved to Mon 26 09:00; meldunek walk-in left waiting (closed at midnight)
            18:00 b7 refused online (isolation)
    Thu 22  (regime) b7 booked again for Tue 27 10:00 (a move)
            09:00 walk-in refused at the kiosk (household, a question later removed)
            lokale walk-in refused at the counter (no mask)
            b8 refused at the kiosk (contact), turned into a phone call and served
            b9 checks in, refused at the counter (looks ill)
    Fri 23  meldunek walk-in served; b10 becomes a no-show
    Sat 24  b11 made (lokale, 30 Nov: 37 days and an hour ahead)
    Sun 25  01:30 CEST meldunek walk-in served; 23:30 CET lokale walk-in served
            23:30 CET b12 made (meldunek Mon 10:00)
    Mon 26  00:30 CET raty walk-in served (23:30 UTC on Sunday)
            b5 cancelled by the office; b6 becomes a no-show; b12's ticket a no-show
    Tue 27  b7 served; left open: meldunek serving, lokale waiting, raty called,
            lokale parked, meldunek transferred to raty
    Mon 2 November  lokale walk-in served; the retention job (7 days) erases b1 and others
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from sqlalchemy import select

from admin.access import offices_of
from booking import confirmation  # [confirm]
from booking.models import (
    Booking,
    BookingEvent,
    BookingEventKind,
    BookingStatus,
    CancelledBy,
    Office,
)
from okienko.database import db
from okienko.transaction import unit_of_work  # [confirm]
from queueing.models import Role, StaffUser, Ticket, TicketStatus
from reports.catalogue import REPORTS
from reports.scope import Grain, Period, Scope
from tests.helpers.factories import MadeOffice, MakeOffice, MakeService
from tests.helpers.report_history import History

A_SLUG, B_SLUG = "reports-a", "reports-b"
SYMPTOMS = "Do you have symptoms of an infectious disease (e.g. fever, cough, shortness of breath)?"
ISOLATION = "Are you in mandatory isolation or quarantine?"
CONTACT = (
    "In the last 7 days, have you been in contact with someone suspected of infection, ill, "
    "or sent to isolation?"
)


def names(pl: str, cs: str, en: str) -> dict[str, str]:
    return {"pl": pl, "cs": cs, "en": en}


@dataclass(frozen=True)
class Story:
    a: MadeOffice
    b: MadeOffice
    bookings: dict[str, int]  # b1 ..., as in the story
    # p1 ... the week before, t1 ... walk-ins, b1 ... a booking's ticket, B-... office B's
    tickets: dict[str, int]


@pytest.fixture
def story(any_app: Flask, make_office: MakeOffice, make_service: MakeService) -> Story:
    regime = {"enabled": True, "from": "2026-10-22", "to": "2026-10-22", "rebook_after_days": 1}
    a = make_office(
        A_SLUG, counters=["Okno 1", "Okno 2", "Okno 3"], public_holidays=False, admission=regime
    )
    meldunek = make_service(
        a, "meldunek", duration=15, name=names("Meldunek", "Přihlášení k pobytu", "Registration")
    )
    lokale = make_service(a, "lokale", name=names("Lokale", "Byty", "Flats"))
    raty = make_service(a, "raty", duration=15, name=names("Raty", "Splátky", "Instalments"))
    archiwum = make_service(a, "archiwum", duration=15, name=names("Archiwum", "Archiv", "Archive"))
    b = make_office(B_SLUG, counters=["Okienko"], public_holidays=False)
    meldunek_b = make_service(
        b,
        "meldunek",
        duration=15,
        name=names("Zameldowanie", "Přihlášení", "Residence registration"),
    )
    inne_b = make_service(b, "inne", duration=15, name=names("Inne", "Jiné", "Other matters"))

    h = History(any_app)
    ala, ola = h.clerk(a, "ala", "Okno 1"), h.clerk(a, "ola", "Okno 2")
    ela, bea = h.clerk(a, "ela", "Okno 3"), h.clerk(b, "bea", "Okienko")
    bk: dict[str, int] = {}
    tk: dict[str, int] = {}

    # The week before: the services report's previous period.
    tk["p1"] = h.walk_in(meldunek, "2026-10-13 10:00")
    h.serve(ala, tk["p1"], "2026-10-13 10:05", "2026-10-13 10:15")
    tk["p2"] = h.walk_in(lokale, "2026-10-14 10:00")
    h.serve(ola, tk["p2"], "2026-10-14 10:05", "2026-10-14 10:30")
    tk["B-p1"] = h.walk_in(inne_b, "2026-10-14 11:00")
    h.serve(bea, tk["B-p1"], "2026-10-14 11:05", "2026-10-14 11:20")
    tk["p5"] = h.walk_in(archiwum, "2026-10-15 10:00")
    h.serve(ela, tk["p5"], "2026-10-15 10:05", "2026-10-15 10:10")
    tk["p3"] = h.walk_in(meldunek, "2026-10-16 10:00")
    h.missed(ala, tk["p3"], "2026-10-16 10:05:00")
    bk["b10"] = h.book(meldunek, "2026-10-23 14:00", "2026-10-16 14:00")
    tk["p4"] = h.walk_in(meldunek, "2026-10-18 23:30")
    h.serve(ala, tk["p4"], "2026-10-18 23:40", "2026-10-18 23:50")

    # Monday 19 October.
    tk["t1"] = h.walk_in(meldunek, "2026-10-19 00:30")
    h.serve(ala, tk["t1"], "2026-10-19 00:40", "2026-10-19 00:50")
    bk["b1"] = h.book(meldunek, "2026-10-21 10:00", "2026-10-19 09:00")
    bk["b2"] = h.book(lokale, "2026-10-19 14:00", "2026-10-19 09:00")
    bk["bb1"] = h.book(inne_b, "2026-10-22 10:00", "2026-10-19 10:00")
    tk["t3"] = h.walk_in(raty, "2026-10-19 10:00")
    h.missed(ela, tk["t3"], "2026-10-19 10:05:00")
    bk["b3"] = h.book(raty, "2026-10-20 12:00", "2026-10-19 12:00", phone=True)
    tk["b2"] = h.check_in(bk["b2"], "2026-10-19 13:50")
    h.serve(ola, tk["b2"], "2026-10-19 14:02", "2026-10-19 14:30")

    # Tuesday 20 October.
    tk["t4"] = h.walk_in(meldunek, "2026-10-20 09:00")
    h.call(ala, tk["t4"], "2026-10-20 09:10")
    h.start(ala, tk["t4"], "2026-10-20 09:11")
    h.transfer(ala, tk["t4"], "2026-10-20 09:15", to=lokale)
    h.serve(ola, tk["t4"], "2026-10-20 09:20", "2026-10-20 09:40")
    bk["b7"] = h.book(meldunek, "2026-10-22 11:00", "2026-10-20 09:00")
    bk["b4"] = h.book(meldunek, "2026-10-23 11:00", "2026-10-20 10:00")
    bk["b5"] = h.book(raty, "2026-10-29 10:00", "2026-10-20 10:00")
    h.cancel(bk["bb1"], "2026-10-20 10:00")
    tk["B-t1"] = h.walk_in(meldunek_b, "2026-10-20 10:00")
    h.serve(bea, tk["B-t1"], "2026-10-20 10:05", "2026-10-20 10:20")
    tk["t5"] = h.walk_in(lokale, "2026-10-20 11:00")
    h.call(ola, tk["t5"], "2026-10-20 11:05")
    h.park(ola, tk["t5"], "2026-10-20 11:06")
    h.serve(ola, tk["t5"], "2026-10-20 11:30", "2026-10-20 11:45")
    tk["b3"] = h.phone_call(ela, bk["b3"], "2026-10-20 12:01")
    h.finish(ela, tk["b3"], "2026-10-20 12:10")
    h.declare(a, "booking", "2026-10-20 14:00", refused_by="symptoms")

    # Wednesday 21 October.
    h.cancel(bk["b4"], "2026-10-21 08:00")
    bk["b6"] = h.book(lokale, "2026-10-23 09:00", "2026-10-21 09:00")
    tk["b1"] = h.check_in(bk["b1"], "2026-10-21 09:45")
    h.serve(ala, tk["b1"], "2026-10-21 10:00", "2026-10-21 10:20")
    bk["b8"] = h.book(raty, "2026-10-22 12:00", "2026-10-21 10:00")
    h.declare(a, "booking", "2026-10-21 11:00", refused_by="symptoms")
    tk["B-t2"] = h.walk_in(inne_b, "2026-10-21 10:00")
    h.serve(bea, tk["B-t2"], "2026-10-21 10:05", "2026-10-21 10:25")
    bk["b9"] = h.book(meldunek, "2026-10-22 13:00", "2026-10-21 13:00")
    h.move(bk["b6"], "2026-10-26 09:00", "2026-10-21 15:00")
    tk["t6"] = h.walk_in(meldunek, "2026-10-21 16:00")
    h.declare(a, "online", "2026-10-21 18:00", refused_by="isolation", booking=bk["b7"])

    # Thursday 22 October, under the sanitary regime.
    assert h.close_day(a, "2026-10-22 00:05") == 1  # Wednesday's last walk-in
    h.rebook(bk["b7"], "2026-10-27 10:00", "2026-10-22 08:00")
    h.declare(a, "kiosk", "2026-10-22 09:00", refused_by="household")
    tk["t7"] = h.walk_in(lokale, "2026-10-22 10:00")
    h.call(ola, tk["t7"], "2026-10-22 10:10")
    h.refuse(ola, tk["t7"], "2026-10-22 10:12", "no_mask")
    h.declare(a, "kiosk", "2026-10-22 11:45", refused_by="contact", booking=bk["b8"])
    h.to_phone(bk["b8"], "2026-10-22 11:50")
    tk["b8"] = h.phone_call(ela, bk["b8"], "2026-10-22 12:00")
    h.finish(ela, tk["b8"], "2026-10-22 12:05")
    tk["b9"] = h.check_in(bk["b9"], "2026-10-22 12:45")
    h.call(ala, tk["b9"], "2026-10-22 13:00")
    h.refuse(ala, tk["b9"], "2026-10-22 13:02", "looks_ill")

    # Friday 23 and Saturday 24 October.
    tk["t9"] = h.walk_in(meldunek, "2026-10-23 10:00")
    h.serve(ala, tk["t9"], "2026-10-23 10:05", "2026-10-23 10:15")
    assert h.mark_no_shows("2026-10-23 14:20") == 1  # b10
    bk["b11"] = h.book(lokale, "2026-11-30 10:00", "2026-10-24 10:00")

    # Sunday 25 October: the clocks go back at 03:00 CEST.
    tk["t10"] = h.walk_in(meldunek, "2026-10-25 01:30")
    h.serve(ala, tk["t10"], "2026-10-25 01:40", "2026-10-25 01:50")
    tk["t11"] = h.walk_in(lokale, "2026-10-25 23:30")
    h.serve(ola, tk["t11"], "2026-10-25 23:35", "2026-10-25 23:50")
    bk["b12"] = h.book(meldunek, "2026-10-26 10:00", "2026-10-25 23:30")

    # Monday 26 October.
    tk["t13"] = h.walk_in(raty, "2026-10-26 00:30")
    h.serve(ela, tk["t13"], "2026-10-26 00:35", "2026-10-26 00:45")
    h.cancel(bk["b5"], "2026-10-26 09:00", by=CancelledBy.OFFICE)
    assert h.mark_no_shows("2026-10-26 09:30") == 1  # b6
    tk["b12"] = h.check_in(bk["b12"], "2026-10-26 09:55")
    h.missed(ala, tk["b12"], "2026-10-26 10:00:00")

    # Tuesday 27 October: b7 comes; five tickets are left open.
    tk["b7"] = h.check_in(bk["b7"], "2026-10-27 09:50")
    h.call(ela, tk["b7"], "2026-10-27 10:00")
    h.finish(ela, tk["b7"], "2026-10-27 10:10")  # finished straight from the call
    tk["t14"] = h.walk_in(meldunek, "2026-10-27 10:30")
    h.call(ala, tk["t14"], "2026-10-27 10:35")
    h.start(ala, tk["t14"], "2026-10-27 10:36")
    tk["t15"] = h.walk_in(lokale, "2026-10-27 10:40")
    tk["t16"] = h.walk_in(raty, "2026-10-27 10:41")
    h.call(ela, tk["t16"], "2026-10-27 10:45")
    tk["t17"] = h.walk_in(lokale, "2026-10-27 10:50")
    h.call(ola, tk["t17"], "2026-10-27 10:55")
    h.park(ola, tk["t17"], "2026-10-27 10:56")
    tk["t18"] = h.walk_in(meldunek, "2026-10-27 11:00")
    h.call(ola, tk["t18"], "2026-10-27 11:00")
    h.transfer(ola, tk["t18"], "2026-10-27 11:05", to=raty)

    # Monday 2 November.
    tk["t19"] = h.walk_in(lokale, "2026-11-02 10:00")
    h.serve(ola, tk["t19"], "2026-11-02 10:05", "2026-11-02 10:20")
    h.remove_question(a, "household")
    # [confirm] Bookings confirmed by e-mail, for one morning: one not confirmed in time is
    # released (its own kind in the ledger and its own column: neither made, cancelled
    # nor a no-show), one is still pending (not made yet).
    with any_app.app_context(), unit_of_work() as session:
        session.get_one(Office, a.id).confirm_by_mail = True
    bk["p1"] = h.book(raty, "2026-11-05 10:00", "2026-11-02 10:30")
    bk["p2"] = h.book(raty, "2026-11-05 11:00", "2026-11-02 10:40")
    with any_app.app_context(), unit_of_work() as session:
        session.get_one(Office, a.id).confirm_by_mail = False
        assert confirmation.release_overdue(session, h.at("2026-11-02 10:45")) == 1
    # Bookings that ended before 26 October 11:00 UTC: b1-b4, b6, b8-b10, b12 and B's bb1.
    assert h.retention("2026-11-02 12:00", keep_days=7) == 10
    with any_app.app_context():  # every state a ticket and a booking can end the story in
        ours = (a.id, b.id)
        tickets = select(Ticket.status).where(Ticket.office_id.in_(ours))
        bookings = select(Booking.status).where(Booking.office_id.in_(ours))
        assert set(db.session.scalars(tickets)) == set(TicketStatus)
        assert set(db.session.scalars(bookings)) == set(BookingStatus)
    return Story(a, b, bk, tk)


def report(
    app: Flask,
    name: str,
    offices: tuple[int, ...],
    first: str,
    last: str,
    grain: Grain = "day",
    service: str | None = None,
    locale: str = "en",
) -> dict[str, list[dict[str, Any]]]:
    """The report's tables by key, as rows."""
    period = Period(date.fromisoformat(first), date.fromisoformat(last), grain)
    with app.app_context():
        built = REPORTS[name].build(
            db.session,
            Scope(offices, service),
            period,
            locale=locale,
            now=History(app).at("2026-11-03 12:00"),
        )
    assert built.name == name
    return {table.key: table.rows for table in built.tables}


def counts(*figures: int) -> dict[str, int]:
    """appointments, walk_ins, in_person, phone, total."""
    keys = ("appointments", "walk_ins", "in_person", "phone", "total")
    return dict(zip(keys, figures, strict=True))


def by_time(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {
        row["period"].isoformat(): {k: v for k, v in row.items() if k != "period"} for row in rows
    }


def managed_by(app: Flask, username: str, slug: str) -> tuple[int, ...]:
    """A manager of one office: the office ids the reports' pages give them."""
    with app.app_context():
        office = db.session.scalars(select(Office).where(Office.slug == slug)).one()
        manager = StaffUser(
            username=username,
            name=username,
            password_hash="-",
            office_id=office.id,
            role=Role.MANAGER,
            managed_offices=[office],
        )
        db.session.add(manager)
        db.session.commit()
        return tuple(o.id for o in offices_of(db.session, manager))


# ---------------------------------------------------------------- visitors served


def test_visitors_by_day_week_and_month_across_the_clock_change(
    any_app: Flask, story: Story
) -> None:
    rows = report(any_app, "visitors", (story.a.id,), "2026-10-19", "2026-11-01", "week")
    assert by_time(rows["by_time"]) == {
        # Sunday 23:30 CET is still the week of the 19th; Monday 00:30 CET is not, though
        # both are Sunday in UTC. 4 appointments: b2, b1 in person, b3, b8 by phone.
        "2026-10-19": counts(4, 6, 8, 2, 10),
        "2026-10-26": counts(1, 1, 2, 0, 2),
    }
    assert rows["totals"] == [counts(5, 7, 10, 2, 12)]
    with any_app.app_context():
        day = {t.id: t.day for t in db.session.query(Ticket)}
    assert day[story.tickets["t11"]] == date(2026, 10, 25)
    assert day[story.tickets["t13"]] == date(2026, 10, 26)

    rows = report(any_app, "visitors", (story.a.id,), "2026-10-19", "2026-10-25")
    assert by_time(rows["by_time"]) == {
        "2026-10-19": counts(1, 1, 2, 0, 2),
        "2026-10-20": counts(1, 2, 2, 1, 3),  # the moved walk-in, the parked one, b3's call
        "2026-10-21": counts(1, 0, 1, 0, 1),  # b1 only: the last walk-in was never called
        "2026-10-22": counts(1, 0, 0, 1, 1),  # b8 by phone; both refusals are no visit
        "2026-10-23": counts(0, 1, 1, 0, 1),
        "2026-10-24": counts(0, 0, 0, 0, 0),
        "2026-10-25": counts(0, 2, 2, 0, 2),  # a 25-hour day
    }
    assert rows["totals"] == [counts(4, 6, 8, 2, 10)]

    weeks = report(any_app, "visitors", (story.a.id,), "2026-10-21", "2026-10-27", "week")
    assert by_time(weeks["by_time"]) == {
        "2026-10-19": counts(2, 3, 4, 1, 5),  # Wednesday to Sunday: b1, b8, three walk-ins
        "2026-10-26": counts(1, 1, 2, 0, 2),
    }
    months = report(any_app, "visitors", (story.a.id,), "2026-10-19", "2026-11-03", "month")
    # October holds 19-31 only: the week before (four visits) is not in the period.
    assert by_time(months["by_time"]) == {
        "2026-10-01": counts(5, 7, 10, 2, 12),
        "2026-11-01": counts(0, 1, 1, 0, 1),
    }
    assert months["totals"] == [counts(5, 8, 11, 2, 13)]


def test_visitors_of_all_offices_of_one_service_and_erased_for_privacy(
    any_app: Flask, story: Story
) -> None:
    both = (story.a.id, story.b.id)
    rows = report(any_app, "visitors", both, "2026-10-19", "2026-11-01", "week")
    assert rows["totals"] == [counts(5, 9, 12, 2, 14)]  # B's two walk-ins
    mine = managed_by(any_app, "kierownik", A_SLUG)
    assert mine == (story.a.id,)
    rows = report(any_app, "visitors", mine, "2026-10-19", "2026-11-01", "week", "meldunek")
    # The walk-in moved to lokale and the one transferred on Tuesday 27 are not meldunek's;
    # B's meldunek is not the manager's.
    assert by_time(rows["by_time"]) == {
        "2026-10-19": counts(1, 3, 4, 0, 4),
        "2026-10-26": counts(1, 0, 1, 0, 1),
    }
    rows = report(any_app, "visitors", mine, "2026-10-19", "2026-10-25", "week", "lokale")
    assert rows["totals"] == [counts(1, 3, 4, 0, 4)]  # b2, the moved walk-in, two more

    history = History(any_app)
    assert history.anonymised(story.bookings["b1"]) and history.anonymised(story.bookings["b2"])
    assert not history.anonymised(story.bookings["b7"])
    rows = report(any_app, "visitors", (story.a.id,), "2026-10-19", "2026-10-21")
    assert rows["totals"] == [counts(3, 3, 5, 1, 6)]  # b2's and b1's visits among them


# ---------------------------------------------------------------- bookings


def events(*figures: int, released: int = 0) -> dict[str, int]:
    """made, moved, cancelled_resident, cancelled_office, no_show, refused; released."""
    keys = ("made", "moved", "cancelled_resident", "cancelled_office", "no_show", "refused")
    return dict(zip(keys, figures, strict=True)) | {"released": released}


def test_bookings_not_confirmed_in_time_are_released_in_a_column_of_their_own(
    any_app: Flask, story: Story
) -> None:
    # p1 released on Monday 2 November; p2 still pending, so not made yet either.
    rows = report(any_app, "bookings", (story.a.id,), "2026-11-02", "2026-11-03")
    assert by_time(rows["by_time"]) == {
        "2026-11-02": events(0, 0, 0, 0, 0, 0, released=1),
        "2026-11-03": events(0, 0, 0, 0, 0, 0),
    }


def test_bookings_by_day_and_week_refusals_and_lead_time(any_app: Flask, story: Story) -> None:
    rows = report(any_app, "bookings", (story.a.id,), "2026-10-19", "2026-10-25")
    assert by_time(rows["by_time"]) == {
        "2026-10-19": events(3, 0, 0, 0, 0, 0),
        "2026-10-20": events(3, 0, 0, 0, 0, 1),
        "2026-10-21": events(3, 1, 1, 0, 0, 2),
        "2026-10-22": events(0, 1, 0, 0, 0, 4),  # b7 booked again is a move
        "2026-10-23": events(0, 0, 0, 0, 1, 0),
        "2026-10-24": events(1, 0, 0, 0, 0, 0),
        "2026-10-25": events(1, 0, 0, 0, 0, 0),  # 23:30 CET, 22:30 UTC: still Sunday
    }
    # 300 630 1440 1440 1560 2880 2940 3000 4380 13020 53340 minutes ahead (b5 and b11
    # an hour more across the clock change): the 6th and the 10th of eleven.
    assert rows["lead_time"] == [{"made": 11, "median_minutes": 2880.0, "p90_minutes": 13020.0}]
    assert rows["lead_buckets"] == [
        {"bucket": "Less than a day ahead", "count": 2, "share": 0.1818},
        {"bucket": "1 day ahead", "count": 3, "share": 0.2727},
        {"bucket": "2–7 days ahead", "count": 4, "share": 0.3636},
        {"bucket": "8–30 days ahead", "count": 1, "share": 0.0909},
        {"bucket": "More than 30 days ahead", "count": 1, "share": 0.0909},
    ]

    rows = report(any_app, "bookings", (story.a.id,), "2026-10-19", "2026-11-01", "week")
    assert by_time(rows["by_time"]) == {
        "2026-10-19": events(11, 2, 1, 0, 1, 7),
        "2026-10-26": events(0, 0, 0, 1, 1, 0),  # b5 by the office, b6 not come
    }
    assert rows["refusals"] == [
        {"place": "When booking", "reason": SYMPTOMS, "count": 2},
        {"place": "Online before the visit", "reason": ISOLATION, "count": 1},
        {"place": "At the kiosk", "reason": "household", "count": 1},  # no longer asked
        {"place": "At the kiosk", "reason": CONTACT, "count": 1},
        {"place": "At the counter", "reason": "Looks ill", "count": 1},
        {"place": "At the counter", "reason": "No mask covering nose and mouth", "count": 1},
    ]
    czech = report(
        any_app, "bookings", (story.a.id,), "2026-10-19", "2026-11-01", "week", None, "cs"
    )
    assert "Jste v povinné izolaci nebo karanténě?" in [r["reason"] for r in czech["refusals"]]

    rows = report(any_app, "bookings", (story.a.id,), "2026-10-19", "2026-10-21")
    # Nine made: 300 1440 1440 1560 2880 2940 3000 4380 13020; the 90th percentile lies
    # at rank 7.2: 4380 + 0.2 * (13020 - 4380).
    assert rows["lead_time"] == [{"made": 9, "median_minutes": 2880.0, "p90_minutes": 6108.0}]


def test_bookings_of_one_service_for_its_manager_and_an_empty_week(
    any_app: Flask, story: Story
) -> None:
    mine = managed_by(any_app, "kierownik", A_SLUG)
    rows = report(any_app, "bookings", mine, "2026-10-19", "2026-11-01", "week", "meldunek")
    # b1 b7 b4 b9 b12 made; b4 cancelled; b7 refused online and moved; b9 refused at the
    # counter; b10 a no-show. Refusals of no booking belong to no service.
    assert by_time(rows["by_time"]) == {
        "2026-10-19": events(5, 1, 1, 0, 1, 2),
        "2026-10-26": events(0, 0, 0, 0, 0, 0),
    }
    assert rows["refusals"] == [
        {"place": "Online before the visit", "reason": ISOLATION, "count": 1},
        {"place": "At the counter", "reason": "Looks ill", "count": 1},
    ]
    # 630 1440 2940 3000 4380: the 90th percentile at rank 3.6, 3000 + 0.6 * 1380.
    assert rows["lead_time"] == [{"made": 5, "median_minutes": 2940.0, "p90_minutes": 3828.0}]
    assert [(r["count"], r["share"]) for r in rows["lead_buckets"]] == [
        (1, 0.2),
        (1, 0.2),
        (3, 0.6),
        (0, 0.0),
        (0, 0.0),
    ]

    # The week the clocks go forward in 2027: nothing happened.
    rows = report(any_app, "bookings", (story.a.id,), "2027-03-22", "2027-03-28", "week")
    assert by_time(rows["by_time"]) == {"2027-03-22": events(0, 0, 0, 0, 0, 0)}
    assert rows["refusals"] == []
    assert rows["lead_time"] == [{"made": 0, "median_minutes": None, "p90_minutes": None}]
    assert [(r["count"], r["share"]) for r in rows["lead_buckets"]] == [(0, None)] * 5


# ---------------------------------------------------------------- most frequent services


def service_rows(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    keys = ("service", "key", "served", "share", "previous", "change")
    return [tuple(row[k] for k in keys) for row in rows]


def test_services_with_share_and_trend(any_app: Flask, story: Story) -> None:
    rows = report(any_app, "services", (story.a.id,), "2026-10-19", "2026-10-25")
    # The week before: meldunek 2 (Tuesday 13, Sunday 18 at 23:30), lokale 1, archiwum 1.
    # The walk-in moved from meldunek counts for lokale, where it was served.
    assert service_rows(rows["by_service"]) == [
        ("Flats", "lokale", 4, 0.4, 1, 3.0),
        ("Registration", "meldunek", 4, 0.4, 2, 1.0),
        ("Instalments", "raty", 2, 0.2, 0, None),
        ("Archive", "archiwum", 0, 0.0, 1, -1.0),
    ]
    polish = report(any_app, "services", (story.a.id,), "2026-10-19", "2026-10-25", locale="pl")
    assert [r["service"] for r in polish["by_service"]] == [
        "Lokale",
        "Meldunek",
        "Raty",
        "Archiwum",
    ]

    both = (story.a.id, story.b.id)
    rows = report(any_app, "services", both, "2026-10-19", "2026-10-25")
    # One meldunek for both offices, named as office A (the first) names it.
    assert service_rows(rows["by_service"]) == [
        ("Registration", "meldunek", 5, 0.4167, 2, 1.5),
        ("Flats", "lokale", 4, 0.3333, 1, 3.0),
        ("Instalments", "raty", 2, 0.1667, 0, None),
        ("Other matters", "inne", 1, 0.0833, 1, 0.0),
        ("Archive", "archiwum", 0, 0.0, 1, -1.0),
    ]
    mine = managed_by(any_app, "kierownik", A_SLUG)
    rows = report(any_app, "services", mine, "2026-10-19", "2026-10-25", service="meldunek")
    assert service_rows(rows["by_service"]) == [("Registration", "meldunek", 4, 1.0, 2, 1.0)]


def test_a_refusal_is_counted_without_whom_it_refused(any_app: Flask, story: Story) -> None:
    """Its reason is health-related: the ledger keeps the day and the office, never the
    booking nor the moment (which the booking's and the ticket's own times would match)."""
    with any_app.app_context():
        refusals = db.session.scalars(
            select(BookingEvent).where(BookingEvent.kind == BookingEventKind.REFUSED)
        ).all()
        # Two while booking, one online, two at the kiosk, two at the counter.
        assert len(refusals) == 7
        for event in refusals:
            office = db.session.get_one(Office, event.office_id)
            local = event.at.astimezone(ZoneInfo(office.timezone))
            assert event.booking_id is None
            assert (local.date(), local.time()) == (event.day, time(0))
