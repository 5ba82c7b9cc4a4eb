"""The SQLAlchemy handle, the UTC datetime column type and SQLite connection rules."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import CursorResult, DateTime, Engine, Enum, MetaData, Result, event
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


def configure_sqlite(engine: Engine) -> None:
    """Make SQLite transactions safe under concurrent writers.

    pysqlite's own transaction handling breaks SAVEPOINT, and a deferred
    transaction that reads before it writes can fail with SQLITE_BUSY despite
    the busy timeout; so every transaction begins IMMEDIATE and waits its turn.
    """

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def string_enum(cls: type[enum.Enum]) -> Enum:
    """An enum stored as its values in a plain string column: new values need no migration."""
    return Enum(cls, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e])
