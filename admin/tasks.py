"""Scheduled work of the administration: the history forgets who tried to sign in from where.

Sign-in entries keep the user name as typed and the address they came from only for
``RETENTION_DAYS``; then the address and the name are erased, and failed sign-ins, which
are nothing else, are deleted. Like the other jobs it works from the state of the data, so
a missed run is made up by the next, and a second scheduler repeats nothing harmful.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from okienko.database import rows_changed
from okienko.scheduler import job

from .models import ChangeLog
from .signins import FAILED, SIGN_IN_ACTIONS

BATCH = 500


def forget_sign_ins(session: Session, now: datetime, keep: timedelta) -> int:
    """Erase the address and typed name of sign-in entries older than ``keep``; how many."""
    cutoff = now - keep
    deleted = rows_changed(
        session.execute(
            delete(ChangeLog)
            .where(ChangeLog.action == FAILED, ChangeLog.at < cutoff)
            .execution_options(synchronize_session=False)
        )
    )
    entries = session.scalars(
        select(ChangeLog)
        .where(
            ChangeLog.action.in_(SIGN_IN_ACTIONS),
            ChangeLog.at < cutoff,
            ChangeLog.address.is_not(None),
        )
        .limit(BATCH)
    ).all()
    for entry in entries:
        entry.address = None
        entry.after = {k: v for k, v in entry.after.items() if k != "username"}
    session.commit()
    return deleted + len(entries)


# Every few minutes like the floor's jobs: the query is one indexed range, and a run
# finds nothing to do most of the time.
@job("sign_in_retention", every=timedelta(minutes=5))
def sign_in_retention(session: Session, now: datetime, config: Mapping[str, Any]) -> int:
    return forget_sign_ins(session, now, timedelta(days=config["RETENTION_DAYS"]))
