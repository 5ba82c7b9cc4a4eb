"""Service time: from the start of the (last) service to its finish, for tickets done.

A ticket counts for the service it was finished for, at the counter it was last at and
for the clerk who served it last. Recalls, transfers and parks go to whoever did them:
by counter and by clerk they are counted from the audit log (the counter and clerk of
each entry), for the same tickets; a counter or clerk that only recalled, sent on or set
aside tickets still has a row. By service they stay the tickets' own counts, under the
service each ticket ended in, whatever became of it.
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
from sqlalchemy.orm import Session

from booking.models import Counter, Office, Service
from queueing.models import AuditEntry, StaffUser, Ticket, TicketStatus

from .scope import Period, Scope
from .sql import quantile
from .table import Chart, Column, Report, Table
from .waiting import minutes, service_names, tickets_in

GROUPS = ("service", "counter", "clerk")
ACTS = ("recall", "transfer", "park")  # audit actions, in the order of COUNTS
COUNTS = ("recalls", "transfers", "parks")


def _handled(scope: Scope, period: Period) -> CTE:
    """One row per ticket of the period: its final service, last counter and clerk, its
    service time if done (NULL otherwise: the quantiles skip it) and its own counts; and
    one row per recall, transfer or park of those tickets, without a service, at the
    counter and by the clerk of its audit entry, its action counted 1."""
    done = Ticket.status == TicketStatus.DONE
    in_scope = tickets_in(scope, period, Ticket.service_id)
    tickets = (
        select(
            Service.key.label("service"),
            Ticket.counter_id.label("counter"),
            Ticket.served_by_id.label("clerk"),
            case((done, 1), else_=0).label("done"),
            case((done, Ticket.service_seconds)).label("took"),
            Ticket.recalls,
            Ticket.transfers,
            Ticket.parks,
        )
        .join(Service, Service.id == Ticket.service_id)
        .where(*in_scope)
    )
    acts = (
        select(
            cast(null(), Service.key.type),
            AuditEntry.counter_id,
            AuditEntry.staff_id,
            literal_column("0"),
            cast(null(), Ticket.service_seconds.type),
            *(case((AuditEntry.action == action, 1), else_=0) for action in ACTS),
        )
        .join(Ticket, Ticket.id == AuditEntry.ticket_id)
        .where(*in_scope, AuditEntry.action.in_(ACTS))
    )
    return union_all(tickets, acts).cte("handled")


def _figures(handled: CTE, by: str) -> Select[Any]:
    """The figures grouped ``by`` one of GROUPS, the other groups' columns empty (one UNION);
    tickets never at a counter or never served by a clerk have no row there."""
    took = handled.c.took
    counts: list[ColumnElement[Any]] = [handled.c[name] for name in COUNTS]
    if by != "service":
        # Who did it: only the audit rows (those without a service) count here; by service
        # the ``by`` filter below leaves the tickets' own counts alone.
        counts = [case((handled.c.service.is_(None), count), else_=0) for count in counts]
    return (
        select(
            literal_column(f"'{by}'").label("part"),
            *(
                handled.c[name] if name == by else cast(null(), handled.c[name].type).label(name)
                for name in GROUPS
            ),
            func.sum(handled.c.done).label("served"),
            quantile(took, 0.5).label("median"),
            quantile(took, 0.9).label("p90"),
            func.avg(took).label("mean"),
            *(func.sum(count).label(name) for count, name in zip(counts, COUNTS, strict=True)),
        )
        .where(handled.c[by].is_not(None))
        .group_by(handled.c[by])
    )


def _row(row: Row[Any], **labels: Any) -> dict[str, Any]:
    return {
        **labels,
        "served": row.served or 0,
        "median_minutes": minutes(row.median),
        "p90_minutes": minutes(row.p90),
        "mean_minutes": minutes(row.mean),
        "recalls": row.recalls or 0,
        "transfers": row.transfers or 0,
        "parks": row.parks or 0,
    }


FIGURES = [
    Column("served", _l("Served"), "int"),
    Column("median_minutes", _l("Median (min)"), "minutes"),
    Column("p90_minutes", _l("90th percentile (min)"), "minutes"),
    Column("mean_minutes", _l("Mean (min)"), "minutes"),
    Column("recalls", _l("Recalls"), "int"),
    Column("transfers", _l("Transfers"), "int"),
    Column("parks", _l("Parked"), "int"),
]


def _counters(
    session: Session, scope: Scope, ids: set[int], locale: str
) -> dict[int, tuple[str, tuple[int, int, str]]]:
    """Each counter's label and place in the list. Counters are named per office ("Okno 1"
    in each): across offices the label says which."""
    offices = {
        office.id: office.name_in(locale)
        for office in session.scalars(select(Office).where(Office.id.in_(scope.office_ids)))
    }
    counters = session.scalars(select(Counter).where(Counter.id.in_(ids))).all()
    return {
        c.id: (
            c.name if len(offices) == 1 else f"{c.name} ({offices[c.office_id]})",
            (c.office_id, c.position, c.name),
        )
        for c in counters
    }


def _tables(session: Session, scope: Scope, period: Period, locale: str) -> list[Table]:
    handled = _handled(scope, period)
    grouped: dict[str, list[Row[Any]]] = {name: [] for name in GROUPS}
    for row in session.execute(union_all(*(_figures(handled, by) for by in GROUPS))):
        grouped[row.part].append(row)

    names = service_names(session, scope, locale)
    services = [_row(r, service=names.get(r.service, r.service)) for r in grouped["service"]]
    services.sort(key=lambda r: (-r["served"], r["service"]))
    counters = _counters(session, scope, {r.counter for r in grouped["counter"]}, locale)
    by_counter = sorted(grouped["counter"], key=lambda r: counters[r.counter][1])
    clerks = dict(
        session.execute(
            select(StaffUser.id, StaffUser.name).where(
                StaffUser.id.in_({r.clerk for r in grouped["clerk"]})
            )
        ).all()
    )
    by_clerk = sorted(grouped["clerk"], key=lambda r: (clerks[r.clerk], r.clerk))
    return [
        Table(
            "by_service",
            _l("By service"),
            [Column("service", _l("Service"), "text"), *FIGURES],
            services,
            Chart("bar", "service", ("median_minutes",)),
        ),
        Table(
            "by_counter",
            _l("By counter"),
            [Column("counter", _l("Counter"), "text"), *FIGURES],
            [_row(r, counter=counters[r.counter][0]) for r in by_counter],
        ),
        Table(
            "by_clerk",
            _l("By clerk"),
            [Column("clerk", _l("Clerk"), "text"), *FIGURES],
            [_row(r, clerk=clerks[r.clerk]) for r in by_clerk],
        ),
    ]


def build(session: Session, scope: Scope, period: Period, *, locale: str, now: datetime) -> Report:
    """Service time by service, counter and clerk; ``now`` is unused (history only)."""
    return Report("handling", _l("Service time"), _tables(session, scope, period, locale))
