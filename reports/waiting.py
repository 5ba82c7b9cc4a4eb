"""Waiting time: from joining the line to the first call, by service, hour and weekday.

A ticket waits for the service it was issued for (``first_service_id``), also when a
clerk later sent it on; phone consultations never wait in line and are left out.
Appointments also get their punctuality: the first call against the booked start.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    CTE,
    ColumnElement,
    Row,
    Select,
    case,
    cast,
    func,
    literal_column,
    null,
    select,
    union_all,
)
from sqlalchemy.orm import InstrumentedAttribute, Session

from booking.models import Booking, Service
from okienko.i18n import localized
from queueing.models import Ticket, TicketKind

from .scope import Period, Scope
from .sql import quantile, seconds_between, weekday
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


def _waited(scope: Scope, period: Period) -> list[ColumnElement[bool]]:
    return [
        *tickets_in(scope, period, Ticket.first_service_id),
        Ticket.kind != TicketKind.PHONE,
        Ticket.first_called_at.is_not(None),
    ]


def _waits(scope: Scope, period: Period) -> CTE:
    """One row per ticket called in person: its line, local hour, weekday and wait
    (the hour and the wait as the floor stored them), grouped four ways."""
    return (
        select(
            Service.key.label("service"),
            Ticket.issued_hour.label("hour"),
            weekday(Ticket.day).label("weekday"),
            Ticket.wait_seconds.label("wait"),
        )
        .join(Service, Service.id == Ticket.first_service_id)
        .where(*_waited(scope, period))
        .cte("waits")
    )


GROUPS = ("service", "hour", "weekday")


def _figures(waits: CTE, by: str | None) -> Select[Any]:
    """The figures of the waits grouped ``by`` one of GROUPS (None: all together), with
    the other groups' columns empty so that the four groupings make one UNION."""
    wait = waits.c.wait
    return select(
        literal_column(f"'{by or 'overall'}'").label("part"),
        *(
            waits.c[name] if name == by else cast(null(), waits.c[name].type).label(name)
            for name in GROUPS
        ),
        func.count().label("called"),
        quantile(wait, 0.5).label("median"),
        quantile(wait, 0.9).label("p90"),
        *(
            func.sum(case((wait <= limit * 60, 1), else_=0)).label(f"within_{limit}")
            for limit in LIMITS
        ),
    ).group_by(*([waits.c[by]] if by else []))


def _row(row: Row[Any], **labels: Any) -> dict[str, Any]:
    called = row.called or 0
    return {
        **labels,
        "called": called,
        "median_minutes": minutes(row.median),
        "p90_minutes": minutes(row.p90),
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
    """Overall, by service, by hour and by weekday, from one statement."""
    waits = _waits(scope, period)
    grouped: dict[str, list[Row[Any]]] = {"overall": [], **{name: [] for name in GROUPS}}
    for row in session.execute(union_all(*(_figures(waits, by) for by in (None, *GROUPS)))):
        grouped[row.part].append(row)
    names = service_names(session, scope, locale)
    services = [_row(r, service=names.get(r.service, r.service)) for r in grouped["service"]]
    services.sort(key=lambda r: (-r["called"], r["service"]))
    return [
        Table("overall", _l("All tickets called"), FIGURES, [_row(r) for r in grouped["overall"]]),
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
            sorted((_row(r, hour=r.hour) for r in grouped["hour"]), key=lambda r: r["hour"]),
            Chart("bar", "hour", BARS),
        ),
        Table(
            "by_weekday",
            _l("By weekday"),
            [Column("weekday", _l("Weekday"), "weekday"), *FIGURES],
            sorted(
                (_row(r, weekday=r.weekday) for r in grouped["weekday"]),
                key=lambda r: r["weekday"],
            ),
            Chart("bar", "weekday", BARS),
        ),
    ]


def _punctuality(session: Session, scope: Scope, period: Period) -> Table:
    late = seconds_between(Ticket.first_called_at, Booking.starts_at)  # negative: early
    row = session.execute(
        select(
            func.count().label("called"),
            quantile(late, 0.5).label("median"),
            quantile(late, 0.9).label("p90"),
            func.sum(case((late <= ON_TIME, 1), else_=0)).label("on_time"),
            func.sum(case((late < 0, 1), else_=0)).label("early"),
        )
        .join(Booking, Booking.id == Ticket.booking_id)
        .where(*_waited(scope, period), Ticket.kind == TicketKind.APPOINTMENT)
    ).one()
    called = row.called or 0
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
                "median_minutes": minutes(row.median),
                "p90_minutes": minutes(row.p90),
                "on_time": share(row.on_time, called),
                "early": share(row.early, called),
            }
        ],
    )


def build(session: Session, scope: Scope, period: Period, *, locale: str, now: datetime) -> Report:
    """Waiting from joining the line to the first call; ``now`` is unused (history only)."""
    return Report(
        "waiting",
        _l("Waiting time"),
        [*_tables(session, scope, period, locale), _punctuality(session, scope, period)],
    )
