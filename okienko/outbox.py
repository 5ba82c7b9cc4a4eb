"""The mail queue: every mail is stored first, then sent; one that fails is tried again.

A mail is queued in the transaction that decided to send it (a reminder
claimed, a booking made), so it is never lost and never queued twice. A
sender claims it with a conditional UPDATE for ``LEASE`` before it talks to
the server, so two senders (two scheduler processes, a web worker's mail
sender and the scheduler) never send the same mail. A send that fails waits
``backoff`` and is tried again, up to ``MAX_ATTEMPTS``; then the mail is
marked failed and shown to staff on the counter page.
"""

from __future__ import annotations

import email
import email.policy
import time
from collections.abc import Mapping
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any

from flask import current_app
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from . import sender
from .database import rows_changed, utcnow
from .mail import deliver
from .models import QueuedMail
from .transaction import after_commit

MAX_ATTEMPTS = 8
LEASE = timedelta(minutes=5)  # far longer than an SMTP conversation with a 30 s timeout
BUDGET = 120.0  # seconds one run of the queue may take, well inside a lease


def backoff(attempts: int) -> timedelta:
    """1, 2, 4 … minutes after each failure, at most an hour: about 3 hours over 8 tries."""
    return timedelta(minutes=min(2 ** (attempts - 1), 60))


def enqueue(
    session: Session,
    message: EmailMessage,
    now: datetime,
    office_id: int | None = None,
    booking_id: int | None = None,
) -> QueuedMail:
    row = QueuedMail(
        office_id=office_id,
        booking_id=booking_id,
        recipient=str(message["To"])[:254],
        subject=str(message["Subject"])[:300],
        message=bytes(message),
        created_at=now,
        attempts=0,
        next_attempt_at=now,
    )
    session.add(row)
    session.flush()
    return row


def post(
    session: Session,
    message: EmailMessage,
    now: datetime,
    office_id: int | None = None,
    booking_id: int | None = None,
) -> QueuedMail:
    """Queue ``message`` in the caller's unit of work, to be sent soon after its commit.

    Queued with the change that decided to send it, so it is never lost and never
    sent for a change that was rolled back. After the commit the process's mail
    sender (``okienko.sender``) sends it, off the request; if the server does not
    answer then, or the process ends first, the scheduler's mail job sends it.
    """
    row = enqueue(session, message, now, office_id, booking_id)
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    after_commit(session, sender.sender_for(app).wake)
    return row


def claim(session: Session, mail_id: int) -> bool:
    """Take the mail for sending if it is due and nobody holds it; commits the claim.

    The clock is read here, not when the caller started: a long run must not hand
    out leases that have already run out.
    """
    now = utcnow()
    claimed = rows_changed(
        session.execute(
            update(QueuedMail)
            .where(
                QueuedMail.id == mail_id,
                QueuedMail.sent_at.is_(None),
                QueuedMail.failed_at.is_(None),
                QueuedMail.next_attempt_at <= now,
                or_(QueuedMail.claimed_until.is_(None), QueuedMail.claimed_until < now),
            )
            .values(claimed_until=now + LEASE)
            .execution_options(synchronize_session=False)
        )
    )
    session.commit()
    return claimed == 1


def send(session: Session, mail_id: int, config: Mapping[str, Any]) -> bool:
    """Claim and send one mail; True if it went out. Failures are recorded for a retry."""
    if not claim(session, mail_id):
        return False
    row = session.get(QueuedMail, mail_id)
    assert row is not None
    message = email.message_from_bytes(row.message, policy=email.policy.default)
    session.commit()  # no transaction open while the server is slow
    try:
        deliver(message, config)
    except Exception as exc:  # smtplib's errors are OSErrors; anything else counts as a try too
        now = utcnow()
        row = session.get(QueuedMail, mail_id)
        assert row is not None
        row.attempts += 1
        row.last_error = f"{type(exc).__name__}: {exc}"[:300]
        row.claimed_until = None
        if row.attempts >= MAX_ATTEMPTS:
            row.failed_at = now
        else:
            row.next_attempt_at = now + backoff(row.attempts)
        session.commit()
        return False
    # Sent: only what staff and the counts need is kept, not the message with its links.
    session.execute(
        update(QueuedMail)
        .where(QueuedMail.id == mail_id)
        .values(sent_at=utcnow(), claimed_until=None, attempts=QueuedMail.attempts + 1, message=b"")
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return True


def send_due(session: Session, config: Mapping[str, Any], limit: int = 200) -> int:
    """Send what is due, oldest first, for at most ``BUDGET`` seconds; how many went out."""
    now = utcnow()
    began = time.monotonic()
    due = session.scalars(
        select(QueuedMail.id)
        .where(
            QueuedMail.sent_at.is_(None),
            QueuedMail.failed_at.is_(None),
            QueuedMail.next_attempt_at <= now,
        )
        .order_by(QueuedMail.next_attempt_at, QueuedMail.id)
        .limit(limit)
    ).all()
    session.commit()
    sent = 0
    for mail_id in due:
        if time.monotonic() - began > BUDGET:
            break  # the rest waits for the next run
        sent += send(session, mail_id, config)
    return sent


def failed(session: Session, office_id: int, since: datetime) -> list[QueuedMail]:
    """Mails to the office's residents that could not be sent: staff see them."""
    return list(
        session.scalars(
            select(QueuedMail)
            .where(
                QueuedMail.office_id == office_id,
                QueuedMail.failed_at.is_not(None),
                QueuedMail.failed_at >= since,
            )
            .order_by(QueuedMail.failed_at.desc())
        )
    )


def retry(session: Session, mail: QueuedMail, now: datetime) -> None:
    """A clerk sends a failed mail again, e.g. once the server is back: at once, after
    the commit."""
    mail.failed_at = None
    mail.attempts = 0
    mail.next_attempt_at = now
    mail.claimed_until = None
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    after_commit(session, sender.sender_for(app).wake)
