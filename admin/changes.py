"""Changes of an office that may take away booked counter time, made safely.

Every admin POST that edits an office calls ``lock_office`` first, so two managers'
edits of one office run one after the other. A change that may remove booked counter
time (a closure, shorter hours, a counter removed, a service taken off a counter) goes
through ``change_office``::

    try:
        result = change_office(office, lambda session: apply(session, ...), now)
    except NeedsDecision as needed:
        return affected_page(office, needed)        # nothing was saved
    flash(...); return redirect(...)                # saved, with the bookings settled

``change_office`` opens the unit of work, locks the office, calls ``apply(session)``
(which changes rows and records its own history entry; to remove a counter, take its
services off it in ``apply`` and delete it afterwards, once no booking holds it),
flushes, and settles the bookings that lost their counter time (``admin/affected.py``):

1. with no decisions posted, each is moved to another counter free at the same time
   where one is; if any booking is affected at all, everything is rolled back and
   ``NeedsDecision`` carries the list for the preview (the manager sees them first);
2. ``affected_page`` renders ``admin/affected.html``: each booking with the proposed
   counter or "cannot be moved", a choice move/cancel, one reason, and every field of
   the original POST carried in hidden inputs, posted back to the same URL;
3. on that post (``affected-confirm``) the same view runs ``change_office`` again: the
   change is re-applied, the bookings chosen for cancelling are cancelled by the office
   (mail with the reason), the others are moved, and nothing may be left stranded. If
   the world changed meanwhile (a new booking, a counter no longer free) it is rolled
   back and the preview shown again (``NeedsDecision.stale``).

The change, the moves and the cancellations commit together or not at all. The history
names bookings by id and code only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from flask import abort, render_template, request
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict

from booking.codes import format_code
from booking.models import Booking, Office
from okienko.transaction import unit_of_work
from queueing.access import row_id
from queueing.models import StaffUser

from . import affected as bookings
from .access import staff
from .audit import record

T = TypeVar("T")

PREFIX = "affected-"
CONFIRM = PREFIX + "confirm"
REASON = PREFIX + "reason"
MOVE, CANCEL = "move", "cancel"
REASON_MAX = 300


def lock_office(session: Session, office: Office) -> None:
    """Serialize edits of ``office`` until the transaction ends; call it before changing anything.

    On PostgreSQL the office's row is locked (SELECT ... FOR UPDATE) and everything read
    before is expired, so what follows sees the edits committed by whoever held the lock
    before. SQLite's posts already run one at a time (BEGIN IMMEDIATE).
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    session.flush()
    session.execute(select(Office.id).where(Office.id == office.id).with_for_update())
    session.expire_all()


@dataclass(frozen=True)
class Affected:
    """One booking that lost its counter time, as the preview lists it (plain values)."""

    booking_id: int
    code: str
    starts_at: datetime
    ends_at: datetime
    service_names: Mapping[str, str]
    counter: str
    move_to: str | None  # the counter it can go to at the same time; None: cannot be moved
    # (or, where nothing can be moved, not asked: an office file's import)
    # Whom to call about it: shown to the office's staff on the preview, never recorded.
    resident: str = ""
    email: str | None = None
    phone: str | None = None

    @property
    def shown_code(self) -> str:
        """As the resident's mails and page show it: ABCD-EFGH."""
        return format_code(self.code)


@dataclass(frozen=True)
class Decisions:
    """What the manager chose on the preview: per booking id "move" or "cancel", one reason."""

    choices: Mapping[int, str]
    reason: str

    @classmethod
    def from_form(cls, form: Mapping[str, str]) -> Decisions | None:
        """The decisions posted from the preview, or None if this is no confirmation.

        The preview posts nothing else under its prefix: any other field there is a
        hand-made post, answered 400."""
        if form.get(CONFIRM) != "1":
            return None
        choices = {}
        for name, value in form.items():
            rest = name.removeprefix(PREFIX)
            if rest == name or name in (CONFIRM, REASON):
                continue
            booking_id = row_id(rest)
            if booking_id is None or value not in (MOVE, CANCEL):
                abort(400)
            choices[booking_id] = value
        return cls(choices, (form.get(REASON) or "").strip())


@dataclass
class NeedsDecision(Exception):
    """The change affects booked visits: nothing was saved; the manager decides first."""

    affected: list[Affected]
    stale: bool = False  # decisions were posted, but the bookings changed since
    errors: dict[str, str] = field(default_factory=dict)  # field name -> message


@dataclass(frozen=True)
class Settled:
    moved: list[int]  # booking ids
    cancelled: list[int]


def describe(booking: Booking, move_to: int | None = None) -> Affected:
    """The booking as the preview lists it; ``move_to`` is the id of the counter it could go to."""
    counters = {c.id: c.name for c in booking.office.counters}
    return Affected(
        booking_id=booking.id,
        code=booking.code,
        starts_at=booking.starts_at,
        ends_at=booking.ends_at,
        service_names=dict(booking.service.names),
        counter=counters.get(booking.counter_id, ""),
        move_to=counters.get(move_to) if move_to is not None else None,
        resident=booking.name,
        email=booking.email,
        phone=booking.phone,
    )


def settle(
    session: Session,
    office: Office,
    now: datetime,
    decisions: Decisions | None,
    *,
    actor: StaffUser | None = None,
) -> Settled:
    """Move or cancel the bookings the flushed change left without counter time.

    Raises ``NeedsDecision`` (the caller rolls back) when the manager has not decided
    yet, when the decisions no longer fit the bookings, or when a reason is missing.
    ``actor`` (for the history) defaults to the signed-in person.
    """
    lost = bookings.held(session, office, now)
    if not lost:
        return Settled([], [])
    choices = decisions.choices if decisions is not None else {}
    undecided = [b for b in lost if b.id not in choices]
    to_cancel = [b for b in lost if choices.get(b.id) == CANCEL]
    errors = {}
    if decisions is not None and to_cancel and not decisions.reason:
        errors[REASON] = _("Write the reason residents will read in the cancellation mail.")
    elif decisions is not None and len(decisions.reason) > REASON_MAX:
        errors[REASON] = _("Use at most %(count)d characters.", count=REASON_MAX)
    if decisions is None or undecided or errors:
        # The preview: every affected booking with the counter it would move to.
        proposals = [(b, bookings.move_anywhere(session, b)) for b in lost]
        raise NeedsDecision(
            [describe(b, to) for b, to in proposals],
            stale=decisions is not None and bool(undecided),
            errors=errors,
        )
    assert decisions is not None
    actor = actor if actor is not None else staff()
    # Cancelling first frees time a booking to be moved may need. The reason is not kept
    # in the history: it is the resident's booking's, erased with it (retention).
    for booking in to_cancel:
        before = {"status": booking.status, "counter_id": booking.counter_id}
        bookings.cancel_by_office(session, booking, decisions.reason, now)
        record(
            session,
            now,
            actor,
            bookings.CANCEL_ACTION,
            bookings.BOOKING_RECORD,
            booking.id,
            office_id=office.id,
            before=before,
            after={"status": booking.status, "code": booking.code},
        )
    moved = []
    stuck = []
    for booking in lost:
        if choices[booking.id] != MOVE:
            continue
        old = booking.counter_id
        if bookings.move_anywhere(session, booking) is None:
            stuck.append(booking)
            continue
        moved.append(booking.id)
        record(
            session,
            now,
            actor,
            "move",
            bookings.BOOKING_RECORD,
            booking.id,
            office_id=office.id,
            before={"counter_id": old},
            after={"counter_id": booking.counter_id, "code": booking.code},
        )
    left = bookings.stranded(session, office, now)
    if stuck or left:
        raise NeedsDecision(
            [describe(b, bookings.move_anywhere(session, b)) for b in left],
            stale=True,
        )
    return Settled(moved, [b.id for b in to_cancel])


def change_office(office: Office, apply: Callable[[Session], T], now: datetime) -> T:
    """Apply a change of ``office`` and settle the bookings it affects, in one unit of work.

    ``apply`` makes the change (and its history entry) in the session it is given and
    returns whatever the view needs. The decisions come from the posted preview
    (``Decisions.from_form(request.form)``). Raises ``NeedsDecision`` after rolling back.
    """
    decisions = Decisions.from_form(request.form)
    with unit_of_work() as session:
        lock_office(session, office)
        result = apply(session)
        session.flush()
        settle(session, office, now, decisions)
    return result


def carried_fields(form: MultiDict[str, str]) -> list[tuple[str, str]]:
    """The posted change, to repeat in hidden inputs: every field but the token and the
    preview's own."""
    return [
        (name, value)
        for name, value in form.items(multi=True)
        if name != "csrf_token" and not name.startswith(PREFIX)
    ]


def affected_page(
    office: Office,
    needed: NeedsDecision,
    *,
    what: str = "",
    back: str | None = None,
    reason: str = "",
) -> tuple[str, int]:
    """The preview of the bookings a change affects, posting back to the same URL.

    ``what`` says in a sentence what the change is; ``back`` is the editor's address
    for "back without saving"; ``reason`` fills the reason field until the manager
    types one (a closure's note, say). Status 200, 422 (a reason missing) or 409 (stale).
    """
    posted = Decisions.from_form(request.form)
    status = 409 if needed.stale else 422 if needed.errors else 200
    return render_template(
        "admin/affected.html",
        office=office,
        affected=needed.affected,
        stale=needed.stale,
        errors=needed.errors,
        what=what,
        carried=carried_fields(request.form),
        action=request.path,
        choices=posted.choices if posted is not None else {},
        reason=posted.reason if posted is not None else reason,
        MOVE=MOVE,
        CANCEL=CANCEL,
        PREFIX=PREFIX,
        CONFIRM=CONFIRM,
        REASON=REASON,
        back=back,
    ), status


__all__ = [
    "Affected",
    "Decisions",
    "NeedsDecision",
    "Settled",
    "affected_page",
    "carried_fields",
    "change_office",
    "describe",
    "lock_office",
    "settle",
]
