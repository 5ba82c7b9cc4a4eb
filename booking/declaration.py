"""The sanitary admission declaration, wherever it is given: one use case for every channel.

The booking form, the API, the online check before a visit, moving a refused
visit and the kiosk all ask the same questions; what an answer leads to is
decided here, once. Callers only read their form and show the result.

This module imports ``notifications``, which imports ``admission``: the use case
cannot live in ``admission`` itself without an import cycle.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy.orm import Session

from . import admission, notifications
from .bookings import Contact, refuse_booking
from .models import AdmissionCheck, AdmissionQuestion, Booking, Office, Service

# Where the answers were given; kept with the outcome (``AdmissionCheck.place``).
Channel = Literal["booking", "online", "kiosk"]


@dataclass(frozen=True)
class Wanted:
    """The visit asked for when nothing is booked yet: whom to tell of a refusal, and what."""

    service: Service
    start: datetime
    contact: Contact


@dataclass(frozen=True)
class Declaration:
    """What a declaration came to.

    ``check`` is the stored outcome, or None for a passing answer in the "booking"
    channel: the booking made with it stores the outcome together with itself.
    """

    outcome: admission.Outcome
    check: AdmissionCheck | None

    @property
    def refused(self) -> bool:
        return not self.outcome.admitted


def declare(
    session: Session,
    office: Office,
    asked: list[AdmissionQuestion],
    answers: Mapping[str, bool | None],
    channel: Channel,
    now: datetime,
    *,
    booking: Booking | None = None,
    wanted: Wanted | None = None,
) -> Declaration:
    """Evaluate ``answers`` to ``asked`` and do what the outcome requires; never commits.

    A refusal is always kept (never the answers). Then, by who is refused:

    - nobody booked yet (booking form, API): ``wanted``'s contact is told where to
      turn instead, if ``wanted`` is given (a walk-in at the kiosk leaves no contact);
    - a refused booking coming back ("booking" channel): it stays refused, and the
      office's waiting days start again from now;
    - an active booking (online, kiosk): it is refused, freeing its counter time, and
      the resident is mailed the next steps. Raises ``NotActive`` if it ended meanwhile.

    A passing answer is kept at once online and at the kiosk (the kiosk issues the
    ticket with it); in the "booking" channel ``create_booking`` or ``rebook`` keeps it.
    Raises ``AnswersMissing`` if a question has no answer.
    """
    outcome = admission.evaluate(asked, answers)
    if outcome.admitted:
        if channel == "booking":  # the booking made with it keeps it
            return Declaration(outcome, None)
        check = admission.record(session, office, channel, outcome, now, booking=booking)
        return Declaration(outcome, check)
    if booking is not None and channel != "booking":
        # First of all: holding the booking's row, a check-in or refusal elsewhere waits.
        refuse_booking(session, booking, now)
        notifications.admission_refused(session, booking, now)
    elif booking is not None:
        booking.refused_at = now
    service_id = wanted.service.id if booking is None and wanted is not None else None
    check = admission.record(
        session, office, channel, outcome, now, booking=booking, service_id=service_id
    )
    if booking is None and wanted is not None:
        notifications.refused_before_booking(
            session, office, wanted.service, wanted.start, wanted.contact, now
        )
    return Declaration(outcome, check)
