"""The booking side's checks for ``flask doctor`` (added in ``booking.init_app``)."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import select

from okienko.doctor import OK, PROBLEM, Finding, connect, first_line

from .models import Office, Service
from .offices import RESERVED_KEYS


def check_service_keys() -> Iterator[Finding]:
    """Services keyed like a page of the office's own (``RESERVED_KEYS``): made before the
    key was reserved, their calendar at /o/SLUG/KEY is out of reach."""
    try:
        with connect() as connection:
            clashes = connection.execute(
                select(Office.slug, Service.key)
                .join(Office, Service.office_id == Office.id)
                .where(Service.key.in_(RESERVED_KEYS))
                .order_by(Office.slug, Service.key)
            ).all()
    except Exception as exc:  # any driver's error, or no tables yet: the message says what
        yield Finding("service keys", PROBLEM, f"cannot read the services: {first_line(exc)}")
        return
    if not clashes:
        yield Finding("service keys", OK, "no service has the address of another page")
        return
    for slug, key in clashes:
        yield Finding(
            "service keys",
            PROBLEM,
            f"office {slug}: service '{key}' cannot be booked: /o/{slug}/{key} is "
            "the address of another page",
            "give the service another key in the database (its booking links change "
            f"with it), e.g. UPDATE service SET key = '{key}-2' WHERE key = '{key}' AND "
            f"office_id = (SELECT id FROM office WHERE slug = '{slug}')",
        )
