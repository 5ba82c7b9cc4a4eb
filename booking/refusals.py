"""Refusals: what a resident or clerk is told cannot be done, with a stable code, a message
and an HTTP status. The base class, and the booking's own; the floor's are in
``queueing/refusals.py``, the sanitary check's in ``booking/admission.py``."""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l


class Refusal(Exception):
    """Something that cannot be done; views show ``message``, the API returns ``error``.

    Subclasses set ``error`` (stable, for machines), ``message`` (lazily
    translated, for people) and the HTTP ``status``; ``details`` fill the
    message's placeholders, such as a time to come back.
    """

    error = "refused"
    message: object = "refused"
    status = 409

    def __init__(self, message: object | None = None, **details: object) -> None:
        if message is not None:
            self.message = message
        self.details = details
        super().__init__(str(self.error))


class BookingError(Refusal):
    """A booking request that cannot be met."""

    error = "booking_error"
    message: object = _l("This booking cannot be made.")


class SlotTaken(BookingError):
    error = "slot_taken"
    message = _l("This time was just taken. Please choose another one.")

    def __init__(self, alternatives: list[datetime]) -> None:
        super().__init__()
        self.alternatives = alternatives


class NotBookable(BookingError):
    error = "not_bookable"
    message = _l("This time cannot be booked for this service.")
    status = 422


class TooManyBookings(BookingError):
    error = "too_many_bookings"
    message = _l(
        "You already have the largest number of upcoming bookings allowed at this office. "
        "Cancel one first or contact the office."
    )


class TooManyChanges(BookingError):
    error = "too_many_changes"
    message = _l(
        "This booking has been changed too many times. Please cancel it and book again, "
        "or contact the office."
    )


class NotActive(BookingError):
    error = "not_active"
    message = _l("This booking has been cancelled or has already taken place.")


class PhoneNeeded(BookingError):
    error = "phone_needed"
    message = _l("Please give a phone number the office can call for a phone consultation.")
    status = 422


class RebookTooSoon(BookingError):
    error = "rebook_too_soon"
    message = _l("After a refused admission, a visit in person can be booked from %(time)s.")
    status = 422


# [confirm] Bookings confirmed by mail (``booking/confirmation.py``).
class EmailNeeded(BookingError):
    error = "email_needed"
    message = _l("This office confirms bookings by e-mail: please give your e-mail address.")
    status = 422


class NotConfirmed(Refusal):
    """At the kiosk: a pending booking cannot check in."""

    error = "not_confirmed"
    message = _l(
        "This booking is not confirmed yet: open the link in the e-mail we sent you, then "
        "check in again, or take a walk-in ticket."
    )
