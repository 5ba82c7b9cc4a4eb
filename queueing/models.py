"""Tickets, their numbering, staff and devices, the event log and the audit log."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    ColumnElement,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Table,
    UniqueConstraint,
    bindparam,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql.elements import BindParameter

from booking.models import Booking, Counter, Office, Service
from okienko.database import Model, UTCDateTime, db, string_enum, utcnow
from okienko.tokens import new_session_key


class TicketStatus(enum.StrEnum):
    WAITING = "waiting"
    CALLED = "called"
    SERVING = "serving"
    DONE = "done"
    NO_SHOW = "no_show"
    PARKED = "parked"
    TRANSFERRED = "transferred"
    CANCELLED = "cancelled"
    # Sent away at the counter under the sanitary regime.
    REFUSED = "refused"


# A counter holds at most one ticket in these states (a partial unique index).
AT_COUNTER = (TicketStatus.CALLED, TicketStatus.SERVING)
# In line for a counter: new, or sent on by a clerk to another service or counter.
IN_LINE = (TicketStatus.WAITING, TicketStatus.TRANSFERRED)


class TicketKind(enum.StrEnum):
    APPOINTMENT = "appointment"
    WALK_IN = "walk_in"
    # A booking turned into a phone consultation: the clerk calls, nobody is announced.
    PHONE = "phone"


class TicketSequence(Model):
    """The last number handed out per office, day and prefix; bumped in one statement."""

    office_id: Mapped[int] = mapped_column(
        ForeignKey("office.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    prefix: Mapped[str] = mapped_column(String(1), primary_key=True)
    last_number: Mapped[int] = mapped_column(Integer)


# Tickets called in person, and tickets done with a service time: what the waiting and
# the service-time reports take quantiles of (their partial indexes' conditions).
# In brackets: SQLAlchemy's text() adds none when it joins other conditions.
WAITED = "(first_called_at IS NOT NULL AND kind <> 'phone')"
HANDLED = "(status = 'done' AND service_seconds IS NOT NULL)"
# Tickets recalled, transferred or parked: a tenth, whose audit entries the service-time
# report counts by counter and clerk (each act's entry is written with its count).
HAS_ACTS = "(recalls > 0 OR transfers > 0 OR parks > 0)"


def _office_days(name: str, where: str, *include: str) -> Index:
    """A partial index of tickets by office and day: on PostgreSQL with the columns a
    report reads of them, so that it reads the index alone."""
    condition = db.text(where)
    return Index(
        name,
        "office_id",
        "day",
        sqlite_where=condition,
        postgresql_where=condition,
        postgresql_include=list(include),
    )


class Ticket(Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("office.id"))
    service_id: Mapped[int] = mapped_column(ForeignKey("service.id"))
    booking_id: Mapped[int | None] = mapped_column(ForeignKey("booking.id"), unique=True)
    day: Mapped[date] = mapped_column(Date)
    prefix: Mapped[str] = mapped_column(String(1))
    number: Mapped[int] = mapped_column(Integer)
    kind: Mapped[TicketKind] = mapped_column(string_enum(TicketKind))
    status: Mapped[TicketStatus] = mapped_column(
        string_enum(TicketStatus), default=TicketStatus.WAITING
    )
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    # Where the ticket sits in line: arrival, or the slot start of an on-time appointment.
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    counter_id: Mapped[int | None] = mapped_column(ForeignKey("counter.id"))
    target_counter_id: Mapped[int | None] = mapped_column(ForeignKey("counter.id"))
    calls: Mapped[int] = mapped_column(Integer, default=0)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    called_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    serving_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    parked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    transferred_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_reason: Mapped[str | None] = mapped_column(String(200))
    # Kept for the reports as the ticket moves on: ``called_at`` and ``service_id`` change
    # with every call and transfer, these stay.
    first_called_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_service_id: Mapped[int | None] = mapped_column(ForeignKey("service.id"))
    recalls: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    transfers: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    parks: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The clerk who served it last (started, finished or took the phone call).
    served_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_user.id", ondelete="SET NULL")
    )
    # Worked out once, as they happen, so that a year's report reads figures instead of
    # converting every row: the office's local hour of ``issued_at``, the wait to the
    # first call (not for phone consultations) and the last service's length (done only).
    issued_hour: Mapped[int | None] = mapped_column(SmallInteger)
    wait_seconds: Mapped[float | None] = mapped_column(Float)
    service_seconds: Mapped[float | None] = mapped_column(Float)
    # Appointments: the first call against the booked start (negative: called early).
    late_seconds: Mapped[float | None] = mapped_column(Float)

    office: Mapped[Office] = relationship()
    service: Mapped[Service] = relationship(foreign_keys=[service_id])
    booking: Mapped[Booking | None] = relationship()
    counter: Mapped[Counter | None] = relationship(foreign_keys=[counter_id])
    target_counter: Mapped[Counter | None] = relationship(foreign_keys=[target_counter_id])

    __table_args__ = (
        UniqueConstraint("office_id", "day", "prefix", "number", name="uq_ticket_number"),
        Index(
            "uq_ticket_counter_busy",
            "counter_id",
            unique=True,
            sqlite_where=db.text("status IN ('called', 'serving')"),
            postgresql_where=db.text("status IN ('called', 'serving')"),
        ),
        # The floor's line of the day. On PostgreSQL it also carries what the reports read,
        # so a year of one office is read from the index alone, not from table pages that
        # hold every office's tickets of the day (bench/report_speed.py).
        Index(
            "ix_ticket_office_day_status",
            "office_id",
            "day",
            "status",
            postgresql_include=[
                "kind",
                "first_service_id",
                "service_id",
                "first_called_at",
                "counter_id",
                "served_by_id",
                "booking_id",
                "recalls",
                "transfers",
                "parks",
                "issued_hour",
                "wait_seconds",
                "service_seconds",
                "late_seconds",
                "id",
            ],
        ),
        # Recent handling times, read for every estimate.
        Index("ix_ticket_service_finished", "service_id", "finished_at"),
        # The waiting and service-time reports sort every duration of the period once per
        # grouping: the first two hold those in a third of the table's size; the last,
        # the tickets whose recalls, transfers and parks are counted (bench/report_speed.py).
        # Their conditions are written into the reports' statements as these have them:
        # a bound parameter would keep a prepared statement's generic plan away.
        _office_days(
            "ix_ticket_waited",
            WAITED,
            "first_service_id",
            "issued_hour",
            "wait_seconds",
            "late_seconds",
        ),
        _office_days(
            "ix_ticket_handled",
            HANDLED,
            "service_id",
            "counter_id",
            "served_by_id",
            "service_seconds",
        ),
        _office_days("ix_ticket_acted", HAS_ACTS, "id", "service_id"),
    )

    @property
    def label(self) -> str:
        """A023: what the kiosk prints and the display shows."""
        return f"{self.prefix}{self.number:03d}"


def holds_counter() -> ColumnElement[bool]:
    """The ticket is at its counter, written as ``uq_ticket_counter_busy``'s predicate.

    With the states as literals, not bound parameters: only then does SQLite use the
    partial index, instead of reading every ticket the counter ever had.
    """
    states: BindParameter[list[str]] = bindparam(
        "at_counter", [s.value for s in AT_COUNTER], expanding=True, literal_execute=True
    )
    return Ticket.status.in_(states)


class Role(enum.StrEnum):
    """What a staff account may do: each role can do what the ones below it can."""

    CLERK = "clerk"  # the counter of their office
    MANAGER = "manager"  # and the administration of their offices
    ADMINISTRATOR = "administrator"  # and every office, and the accounts


# The offices a manager runs (a clerk's and an administrator's are implied by their role).
staff_offices = Table(
    "staff_office",
    db.metadata,
    Column("staff_id", ForeignKey("staff_user.id", ondelete="CASCADE"), primary_key=True),
    Column("office_id", ForeignKey("office.id", ondelete="CASCADE"), primary_key=True),
)


class StaffUser(UserMixin, Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(255))
    # The office whose counters the person works at (a manager's and an administrator's home).
    office_id: Mapped[int] = mapped_column(ForeignKey("office.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    role: Mapped[Role] = mapped_column(string_enum(Role), default=Role.CLERK)
    # Part of the login's id (get_id): a new key ends every session signed in with the old.
    session_key: Mapped[str] = mapped_column(String(32), default=new_session_key)
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The second factor: a TOTP secret, in force once the first code was confirmed.
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The last TOTP time step accepted: a code works once, not twice within its 30 s.
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The counter the clerk sits at; unique, so two clerks never share one.
    counter_id: Mapped[int | None] = mapped_column(ForeignKey("counter.id"), unique=True)
    # The seat is a lease: the open counter page renews it (a heartbeat); a seat not
    # renewed for SEAT_LEASE_MINUTES is freed by the ``seat_leases`` job.
    seat_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    office: Mapped[Office] = relationship()
    counter: Mapped[Counter | None] = relationship()
    managed_offices: Mapped[list[Office]] = relationship(
        secondary=staff_offices, order_by="Office.name"
    )

    @property
    def is_active(self) -> bool:  # Flask-Login: a disabled account cannot log in
        return self.active

    def get_id(self) -> str:
        return f"staff:{self.id}:{self.session_key}"

    def at_least(self, role: Role) -> bool:
        order = (Role.CLERK, Role.MANAGER, Role.ADMINISTRATOR)
        return order.index(self.role) >= order.index(role)


class DeviceKind(enum.StrEnum):
    KIOSK = "kiosk"
    DISPLAY = "display"


class Device(Model):
    """A kiosk or lobby screen, signed in to one office by a secret link."""

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("office.id", ondelete="CASCADE"))
    kind: Mapped[DeviceKind] = mapped_column(string_enum(DeviceKind))
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Written at most once a minute by the device's own requests, for the admin's list.
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A revoked device's link and sessions stop working; the row stays for the audit.
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A lobby display may show only some services and counters (several screens in one
    # office): their ids; an empty list shows all of them.
    shown_service_ids: Mapped[list[int]] = mapped_column(JSON, default=list, server_default="[]")
    shown_counter_ids: Mapped[list[int]] = mapped_column(JSON, default=list, server_default="[]")

    office: Mapped[Office] = relationship()


class QueueEvent(Model):
    """What happened on the floor, in order: the lobby display's stream and its replay."""

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("office.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (Index("ix_queue_event_office_id", "office_id", "id"),)


class AuditEntry(Model):
    """Who did what to which ticket, and when."""

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("office.id", ondelete="CASCADE"))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    device_id: Mapped[int | None] = mapped_column(ForeignKey("device.id"))
    counter_id: Mapped[int | None] = mapped_column(ForeignKey("counter.id"))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("ticket.id"))
    action: Mapped[str] = mapped_column(String(30))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        # The call cooldown reads a counter's latest call on every call.
        Index("ix_audit_entry_counter_at", "counter_id", "at"),
        # A ticket's entries: the reports' recalls, transfers and parks by counter and
        # clerk, and the backfill of what each ticket went through.
        Index("ix_audit_entry_ticket_id", "ticket_id"),
        # The service-time report's recalls, transfers and parks of a period: a few percent
        # of the log, read without its calls and finishes.
        Index(
            "ix_audit_entry_acts",
            "office_id",
            "at",
            sqlite_where=db.text("action IN ('recall', 'transfer', 'park')"),
            postgresql_where=db.text("action IN ('recall', 'transfer', 'park')"),
            postgresql_include=["ticket_id", "counter_id", "staff_id", "action"],
        ),
    )


class CounterHour(Model):
    """A counter was at work (called, served or finished someone) in this local hour.

    A summary kept as the floor works, one row per counter and hour however many
    actions: the load report counts the counters open per hour from it instead of
    converting every audit entry's time.
    """

    office_id: Mapped[int] = mapped_column(
        ForeignKey("office.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    hour: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    counter_id: Mapped[int] = mapped_column(
        ForeignKey("counter.id", ondelete="CASCADE"), primary_key=True
    )


class CounterServiceHour(Model):
    """A counter worked in this local hour on tickets of a service, and on how many.

    The load report's counters open for one service, kept as the floor works instead of
    joining the year's audit log to its tickets. A ticket counts for its first service
    and its final one; ``day`` is the ticket's day, ``hour`` the local hour of the work.
    ``tickets`` are the tickets that count for the row: a transfer moves a ticket's
    earlier work from the service it left to the new one, and a row no ticket counts
    for any more goes, so the rows are exactly the audit log's (counter, hour) pairs.
    """

    office_id: Mapped[int] = mapped_column(
        ForeignKey("office.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    hour: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    counter_id: Mapped[int] = mapped_column(
        ForeignKey("counter.id", ondelete="CASCADE"), primary_key=True
    )
    service_id: Mapped[int] = mapped_column(
        ForeignKey("service.id", ondelete="CASCADE"), primary_key=True
    )
    tickets: Mapped[int] = mapped_column(Integer)

    # The load report reads one service's days.
    __table_args__ = (Index("ix_counter_service_hour_service_day", "service_id", "day"),)
