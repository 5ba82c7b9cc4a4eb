"""Reset links: a one-time link to set a new password, handed over by an administrator or
by the clerk's manager. New accounts get their first password the same way.

The link carries a random token (192 bits); only its SHA-256 digest is stored. It works once
(claimed with a conditional UPDATE, so two open tabs cannot both use it) and only until it
expires; a newer link for the same person voids the older ones.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from booking.models import Office
from okienko.database import rows_changed
from okienko.tokens import hash_token, new_token
from queueing.models import Role, StaffUser

from .accounts import set_password
from .audit import record
from .models import PasswordReset


def may_reset(actor: StaffUser, user: StaffUser) -> bool:
    """Administrators may reset anyone; a manager only the clerks of an office they run."""
    if actor.role == Role.ADMINISTRATOR:
        return True
    return (
        actor.role == Role.MANAGER
        and user.role == Role.CLERK
        and any(o.id == user.office_id for o in actor.managed_offices)
    )


def start_reset(
    session: Session,
    now: datetime,
    actor: StaffUser,
    user: StaffUser,
    valid_for: timedelta,
    office: Office | None = None,
) -> str:
    """A new reset link's token for ``user``, shown once; their older unused links stop working.

    ``office``: the office page it was started from, whose history shows it.
    """
    session.execute(
        update(PasswordReset)
        .where(
            PasswordReset.staff_id == user.id,
            PasswordReset.used_at.is_(None),
            PasswordReset.expires_at > now,
        )
        .values(expires_at=now)
    )
    token = new_token()
    expires = now + valid_for
    session.add(
        PasswordReset(
            staff_id=user.id,
            token_hash=hash_token(token),
            created_by_id=actor.id,
            created_at=now,
            expires_at=expires,
        )
    )
    record(
        session,
        now,
        actor,
        "password_reset_started",
        "account",
        user.id,
        office_id=office.id if office else None,
        after={"username": user.username, "expires_at": expires},
    )
    return token


def usable_reset(
    session: Session, token: str, now: datetime
) -> tuple[PasswordReset, StaffUser] | None:
    """The reset behind ``token`` and its account, while it can still be used by an active one."""
    if not token or len(token) > 64:
        return None
    reset = session.scalar(
        select(PasswordReset).where(PasswordReset.token_hash == hash_token(token))
    )
    if reset is None or reset.used_at is not None or reset.expires_at <= now:
        return None
    user = session.get(StaffUser, reset.staff_id)
    return (reset, user) if user is not None and user.active else None


def use_reset(session: Session, now: datetime, reset: PasswordReset, password: str) -> bool:
    """Set the new password through ``reset``; False if the link was used or expired meanwhile."""
    claimed = session.execute(
        update(PasswordReset)
        .where(
            PasswordReset.id == reset.id,
            PasswordReset.used_at.is_(None),
            PasswordReset.expires_at > now,
        )
        .values(used_at=now)
    )
    if rows_changed(claimed) != 1:
        return False
    user = session.get(StaffUser, reset.staff_id)
    assert user is not None
    set_password(user, password, now)
    record(session, now, user, "password_reset", "account", user.id)
    return True
