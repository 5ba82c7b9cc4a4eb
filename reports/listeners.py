"""What the reports do when other features announce something."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from booking.models import Office
from okienko.database import utcnow
from queueing.cli import DEMO_STAFF
from queueing.models import StaffUser
from queueing.signals import demo_loaded

from .demo import PATTERNS, WEEKS, add_history


@demo_loaded.connect
def demo_history(app: Flask, *, session: Session, **_: Any) -> list[str]:
    """Weeks of made-up history before today for each demo office, once; returns the lines
    ``flask demo`` prints about the reports."""
    now = utcnow()
    for slug, pattern in PATTERNS.items():
        office = session.scalar(select(Office).where(Office.slug == slug))
        if office is None:
            continue
        names = [username for s, username, _name in DEMO_STAFF if s == slug]
        found = session.scalars(
            select(StaffUser).where(StaffUser.office_id == office.id, StaffUser.username.in_(names))
        )
        clerks = sorted(found, key=lambda user: names.index(user.username))
        add_history(session, office, pattern, clerks, now)
    base = app.config["PUBLIC_URL"].rstrip("/")
    return [
        f"\nReports:        {base}/admin/reports/  ({WEEKS} weeks of made-up history;"
        " sign in as a manager)"
    ]
