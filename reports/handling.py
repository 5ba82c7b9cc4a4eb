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
from types import SimpleNamespace
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    Subquery,
    bindparam,
    case,
    cast,
    func,
    literal_column,
    null,
    select,
    text,
)
from sqlalchemy.orm import Session

from booking.models import Counter, Office
from queueing.models import HANDLED, HAS_ACTS, AuditEntry, StaffUser, Ticket, TicketStatus

from .ranks import Grouping, quantiles
from .scope import Period, Scope
from .sql import by_each
from .table import Chart, Column, Report, Table
from .waiting import minutes, service_names, service_ranks, tickets_in

GROUPS = ("service", "counter", "clerk")
ACTS = ("recall", "transfer", "park")  # audit actions, in the order of COUNTS
COUNTS = ("recalls", "transfers", "parks")
ACTED = tuple(zip(ACTS, COUNTS, strict=True))


def _tickets(
    session: Session, scope: Scope, period: Period
) -> tuple[Select[*tuple[Any, ...]], Select[*tuple[Any, ...]], dict[int, int], list[str]]:
    """One row per ticket of the period: its final service's id, last counter and clerk,
    whether it is done, its service time if so (NULL otherwise) and its own counts. Then
    the tickets done only, with their final service's rank (as ``service_ranks``) and
    their service time, for its quantiles: the others would be read and skipped once per
    grouping. And the ranks of the ids, and the keys."""
    done = Ticket.status == TicketStatus.DONE
    rank, ranks, keys = service_ranks(session, scope, Ticket.service_id)
    who = (Ticket.counter_id.label("counter"), Ticket.served_by_id.label("clerk"))
    where = tickets_in(scope, period, Ticket.service_id)
    rows: Select[*tuple[Any, ...]] = select(
        Ticket.service_id.label("service"),
        *who,
        case((done, 1), else_=0).label("done"),
        case((done, Ticket.service_seconds)).label("took"),
        Ticket.recalls,
        Ticket.transfers,
        Ticket.parks,
    ).where(*where)
    timed: Select[*tuple[Any, ...]] = select(
        rank.label("service"), *who, Ticket.service_seconds.label("took")
    ).where(*where, text(HANDLED))  # as the index ix_ticket_handled has it
    return rows, timed, ranks, keys


def _acts(scope: Scope, period: Period) -> Select[*tuple[Any, ...]]:
    """One row per recall, transfer or park of the period's tickets, without a service,
    at the counter and by the clerk of its audit entry, its action counted 1."""
    return (
        select(
            cast(null(), Integer).label("service"),
            AuditEntry.counter_id.label("counter"),
            AuditEntry.staff_id.label("clerk"),
            *(case((AuditEntry.action == action, 1), else_=0).label(n) for action, n in ACTED),
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
            # Implied by the act (its entry is written with the ticket's count); it reads
            # the tickets from the index ix_ticket_acted, not every ticket of the period.
            text(HAS_ACTS),
        )
    )


def _ticket_sums(tickets: Subquery) -> list[ColumnElement[Any]]:
    """A group's tickets: served, timed, their service time, and their own recalls,
    transfers and parks (read by service, whatever became of each ticket)."""
    took = tickets.c.took
    return [
        func.sum(tickets.c.done).label("served"),
        func.count(took).label("timed"),
        func.sum(took).label("took"),
        *(func.sum(tickets.c[name]).label(f"own_{name}") for name in COUNTS),
        *(literal_column("0").label(name) for name in COUNTS),
    ]


def _act_sums(acts: Subquery) -> list[ColumnElement[Any]]:
    """A group's recalls, transfers and parks as the audit log has them (read by counter
    and by clerk: who did it)."""
    return [
        *(literal_column("0").label(name) for name in ("served", "timed", "took")),
        *(literal_column("0").label(f"own_{name}") for name in COUNTS),
        *(func.sum(acts.c[name]).label(name) for name in COUNTS),
    ]


def _row(
    row: SimpleNamespace,
    quantiles: list[float | None] | None,
    own: bool = False,
    **labels: Any,
) -> dict[str, Any]:
    """A table row; ``own``: with the tickets' own counts (by service), else the acts'."""
    median, p90 = quantiles or (None, None)
    return {
        **labels,
        "served": row.served or 0,
        "median_minutes": minutes(median),
        "p90_minutes": minutes(p90),
        "mean_minutes": minutes(row.took / row.timed if row.timed else None),
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
    """The counts from one statement over the tickets and the acts (two parts), the
    quantiles of the tickets' service times from another."""
    tickets, timed, ranks, keys = _tickets(session, scope, period)
    own, acts = tickets.subquery("tickets"), _acts(scope, period).subquery("acts")
    grouped = by_each(
        session,
        [(own, _ticket_sums(own)), (acts, _act_sums(acts))],
        GROUPS,
        {"service": ranks},
    )
    found = quantiles(
        session,
        timed,
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
