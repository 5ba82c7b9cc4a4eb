"""Signing staff in, as the sign-in pages at /login do it: the password, then the
second factor for those who have one, and the history entries of both.

Between the two steps the browser holds only a pending marker (who, their session key, when):
nobody is signed in until the code is right, and the marker lapses after ``PENDING_FOR`` or
when the password changes. Wrong codes are counted in the history, not in the marker, which
an old cookie would bring back (the marker holds only the last wrong code's entry before
it): after ``CODE_TRIES`` the password is asked again, and after ``ACCOUNT_TRIES`` within
``TRIES_WINDOW`` the account's code step waits, however many browsers or addresses guess.
The history's sign-in entries keep the typed user name and the address only for the
retention period (``admin/tasks.py``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import request, session, url_for
from flask_login import login_user
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from queueing.models import Role, StaffUser

from .audit import record
from .models import ChangeLog
from .second_factor import accept_code, use_recovery_code

PENDING = "pending_sign_in"
PENDING_FOR = timedelta(minutes=5)
CODE_FAILED = "second_factor_failed"
# The actions whose entries hold a typed user name and an address, erased after retention.
SIGN_IN_ACTIONS = ("sign_in", CODE_FAILED)
FAILED = "sign_in_failed"
# Wrong codes: per password step, and per account whatever the browser.
CODE_TRIES = 5
ACCOUNT_TRIES = 10
TRIES_WINDOW = timedelta(minutes=15)


class Blocked(enum.Enum):
    """Why the code step takes no more codes."""

    SIGN_IN_AGAIN = "sign_in_again"  # this password step had its tries
    WAIT = "wait"  # the account had its tries for a while


@dataclass(frozen=True)
class Pending:
    """Who gave the right password and owes the second factor, and the page they asked for."""

    user: StaffUser
    next_url: str | None
    seen: int  # the id of the user's last wrong-code entry before the password was given


def client_address() -> str:
    # Never None, even when unknown: the retention job finds what to erase by the address.
    return (request.remote_addr or "")[:45]


def landing(user: StaffUser) -> str:
    """Where a person goes after signing in when no page asked for it."""
    return url_for("admin.home" if user.at_least(Role.MANAGER) else "counter.home")


def fresh_session() -> None:
    """Nothing from before the sign-in survives it, not even CSRF; only the language chosen."""
    language = session.get("lang")
    session.clear()
    if language is not None:
        session["lang"] = language


def begin_second_step(
    db_session: Session, user: StaffUser, now: datetime, next_url: str | None
) -> None:
    fresh_session()
    session[PENDING] = {
        "id": user.id,
        "key": user.session_key,
        "at": int(now.timestamp()),
        "next": next_url,
        "seen": db_session.scalar(select(func.max(ChangeLog.id)).where(_code_failed(user))) or 0,
    }


def pending(db_session: Session, now: datetime) -> Pending | None:
    """The sign-in waiting for its second factor; None when none does or the marker lapsed."""
    marker: Any = session.get(PENDING)
    if not isinstance(marker, dict):
        return None
    user_id, key, at, seen = (marker.get(k) for k in ("id", "key", "at", "seen"))
    if not (
        isinstance(user_id, int)
        and isinstance(key, str)
        and isinstance(at, int)
        and isinstance(seen, int)
    ):
        return None
    if not 0 <= now.timestamp() - at <= PENDING_FOR.total_seconds():
        return None
    user = db_session.get(StaffUser, user_id)
    if user is None or not user.active or user.session_key != key or not user.totp_enabled_at:
        return None
    next_url = marker.get("next")
    return Pending(user, next_url if isinstance(next_url, str) else None, seen)


def abandon() -> None:
    """Forget the pending sign-in: the password is asked again."""
    session.pop(PENDING, None)


def _code_failed(user: StaffUser) -> Any:
    return (ChangeLog.actor_id == user.id) & (ChangeLog.action == CODE_FAILED)


def _wrong_codes(db_session: Session, user: StaffUser, since: Any) -> int:
    query = select(func.count()).select_from(ChangeLog).where(_code_failed(user), since)
    return db_session.scalar(query) or 0


def blocked(db_session: Session, sign_in: Pending, now: datetime) -> Blocked | None:
    """Whether the code step must refuse every code, even a right one, and why."""
    user = sign_in.user
    if _wrong_codes(db_session, user, ChangeLog.at > now - TRIES_WINDOW) >= ACCOUNT_TRIES:
        return Blocked.WAIT
    if _wrong_codes(db_session, user, ChangeLog.id > sign_in.seen) >= CODE_TRIES:
        return Blocked.SIGN_IN_AGAIN
    return None


def second_factor(db_session: Session, user: StaffUser, code: str, now: datetime) -> str | None:
    """How ``code`` proves the second factor: "totp" or "recovery_code"; None if it does not."""
    digits = code.replace(" ", "")
    if len(digits) == 6 and digits.isdigit():
        return "totp" if accept_code(db_session, user, digits, now) else None
    return "recovery_code" if use_recovery_code(db_session, user, code, now) else None


def finish(db_session: Session, now: datetime, user: StaffUser, method: str) -> None:
    """Sign ``user`` in to this browser, and note it in the history."""
    fresh_session()
    login_user(user)
    user.last_login_at = now
    record(
        db_session,
        now,
        user,
        "sign_in",
        "account",
        user.id,
        after={"username": user.username, "method": method},
        address=client_address(),
    )


def record_failure(db_session: Session, now: datetime, username: str) -> None:
    """A wrong user name or password: the name as typed, and where from."""
    record(
        db_session,
        now,
        None,
        FAILED,
        "account",
        after={"username": username[:80]},
        address=client_address(),
    )


def record_second_factor_failure(db_session: Session, now: datetime, user: StaffUser) -> None:
    record(
        db_session,
        now,
        user,
        CODE_FAILED,
        "account",
        user.id,
        after={"username": user.username},
        address=client_address(),
    )
