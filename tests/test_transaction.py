"""One unit of work: what waits for the commit runs after it, once, and never for changes
that were rolled back; a savepoint's rollback inside the unit does not lose it.

Mail goes through the real outbox to the file outbox (no MAIL_SERVER), so a mail that
went out is a file on disk (once the app's mail sender has run).
"""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from okienko import outbox
from okienko.database import db, utcnow
from okienko.mail import build_message
from okienko.models import QueuedMail
from okienko.transaction import after_commit, unit_of_work
from tests.helpers import mailbox


class Boom(Exception):
    pass


def message(subject: str) -> EmailMessage:
    return build_message(
        "Okienko <no-reply@okienko.local>", "jan@example.com", subject, "Text.", None, ()
    )


def sent_files(app: Flask) -> list[Path]:
    mailbox.mail_sent(app)
    return sorted(Path(app.config["MAIL_OUTBOX"]).glob("*.eml"))


def queued(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(QueuedMail.id))) or 0


def test_after_commit_runs_once_after_the_commit(app: Flask) -> None:
    ran: list[str] = []
    with app.app_context():
        with unit_of_work() as session:
            after_commit(session, lambda: ran.append("after"))
            assert ran == []  # not before the commit
        assert ran == ["after"]
        with unit_of_work():
            pass
        assert ran == ["after"]  # not again with the next unit


def test_a_rolled_back_unit_runs_nothing_and_keeps_nothing(app: Flask) -> None:
    ran: list[str] = []
    with app.app_context():
        with pytest.raises(Boom), unit_of_work() as session:
            outbox.post(session, message("Rolled back"), utcnow())
            after_commit(session, lambda: ran.append("after"))
            raise Boom
        with unit_of_work():  # the next unit does not inherit the forgotten actions
            pass
    assert ran == []
    assert queued(app) == 0 and sent_files(app) == []


def test_mail_posted_in_a_unit_is_sent_after_its_commit(app: Flask) -> None:
    with app.app_context(), unit_of_work() as session:
        outbox.post(session, message("Committed"), utcnow())
        assert sent_files(app) == []  # still inside the transaction
    [sent] = sent_files(app)
    assert "Subject: Committed" in sent.read_text()
    with app.app_context():
        [row] = db.session.scalars(select(QueuedMail)).all()
        assert row.sent_at is not None


def test_a_savepoint_rolled_back_inside_the_unit_keeps_what_waits_for_the_commit(
    app: Flask,
) -> None:
    """As when a booking loses a counter to a competitor and tries the next one."""
    with app.app_context(), unit_of_work() as session:
        outbox.post(session, message("Before the savepoint"), utcnow())
        with pytest.raises(Boom), session.begin_nested():
            raise Boom
    [sent] = sent_files(app)
    assert "Subject: Before the savepoint" in sent.read_text()
