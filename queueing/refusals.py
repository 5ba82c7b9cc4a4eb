"""Refusals on the office floor, with a message for the resident or the clerk."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from booking.refusals import Refusal


class FloorError(Refusal):
    """A kiosk or counter action that cannot be done."""

    error = "floor_error"
    message: object = _l("This cannot be done now.")


class TicketNotValid(FloorError):
    error = "ticket_not_valid"
    message = _l(
        "This QR code is not a valid ticket of this office. Please type your booking code "
        "or ask at the information desk."
    )
    status = 400


class UnknownCode(FloorError):
    error = "unknown_code"
    message = _l("No booking has this code. Please check it, or ask at the information desk.")
    status = 404


class WrongOffice(FloorError):
    error = "wrong_office"
    message = _l("This booking is for another office. Please check the address in your booking.")


class BookingNotActive(FloorError):
    error = "booking_cancelled"
    message = _l("This booking has been cancelled. You can take a ticket for a walk-in visit.")


class PhoneConsultation(FloorError):
    error = "phone_consultation"
    message = _l(
        "This booking is a phone consultation: the office will call you at the booked time. "
        "There is no need to check in."
    )


class TooEarly(FloorError):
    error = "too_early"
    message = _l("It is too early to check in. Please come back from %(time)s.")


class TooLate(FloorError):
    error = "too_late"
    message = _l(
        "The time to check in for this booking has passed. Please take a walk-in ticket "
        "or book a new time."
    )


class OfficeClosed(FloorError):
    error = "office_closed"
    message = _l("The office is closed now.")


class NoWalkIns(FloorError):
    error = "no_walk_ins"
    message = _l("This service is by appointment only.")
    status = 404


class CounterBusy(FloorError):
    error = "counter_busy"
    message = _l("Finish or park the current ticket before calling the next one.")


class TooSoon(FloorError):
    error = "too_soon"
    message = _l("A ticket was just called from this counter. Wait a few seconds.")


class NotAllowed(FloorError):
    error = "not_allowed"
    message = _l("This ticket is not in a state that allows this.")


class NoCounter(FloorError):
    error = "no_counter"
    message = _l("Choose the counter you sit at first.")
