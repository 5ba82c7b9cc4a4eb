"""Where the app's mail ends up in a test: a real SMTP server (aiosmtpd) that keeps what it
receives, or the outbox folder of ``.eml`` files the app writes when no server is set."""

from __future__ import annotations

import email
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from flask import Flask

from tests.helpers.ports import free_port


class Mailbox:
    """A real SMTP server (aiosmtpd) that keeps what it receives."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.messages: list[Any] = []
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


def outbox(app: Flask) -> list[EmailMessage]:
    """The mails the app wrote into its MAIL_OUTBOX folder, oldest first."""
    folder = Path(app.config["MAIL_OUTBOX"])
    files = sorted(folder.glob("*.eml")) if folder.exists() else []
    return [email.message_from_bytes(f.read_bytes(), policy=policy.default) for f in files]
