"""The waiting and service-time reports read their rows from narrow partial indexes
(migration c6f7a8b9c0d1), which PostgreSQL can only use where a statement's conditions
imply the index's own. So the reports write the index's condition into the statement
as it is, not as bound parameters: a prepared statement's generic plan (psycopg
prepares a statement run five times on a connection) knows no parameter's value and
could not use the index. Checked by planning each statement generically, on the demo
database, with nothing else to read the tickets from: the table scan, nested loops and
merge joins off, and the table's other indexes dropped (inside the test's transaction).
Where the condition is not proven, the plan falls back to the table scan, however
expensive. The demo database has few tickets: the plans prove the conditions, they do
not weigh the costs (bench/report_speed.py does).
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from psycopg import sql
from sqlalchemy import Select, select, text
from sqlalchemy.orm import Session

from booking.models import Office, Service
from okienko.database import db
from queueing.models import Ticket, TicketStatus
from reports import handling, waiting
from reports.scope import Period, Scope
from tests.helpers.apps import make_app

pytestmark = pytest.mark.postgres
OFF = tuple(f"enable_{way} = off" for way in ("seqscan", "bitmapscan", "nestloop", "mergejoin"))
THEIRS = ("ix_ticket_waited", "ix_ticket_handled", "ix_ticket_acted")


@pytest.fixture
def pg_app(request: pytest.FixtureRequest, tmp_path: Path) -> Flask:
    return make_app(request, tmp_path, "postgres")


def generic_plan(session: Session, statement: Select[Any]) -> str:
    """EXPLAIN of ``statement`` prepared and planned without its parameters' values."""
    compiled = statement.compile(
        dialect=session.get_bind().dialect, compile_kwargs={"render_postcompile": True}
    )
    names: list[str] = []

    def positional(match: re.Match[str]) -> str:
        names.append(match.group(1))
        return f"${len(names)}"

    query = re.sub(r"%\((\w+)\)s", positional, str(compiled))
    connection = session.connection()
    raw = connection.connection.driver_connection
    values = ", ".join(sql.Literal(compiled.params[n]).as_string(raw) for n in names)
    for setting in ("plan_cache_mode = force_generic_plan", *OFF):
        connection.exec_driver_sql(f"SET LOCAL {setting}")
    connection.exec_driver_sql(f"PREPARE report_statement AS {query}")
    rows = connection.exec_driver_sql(f"EXPLAIN EXECUTE report_statement({values})").all()
    connection.exec_driver_sql("DEALLOCATE report_statement")
    return "\n".join(row[0] for row in rows)


def only_theirs(session: Session) -> None:
    """Leave the ticket table no index but the reports' partial ones (until rollback)."""
    constraints = "SELECT conname FROM pg_constraint WHERE conrelid = 'ticket'::regclass"
    for (name,) in session.execute(text(f"{constraints} AND contype IN ('p', 'u')")).all():
        session.execute(text(f'ALTER TABLE ticket DROP CONSTRAINT "{name}" CASCADE'))
    indexes = "SELECT indexname FROM pg_indexes WHERE tablename = 'ticket'"
    for (name,) in session.execute(text(indexes)).all():
        if name not in THEIRS:
            session.execute(text(f'DROP INDEX "{name}"'))


@pytest.mark.parametrize("key", [None, "raty-umorzenia"])
def test_the_reports_statements_use_their_indexes_in_a_generic_plan(
    pg_app: Flask, key: str | None
) -> None:
    with pg_app.app_context():
        session = db.session()
        only_theirs(session)
        offices = tuple(session.scalars(select(Office.id)))
        if key is not None:  # a service several offices offer
            assert len(session.scalars(select(Service.id).where(Service.key == key)).all()) > 1
        scope, period = Scope(offices, key), Period(date(2026, 1, 1), date(2026, 12, 31))
        _counts, timed, _ranks, _keys = handling._tickets(session, scope, period)
        for_ranks, for_counts, _ranks, _keys = waiting._waits(session, scope, period)
        expected = {
            "ix_ticket_handled": [timed],
            "ix_ticket_acted": [handling._acts(scope, period)],
            "ix_ticket_waited": [for_ranks, for_counts],
        }
        for index, statements in expected.items():
            for statement in statements:
                assert f"using {index} on ticket" in generic_plan(session, statement)

        # The check can fail: the same conditions as parameters are not proven.
        done = Ticket.status == TicketStatus.DONE
        bound = select(Ticket.service_seconds).where(done, Ticket.service_seconds.is_not(None))
        assert "Seq Scan on ticket" in generic_plan(session, bound)
        session.rollback()
