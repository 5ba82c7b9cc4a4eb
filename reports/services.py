"""The most frequent services: visitors served per service, their share, and the trend
against the period of the same length just before.

A visitor counts for the service finally served (a ticket moved on counts for the
second service). Across offices a service is its ``key``, named as the first office
that offers it names it.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import func
from sqlalchemy.orm import Session

from booking.models import Service
from queueing.models import Ticket

from .scope import Period, Scope
from .table import Chart, Column, Report, Table
from .visitors import served
from .waiting import service_names

COLUMNS = [
    Column("service", _l("Service"), "text"),
    Column("key", _l("Key"), "text"),
    Column("served", _l("Visitors served"), "int"),
    Column("share", _l("Share"), "share"),
    Column("previous", _l("Previous period"), "int"),
    Column("change", _l("Change"), "share"),
]


def build(session: Session, scope: Scope, period: Period, *, locale: str, now: datetime) -> Report:
    previous_first = period.previous_first()
    current = Ticket.day >= period.first
    # Both periods in one pass: the previous one ends the day before this one starts.
    query = (
        served(replace(scope, service_key=None), previous_first, period.last)
        .join(Service, Service.id == Ticket.service_id)
        .add_columns(
            Service.key,
            func.count().filter(current),
            func.count().filter(~current),
        )
        .group_by(Service.key)
    )
    if scope.service_key is not None:
        query = query.where(Service.key == scope.service_key)
    counts = {key: (int(now_), int(before)) for key, now_, before in session.execute(query)}
    names = service_names(session, scope, locale)
    total = sum(now_ for now_, _before in counts.values())
    rows = [
        {
            "service": names.get(key, key),
            "key": key,
            "served": now_,
            "share": round(now_ / total, 4) if total else None,
            "previous": before,
            "change": round((now_ - before) / before, 4) if before else None,
        }
        for key, (now_, before) in counts.items()
    ]
    rows.sort(key=lambda row: (-row["served"], row["service"].casefold(), row["key"]))
    return Report(
        name="services",
        title=_l("Most frequent services"),
        tables=[
            Table(
                key="by_service",
                title=_l("Visitors served by service"),
                columns=COLUMNS,
                rows=rows,
                chart=Chart("bar", "service", ("served",)),
            )
        ],
    )
