"""The reports there are, in the order the pages list them, by the name in their URL."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from importlib import import_module

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from .scope import Period, Scope
from .sql import snapshot
from .table import Report

Builder = Callable[..., Report]


@dataclass(frozen=True)
class Entry:
    name: str
    title: LazyString
    module: str  # reports.<module> with ``build(session, scope, period, *, locale, now)``

    def build(
        self, session: Session, scope: Scope, period: Period, *, locale: str, now: datetime
    ) -> Report:
        builder: Builder = import_module(f"reports.{self.module}").build
        with snapshot(session) as reading:
            return builder(reading, scope, period, locale=locale, now=now)


REPORTS: dict[str, Entry] = {
    e.name: e
    for e in (
        Entry("visitors", _l("Visitors served"), "visitors"),
        Entry("bookings", _l("Bookings"), "bookings"),
        Entry("services", _l("Most frequent services"), "services"),
        Entry("waiting", _l("Waiting time"), "waiting"),
        Entry("handling", _l("Service time"), "handling"),
        Entry("load", _l("Load"), "load"),
    )
}
