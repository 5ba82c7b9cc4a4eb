"""Where the app's mail ends up in a test: a real SMTP server (aiosmtpd) that keeps what it
receives, or the outbox folder of ``.eml`` files the app writes when no server is set.

The app sends mail in the background (``okienko.sender``), after the request has answered:
``mail_sent(app)`` waits until its sender has handled everything queued so far. Call it
where the request ran, under the test's clock: the sender claims a mail, and backs off
after a failure, by the clock it reads, as the request once did.
"""

from __future__ import annotations

import email
import threading
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from flask import Flask

from okienko.sender import sender_for
from tests.helpers.ports import free_port
from tests.helpers.waiting import TIMEOUT, WaitTimeout


class Mailbox:
    """A real SMTP server (aiosmtpd) that keeps what it receives."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.messages: list[Any] = []
        self.arrived = threading.Condition()
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.arrived:
            self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
            self.arrived.notify_all()
        return "250 OK"

    def wait_for(self, count: int, timeout: float = TIMEOUT) -> list[Any]:
        """The messages, once at least ``count`` have arrived."""
        with self.arrived:
            if not self.arrived.wait_for(lambda: len(self.messages) >= count, timeout):
                raise WaitTimeout(f"{len(self.messages)} of {count} mails arrived")
            return list(self.messages)


class HeldMailbox(Mailbox):
    """A mail server that holds every message until the test lets it through."""

    def __init__(self) -> None:
        super().__init__()
        self.reached = 0  # messages that came to the server (held until ``release``)
        self.release = threading.Event()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        import asyncio

        with self.arrived:
            self.reached += 1
            self.arrived.notify_all()
        await asyncio.get_running_loop().run_in_executor(None, self.release.wait, TIMEOUT)
        return await super().handle_DATA(server, session, envelope)

    def wait_reached(self, count: int, timeout: float = TIMEOUT) -> None:
        """Until ``count`` messages have come to the server, at the same time if held."""
        with self.arrived:
            if not self.arrived.wait_for(lambda: self.reached >= count, timeout):
                raise WaitTimeout(f"{self.reached} of {count} mails reached the server")


def mail_sent(app: Flask) -> None:
    """Wait until the app's mail sender has handled all mail queued so far: sent it, or
    recorded why not."""
    if not sender_for(app).drain(TIMEOUT):
        raise WaitTimeout(f"the mail sender was still busy after {TIMEOUT:g} s")


def outbox(app: Flask) -> list[EmailMessage]:
    """The mails the app wrote into its MAIL_OUTBOX folder, oldest first, once it has sent
    what it queued."""
    mail_sent(app)
    folder = Path(app.config["MAIL_OUTBOX"])
    files = sorted(folder.glob("*.eml")) if folder.exists() else []
    return [email.message_from_bytes(f.read_bytes(), policy=policy.default) for f in files]
