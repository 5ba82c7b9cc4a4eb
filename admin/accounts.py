"""Staff accounts: created, changed, disabled and enabled by an administrator, never deleted
(the history keeps their names); and each person's own password.

A new password, a disabled account and a reset link all give the account a new session key,
which ends every browser session signed in with the old one. Kiosks and displays are
devices, not staff sessions, so they stay signed in.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from booking.models import Office
from booking.refusals import Refusal
from okienko.tokens import new_session_key, new_token
from queueing.access import hash_password
from queueing.models import Role, StaffUser
from queueing.staff import release_counter

from .audit import record


class AccountRefusal(Refusal):
    error = "account_refused"
    message: object = _l("This change cannot be made to the account.")
    status = 409


class LastAdministrator(AccountRefusal):
    error = "last_administrator"
    message = _l(
        "This is the last active administrator. Make another account an administrator first."
    )


class UsernameTaken(AccountRefusal):
    error = "username_taken"
    message = _l("This user name is taken. Choose another.")


def account_state(user: StaffUser) -> dict[str, Any]:
    """What the history keeps of an account: never its password or second factor."""
    return {
        "username": user.username,
        "name": user.name,
        "role": user.role,
        "office": user.office.slug,
        "offices": sorted(o.slug for o in user.managed_offices),
        "active": user.active,
    }


def accounts(
    session: Session, office_id: int | None, role: Role | None, active: bool | None
) -> list[StaffUser]:
    """The accounts, by name; only those of one home office, one role or one state if asked."""
    query = select(StaffUser).order_by(StaffUser.name, StaffUser.id)
    if office_id is not None:
        query = query.where(StaffUser.office_id == office_id)
    if role is not None:
        query = query.where(StaffUser.role == role)
    if active is not None:
        query = query.where(StaffUser.active.is_(active))
    return list(session.scalars(query))


def keep_an_administrator(session: Session, user: StaffUser) -> None:
    """Refuse to take ``user``'s administrator rights if nobody else active has them.

    The active administrators' rows are locked first (on PostgreSQL; SQLite's writes run
    one at a time), so two administrators who disable each other at once cannot both win.
    """
    if user.role != Role.ADMINISTRATOR or not user.active:
        return
    administrators = select(StaffUser.id).where(
        StaffUser.role == Role.ADMINISTRATOR, StaffUser.active.is_(True)
    )
    session.execute(administrators.with_for_update()).all()
    others = session.scalar(
        select(func.count()).select_from(administrators.where(StaffUser.id != user.id).subquery())
    )
    if not others:
        raise LastAdministrator()


def create_account(
    session: Session,
    now: datetime,
    actor: StaffUser,
    *,
    username: str,
    name: str,
    role: Role,
    office: Office,
    managed: Sequence[Office],
) -> StaffUser:
    """A new active account without a usable password: its owner sets one by a reset link."""
    if session.scalar(select(StaffUser.id).where(StaffUser.username == username)):
        raise UsernameTaken()
    user = StaffUser(
        username=username,
        name=name,
        role=role,
        office=office,
        active=True,
        # Nobody knows this password, the administrator included.
        password_hash=hash_password(new_token()),
        managed_offices=list(managed) if role == Role.MANAGER else [],
    )
    session.add(user)
    try:
        with session.begin_nested():  # the same name taken a moment ago by another request
            session.flush()
    except IntegrityError:
        raise UsernameTaken() from None
    record(session, now, actor, "create", "account", user.id, after=account_state(user))
    return user


def update_account(
    session: Session,
    now: datetime,
    actor: StaffUser,
    user: StaffUser,
    *,
    name: str,
    role: Role,
    office: Office,
    managed: Sequence[Office],
) -> None:
    """Change the name, role, home office and (a manager's) offices of an account."""
    before = account_state(user)
    if role != Role.ADMINISTRATOR:
        keep_an_administrator(session, user)
    if office.id != user.office_id:
        release_counter(session, user, now)  # the counter belongs to the old office
    user.name, user.role, user.office = name, role, office
    user.managed_offices = list(managed) if role == Role.MANAGER else []
    record(
        session, now, actor, "update", "account", user.id, before=before, after=account_state(user)
    )


def set_active(
    session: Session, now: datetime, actor: StaffUser, user: StaffUser, active: bool
) -> None:
    """Disable an account (its sessions end, its counter is freed) or enable it again."""
    if user.active == active:
        return
    after: dict[str, Any] = {"active": active}
    if not active:
        keep_an_administrator(session, user)
        if parked := release_counter(session, user, now):
            after["parked"] = parked
        user.session_key = new_session_key()
    user.active = active
    action = "enable" if active else "disable"
    record(
        session, now, actor, action, "account", user.id, before={"active": not active}, after=after
    )


def set_password(user: StaffUser, password: str, now: datetime) -> None:
    """A new password; every session signed in with the old one ends."""
    user.password_hash = hash_password(password)
    user.password_changed_at = now
    user.session_key = new_session_key()


def change_own_password(session: Session, now: datetime, user: StaffUser, password: str) -> None:
    set_password(user, password, now)
    record(session, now, user, "password_changed", "account", user.id)
