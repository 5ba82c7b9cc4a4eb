"""Bookings: made, moved, cancelled (by whom), no-shows and refusals, and how far ahead
people book.

Everything comes from the bookings' ledger (``booking_event``), one row per thing that
happened, dated by its office-local ``day``: a booking moved twice counts two moves, and
the counts stay after the retention job has erased the booking's personal data.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, Select, and_, func, select
from sqlalchemy.orm import Session

from booking.admission import COUNTER_REASONS
from booking.models import AdmissionQuestion, BookingEvent, BookingEventKind, CancelledBy, Service
from okienko.i18n import localized

from .scope import Period, Scope
from .sql import bucket, quantile
from .table import Chart, Column, Report, Table
from .visitors import counts_by_bucket, time_column

DAY = 24 * 60  # minutes

# Where a visitor was refused, in the order a visit passes them.
PLACES = {
    "booking": _l("When booking"),
    "online": _l("Online before the visit"),
    "kiosk": _l("At the kiosk"),
    "counter": _l("At the counter"),
}

# How far ahead, in whole days of 24 hours from booking to the booked start:
# (label, fewest minutes ahead, minutes ahead it stays below).
LEAD_BUCKETS = (
    (_l("Less than a day ahead"), None, DAY),
    (_l("1 day ahead"), DAY, 2 * DAY),
    (_l("2–7 days ahead"), 2 * DAY, 8 * DAY),
    (_l("8–30 days ahead"), 8 * DAY, 31 * DAY),
    (_l("More than 30 days ahead"), 31 * DAY, None),
)

BY_TIME = (
    Column("made", _l("Made"), "int"),
    Column("moved", _l("Moved"), "int"),
    Column("cancelled_resident", _l("Cancelled by the resident"), "int"),
    Column("cancelled_office", _l("Cancelled by the office"), "int"),
    Column("no_show", _l("No-shows"), "int"),
    # Pending bookings not confirmed by mail in time: neither made nor cancelled.
    Column("released", _l("Released unconfirmed"), "int"),
    Column("refused", _l("Refused admission"), "int"),
)


def events(scope: Scope, period: Period) -> Select[Any]:
    """The ledger's rows of the scope in the period; the caller adds the columns.

    With a service filter, refusals of nobody's booking (a walk-in at the kiosk) drop out:
    they belong to no service.
    """
    query = (
        select()
        .select_from(BookingEvent)
        .where(
            BookingEvent.office_id.in_(scope.office_ids),
            BookingEvent.day.between(period.first, period.last),
        )
    )
    if scope.service_key is not None:
        query = query.join(Service, Service.id == BookingEvent.service_id).where(
            Service.key == scope.service_key
        )
    return query


def _kind_counts() -> list[ColumnElement[int]]:
    kind, by = BookingEvent.kind, BookingEvent.by
    cancelled = BookingEventKind.CANCELLED

    def count(key: str, *conditions: ColumnElement[bool]) -> ColumnElement[int]:
        return func.count().filter(and_(*conditions)).label(key)

    return [
        count("made", kind == BookingEventKind.MADE),
        count("moved", kind == BookingEventKind.MOVED),
        count("cancelled_resident", kind == cancelled, by == CancelledBy.RESIDENT),
        count("cancelled_office", kind == cancelled, by == CancelledBy.OFFICE),
        count("no_show", kind == BookingEventKind.NO_SHOW),
        count("released", kind == BookingEventKind.RELEASED),
        count("refused", kind == BookingEventKind.REFUSED),
    ]


def _by_time(session: Session, scope: Scope, period: Period) -> Table:
    when = bucket(BookingEvent.day.expression, period.grain)
    query = events(scope, period).add_columns(when, *_kind_counts()).group_by(when)
    keys = [c.key for c in BY_TIME]
    return Table(
        key="by_time",
        title=_l("Bookings over time"),
        columns=[time_column(period), *BY_TIME],
        rows=counts_by_bucket(session, query, period, keys),
        chart=Chart("bar", "period", tuple(keys)),
    )


def _question_texts(session: Session, scope: Scope, keys: set[str], locale: str) -> dict[str, str]:
    """The text of each question key still asked by an office of the scope (the first
    office's wording where several ask it)."""
    texts: dict[str, str] = {}
    rows = session.execute(
        select(AdmissionQuestion.key, AdmissionQuestion.texts)
        .where(AdmissionQuestion.office_id.in_(scope.office_ids), AdmissionQuestion.key.in_(keys))
        .order_by(AdmissionQuestion.office_id)
    )
    for key, wording in rows:
        texts.setdefault(key, localized(wording, locale) or key)
    return texts


def _reason_label(reason: str | None, questions: dict[str, str]) -> str:
    if reason is None:
        return str(_l("Not recorded"))
    if reason in COUNTER_REASONS:
        return str(COUNTER_REASONS[reason])
    return questions.get(reason, reason)  # a question since removed: its key


def _refusals(session: Session, scope: Scope, period: Period, locale: str) -> Table:
    place, reason = BookingEvent.place, BookingEvent.reason
    counted = session.execute(
        events(scope, period)
        .add_columns(place, reason, func.count())
        .where(BookingEvent.kind == BookingEventKind.REFUSED)
        .group_by(place, reason)
    ).all()
    questions = _question_texts(session, scope, {r for _p, r, _n in counted if r}, locale)
    rank = {p: i for i, p in enumerate(PLACES)}
    labelled = [(p, _reason_label(r, questions), int(n)) for p, r, n in counted]
    # The most frequent first; then in the order a visit passes the places.
    labelled.sort(key=lambda c: (-c[2], rank.get(c[0], len(rank)), c[1].casefold()))
    rows = [
        {"place": str(PLACES[p]) if p in PLACES else str(p), "reason": label, "count": n}
        for p, label, n in labelled
    ]
    return Table(
        key="refusals",
        title=_l("Refused admission, by place and reason"),
        columns=[
            Column("place", _l("Where"), "text"),
            Column("reason", _l("Reason"), "text"),
            Column("count", _l("Refusals"), "int"),
        ],
        rows=rows,
    )


def _within(low: int | None, high: int | None) -> ColumnElement[bool]:
    lead = BookingEvent.lead_minutes
    conditions = []
    if low is not None:
        conditions.append(lead >= low)
    if high is not None:
        conditions.append(lead < high)
    return and_(*conditions)


def _lead(session: Session, scope: Scope, period: Period) -> list[Table]:
    lead = BookingEvent.lead_minutes
    row = session.execute(
        events(scope, period)
        .add_columns(
            func.count(),
            quantile(lead, 0.5),
            quantile(lead, 0.9),
            *(func.count().filter(_within(low, high)) for _label, low, high in LEAD_BUCKETS),
        )
        .where(BookingEvent.kind == BookingEventKind.MADE)
    ).one()
    made, median, p90, *counts = row
    made = int(made)
    return [
        Table(
            key="lead_time",
            title=_l("How far ahead people book"),
            columns=[
                Column("made", _l("Bookings made"), "int"),
                Column("median_minutes", _l("Median time ahead"), "minutes"),
                Column("p90_minutes", _l("90th percentile of time ahead"), "minutes"),
            ],
            rows=[
                {
                    "made": made,
                    "median_minutes": None if median is None else round(float(median), 1),
                    "p90_minutes": None if p90 is None else round(float(p90), 1),
                }
            ],
        ),
        Table(
            key="lead_buckets",
            title=_l("Bookings by time ahead"),
            columns=[
                Column("bucket", _l("Booked"), "text"),
                Column("count", _l("Bookings made"), "int"),
                Column("share", _l("Share"), "share"),
            ],
            rows=[
                {
                    "bucket": str(label),
                    "count": int(n),
                    "share": round(int(n) / made, 4) if made else None,
                }
                for (label, _low, _high), n in zip(LEAD_BUCKETS, counts, strict=True)
            ],
            chart=Chart("bar", "bucket", ("count",)),
        ),
    ]


def build(session: Session, scope: Scope, period: Period, *, locale: str, now: datetime) -> Report:
    with force_locale(locale):  # the labels inside the rows, in the reader's language
        tables = [
            _by_time(session, scope, period),
            _refusals(session, scope, period, locale),
            *_lead(session, scope, period),
        ]
    return Report(name="bookings", title=_l("Bookings"), tables=tables)
