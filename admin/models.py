"""The administration's own tables: the change history, recovery codes and reset links."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from okienko.database import Model, UTCDateTime


class ChangeLog(Model):
    """One change made in the administration, or one sign-in event: who, when, what.

    The actor's name is copied, so the history keeps it after the account is disabled.
    ``before`` and ``after`` hold the changed fields only; residents' personal data never
    goes in (bookings are named by id), and the sign-in entries, which hold the typed user
    name and the address, are erased after the retention period.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id", ondelete="SET NULL"))
    actor_name: Mapped[str] = mapped_column(String(120))
    # None: not one office's (accounts, sign-ins); seen by administrators only.
    office_id: Mapped[int | None] = mapped_column(ForeignKey("office.id", ondelete="CASCADE"))
    action: Mapped[str] = mapped_column(String(40))
    record_type: Mapped[str] = mapped_column(String(40))
    record_id: Mapped[str | None] = mapped_column(String(64))
    before: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    after: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    address: Mapped[str | None] = mapped_column(String(45))

    __table_args__ = (
        Index("ix_change_log_office_at", "office_id", "at"),
        Index("ix_change_log_at", "at"),
    )


class RecoveryCode(Model):
    """A one-time code that stands in for the second factor when the phone is lost."""

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id", ondelete="CASCADE"))
    code_hash: Mapped[str] = mapped_column(String(255))
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PasswordReset(Model):
    """A one-time link that lets a user set a new password; stored as a hash."""

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_user.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ApiToken(Model):
    """A staff member's key to the staff API (the reports), sent as ``Bearer``; stored hashed.

    It acts as its owner, with the owner's role and offices at the time of each request,
    so a disabled account or a lost office stops its tokens too.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
