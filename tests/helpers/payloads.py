"""The JSON body of a booking through the API, as the tests send it."""

from __future__ import annotations


def booking_payload(
    start: str,
    *,
    office: str = "koszalin-zbm",
    service: str = "raty",
    name: str = "Ewa Nowak",
    email: str = "ewa@example.com",
    **fields: object,
) -> dict[str, object]:
    """A booking for ``start`` (``fields`` add to it or replace any of it)."""
    return {
        "office": office,
        "service": service,
        "start": start,
        "name": name,
        "email": email,
        **fields,
    }
