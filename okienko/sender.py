"""The mail sender: a background thread per process that sends queued mail after its commit.

``outbox.post`` queues a mail in the request's unit of work and, once that commits,
wakes this sender: the request answers without waiting for the mail server. The
sender sends what is due with a session of its own; each mail is claimed first
(``outbox.claim``), so it may race the scheduler's mail job and other processes and
a mail still goes out once. That job is the durable fallback: what a crash leaves
queued it sends within its period.
"""

from __future__ import annotations

import threading

from flask import Flask
from sqlalchemy.orm import Session

from . import outbox
from .database import db

EXTENSION = "mail_sender"
IDLE = 60.0  # seconds without work before the thread ends; the next wake starts another


class MailSender:
    """Sends the app's due mail whenever it is woken, in a daemon thread started on demand."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self._changed = threading.Condition()
        self._woken = 0  # wakes so far
        self._handled = 0  # wakes that a finished batch has answered
        self._thread: threading.Thread | None = None

    def wake(self) -> None:
        """Send what is due, soon, outside the caller's thread."""
        with self._changed:
            self._woken += 1
            # Started lazily in the serving process: a thread made before gunicorn forks
            # would not survive into the workers.
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="mail-sender", daemon=True)
                self._thread.start()
            self._changed.notify_all()

    def drain(self, timeout: float) -> bool:
        """Wait until every wake so far has been answered; False if ``timeout`` ran out."""
        with self._changed:
            return self._changed.wait_for(lambda: self._handled >= self._woken, timeout)

    def _run(self) -> None:
        while True:
            with self._changed:
                if not self._changed.wait_for(lambda: self._handled < self._woken, IDLE):
                    self._thread = None  # under the lock: a wake from now on starts another
                    return
                woken = self._woken  # wakes that come during the batch ask for another
            try:
                self._send_due()
            except Exception:  # the database gone for a moment: the next wake or the job
                self.app.logger.exception("mail sender failed; the mail job tries again")
            with self._changed:
                self._handled = woken
                self._changed.notify_all()

    def _send_due(self) -> None:
        # Its own session, never the request's; outbox.send holds no transaction over SMTP.
        with self.app.app_context(), Session(db.engine) as session:
            outbox.send_due(session, self.app.config)


def sender_for(app: Flask) -> MailSender:
    """The app's one sender, made on first use."""
    sender = app.extensions.get(EXTENSION)
    if sender is None:
        sender = app.extensions.setdefault(EXTENSION, MailSender(app))
    return sender
