"""The resident's forms as a browser sends them: the CSRF token read from the page, the
booking form, the manage token it redirects to, and the UTC start a booking link carries."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask.testing import FlaskClient

from booking.admission import DEFAULT_QUESTIONS

CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def csrf_token(client: FlaskClient, url: str) -> str:
    """The CSRF token of the form on the page at ``url``, as a browser would read it."""
    response = client.get(url)
    # 409: a booking form that already warns the time is taken still has its token.
    assert response.status_code in (200, 409), (url, response.status_code)
    match = CSRF_RE.search(response.get_data(as_text=True))
    assert match, f"no form with a CSRF token on {url}"
    return match.group(1)


def book_form(
    client: FlaskClient,
    office: str,
    service: str,
    start: str,
    *,
    name: str = "Jan Kowalski",
    email: str = "jan@example.com",
    phone: str = "",
    language: str = "pl",
    answers: dict[str, str] | None = None,
) -> Any:
    """Book through the resident's form, as a browser would (CSRF token read from the page).

    The admission questions are answered "no" (admitted) unless ``answers`` says otherwise;
    offices without the sanitary regime ignore them.
    """
    page = f"/o/{office}/{service}/book"
    data = {
        "csrf_token": csrf_token(client, f"{page}?start={start}"),
        "start": start,
        "name": name,
        "email": email,
        "phone": phone,
        "language": language,
    }
    given = {key: "no" for key, _texts in DEFAULT_QUESTIONS} if answers is None else answers
    data.update({f"q_{key}": value for key, value in given.items()})
    return client.post(page, data=data)


def manage_token(response: Any) -> str:
    """The secret manage token from the redirect after a successful booking."""
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return response.headers["Location"].split("/manage/")[1].split("?")[0]


def local_start(day: str, at: str, zone: str) -> str:
    """The UTC ISO start the booking links carry for a local wall-clock time."""
    local = datetime.fromisoformat(f"{day}T{at}").replace(tzinfo=ZoneInfo(zone))
    return local.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
