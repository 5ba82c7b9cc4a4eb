"""An office's file (TOML) downloaded and uploaded by its manager.

The export is ``booking/exporter.py``; the import goes through ``booking/importer.py``,
the same code as ``flask offices import``, so the file means the same in both. An upload
must describe exactly the office it is uploaded to. It is refused as a whole when it
would leave a booked visit without counter time: the hours, closures and counters
editors let the manager move or cancel each such booking; an upload cannot.
"""

from __future__ import annotations

import tomllib
from collections import Counter as Multiset
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from booking.importer import import_offices
from booking.models import Office
from okienko.database import Model
from queueing.models import StaffUser

from .affected import stranded
from .audit import plain, record
from .changes import Affected, describe

# What the import summary counts, in the history's order.
PARTS = (
    "office",
    "regime",
    "questions",
    "departments",
    "services",
    "counters",
    "hours",
    "closures",
)


class FileRefused(ValueError):
    """The upload is not this office's file; ``message`` says why, in the user's language,
    and ``detail`` is a parser's own words (English) on where, if it gave any."""

    def __init__(self, message: LazyString | str, detail: str | None = None) -> None:
        super().__init__(str(message))
        self.message = message
        self.detail = detail


class LeavesBookings(Exception):
    """The import was refused: these bookings would lose their counter time."""

    def __init__(self, lost: list[Affected]) -> None:
        super().__init__(", ".join(b.code for b in lost))
        self.lost = lost


def read_office_file(raw: bytes, slug: str) -> dict[str, Any]:
    """The parsed file, if it is TOML describing the one office ``slug``."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise FileRefused(_l("The file is not a text file in UTF-8.")) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise FileRefused(
            _l(
                "The file is not valid TOML. Correct it where the details below say, or "
                "download the file again and redo your changes."
            ),
            detail=str(exc),
        ) from None
    offices = data.get("office")
    if not isinstance(offices, list) or not offices or not isinstance(offices[0], dict):
        raise FileRefused(_l("The file describes no office: it needs one [[office]] table."))
    if len(offices) > 1:
        raise FileRefused(
            _l(
                "The file describes several offices (%(num)d); upload the file of this office "
                "alone.",
                num=len(offices),
            )
        )
    if offices[0].get("slug") != slug:
        raise FileRefused(
            _l(
                "The file is for the office %(other)s, not this one (%(slug)s).",
                other=repr(offices[0].get("slug")),
                slug=slug,
            )
        )
    return data


def _columns(row: Model, leave_out: Iterable[str] = ()) -> tuple[Any, ...]:
    """The row's column values as plain JSON values, ids left out."""
    skip = {"id", "office_id", *leave_out}
    table: Any = row.__table__
    return tuple(
        (column.key, plain(getattr(row, column.key)))
        for column in table.columns
        if column.key not in skip
    )


def office_state(office: Office) -> dict[str, Any]:
    """What the office file sets, keyed so that two states of one office compare by part."""
    policy = office.admission
    return {
        "office": dict(_columns(office)),
        "regime": dict(_columns(policy)) if policy is not None else {},
        "questions": {q.key: _columns(q) for q in office.questions},
        "departments": {d.key: _columns(d) for d in office.departments},
        "services": {
            s.key: (
                _columns(s, ["department_id"]),
                s.department.key if s.department is not None else None,
            )
            for s in office.services
        },
        "counters": {
            c.name: (c.position, sorted(s.key for s in c.services)) for c in office.counters
        },
        "hours": Multiset(_columns(h) for h in office.hours),
        "closures": Multiset(_columns(c) for c in office.closures),
    }


def _changed(before: Any, after: Any) -> int:
    """How many fields or records differ between two states of one part."""
    if isinstance(before, Multiset):
        return sum(((before - after) + (after - before)).values())
    keys = set(before) | set(after)
    return sum(1 for key in keys if before.get(key) != after.get(key))


def changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, int]:
    """Per part, how many fields (office, regime) or records changed."""
    return {part: _changed(before[part], after[part]) for part in PARTS}


def import_office(
    session: Session,
    now: datetime,
    actor: StaffUser,
    office: Office,
    data: dict[str, Any],
    file_name: str | None = None,
) -> dict[str, int]:
    """Apply the parsed file to ``office`` and record one "import" entry; never commits.

    Raises ``OfficeConfigError`` (what and where is wrong in the file) or
    ``LeavesBookings``; the caller then rolls back, and nothing is imported.
    """
    before = office_state(office)
    import_offices(session, data)
    session.flush()
    lost = stranded(session, office, now)
    if lost:
        raise LeavesBookings([describe(b) for b in lost])
    session.expire(office)
    counts = changes(before, office_state(office))
    record(
        session,
        now,
        actor,
        "import",
        "office",
        office.id,
        office_id=office.id,
        after={**counts, "file": file_name} if file_name else counts,
    )
    return counts
