"""The SQLAlchemy handle, the UTC datetime column type, SQLite connection rules and
which transactions may write (readers run side by side on SQLite)."""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar, cast

from flask import Flask, g, request
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import Connection, CursorResult, DateTime, Engine, Enum, MetaData, Result, event
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


db = SQLAlchemy(model_class=Base)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored as naive UTC and returned as an aware UTC datetime.

    SQLite drops the zone of ``DateTime(timezone=True)``; storing naive UTC
    everywhere makes both databases compare and index the same values.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


if TYPE_CHECKING:
    # At run time db.Model is Base with Flask-SQLAlchemy's mixins (table names, binds),
    # built when ``db`` is made; for the type checker it is Base.
    Model = Base
else:
    Model = db.Model


def rows_changed(result: Result[Any]) -> int:
    """How many rows an UPDATE or DELETE changed: a claim that changed 1 took the row."""
    return cast("CursorResult[Any]", result).rowcount


def utcnow() -> datetime:
    return datetime.now(UTC)


# Whether transactions begun now may write. Writing is the default (commands, jobs,
# scripts, tests); a request that only reads says so (``register_intent``), and so does
# work outside a request with ``reading()``.
_writing: ContextVar[bool] = ContextVar("okienko.writing", default=True)

READING_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_WRITES = "okienko_writes"  # the mark ``writes`` sets on a view
_QUERY_ONLY = "okienko.query_only"  # a connection's PRAGMA query_only, as last set

View = TypeVar("View", bound=Callable[..., Any])


@contextmanager
def reading() -> Iterator[None]:
    """Transactions begun in the block only read: on SQLite they take no write lock.

    For reads outside a request, such as a stream's after its response has begun.
    """
    token = _writing.set(False)
    try:
        yield
    finally:
        _writing.reset(token)


@contextmanager
def writing() -> Iterator[None]:
    """Transactions begun in the block may write, even within a request that only reads:
    for a small side write in a transaction of its own (a device's last-seen time)."""
    token = _writing.set(True)
    try:
        yield
    finally:
        _writing.reset(token)


def may_write() -> bool:
    """Whether transactions begun now may write."""
    return _writing.get()


def writes(view: View) -> View:
    """Mark a view that writes although it answers GET: its request's transactions may write.

    The mark is read as the request starts, before any query; functools.wraps copies it
    to the decorators around the view, so it may stand anywhere among them.
    """
    setattr(view, _WRITES, True)
    return view


def register_intent(app: Flask) -> None:
    """Requests by GET, HEAD or OPTIONS only read, unless their view is marked ``writes``."""

    @app.before_request
    def _declare() -> None:
        view = app.view_functions.get(request.endpoint or "")
        reads = request.method in READING_METHODS and not getattr(view, _WRITES, False)
        g.okienko_writing = _writing.set(not reads)

    @app.teardown_request
    def _restore(_exc: BaseException | None) -> None:
        # A worker thread goes on to other requests, and to a streamed body after this.
        if (token := g.pop("okienko_writing", None)) is not None:
            _writing.reset(token)


def configure_sqlite(engine: Engine) -> None:
    """Make SQLite transactions safe under concurrent writers, and readers concurrent.

    pysqlite's own transaction handling breaks SAVEPOINT, so we begin transactions
    ourselves. A deferred transaction that reads before it writes can fail with
    SQLITE_BUSY despite the busy timeout (another writer committed since its
    first read), so a transaction that may write begins IMMEDIATE and waits its
    turn. One that only reads begins deferred and, under WAL, runs beside the
    writer and the other readers; PRAGMA query_only makes a write in it fail at
    once, every time, instead of only under contention.
    """

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()
        record.info[_QUERY_ONLY] = False

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        read_only = not _writing.get()
        if connection.info.get(_QUERY_ONLY) is not read_only:
            connection.exec_driver_sql(f"PRAGMA query_only={int(read_only)}")
            connection.info[_QUERY_ONLY] = read_only
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def string_enum(cls: type[enum.Enum]) -> Enum:
    """An enum stored as its values in a plain string column: new values need no migration."""
    return Enum(cls, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e])
