"""The mail sender (``okienko.sender``): what a request queued goes out in the background,
once, however the sender races the scheduler's mail job; a failure does not stop it; and
each gunicorn worker starts its own, after the fork.

How a booking answers before its mail goes out: tests/test_mail.py.
"""

from __future__ import annotations

import email
import threading
from concurrent.futures import ThreadPoolExecutor
from email import policy
from email.message import EmailMessage
from pathlib import Path

import requests
from flask import Flask
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from okienko import outbox
from okienko.database import db, utcnow
from okienko.mail import build_message
from okienko.models import QueuedMail
from okienko.sender import sender_for
from okienko.transaction import unit_of_work
from tests.helpers.live_floor import gunicorn_servers
from tests.helpers.logs import Records
from tests.helpers.mailbox import HeldMailbox, Mailbox, mail_sent
from tests.helpers.payloads import booking_payload
from tests.helpers.waiting import wait_until


def use_smtp(app: Flask, port: int) -> None:
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port)


def message(to: str) -> EmailMessage:
    return build_message("Okienko <no-reply@okienko.local>", to, "Hello", "Text.")


def queued(app: Flask) -> list[tuple[str, bool, int]]:
    with app.app_context():
        rows = db.session.scalars(select(QueuedMail).order_by(QueuedMail.id))
        return [(r.recipient, r.sent_at is not None, r.attempts) for r in rows]


def test_each_mail_goes_out_once_while_the_sender_and_two_mail_jobs_race(any_app: Flask) -> None:
    """The server holds the first mails until three are at it at once: one from each sender,
    so the sender and both runs of the job are sending side by side; then they race for
    the rest, mail by mail."""
    app = any_app
    box = HeldMailbox()
    box.controller.start()
    use_smtp(app, box.port)
    recipients = [f"r{i}@example.com" for i in range(30)]
    begin = threading.Barrier(3)

    def mail_job() -> int:
        begin.wait()
        with app.app_context(), Session(db.engine) as session:
            return outbox.send_due(session, app.config)

    try:
        with ThreadPoolExecutor(2) as pool:
            jobs = [pool.submit(mail_job) for _ in range(2)]
            with app.app_context(), unit_of_work() as session:
                for to in recipients:
                    outbox.post(session, message(to), utcnow())
            begin.wait()  # committed: the sender is woken, and both jobs start with it
            box.wait_reached(3)
            box.release.set()
            for job in jobs:
                job.result()
        mail_sent(app)
    finally:
        box.release.set()
        box.controller.stop()
    assert sorted(m["To"] for m in box.messages) == sorted(recipients)
    assert queued(app) == [(to, True, 1) for to in recipients]


def test_the_sender_logs_a_failure_and_goes_on(any_app: Flask, smtp: Mailbox) -> None:
    """The mail queue unreadable for a moment (here: its table renamed away) fails one run;
    the next wake sends the mail."""
    app = any_app
    use_smtp(app, smtp.port)
    with app.app_context():
        with unit_of_work() as session:
            outbox.enqueue(session, message("jan@example.com"), utcnow())  # no wake yet
        with db.engine.begin() as connection:
            connection.execute(text("ALTER TABLE queued_mail RENAME TO queued_mail_away"))
    with Records() as records:
        sender_for(app).wake()
        mail_sent(app)
    assert any("mail sender failed" in r.getMessage() for r in records)
    with app.app_context(), db.engine.begin() as connection:
        connection.execute(text("ALTER TABLE queued_mail_away RENAME TO queued_mail"))
    assert smtp.messages == []
    sender_for(app).wake()
    mail_sent(app)
    assert [m["To"] for m in smtp.messages] == ["jan@example.com"]


def test_a_gunicorn_worker_sends_its_bookings_mail(any_app: Flask, tmp_path: Path) -> None:
    """The production workers (evented: gevent has patched threading), and no scheduler:
    only the worker's own sender, started after the fork, can send the confirmation."""
    log = tmp_path / "gunicorn.log"
    with gunicorn_servers(
        any_app.config["SQLALCHEMY_DATABASE_URI"],
        [log],
        secret_key=any_app.config["SECRET_KEY"],
        folder=tmp_path,
        workers=2,
        redis=None,
    ) as [server]:
        days = requests.get(
            f"{server.base}/api/v1/offices/koszalin-zbm/services/raty/availability", timeout=60
        ).json()["days"]
        start = next(s for d in days for s in d["starts"])
        created = requests.post(
            f"{server.base}/api/v1/bookings", json=booking_payload(start), timeout=60
        )
        assert created.status_code == 201, created.text
        wait_until(
            lambda: queued(any_app) == [("ewa@example.com", True, 1)],
            message=lambda: f"the confirmation was not sent: {queued(any_app)}",
        )
    [path] = (tmp_path / "outbox").glob("*.eml")
    mail = email.message_from_bytes(path.read_bytes(), policy=policy.default)
    assert created.json()["manage_url"] in mail.get_body(("plain",)).get_content()
    assert "Traceback" not in log.read_text()
