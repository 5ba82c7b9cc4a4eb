"""Staff tokens for the staff API (the reports): made by their owner, shown once, revoked.

A token is a random secret (``okienko.tokens``) of which only the hash is kept. It
carries no rights of its own: each request acts as its owner, with the role and the
offices the owner has at that moment, so a disabled account or a lost office stops
its tokens at once.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from okienko.database import may_write, writing
from okienko.tokens import hash_token, new_token
from queueing.models import StaffUser

from .audit import record
from .models import ApiToken

# A presented token longer than this is none of ours: not worth hashing.
MAX_PRESENTED = 100
# ``last_used_at`` is written at most this often: a script polling every second
# should not turn every read into a write.
USED_EVERY = timedelta(minutes=1)


def create_token(
    session: Session, now: datetime, owner: StaffUser, name: str
) -> tuple[ApiToken, str]:
    """A new token of ``owner`` and its secret, to show once: only its hash is stored."""
    secret = new_token()
    token = ApiToken(staff_id=owner.id, name=name, token_hash=hash_token(secret), created_at=now)
    session.add(token)
    session.flush()
    record(session, now, owner, "create", "api_token", token.id, after={"name": name})
    return token, secret


def tokens_of(session: Session, owner: StaffUser) -> list[ApiToken]:
    """The owner's tokens: working ones first, newest first."""
    return list(
        session.scalars(
            select(ApiToken)
            .where(ApiToken.staff_id == owner.id)
            .order_by(ApiToken.revoked_at.is_not(None), ApiToken.created_at.desc(), ApiToken.id)
        )
    )


def token_of(session: Session, owner: StaffUser, token_id: int) -> ApiToken | None:
    """Token ``token_id`` if it is the owner's: nobody sees or revokes another's."""
    token = session.get(ApiToken, token_id)
    return token if token is not None and token.staff_id == owner.id else None


def revoke_token(session: Session, now: datetime, owner: StaffUser, token: ApiToken) -> bool:
    """Stop ``token`` for good; False if it was revoked already. The row stays, for the list."""
    if token.revoked_at is not None:
        return False
    token.revoked_at = now
    record(
        session,
        now,
        owner,
        "revoke",
        "api_token",
        token.id,
        before={"revoked_at": None},
        after={"name": token.name, "revoked_at": now},
    )
    return True


def resolve(session: Session, presented: str, now: datetime) -> StaffUser | None:
    """The staff member a presented token acts as, its use noted; None for a token that is
    unknown or revoked, or whose owner's account is disabled."""
    if not presented or len(presented) > MAX_PRESENTED:
        return None
    token = session.scalar(
        select(ApiToken).where(
            ApiToken.token_hash == hash_token(presented), ApiToken.revoked_at.is_(None)
        )
    )
    owner = session.get(StaffUser, token.staff_id) if token is not None else None
    if token is None or owner is None or not owner.active:
        return None
    note_used(session, token, now)
    return owner


def note_used(session: Session, token: ApiToken, now: datetime) -> None:
    """Record that ``token`` was used, at most once a minute (for its owner's list).

    As ``queueing.access.note_seen`` does for devices: a reading request (its SQLite
    transaction cannot write) ends its read transaction, which changed nothing, and
    writes in a short one of its own; a conditional UPDATE keeps two requests from
    writing twice.
    """
    if token.last_used_at is not None and now - token.last_used_at < USED_EVERY:
        return
    stale = or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at <= now - USED_EVERY)
    statement = (
        update(ApiToken)
        .where(ApiToken.id == token.id, stale)
        .values(last_used_at=now)
        .execution_options(synchronize_session=False)
    )
    if may_write():
        session.execute(statement)
        return
    session.commit()
    with writing():
        session.execute(statement)
        session.commit()
