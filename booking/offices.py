"""Finding an office by its slug and a service by its key, as links and requests name them."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import Office, Service

# Pages of an office's own under /o/<slug>/ (the public queue): never a service's key, or
# that service's calendar at /o/<slug>/<key> would be out of reach.
RESERVED_KEYS = frozenset({"queue"})


def storable(text: str) -> bool:
    """Whether ``text`` can be in the database at all: PostgreSQL refuses NUL, and neither
    database takes a lone surrogate (JSON can carry one); such text matches nothing."""
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return "\0" not in text


def office_by_slug(session: Session, slug: str) -> Office | None:
    if not storable(slug):
        return None
    return session.scalar(select(Office).where(Office.slug == slug))


class UnknownOffice(LookupError):
    """No office has this slug."""


def require_office(session: Session, slug: str) -> Office:
    """The office ``slug`` names, where it must exist (a command, the demo data)."""
    office = office_by_slug(session, slug)
    if office is None:
        raise UnknownOffice(f"no office {slug!r}")
    return office


def service_by_key(session: Session, office: Office, key: str) -> Service | None:
    if not storable(key):
        return None
    return session.scalar(select(Service).where(Service.office_id == office.id, Service.key == key))
