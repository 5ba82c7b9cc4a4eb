"""The office file's values, checked one by one before they reach the database: types,
lengths, bounds, and text it can store. Each check raises ``OfficeConfigError``, whose
message says where in the file and why."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Enum, String

from .limits import BOUNDS, within
from .offices import storable


class OfficeConfigError(ValueError):
    """A configuration that cannot be loaded; the message says where and why."""


def storable_texts(value: Any, where: str = "") -> None:
    """Every text in the file, keys included, is one the database can store (no NUL);
    ``where`` is the path to ``value``, such as ``office[1].services[2].name``."""
    if isinstance(value, str) and not storable(value):
        raise OfficeConfigError(f"{where or 'the file'}: the text holds a NUL character")
    if isinstance(value, dict):
        for key, item in value.items():
            storable_texts(key, where)
            storable_texts(item, f"{where}.{key}" if where else str(key))
    elif isinstance(value, list):
        for number, item in enumerate(value, 1):
            storable_texts(item, f"{where}[{number}]")


def tables(value: Any, where: str) -> list[dict[str, Any]]:
    """A list of tables (``[[...]]``), or none."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise OfficeConfigError(f"{where}: give a list of tables")
    return value


def words(value: Any, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise OfficeConfigError(f"{where}: give a list of texts")
    return value


def fits(row: Any, where: str) -> None:
    """Each text column of ``row`` holds text no longer than the column: the database
    refuses more (PostgreSQL), or another type."""
    for column in row.__table__.columns:
        kind = column.type
        if not isinstance(kind, String) or isinstance(kind, Enum) or not kind.length:
            continue
        value = getattr(row, column.key)
        if value is not None and not isinstance(value, str):
            raise OfficeConfigError(f"{where}: '{column.key}' must be text")
        if value is not None and len(value) > kind.length:
            raise OfficeConfigError(
                f"{where}: '{column.key}' is longer than {kind.length} characters"
            )


def whole_number(value: Any, name: str, where: str) -> int:
    """``value`` if it is a whole number within the bounds of the setting ``name``."""
    if not within(name, value):
        low, high = BOUNDS[name]
        raise OfficeConfigError(f"{where}: '{name}' must be a whole number from {low} to {high}")
    return int(value)
