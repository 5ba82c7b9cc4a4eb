"""The waiting list for freed appointments: plain functions over a session.

When a service has no free time, a resident joins its list (days, morning or
afternoon, an e-mail). When time frees (``signals.time_freed``: a booking
cancelled, refused or moved, a closure lifted), the first matching person in
line gets it held for ``Office.waitlist_hold_minutes`` and a mail with a claim
link; unclaimed, the scheduler passes it down the line, then back to everyone.

A hold owns ``BookingSlot`` cells just as a booking does (``hold_id`` instead of
``booking_id``, a CHECK that exactly one is set), so the one unique (counter,
cell) constraint keeps held time from being booked by anyone else, in the
database, whatever the timing. Claiming releases the cells and books them in
one transaction through ``create_booking`` (its rules: window, contact cap,
sanitary declaration). The rebooking delay against bots is a hold for nobody.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from okienko import outbox
from okienko.database import rows_changed
from okienko.mail import build_message
from okienko.scheduler import job
from okienko.tokens import hash_token, new_token

from . import admission
from .availability import availability, local_today
from .bookings import Contact, create_booking, is_cell_conflict
from .models import (
    Booking,
    BookingSlot,
    Office,
    Service,
    SlotHold,
    WaitlistEntry,
    WaitlistEvent,
    WaitlistPart,
    WaitlistStatus,
)
from .notifications import public_url
from .refusals import BookingError
from .signals import time_freed
from .slots import cells
from .versions import touch

log = logging.getLogger(__name__)

NOON = time(12)
KINDS = ("joined", "offered", "claimed", "expired", "left", "ended")


IN_LINE = (WaitlistStatus.WAITING, WaitlistStatus.OFFERED)


class AlreadyWaiting(BookingError):
    error = "already_waiting"
    message = _l(
        "You are already on the waiting list for this service. The e-mail we sent you has "
        "the link to leave it."
    )


class HoldGone(BookingError):
    error = "hold_gone"
    message = _l("This offer has expired or was already used. Please choose another time.")
    status = 410


def note(
    session: Session, office: Office, service_id: int | None, kind: str, now: datetime
) -> None:
    """One row for the reports' counts (``counts``): no person in it."""
    session.add(
        WaitlistEvent(
            office_id=office.id,
            service_id=service_id,
            kind=kind,
            at=now,
            day=local_today(office, now),
        )
    )


def counts(session: Session, office_id: int, first: date, last: date) -> dict[str, int]:
    """How many joined, were offered, claimed, let an offer expire, left, or ran out, by
    the office's local days ``first`` to ``last``: what the reports show."""
    rows = session.execute(
        select(WaitlistEvent.kind, func.count(WaitlistEvent.id))
        .where(
            WaitlistEvent.office_id == office_id,
            WaitlistEvent.day >= first,
            WaitlistEvent.day <= last,
        )
        .group_by(WaitlistEvent.kind)
    )
    found = dict(rows.tuples().all())
    return {kind: int(found.get(kind, 0)) for kind in KINDS}


# --- Joining and leaving ----------------------------------------------------------------


def join(
    session: Session,
    office: Office,
    service: Service,
    *,
    first_day: date,
    last_day: date,
    part: WaitlistPart,
    name: str,
    email: str,
    language: str,
    now: datetime,
) -> tuple[WaitlistEntry, str]:
    """Put a resident in line; returns the entry and the secret of its leave link.

    One address waits once per service at a time (``AlreadyWaiting``): checked here for
    the message, and by a partial unique index for two joins at once."""
    waiting = session.scalar(
        select(WaitlistEntry.id).where(
            WaitlistEntry.service_id == service.id,
            func.lower(WaitlistEntry.email) == email.lower(),
            WaitlistEntry.status.in_(IN_LINE),
        )
    )
    if waiting is not None:
        raise AlreadyWaiting()
    token = new_token()
    entry = WaitlistEntry(
        office_id=office.id,
        service_id=service.id,
        first_day=first_day,
        last_day=last_day,
        part=part,
        name=name,
        email=email,
        language=language,
        status=WaitlistStatus.WAITING,
        leave_token_hash=hash_token(token),
        created_at=now,
    )
    try:
        with session.begin_nested():
            session.add(entry)
            session.flush()
    except IntegrityError as exc:
        raise AlreadyWaiting() from exc
    note(session, office, service.id, "joined", now)
    return entry, token


def entry_by_token(session: Session, token: str) -> WaitlistEntry | None:
    if len(token) > 64:
        return None
    return session.scalar(
        select(WaitlistEntry).where(WaitlistEntry.leave_token_hash == hash_token(token))
    )


def erase_person(entry: WaitlistEntry) -> None:
    """Out of line for good (left, or booked): nobody is mailed again, so the name and
    address go now; the row stays for the leave page and the counts."""
    entry.name, entry.email = "", ""


def leave(session: Session, entry: WaitlistEntry, now: datetime) -> None:
    """Out of line; a time held for them goes to the next person at once.

    Conditional, as a claim of their offer may commit first: a booked entry stays booked.
    """
    if entry.status not in IN_LINE:
        return
    office = session.get(Office, entry.office_id)
    assert office is not None
    for hold in session.scalars(select(SlotHold).where(SlotHold.entry_id == entry.id)).all():
        release(session, hold, now, lapsed=False)
    session.flush()
    left = rows_changed(
        session.execute(
            update(WaitlistEntry)
            .where(WaitlistEntry.id == entry.id, WaitlistEntry.status.in_(IN_LINE))
            .values(status=WaitlistStatus.LEFT, name="", email="")
            .execution_options(synchronize_session=False)
        )
    )
    session.refresh(entry)
    if left == 1:
        note(session, office, entry.service_id, "left", now)


# --- Offering freed time ----------------------------------------------------------------


def in_part(part: WaitlistPart, start: datetime, zone: ZoneInfo) -> bool:
    if part == WaitlistPart.ANY:
        return True
    morning = start.astimezone(zone).time() < NOON
    return morning == (part == WaitlistPart.MORNING)


def matching_start(
    session: Session,
    office: Office,
    entry: WaitlistEntry,
    starts_at: datetime,
    ends_at: datetime,
    now: datetime,
) -> datetime | None:
    """The first free start of the entry's service within the freed span that it wants."""
    zone = ZoneInfo(office.timezone)
    first = max(entry.first_day, starts_at.astimezone(zone).date(), local_today(office, now))
    last = min(entry.last_day, (ends_at - timedelta(microseconds=1)).astimezone(zone).date())
    if first > last:
        return None
    free = availability(session, office, entry.service, first, last, now)
    for day in sorted(free):
        for start in free[day]:
            if starts_at <= start < ends_at and in_part(entry.part, start, zone):
                return start
    return None


def hold_expiry(office: Office, start: datetime, minutes: int, now: datetime) -> datetime | None:
    """When a hold of ``minutes`` on time starting at ``start`` ends: never after the last
    moment the time can still be booked; None when that moment is not in the future."""
    expires_at = min(
        now + timedelta(minutes=minutes), start - timedelta(minutes=office.min_notice_minutes)
    )
    return expires_at if expires_at > now else None


def _hold_cells(
    session: Session,
    office: Office,
    service: Service,
    start: datetime,
    end: datetime,
    counters: list[int],
    entry: WaitlistEntry | None,
    chain: str,
    expires_at: datetime,
    now: datetime,
) -> tuple[SlotHold, str | None] | None:
    """A hold on the first of ``counters`` whose cells from ``start`` to ``end`` are free."""
    step = timedelta(minutes=office.slot_minutes)
    for counter_id in counters:
        token = new_token() if entry is not None else None
        try:
            with session.begin_nested():
                hold = SlotHold(
                    office_id=office.id,
                    service_id=service.id,
                    counter_id=counter_id,
                    starts_at=start,
                    ends_at=end,
                    entry_id=entry.id if entry is not None else None,
                    claim_token_hash=hash_token(token) if token else None,
                    chain=chain,
                    expires_at=expires_at,
                    created_at=now,
                )
                session.add(hold)
                session.flush()
                session.add_all(
                    BookingSlot(hold_id=hold.id, counter_id=counter_id, starts_at=cell)
                    for cell in cells(start, end - start, step)
                )
                session.flush()
            return hold, token
        except IntegrityError as exc:
            if not is_cell_conflict(exc):
                raise
    return None


def offer(
    session: Session,
    office: Office,
    starts_at: datetime,
    ends_at: datetime,
    now: datetime,
    *,
    chain: str,
) -> list[SlotHold]:
    """Hold for each person in line (by join time) the first free time of the span they
    want, and mail them its claim link; returns the new holds."""
    today = local_today(office, now)
    line = session.scalars(
        select(WaitlistEntry)
        .where(
            WaitlistEntry.office_id == office.id,
            WaitlistEntry.status == WaitlistStatus.WAITING,
            WaitlistEntry.last_day >= today,
            or_(WaitlistEntry.passed_chain.is_(None), WaitlistEntry.passed_chain != chain),
        )
        .order_by(WaitlistEntry.created_at, WaitlistEntry.id)
    ).all()
    holds = []
    for entry in line:
        start = matching_start(session, office, entry, starts_at, ends_at, now)
        if start is None:
            continue
        expires_at = hold_expiry(office, start, office.waitlist_hold_minutes, now)
        if expires_at is None:
            continue  # too late to claim: left for anyone to book
        service = entry.service
        end = start + timedelta(minutes=service.duration_minutes)
        # The entry is claimed first, conditionally: of two offers at once (two cancels),
        # one changes its row and the other skips it; no hold without the claim.
        savepoint = session.begin_nested()
        claimed = rows_changed(
            session.execute(
                update(WaitlistEntry)
                .where(WaitlistEntry.id == entry.id, WaitlistEntry.status == WaitlistStatus.WAITING)
                .values(status=WaitlistStatus.OFFERED)
                .execution_options(synchronize_session=False)
            )
        )
        made = None
        if claimed == 1:
            made = _hold_cells(
                session,
                office,
                service,
                start,
                end,
                [c.id for c in service.counters],
                entry,
                chain,
                expires_at,
                now,
            )
        if made is None:
            savepoint.rollback()
            continue
        savepoint.commit()
        session.refresh(entry)
        hold, token = made
        assert token is not None
        note(session, office, service.id, "offered", now)
        _mail_offer(session, office, hold, entry, token, now)
        holds.append(hold)
    if holds:
        touch(session, office.id)
    return holds


def on_time_freed(
    office: Office,
    *,
    session: Session,
    starts_at: datetime,
    ends_at: datetime,
    counter_id: int | None,
    service_id: int | None,
    reason: str,
    now: datetime,
) -> None:
    """Freed time goes to the waiting list first; time a booking freed, with nobody
    waiting for it, stays out of booking ``rebook_delay_minutes`` (a hold for nobody)."""
    chain = uuid.uuid4().hex
    holds = offer(session, office, max(starts_at, now), ends_at, now, chain=chain)
    delay = office.rebook_delay_minutes
    if holds or not delay or counter_id is None or service_id is None:
        return
    service = session.get(Service, service_id)
    assert service is not None
    expires_at = hold_expiry(office, starts_at, delay, now)
    if expires_at is None:
        return  # starting (nearly) now: nobody could rebook it in the delay anyway
    if _hold_cells(
        session,
        office,
        service,
        starts_at,
        ends_at,
        [counter_id],
        None,
        chain,
        expires_at,
        now,
    ):
        touch(session, office.id)


def connect() -> None:
    """Subscribe to the booking side's announcements (twice is harmless)."""
    time_freed.connect(on_time_freed)


# --- Passing a hold on, and claiming it --------------------------------------------------


def release(session: Session, hold: SlotHold, now: datetime, *, lapsed: bool = True) -> bool:
    """Free the hold's cells and offer them to the next in line; False if another process
    (a second scheduler, a claim) got the hold first.

    The conditional DELETE is the claim: only one transaction removes the row it read.
    The hold's row goes before its cells, in the order a claim locks them (the row FOR
    UPDATE, then the cells): opposite orders would deadlock on PostgreSQL.
    """
    office = session.get(Office, hold.office_id)
    assert office is not None
    hold_id, expires_at, chain = hold.id, hold.expires_at, hold.chain
    span = hold.starts_at, hold.ends_at
    entry = hold.entry
    taken = rows_changed(
        session.execute(
            delete(SlotHold)
            .where(SlotHold.id == hold_id, SlotHold.expires_at == expires_at)
            .execution_options(synchronize_session=False)
        )
    )
    if taken != 1:
        return False
    session.execute(delete(BookingSlot).where(BookingSlot.hold_id == hold_id))
    session.expunge(hold)
    if entry is not None and entry.status == WaitlistStatus.OFFERED:
        entry.status = WaitlistStatus.WAITING
        entry.passed_chain = chain
        if lapsed:
            note(session, office, hold.service_id, "expired", now)
    touch(session, office.id)
    session.flush()
    offer(session, office, max(span[0], now), span[1], now, chain=chain)
    return True


def hold_by_token(session: Session, token: str, now: datetime) -> SlotHold:
    """The live hold a claim link names, locked until commit; ``HoldGone`` if none."""
    if len(token) > 64:
        raise HoldGone()
    hold = session.scalar(
        select(SlotHold).where(SlotHold.claim_token_hash == hash_token(token)).with_for_update()
    )
    if hold is None or hold.entry is None or hold.expires_at <= now:
        raise HoldGone()
    return hold


def claim(
    session: Session,
    token: str,
    now: datetime,
    outcome: admission.Outcome | None = None,
) -> tuple[Booking, str]:
    """Book the held time for the person it was offered to; the caller commits.

    The hold's cells are released and booked in the same transaction: a competing
    booking meets either the held cells or the booking's, never a gap.
    """
    hold = hold_by_token(session, token, now)
    entry = hold.entry
    assert entry is not None
    office = session.get(Office, hold.office_id)
    assert office is not None
    session.execute(delete(BookingSlot).where(BookingSlot.hold_id == hold.id))
    gone = rows_changed(
        session.execute(
            delete(SlotHold)
            .where(SlotHold.id == hold.id, SlotHold.expires_at == hold.expires_at)
            .execution_options(synchronize_session=False)
        )
    )
    if gone != 1:
        raise HoldGone()
    start, service, counter_id = hold.starts_at, hold.service, hold.counter_id
    session.expunge(hold)
    contact = Contact(entry.name, entry.email, None, entry.language)
    # The claim link proved the mailbox: no confirmation by mail; the held counter.
    booking, manage = create_booking(
        session,
        office,
        service,
        start,
        contact,
        now,
        outcome=outcome,
        confirmed=True,
        counter_id=counter_id,
    )
    entry.status = WaitlistStatus.BOOKED
    erase_person(entry)
    note(session, office, service.id, "claimed", now)
    return booking, manage


# --- Scheduled work ----------------------------------------------------------------------


@job("waitlist_holds", every=timedelta(minutes=1))
def expire_holds(session: Session, now: datetime, config: Mapping[str, Any]) -> int:
    """Pass every expired hold on (next in line, or back to everyone), each exactly once."""
    due = session.scalars(
        select(SlotHold.id).where(SlotHold.expires_at <= now).order_by(SlotHold.expires_at)
    ).all()
    session.commit()
    passed = 0
    for hold_id in due:
        try:
            hold = session.get(SlotHold, hold_id)
            if hold is not None and hold.expires_at <= now and release(session, hold, now):
                session.commit()
                passed += 1
            else:
                session.rollback()  # another scheduler or a claim was first
        except Exception:
            session.rollback()
            log.exception("hold %s not passed on", hold_id)
    return passed


def erase_entries(session: Session, now: datetime) -> int:
    """Erase entries whose last day is over (names, addresses, tokens); counts stay.
    Part of the hourly ``retention`` job (booking/tasks.py)."""
    erased = 0
    for office in session.scalars(select(Office)).all():
        today = local_today(office, now)
        old = session.execute(
            select(WaitlistEntry.id, WaitlistEntry.service_id, WaitlistEntry.status).where(
                WaitlistEntry.office_id == office.id, WaitlistEntry.last_day < today
            )
        ).all()
        for entry_id, service_id, status in old:
            gone = rows_changed(
                session.execute(
                    delete(WaitlistEntry)
                    .where(WaitlistEntry.id == entry_id)
                    .execution_options(synchronize_session=False)
                )
            )
            if gone and status in (WaitlistStatus.WAITING, WaitlistStatus.OFFERED):
                note(session, office, service_id, "ended", now)
            erased += gone
    session.commit()
    return erased


# --- Mail ------------------------------------------------------------------------------------


def _send(
    session: Session,
    office: Office,
    person: WaitlistEntry,
    template: str,
    subject: object,
    now: datetime,
    **context: Any,
) -> None:
    with force_locale(person.language):
        context.update(
            office=office, service=person.service, name=person.name, locale=person.language
        )
        message = build_message(
            current_app.config["MAIL_SENDER"],
            person.email,
            str(subject),
            render_template(f"mail/{template}.txt", **context),
            render_template(f"mail/{template}.html", **context),
            (),
            reply_to=office.email,
        )
    outbox.post(session, message, now, office.id, None)


def mail_joined(
    session: Session, office: Office, entry: WaitlistEntry, token: str, now: datetime
) -> None:
    """That they are in line, with the link to leave it."""
    subject = _l(
        "You are on the waiting list: %(service)s", service=entry.service.name(entry.language)
    )
    _send(
        session,
        office,
        entry,
        "waitlist_joined",
        subject,
        now,
        entry=entry,
        leave_url=public_url("booking.waitlist_leave", token=token),
    )


def _mail_offer(
    session: Session,
    office: Office,
    hold: SlotHold,
    entry: WaitlistEntry,
    token: str,
    now: datetime,
) -> None:
    """The freed time and the claim link, in the resident's language."""
    subject = _l("A time has freed up: %(service)s", service=entry.service.name(entry.language))
    _send(
        session,
        office,
        entry,
        "waitlist_offer",
        subject,
        now,
        start=hold.starts_at,
        expires_at=hold.expires_at,
        claim_url=public_url("booking.waitlist_claim", token=token),
    )


def pending_holds(session: Session, office_id: int) -> int:
    """How many holds the office has now (for tests and the doctor)."""
    return int(
        session.scalar(select(func.count(SlotHold.id)).where(SlotHold.office_id == office_id)) or 0
    )
