"""The JSON API as the API tests call it: the demo offices as the demo file gives them, Plzeň's
"vacant flats" (two counters, 30-minute visits), its free starts, and a booking body."""

from __future__ import annotations

import tomllib
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from flask.testing import FlaskClient

from booking.importer import DEMO_FILE

DEMO = {office["slug"]: office for office in tomllib.loads(Path(DEMO_FILE).read_text())["office"]}
OFFICE, SERVICE = "plzen-kontaktni-misto", "volne-byty"  # two counters, 30-minute visits
DROP = object()  # leave the field out of the body


def availability(client: FlaskClient, office: str = OFFICE, service: str = SERVICE, **params):
    return client.get(
        f"/api/v1/offices/{office}/services/{service}/availability", query_string=params
    )


def free_starts(client: FlaskClient, **params: str) -> list[str]:
    response = availability(client, **params)
    assert response.status_code == 200, response.get_json()
    return [start for day in response.get_json()["days"] for start in day["starts"]]


def local_today(slug: str = OFFICE):
    return datetime.now(ZoneInfo(DEMO[slug]["timezone"])).date()


def some_starts(client: FlaskClient) -> list[str]:
    """Free starts from the day after tomorrow on: clear of the minimum notice."""
    first = local_today() + timedelta(days=2)
    starts = free_starts(client, **{"from": str(first), "to": str(first + timedelta(days=20))})
    assert len(starts) >= 10, starts
    return starts


def body(start: str, /, **changes: Any) -> dict[str, Any]:
    fields = {
        "office": OFFICE,
        "service": SERVICE,
        "start": start,
        "name": "Jana Nováková",
        "email": "jana@example.com",
        "consent": True,
        **changes,
    }
    return {name: value for name, value in fields.items() if value is not DROP}
