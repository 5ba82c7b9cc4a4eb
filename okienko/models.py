"""The core's own tables: the mail queue, and the scheduler's job store."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Unicode,
)
from sqlalchemy.orm import Mapped, mapped_column

from .database import Model, UTCDateTime, db


class QueuedMail(Model):
    """A mail on its way: sent at once if the server answers, else retried with backoff.

    A sender claims a row for a while (``claimed_until``) by a conditional
    UPDATE before it talks to the server, so two senders never send one mail.
    After the last try the mail is marked failed and shown to staff.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    # Which office and booking a mail is about, for staff and retention; by table name,
    # so the core needs no feature's models.
    office_id: Mapped[int | None] = mapped_column(ForeignKey("office.id", ondelete="SET NULL"))
    booking_id: Mapped[int | None] = mapped_column(ForeignKey("booking.id", ondelete="SET NULL"))
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    message: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(300))

    __table_args__ = (Index("ix_queued_mail_due", "sent_at", "failed_at", "next_attempt_at"),)


# APScheduler's job store (okienko/scheduler.py), as APScheduler 3.11 defines it; created by
# the migrations so that two scheduler processes starting at once never race to create it.
scheduler_jobs = Table(
    "apscheduler_jobs",
    db.metadata,
    Column("id", Unicode(191), primary_key=True),
    Column("next_run_time", Float(25), index=True),
    Column("job_state", LargeBinary, nullable=False),
)
