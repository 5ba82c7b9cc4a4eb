"""Closures through the administration's forms: a booked day closed shows its visits first,
then cancels them with the manager's reason (mails in each resident's language, with the
calendar's cancellation), moves what another counter can take, never strands a visit, and
a part of a day closes exactly that part, on the nights the clocks change too."""

from __future__ import annotations

import re
import threading
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import icalendar
import pytest
import time_machine
from flask import Flask
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import func, select, text

from admin.affected import stranded
from admin.changes import Decisions, NeedsDecision, lock_office, settle
from admin.models import ChangeLog
from booking.codes import format_code
from booking.importer import OfficeConfigError, import_offices
from booking.models import Booking, BookingStatus, Closure, Counter, Office, OfficeVersion
from booking.slots import END_OF_DAY
from okienko.database import db
from okienko.models import QueuedMail
from okienko.transaction import unit_of_work
from queueing.models import Role, StaffUser
from tests.helpers.admin import make_account, session_of
from tests.helpers.factories import MakeBooking, MakeOffice, MakeService
from tests.helpers.forms import book_form, csrf_token
from tests.helpers.mailbox import Mailbox, mail_sent
from tests.helpers.office_changes import (
    DAY,
    NOW,
    SLUG,
    World,
    booked_office,
    form_fields,
    start,
    with_values,
)
from tests.helpers.race import race
from tests.helpers.waiting import TIMEOUT, wait_until

TIME_RE = re.compile(r'class="time" href="[^"]*start=([^"&]+)[^"]*">([^<]+)<')


@pytest.fixture
def world(
    app: Flask, make_office: MakeOffice, make_service: MakeService, make_booking: MakeBooking
) -> Any:
    with time_machine.travel(NOW, tick=False):
        yield booked_office(app, make_office, make_service, make_booking)


def use_smtp(app: Flask, smtp: Mailbox) -> None:
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp.port)


def close(world: World, **fields: str) -> Any:
    """The closure form as the manager fills it in and sends it."""
    data = {"csrf_token": csrf_token(world.manager, world.url("closures"))} | fields
    return world.manager.post(world.url("closures"), data=data)


def count(app: Flask, model: Any) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model)) or 0


def times(app: Flask, day: str) -> list[str]:
    page = app.test_client().get(f"/o/{SLUG}/paszport/{day}?lang=en")
    assert page.status_code == 200
    return [label for _start, label in TIME_RE.findall(page.get_data(as_text=True))]


def test_closing_a_booked_day_shows_its_visits_then_cancels_them_with_the_reason(
    app: Flask, world: World, smtp: Mailbox
) -> None:
    use_smtp(app, smtp)
    preview = close(world, first_day=DAY, reason="Szkolenie pracowników")
    page = preview.get_data(as_text=True)
    assert preview.status_code == 200, page
    codes = {name: world.bookings[name].code for name in world.bookings}
    for name in ("cs", "en", "afternoon"):
        assert codes[name] in page
    assert codes["next day"] not in page
    assert page.count("Cannot be moved") == 3  # the whole office is closed: no counter is free
    # Nothing is saved while the manager decides.
    assert count(app, Closure) == 0
    assert world.booking("cs").status == BookingStatus.BOOKED

    fields = form_fields(preview, "affected")
    assert fields["affected-reason"] == "Szkolenie pracowników"  # the note, to start from
    missing = world.manager.post(
        world.url("closures"), data=with_values(fields, affected_reason="")
    )
    assert missing.status_code == 422
    assert "Write the reason residents will read" in missing.get_data(as_text=True)
    assert count(app, Closure) == 0

    reason = "Awaria zasilania. Prosimy o wybranie innego terminu."
    done = world.manager.post(
        world.url("closures"), data=with_values(fields, affected_reason=reason)
    )
    assert done.status_code == 302, done.get_data(as_text=True)
    assert count(app, Closure) == 1
    for name in ("cs", "en", "afternoon"):
        booking = world.booking(name)
        assert booking.status == BookingStatus.CANCELLED and world.cells(name) == []
    assert world.booking("next day").status == BookingStatus.BOOKED

    # The history names the bookings by id and code, never the resident.
    with app.app_context():
        entries = db.session.scalars(
            select(ChangeLog).where(ChangeLog.record_type == "booking")
        ).all()
        assert {e.record_id for e in entries} == {
            str(world.bookings[n].id) for n in ("cs", "en", "afternoon")
        }
        for entry in entries:
            # The reason stays with the booking (erased with it), not in the history.
            assert entry.action == "cancel" and "reason" not in entry.after
            assert reason not in str(entry.before) + str(entry.after)
            assert "@" not in str(entry.before) + str(entry.after)
            assert "Kowalski" not in str(entry.before) + str(entry.after)

    with time_machine.travel(NOW, tick=False):
        mail_sent(app)
    messages = {str(m["To"]): m for m in smtp.wait_for(3)}
    czech = messages["cs@example.cz"]
    with app.test_request_context(), force_locale("cs"):
        assert czech["Subject"] == _(
            "The office has cancelled your booking %(code)s", code=format_code(codes["cs"])
        )
        czech_words = (_("Good day,"), _("Booking code"))
    body = czech.get_body(("plain",)).get_content()
    assert all(word in body for word in czech_words)
    assert reason in body and f"/o/{SLUG}/paszport" in body
    english = messages["en@example.com"].get_body(("plain",)).get_content()
    assert "Good day," in english and reason in english
    for message in messages.values():
        [ics] = [p for p in message.iter_attachments() if p.get_content_type() == "text/calendar"]
        calendar = icalendar.Calendar.from_ical(ics.get_content())
        assert str(calendar["METHOD"]) == "CANCEL"
        [event] = calendar.walk("VEVENT")
        assert str(event["STATUS"]) == "CANCELLED"

    # The resident's page says the office cancelled it, and why.
    manage = app.test_client().get(f"/manage/{world.bookings['en'].token}?lang=en")
    text = manage.get_data(as_text=True)
    assert "The office cancelled this visit." in text and reason in text


def test_a_visit_booked_while_the_manager_decides_brings_the_list_back(
    world: World, make_booking: MakeBooking
) -> None:
    preview = close(world, first_day=DAY, reason="Remont")
    fields = with_values(form_fields(preview, "affected"), affected_reason="Remont")
    with time_machine.travel(NOW, tick=False):
        late = world.bookings["late"] = make_booking(world.service, start("15:00"), now=NOW)
    again = world.manager.post(world.url("closures"), data=fields)
    page = again.get_data(as_text=True)
    assert again.status_code == 409 and late.code in page
    assert "The bookings changed while you were deciding" in page
    assert count(world.app, Closure) == 0 and world.booking("late").status == BookingStatus.BOOKED
    done = world.manager.post(world.url("closures"), data=form_fields(again, "affected"))
    assert done.status_code == 302
    assert world.booking("late").status == BookingStatus.CANCELLED


def test_a_part_day_closure_removes_exactly_those_times(app: Flask, world: World) -> None:
    friday = "2026-12-04"
    before = times(app, friday)
    assert before[0] == "08:00" and before[-1] == "15:30" and len(before) == 31
    done = close(world, first_day=friday, starts="12:00", ends="13:00", reason="Zebranie")
    assert done.status_code == 302, done.get_data(as_text=True)
    after = times(app, friday)
    # No 30-minute visit may begin in 12:00-13:00 or reach into it: 11:45 to 12:45 go.
    assert set(before) - set(after) == {"11:45", "12:00", "12:15", "12:30", "12:45"}
    assert "11:30" in after and "13:00" in after
    day_page = app.test_client().get(f"/o/{SLUG}/paszport/{friday}?lang=en")
    assert "Zebranie" in day_page.get_data(as_text=True)
    calendar = app.test_client().get(f"/o/{SLUG}/paszport?month=2026-12&lang=en")
    assert "Zebranie" in calendar.get_data(as_text=True)


def test_a_hand_made_decision_is_a_bad_request(world: World) -> None:
    """The preview posts "move" or "cancel" under a booking's id; anything else under its
    prefix (digits that are no id, a number beyond any id, another choice) is refused."""
    preview = close(world, first_day=DAY, reason="Remont")
    fields = with_values(form_fields(preview, "affected"), affected_reason="Remont")
    for name, value in [
        ("affected-²", "move"),
        ("affected-" + "9" * 5000, "cancel"),
        ("affected-0x1", "move"),
        (f"affected-{world.bookings['cs'].id}", "keep"),
    ]:
        sent = world.manager.post(world.url("closures"), data=with_values(fields, **{name: value}))
        assert sent.status_code == 400, (name[:20], sent.status_code)
    assert count(world.app, Closure) == 0


def test_the_calendar_stays_within_years_of_today(world: World) -> None:
    """Months far away are shown as the nearest month within five years; a closure may
    begin at most five years ahead."""
    for month, shown in [
        ("0001-01", "January 2021"),
        ("9999-12", "December 2031"),
        ("2031-12", "December 2031"),
        ("2027-03", "March 2027"),
    ]:
        page = world.manager.get(world.url("closures") + f"?month={month}&lang=en")
        assert page.status_code == 200, month
        assert f'class="month-name">{shown}<' in page.get_data(as_text=True), month
    for far in ("9999-12-31", "2032-01-01"):
        page = close(world, first_day=far, reason="Typed note")
        text = page.get_data(as_text=True)
        assert page.status_code == 422, far
        field = re.search(r'<input[^>]*id="first_day"[^>]*>(.*?)</div>', text, re.S)
        assert field and "Choose a day at most 5 years ahead." in field.group(1), far
        assert 'value="Typed note"' in text
    assert close(world, first_day="2031-12-31", reason="Far").status_code == 302
    assert count(world.app, Closure) == 1


def test_a_part_day_closure_may_run_to_midnight(
    app: Flask, make_office: MakeOffice, make_service: MakeService
) -> None:
    """Closed 20:00-24:00 (typed so, or as a time input sends midnight, 00:00) closes the
    evening of an office open round the clock, to the last minute."""
    with time_machine.travel(NOW, tick=False):
        office = make_office(
            "calodobowy",
            timezone="Europe/Warsaw",
            hours={"fri sat": "00:00-24:00"},
            public_holidays=False,
            slot_minutes=15,
        )
        make_service(office, "noc", duration=15)
        account = make_account(app, "calodobowy-manager", Role.MANAGER, manages=["calodobowy"])
        manager = session_of(app, account)
        client = app.test_client()
        before = labels(client.get("/o/calodobowy/noc/2026-12-04?lang=en"))
        assert before[-1] == "23:45" and len(before) == 96
        url = "/admin/o/calodobowy/closures"
        for day, ends in (("2026-12-04", "24:00"), ("2026-12-05", "00:00")):
            token = csrf_token(manager, url)
            done = manager.post(
                url,
                data={"csrf_token": token, "first_day": day, "starts": "20:00", "ends": ends},
            )
            assert done.status_code == 302, done.get_data(as_text=True)[:2000]
            after = labels(client.get(f"/o/calodobowy/noc/{day}?lang=en"))
            assert after[-1] == "19:45" and len(after) == 80, day
            assert labels(client.get(f"/o/calodobowy/noc/{day}?lang=en"))[0] == "00:00"
        listing = manager.get(url + "?month=2026-12&lang=en").get_data(as_text=True)
        assert "Friday, 4 December 2026, 20:00–24:00" in listing
        assert "Closed 20:00–24:00" in listing
        public = client.get("/o/calodobowy/noc?month=2026-12&lang=en").get_data(as_text=True)
        assert "20:00 to 24:00" in public
    with app.app_context():
        assert set(db.session.scalars(select(Closure.ends))) == {END_OF_DAY}


def test_a_closure_with_wrong_fields_says_why_next_to_them(world: World) -> None:
    cases = [
        ({"first_day": ""}, "first_day", "Give the first closed day."),
        ({"first_day": "2026-11-20"}, "first_day", "Choose today or a later day."),
        ({"first_day": DAY, "last_day": "2026-12-01"}, "last_day", "before the first day"),
        ({"first_day": DAY, "starts": "12:00"}, "ends", "Give both times"),
        ({"first_day": DAY, "starts": "13:00", "ends": "12:00"}, "ends", "must be after"),
        ({"first_day": DAY, "starts": "25:00", "ends": "26:00"}, "starts", "a time like 12:30"),
    ]
    for fields, where, message in cases:
        sent = {"reason": "Typed note"} | fields
        page = close(world, **sent)
        text = page.get_data(as_text=True)
        assert page.status_code == 422, (fields, page.status_code)
        field = re.search(rf'<input[^>]*id="{where}"[^>]*>(.*?)</div>', text, re.S)
        assert field and message in field.group(1), (fields, text[:3000])
        assert 'value="Typed note"' in text  # nothing typed is lost
    assert count(world.app, Closure) == 0


def test_deleting_a_closure_opens_the_day_again(app: Flask, world: World) -> None:
    friday = "2026-12-04"
    assert close(world, first_day=friday, reason="Inwentaryzacja").status_code == 302
    assert times(app, friday) == []
    with app.app_context():
        version = db.session.scalar(
            select(OfficeVersion.version).join(Office).where(Office.slug == SLUG)
        )
        closure_id = db.session.scalar(select(Closure.id))
    listing = world.manager.get(world.url("closures") + "?month=2026-12").get_data(as_text=True)
    delete_url = world.url(f"closures/{closure_id}/delete")
    assert "Inwentaryzacja" in listing and f'action="{delete_url}"' in listing
    token = csrf_token(world.manager, world.url("closures"))
    asked = world.manager.post(delete_url, data={"csrf_token": token})  # the list's button
    assert asked.status_code == 200 and times(app, friday) == []
    assert 'name="confirm" value="1"' in asked.get_data(as_text=True)
    gone = world.manager.post(delete_url, data={"csrf_token": token, "confirm": "1"})
    assert gone.status_code == 302
    assert len(times(app, friday)) == 31
    with app.app_context():
        newer = db.session.scalar(
            select(OfficeVersion.version).join(Office).where(Office.slug == SLUG)
        )
        assert newer is not None and version is not None and newer > version


def test_the_month_calendar_shows_public_holidays_and_closures(app: Flask, world: World) -> None:
    with app.app_context(), unit_of_work() as session:
        office = session.scalar(select(Office).where(Office.slug == SLUG))
        assert office is not None
        office.public_holidays = True
    assert (
        close(world, first_day="2026-12-28", last_day="2026-12-30", reason="Przerwa").status_code
        == 302
    )
    page = world.manager.get(world.url("closures") + "?month=2026-12&lang=en").get_data(
        as_text=True
    )
    assert "Christmas Day" in page  # 25 December, from the holidays package
    assert page.count("Closed: Przerwa") == 3
    polish = world.manager.get(world.url("closures") + "?month=2026-12&lang=pl").get_data(
        as_text=True
    )
    assert "Boże Narodzenie" in polish or "Bożego Narodzenia" in polish


def test_a_visit_goes_to_a_free_counter_and_another_is_cancelled(
    app: Flask, world: World, smtp: Mailbox
) -> None:
    """Taking the service off Counter 1 (as the counters page does): the 14:00 visit moves to
    Counter 2, the 10:00 one cannot (Counter 2 is booked then) and is cancelled."""
    use_smtp(app, smtp)
    with app.app_context():
        manager = db.session.scalar(select(StaffUser).where(StaffUser.username == "zmiany-manager"))
        counters = dict(db.session.execute(select(Counter.name, Counter.id)).all())
    assert world.booking("afternoon").counter_id == counters["Counter 1"]

    def take_service_off_counter_1(decisions: Decisions | None) -> Any:
        with app.test_request_context(), unit_of_work() as session:
            office = session.scalar(select(Office).where(Office.slug == SLUG))
            counter = session.get(Counter, counters["Counter 1"])
            assert office is not None and counter is not None
            counter.services = []
            session.flush()
            return settle(session, office, NOW, decisions, actor=session.get(StaffUser, manager.id))

    with time_machine.travel(NOW, tick=False):
        with pytest.raises(NeedsDecision) as needed:
            take_service_off_counter_1(None)
        proposed = {a.code: a.move_to for a in needed.value.affected}
        codes = {name: world.bookings[name].code for name in world.bookings}
        assert proposed == {
            codes["cs"]: None,
            codes["afternoon"]: "Counter 2",
            codes["next day"]: "Counter 2",
        }
        # Counter 1 still serves: nothing was saved.
        assert world.cells("afternoon")[0][0] == counters["Counter 1"]
        ids = {name: world.bookings[name].id for name in world.bookings}
        settled = take_service_off_counter_1(
            Decisions(
                {ids["cs"]: "cancel", ids["afternoon"]: "move", ids["next day"]: "move"},
                "Stanowisko nieczynne",
            )
        )
        mail_sent(app)
    assert sorted(settled.moved) == sorted([ids["afternoon"], ids["next day"]])
    assert settled.cancelled == [ids["cs"]]
    afternoon = world.booking("afternoon")
    assert afternoon.counter_id == counters["Counter 2"] and afternoon.active
    assert {counter for counter, _start in world.cells("afternoon")} == {counters["Counter 2"]}
    assert world.booking("cs").status == BookingStatus.CANCELLED
    [mail] = smtp.wait_for(1)
    assert (
        mail["To"] == "cs@example.cz"
        and "Stanowisko nieczynne" in mail.get_body(("plain",)).get_content()
    )


# --- Two managers at once ----------------------------------------------------------------


def test_two_managers_closing_and_shortening_at_once_strand_no_visit(
    any_app: Flask,
    make_office: MakeOffice,
    make_service: MakeService,
    make_booking: MakeBooking,
) -> None:
    """One shortens Wednesdays to 08:00-12:00, the other closes 2 December from 13:00; each
    saw the 14:00 visit their change takes away and chose to cancel it; both confirm at the
    same instant. One cancels it, the other finds nothing left to do: one mail, one entry."""
    with time_machine.travel(NOW, tick=False):
        world = booked_office(any_app, make_office, make_service, make_booking)
        other = make_account(any_app, "second-manager", Role.MANAGER, manages=[SLUG])
        second = session_of(any_app, other)
        hours_id = world.hours_id()
        shorter = world.manager.post(
            world.url(f"hours/{hours_id}"),
            data=world.hours_to_save(hours_id, wed=("08:00", "12:00")),
        )
        assert shorter.status_code == 200  # the affected bookings, to decide
        decide_hours = with_values(form_fields(shorter, "affected"), affected_reason="Krócej")
        token = csrf_token(second, world.url("closures"))
        closure = {"csrf_token": token, "first_day": DAY, "starts": "13:00", "ends": "16:00"}
        closing = second.post(world.url("closures"), data=closure)
        assert closing.status_code == 200
        decide_closure = with_values(form_fields(closing, "affected"), affected_reason="Awaria")
        afternoon = world.bookings["afternoon"]
        for decided in (decide_hours, decide_closure):
            assert decided[f"affected-{afternoon.id}"] == "cancel"
            assert len([k for k in decided if k.startswith("affected-") and k[9:].isdigit()]) == 1

        def attempt(i: int, _prepared: Any) -> Any:
            if i == 0:
                return world.manager.post(world.url(f"hours/{hours_id}"), data=decide_hours)
            return second.post(world.url("closures"), data=decide_closure)

        answers = race(2, attempt)
        assert [a.status_code for a in answers] == [302, 302], [
            a.get_data(as_text=True)[:2000] for a in answers
        ]
        with any_app.app_context(), unit_of_work() as session:
            office = session.scalar(select(Office).where(Office.slug == SLUG))
            assert office is not None
            assert stranded(session, office, NOW) == []
            assert len(office.closures) == 1
            statuses = dict(session.execute(select(Booking.code, Booking.status)).all())
            cancels = session.scalars(
                select(ChangeLog).where(
                    ChangeLog.record_type == "booking", ChangeLog.record_id == str(afternoon.id)
                )
            ).all()
            mails = session.scalar(
                select(func.count())
                .select_from(QueuedMail)
                .where(QueuedMail.booking_id == afternoon.id)
            )
    assert statuses[afternoon.code] == BookingStatus.CANCELLED
    assert len(cancels) == 1 and mails == 1
    others = [world.bookings[name].code for name in ("cs", "en", "next day")]
    assert all(statuses[code] == BookingStatus.BOOKED for code in others)


# --- The nights the clocks change --------------------------------------------------------


@pytest.mark.parametrize(
    ("night", "starts", "ends", "gone", "kept"),
    [
        # Autumn: 02:00-02:59 happens twice; closed 02:00-03:00 closes both.
        (
            "2026-10-25",
            "02:00",
            "03:00",
            {
                "02:00 +0200",
                "02:15 +0200",
                "02:30 +0200",
                "02:45 +0200",
                "02:00 +0100",
                "02:15 +0100",
                "02:30 +0100",
                "02:45 +0100",
            },
            {"01:45", "03:00"},
        ),
        # Spring: 02:00-02:59 never happens; closed 01:30-03:30 is one real hour.
        ("2026-03-29", "01:30", "03:30", {"01:30", "01:45", "03:00", "03:15"}, {"01:15", "03:30"}),
    ],
)
def test_a_part_day_closure_on_the_night_the_clocks_change(
    app: Flask,
    make_office: MakeOffice,
    make_service: MakeService,
    night: str,
    starts: str,
    ends: str,
    gone: set[str],
    kept: set[str],
) -> None:
    five_days_before = datetime.fromisoformat(night).replace(tzinfo=UTC) - timedelta(days=5)
    with time_machine.travel(five_days_before, tick=False):
        office = make_office(
            "nocny",
            timezone="Europe/Warsaw",
            hours={"sun": "00:00-06:00"},
            min_notice_minutes=0,
            public_holidays=False,
        )
        make_service(office, "noc", duration=15)
        account = make_account(app, "nocny-manager", Role.MANAGER, manages=["nocny"])
        manager = session_of(app, account)
        client = app.test_client()
        page = f"/o/nocny/noc/{night}?lang=en"
        before = set(labels(client.get(page)))
        assert gone | kept <= before, sorted(before)
        token = csrf_token(manager, "/admin/o/nocny/closures")
        done = manager.post(
            "/admin/o/nocny/closures",
            data={"csrf_token": token, "first_day": night, "starts": starts, "ends": ends},
        )
        assert done.status_code == 302, done.get_data(as_text=True)[:2000]
        after = set(labels(client.get(page)))
    assert before - after == gone
    assert kept <= after


def labels(response: Any) -> list[str]:
    return [label for _start, label in TIME_RE.findall(response.get_data(as_text=True))]


# --- The office file ---------------------------------------------------------------------


def test_the_office_file_closes_part_of_a_day_with_times_in_from_and_to(
    app: Flask, make_office: MakeOffice
) -> None:
    """Dates close whole days as before; a date and time in both "from" and "to" (a TOML
    local date-time, or the same as text) closes that part of each day."""
    made = make_office(
        "plik",
        closures=[
            {"from": "2026-12-24", "to": "2026-12-26", "reason": "Święta"},
            {
                "from": datetime(2026, 12, 31, 12),
                "to": datetime(2026, 12, 31, 16),
                "reason": "Sylwester",
            },
            {"from": "2027-01-04T07:30", "to": "2027-01-08T09:00"},
        ],
    )
    with app.app_context():
        rows = db.session.scalars(
            select(Closure).where(Closure.office_id == made.id).order_by(Closure.first_day)
        ).all()
        found = [
            (c.first_day.isoformat(), c.last_day.isoformat(), c.starts, c.ends, c.reason)
            for c in rows
        ]
    assert found == [
        ("2026-12-24", "2026-12-26", None, None, "Święta"),
        ("2026-12-31", "2026-12-31", time(12), time(16), "Sylwester"),
        ("2027-01-04", "2027-01-08", time(7, 30), time(9), ""),
    ]


@pytest.mark.parametrize(
    ("closure", "message"),
    [
        ({"from": "2026-12-31T12:00", "to": "2026-12-31"}, "give times in both"),
        ({"from": "2026-12-31T12:00"}, "give times in both"),
        ({"from": "2026-12-31T16:00", "to": "2026-12-31T12:00"}, "closes at 16:00:00 but reopens"),
        ({"from": "2026-12-31", "to": "2026-12-30"}, "before it begins"),
        ({"from": "2026-12-31T25:00", "to": "2026-12-31T26:00"}, "is not a date like"),
        ({"to": "2026-12-31"}, "'from' is needed"),
    ],
)
def test_the_office_file_says_what_is_wrong_with_a_closure(
    app: Flask, closure: dict[str, Any], message: str
) -> None:
    data = {
        "office": [
            {
                "slug": "plik-zly",
                "name": "Zły plik",
                "address": "ul. Testowa 1",
                "timezone": "Europe/Warsaw",
                "country": "PL",
                "closures": [closure],
            }
        ]
    }
    with app.app_context(), pytest.raises(OfficeConfigError, match=re.escape(message)):
        import_offices(db.session(), data)


def test_a_visit_booked_while_a_closure_is_saved_waits_for_it_and_is_refused(
    any_app: Flask,
    make_office: MakeOffice,
    make_service: MakeService,
    make_booking: MakeBooking,
) -> None:
    """The closure's transaction holds the office; a resident booking that day meanwhile
    waits for it (on PostgreSQL it is seen waiting on the lock), then reads the closure."""
    friday = "2026-12-04"
    with time_machine.travel(NOW, tick=False):
        booked_office(any_app, make_office, make_service, make_booking)
        resident = any_app.test_client()
        answers: list[Any] = []
        with any_app.app_context():
            session = db.session()
            office = session.scalar(select(Office).where(Office.slug == SLUG))
            assert office is not None
            lock_office(session, office)
            office.closures.append(
                Closure(first_day=date.fromisoformat(friday), last_day=date.fromisoformat(friday))
            )
            session.flush()
            booking = threading.Thread(
                target=lambda: answers.append(
                    book_form(resident, SLUG, "paszport", start("10:00", friday))
                )
            )
            booking.start()
            if db.engine.dialect.name == "postgresql":
                wait_until(lambda: waiting_on_a_lock(), message="the booking never waited")
            session.commit()
            booking.join(TIMEOUT)
        [answer] = answers
        assert answer.status_code == 422, answer.get_data(as_text=True)[:2000]
        with any_app.app_context():
            assert not db.session.scalars(
                select(Booking).where(
                    Booking.starts_at == datetime.fromisoformat(start("10:00", friday))
                )
            ).all()


def waiting_on_a_lock() -> bool:
    with db.engine.connect() as connection:
        waiting = connection.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND wait_event_type = 'Lock'"
            )
        ).scalar()
    return bool(waiting)
