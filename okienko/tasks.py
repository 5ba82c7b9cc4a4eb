"""The core's scheduled work: sending the mail queue."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from . import outbox
from .scheduler import job


@job("mail", every=timedelta(seconds=30))
def deliver_mail(session: Session, now: datetime, config: Mapping[str, Any]) -> int:
    """Send what is due: new mail no process's sender got out (it ended first), and retries."""
    return outbox.send_due(session, config)
