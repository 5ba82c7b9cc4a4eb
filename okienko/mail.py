"""Outgoing mail: over SMTP when a server is configured, else into a local outbox folder."""

from __future__ import annotations

import smtplib
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage, Message
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    maintype: str
    subtype: str
    params: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Inline:
    """An image the HTML part shows itself, as ``<img src="cid:{cid}">``."""

    cid: str  # without the angle brackets, as the HTML refers to it
    attachment: Attachment


def sender_domain(sender: str) -> str | None:
    return sender.rpartition("@")[2].strip("> ") or None


def new_cid(sender: str) -> str:
    """A Content-ID for an inline image, unique like a Message-ID, without the brackets."""
    return make_msgid(domain=sender_domain(sender))[1:-1]


def build_message(
    sender: str,
    to: str,
    subject: str,
    text: str,
    html: str | None = None,
    attachments: tuple[Attachment, ...] = (),
    *,
    reply_to: str | None = None,
    inline: tuple[Inline, ...] = (),
) -> EmailMessage:
    """Text and HTML alternatives; the HTML with its inline images (multipart/related),
    then the attachments. Replies go to ``reply_to`` (the office) when it is given."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    if reply_to:
        message["Reply-To"] = reply_to
    message["Subject"] = subject
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = make_msgid(domain=sender_domain(sender))
    message.set_content(text)
    if html:
        message.add_alternative(html, subtype="html")
        html_part = message.get_body(preferencelist=("html",))
        assert isinstance(html_part, EmailMessage)
        for image in inline:
            item = image.attachment
            html_part.add_related(
                item.content,
                maintype=item.maintype,
                subtype=item.subtype,
                cid=f"<{image.cid}>",
                disposition="inline",
                filename=item.filename,
                params=item.params,
            )
    for item in attachments:
        message.add_attachment(
            item.content,
            maintype=item.maintype,
            subtype=item.subtype,
            filename=item.filename,
            params=item.params,
        )
    return message


def deliver(message: Message, config: Mapping[str, Any]) -> Path | None:
    """Send ``message``; without MAIL_SERVER write it to MAIL_OUTBOX and return the file."""
    if not config.get("MAIL_SERVER"):
        outbox = Path(config["MAIL_OUTBOX"])
        outbox.mkdir(parents=True, exist_ok=True)
        path = outbox / f"{time.strftime('%Y%m%d-%H%M%S')}-{message['Message-ID'].strip('<>')}.eml"
        path.write_bytes(bytes(message))
        return path
    # Verify the server's certificate: mails carry manage links, and the login a password.
    context = ssl.create_default_context()
    server, port = config["MAIL_SERVER"], config["MAIL_PORT"]
    smtp: smtplib.SMTP
    if config.get("MAIL_USE_SSL"):
        smtp = smtplib.SMTP_SSL(server, port, timeout=30, context=context)
    else:
        smtp = smtplib.SMTP(server, port, timeout=30)
    with smtp:
        if config.get("MAIL_USE_TLS"):
            smtp.starttls(context=context)
        if config.get("MAIL_USERNAME"):
            smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"] or "")
        smtp.send_message(message)
    return None
