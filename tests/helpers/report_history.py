"""A known history for the reports' tests, written by the application's own functions.

Each step is one unit of work at an explicit instant, given as the office's wall clock
("2026-10-19 09:00", local to the office's zone, DST included), so a test reads like the
office's week and its figures can be worked out by hand:

    history = History(app)
    ala = history.clerk(office, "ala", "Counter 1")
    ticket = history.walk_in(meldunek, "2026-10-19 00:30")
    history.serve(ala, ticket, "2026-10-19 00:40", "2026-10-19 00:50")

Bookings go through ``create_booking``, ``reschedule_booking``, ``cancel_booking`` and
``rebook``; admission answers through ``declare``; the floor through ``queueing.arrival``
and ``queueing.calling``; the jobs are the scheduler's own functions. On a day of the
sanitary regime a walk-in and a check-in first pass the kiosk's questions, as the kiosk
asks them.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask
from sqlalchemy import delete, select

from booking import admission
from booking.availability import local_today
from booking.bookings import (
    Contact,
    cancel_booking,
    create_booking,
    rebook,
    reschedule_booking,
    to_phone,
)
from booking.declaration import Channel, declare
from booking.models import (
    AdmissionCheck,
    AdmissionQuestion,
    Booking,
    BookingMode,
    CancelledBy,
    Office,
    Service,
)
from booking.tasks import anonymise
from okienko.database import db
from okienko.transaction import unit_of_work
from queueing import arrival, calling
from queueing.closing import close_day
from queueing.models import StaffUser, Ticket
from queueing.tasks import mark_no_shows
from tests.helpers.factories import MadeOffice, MadeService


class History:
    """Steps of an office's life at the instants a test names, on ``app``."""

    def __init__(self, app: Flask, zone: str = "Europe/Warsaw") -> None:
        self.app = app
        self.zone = ZoneInfo(zone)
        self._numbers = itertools.count(1)

    def _context(self) -> Any:
        """A request's context: the mails a step sends (a refusal's) link to the site."""
        return self.app.test_request_context("/")

    def at(self, when: str) -> datetime:
        """ "2026-10-25 23:30" on the office's clocks, as UTC."""
        return datetime.fromisoformat(when).replace(tzinfo=self.zone).astimezone(UTC)

    # ------------------------------------------------------------------ staff

    def clerk(self, office: MadeOffice, username: str, counter: str) -> int:
        """A clerk of ``office`` seated at ``counter``; their id. No password: the
        history is written by the functions behind the counter's page, not through it."""
        with self._context(), unit_of_work() as session:
            user = StaffUser(
                username=username,
                name=username,
                password_hash="!",
                office_id=office.id,
                counter_id=office.counters[counter],
            )
            session.add(user)
            session.flush()
            return user.id

    # ------------------------------------------------------------------ bookings

    def book(self, service: MadeService, start: str, made: str, *, phone: bool = False) -> int:
        """A booking of ``start`` made at ``made``, by a contact of its own; its id.

        On a day of the sanitary regime the declaration given with it admits.
        """
        number = next(self._numbers)
        contact = Contact(
            name=f"Resident {number}",
            email=None if phone else f"resident{number}@example.com",
            phone=f"+48600{number:06d}" if phone else None,
            language="pl",
        )
        with self._context(), unit_of_work() as session:
            booking, _token = create_booking(
                session,
                session.get_one(Office, service.office.id),
                session.get_one(Service, service.id),
                self.at(start),
                contact,
                self.at(made),
                mode=BookingMode.PHONE if phone else BookingMode.IN_PERSON,
                outcome=admission.Outcome(True),
            )
            session.flush()
            return booking.id

    def cancel(self, booking: int, when: str, by: CancelledBy = CancelledBy.RESIDENT) -> None:
        with self._context(), unit_of_work() as session:
            cancel_booking(session, session.get_one(Booking, booking), self.at(when), by=by)

    def move(self, booking: int, start: str, when: str) -> None:
        with self._context(), unit_of_work() as session:
            reschedule_booking(
                session, session.get_one(Booking, booking), self.at(start), self.at(when)
            )

    def rebook(self, booking: int, start: str, when: str) -> None:
        """A refused visit booked again in person (admitted, if the new day needs it)."""
        with self._context(), unit_of_work() as session:
            rebook(
                session,
                session.get_one(Booking, booking),
                self.at(start),
                self.at(when),
                admission.Outcome(True),
            )

    def to_phone(self, booking: int, when: str) -> None:
        with self._context(), unit_of_work() as session:
            to_phone(session, session.get_one(Booking, booking), "+48600999999", self.at(when))

    # ------------------------------------------------------------------ admission

    def declare(
        self,
        office: MadeOffice,
        channel: Channel,
        when: str,
        *,
        refused_by: str | None = None,
        booking: int | None = None,
    ) -> int | None:
        """Answers to ``office``'s questions: all pass, or the one ``refused_by`` refuses.

        The stored outcome's id (None for a passing answer while booking).
        """
        return self._declare(office.id, channel, when, refused_by, booking)

    def _declare(
        self,
        office_id: int,
        channel: Channel,
        when: str,
        refused_by: str | None = None,
        booking: int | None = None,
    ) -> int | None:
        with self._context(), unit_of_work() as session:
            office = session.get_one(Office, office_id)
            asked = admission.questions(office)
            answers = {q.key: q.refuse_on == (q.key == refused_by) for q in asked}
            made = declare(
                session,
                office,
                asked,
                answers,
                channel,
                self.at(when),
                booking=session.get_one(Booking, booking) if booking else None,
            )
            session.flush()
            return made.check.id if made.check is not None else None

    def remove_question(self, office: MadeOffice, key: str) -> None:
        """The office stops asking ``key``; refusals by it stay in the ledger."""
        with self._context(), unit_of_work() as session:
            session.execute(
                delete(AdmissionQuestion).where(
                    AdmissionQuestion.office_id == office.id, AdmissionQuestion.key == key
                )
            )

    def _regime(self, office_id: int, when: str) -> bool:
        with self.app.app_context():
            office = db.session.get_one(Office, office_id)
            return admission.regime_active(office, local_today(office, self.at(when)))

    # ------------------------------------------------------------------ arrival

    def walk_in(self, service: MadeService, when: str) -> int:
        """A walk-in's ticket; under the regime after a passing answer at the kiosk."""
        office_id = service.office.id
        regime = self._regime(office_id, when)
        check = self._declare(office_id, "kiosk", when) if regime else None
        with self._context(), unit_of_work() as session:
            ticket = arrival.walk_in(
                session,
                session.get_one(Office, office_id),
                session.get_one(Service, service.id),
                self.at(when),
                check=session.get(AdmissionCheck, check) if check else None,
            )
            return ticket.id

    def check_in(self, booking: int, when: str) -> int:
        """An appointment's ticket; under the regime after a passing answer at the kiosk."""
        with self.app.app_context():
            office_id = db.session.get_one(Booking, booking).office_id
        if self._regime(office_id, when):
            self._declare(office_id, "kiosk", when, booking=booking)
        with self._context(), unit_of_work() as session:
            ticket = arrival.check_in(
                session,
                session.get_one(Office, office_id),
                session.get_one(Booking, booking),
                self.at(when),
            )
            return ticket.id

    # ------------------------------------------------------------------ the counter

    def _act(self, staff: int, ticket: int, *steps: tuple[str, str]) -> None:
        """The clerk's actions on one ticket, each ``(function of queueing.calling,
        local time)``, in one unit of work."""
        with self._context(), unit_of_work() as session:
            clerk = session.get_one(StaffUser, staff)
            row = session.get_one(Ticket, ticket)
            for action, when in steps:
                getattr(calling, action)(session, clerk, row, self.at(when))

    def call(self, staff: int, ticket: int, when: str) -> None:
        """Call this ticket (from the line, back from parking or after a transfer)."""
        self._act(staff, ticket, ("call_ticket", when))

    def recall(self, staff: int, ticket: int, when: str) -> None:
        self._act(staff, ticket, ("recall", when))

    def start(self, staff: int, ticket: int, when: str) -> None:
        self._act(staff, ticket, ("start_serving", when))

    def finish(self, staff: int, ticket: int, when: str) -> None:
        self._act(staff, ticket, ("finish", when))

    def no_show(self, staff: int, ticket: int, when: str) -> None:
        self._act(staff, ticket, ("no_show", when))

    def park(self, staff: int, ticket: int, when: str) -> None:
        self._act(staff, ticket, ("park", when))

    def refuse(self, staff: int, ticket: int, when: str, reason: str) -> None:
        with self._context(), unit_of_work() as session:
            calling.refuse(
                session,
                session.get_one(StaffUser, staff),
                session.get_one(Ticket, ticket),
                self.at(when),
                reason,
            )

    def transfer(self, staff: int, ticket: int, when: str, to: MadeService) -> None:
        with self._context(), unit_of_work() as session:
            calling.transfer(
                session,
                session.get_one(StaffUser, staff),
                session.get_one(Ticket, ticket),
                self.at(when),
                service=session.get_one(Service, to.id),
            )

    def serve(self, staff: int, ticket: int, called: str, finished: str) -> None:
        """Called, started at once and finished: the ordinary visit."""
        self._act(
            staff,
            ticket,
            ("call_ticket", called),
            ("start_serving", called),
            ("finish", finished),
        )

    def missed(self, staff: int, ticket: int, called: str) -> None:
        """Called three times ten seconds apart, then closed as a no-show."""
        first = datetime.fromisoformat(called)
        at = [(first + timedelta(seconds=10 * n)).isoformat(" ") for n in range(4)]
        self._act(
            staff,
            ticket,
            ("call_ticket", at[0]),
            ("recall", at[1]),
            ("recall", at[2]),
            ("no_show", at[3]),
        )

    def phone_call(self, staff: int, booking: int, when: str) -> int:
        """A booked phone consultation started at the clerk's counter; its ticket's id."""
        with self._context(), unit_of_work() as session:
            ticket = calling.phone_call(
                session,
                session.get_one(StaffUser, staff),
                session.get_one(Booking, booking),
                self.at(when),
            )
            return ticket.id

    # ------------------------------------------------------------------ the jobs

    def close_day(self, office: MadeOffice, when: str) -> int:
        with self._context(), unit_of_work() as session:
            return close_day(session, session.get_one(Office, office.id), self.at(when))

    def mark_no_shows(self, when: str) -> int:
        with self.app.app_context():
            return mark_no_shows(db.session, self.at(when), self.app.config)

    def retention(self, when: str, keep_days: int) -> int:
        """The retention job with ``keep_days`` for bookings; how many it erased."""
        with self.app.app_context():
            return anonymise(
                db.session, self.at(when), timedelta(days=keep_days), timedelta(days=14)
            )

    def anonymised(self, booking: int) -> bool:
        with self.app.app_context():
            return db.session.scalar(
                select(Booking.anonymized_at.is_not(None)).where(Booking.id == booking)
            )
