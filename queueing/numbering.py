"""Ticket numbers: per office, per day and per prefix, handed out atomically."""

from __future__ import annotations

from datetime import date
from typing import cast

from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from .models import TicketSequence


def next_number(session: Session, office_id: int, day: date, prefix: str) -> int:
    """The next number for ``prefix`` at the office on ``day`` (1 for the day's first).

    One INSERT ... ON CONFLICT DO UPDATE ... RETURNING: the database bumps the
    counter row under its own lock, so concurrent kiosks never read the same
    value; the unique constraint on tickets stands behind it all the same.
    """
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    table = cast(Table, TicketSequence.__table__)
    statement = (
        insert(table)
        .values(office_id=office_id, day=day, prefix=prefix, last_number=1)
        .on_conflict_do_update(
            index_elements=[table.c.office_id, table.c.day, table.c.prefix],
            set_={"last_number": table.c.last_number + 1},
        )
        .returning(table.c.last_number)
    )
    return session.execute(statement).scalar_one()
