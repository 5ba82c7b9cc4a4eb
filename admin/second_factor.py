"""The second factor: a TOTP code from an authenticator app (pyotp), or a one-time recovery
code for the day the phone is lost.

A TOTP code is accepted once: the time step it belongs to is claimed with a conditional
UPDATE (``totp_last_step``), so a code seen over a shoulder, or posted twice at once, opens
no second session. Recovery codes carry 80 random bits and are stored as a SHA-256 digest,
like the app's other secrets in links: with that much entropy nothing can be guessed from
the digest, and a code is found and used up in one statement, where a salted slow hash
would have to be checked against each of the user's codes in turn.

The secret being enrolled is kept on the account (``totp_secret`` set, ``totp_enabled_at``
NULL), never in the session cookie, which is signed but readable; until a code confirms it
the account has no second factor, and the sign-in ignores it.
"""

from __future__ import annotations

import base64
import hmac
import re
import secrets
from datetime import datetime

import pyotp
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from okienko.database import rows_changed
from okienko.tokens import hash_token
from queueing.models import Role, StaffUser

from .models import RecoveryCode

ISSUER = "Okienko"
RECOVERY_CODES = 10
# Base32 has no 0, 1 or 8: read as the letters a person most likely meant.
LOOKALIKES = str.maketrans("018", "OIB")


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, username: str) -> str:
    """The otpauth:// URI an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)


def grouped(secret: str) -> str:
    """The secret in groups of four, as it is typed into an app by hand."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step whose code ``code`` is, within one step either side; else None.

    The same window as pyotp's ``verify(code, valid_window=1)``, which does not say which
    step matched; the step is what makes the code usable only once.
    """
    code = re.sub(r"\s", "", code)
    if not (len(code) == 6 and code.isascii() and code.isdigit()):
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    for step in (current - 1, current, current + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def accept_code(session: Session, user: StaffUser, code: str, now: datetime) -> bool:
    """Whether ``code`` is the user's current TOTP code, not used before; it is then used."""
    if user.totp_secret is None or user.totp_enabled_at is None:  # none, or being enrolled
        return False
    step = matching_step(user.totp_secret, code, now)
    if step is None:
        return False
    claimed = session.execute(
        update(StaffUser)
        .where(
            StaffUser.id == user.id,
            or_(StaffUser.totp_last_step.is_(None), StaffUser.totp_last_step < step),
        )
        .values(totp_last_step=step)
    )
    return rows_changed(claimed) == 1


def normal_recovery_code(code: str) -> str:
    return re.sub(r"[\s-]", "", code).upper().translate(LOOKALIKES)


def new_recovery_code() -> str:
    raw = base64.b32encode(secrets.token_bytes(10)).decode()  # 16 characters, 80 bits
    return "-".join(raw[i : i + 4] for i in range(0, 16, 4))


def new_recovery_codes(session: Session, user: StaffUser) -> list[str]:
    """Ten fresh recovery codes, shown once; the user's older codes stop working."""
    session.execute(delete(RecoveryCode).where(RecoveryCode.staff_id == user.id))
    codes = [new_recovery_code() for _ in range(RECOVERY_CODES)]
    session.add_all(
        RecoveryCode(staff_id=user.id, code_hash=hash_token(normal_recovery_code(code)))
        for code in codes
    )
    return codes


def use_recovery_code(session: Session, user: StaffUser, code: str, now: datetime) -> bool:
    """Whether ``code`` is one of the user's unused recovery codes; it is then used up."""
    if user.totp_enabled_at is None or not code.strip() or len(code) > 40:
        return False
    claimed = session.execute(
        update(RecoveryCode)
        .where(
            RecoveryCode.staff_id == user.id,
            RecoveryCode.code_hash == hash_token(normal_recovery_code(code)),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=now)
    )
    return rows_changed(claimed) == 1


def unused_recovery_codes(session: Session, user: StaffUser) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(RecoveryCode)
            .where(RecoveryCode.staff_id == user.id, RecoveryCode.used_at.is_(None))
        )
        or 0
    )


def enrolment_secret(session: Session, user: StaffUser) -> str:
    """The secret ``user`` is enrolling, a new one if none is pending; never an enabled one.

    Claimed with a conditional UPDATE: two tabs opened at once show the same secret.
    """
    assert user.totp_enabled_at is None, "only a user without a second factor enrols"
    if user.totp_secret is None:
        session.execute(
            update(StaffUser)
            .where(
                StaffUser.id == user.id,
                StaffUser.totp_secret.is_(None),
                StaffUser.totp_enabled_at.is_(None),
            )
            .values(totp_secret=new_secret(), totp_last_step=None)
        )
        session.refresh(user, ["totp_secret", "totp_enabled_at", "totp_last_step"])
    assert user.totp_secret is not None and user.totp_enabled_at is None
    return user.totp_secret


def enrol(session: Session, user: StaffUser, code: str, now: datetime) -> list[str] | None:
    """Turn on the second factor being enrolled once ``code`` proves the app has its secret.

    Returns the new recovery codes, or None when the code does not match (or the factor
    was turned on meanwhile, in another tab).
    """
    secret = user.totp_secret
    if secret is None or user.totp_enabled_at is not None:
        return None
    step = matching_step(secret, code, now)
    if step is None:
        return None
    claimed = session.execute(
        update(StaffUser)
        .where(
            StaffUser.id == user.id,
            StaffUser.totp_secret == secret,
            StaffUser.totp_enabled_at.is_(None),
        )
        .values(totp_enabled_at=now, totp_last_step=step)
    )
    if rows_changed(claimed) != 1:
        return None
    session.refresh(user, ["totp_enabled_at", "totp_last_step"])
    return new_recovery_codes(session, user)


def may_turn_off(user: StaffUser) -> bool:
    """Administrators must keep their second factor; the others chose to have one."""
    return user.role != Role.ADMINISTRATOR and user.totp_enabled_at is not None


def turn_off(session: Session, user: StaffUser) -> None:
    user.totp_secret = user.totp_enabled_at = user.totp_last_step = None
    session.execute(delete(RecoveryCode).where(RecoveryCode.staff_id == user.id))
