"""Clerks' accounts and seats, as the commands and the administration change them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from booking.models import Office
from okienko.database import db

from . import calling
from .access import hash_password
from .models import StaffUser


def upsert_staff(office: Office, username: str, name: str, password: str) -> StaffUser:
    """The active account ``username`` at ``office``, created or reset to this password
    (in the app's session, as ``office`` is)."""
    user = db.session.scalar(select(StaffUser).where(StaffUser.username == username))
    if user is None:
        user = StaffUser(username=username, office_id=office.id, active=True)
        db.session.add(user)
    user.name, user.office_id, user.active = name, office.id, True
    user.password_hash = hash_password(password)
    return user


def release_counter(session: Session, user: StaffUser, now: datetime) -> str | None:
    """Free the clerk's counter; a ticket still held there is parked, not lost. The parked
    ticket's label, if there was one."""
    parked = None
    if user.counter is not None:
        ticket = calling.current_ticket(session, user.counter)
        if ticket is not None:
            calling.park(session, user, ticket, now)
            parked = ticket.label
    user.counter_id = None
    return parked
