"""Scheduled work: reminders, no-shows, day close, retention and mail retries, exactly once.

Each job is run with the clock moved by time-machine, around the days the clocks
change and around local midnight. Mails go to a real SMTP server (aiosmtpd).
Two real scheduler processes at once still send each reminder once.
"""

from __future__ import annotations

import dataclasses
import os
import pickle
import re
import subprocess
import sys
import threading
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import icalendar
import pytest
import time_machine
from flask import Flask
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from booking import tasks
from booking.models import (
    AdmissionCheck,
    Booking,
    BookingSlot,
    BookingStatus,
    BookingToken,
)
from okienko import outbox, scheduler
from okienko.database import db, utcnow
from okienko.models import QueuedMail
from queueing.models import AuditEntry, Ticket, TicketKind, TicketStatus
from tests.helpers.floor import (
    KOSZALIN,
    Clerk,
    check_in,
    signed_in_device,
    take_number,
    ticket_id_of,
)
from tests.helpers.forms import book_form, csrf_token, local_start, manage_token
from tests.helpers.mailbox import Mailbox, mail_sent
from tests.helpers.mailbox import outbox as outbox_files
from tests.helpers.waiting import wait_until

ROOT = Path(__file__).resolve().parent.parent
PLZEN, FLATS = "plzen-kontaktni-misto", "volne-byty"  # Mon and Wed 8-17, 30-minute visits
PRAGUE, WARSAW = "Europe/Prague", "Europe/Warsaw"
SUBJECTS = {"cs": "Připomínka", "pl": "Przypomnienie", "en": "Reminder"}


def at(day: str, clock: str, zone: str = PRAGUE) -> datetime:
    return datetime.fromisoformat(local_start(day, clock, zone))


def use_smtp(app: Flask, port: int) -> None:
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port)


def run(app: Flask, job: str, now: datetime) -> int:
    """One run of a scheduled job, as the scheduler makes it, at ``now``."""
    with time_machine.travel(now, tick=False):
        scheduler._app = app
        return scheduler.run_job(job)


def book(app: Flask, day: str, clock: str, language: str, email: str, when: datetime) -> str:
    with time_machine.travel(when, tick=False):
        response = book_form(
            app.test_client(),
            PLZEN,
            FLATS,
            local_start(day, clock, PRAGUE),
            language=language,
            email=email,
        )
        mail_sent(app)  # the confirmation, at the booking's time
    return manage_token(response)


def reminders(mailbox: Mailbox) -> list[Any]:
    return [m for m in mailbox.messages if any(w in m["Subject"] for w in SUBJECTS.values())]


# ---------------------------------------------------------------- reminders


@pytest.mark.parametrize(
    ("visit_day", "due_utc"),
    [
        # Monday after the spring change: Sunday 16:00 is CEST, 14:00 UTC.
        ("2026-03-30", datetime(2026, 3, 29, 14, 0, tzinfo=UTC)),
        # Monday after the autumn change: Sunday 16:00 is CET again, 15:00 UTC.
        ("2026-10-26", datetime(2026, 10, 25, 15, 0, tzinfo=UTC)),
    ],
)
def test_reminders_go_out_once_at_the_local_time_the_day_before(
    app: Flask, smtp: Mailbox, visit_day: str, due_utc: datetime
) -> None:
    use_smtp(app, smtp.port)
    booked_on = due_utc - timedelta(days=5)
    tokens = {
        lang: book(app, visit_day, clock, lang, f"{lang}@example.com", booked_on)
        for lang, clock in (("cs", "10:00"), ("pl", "10:00"), ("en", "10:30"))
    }
    assert len(smtp.messages) == 3  # the confirmations
    assert run(app, "reminders", due_utc - timedelta(minutes=1)) == 0
    assert run(app, "reminders", due_utc) == 3
    assert run(app, "reminders", due_utc + timedelta(minutes=5)) == 0  # claimed: never again
    sent = reminders(smtp)
    assert sorted(m["To"] for m in sent) == ["cs@example.com", "en@example.com", "pl@example.com"]
    for message in sent:
        lang = message["To"].split("@")[0]
        assert SUBJECTS[lang] in message["Subject"]
        text = message.get_body(("plain",)).get_content()
        assert "Průkaz totožnosti" in text if lang == "cs" else True
        [part] = [p for p in message.iter_attachments() if p.get_content_type() == "text/calendar"]
        [event] = icalendar.Calendar.from_ical(part.get_content()).walk("VEVENT")
        assert event.DTSTART.date().isoformat() == visit_day
        # A link of its own to the booking's page.
        [link] = re.findall(r"http://testserver/manage/([\w-]+)", text)
        assert link != tokens[lang]
        assert app.test_client().get(f"/manage/{link}").status_code == 200


def test_a_reminder_claimed_by_another_scheduler_meanwhile_is_not_sent_again(
    any_app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The other scheduler claims the booking between this one's listing and its claim."""
    app = any_app
    book(app, "2026-11-25", "10:00", "pl", "jan@example.com", at("2026-11-20", "09:00"))
    listed = tasks.due_reminders

    def listed_then_claimed_elsewhere(session: Any, now: datetime) -> list[Any]:
        due = listed(session, now)
        assert len(due) == 1
        with db.engine.begin() as other:  # another process's own connection and transaction
            other.execute(
                update(Booking)
                .where(Booking.id.in_([i for i, _start in due]), Booking.reminder_sent_at.is_(None))
                .values(reminder_sent_at=utcnow())
            )
        return due

    monkeypatch.setattr(tasks, "due_reminders", listed_then_claimed_elsewhere)
    assert run(app, "reminders", at("2026-11-24", "16:30")) == 0
    with app.app_context():
        reminders_queued = db.session.scalar(
            select(func.count(QueuedMail.id)).where(QueuedMail.subject.like("%jutro%"))
        )
        assert reminders_queued == 0


def test_a_reminder_not_sent_by_midnight_is_not_sent_on_the_day_of_the_visit(
    app: Flask, smtp: Mailbox
) -> None:
    """The scheduler was down all evening: at 00:05 on the visit day "tomorrow" would be
    wrong, and the resident has the confirmation. A minute before midnight it still goes."""
    use_smtp(app, smtp.port)
    book(app, "2026-11-25", "08:00", "pl", "jan@example.com", at("2026-11-20", "09:00"))
    book(app, "2026-11-30", "08:00", "pl", "ola@example.com", at("2026-11-20", "09:00"))
    assert run(app, "reminders", at("2026-11-25", "00:05")) == 0
    assert run(app, "reminders", at("2026-11-29", "23:59")) == 1
    assert [m["To"] for m in reminders(smtp)] == ["ola@example.com"]


def test_a_booking_made_after_its_reminder_time_gets_none_and_cancelled_ones_none(
    app: Flask, smtp: Mailbox
) -> None:
    use_smtp(app, smtp.port)
    late = book(app, "2026-11-25", "10:00", "pl", "late@example.com", at("2026-11-24", "17:00"))
    assert late
    early = book(app, "2026-11-25", "11:00", "pl", "early@example.com", at("2026-11-20", "09:00"))
    client = app.test_client()
    with time_machine.travel(at("2026-11-21", "09:00"), tick=False):
        field = csrf_token(client, f"/manage/{early}/cancel")
        client.post(f"/manage/{early}/cancel", data={"csrf_token": field})
        mail_sent(app)
    assert run(app, "reminders", at("2026-11-24", "18:00")) == 0
    assert reminders(smtp) == []


def test_the_reminder_asks_for_the_admission_check_under_the_regime(app: Flask) -> None:
    with time_machine.travel(datetime(2026, 11, 20, 9, tzinfo=UTC), tick=False):
        token = manage_token(
            book_form(
                app.test_client(),
                "bytom-zielna",
                "raty-umorzenia",
                local_start("2026-11-25", "10:00", WARSAW),
            )
        )
    assert token
    assert run(app, "reminders", at("2026-11-24", "16:00", WARSAW)) == 1
    [reminder] = [m for m in outbox_files(app) if "Przypomnienie" in m["Subject"]]
    assert "/admission" in reminder.get_body(("plain",)).get_content()


# ---------------------------------------------------------------- no-shows


def test_a_visit_not_checked_in_becomes_a_no_show_and_frees_the_rest_of_its_time(
    app: Flask,
) -> None:
    # Koszalin: working off arrears takes 45 minutes, three 15-minute cells; check-in closes
    # 15 minutes after the start. Monday after the autumn clock change.
    body = {
        "office": KOSZALIN,
        "service": "odpracowanie",
        "name": "Ewa Nowak",
        "email": "ewa@example.com",
        "consent": True,
    }
    with time_machine.travel(datetime(2026, 10, 20, 9, tzinfo=UTC), tick=False):
        client = app.test_client()
        missed = client.post(
            "/api/v1/bookings", json={**body, "start": local_start("2026-10-26", "10:00", WARSAW)}
        )
        came = client.post(
            "/api/v1/bookings",
            json={
                **body,
                "email": "jan@example.com",
                "start": local_start("2026-10-26", "10:00", WARSAW),
            },
        )
        assert missed.status_code == came.status_code == 201
    with time_machine.travel(at("2026-10-26", "09:50", WARSAW), tick=False):
        kiosk = signed_in_device(app)

        assert check_in(kiosk, came.get_json()["code"]).status_code == 302
    assert run(app, "no_shows", at("2026-10-26", "10:15", WARSAW)) == 0  # still in the window
    assert run(app, "no_shows", at("2026-10-26", "10:16", WARSAW)) == 1
    assert run(app, "no_shows", at("2026-10-26", "10:20", WARSAW)) == 0
    with app.app_context():
        rows = {b.code: b for b in db.session.scalars(select(Booking))}
        gone = rows[missed.get_json()["code"]]
        assert gone.status == BookingStatus.NO_SHOW
        cells = db.session.scalars(
            select(BookingSlot.starts_at).where(BookingSlot.booking_id == gone.id)
        ).all()
        # 10:00 and 10:15 have passed; 10:30 is free for a walk-in or a booking again.
        assert sorted(c.astimezone(UTC).time().isoformat() for c in cells) == [
            "09:00:00",
            "09:15:00",
        ]
        assert rows[came.get_json()["code"]].status == BookingStatus.BOOKED


def test_a_no_show_waits_for_a_check_in_in_progress(any_app: Flask) -> None:
    """A kiosk is checking the visit in (its transaction holds the booking) when the
    no-show job comes: the job waits, sees the ticket, and leaves the booking alone."""
    app = any_app
    body = {
        "office": KOSZALIN,
        "service": "raty",
        "name": "Ewa Nowak",
        "email": "ewa@example.com",
        "consent": True,
        "start": local_start("2026-11-25", "10:00", WARSAW),
    }
    with time_machine.travel(datetime(2026, 11, 20, 9, tzinfo=UTC), tick=False):
        made = app.test_client().post("/api/v1/bookings", json=body).get_json()
    results: list[int] = []
    with time_machine.travel(at("2026-11-25", "10:20", WARSAW), tick=False), app.app_context():
        kiosk = Session(db.engine)
        booking = kiosk.scalars(
            select(Booking).where(Booking.code == made["code"]).with_for_update()
        ).one()
        kiosk.add(
            Ticket(
                office_id=booking.office_id,
                service_id=booking.service_id,
                booking_id=booking.id,
                day=date(2026, 11, 25),
                prefix="R",
                number=1,
                kind=TicketKind.APPOINTMENT,
                queued_at=booking.starts_at,
                issued_at=utcnow(),
                calls=0,
            )
        )
        kiosk.flush()
        scheduler._app = app
        job = threading.Thread(target=lambda: results.append(scheduler.run_job("no_shows")))
        job.start()
        job.join(2)
        assert job.is_alive()  # waiting for the kiosk's transaction
        kiosk.commit()
        kiosk.close()
        job.join(60)
    assert results == [0]
    with app.app_context():
        status = db.session.scalar(select(Booking.status).where(Booking.code == made["code"]))
        assert status == BookingStatus.BOOKED


# ---------------------------------------------------------------- day close


def test_the_day_closes_at_closing_time_and_leftovers_at_local_midnight(app: Flask) -> None:
    wednesday = "2026-11-25"  # Koszalin closes at 15:15
    with time_machine.travel(at(wednesday, "14:00", WARSAW), tick=False):
        kiosk = signed_in_device(app)
        served = ticket_id_of(take_number(kiosk))  # first in line: the clerk calls it
        waiting = ticket_id_of(take_number(kiosk))
        clerk = Clerk(app, "anna", "Stanowisko 1")
        assert clerk.call_next().status_code == 200
    assert run(app, "day_close", at(wednesday, "15:14", WARSAW)) == 0
    assert run(app, "day_close", at(wednesday, "15:16", WARSAW)) == 1
    with app.app_context():
        first = db.session.get(Ticket, waiting)
        assert (first.status, first.closed_reason) == (TicketStatus.CANCELLED, "day closed")
        # Still at the counter at closing time: the clerk finishes it.
        assert db.session.get(Ticket, served).status == TicketStatus.CALLED
    # 23:59 in Koszalin is still Wednesday; a minute after local midnight it is not.
    assert run(app, "day_close", at(wednesday, "23:59", WARSAW)) == 0
    assert run(app, "day_close", at("2026-11-26", "00:01", WARSAW)) == 1
    with app.app_context():
        assert db.session.get(Ticket, served).status == TicketStatus.CANCELLED
        actions = db.session.scalars(
            select(AuditEntry.action).where(AuditEntry.ticket_id.in_([waiting, served]))
        ).all()
        assert actions.count("day_close") == 2
    with time_machine.travel(at("2026-11-26", "07:30", WARSAW), tick=False):
        morning = ticket_id_of(take_number(signed_in_device(app)))
        # The counter is free again and numbers start at 1.
        assert Clerk(app, "anna", "Stanowisko 1").call_next().status_code == 200
    with app.app_context():
        assert db.session.get(Ticket, morning).number == 1


def test_the_day_closes_on_the_day_the_clocks_go_back(app: Flask) -> None:
    friday = "2026-10-23"
    with time_machine.travel(at(friday, "10:00", WARSAW), tick=False):
        ticket = ticket_id_of(take_number(signed_in_device(app)))
    # The scheduler was down from Friday noon; it comes back on Sunday, 02:30 the second time.
    assert run(app, "day_close", datetime(2026, 10, 25, 1, 30, tzinfo=UTC)) == 1
    with app.app_context():
        assert db.session.get(Ticket, ticket).status == TicketStatus.CANCELLED


# ---------------------------------------------------------------- retention


def test_old_bookings_are_anonymised_and_the_counts_stay(app: Flask) -> None:
    old = book(app, "2026-03-30", "10:00", "pl", "old@example.com", at("2026-03-20", "09:00"))
    recent = book(app, "2026-06-29", "10:00", "pl", "new@example.com", at("2026-06-20", "09:00"))
    with app.app_context():
        db.session.add(
            AdmissionCheck(office_id=1, place="kiosk", admitted=True, at=at("2026-06-10", "09:00"))
        )
        db.session.commit()
        before = db.session.execute(
            select(Booking.status, func.count()).group_by(Booking.status)
        ).all()
    # 90 days after the first visit, not yet the second.
    assert run(app, "retention", at("2026-06-29", "12:00")) == 1
    assert run(app, "retention", at("2026-06-29", "13:00")) == 0
    with app.app_context():
        rows = db.session.scalars(select(Booking).order_by(Booking.starts_at)).all()
        erased, kept = rows
        assert (erased.name, erased.email, erased.phone) == ("", None, None)
        assert erased.anonymized_at is not None and erased.code
        assert kept.email == "new@example.com"
        assert (
            db.session.scalar(
                select(func.count(QueuedMail.id)).where(QueuedMail.booking_id == erased.id)
            )
            == 0
        )
        assert (
            db.session.scalar(
                select(func.count(BookingToken.id)).where(BookingToken.booking_id == erased.id)
            )
            == 0
        )
        after = db.session.execute(
            select(Booking.status, func.count()).group_by(Booking.status)
        ).all()
        assert before == after  # the reports' counts
        assert db.session.scalar(select(func.count(AdmissionCheck.id))) == 0  # 14 days
    assert app.test_client().get(f"/manage/{old}").status_code == 404
    assert app.test_client().get(f"/manage/{recent}").status_code == 200


def test_retention_counts_whole_days_across_the_clock_change(app: Flask) -> None:
    """A visit ending on Friday 27 March (CET) is erased 90 days later in June (CEST),
    to the minute in UTC: not a minute before."""
    book(app, "2026-03-25", "10:00", "pl", "old@example.com", at("2026-03-20", "09:00"))
    ends = at("2026-03-25", "10:30")
    assert run(app, "retention", ends + timedelta(days=90, minutes=-1)) == 0
    assert run(app, "retention", ends + timedelta(days=90, minutes=1)) == 1


# ---------------------------------------------------------------- mail retries


def test_mail_waits_for_the_server_and_arrives_once(app: Flask) -> None:
    box = Mailbox()  # its port is chosen, but nothing listens yet: the server is down
    use_smtp(app, box.port)
    tokens = [
        book(app, "2026-11-25", clock, "pl", f"r{i}@example.com", at("2026-11-20", "09:00"))
        for i, clock in enumerate(("10:00", "10:30", "11:00"))
    ]
    assert all(tokens)
    with app.app_context():
        queued = db.session.scalars(select(QueuedMail)).all()
        assert [(m.attempts, m.sent_at) for m in queued] == [(1, None)] * 3
    box.controller.start()
    try:
        # Not due yet: the first retry waits a minute.
        assert run(app, "mail", at("2026-11-20", "09:00:30")) == 0
        assert run(app, "mail", at("2026-11-20", "09:01:30")) == 3
        assert run(app, "mail", at("2026-11-20", "09:30")) == 0
    finally:
        box.controller.stop()
    assert sorted(m["To"] for m in box.messages) == [f"r{i}@example.com" for i in range(3)]


def test_a_mail_that_never_goes_out_is_shown_to_staff_and_can_be_sent_again(app: Flask) -> None:
    box = Mailbox()
    use_smtp(app, box.port)
    book(app, "2026-11-25", "10:00", "cs", "ewa@example.cz", at("2026-11-20", "09:00"))
    now = at("2026-11-20", "09:00")
    for _ in range(outbox.MAX_ATTEMPTS):
        now += timedelta(hours=1)
        run(app, "mail", now)
    with app.app_context():
        [mail] = db.session.scalars(select(QueuedMail)).all()
        assert mail.failed_at is not None and mail.attempts == outbox.MAX_ATTEMPTS
        assert "Connection refused" in mail.last_error or "Errno" in mail.last_error
    with time_machine.travel(now, tick=False):
        clerk = Clerk(app, "petra", "Přepážka 1", office=PLZEN)
        page = clerk.client.get("/counter/").get_data(as_text=True)
        assert f'data-mail="{mail.id}"' in page and "ewa@example.cz" in page
        box.controller.start()
        try:
            assert clerk.post(f"/counter/mail/{mail.id}/retry").status_code == 200
            mail_sent(app)  # the retry wakes the sender: no waiting for the mail job
            assert run(app, "mail", now + timedelta(seconds=1)) == 0  # nothing left to send
        finally:
            box.controller.stop()
    assert [m["To"] for m in box.messages] == ["ewa@example.cz"]


# ---------------------------------------------------------------- the scheduler itself


def scheduler_env(app: Flask, smtp_port: int) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
        SECRET_KEY=app.config["SECRET_KEY"],
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=str(smtp_port),
        PUBLIC_URL="http://testserver",
        SCHEDULER_IN_PROCESS="false",
    )
    return env


def stored_next_run(app: Flask, job: str, table: str = scheduler.JOBSTORE_TABLE) -> datetime | None:
    """When the job store ``table`` says ``job`` runs next (None: not stored, or no table yet)."""
    with app.app_context(), db.engine.connect() as connection:
        try:
            value = connection.execute(
                text(f"SELECT next_run_time FROM {table} WHERE id = :job"), {"job": job}
            ).scalar()
        except DBAPIError:  # a scheduler process that has not created its table yet
            return None
    return None if value is None else datetime.fromtimestamp(value, UTC)


def test_two_scheduler_processes_send_each_reminder_once(any_app: Flask, smtp: Mailbox) -> None:
    """Started twice by mistake: both run the reminders at once, each reminder arrives once.

    Each process keeps its jobs in a table of its own, so both run every job as they
    start, a second apart, while the first is still working through 30 reminders.
    """
    app = any_app
    use_smtp(app, smtp.port)
    clocks = [f"{8 + i // 4}:{'00' if i % 4 < 2 else '30'}" for i in range(30)]
    for i, clock in enumerate(clocks):
        book(
            app, "2026-10-26", clock.zfill(5), "cs", f"r{i}@example.com", at("2026-10-20", "09:00")
        )
    now = datetime(2026, 10, 25, 15, 30, tzinfo=UTC)  # after Sunday's 16:00 CET
    env = scheduler_env(app, smtp.port)
    script = str(ROOT / "tests" / "scheduler_at.py")
    tables = [f"apscheduler_jobs_{i}" for i in range(2)]
    children = [
        subprocess.Popen([sys.executable, script, now.isoformat(), table], env=env, cwd=ROOT)
        for table in tables
    ]
    try:
        # Both processes have taken up the reminders run: each has moved its next run on by
        # the job's interval (first stored as "at once", a few seconds after ``now``).
        moved_on = now + timedelta(seconds=scheduler.JOBS["reminders"].every.total_seconds() / 2)
        for table in tables:
            wait_until(
                lambda table=table: (stored_next_run(app, "reminders", table) or now) > moved_on,
                timeout=120,
                message=f"the scheduler with {table} did not run the reminders",
            )
        wait_until(
            lambda: len(reminders(smtp)) >= len(clocks),
            timeout=120,
            message=lambda: f"{len(reminders(smtp))} of {len(clocks)} reminders arrived",
        )
    finally:
        # SIGTERM: each process lets its running jobs finish, so whatever either would
        # send has been sent when both have exited.
        for child in children:
            child.terminate()
        for child in children:
            assert child.wait(60) == 0
    sent = sorted(m["To"] for m in reminders(smtp))
    assert sent == sorted(f"r{i}@example.com" for i in range(len(clocks)))


def test_a_run_missed_while_the_scheduler_was_down_is_made_up_once(app: Flask) -> None:
    """Jobs are kept in the database with their schedule: a restart before a job's next
    time runs nothing early; after a long stop the missed runs are made up once.

    The hourly job's times are fixed by its first run (r0 + k hours, r0 a moment after
    ``start``). Each restart lands well between two of them, so what is due does not
    depend on how many milliseconds a start takes; and each check reads what the job
    store holds once the scheduler has stopped, rather than waiting a while.
    """
    runs: list[str] = []
    original = dict(scheduler.collect(app))
    for name, planned in original.items():
        scheduler.JOBS[name] = dataclasses.replace(
            planned, work=lambda s, n, c, name=name: runs.append(name) or 0
        )
    others = [name for name in original if name != "retention"]  # all due every few minutes
    start = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
    try:
        with time_machine.travel(start, tick=True):
            scheduler.start(app)
            wait_until(lambda: "retention" in runs, message="a new job did not run at once")
            scheduler.stop(app)  # lets a run under way finish and its next time be stored
        assert runs.count("retention") == 1
        first_next = stored_next_run(app, "retention")
        assert start + timedelta(hours=1) <= first_next < start + timedelta(hours=1, minutes=1)

        # Back after ten minutes: the hourly job is not due, and does not run; the others,
        # overdue, run once at once, in the same pass over the job store.
        before = {name: runs.count(name) for name in others}
        with time_machine.travel(start + timedelta(minutes=10), tick=True):
            scheduler.start(app)
            wait_until(
                lambda: all(runs.count(name) > before[name] for name in others),
                message=lambda: f"the overdue jobs did not run on restart: {runs}",
            )
            scheduler.stop(app)
        assert runs.count("retention") == 1
        assert stored_next_run(app, "retention") == first_next

        # Down for three and a half hours: three runs missed, made up by one, at once; the
        # next comes an hour after the last missed time.
        with time_machine.travel(start + timedelta(hours=3, minutes=30), tick=True):
            scheduler.start(app)
            wait_until(lambda: runs.count("retention") == 2, message="no run was made up")
            scheduler.stop(app)
        assert runs.count("retention") == 2
        following = stored_next_run(app, "retention") - (first_next + timedelta(hours=3))
        assert abs(following) < timedelta(milliseconds=1)  # kept as a float timestamp
    finally:
        scheduler.JOBS.update(original)


def test_a_job_stored_under_a_function_path_that_is_gone_is_stored_afresh(app: Flask) -> None:
    """Job stores kept from before the scheduler moved (``booking.scheduler:run_job``,
    today ``okienko.scheduler:run_job``): the scheduler still starts, and runs the job."""
    runs: list[str] = []
    original = dict(scheduler.collect(app))
    for name, planned in original.items():
        scheduler.JOBS[name] = dataclasses.replace(
            planned, work=lambda s, n, c, name=name: runs.append(name) or 0
        )
    start = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
    table = scheduler.JOBSTORE_TABLE

    def stored_function() -> str:
        with app.app_context(), db.engine.connect() as connection:
            state = connection.execute(
                text(f"SELECT job_state FROM {table} WHERE id = 'retention'")
            ).scalar_one()
        return pickle.loads(state)["func"]

    try:
        with time_machine.travel(start, tick=True):
            scheduler.start(app)
            wait_until(lambda: "retention" in runs, message="a new job did not run at once")
            scheduler.stop(app)
        assert stored_function() == "okienko.scheduler:run_job"
        with app.app_context(), db.engine.begin() as connection:
            state = pickle.loads(
                connection.execute(
                    text(f"SELECT job_state FROM {table} WHERE id = 'retention'")
                ).scalar_one()
            )
            state["func"] = "booking.scheduler:run_job"
            connection.execute(
                text(f"UPDATE {table} SET job_state = :state WHERE id = 'retention'"),
                {"state": pickle.dumps(state, pickle.HIGHEST_PROTOCOL)},
            )
        with time_machine.travel(start + timedelta(minutes=10), tick=True):
            scheduler.start(app)
            wait_until(lambda: runs.count("retention") == 2, message="the job did not run")
            scheduler.stop(app)
        assert stored_function() == "okienko.scheduler:run_job"
    finally:
        scheduler.JOBS.update(original)
