"""What the reports read, kept as the floor works: the counters at work per local hour."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from booking.models import Office

from .models import CounterHour


def local_hour(office: Office, moment: datetime) -> int:
    return moment.astimezone(ZoneInfo(office.timezone)).hour


def counter_at_work(session: Session, office: Office, counter_id: int, now: datetime) -> None:
    """Note that ``counter_id`` worked in this hour; once per hour whoever comes first."""
    local = now.astimezone(ZoneInfo(office.timezone))
    row = {
        "office_id": office.id,
        "day": local.date(),
        "hour": local.hour,
        "counter_id": counter_id,
    }
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    session.execute(dialect.insert(CounterHour).values(row).on_conflict_do_nothing())
