"""Service time: from the start of the (last) service to its finish, for tickets done.

A ticket counts for the service it was finished for, at the counter it was last at and
for the clerk who served it last. Recalls, transfers and parks go to whoever did them:
by counter and by clerk they are counted from the audit log (the counter and clerk of
each entry), for the same tickets; a counter or clerk that only recalled, sent on or set
aside tickets still has a row. By service they stay the tickets' own counts, under the
service each ticket ended in, whatever became of it.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    ColumnElement,
    Integer,
    Row,
    Select,
    Subquery,
    bindparam,
    case,
    cast,
    func,
    literal_column,
    null,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from booking.models import Counter, Office
from queueing.models import AuditEntry, StaffUser, Ticket, TicketStatus

from .ranks import Grouping, quantiles
from .scope import Period, Scope
from .sql import by_each
from .table import Chart, Column, Report, Table
from .waiting import minutes, service_names, service_ranks, tickets_in

GROUPS = ("service", "counter", "clerk")
ACTS = ("recall", "transfer", "park")  # audit actions, in the order of COUNTS
COUNTS = ("recalls", "transfers", "parks")


def _tickets(
    session: Session, scope: Scope, period: Period
) -> tuple[Select[*tuple[Any, ...]], list[str]]:
    """One row per ticket of the period: its final service (as ``service_ranks``), last
    counter and clerk, whether it is done, its service time if so (NULL otherwise: the
    quantiles skip it) and its own counts."""
    done = Ticket.status == TicketStatus.DONE
    service, keys = service_ranks(session, scope, Ticket.service_id)
    rows: Select[*tuple[Any, ...]] = select(
        service.label("service"),
        Ticket.counter_id.label("counter"),
        Ticket.served_by_id.label("clerk"),
        case((done, 1), else_=0).label("done"),
        case((done, Ticket.service_seconds)).label("took"),
        Ticket.recalls,
        Ticket.transfers,
        Ticket.parks,
    ).where(*tickets_in(scope, period, Ticket.service_id))
    return rows, keys


def _acts(scope: Scope, period: Period) -> Select[*tuple[Any, ...]]:
    """One row per recall, transfer or park of the period's tickets, without a service,
    at the counter and by the clerk of its audit entry, its action counted 1."""
    return (
        select(
            cast(null(), Integer),
            AuditEntry.counter_id,
            AuditEntry.staff_id,
            literal_column("0"),
            cast(null(), Ticket.service_seconds.type),
            *(case((AuditEntry.action == action, 1), else_=0) for action in ACTS),
        )
        .join(Ticket, Ticket.id == AuditEntry.ticket_id)
        .where(
            AuditEntry.office_id.in_(scope.office_ids),
            # Written out, as the partial index's own predicate: a bound list would keep a
            # prepared statement's generic plan away from the index.
            AuditEntry.action.in_(
                bindparam("acts", list(ACTS), expanding=True, literal_execute=True)
            ),
            # A coarse bound on the instant for ix_audit_entry_acts; the ticket's day decides.
            AuditEntry.at >= datetime.combine(period.first - timedelta(days=1), time(), UTC),
            AuditEntry.at < datetime.combine(period.last + timedelta(days=2), time(), UTC),
            *tickets_in(scope, period, Ticket.service_id),
        )
    )


def _figures(handled: Subquery) -> list[ColumnElement[Any]]:
    """The counts of a group: of recalls, transfers and parks both the tickets' own (read
    by service, whatever became of each) and those of the audit rows, the rows without a
    service (read by counter and by clerk: who did it)."""
    took, acted = handled.c.took, handled.c.service.is_(None)
    return [
        func.sum(handled.c.done).label("served"),
        func.count(took).label("timed"),
        func.avg(took).label("mean"),
        *(func.sum(handled.c[name]).label(f"own_{name}") for name in COUNTS),
        *(func.sum(case((acted, handled.c[name]), else_=0)).label(name) for name in COUNTS),
    ]


def _row(
    row: Row[Any], quantiles: list[float | None] | None, own: bool = False, **labels: Any
) -> dict[str, Any]:
    """A table row; ``own``: with the tickets' own counts (by service), else the acts'."""
    median, p90 = quantiles or (None, None)
    return {
        **labels,
        "served": row.served or 0,
        "median_minutes": minutes(median),
        "p90_minutes": minutes(p90),
        "mean_minutes": minutes(row.mean),
        **{name: getattr(row, f"own_{name}" if own else name) or 0 for name in COUNTS},
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
    """The counts from one statement over the tickets and the acts, the quantiles of the
    tickets' service times from another."""
    tickets, keys = _tickets(session, scope, period)
    handled = union_all(tickets, _acts(scope, period)).subquery("handled")
    grouped = by_each(session, handled, GROUPS, _figures(handled))
    found = quantiles(
        session,
        tickets,
        {by: Grouping("took", by, {getattr(r, by): r.timed for r in grouped[by]}) for by in GROUPS},
        (0.5, 0.9),
    )

    names = service_names(session, scope, locale)
    labels = [names.get(key, key) for key in keys]  # by service rank
    services = [
        _row(r, found["service"].get(r.service), own=True, service=labels[r.service])
        for r in grouped["service"]
    ]
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
            [
                _row(r, found["counter"].get(r.counter), counter=counters[r.counter][0])
                for r in by_counter
            ],
        ),
        Table(
            "by_clerk",
            _l("By clerk"),
            [Column("clerk", _l("Clerk"), "text"), *FIGURES],
            [_row(r, found["clerk"].get(r.clerk), clerk=clerks[r.clerk]) for r in by_clerk],
        ),
    ]


def build(session: Session, scope: Scope, period: Period, *, locale: str, now: datetime) -> Report:
    """Service time by service, counter and clerk; ``now`` is unused (history only)."""
    return Report("handling", _l("Service time"), _tables(session, scope, period, locale))
