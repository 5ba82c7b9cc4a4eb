"""Reading the change history, newest first, a page at a time."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import ChangeLog

PAGE = 50


@dataclass(frozen=True)
class HistoryPage:
    entries: list[ChangeLog]
    older: int | None  # the ``before`` of the next page, if there is one


def history_page(session: Session, office_id: int | None, before: int | None) -> HistoryPage:
    """One office's entries, or (``office_id`` None) everybody's, older than ``before``."""
    query = select(ChangeLog).order_by(ChangeLog.id.desc()).limit(PAGE + 1)
    if office_id is not None:
        query = query.where(ChangeLog.office_id == office_id)
    if before is not None:
        query = query.where(ChangeLog.id < before)
    rows = list(session.scalars(query))
    older = rows[PAGE - 1].id if len(rows) > PAGE else None
    return HistoryPage(rows[:PAGE], older)
