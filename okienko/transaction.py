"""One unit of work per request or job: its changes commit together, or none do.

Domain functions never commit: they change the session they are given. The
view or command that called them ends the unit with ``unit_of_work``. Scheduled
jobs are the one exception, by design: they claim and finish one row at a time,
each in its own short transaction, so that two schedulers never repeat work and
one bad row does not hold up the rest. What must not
happen for changes that were rolled back (a mail sent, a display woken) is
registered with ``after_commit`` and runs only once the commit has succeeded.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from .database import db

_PENDING = "okienko.after_commit"


def after_commit(session: Session, action: Callable[[], None]) -> None:
    """Run ``action`` after the unit of work that holds ``session`` commits; never on rollback."""
    session.info.setdefault(_PENDING, []).append(action)


@event.listens_for(Session, "after_soft_rollback")
def _forget(session: Session, previous_transaction: SessionTransaction) -> None:
    # A savepoint's rollback (a lost race for a slot, retried) keeps the unit going.
    if not previous_transaction.nested:
        session.info.pop(_PENDING, None)


@contextmanager
def unit_of_work(session: Session | None = None) -> Iterator[Session]:
    """Commit what the block did, or roll all of it back if it raises; then run what
    waited for the commit."""
    session = session if session is not None else db.session()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    for action in session.info.pop(_PENDING, []):
        action()
