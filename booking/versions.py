"""An office's version: it rises with every change to what residents can book or see there.

Writers call ``touch(session, office_id)`` where they change an office's bookings, hours,
closures, counters or services. The version rises in the same transaction, as its last
statement before the commit, so its row lock (PostgreSQL) is held only while the commit
runs: writers to one office queue there for a moment, not for their whole transaction.

Readers read the version before the data it stands for. On PostgreSQL (READ COMMITTED)
every statement sees what was committed when it began, so data read after version v is
at least as new as v; on SQLite a read transaction keeps one snapshot throughout. Either
way a cache entry stored under v is never older than v, and a write makes the next
reader miss, in every worker.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Table, event, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, SessionTransaction

from .models import Office, OfficeVersion, Service
from .offices import storable

_TOUCHED = "booking.touched_offices"


def touch(session: Session, office_id: int) -> None:
    """Raise the office's version when the unit of work that holds ``session`` commits."""
    session.info.setdefault(_TOUCHED, set()).add(office_id)


@event.listens_for(Session, "before_commit")
def _raise_versions(session: Session) -> None:
    if session.in_nested_transaction():  # a savepoint released: the unit goes on
        return
    touched = session.info.pop(_TOUCHED, None)
    if not touched:
        return
    session.flush()  # the changes first, so that the version's lock is taken last
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    table = cast(Table, OfficeVersion.__table__)
    # One statement inserts the row of an office that has none yet (a new office) and
    # raises the others; in one order everywhere, so two writers cannot deadlock.
    session.execute(
        insert(table)
        .values([{"office_id": office_id, "version": 1} for office_id in sorted(touched)])
        .on_conflict_do_update(
            index_elements=[table.c.office_id], set_={"version": table.c.version + 1}
        )
    )


@event.listens_for(Session, "after_soft_rollback")
def _forget(session: Session, previous_transaction: SessionTransaction) -> None:
    # A savepoint's rollback (a lost race for a slot, retried) keeps the unit going.
    if not previous_transaction.nested:
        session.info.pop(_TOUCHED, None)


def office_at_version(session: Session, slug: str) -> tuple[Office, int] | None:
    """The office ``slug`` names and its version, read in one statement: one snapshot.

    An office without a version row (none written since it was made) is at version 0;
    its first write inserts version 1.
    """
    if not storable(slug):
        return None
    row = session.execute(
        select(Office, func.coalesce(OfficeVersion.version, 0))
        .outerjoin(OfficeVersion, OfficeVersion.office_id == Office.id)
        .where(Office.slug == slug)
        .execution_options(populate_existing=True)
    ).first()
    return None if row is None else (row[0], row[1])


def service_at_version(session: Session, slug: str, key: str) -> tuple[Office, Service, int] | None:
    """The office, its service ``key`` and the office's version, in one statement."""
    if not storable(slug) or not storable(key):
        return None
    row = session.execute(
        select(Office, Service, func.coalesce(OfficeVersion.version, 0))
        .join(Service, Service.office_id == Office.id)
        .outerjoin(OfficeVersion, OfficeVersion.office_id == Office.id)
        .where(Office.slug == slug, Service.key == key)
        .execution_options(populate_existing=True)
    ).first()
    return None if row is None else (row[0], row[1], row[2])


def all_versions(session: Session) -> tuple[tuple[int, int], ...]:
    """Every office's id and version: a new or removed office changes it too."""
    rows: Any = session.execute(
        select(Office.id, func.coalesce(OfficeVersion.version, 0))
        .outerjoin(OfficeVersion, OfficeVersion.office_id == Office.id)
        .order_by(Office.id)
    )
    return tuple((office_id, version) for office_id, version in rows)
