"""What a page's URL names, found or answered with 404: an office, a service, a booking."""

from __future__ import annotations

from flask import abort, g
from sqlalchemy import select

from okienko.database import db
from okienko.tokens import hash_token

from ..models import Booking, BookingToken, Office, Service
from ..offices import office_by_slug, service_by_key
from ..versions import service_at_version


def get_office(slug: str) -> Office:
    return office_by_slug(db.session(), slug) or abort(404)


def get_service_at_version(slug: str, key: str) -> tuple[Office, Service, int]:
    """``get_office`` and ``get_service`` with the office's version, read before the rest,
    for the pages that show cached free times."""
    found = service_at_version(db.session(), slug, key)
    if found is None or not found[1].bookable_online:
        abort(404)
    return found


def get_service(office: Office, key: str) -> Service:
    """A service residents may book online; the others are not linked, so 404."""
    service = service_by_key(db.session(), office, key)
    if service is None or not service.bookable_online:
        abort(404)
    return service


def get_booking(token: str) -> Booking:
    """The booking a manage link is for: its own token, or one minted for a later mail.

    The page shows a resident's booking, so no cache may keep it.
    """
    g.no_store = True
    if len(token) > 64:
        abort(404)
    digest = hash_token(token)
    booking = db.session.scalar(select(Booking).where(Booking.manage_token_hash == digest))
    if booking is None:  # a link minted for a later mail
        booking = db.session.scalar(
            select(Booking).join(BookingToken).where(BookingToken.token_hash == digest)
        )
    return booking or abort(404)
