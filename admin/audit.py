"""The change history: every change made in the administration, and every sign-in."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, time
from enum import Enum
from typing import Any

from sqlalchemy.orm import Session

from queueing.models import StaffUser

from .models import ChangeLog


def plain(value: Any) -> Any:
    """A value as JSON can hold it: dates and times as ISO text, enums by value."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(v) for v in value]
    return value


def snapshot(record: object, fields: Iterable[str]) -> dict[str, Any]:
    """The named attributes of ``record``, ready for ``before``/``after``."""
    return {name: plain(getattr(record, name)) for name in fields}


def changed(before: Mapping[str, Any], after: Mapping[str, Any]) -> tuple[dict, dict]:
    """Only the fields whose value differs, from both sides."""
    keys = [k for k in {**before, **after} if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after.get(k) for k in keys}


def record(
    session: Session,
    now: datetime,
    actor: StaffUser | None,
    action: str,
    record_type: str,
    record_id: object = None,
    *,
    office_id: int | None = None,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    actor_name: str | None = None,
    address: str | None = None,
) -> ChangeLog | None:
    """Add one history entry to the unit of work; an update that changed nothing adds none."""
    old, new = plain(dict(before or {})), plain(dict(after or {}))
    if action == "update":
        old, new = changed(old, new)
        if not old and not new:
            return None
    entry = ChangeLog(
        at=now,
        actor_id=actor.id if actor is not None else None,
        actor_name=actor_name or (actor.name if actor is not None else "—"),
        office_id=office_id,
        action=action,
        record_type=record_type,
        record_id=None if record_id is None else str(record_id),
        before=old,
        after=new,
        address=address,
    )
    session.add(entry)
    return entry
