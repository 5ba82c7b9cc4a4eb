"""Waiting time: from joining the line to the first call, by service, hour and weekday.

A ticket waits for the service it was issued for (``first_service_id``), also when a
clerk later sent it on; phone consultations never wait in line and are left out.
Appointments also get their punctuality: the first call against the booked start.
"""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    ColumnElement,
    Select,
    Subquery,
    case,
    func,
    select,
    text,
)
from sqlalchemy.orm import InstrumentedAttribute, Session

from booking.models import Service
from okienko.i18n import localized
from queueing.models import WAITED, Ticket

from .ranks import Grouping, quantiles
from .scope import Period, Scope
from .sql import by_each, lookup, weekday
from .table import Chart, Column, Report, Table

LIMITS = (10, 20, 30)  # minutes: the "served within" shares
ON_TIME = 5 * 60  # seconds after the booked start that still count as a punctual call


def minutes(seconds: float | None) -> float | None:
    """Seconds as minutes to one place, as every report shows durations."""
    return None if seconds is None else round(seconds / 60, 1)


def share(part: int | None, whole: int) -> float | None:
    """``part`` of ``whole`` to four places; None when there is no whole to share."""
    return round((part or 0) / whole, 4) if whole else None


def service_names(session: Session, scope: Scope, locale: str) -> dict[str, str]:
    """Each service key's name in ``locale``, from any office in scope that offers it."""
    rows = session.execute(
        select(Service.key, Service.names)
        .where(Service.office_id.in_(scope.office_ids))
        .order_by(Service.office_id)
    )
    names: dict[str, str] = {}
    for key, texts in rows:
        names.setdefault(key, localized(texts, locale) or key)
    return names


def services_of(scope: Scope) -> Select[int]:
    """The ids of the scope's service in every office in scope (all of them if unfiltered)."""
    query = select(Service.id).where(Service.office_id.in_(scope.office_ids))
    return query if scope.service_key is None else query.where(Service.key == scope.service_key)


def tickets_in(
    scope: Scope, period: Period, service: InstrumentedAttribute[Any]
) -> list[ColumnElement[bool]]:
    """Tickets of the scope's offices issued in the period, for the scope's service as
    ``service`` (the first or the final service column) names it."""
    where: list[ColumnElement[bool]] = [
        Ticket.office_id.in_(scope.office_ids),
        Ticket.day.between(period.first, period.last),
    ]
    if scope.service_key is not None:
        where.append(service.in_(services_of(scope)))
    return where


def service_ranks(
    session: Session, scope: Scope, service: InstrumentedAttribute[Any]
) -> tuple[ColumnElement[int], dict[int, int], list[str]]:
    """The scope's services as small integers, one per key (so that the same service in
    several offices is one group), for ``ranks.quantiles``: of the ticket's first or
    final service as ``service`` names it; the same as a table of service ids, for
    counts grouped by the ids themselves (which the planner can estimate); and the keys
    in that order."""
    pairs = session.execute(
        select(Service.id, Service.key).where(Service.id.in_(services_of(scope)))
    )
    ids = dict(pairs.all())
    keys = sorted(set(ids.values()))
    rank = {key: i for i, key in enumerate(keys)}
    table = {i: rank[key] for i, key in ids.items()}
    return lookup(service, table), table, keys


def _waits(
    session: Session, scope: Scope, period: Period
) -> tuple[Select[*tuple[Any, ...]], Select[*tuple[Any, ...]], dict[int, int], list[str]]:
    """One row per ticket called in person: its line (as ``service_ranks``), local hour,
    weekday, wait and (appointments) lateness, all as the floor stored them. Twice: with
    the line's rank, for the quantiles; with its service id, for the counts."""
    rank, ranks, keys = service_ranks(session, scope, Ticket.first_service_id)

    def rows(service: ColumnElement[Any]) -> Select[*tuple[Any, ...]]:
        return select(
            service.label("service"),
            Ticket.issued_hour.label("hour"),
            weekday(Ticket.day).label("weekday"),
            Ticket.wait_seconds.label("wait"),
            Ticket.late_seconds.label("late"),
        ).where(
            *tickets_in(scope, period, Ticket.first_service_id),
            text(WAITED),  # called in person, as the index ix_ticket_waited has it
        )

    return rows(rank), rows(Ticket.first_service_id.expression), ranks, keys


GROUPS = ("service", "hour", "weekday")


def _figures(waits: Subquery) -> list[ColumnElement[Any]]:
    """The counts of a group of waits; and, which only the whole is read for, the
    appointments' lateness."""
    wait, late = waits.c.wait, waits.c.late
    return [
        func.count().label("called"),
        func.count(wait).label("waits"),
        *(
            func.sum(case((wait <= limit * 60, 1), else_=0)).label(f"within_{limit}")
            for limit in LIMITS
        ),
        func.count(late).label("lates"),
        func.sum(case((late <= ON_TIME, 1), else_=0)).label("on_time"),
        func.sum(case((late < 0, 1), else_=0)).label("early"),
    ]


def _row(
    row: SimpleNamespace, quantiles: list[float | None] | None, **labels: Any
) -> dict[str, Any]:
    called = row.called or 0
    median, p90 = quantiles or (None, None)
    return {
        **labels,
        "called": called,
        "median_minutes": minutes(median),
        "p90_minutes": minutes(p90),
        **{f"within_{n}": share(getattr(row, f"within_{n}"), called) for n in LIMITS},
    }


FIGURES = [
    Column("called", _l("Called"), "int"),
    Column("median_minutes", _l("Median (min)"), "minutes"),
    Column("p90_minutes", _l("90th percentile (min)"), "minutes"),
    *(Column(f"within_{n}", _l("Within %(n)d min", n=n), "share") for n in LIMITS),
]
BARS = ("median_minutes", "p90_minutes")


def _tables(session: Session, scope: Scope, period: Period, locale: str) -> list[Table]:
    """Overall, by service, by hour and by weekday, and the appointments' punctuality:
    the counts from one statement, the quantiles from another."""
    rows, counted, ranks, keys = _waits(session, scope, period)
    waits = counted.subquery("waits")
    grouped = by_each(session, [(waits, _figures(waits))], (None, *GROUPS), {"service": ranks})
    overall = grouped[None][0]
    groupings = {
        "overall": Grouping("wait", None, {None: overall.waits}),
        **{
            by: Grouping("wait", by, {getattr(r, by): r.waits for r in grouped[by]})
            for by in GROUPS
        },
        "late": Grouping("late", None, {None: overall.lates}),
    }
    found = quantiles(session, rows, groupings, (0.5, 0.9))
    names = service_names(session, scope, locale)
    labels = [names.get(key, key) for key in keys]  # by service rank
    services = [
        _row(r, found["service"].get(r.service), service=labels[r.service])
        for r in grouped["service"]
    ]
    services.sort(key=lambda r: (-r["called"], r["service"]))
    by_hour = [_row(r, found["hour"].get(r.hour), hour=r.hour) for r in grouped["hour"]]
    by_weekday = [
        _row(r, found["weekday"].get(r.weekday), weekday=r.weekday) for r in grouped["weekday"]
    ]
    return [
        Table(
            "overall",
            _l("All tickets called"),
            FIGURES,
            [_row(overall, found["overall"].get(None))],
        ),
        Table(
            "by_service",
            _l("By service"),
            [Column("service", _l("Service"), "text"), *FIGURES],
            services,
            Chart("bar", "service", BARS),
        ),
        Table(
            "by_hour",
            _l("By hour of the day"),
            [Column("hour", _l("Hour"), "hour"), *FIGURES],
            sorted(by_hour, key=lambda r: r["hour"]),
            Chart("bar", "hour", BARS),
        ),
        Table(
            "by_weekday",
            _l("By weekday"),
            [Column("weekday", _l("Weekday"), "weekday"), *FIGURES],
            sorted(by_weekday, key=lambda r: r["weekday"]),
            Chart("bar", "weekday", BARS),
        ),
        _punctuality(overall, found["late"].get(None)),
    ]


def _punctuality(overall: SimpleNamespace, quantiles: list[float | None] | None) -> Table:
    called = overall.lates or 0
    median, p90 = quantiles or (None, None)
    return Table(
        "punctuality",
        _l("Appointments: first call against the booked time"),
        [
            Column("called", _l("Called"), "int"),
            Column("median_minutes", _l("Median (min after the booked time)"), "minutes"),
            Column("p90_minutes", _l("90th percentile (min after the booked time)"), "minutes"),
            Column("on_time", _l("Called at most 5 min late"), "share"),
            Column("early", _l("Called before the booked time"), "share"),
        ],
        [
            {
                "called": called,
                "median_minutes": minutes(median),
                "p90_minutes": minutes(p90),
                "on_time": share(overall.on_time, called),
                "early": share(overall.early, called),
            }
        ],
    )


def build(session: Session, scope: Scope, period: Period, *, locale: str, now: datetime) -> Report:
    """Waiting from joining the line to the first call; ``now`` is unused (history only)."""
    return Report(
        "waiting",
        _l("Waiting time"),
        _tables(session, scope, period, locale),
    )
