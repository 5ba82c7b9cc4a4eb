"""The booking attempt limit of the resident's pages: only real attempts count."""

from __future__ import annotations

from flask import current_app, flash
from flask_babel import gettext as _
from flask_limiter.errors import RateLimitExceeded

from okienko.extensions import limiter


@limiter.limit(lambda: current_app.config["BOOKING_RATE_LIMIT"])
def booking_attempt() -> None:
    """One attempt at booking (or answering, or switching to phone): what the limit counts.

    Called once the form has validated, so a form sent back to correct (422) uses up
    nothing; over the limit it raises RateLimitExceeded. The count is per page
    (the request's endpoint), as the limit was when it decorated the views.
    """


def over_booking_limit() -> bool:
    """Count this attempt; True, with a message, when it is one too many."""
    try:
        booking_attempt()
    except RateLimitExceeded:
        flash(
            _(
                "Too many attempts from your connection. Please wait a few minutes and "
                "send this again."
            ),
            "error",
        )
        return True
    return False
