"""The ticket a counter holds is read through ``uq_ticket_counter_busy`` on SQLite too.

SQLite uses a partial index only for a query that repeats the index's WHERE terms with
the same literals: with the statuses bound as parameters it reads every ticket the
counter ever had, on every call of the day (112 ms a call with a year of history, 0.1 ms
through the index; bench/README.md). The floor's ``current_ticket`` and the live report's
busy counters ask with ``holds_counter()``; SQLite's own plan shows the index.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask
from sqlalchemy import event

from booking.models import Counter, Office
from okienko.database import db
from queueing.calling import current_ticket
from reports.live import counter_states
from tests.helpers.floor import KOSZALIN


@contextmanager
def statements(app: Flask) -> Iterator[list[tuple[str, Any]]]:
    seen: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, params: Any, *_args: Any) -> None:
        seen.append((statement, params))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def plan(statement: str, params: Any) -> str:
    rows = db.session.connection().exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params)
    return " / ".join(row[-1] for row in rows)


def test_the_ticket_at_a_counter_is_found_through_the_partial_index(app: Flask) -> None:
    with app.app_context():
        office = db.session.query(Office).filter_by(slug=KOSZALIN).one()
        counter = db.session.query(Counter).filter_by(office_id=office.id).first()
        assert counter is not None
        with statements(app) as seen:
            current_ticket(db.session(), counter)
            counter_states(db.session(), office)
        busy = [(s, p) for s, p in seen if "ticket.status IN" in s]
        assert len(busy) == 2, seen
        for statement, params in busy:
            assert "ticket.status IN ('called', 'serving')" in statement  # literals, not ?
            assert "USING INDEX uq_ticket_counter_busy" in plan(statement, params), statement
