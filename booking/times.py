"""Start times as links and the API carry them: ISO 8601 instants, read and written."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

# Instants within a day of the ends of the calendar overflow in local time: never a start.
FIRST_START = datetime.min.replace(tzinfo=UTC) + timedelta(days=1)
LAST_START = datetime.max.replace(tzinfo=UTC) - timedelta(days=1)


def parse_start(text: str | None) -> datetime | None:
    """An ISO 8601 instant with a zone, as the time links carry it; None if malformed."""
    if not text or len(text) > 40:
        return None
    try:
        value = datetime.fromisoformat(text)
        start = value.astimezone(UTC) if value.tzinfo else None
    except (ValueError, OverflowError):
        return None
    return start if start is not None and FIRST_START <= start <= LAST_START else None


def iso(instant: datetime) -> str:
    """``instant`` in UTC to the second, as links and the API give start times."""
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
