"""SQL that PostgreSQL and SQLite spell differently, as expressions that read the same.

Quantiles are ``percentile_cont`` on PostgreSQL and an aggregate of the same
definition (linear interpolation between the closest ranks) registered on every
SQLite connection, as are the local hour of a UTC timestamp in an IANA zone and the
picking of ranks (reports/ranks.py). Also: counts by several groupings from one
grouped statement (``by_each``), a small id table (``lookup``), and the snapshot a
report reads (``snapshot``).
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Date,
    Engine,
    Float,
    FromClause,
    Integer,
    case,
    event,
    select,
    text,
    union_all,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement

from .ranks import NthValues


@contextmanager
def snapshot(session: Session) -> Iterator[Session]:
    """``session`` reading one snapshot of the data for a report: its counts and its
    quantiles come from separate statements (reports/ranks.py), which must see the same
    rows. SQLite's transaction reads one snapshot already. On PostgreSQL the request's
    transaction (reads only, so far) ends, giving its connection back, and a read-only
    REPEATABLE READ one takes its place, ended after the report: a second connection
    held per report would exhaust the pool under concurrent reports."""
    if session.get_bind().dialect.name != "postgresql":
        yield session
        return
    session.rollback()
    session.connection(
        execution_options={"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}
    )
    try:
        # A report's statements read every row of the period once: compiling them to
        # machine code (on by default) costs more than it saves.
        session.execute(text("SET LOCAL jit = off"))
        # The quantiles sort every duration of the period once per grouping: in memory
        # rather than on disk (a year of ten offices is about 11 MB a sort).
        session.execute(text("SET LOCAL work_mem = '64MB'"))
        yield session
    finally:
        session.rollback()  # the connection goes back to the pool with its defaults


def interpolated(values: list[float], q: float) -> float | None:
    """The ``q`` quantile of ``values`` as percentile_cont computes it; None if empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = q * (len(ordered) - 1)
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


class quantile(FunctionElement[float]):
    """``quantile(value, q)``: an aggregate, the ``q`` (0..1) quantile of ``value``."""

    type = Float()
    inherit_cache = True
    name = "quantile"


@compiles(quantile, "postgresql")
def _quantile_pg(element: quantile, compiler: SQLCompiler, **kw: Any) -> str:
    value, q = list(element.clauses)
    return (
        f"percentile_cont({compiler.process(q, **kw)}) "
        f"WITHIN GROUP (ORDER BY {compiler.process(value, **kw)})"
    )


@compiles(quantile, "sqlite")
def _quantile_sqlite(element: quantile, compiler: SQLCompiler, **kw: Any) -> str:
    return f"okienko_quantile({compiler.process(element.clauses, **kw)})"


class local_hour(FunctionElement[int]):
    """``local_hour(utc_timestamp, zone)``: the hour 0..23 on the office's clocks."""

    type = Integer()
    inherit_cache = True
    name = "local_hour"


@compiles(local_hour, "postgresql")
def _local_hour_pg(element: local_hour, compiler: SQLCompiler, **kw: Any) -> str:
    moment, zone = list(element.clauses)
    return (
        f"date_part('hour', timezone({compiler.process(zone, **kw)}, "
        f"timezone('UTC', {compiler.process(moment, **kw)})))::int"
    )


@compiles(local_hour, "sqlite")
def _local_hour_sqlite(element: local_hour, compiler: SQLCompiler, **kw: Any) -> str:
    return f"okienko_local_hour({compiler.process(element.clauses, **kw)})"


class week_start(FunctionElement[Any]):
    """The Monday of a date's ISO week."""

    type = Date()
    inherit_cache = True
    name = "week_start"


@compiles(week_start, "postgresql")
def _week_pg(element: week_start, compiler: SQLCompiler, **kw: Any) -> str:
    return f"date_trunc('week', {compiler.process(element.clauses, **kw)})::date"


@compiles(week_start, "sqlite")
def _week_sqlite(element: week_start, compiler: SQLCompiler, **kw: Any) -> str:
    return f"date({compiler.process(element.clauses, **kw)}, 'weekday 0', '-6 days')"


class month_start(FunctionElement[Any]):
    """The first day of a date's month."""

    type = Date()
    inherit_cache = True
    name = "month_start"


@compiles(month_start, "postgresql")
def _month_pg(element: month_start, compiler: SQLCompiler, **kw: Any) -> str:
    return f"date_trunc('month', {compiler.process(element.clauses, **kw)})::date"


@compiles(month_start, "sqlite")
def _month_sqlite(element: month_start, compiler: SQLCompiler, **kw: Any) -> str:
    return f"date({compiler.process(element.clauses, **kw)}, 'start of month')"


class weekday(FunctionElement[int]):
    """A date's weekday, 0 for Monday to 6 for Sunday (as ``date.weekday()``)."""

    type = Integer()
    inherit_cache = True
    name = "weekday"


@compiles(weekday, "postgresql")
def _weekday_pg(element: weekday, compiler: SQLCompiler, **kw: Any) -> str:
    # Days since a Monday: date arithmetic, a tenth of date_part's cost per row.
    days = f"({compiler.process(element.clauses, **kw)}) - DATE '1970-01-05'"
    return f"mod(mod({days}, 7) + 7, 7)"


@compiles(weekday, "sqlite")
def _weekday_sqlite(element: weekday, compiler: SQLCompiler, **kw: Any) -> str:
    return f"((CAST(strftime('%w', {compiler.process(element.clauses, **kw)}) AS INTEGER) + 6) % 7)"


class lookup(FunctionElement[int]):
    """``lookup(id_column, {id: value})``: a small table of positive integer ids to
    integers, NULL for any other id; on PostgreSQL an array read by the id, which costs
    a tenth of the CASE that SQLite gets."""

    type = Integer()
    inherit_cache = False  # the table is written into the statement
    name = "lookup"

    def __init__(self, column: Any, table: dict[int, int]) -> None:
        self.table = table
        super().__init__(column)


@compiles(lookup, "postgresql")
def _lookup_pg(element: lookup, compiler: SQLCompiler, **kw: Any) -> str:
    values = [element.table.get(i) for i in range(1, max(element.table, default=0) + 1)]
    items = ",".join("NULL" if v is None else str(int(v)) for v in values)
    return f"('{{{items}}}'::int[])[{compiler.process(element.clauses, **kw)}]"


@compiles(lookup, "sqlite")
def _lookup_sqlite(element: lookup, compiler: SQLCompiler, **kw: Any) -> str:
    if not element.table:
        return "NULL"
    (column,) = element.clauses
    return compiler.process(case(element.table, value=column), **kw)


def by_each(
    session: Session,
    parts: Sequence[tuple[FromClause, Sequence[ColumnElement[Any]]]],
    groups: Sequence[str | None],
    relabel: Mapping[str, Mapping[Any, Any]] | None = None,
) -> dict[str | None, list[SimpleNamespace]]:
    """Counts and sums over rows grouped by each of their columns ``groups`` in turn
    (None: all rows together): group → rows, each with its own column and the sums.
    ``parts``: each a source of rows with those columns, and its sums (labelled alike in
    every part, in one order; nothing that cannot be added up). Rows whose own column is
    NULL are left out; the whole (None) always has its one row. ``relabel``: a group
    column's values read through a table first (several ids one group), those not in it
    left out.

    One statement, each part grouped by every column at once, gives the few combinations
    that occur, which are added up here: the database reads and groups the rows once, in
    parallel where it can, the parts side by side (GROUPING SETS would read them once
    too, but in one process)."""
    names = [g for g in groups if g is not None]
    labels = [str(column.name) for column in parts[0][1]]
    statements = []
    for source, sums in parts:
        if [str(column.name) for column in sums] != labels:
            raise ValueError("every part sums the same figures in the same order")
        statement = select(*(source.c[n] for n in names), *sums)
        statements.append(statement.group_by(*(source.c[n] for n in names)) if names else statement)
    totals: dict[str | None, dict[Any, list[Any]]] = {g: {} for g in groups}
    for row in session.execute(union_all(*statements) if len(statements) > 1 else statements[0]):
        values = row[len(names) :]
        for group in groups:
            key = None if group is None else row[names.index(group)]
            if group is not None and relabel and group in relabel:
                key = relabel[group].get(key)
            if group is not None and key is None:
                continue
            into = totals[group].setdefault(key, [0] * len(labels))
            for i, value in enumerate(values):
                into[i] += value or 0
    if None in totals:
        totals[None].setdefault(None, [0] * len(labels))
    return {
        group: [
            SimpleNamespace(
                **({} if group is None else {group: key}), **dict(zip(labels, v, strict=True))
            )
            for key, v in found.items()
        ]
        for group, found in totals.items()
    }


def bucket(day: ColumnElement[Any], grain: str) -> ColumnElement[Any]:
    """A local date column grouped by day, ISO week (its Monday) or month (its 1st)."""
    if grain == "week":
        return week_start(day)
    if grain == "month":
        return month_start(day)
    return day


class _Quantile:
    """SQLite's side of ``quantile``: collects the values, interpolates at the end."""

    def __init__(self) -> None:
        self.values: list[float] = []
        self.q = 0.5

    def step(self, value: float | None, q: float) -> None:
        if value is not None:
            self.values.append(value)
            self.q = q

    def finalize(self) -> float | None:
        return interpolated(self.values, self.q)


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


@lru_cache(maxsize=65536)
def _hour_of_quarter(utc_hour: str, quarter: int, zone: str) -> int:
    start = datetime.fromisoformat(f"{utc_hour}:{quarter * 15:02d}:00")
    return start.replace(tzinfo=UTC).astimezone(_zone(zone)).hour


def _local_hour(moment: str | None, zone: str) -> int | None:
    """SQLite stores naive UTC as text: 'YYYY-MM-DD HH:MM:SS[.ffffff]'. Every zone's offset
    is a whole number of quarter hours: one conversion per UTC quarter hour and zone."""
    if moment is None:
        return None
    return _hour_of_quarter(moment[:13], int(moment[14:16]) // 15, zone)


def _on_connect(dbapi_connection: Any, _record: Any) -> None:
    if isinstance(dbapi_connection, sqlite3.Connection):
        # typeshed knows one-argument aggregates only
        dbapi_connection.create_aggregate("okienko_quantile", 2, _Quantile)  # type: ignore[arg-type]
        dbapi_connection.create_aggregate("okienko_nth_values", 2, NthValues)  # type: ignore[arg-type]
        dbapi_connection.create_function("okienko_local_hour", 2, _local_hour, deterministic=True)


def register_sqlite_functions() -> None:
    """Every SQLite connection from now on knows ``quantile`` and ``local_hour``."""
    if not event.contains(Engine, "connect", _on_connect):
        event.listen(Engine, "connect", _on_connect)
