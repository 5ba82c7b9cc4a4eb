"""Offices, their services, counters and calendars, and residents' bookings."""

from __future__ import annotations

import enum
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Time,
    UniqueConstraint,
    false,
    text,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from okienko.database import Model, UTCDateTime, db, string_enum, utcnow
from okienko.i18n import localized

counter_services = Table(
    "counter_service",
    db.metadata,
    Column("counter_id", ForeignKey("counter.id", ondelete="CASCADE"), primary_key=True),
    Column("service_id", ForeignKey("service.id", ondelete="CASCADE"), primary_key=True),
)


class Office(Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # The name in other languages, by locale; ``name`` is the office's own language's.
    names: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    address: Mapped[str] = mapped_column(String(300))
    timezone: Mapped[str] = mapped_column(String(64))
    country: Mapped[str] = mapped_column(String(2))
    subdivision: Mapped[str | None] = mapped_column(String(10))
    # Closed on the country's public holidays; False keeps it open (the demo office).
    public_holidays: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    language: Mapped[str] = mapped_column(String(5))
    phone: Mapped[str | None] = mapped_column(String(100))
    email: Mapped[str | None] = mapped_column(String(200))
    website: Mapped[str | None] = mapped_column(String(300))
    # The data protection officer (Art. 37 GDPR), for the information notice; where the
    # office file gives neither, the notice says to write to the office, marked for them.
    dpo_email: Mapped[str | None] = mapped_column(String(200))
    dpo_address: Mapped[str | None] = mapped_column(String(300))
    # Every booking occupies whole cells of this grid, so the unique index over
    # (counter, cell start) also rules out partly overlapping bookings.
    slot_minutes: Mapped[int] = mapped_column(Integer, default=15)
    min_notice_minutes: Mapped[int] = mapped_column(Integer, default=120)
    max_days_ahead: Mapped[int] = mapped_column(Integer, default=60)
    max_active_bookings_per_contact: Mapped[int] = mapped_column(Integer, default=2)
    # The office floor: when an appointment may check in, how often a ticket is called
    # before it counts as a no-show, how long a counter waits before it may call again.
    checkin_before_minutes: Mapped[int] = mapped_column(Integer, default=30)
    checkin_after_minutes: Mapped[int] = mapped_column(Integer, default=15)
    max_calls: Mapped[int] = mapped_column(Integer, default=3)
    call_cooldown_seconds: Mapped[int] = mapped_column(Integer, default=10)
    notices: Mapped[dict[str, list[str]]] = mapped_column(JSON, default=dict)
    # Local time, the day before a visit, when its reminder goes out.
    reminder_time: Mapped[time] = mapped_column(Time, default=time(16, 0))
    # Days after a visit its resident's name and contacts are erased; None: RETENTION_DAYS.
    retention_days: Mapped[int | None] = mapped_column(Integer)
    # Remote channels offered to whoever should not come in person.
    postal_address: Mapped[str | None] = mapped_column(String(300))
    drop_box: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    # [altcha] Online bookings need a solved proof-of-work challenge (booking/challenge.py);
    # BOT_CHALLENGE in the configuration asks it of every office.
    bot_challenge: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # [share] Per cent of each day's counter time not bookable online, kept for residents
    # who come without an appointment (``booking/walk_in_share.py``); a service may differ.
    walk_in_share: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # [confirm] A new booking holds its time as pending until the resident opens the link
    # in its mail, within ``confirm_minutes``; unconfirmed, the scheduler releases it.
    confirm_by_mail: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    confirm_minutes: Mapped[int] = mapped_column(Integer, default=15, server_default="15")
    # [waitlist] A freed time offered to the first person on the waiting list is held for
    # them this long; a cancelled time stays out of booking this long (offered to the
    # waiting list first), so a bot cannot snap it up the moment it frees.
    waitlist_hold_minutes: Mapped[int] = mapped_column(Integer, default=30, server_default="30")
    rebook_delay_minutes: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    services: Mapped[list[Service]] = relationship(
        back_populates="office", cascade="all, delete-orphan", order_by="Service.position"
    )
    counters: Mapped[list[Counter]] = relationship(
        back_populates="office", cascade="all, delete-orphan", order_by="Counter.position"
    )
    hours: Mapped[list[OpeningHours]] = relationship(
        back_populates="office", cascade="all, delete-orphan"
    )
    closures: Mapped[list[Closure]] = relationship(
        back_populates="office", cascade="all, delete-orphan"
    )
    departments: Mapped[list[Department]] = relationship(
        back_populates="office", cascade="all, delete-orphan", order_by="Department.position"
    )
    admission: Mapped[AdmissionPolicy | None] = relationship(
        back_populates="office", cascade="all, delete-orphan"
    )
    questions: Mapped[list[AdmissionQuestion]] = relationship(
        back_populates="office", cascade="all, delete-orphan", order_by="AdmissionQuestion.position"
    )

    __table_args__ = (CheckConstraint("slot_minutes > 0", name="slot_positive"),)

    def drop_box_text(self, locale: str) -> str | None:
        return localized(self.drop_box, locale)

    def name_in(self, locale: str) -> str:
        """The name a reader of ``locale`` sees: that language's if given, else ``name``."""
        if locale == self.language:
            return self.name
        return (self.names or {}).get(locale) or self.name


class OfficeVersion(Model):
    """How many times what residents can book or see of an office has changed.

    Raised by the last statement of every transaction that changes it
    (``booking/versions.py``): the caches of free times and office data key on it.
    """

    office_id: Mapped[int] = mapped_column(
        ForeignKey("office.id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int] = mapped_column(BigInteger)


class Service(Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("office.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(64))
    position: Mapped[int] = mapped_column(Integer, default=0)
    names: Mapped[dict[str, str]] = mapped_column(JSON)
    descriptions: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    documents: Mapped[dict[str, list[str]]] = mapped_column(JSON, default=dict)
    duration_minutes: Mapped[int] = mapped_column(Integer)
    prefix: Mapped[str] = mapped_column(String(1))
    bookable_online: Mapped[bool] = mapped_column(Boolean, default=True)
    walk_in: Mapped[bool] = mapped_column(Boolean, default=True)
    # [share] This service's own per cent held back for walk-ins; None: the office's.
    walk_in_share: Mapped[int | None] = mapped_column(Integer)
    # Who handles the matter without a visit: named on a refused admission.
    department_id: Mapped[int | None] = mapped_column(
        ForeignKey("department.id", ondelete="SET NULL")
    )

    office: Mapped[Office] = relationship(back_populates="services")
    department: Mapped[Department | None] = relationship()
    counters: Mapped[list[Counter]] = relationship(
        secondary=counter_services, back_populates="services", order_by="Counter.position"
    )

    __table_args__ = (
        UniqueConstraint("office_id", "key"),
        UniqueConstraint("office_id", "prefix"),
        CheckConstraint("duration_minutes > 0", name="duration_positive"),
    )

    def name(self, locale: str) -> str:
        return localized(self.names, locale) or ""

    def description(self, locale: str) -> str:
        return localized(self.descriptions, locale) or ""

    def documents_for(self, locale: str) -> list[str]:
        return localized(self.documents, locale) or []


class Counter(Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("office.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer, default=0)
    name: Mapped[str] = mapped_column(String(100))
    # Removed by a manager but kept for the history that names it: it serves nothing, and
    # no clerk can take its seat.
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    office: Mapped[Office] = relationship(back_populates="counters")
    services: Mapped[list[Service]] = relationship(
        secondary=counter_services, back_populates="counters"
    )

    __table_args__ = (UniqueConstraint("office_id", "name"),)


class OpeningHours(Model):
    """One interval of one weekday (0 = Monday), valid between two optional dates."""

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("office.id", ondelete="CASCADE"))
    weekday: Mapped[int] = mapped_column(Integer)
    opens: Mapped[time] = mapped_column(Time)
    closes: Mapped[time] = mapped_column(Time)
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)

    office: Mapped[Office] = relationship(back_populates="hours")

    __table_args__ = (
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday_range"),
        CheckConstraint("opens < closes", name="opens_before_closes"),
    )


class Closure(Model):
    """Days the office is closed besides public holidays (inclusive range).

    With ``starts`` and ``ends`` only that part of each day is closed (local time).
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("office.id", ondelete="CASCADE"))
    first_day: Mapped[date] = mapped_column(Date)
    last_day: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(200), default="")
    starts: Mapped[time | None] = mapped_column(Time)
    ends: Mapped[time | None] = mapped_column(Time)

    office: Mapped[Office] = relationship(back_populates="closures")

    __table_args__ = (
        CheckConstraint("first_day <= last_day", name="range_order"),
        CheckConstraint("(starts IS NULL AND ends IS NULL) OR (starts < ends)", name="part_of_day"),
    )


class Department(Model):
    """A department or branch office of the office's organisation, with its direct lines."""

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("office.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(20), default="department")
    position: Mapped[int] = mapped_column(Integer, default=0)
    names: Mapped[dict[str, str]] = mapped_column(JSON)
    email: Mapped[str | None] = mapped_column(String(200))
    address: Mapped[str | None] = mapped_column(String(300))
    # [{"number": "+48325325935", "topics": {"pl": ..., "cs": ..., "en": ...}}, ...]
    phones: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)

    office: Mapped[Office] = relationship(back_populates="departments")

    __table_args__ = (UniqueConstraint("office_id", "key"),)

    def name(self, locale: str) -> str:
        return localized(self.names, locale) or ""


class AdmissionPolicy(Model):
    """An office's sanitary regime: on or off, for which days, and its rules."""

    office_id: Mapped[int] = mapped_column(
        ForeignKey("office.id", ondelete="CASCADE"), primary_key=True
    )
    enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    first_day: Mapped[date | None] = mapped_column(Date)
    last_day: Mapped[date | None] = mapped_column(Date)
    notices: Mapped[dict[str, list[str]]] = mapped_column(JSON, default=dict)
    # The online answer opens this long before the visit (the reminder links to it).
    link_hours_before: Mapped[int] = mapped_column(Integer, default=24)
    # A refused resident may book in person again this many days after the refusal.
    rebook_after_days: Mapped[int] = mapped_column(Integer, default=7)

    office: Mapped[Office] = relationship(back_populates="admission")


class AdmissionQuestion(Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("office.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(40))
    position: Mapped[int] = mapped_column(Integer, default=0)
    texts: Mapped[dict[str, str]] = mapped_column(JSON)
    # The answer that keeps the visitor out: True for "yes", False for "no".
    refuse_on: Mapped[bool] = mapped_column(Boolean, default=True)

    office: Mapped[Office] = relationship(back_populates="questions")

    __table_args__ = (UniqueConstraint("office_id", "key"),)

    def text(self, locale: str) -> str:
        return localized(self.texts, locale) or ""


class AdmissionCheck(Model):
    """The outcome of one admission check: never the answers, and deleted soon.

    Health answers are special-category data. Only whether the visitor was
    admitted is kept, with the key of the question (or the clerk's listed
    reason) that refused them, and the row is deleted after a short time.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("office.id", ondelete="CASCADE"))
    booking_id: Mapped[int | None] = mapped_column(
        ForeignKey("booking.id", ondelete="CASCADE"), index=True
    )
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("ticket.id", ondelete="SET NULL"))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id", ondelete="SET NULL"))
    place: Mapped[str] = mapped_column(String(20))
    admitted: Mapped[bool] = mapped_column(Boolean)
    question: Mapped[str | None] = mapped_column(String(40))
    reason: Mapped[str | None] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)

    __table_args__ = (
        CheckConstraint("place IN ('booking', 'online', 'kiosk', 'counter')", name="place_known"),
    )


class BookingStatus(enum.StrEnum):
    BOOKED = "booked"
    CANCELLED = "cancelled"
    # Not admitted under the sanitary regime: the counter time is freed.
    REFUSED = "refused"
    # Not checked in by the end of the check-in window: the rest of the time is freed.
    NO_SHOW = "no_show"
    # [confirm] Holds its cells, counts towards the contact's cap, but is neither reminded
    # nor checked in until the resident confirms it by the link in its mail.
    PENDING = "pending"
    # [confirm] Not confirmed in time: the scheduler freed its cells.
    RELEASED = "released"


class CancelledBy(enum.StrEnum):
    RESIDENT = "resident"
    OFFICE = "office"


class BookingMode(enum.StrEnum):
    IN_PERSON = "in_person"
    # The clerk calls the resident's number at the booked time.
    PHONE = "phone"


class Booking(Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    manage_token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("office.id"), index=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("service.id"))
    counter_id: Mapped[int] = mapped_column(ForeignKey("counter.id"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[BookingStatus] = mapped_column(
        string_enum(BookingStatus),
        default=BookingStatus.BOOKED,
    )
    mode: Mapped[BookingMode] = mapped_column(
        string_enum(BookingMode),
        default=BookingMode.IN_PERSON,
        server_default=BookingMode.IN_PERSON.value,
    )
    name: Mapped[str] = mapped_column(String(120))
    email: Mapped[str | None] = mapped_column(String(254), index=True)
    phone: Mapped[str | None] = mapped_column(String(20), index=True)
    language: Mapped[str] = mapped_column(String(5))
    consent_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # iCalendar SEQUENCE: raised on every change so calendars replace the event.
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Who cancelled: the resident, or the office (a closure, shorter hours, a counter
    # removed), with the reason the office gave the resident.
    cancelled_by: Mapped[CancelledBy | None] = mapped_column(string_enum(CancelledBy))
    cancel_reason: Mapped[str | None] = mapped_column(String(300))
    refused_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Claimed by the reminder job before it mails: set once, so a reminder goes out once.
    reminder_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Name, contacts and tokens erased after the retention period; the counts stay.
    anonymized_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # [confirm] While pending: until when the link in the mail confirms it, and the hash of
    # that link's token (kept after confirming, so a second click is answered).
    confirm_by: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    confirm_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    office: Mapped[Office] = relationship()
    service: Mapped[Service] = relationship()
    counter: Mapped[Counter] = relationship()
    slots: Mapped[list[BookingSlot]] = relationship(
        back_populates="booking", cascade="all, delete-orphan"
    )

    __table_args__ = (
        CheckConstraint(
            "email IS NOT NULL OR phone IS NOT NULL OR anonymized_at IS NOT NULL",
            name="has_contact",
        ),
        CheckConstraint("starts_at < ends_at", name="starts_before_ends"),
    )

    @property
    def active(self) -> bool:
        return self.status == BookingStatus.BOOKED

    @property
    def by_phone(self) -> bool:
        return self.mode == BookingMode.PHONE


class BookingToken(Model):
    """Another secret link to a booking's page, minted for a later mail; stored hashed."""

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(
        ForeignKey("booking.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class BookingEventKind(enum.StrEnum):
    MADE = "made"
    MOVED = "moved"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"
    # Not admitted under the sanitary regime: at booking, online before the visit, at the
    # kiosk or at the counter (a walk-in's refusal, too, though it has no booking).
    REFUSED = "refused"
    # [confirm] A pending booking not confirmed by mail in time, released by the scheduler:
    # neither a no-show nor anyone's cancellation, so counted apart.
    RELEASED = "released"


class BookingEvent(Model):
    """One thing that happened to a booking, for the reports: counts, never who.

    Written in the transaction that made the change, so each is counted once.
    It holds no personal data and outlives the retention job's erasure of the
    booking's name and contacts, and the admission outcome's deletion.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("office.id", ondelete="CASCADE"))
    service_id: Mapped[int | None] = mapped_column(ForeignKey("service.id", ondelete="SET NULL"))
    booking_id: Mapped[int | None] = mapped_column(ForeignKey("booking.id", ondelete="SET NULL"))
    kind: Mapped[BookingEventKind] = mapped_column(string_enum(BookingEventKind))
    mode: Mapped[BookingMode | None] = mapped_column(string_enum(BookingMode))
    # A cancellation's author; a refusal's place (booking, online, kiosk, counter) and the
    # key of the question or the clerk's listed reason.
    by: Mapped[CancelledBy | None] = mapped_column(string_enum(CancelledBy))
    place: Mapped[str | None] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(String(40))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The office's local date of ``at``: reports group by it without a time-zone lookup.
    day: Mapped[date] = mapped_column(Date)
    # Made or moved: minutes from now to the booked start (how far ahead people book).
    lead_minutes: Mapped[int | None] = mapped_column(Integer)

    # With what the bookings report counts (PostgreSQL): rows never updated, read from the
    # index alone (bench/report_speed.py).
    __table_args__ = (
        Index(
            "ix_booking_event_office_day",
            "office_id",
            "day",
            "kind",
            postgresql_include=["by", "place", "reason", "lead_minutes", "service_id", "id"],
        ),
    )


CELL_CONSTRAINT = "uq_booking_slot_counter_start"


class BookingSlot(Model):
    """One grid cell of counter time held by an active booking.

    The unique constraint is what makes a double booking impossible: a
    booking's cells are inserted in its transaction, and a competing insert of
    the same (counter, start) fails in the database whatever the timing.
    Cells are deleted when the booking is cancelled or moved.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int | None] = mapped_column(
        ForeignKey("booking.id", ondelete="CASCADE"), index=True
    )
    # [waitlist] Or a cell of freed time held for the waiting list (``SlotHold``): the same
    # unique cells, so a held time can no more be double-booked than a booked one.
    hold_id: Mapped[int | None] = mapped_column(
        ForeignKey("slot_hold.id", ondelete="CASCADE"), index=True
    )
    counter_id: Mapped[int] = mapped_column(ForeignKey("counter.id"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)

    booking: Mapped[Booking] = relationship(back_populates="slots")

    __table_args__ = (
        UniqueConstraint("counter_id", "starts_at", name=CELL_CONSTRAINT),
        # [waitlist] Each cell has exactly one owner: a booking or a hold.
        CheckConstraint("(booking_id IS NULL) <> (hold_id IS NULL)", name="one_owner"),
    )


# --- [waitlist] The waiting list for freed appointments (booking/waitlist.py) -----------


class WaitlistPart(enum.StrEnum):
    ANY = "any"
    MORNING = "morning"  # starts before 12:00 local
    AFTERNOON = "afternoon"


class WaitlistStatus(enum.StrEnum):
    WAITING = "waiting"
    OFFERED = "offered"  # a time is held for them now
    BOOKED = "booked"
    LEFT = "left"


WAITLIST_IN_LINE = "status IN ('waiting', 'offered')"


class WaitlistEntry(Model):
    """A resident waiting for a freed time of a service; erased after its last day."""

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("office.id", ondelete="CASCADE"))
    service_id: Mapped[int] = mapped_column(ForeignKey("service.id", ondelete="CASCADE"))
    first_day: Mapped[date] = mapped_column(Date)
    last_day: Mapped[date] = mapped_column(Date)
    part: Mapped[WaitlistPart] = mapped_column(string_enum(WaitlistPart))
    name: Mapped[str] = mapped_column(String(120))
    email: Mapped[str] = mapped_column(String(254))
    language: Mapped[str] = mapped_column(String(5))
    status: Mapped[WaitlistStatus] = mapped_column(string_enum(WaitlistStatus))
    leave_token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The freed time (its first hold's chain) this person let pass: not offered it again.
    passed_chain: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    service: Mapped[Service] = relationship()

    __table_args__ = (
        CheckConstraint("first_day <= last_day", name="range_order"),
        Index("ix_waitlist_entry_line", "office_id", "status", "created_at"),
        # One address waits (or holds an offer) once per service at a time.
        Index(
            "uq_waitlist_entry_in_line",
            "service_id",
            "email",
            unique=True,
            sqlite_where=text(WAITLIST_IN_LINE),
            postgresql_where=text(WAITLIST_IN_LINE),
        ),
    )


class SlotHold(Model):
    """Freed counter time kept out of booking until ``expires_at``: for ``entry`` (who got
    a claim link), or for nobody (the rebooking delay). Its cells are ``BookingSlot`` rows."""

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("office.id", ondelete="CASCADE"))
    service_id: Mapped[int] = mapped_column(ForeignKey("service.id", ondelete="CASCADE"))
    counter_id: Mapped[int] = mapped_column(ForeignKey("counter.id"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    entry_id: Mapped[int | None] = mapped_column(
        ForeignKey("waitlist_entry.id", ondelete="SET NULL"), index=True
    )
    claim_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    # One freed time, across the holds that pass it down the line.
    chain: Mapped[str] = mapped_column(String(32))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    entry: Mapped[WaitlistEntry | None] = relationship()
    service: Mapped[Service] = relationship()

    __table_args__ = (CheckConstraint("starts_at < ends_at", name="starts_before_ends"),)


class WaitlistEvent(Model):
    """What the waiting list did, for the reports: counts, never who (outlives erasure)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("office.id", ondelete="CASCADE"))
    service_id: Mapped[int | None] = mapped_column(ForeignKey("service.id", ondelete="SET NULL"))
    # joined, offered, claimed, expired (an offer not claimed in time), left, ended
    kind: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    day: Mapped[date] = mapped_column(Date)

    __table_args__ = (Index("ix_waitlist_event_office_day", "office_id", "day", "kind"),)


# [altcha] ---------------------------------------------------------------- bot defence
class UsedChallenge(Model):
    """A proof-of-work solution already spent on a booking, kept until its challenge
    expires: the primary key refuses it a second time, also to two requests at once."""

    signature: Mapped[str] = mapped_column(String(128), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
