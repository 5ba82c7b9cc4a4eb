"""The lobby display's live feed: Server-Sent Events, replay, heartbeat, fallback, fan-out.

In-process (the threaded live server on SQLite, one process, the in-process
broker): the stream's headers, a first ``state`` event before anything happens,
a clerk's call woken by the broker (not found by polling), exactly the missed
events replayed after a dropped connection (Last-Event-ID), malformed or unknown
Last-Event-IDs ignored, the ``ping`` heartbeat after a quiet spell (on a clock of
the test's own), the server ending a stream after its display hangs up, well
before any heartbeat, /display/state.json as the polling fallback, and the
stream refused to anyone but a signed-in display. Two app servers in one process
sharing a private redis-server: while Redis is down the other server's display
still gets calls from the event log, and it resubscribes when Redis is back.
In Chromium (marked browser): the page shows a call from the stream without
polling, and falls back to polling when the stream cannot connect.

PostgreSQL: event ids become visible in their order, even when two floor
actions commit at once (else a display could skip one for good).

Production-like (PostgreSQL, gunicorn with threaded workers, Redis pub/sub):
20 display streams spread over 4 workers receive every call made through the
counter's HTTP API, and every event in the order of the log, also while three
clerks call at once; a call made through one app instance reaches a display
connected to another on a different port (with Redis, and without it by polling
the event log).

No test here asserts how fast: every wait is for the event itself, bounded
generously only so that a failure ends. The latencies are measured by
``bench/display_latency.py`` and ``bench/display_page.py``.

Every client is a real HTTP client (requests) on 127.0.0.1; the display,
kiosk and clerk sign in as they do in the office: a device link, a password.
"""

from __future__ import annotations

import resource
import shlex
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from sqlalchemy import text
from sqlalchemy.orm import Session

from booking.importer import import_offices
from okienko.app import create_app
from okienko.database import db
from queueing import display, events
from tests.helpers import live_floor
from tests.helpers.apps import base_config, make_app
from tests.helpers.ci import IN_CI
from tests.helpers.crowd import Crowd
from tests.helpers.live_floor import (
    Clerk,
    Floor,
    Kiosk,
    Server,
    Stream,
    connection_owners,
    device_session,
    has_call,
    office_open_now,
    staff_floor,
)
from tests.helpers.live_server import LiveServer
from tests.helpers.postgres import drop_pg_database, new_pg_database, pg_url
from tests.helpers.services import PrivateRedis
from tests.helpers.waiting import wait_until

OFFICE = "lobby-live"
SECRET_KEY = "display-stream-test-" + "x" * 40
REDIS_URL = "redis://127.0.0.1:6379/0"
# The bound of a wait for something that should happen at once: generous, so that only
# a failure, never a busy machine, reaches it. Nothing here asserts how fast.
WAIT = 60.0
# A stream poll interval longer than any test: an event that arrives within WAIT was
# brought by a broker's wake-up (in-process or Redis), not found by polling the log.
LONG_POLL = 5 * WAIT


# ---------------------------------------------------------------------------
# An office that is open now, with its clerks, kiosks and displays


def open_office(app: Flask, displays: int = 1, kiosks: int = 1, clerks: int = 1) -> Floor:
    """Import an office open now, with walk-in services, three counters and no call cooldown."""
    services = [
        {"key": "lokale", "prefix": "A", "duration": 15, "name": {"en": "A"}},
        {"key": "oplaty", "prefix": "B", "duration": 15, "name": {"en": "B"}},
    ]
    with app.app_context():
        import_offices(db.session, {"office": [office_open_now(OFFICE, "Lobby live", services)]})
        floor = staff_floor(OFFICE, displays, kiosks, [f"urzednik{i}" for i in range(clerks)])
        db.session.commit()
    return floor


def logged_events(app: Flask, office_id: int, after: int = 0) -> list[tuple[int, str, Any]]:
    """(id, kind, ticket id) of the office's stored events after ``after``, in order."""
    with app.app_context(), Session(db.engine) as session:
        return [
            (row.id, row.kind, row.payload.get("ticket_id"))
            for row in events.events_after(session, office_id, after, limit=10_000)
        ]


# ---------------------------------------------------------------------------
# In-process: one process, SQLite, the in-process broker


@pytest.fixture
def floor_app(request: pytest.FixtureRequest, tmp_path: Path) -> Flask:
    """The app on SQLite with the test office; no Redis even if the environment names one."""
    return make_app(request, tmp_path, "sqlite", REDIS_URL=None)


@pytest.fixture
def live(floor_app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Floor]]:
    # No heartbeat among the events a test counts, however slow the machine (the
    # heartbeat's own test sets it, on a clock of its own).
    monkeypatch.setattr(display, "HEARTBEAT_SECONDS", 3600.0)
    floor = open_office(floor_app, displays=1, kiosks=1, clerks=1)
    with LiveServer(floor_app) as server:
        yield server.url, floor


def test_the_stream_sends_the_state_first_and_a_call_as_it_happens(
    floor_app: Flask, live: tuple[str, Floor], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(display, "POLL_SECONDS", LONG_POLL)  # only a wake-up brings the call
    base, floor = live
    stream = Stream(device_session(base, floor.displays[0]), base, read_timeout=2 * LONG_POLL)
    try:
        headers = stream.response.headers
        assert stream.response.status_code == 200
        assert headers["Content-Type"].startswith("text/event-stream")
        assert headers["X-Accel-Buffering"] == "no"
        assert "no-cache" in headers["Cache-Control"]
        # The first event comes before anything happens on the floor.
        state = stream.state(timeout=WAIT)
        assert stream.retry == 2000
        assert state.data["office"] == "Lobby live" and state.data["calls"] == []
        assert state.data["last_event_id"] == 0  # nothing happened yet today

        ticket_id = Kiosk(base, floor.kiosks[0]).walk_in("lokale")
        assert stream.wait_for(lambda ev: any(e.kind == "update" for e in ev), WAIT)
        clerk = Clerk(base, floor.clerks[0])
        clerk.seat(floor.counters["Okienko 2"])
        called = clerk.call_next().body["ticket"]
        assert called["ticket_id"] == ticket_id
        assert stream.wait_for(has_call(ticket_id), WAIT), stream.error
        call = stream.calls()[0]
        assert call.data["ticket"] == called["ticket"] == "A001"
        assert call.data["counter"] == "Okienko 2"
        assert [(e.id, e.kind, e.data.get("ticket_id")) for e in stream.after_state()] == (
            logged_events(floor_app, floor.office_id)
        )
    finally:
        stream.close()


def test_a_reconnecting_display_gets_exactly_the_events_it_missed(
    floor_app: Flask, live: tuple[str, Floor]
) -> None:
    base, floor = live
    kiosk = Kiosk(base, floor.kiosks[0])
    tickets = [kiosk.walk_in("lokale" if i % 2 else "oplaty") for i in range(4)]
    clerk = Clerk(base, floor.clerks[0])
    clerk.seat(floor.counters["Okienko 1"])
    display_session = device_session(base, floor.displays[0])

    first = Stream(display_session, base)
    first.state(timeout=WAIT)
    called = clerk.call_next().body["ticket"]["ticket_id"]
    assert first.wait_for(lambda ev: any(e.kind == "call" for e in ev), WAIT)
    seen = first.after_state()[-1].id
    first.close()  # the display loses its connection ...

    clerk.finish(called)  # ... while the floor goes on
    for _ in range(2):
        clerk.finish(clerk.call_next().body["ticket"]["ticket_id"])
    missed = logged_events(floor_app, floor.office_id, after=seen)
    assert [kind for _, kind, _ in missed] == ["finish", "call", "finish", "call", "finish"]

    again = Stream(display_session, base, last_event_id=seen)
    try:
        state = again.state(timeout=WAIT)
        # The page counts what follows the state as new: the missed calls get announced.
        assert state.data["last_event_id"] == seen
        # A walk-in now is the last event in the log: once it is here, everything the
        # stream had to send before it is here too, and nothing else may be.
        marker = kiosk.walk_in("lokale")
        assert again.wait_for(lambda ev: ev[-1].data.get("ticket_id") == marker, WAIT)
        replayed = [(e.id, e.kind, e.data.get("ticket_id")) for e in again.after_state()]
        assert replayed[:-1] == missed and replayed[-1][1:] == ("update", marker)
        assert replayed == logged_events(floor_app, floor.office_id, after=seen)
        assert [t for _, kind, t in replayed if kind == "call"] == tickets[1:3]
    finally:
        again.close()

    # Without Last-Event-ID: the state, then only what happens from then on.
    fresh = Stream(display_session, base)
    try:
        fresh.state(timeout=WAIT)
        marker = kiosk.walk_in("oplaty")
        assert fresh.wait_for(lambda ev: len(ev) > 1, WAIT), fresh.error
        assert [(e.kind, e.data["ticket_id"]) for e in fresh.after_state()] == [("update", marker)]
    finally:
        fresh.close()


@pytest.mark.parametrize("bad", ["abc", "-5", "²", "9" * 40, "", "1000000"])
def test_a_malformed_or_unknown_last_event_id_is_ignored(live: tuple[str, Floor], bad: str) -> None:
    """Garbage, or an id from the future (a restored database): the state, then live events."""
    base, floor = live
    stream = Stream(device_session(base, floor.displays[0]), base, last_event_id=bad)
    try:
        assert stream.response.status_code == 200
        assert stream.state(timeout=WAIT).data["last_event_id"] == 0
        ticket = Kiosk(base, floor.kiosks[0]).walk_in("lokale")
        assert stream.wait_for(lambda ev: len(ev) > 1, WAIT), stream.error
        assert [(e.kind, e.data["ticket_id"]) for e in stream.after_state()] == [("update", ticket)]
    finally:
        stream.close()


class StreamClock:
    """``time`` for queueing.display: a monotonic clock that moves only when the test says.

    Counts its reads, so the test can tell that the stream has looked at it since.
    """

    def __init__(self) -> None:
        self.now = 0.0
        self.reads = 0
        self.lock = threading.Lock()

    def monotonic(self) -> float:
        with self.lock:
            self.reads += 1
            return self.now

    def read_since(self, reads: int, times: int = 1) -> None:
        """Wait until the stream has read the clock ``times`` more times after ``reads``."""
        wait_until(lambda: self.reads >= reads + times, message="the stream stopped looping")

    def advance(self, seconds: float) -> None:
        with self.lock:
            self.now += seconds


def test_a_quiet_stream_sends_a_heartbeat(
    live: tuple[str, Floor], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A ping after HEARTBEAT_SECONDS without an event, not before, and not on every poll.

    The stream's clock is the test's: the stream polls every 0.05 s of real time, and
    its quiet time grows only when the test moves that clock.
    """
    clock = StreamClock()
    monkeypatch.setattr(display, "time", clock)
    monkeypatch.setattr(display, "HEARTBEAT_SECONDS", 15.0)
    monkeypatch.setattr(display, "POLL_SECONDS", 0.05)
    base, floor = live
    stream = Stream(device_session(base, floor.displays[0]), base)

    def seen(count: int) -> list[str]:
        """Wait for ``count`` events after the state; then the stream has noted the time
        after the last one (its first read of the clock after sending it)."""
        assert stream.wait_for(lambda ev: len(ev) > count, WAIT), stream.error
        clock.read_since(clock.reads)
        return [e.kind for e in stream.after_state()]

    try:
        stream.state(timeout=WAIT)
        assert seen(0) == []
        clock.advance(14.5)  # quiet, but not for long enough: no ping (binary-exact steps)
        clock.read_since(clock.reads, times=3)  # a few rounds of the loop at that time
        ticket = Kiosk(base, floor.kiosks[0]).walk_in("lokale")
        assert seen(1) == ["update"]  # nothing came before the event
        assert stream.after_state()[0].data["ticket_id"] == ticket
        clock.advance(15.0)  # quiet for the heartbeat since the event
        assert seen(2) == ["update", "ping"]
        clock.read_since(clock.reads, times=3)  # polls go on at the same time: no ping
        clock.advance(15.0)
        assert seen(3) == ["update", "ping", "ping"]
    finally:
        stream.close()


def test_the_server_ends_a_stream_soon_after_the_display_hangs_up(
    live: tuple[str, Floor], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A dead stream must not hold its worker thread until the next heartbeat.

    With no heartbeat due for an hour (the ``live`` fixture), the stream can only end
    because it noticed its display had gone.
    """
    monkeypatch.setattr(display, "POLL_SECONDS", 0.1)
    ended = threading.Event()
    original = display._stream

    def watched(*args: Any) -> Iterator[str]:
        try:
            yield from original(*args)
        finally:
            ended.set()

    monkeypatch.setattr(display, "_stream", watched)
    base, floor = live
    stream = Stream(device_session(base, floor.displays[0]), base)
    stream.state(timeout=WAIT)
    # A listening display keeps its stream: it still gets what happens next.
    ticket = Kiosk(base, floor.kiosks[0]).walk_in("lokale")
    assert stream.wait_for(lambda ev: len(ev) > 1, WAIT), stream.error
    assert stream.after_state()[0].data["ticket_id"] == ticket
    assert not ended.is_set()
    stream.close()
    assert ended.wait(WAIT), "the stream went on after its display had gone"


def test_state_json_is_the_polling_fallback(floor_app: Flask, live: tuple[str, Floor]) -> None:
    base, floor = live
    kiosk = Kiosk(base, floor.kiosks[0])
    first = kiosk.walk_in("lokale")
    kiosk.walk_in("oplaty")  # stays in line
    clerk = Clerk(base, floor.clerks[0])
    clerk.seat(floor.counters["Okienko 3"])
    assert clerk.call_next().body["ticket"]["ticket_id"] == first

    answer = device_session(base, floor.displays[0]).get(f"{base}/display/state.json", timeout=10)
    assert answer.status_code == 200
    assert answer.headers["Cache-Control"] == "no-store"
    state = answer.json()
    assert state["last_event_id"] == logged_events(floor_app, floor.office_id)[-1][0]
    assert [(c["ticket_id"], c["ticket"], c["counter"]) for c in state["calls"]] == [
        (first, "A001", "Okienko 3")
    ]
    waiting = {line["service"]: line["waiting"] for line in state["waiting"]}
    assert waiting == {"lokale": 0, "oplaty": 1}


def test_only_a_signed_in_display_gets_the_stream(live: tuple[str, Floor]) -> None:
    base, floor = live
    clerk = Clerk(base, floor.clerks[0])
    kiosk = device_session(base, floor.kiosks[0])
    for who in (requests.Session(), kiosk, clerk.session):
        for path in ("/display/stream", "/display/state.json", "/display/"):
            answer = who.get(f"{base}{path}", stream=True, timeout=10)
            assert answer.status_code == 403, (path, answer.status_code)
            assert not answer.headers["Content-Type"].startswith("text/event-stream")
            answer.close()
    forged = requests.Session()
    assert forged.get(f"{base}/device/{'x' * 43}", timeout=10).status_code == 404
    assert forged.get(f"{base}/display/stream", timeout=10).status_code == 403
    assert device_session(base, floor.displays[0]).get(f"{base}/display/", timeout=10).ok


@pytest.mark.browser
@pytest.mark.parametrize("stream", ["live", "failing"])
def test_the_display_page_shows_a_call(browser: Any, live: tuple[str, Floor], stream: str) -> None:
    """The page's own client (static/js/display.js) in Chromium.

    Live: the call is on the screen, flagged as new, and the page never polls,
    so it came through the stream. Streaming failing (every connection to
    /display/stream refused at the network level): the page falls back to
    polling /display/state.json and still shows the call.
    """
    base, floor = live
    ticket = Kiosk(base, floor.kiosks[0]).walk_in("lokale")
    clerk = Clerk(base, floor.clerks[0])
    clerk.seat(floor.counters["Okienko 3"])
    context = browser.new_context(locale="pl-PL")
    try:
        page = context.new_page()
        asked: list[str] = []
        page.on("request", lambda r: asked.append(r.url.removeprefix(base)))
        if stream == "failing":
            page.route("**/display/stream", lambda route: route.abort())
        page.goto(f"{base}/device/{floor.displays[0]}")
        page.wait_for_selector("#waiting li", timeout=WAIT * 1000)  # the first state is applied
        assert clerk.call_next().body["ticket"]["ticket_id"] == ticket
        page.wait_for_selector("#calls li[data-ticket='A001']", timeout=WAIT * 1000)
        row = page.locator("#calls li[data-ticket='A001']")
        assert row.locator(".call-counter").inner_text() == "Okienko 3"
        if stream == "live":
            assert "blink" in row.get_attribute("class")
            assert "/display/state.json" not in asked
        else:
            assert asked.count("/display/stream") >= 3  # three failures, then polling
            assert "/display/state.json" in asked
            assert page.locator("#connection").is_visible()
    finally:
        context.close()


@pytest.mark.postgres
def test_a_reader_never_sees_a_later_event_before_an_earlier_one(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """Two floor actions at once on PostgreSQL: ids must become visible in their order.

    A display reads the events after the last id it has. If a higher id could
    commit while a lower one is still in an open transaction, a display reading
    in between would skip the lower one for good, and so would a replay.
    (SQLite runs one write transaction at a time, so there it cannot happen.)
    """
    app = make_app(request, tmp_path, "postgres", REDIS_URL=None)
    floor = open_office(app)
    others: list[int] = []
    with app.app_context():
        engine = db.engine

        def visible() -> list[int]:
            with Session(engine) as session:
                return [e.id for e in events.events_after(session, floor.office_id, 0)]

        def other_action() -> None:
            with Session(engine) as session:
                others.append(events.record(session, floor.office_id, "update", {}).id)
                session.commit()

        def waiting_for_a_lock() -> bool:
            with Session(engine) as session:
                return bool(
                    session.scalar(
                        text(
                            "SELECT count(*) FROM pg_stat_activity"
                            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
                        )
                    )
                )

        with Session(engine) as first:
            first_id = events.record(first, floor.office_id, "call", {}).id
            thread = threading.Thread(target=other_action)
            thread.start()
            # The other action runs meanwhile, or waits its turn.
            wait_until(
                lambda: not thread.is_alive() or waiting_for_a_lock(),
                message="the other action neither ended nor waited for a lock",
            )
            seen_meanwhile = visible()
            first.commit()
        thread.join(WAIT)
        assert not thread.is_alive()
        assert all(i < first_id for i in seen_meanwhile), (first_id, seen_meanwhile)
        assert visible() == sorted([first_id, *others])


def test_a_display_in_another_process_keeps_up_while_redis_is_down(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two app servers with their own brokers share SQLite and a Redis of the test's own.

    With the streams' poll interval longer than any wait here, a call reaching the
    other server's display can only have come through Redis. While Redis is away
    (poll interval 0.3 s) the clerk's calls still succeed and the display gets them
    from the event log; when Redis is back, the display's server subscribes again
    by itself, and calls come through Redis again.
    """
    redis = PrivateRedis(tmp_path)
    redis.start()
    apps: list[Flask] = []
    try:
        apps.append(make_app(request, tmp_path, "sqlite", REDIS_URL=redis.url))
        floor = open_office(apps[0])
        database = apps[0].config["SQLALCHEMY_DATABASE_URI"]
        apps.append(create_app({**base_config(tmp_path, database), "REDIS_URL": redis.url}))
        # The poll interval each wait of the display's stream used, in order.
        broker = apps[1].extensions["queue_broker"]
        waits: list[float] = []
        real_wait = broker.wait

        def recorded_wait(office_id: int, after_id: int, timeout: float) -> bool:
            waits.append(timeout)
            return real_wait(office_id, after_id, timeout)

        monkeypatch.setattr(broker, "wait", recorded_wait)
        monkeypatch.setattr(display, "HEARTBEAT_SECONDS", 3600.0)
        monkeypatch.setattr(display, "POLL_SECONDS", LONG_POLL)
        with LiveServer(apps[0]) as a, LiveServer(apps[1]) as b:
            session = device_session(b.url, floor.displays[0])
            stream = Stream(session, b.url, read_timeout=2 * LONG_POLL)
            try:
                stream.state(timeout=WAIT)
                kiosk = Kiosk(a.url, floor.kiosks[0])
                tickets = [kiosk.walk_in("lokale") for _ in range(3)]
                clerk = Clerk(a.url, floor.clerks[0])  # on the other server
                clerk.seat(floor.counters["Okienko 1"])

                def call(ticket: int) -> None:
                    assert clerk.call_next().body["ticket"]["ticket_id"] == ticket
                    assert stream.wait_for(has_call(ticket), WAIT), stream.error

                def finish(ticket: int) -> None:
                    count = len(stream.after_state())
                    clerk.finish(ticket)
                    assert stream.wait_for(lambda ev: len(ev) > count + 1, WAIT), stream.error

                call(tickets[0])  # through Redis: the stream polls only every LONG_POLL
                assert waits and set(waits) == {LONG_POLL}
                assert redis.subscribers(events.CHANNEL) == 1  # the display's server listens
                monkeypatch.setattr(display, "POLL_SECONDS", 0.3)
                finish(tickets[0])  # woken through Redis; from now on it waits 0.3 s at a time

                redis.stop()
                call(tickets[1])  # publishing fails quietly; the log has it
                finish(tickets[1])

                redis.start()
                wait_until(  # the listener comes back by itself
                    lambda: redis.subscribers(events.CHANNEL) >= 1,
                    timeout=WAIT,
                    message="the listener did not resubscribe",
                )
                monkeypatch.setattr(display, "POLL_SECONDS", LONG_POLL)
                waited = len(waits)
                wait_until(
                    lambda: LONG_POLL in waits[waited:],
                    message="the stream did not go back to the long poll",
                )
                call(tickets[2])  # through Redis again: the stream is in the long wait
                assert [e.data["ticket_id"] for e in stream.calls()] == tickets
            finally:
                stream.close()
    finally:
        for app in apps:
            app.extensions["queue_broker"].close()
            with app.app_context():
                db.engine.dispose()
        redis.stop()


# ---------------------------------------------------------------------------
# Production-like: gunicorn with threaded workers on PostgreSQL, Redis pub/sub


def redis_url() -> str:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError:
        if IN_CI:
            pytest.fail(f"CI=true but Redis is not reachable at {REDIS_URL}")
        pytest.skip("Redis is not reachable")
    return REDIS_URL


@contextmanager
def gunicorn_servers(
    database_url: str, folder: Path, count: int, workers: int, redis: str | None
) -> Iterator[list[Server]]:
    """``count`` gunicorn instances (production workers) on one database; stopped afterwards."""
    logs = [folder / f"gunicorn-{i}.log" for i in range(count)]
    with live_floor.gunicorn_servers(
        database_url,
        logs,
        secret_key=SECRET_KEY,
        folder=folder,
        workers=workers,
        redis=redis,
        graceful_timeout=2,
    ) as servers:
        yield servers
    for server in servers:
        output = server.log.read_text(errors="replace")
        assert "Traceback" not in output and "[ERROR]" not in output, output


@pytest.fixture
def pg_floor(pg_template: str, tmp_path: Path) -> Iterator[Callable[..., tuple[str, Flask, Floor]]]:
    """Makes a fresh PostgreSQL database with the test office; dropped afterwards."""
    names: list[str] = []
    apps: list[Flask] = []

    def make(**people: int) -> tuple[str, Flask, Floor]:
        name = new_pg_database(pg_template)
        names.append(name)
        app = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": pg_url(name),
                "SECRET_KEY": SECRET_KEY,
                "INSTANCE_PATH": str(tmp_path),
                "REDIS_URL": None,
                "TESTING": True,
            }
        )
        apps.append(app)
        return pg_url(name), app, open_office(app, **people)

    yield make
    for app in apps:
        with app.app_context():
            db.engine.dispose()
    for name in names:
        drop_pg_database(name)


DISPLAYS = 20
CALLS = 10  # one clerk, one after another: each call reaches every display
ROUNDS = 4  # then three clerks at once, each calling and finishing this many times


@pytest.mark.postgres
@pytest.mark.real_clock  # gunicorn's clock: the office must be open for it, at its time
def test_twenty_displays_on_four_workers_get_every_call_in_order(
    pg_floor: Callable[..., tuple[str, Flask, Floor]], tmp_path: Path
) -> None:
    url, app, floor = pg_floor(displays=DISPLAYS, kiosks=1, clerks=3)
    with ExitStack() as stack:
        (server,) = stack.enter_context(gunicorn_servers(url, tmp_path, 1, 4, redis_url()))
        base = server.base
        streams: list[Stream | None] = [None] * DISPLAYS

        def open_stream(i: int) -> None:
            streams[i] = Stream(device_session(base, floor.displays[i]), base)

        run_together([lambda i=i: open_stream(i) for i in range(DISPLAYS)])
        stack.callback(lambda: [stream.close() for stream in streams if stream])
        # Which worker took a connection is the kernel's choice: a burst may all land on
        # one. Reconnect a few displays until they are spread over several workers, so
        # that a call made in any one worker must cross to others to reach them all.
        for attempt in range(DISPLAYS):
            owners = connection_owners(server)
            stream_workers = [owners.get(s.local_port) for s in streams]
            if len(set(stream_workers) - {None}) >= 2:
                break
            streams[attempt].close()
            time.sleep(0.05)
            open_stream(attempt)
        assert len(set(stream_workers) - {None}) >= 2, stream_workers
        states = [stream.state() for stream in streams]

        kiosk = Kiosk(base, floor.kiosks[0])
        tickets = [kiosk.walk_in("lokale" if i % 3 else "oplaty") for i in range(CALLS)]
        clerks = [Clerk(base, username) for username in floor.clerks]
        for clerk, counter in zip(clerks, floor.counters.values(), strict=True):
            clerk.seat(counter)

        # 1. One clerk calls, each call on a new connection; every display must show it.
        called_ids: list[int] = []
        call_workers: set[int | None] = set()
        for i in range(CALLS):
            answer = clerks[0].call_next(server)
            ticket = answer.body["ticket"]["ticket_id"]
            call_workers.add(answer.worker)
            called_ids.append(ticket)
            for stream in streams:
                assert stream.wait_for(has_call(ticket), WAIT), (i, stream.error)
            clerks[0].finish(ticket, server)
        assert called_ids == tickets  # first come, first called
        assert None not in call_workers

        # 2. Three clerks at once, on several workers: the floor's events interleave, and
        # every display must still get all of them, in the order of the log.
        more = [kiosk.walk_in("oplaty") for _ in range(3 * ROUNDS)]

        def work(clerk: Clerk) -> None:
            for _ in range(ROUNDS):
                clerk.finish(clerk.call_next(server).body["ticket"]["ticket_id"], server)

        run_together([lambda c=c: work(c) for c in clerks])
        logged = logged_events(app, floor.office_id, after=states[0].data["last_event_id"])
        assert sorted(t for _, kind, t in logged if kind == "call") == sorted(tickets + more)
        for stream in streams:
            assert stream.wait_for(lambda ev: len(ev) > len(logged), WAIT), stream.error
        for stream, state in zip(streams, states, strict=True):
            assert state.data["last_event_id"] == states[0].data["last_event_id"]
            assert [(e.id, e.kind, e.data.get("ticket_id")) for e in stream.after_state()] == logged
    print(
        f"\n{DISPLAYS} displays on workers {sorted(Counter(stream_workers).items())}, "
        f"calls served by {sorted(call_workers)} (latencies: bench/display_latency.py)"
    )


def run_together(jobs: list[Callable[[], None]]) -> None:
    """Run the jobs in threads released at the same moment; re-raise the first failure."""
    barrier = threading.Barrier(len(jobs))
    failures: list[BaseException] = []

    def run(job: Callable[[], None]) -> None:
        try:
            barrier.wait(30)
            job()
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    if failures:
        raise failures[0]


# gunicorn's settings for a test that must rule polling out: the repository's
# gunicorn.conf.py (its hooks), and in every worker, once it has loaded the app, the
# display stream's poll interval set to LONG_POLL and said in the log.
LONG_POLL_CONFIG = """
import runpy

_repository = runpy.run_path({repository!r})
globals().update((k, v) for k, v in _repository.items() if not k.startswith("__"))


def post_worker_init(worker):
    if "post_worker_init" in _repository:
        _repository["post_worker_init"](worker)
    from queueing import display

    display.POLL_SECONDS = {seconds!r}
    worker.log.info("{line}")
"""
LONG_POLL_LINE = "test: the display stream polls every LONG_POLL seconds"


@pytest.mark.postgres
@pytest.mark.real_clock  # gunicorn's clock: the office must be open for it, at its time
@pytest.mark.parametrize("broker", ["redis", "no-redis"])
def test_a_call_through_one_instance_reaches_a_display_on_another(
    pg_floor: Callable[..., tuple[str, Flask, Floor]],
    tmp_path: Path,
    broker: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With Redis, the workers' streams poll only every LONG_POLL: a call reaches the other
    instance's display within WAIT only through Redis. Without it, by polling the log."""
    redis = redis_url() if broker == "redis" else None
    workers = 2
    if redis:
        config = tmp_path / "long_poll.gunicorn.conf.py"
        repository = live_floor.ROOT / "gunicorn.conf.py"
        config.write_text(
            LONG_POLL_CONFIG.format(
                repository=str(repository), seconds=LONG_POLL, line=LONG_POLL_LINE
            )
        )
        monkeypatch.setenv("GUNICORN_CMD_ARGS", f"--config {shlex.quote(str(config))}")
    else:
        monkeypatch.delenv("GUNICORN_CMD_ARGS", raising=False)
    url, _app, floor = pg_floor(displays=1, kiosks=1, clerks=1)
    with ExitStack() as stack:
        a, b = stack.enter_context(gunicorn_servers(url, tmp_path, 2, workers, redis))
        assert a.base != b.base
        if redis:
            for server in (a, b):  # every worker has the long poll
                wait_until(
                    lambda server=server: server.log.read_text().count(LONG_POLL_LINE) >= workers,
                    message=lambda server=server: server.log.read_text(),
                )
        stream = Stream(
            device_session(b.base, floor.displays[0]), b.base, read_timeout=2 * LONG_POLL
        )
        stack.callback(stream.close)
        stream.state()
        kiosk = Kiosk(a.base, floor.kiosks[0])
        tickets = [kiosk.walk_in("lokale") for _ in range(3)]
        clerk = Clerk(a.base, floor.clerks[0])
        clerk.seat(floor.counters["Okienko 2"])
        for ticket in tickets:
            assert clerk.call_next().body["ticket"]["ticket_id"] == ticket
            assert stream.wait_for(has_call(ticket), WAIT), stream.error
            clerk.finish(ticket)
        assert [e.data["ticket_id"] for e in stream.calls()] == tickets
        assert [e.data["counter"] for e in stream.calls()] == ["Okienko 2"] * 3


# Far more than a threaded worker has threads (an open stream holds none), and more
# connections in one worker than select() can watch (file descriptors past 1,024).
CROWD = 1100
CROWD_CALLS = 5


@pytest.mark.postgres
@pytest.mark.real_clock  # gunicorn's clock: the office must be open for it, at its time
def test_a_thousand_open_displays_hold_up_neither_calls_nor_residents(
    pg_floor: Callable[..., tuple[str, Flask, Floor]], tmp_path: Path
) -> None:
    """1,100 streams on one production worker: every stream gets every call, in the order
    of the log, and a resident's pages still answer while they are all open."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 2 * CROWD + 200  # the test's ends and the worker's (it inherits the limit)
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, hard), hard))
    url, app, floor = pg_floor(displays=1, kiosks=1, clerks=1)
    with ExitStack() as stack:
        (server,) = stack.enter_context(gunicorn_servers(url, tmp_path, 1, 1, redis_url()))
        base = server.base
        display_cookies = device_session(base, floor.displays[0]).cookies.get_dict()
        crowd = Crowd(f"{base}/display/stream", display_cookies, CROWD)
        stack.callback(crowd.close)
        assert crowd.wait_for(lambda streams: all(streams), WAIT), crowd.errors[:3]
        states = [events[0] for events in crowd.events]
        assert {kind for _, kind, _ in states} == {"state"}

        for path in ("/", "/api/v1/offices", "/privacy"):  # a resident, meanwhile
            assert requests.get(f"{base}{path}", timeout=WAIT).status_code == 200
        kiosk = Kiosk(base, floor.kiosks[0])
        tickets = [kiosk.walk_in("lokale") for _ in range(CROWD_CALLS)]
        clerk = Clerk(base, floor.clerks[0])
        clerk.seat(floor.counters["Okienko 2"])
        for ticket in tickets:
            assert clerk.call_next(server).body["ticket"]["ticket_id"] == ticket
            clerk.finish(ticket, server)

        # Every event after each stream's state, from the log: each one, once, in order.
        expected = {sid: logged_events(app, floor.office_id, after=sid) for sid, _, _ in states}

        def complete(streams: list[list[Any]]) -> bool:
            return all(len(events) > len(expected[events[0][0]]) for events in streams)

        assert crowd.wait_for(complete, WAIT), crowd.errors[:3]
        for (state_id, _, _), *after in crowd.events:
            assert after == expected[state_id]
        assert crowd.errors == []
