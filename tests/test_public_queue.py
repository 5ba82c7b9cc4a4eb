"""The public state of an office's counters (/o/SLUG/queue): who is at which counter, the
line and estimated wait per service, the counters open and today's hours; the same in
state.json, a stream that only says "changed", an embed other sites may frame, and no
personal data anywhere.

Koszalin's demo office on Wednesday 25 November 2026 at 10:00 (open 07:15-15:15 local,
UTC+1; tests/helpers/floor.py); tickets come from the kiosk, calls from clerks' counters.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient

from admin.services import service_key
from queueing import public
from queueing.public import stream_slots, wait_text
from tests.helpers.apps import make_app
from tests.helpers.floor import (
    KOSZALIN,
    NOW,
    Clerk,
    book,
    check_in,
    ok,
    signed_in_device,
    utc,
    walk_in,
)
from tests.helpers.office_files import office_file

PAGE = f"/o/{KOSZALIN}/queue"


def board(client: FlaskClient) -> dict[str, Any]:
    response = client.get(f"{PAGE}/state.json?lang=en")
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.headers["Cache-Control"] == "public, max-age=2"
    return response.get_json()


def by_service(state: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {line["service"]: line for line in state["services"]}


def test_the_page_and_its_json_show_the_counters_now(any_app: Flask, clock: Any) -> None:
    kiosk = signed_in_device(any_app)
    raty = [walk_in(kiosk, "raty") for _ in range(3)]
    walk_in(kiosk, "zamiana")
    first = Clerk(any_app, "public1", "Stanowisko 1")
    third = Clerk(any_app, "public3", "Stanowisko 3")
    assert ok(first.call_next())["ticket"] == "R001"
    assert ok(third.call_next())["ticket"] == "Z001"
    ok(first.act(raty[0], "serve"))

    client = any_app.test_client()
    state = board(client)
    assert state["serving"] == [
        {
            "ticket": "Z001",
            "counter": "Stanowisko 3",
            "status": "called",
            "status_text": "Called now",
        },
        {
            "ticket": "R001",
            "counter": "Stanowisko 1",
            "status": "serving",
            "status_text": "Being served",
        },
    ]
    lines = by_service(state)
    assert [lines[key]["waiting"] for key in ("raty", "odroczenie", "odpracowanie", "zamiana")] == [
        2,
        0,
        0,
        0,
    ]
    # Two raty ahead of a newcomer, one counter open for raty (Stanowisko 1), 30 minutes
    # each, and that counter busy with R001 until 10:30: R002 at 10:30, R003 at 11:00, the
    # newcomer at 11:30.
    assert lines["raty"]["wait_minutes"] == 90
    assert lines["raty"]["wait"] == "about 1 h 30 min"
    assert lines["raty"]["name"] == "Paying arrears in instalments"
    # Stanowisko 3 takes only zamiana, and nobody waits for it now. Both its counters are
    # busy until 10:30 (R001 served, Z001 called at 10:00, 30 minutes each); then
    # Stanowisko 1 calls R002, first in its line, and Stanowisko 3, which never takes
    # raty, calls the zamiana newcomer: 30 minutes (not 60, as if both took the raty).
    assert lines["zamiana"]["wait_minutes"] == 30
    assert lines["zamiana"]["wait"] == "about 30 min"
    assert state["counters_open"] == 2 and state["counters"] == 3
    assert state["open_counter_names"] == ["Stanowisko 1", "Stanowisko 3"]
    assert state["counters_text"] == "Counters open: 2 of 3"
    assert state["hours"] == "07:15–15:15" and state["open_now"] is True
    assert state["hours_text"] == "Open today 07:15–15:15."
    assert state["updated"] == "10:00"

    page = client.get(f"{PAGE}?lang=en")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for text in (
        "Current state of the counters",
        '<span class="pq-ticket">R001</span>',
        '<span class="pq-counter">Stanowisko 1</span>',
        "Being served",
        '<span class="pq-ticket">Z001</span>',
        '<th scope="row">Paying arrears in instalments</th><td class="pq-num">2</td>'
        "<td>about 1 h 30 min</td>",
        "Counters open: 2 of 3",
        "Open today 07:15–15:15.",
        "Updated at 10:00",
        f'data-state="/o/{KOSZALIN}/queue/state.json?lang=en"',
        f'data-stream="/o/{KOSZALIN}/queue/stream"',
    ):
        assert text in html, text


def test_nobody_at_the_counters_and_no_counter_open(app: Flask, clock: Any) -> None:
    kiosk = signed_in_device(app)
    walk_in(kiosk, "raty")
    state = board(app.test_client())
    assert state["serving"] == []
    assert by_service(state)["raty"]["waiting"] == 1
    assert by_service(state)["raty"]["wait_minutes"] is None
    assert by_service(state)["raty"]["wait"] == "no counter open"
    assert state["counters_text"] == "Counters open: 0 of 3"
    html = app.test_client().get(f"{PAGE}?lang=en").get_data(as_text=True)
    assert '<p class="pq-none" data-empty="serving">Nobody is at a counter right now.</p>' in html


def test_the_estimate_never_says_about_0_min_while_people_wait(app: Flask) -> None:
    with app.test_request_context("/?lang=en"):
        assert wait_text(0, 0) == "no waiting"
        assert wait_text(2, 0) == "under 5 min"
        assert wait_text(0, 3) == "under 5 min"
        assert wait_text(3, None) == "no counter open"
        assert wait_text(1, 7) == "about 5 min"
        assert wait_text(1, 23) == "about 25 min"
        assert wait_text(4, 58) == "about 1 h"
        assert wait_text(4, 90) == "about 1 h 30 min"
        assert wait_text(9, 200) == "about 3 h 15 min"


@pytest.mark.parametrize(
    ("when", "hours_text", "open_now"),
    [
        (utc("2026-11-25", "16:30"), "Today's hours: 07:15–15:15 (closed now).", False),
        (utc("2026-11-26", "15:30"), "Open today 07:15–16:00.", True),  # Thursday
        (utc("2026-11-28", "10:00"), "Closed today.", False),  # Saturday
    ],
)
def test_todays_hours_in_local_time(app: Flask, when: Any, hours_text: str, open_now: bool) -> None:
    with time_machine.travel(when, tick=False):
        state = board(app.test_client())
    assert state["hours_text"] == hours_text
    assert state["open_now"] is open_now


def test_no_personal_data_even_for_a_checked_in_booking(any_app: Flask, clock: Any) -> None:
    booked = book(any_app, NOW)  # Ewa Mieszkanka, raty at 10:00
    kiosk = signed_in_device(any_app)
    response = check_in(kiosk, booked["code"])
    assert response.status_code == 302, response.get_data(as_text=True)[:1000]
    walk_in(kiosk, "raty")
    clerk = Clerk(any_app, "private1", "Stanowisko 1")
    called = ok(clerk.call_next())  # the appointment goes first
    client = any_app.test_client()
    shown = [
        client.get(f"{PAGE}?lang=en").get_data(as_text=True),
        client.get(f"{PAGE}/embed?lang=en").get_data(as_text=True),
        client.get(f"{PAGE}/state.json?lang=en").get_data(as_text=True),
    ]
    state = board(client)
    assert state["serving"][0]["ticket"] == called["ticket"]
    secrets = ["Ewa", "Mieszkanka", "ewa1000@example.com", booked["code"]]
    secrets.append(booked["manage_url"].rsplit("/", 1)[1])
    for text in shown:
        assert called["ticket"] in text
        for secret in secrets:
            assert secret not in text, secret
    # Nothing but labels, names of counters and services, counts and texts.
    assert set(state["serving"][0]) == {"ticket", "counter", "status", "status_text"}


def read_events(chunks: Iterator[Any], count: int) -> list[str]:
    """The next ``count`` events of a stream, as their text (retry lines skipped)."""
    events: list[str] = []
    while len(events) < count:
        text = next(chunks).decode()
        events += [e for e in text.split("\n\n") if e and not e.startswith("retry:")]
    return events


def test_the_stream_says_only_that_something_changed(app: Flask, clock: Any) -> None:
    booked = book(app, NOW)
    kiosk = signed_in_device(app)
    clerk = Clerk(app, "streamer", "Stanowisko 1")
    response = app.test_client().get(f"{PAGE}/stream", buffered=False)
    assert response.status_code == 200
    assert response.mimetype == "text/event-stream"
    assert response.headers["Cache-Control"] == "no-cache"
    chunks = iter(response.response)
    try:
        # At once, so that a page back from a dropped connection refetches the figures.
        assert read_events(chunks, 1) == ["event: changed\ndata: {}"]
        check_in(kiosk, booked["code"])
        assert read_events(chunks, 1) == ["event: changed\ndata: {}"]
        ok(clerk.call_next())
        assert read_events(chunks, 1) == ["event: changed\ndata: {}"]
    finally:
        response.close()


def test_the_stream_ends_after_its_lifetime(
    app: Flask, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """And the browser comes back (``retry:``): a viewer gone unseen holds it no longer."""
    monkeypatch.setattr(public, "LIFETIME_SECONDS", 0.5)
    response = app.test_client().get(f"{PAGE}/stream", buffered=False)
    try:
        text = b"".join(response.response).decode()  # returns only when the stream ends
    finally:
        response.close()
    assert text.startswith("retry: 2000\n\n") and "event: changed" in text
    assert stream_slots(app).open() == 0


def open_stream(client: FlaskClient, slug: str = KOSZALIN, **headers: str) -> Any:
    return client.get(f"/o/{slug}/queue/stream", buffered=False, headers=headers)


def test_open_streams_are_capped_per_office_and_in_all(app: Flask, clock: Any) -> None:
    app.config.update(PUBLIC_QUEUE_STREAMS_PER_OFFICE=2, PUBLIC_QUEUE_STREAMS=3)
    client = app.test_client()
    held = [open_stream(client), open_stream(client)]
    try:
        assert [r.status_code for r in held] == [200, 200]
        refused = open_stream(client, **{"Accept-Language": "en"})
        assert refused.status_code == 429
        assert refused.headers["Retry-After"] == "30"
        assert refused.get_json() == {
            "error": "too_many_streams",
            "message": "Too many people are following this page right now. "
            "Please try again in a minute.",
        }
        # Another office has room of its own, up to the cap of all.
        held.append(open_stream(client, "bytom-zielna"))
        assert held[-1].status_code == 200
        assert open_stream(client, "bytom-armii-krajowej").status_code == 429
        assert stream_slots(app).open() == 3
    finally:
        for response in held:
            response.close()
    # Each closed response gave its slot back.
    assert stream_slots(app).open() == 0
    again = open_stream(client)
    assert again.status_code == 200
    again.close()


def test_a_refused_or_unknown_stream_holds_no_slot(app: Flask, clock: Any) -> None:
    app.config.update(PUBLIC_QUEUE_STREAMS_PER_OFFICE=1)
    client = app.test_client()
    assert open_stream(client, "no-such-office").status_code == 404
    first = open_stream(client)
    assert open_stream(client).status_code == 429
    first.close()
    assert stream_slots(app).open() == 0


@pytest.mark.parametrize("path", ["", "/embed", "/state.json", "/stream"])
def test_an_unknown_office_is_not_found(app: Flask, path: str) -> None:
    response = app.test_client().get(f"/o/no-such-office/queue{path}?lang=en")
    assert response.status_code == 404
    if path == "/state.json":
        json_response = app.test_client().get(
            f"/o/no-such-office/queue{path}", headers={"Accept": "application/json"}
        )
        assert json_response.get_json()["error"] == "not_found"
    elif path in ("", "/embed"):
        assert "This page does not exist" in response.get_data(as_text=True)


def csp(response: Any) -> dict[str, list[str]]:
    policy = response.headers.get("Content-Security-Policy", "")
    return {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}


def test_only_the_embed_may_be_framed_by_other_sites(app: Flask) -> None:
    client = app.test_client()
    embed = client.get(f"{PAGE}/embed")
    assert embed.status_code == 200
    assert "X-Frame-Options" not in embed.headers
    assert csp(embed)["frame-ancestors"] == ["*"]
    # The rest of the policy holds there too: no inline scripts, no plugins.
    assert csp(embed)["script-src"] == ["'self'"] and csp(embed)["object-src"] == ["'none'"]
    for path in ("", "/state.json"):
        response = client.get(f"{PAGE}{path}")
        assert response.headers["X-Frame-Options"] == "DENY", path
        assert csp(response)["frame-ancestors"] == ["'none'"], path
    # The office's booking page stays unframeable, and links to the public page.
    office = client.get(f"/o/{KOSZALIN}?lang=en")
    assert office.headers["X-Frame-Options"] == "DENY"
    assert f'href="/o/{KOSZALIN}/queue">Current state of the counters</a>' in office.get_data(
        as_text=True
    )


def test_the_embed_shows_the_same_figures_and_links_to_the_full_page(
    app: Flask, clock: Any
) -> None:
    walk_in(signed_in_device(app), "raty")
    html = app.test_client().get(f"{PAGE}/embed?lang=en").get_data(as_text=True)
    assert '<body class="pq-embed">' in html
    assert f'href="/o/{KOSZALIN}/queue?lang=en" target="_blank" rel="noopener"' in html
    assert '<th scope="row">Paying arrears in instalments</th><td class="pq-num">1</td>' in html


def test_the_json_is_the_same_for_anyone_and_carries_nobodys_cookie(app: Flask, clock: Any) -> None:
    """Any cache may keep it a moment; a shared one must not pass a session on."""
    client = app.test_client()
    response = client.get(f"{PAGE}/state.json?lang=en")
    assert response.headers["Cache-Control"] == "public, max-age=2"
    assert "Accept-Language" in response.headers["Vary"]
    assert "Set-Cookie" not in response.headers
    # The page itself remembers the language as every resident page does.
    assert "Set-Cookie" in client.get(f"{PAGE}?lang=cs").headers
    # A kiosk's lasting session, renewed once a day on its own pages, is not sent here either.
    kiosk = signed_in_device(app)
    clock.shift(timedelta(days=1))
    shown = kiosk.get(f"{PAGE}/state.json?lang=pl")
    assert shown.status_code == 200 and "Set-Cookie" not in shown.headers
    assert "Set-Cookie" in kiosk.get("/kiosk/").headers
    # Nor did the request change the kiosk's own language (kept in its session).
    assert 'lang="en"' in kiosk.get("/kiosk/").get_data(as_text=True)


@pytest.fixture
def limited(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Flask]:
    app = make_app(
        request,
        tmp_path,
        "sqlite",
        RATELIMIT_ENABLED=True,
        RATELIMIT_STORAGE_URI="memory://",
        RATELIMIT_KEY_PREFIX=uuid.uuid4().hex,
        API_RATE_LIMIT="2 per minute",
        PUBLIC_QUEUE_RATE_LIMIT="4 per minute",
    )
    with time_machine.travel(NOW, tick=True):
        yield app


def test_the_json_and_the_stream_have_a_rate_limit_of_their_own(limited: Flask) -> None:
    """Everyone behind one address (a guest Wi-Fi, a carrier's NAT) shares it: it is its
    own setting, above the API's."""
    client = limited.test_client()
    answers = [client.get(f"{PAGE}/state.json").status_code for _ in range(5)]
    assert answers == [200, 200, 200, 200, 429]
    streams = []
    for _ in range(5):
        response = client.get(f"{PAGE}/stream", buffered=False)
        streams.append(response.status_code)
        response.close()
    assert streams == [200, 200, 200, 200, 429]
    # The page itself is a resident's page like the others: not counted.
    assert {client.get(PAGE).status_code for _ in range(5)} == {200}


def test_figures_follow_the_floor_within_the_reuse_window(app: Flask, clock: Any) -> None:
    """The figures are reused between floor events, but never past one."""
    kiosk = signed_in_device(app)
    client = app.test_client()
    assert by_service(board(client))["raty"]["waiting"] == 0
    walk_in(kiosk, "raty")
    assert by_service(board(client))["raty"]["waiting"] == 1
    clock.shift(timedelta(minutes=2))
    assert board(client)["updated"] == "10:02"


def test_queue_is_never_a_service_key(app: Flask, tmp_path: Path) -> None:
    # /o/SLUG/queue is this page: a service named "Queue" gets another key.
    assert service_key({"en": "Queue"}, set()) == "queue-2"
    assert service_key({"en": "Queue"}, {"queue-2"}) == "queue-3"
    path = tmp_path / "office.toml"
    path.write_text(office_file().replace('key = "raty"', 'key = "queue"'), encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["offices", "import", str(path)])
    assert result.exit_code != 0
    assert "'queue' is the address of another page" in result.output
    # The booking pages next to it are unchanged.
    assert app.test_client().get(f"/o/{KOSZALIN}/raty").status_code == 200
