"""The resident's phone ticket (/t/<token>): its status as JSON, on the page, and on its own
event stream, in Koszalin's demo office at the fixed NOW (Wednesday 25 November 2026, 10:00).

The status says the place in line, "next" once the ticket is first for its service, the
wait as a range that never starts at 0 with someone ahead, and the counter once called.
The stream sends that status again on each floor event of the office, and nothing about
any other ticket; it ends when the ticket is done.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from flask import Flask

from okienko.database import db, utcnow
from queueing import ticket_feed
from queueing.estimate import wait_range
from queueing.models import Ticket
from queueing.places import places
from queueing.staff import release_stale_seats
from queueing.state import place_in_line
from tests.helpers.apps import make_app
from tests.helpers.floor import (
    NOW,
    Clerk,
    book,
    check_in,
    counter_id,
    label,
    ok,
    signed_in_device,
    status_token,
    ticket_id_of,
    utc,
    walk_in,
)

STATUS_KEYS = {
    "ticket",
    "status",
    "ahead",
    "next",
    "wait_minutes",
    "wait_range",
    "counter",
    "calls",
    "called_at",
    "closed",
}


def phone(app: Flask) -> Any:
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def status_of(app: Flask, ticket_id: int) -> dict[str, Any]:
    response = phone(app).get(f"/t/{status_token(app, ticket_id)}/status.json")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    return response.get_json()


class TicketStream:
    """A phone's stream read through the test client: each ``next_status`` runs the
    stream's loop until it sends the ticket's next status (or ends)."""

    def __init__(self, app: Flask, ticket_id: int) -> None:
        self.response = phone(app).get(f"/t/{status_token(app, ticket_id)}/stream", buffered=False)
        assert self.response.status_code == 200
        self.chunks: Iterator[bytes] = iter(self.response.response)
        self.raw = ""

    def next_status(self) -> dict[str, Any] | None:
        for chunk in self.chunks:
            text = chunk.decode() if isinstance(chunk, bytes) else chunk
            self.raw += text
            if text.startswith("event: status\n"):
                return json.loads(text.split("data: ", 1)[1])
        return None  # the stream ended

    def close(self) -> None:
        self.response.close()


@pytest.mark.parametrize("seconds", [0, 1, 10, 40, 59, 61, 150, 299, 301, 900, 3600, 7300])
@pytest.mark.parametrize("ahead", [0, 1, 3])
def test_the_wait_range_never_starts_at_zero_with_someone_ahead(seconds: int, ahead: int) -> None:
    low, high = wait_range(timedelta(seconds=seconds), ahead)
    assert low >= (1 if ahead else 0)
    assert high > low and high % 5 == 0
    assert low * 60 <= seconds <= high * 60 or seconds < 60  # the estimate is inside


def test_status_json_gives_place_next_range_and_counter(any_app: Flask, clock: Any) -> None:
    app = any_app
    kiosk = signed_in_device(app)
    first = walk_in(kiosk)
    # No counter open for the service: first of its service, no estimate yet.
    alone = status_of(app, first)
    assert alone["ahead"] == 0 and alone["next"] is True and alone["wait_range"] is None
    clerk = Clerk(app, "koszalin1", "Stanowisko 1")
    second, third = walk_in(kiosk), walk_in(kiosk)
    head, middle, last = status_of(app, first), status_of(app, second), status_of(app, third)
    assert set(last) == STATUS_KEYS
    assert (head["ahead"], head["next"]) == (0, True)
    assert (middle["ahead"], middle["next"]) == (1, False)
    assert (last["ahead"], last["next"], last["wait_minutes"]) == (2, False, 60)
    assert last["wait_range"] == [45, 75]  # 2 × 30 planned minutes at one counter
    assert middle["wait_range"] == [20, 40]

    ok(clerk.call_next())
    called = status_of(app, first)
    assert called["status"] == "called" and called["counter"] == "Stanowisko 1"
    assert called["calls"] == 1 and called["next"] is False and called["wait_range"] is None
    assert status_of(app, second)["next"] is True
    ok(clerk.act(first, "finish"))
    finished = status_of(app, first)
    assert finished["closed"] is True and finished["counter"] is None


def test_quick_service_shows_a_range_not_zero_minutes(app: Flask, clock: Any) -> None:
    """A clerk who handles tickets in seconds: the median handling time is seconds, and
    the estimate for the one behind the next ticket rounds to 0 minutes."""
    kiosk = signed_in_device(app)
    clerk = Clerk(app, "koszalin1", "Stanowisko 1")
    for _ in range(3):
        quick = walk_in(kiosk)
        clock.shift(timedelta(seconds=10))
        ok(clerk.call_next())
        ok(clerk.act(quick, "serve"))
        clock.shift(timedelta(seconds=20))
        ok(clerk.act(quick, "finish"))
    walk_in(kiosk)
    behind = walk_in(kiosk)
    status = status_of(app, behind)
    assert status["ahead"] == 1 and status["wait_minutes"] == 0
    assert status["wait_range"] == [1, 5]
    page = phone(app).get(f"/t/{status_token(app, behind)}").get_data(as_text=True)
    assert "Estimated wait: 1–5 min" in page
    assert "about 0 min" not in page and "People ahead of you: 1" in page


def test_the_page_shows_next_and_then_the_call_full_screen(app: Flask, clock: Any) -> None:
    kiosk = signed_in_device(app)
    clerk = Clerk(app, "koszalin1", "Stanowisko 1")
    first, second = walk_in(kiosk), walk_in(kiosk)
    token = status_token(app, second)
    page = phone(app).get(f"/t/{token}")
    assert page.headers["Cache-Control"] == "no-store"
    text = page.get_data(as_text=True)
    assert "People ahead of you: 1" in text and "Estimated wait: 20–40 min" in text
    assert 'id="called" class="called-screen"' in text
    assert f'data-stream="/t/{token}/stream"' in text
    ok(clerk.call_next())
    text = phone(app).get(f"/t/{token}").get_data(as_text=True)
    assert "You are next." in text
    ok(clerk.act(first, "finish"))
    clock.shift(timedelta(seconds=10))
    ok(clerk.call_next())
    text = phone(app).get(f"/t/{token}").get_data(as_text=True)
    screen = text.split('id="called"', 1)[1].split("</div>", 1)[0]
    assert " hidden" not in screen.split(">", 1)[0]
    assert "Please go to Stanowisko 1." in screen and "Stanowisko 1</p>" in screen
    polish = phone(app).get(f"/t/{token}?lang=pl").get_data(as_text=True)
    assert "Prosimy podejść do stanowiska: Stanowisko 1." in polish


def test_the_stream_follows_only_its_own_ticket_and_ends_when_done(
    any_app: Flask, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = any_app
    monkeypatch.setattr(ticket_feed, "HEARTBEAT_SECONDS", 3600.0)
    kiosk = signed_in_device(app)
    clerk = Clerk(app, "koszalin1", "Stanowisko 1")
    first, second = walk_in(kiosk), walk_in(kiosk)
    stream = TicketStream(app, second)
    try:
        assert stream.response.headers["Content-Type"].startswith("text/event-stream")
        assert stream.response.headers["X-Accel-Buffering"] == "no"
        status = stream.next_status()
        assert status is not None and set(status) == STATUS_KEYS
        assert (status["ticket"], status["ahead"], status["next"]) == ("R002", 1, False)

        ok(clerk.call_next())  # the first ticket: this one is next now
        status = stream.next_status()
        assert status is not None and (status["ahead"], status["next"]) == (0, True)
        walk_in(kiosk)  # a later ticket changes nothing for this one: nothing is sent
        ok(clerk.act(first, "finish"))
        clock.shift(timedelta(seconds=10))
        ok(clerk.call_next())
        status = stream.next_status()
        assert status is not None and status["status"] == "called"
        assert (status["counter"], status["calls"]) == ("Stanowisko 1", 1)
        clock.shift(timedelta(seconds=10))
        ok(clerk.act(second, "recall"))
        status = stream.next_status()
        assert status is not None and status["calls"] == 2
        ok(clerk.act(second, "finish"))
        status = stream.next_status()
        assert status is not None and status["closed"] is True
        assert stream.next_status() is None  # and the stream ends
    finally:
        stream.close()
    # Every event was this ticket's status: no other ticket's number, id or service.
    events = [block for block in stream.raw.split("\n\n") if block.strip()]
    assert events[0] == "retry: 3000"
    assert all(block.startswith("event: status\ndata: ") for block in events[1:])
    assert label(app, first) not in stream.raw and "R003" not in stream.raw
    assert "ticket_id" not in stream.raw and "waiting" not in stream.raw.replace(
        '"status":"waiting"', ""
    )


def test_a_parked_ticket_is_told_it_will_be_called_again(app: Flask, clock: Any) -> None:
    kiosk = signed_in_device(app)
    clerk = Clerk(app, "koszalin1", "Stanowisko 1")
    ticket = walk_in(kiosk)
    ok(clerk.call_next())
    ok(clerk.act(ticket, "park"))
    status = status_of(app, ticket)
    assert status["status"] == "parked" and status["closed"] is False
    assert status["counter"] is None
    page = phone(app).get(f"/t/{status_token(app, ticket)}").get_data(as_text=True)
    assert "Your ticket is set aside. It will be called again." in page


def test_a_closed_ticket_stream_sends_its_status_and_ends(app: Flask, clock: Any) -> None:
    kiosk = signed_in_device(app)
    clerk = Clerk(app, "koszalin1", "Stanowisko 1")
    ticket = walk_in(kiosk)
    ok(clerk.call_next())
    ok(clerk.act(ticket, "finish"))
    stream = TicketStream(app, ticket)
    status = stream.next_status()
    assert status is not None and status["closed"] is True
    assert stream.next_status() is None
    # A ticket left waiting from yesterday is closed too.
    left = walk_in(kiosk)
    clock.shift(timedelta(days=1))
    assert status_of(app, left)["closed"] is True
    stream = TicketStream(app, left)
    assert (stream.next_status() or {})["closed"] is True
    assert stream.next_status() is None


def test_streams_of_one_ticket_are_limited(app: Flask, clock: Any) -> None:
    kiosk = signed_in_device(app)
    ticket = walk_in(kiosk)
    streams = [TicketStream(app, ticket) for _ in range(ticket_feed.STREAMS_PER_TICKET)]
    try:
        for stream in streams:
            assert stream.next_status() is not None  # each holds its slot now
        refused = phone(app).get(f"/t/{status_token(app, ticket)}/stream")
        assert refused.status_code == 429
        assert "too many windows" in refused.get_data(as_text=True)
    finally:
        for stream in streams:
            stream.close()
    again = TicketStream(app, ticket)
    assert again.next_status() is not None
    again.close()


def test_bad_tokens_get_no_stream(app: Flask, clock: Any) -> None:
    ticket = walk_in(signed_in_device(app))
    token = status_token(app, ticket)
    for bad in (token[:-1] + ("A" if token[-1] != "A" else "B"), str(ticket), "x"):
        assert phone(app).get(f"/t/{bad}/stream").status_code == 404


def test_no_personal_data_of_a_booked_visit(app: Flask) -> None:
    booking = book(app, NOW)
    with time_machine.travel(NOW, tick=False):
        kiosk = signed_in_device(app)
        visit = ticket_id_of(check_in(kiosk, booking["code"]))
        token = status_token(app, visit)
        page = phone(app).get(f"/t/{token}").get_data(as_text=True)
        stream = TicketStream(app, visit)
        stream.next_status()
        stream.close()
        body = phone(app).get(f"/t/{token}/status.json").get_data(as_text=True)
    for shown in (page, stream.raw, body):
        assert "Ewa" not in shown and "Mieszkanka" not in shown and "example.com" not in shown
        assert booking["code"] not in shown


def test_the_line_worked_out_at_once_agrees_with_each_ticket_alone(app: Flask) -> None:
    """``places`` (the whole line, for the phones) against ``place_in_line`` (one ticket, for
    the kiosk's slip), in a line of two services, a booked visit to be slotted in and a
    counter serving only one of the services."""
    book(app, utc("2026-11-25", "09:45"), email="late@example.com")
    with time_machine.travel(NOW, tick=False):
        kiosk = signed_in_device(app)
        Clerk(app, "koszalin1", "Stanowisko 1")
        Clerk(app, "koszalin3", "Stanowisko 3")
        tickets = [walk_in(kiosk, key) for key in ("raty", "zamiana", "raty", "odroczenie")]
        with app.app_context():
            office = db.session.get(Ticket, tickets[0]).office
            together = {t.id: p for t, p in places(db.session(), office, utcnow())}
            assert together[tickets[2]].ahead == 2 and together[tickets[2]].wait is not None
            for ticket_id in tickets:
                alone = place_in_line(db.session(), db.session.get(Ticket, ticket_id), utcnow())
                place = together[ticket_id]
                minutes = None if place.wait is None else round(place.wait.total_seconds() / 60)
                assert (place.ahead, minutes) == (alone["ahead"], alone["wait_minutes"])


def test_the_phones_of_an_office_share_one_working_out_per_event(
    app: Flask, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ticket_feed, "HEARTBEAT_SECONDS", 3600.0)
    worked_out: list[int] = []
    original = ticket_feed.office_statuses

    def counted(session: Any, office: Any, now: Any) -> Any:
        worked_out.append(office.id)
        return original(session, office, now)

    monkeypatch.setattr(ticket_feed, "office_statuses", counted)
    kiosk = signed_in_device(app)
    clerk = Clerk(app, "koszalin1", "Stanowisko 1")
    walk_in(kiosk)
    second, third = walk_in(kiosk), walk_in(kiosk)
    streams = [TicketStream(app, second), TicketStream(app, third)]
    try:
        assert [s.next_status()["ahead"] for s in streams] == [1, 2]  # type: ignore[index]
        assert len(worked_out) == 1
        ok(clerk.call_next())
        assert [s.next_status()["ahead"] for s in streams] == [0, 1]  # type: ignore[index]
        assert len(worked_out) == 2
    finally:
        for stream in streams:
            stream.close()


def test_each_call_after_a_park_a_transfer_or_a_released_seat_is_a_later_call(
    app: Flask, clock: Any
) -> None:
    """Parking, a transfer and a released seat set ``calls`` back to 0, so the next call
    is calls=1 again: ``called_at`` still grows with every call, and the phone alerts by it."""
    kiosk = signed_in_device(app)
    clerk = Clerk(app, "koszalin1", "Stanowisko 1")
    mine = walk_in(kiosk)
    keys: list[str] = []

    def called_again() -> None:
        status = status_of(app, mine)
        assert status["status"] == "called" and status["calls"] == 1
        assert not keys or status["called_at"] > keys[-1]
        keys.append(status["called_at"])
        clock.shift(timedelta(seconds=10))  # past the counter's cooldown between calls

    assert status_of(app, mine)["called_at"] is None  # not called yet
    ok(clerk.call_next())
    called_again()
    ok(clerk.act(mine, "park"))
    assert status_of(app, mine)["called_at"] is None  # parked: no call to show
    ok(clerk.act(mine, "call"))
    called_again()
    ok(clerk.act(mine, "transfer", to=f"counter:{counter_id(app, 'Stanowisko 1')}"))
    ok(clerk.call_next())
    called_again()
    clock.shift(timedelta(minutes=10))
    with app.app_context():
        assert release_stale_seats(db.session(), utcnow(), timedelta(minutes=5)) == 1
        db.session.commit()
    assert status_of(app, mine)["status"] in ("waiting", "transferred")  # back in line
    clerk.seat("Stanowisko 1")
    ok(clerk.call_next())
    called_again()
    assert keys == sorted(keys) and len(set(keys)) == 4


def test_an_unread_stream_holds_its_slot_from_the_answer_on(app: Flask, clock: Any) -> None:
    """The slot is taken before the stream answers: streams over the limit get a 429 even
    while the others have not sent a byte, and closing one unread gives its slot back."""
    ticket = walk_in(signed_in_device(app))
    url = f"/t/{status_token(app, ticket)}/stream"
    unread = [phone(app).get(url, buffered=False) for _ in range(ticket_feed.STREAMS_PER_TICKET)]
    try:
        assert [r.status_code for r in unread] == [200] * ticket_feed.STREAMS_PER_TICKET
        refused = phone(app).get(url)
        assert refused.status_code == 429
        assert "too many windows" in refused.get_data(as_text=True)
        unread.pop().close()  # closed before its stream began
        again = TicketStream(app, ticket)
        assert again.next_status() is not None
        again.close()
    finally:
        for response in unread:
            response.close()
    assert ticket_feed._open == {}


def test_the_json_and_the_page_share_the_office_statuses_between_events(
    app: Flask, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    worked_out: list[int] = []
    original = ticket_feed.office_statuses

    def counted(session: Any, office: Any, now: Any) -> Any:
        worked_out.append(office.id)
        return original(session, office, now)

    monkeypatch.setattr(ticket_feed, "office_statuses", counted)
    kiosk = signed_in_device(app)
    clerk = Clerk(app, "koszalin1", "Stanowisko 1")
    first, second = walk_in(kiosk), walk_in(kiosk)
    token = status_token(app, second)
    assert [status_of(app, t)["ahead"] for t in (first, second, second)] == [0, 1, 1]
    assert "People ahead of you: 1" in phone(app).get(f"/t/{token}").get_data(as_text=True)
    assert len(worked_out) == 1
    ok(clerk.call_next())  # a floor event: worked out again, once
    assert [status_of(app, t)["status"] for t in (first, second)] == ["called", "waiting"]
    assert status_of(app, second)["next"] is True
    assert len(worked_out) == 2
    clock.shift(ticket_feed.MAX_AGE)  # and again once the figures aged
    assert status_of(app, second)["next"] is True
    assert len(worked_out) == 3


@pytest.fixture
def limited(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Flask]:
    app = make_app(
        request,
        tmp_path,
        "sqlite",
        RATELIMIT_ENABLED=True,
        RATELIMIT_STORAGE_URI="memory://",
        RATELIMIT_KEY_PREFIX=uuid.uuid4().hex,
        API_RATE_LIMIT="3 per minute",
    )
    with time_machine.travel(NOW, tick=True):
        yield app


def test_the_json_and_the_stream_are_rate_limited_like_the_api(limited: Flask) -> None:
    app = limited
    ticket = walk_in(signed_in_device(app))
    token = status_token(app, ticket)
    client = phone(app)
    answers = [client.get(f"/t/{token}/status.json").status_code for _ in range(4)]
    assert answers == [200, 200, 200, 429]
    streams = []
    for _ in range(4):
        response = client.get(f"/t/{token}/stream", buffered=False)
        streams.append(response.status_code)
        response.close()
    assert streams == [200, 200, 200, 429]
    assert ticket_feed._open == {}  # the refused one took no slot
    # The page itself is a resident's page like the others: not counted.
    assert {client.get(f"/t/{token}").status_code for _ in range(5)} == {200}
