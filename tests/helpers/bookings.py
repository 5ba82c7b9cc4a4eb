"""Reading bookings back the way a resident holds them: by the manage token."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select

from booking.models import Booking
from okienko.database import db
from okienko.tokens import hash_token


def booking_of(app: Flask, token: str) -> Booking:
    """The booking behind a manage token, detached so a test can read it after the request."""
    with app.app_context():
        row = db.session.scalar(
            select(Booking).where(Booking.manage_token_hash == hash_token(token))
        )
        assert row is not None, "no booking for this manage token"
        db.session.expunge(row)
        return row
