"""The lobby display's page and state: the office's language in any browser, and each
service's line with its estimated wait in /display/state.json. (The live feed is in
test_display_stream.py.)

Koszalin's demo office on Wednesday 25 November 2026 (open 07:15-15:15 local, UTC+1).
"""

from __future__ import annotations

import html
import json
import re
from datetime import datetime, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import select

from booking.admission import DEFAULT_NOTICES
from booking.models import Counter, Office
from okienko.database import db, utcnow
from queueing.models import Device, DeviceKind, Role
from queueing.state import waiting_counts
from tests.helpers.admin import ZIELNA, make_account, session_of
from tests.helpers.floor import (
    KOSZALIN,
    NOW,
    Clerk,
    counter_id,
    ok,
    service_id,
    signed_in_device,
    walk_in,
)
from tests.helpers.page_forms import field_errors, send, text_of
from tests.test_admission import set_regime


def test_the_display_speaks_the_offices_language_in_any_browser(app: Flask) -> None:
    display = signed_in_device(app, DeviceKind.DISPLAY, name="Screen", office=KOSZALIN)
    page = display.get("/display/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert '<html lang="pl">' in page
    assert 'data-announce="Numer {ticket}, {counter}"' in page


def test_the_display_state_has_an_estimate_per_service(app: Flask, clock: Any) -> None:
    kiosk = signed_in_device(app)
    for _ in range(3):
        walk_in(kiosk, "raty")
    Clerk(app, "estimator", "Stanowisko 1")
    display = signed_in_device(app, DeviceKind.DISPLAY, name="Screen")
    lines = {
        line["service"]: line for line in display.get("/display/state.json").get_json()["waiting"]
    }
    assert lines["raty"]["waiting"] == 3
    # Three ahead, one open counter, 30 planned minutes each.
    assert lines["raty"]["wait_minutes"] == 90
    assert lines["zamiana"]["waiting"] == 0


def test_nobody_ahead_still_waits_while_every_open_counter_is_busy(app: Flask, clock: Any) -> None:
    """Raty takes 30 planned minutes; the figure is for the next to come. (Read from
    ``waiting_counts`` itself: a display's state is worked out again on floor events.)"""
    kiosk = signed_in_device(app)
    first = walk_in(kiosk, "raty")
    clerk = Clerk(app, "estimator", "Stanowisko 1")

    def raty_wait() -> int | None:
        with app.app_context():
            office = db.session.scalars(select(Office).filter_by(slug=KOSZALIN)).one()
            lines = {
                line["service"]: line for line in waiting_counts(db.session(), office, utcnow())
            }
            return lines["raty"]["wait_minutes"]

    assert raty_wait() == 30  # R001 ahead, at the idle counter until 10:30
    ok(clerk.call_next())  # nobody ahead now, but R001 was called at 10:00: free at 10:30
    assert raty_wait() == 30
    clock.shift(timedelta(minutes=20))
    assert raty_wait() == 10
    ok(clerk.act(first, "serve"))  # served from 10:20: free at 10:50
    assert raty_wait() == 30
    clock.shift(timedelta(minutes=45))  # 11:05, past 10:50: expected free within a minute
    assert raty_wait() == 1
    Clerk(app, "estimator2", "Stanowisko 2")  # a second counter, idle
    assert raty_wait() == 0


# ---------------------------------------------------------------- the state a display gets


def state_of(display: Any) -> dict[str, Any]:
    response = display.get("/display/state.json")
    assert response.status_code == 200
    return response.get_json()


def test_the_state_lists_the_last_calls_newest_first_with_their_time_and_status(
    app: Flask, clock: Any
) -> None:
    kiosk = signed_in_device(app)
    tickets = [walk_in(kiosk, "raty") for _ in range(10)]
    clerk = Clerk(app, "caller", "Stanowisko 1")
    for _ in range(9):
        ticket = ok(clerk.call_next())
        clock.shift(timedelta(minutes=2))
        clerk.act(ticket["ticket_id"], "finish")
    last = ok(clerk.call_next())
    calls = state_of(signed_in_device(app, DeviceKind.DISPLAY, name="Screen"))["calls"]
    # The last eight, newest first: the one being called, then seven finished ones.
    assert [c["ticket_id"] for c in calls] == list(reversed(tickets))[:8]
    assert calls[0]["ticket"] == last["ticket"] and calls[0]["status"] == "called"
    assert {c["status"] for c in calls[1:]} == {"done"}
    assert {c["counter"] for c in calls} == {"Stanowisko 1"}
    # The time of the call (UTC; the page shows it in the office's time).
    assert datetime.fromisoformat(calls[0]["at"]) == NOW + timedelta(minutes=18)


def test_the_idle_screen_has_todays_hours_the_notices_and_the_counts(
    app: Flask, clock: Any
) -> None:
    set_regime(app, ZIELNA, True)
    display = signed_in_device(app, DeviceKind.DISPLAY, name="Screen", office=ZIELNA)
    state = state_of(display)
    assert state["calls"] == []
    assert state["hours"] == ["07:30–15:00"]  # a Wednesday at Zielna
    # The sanitary regime's rules first, in every language.
    for lang in ("pl", "cs", "en"):
        assert state["notices"][lang][:2] == DEFAULT_NOTICES[lang]
    assert [line["waiting"] for line in state["waiting"]] == [0] * 5

    set_regime(app, ZIELNA, False)
    clock.shift(timedelta(days=3))  # Saturday: closed, and the regime is off
    app.extensions["queue_feeds"].clear()  # no floor event: else its state is reused a while
    state = state_of(display)
    assert state["hours"] == [] and state["notices"] == {}


def test_the_state_says_the_servers_time_and_how_long_past_calls_stay(
    app: Flask, clock: Any
) -> None:
    """The idle screen keeps a call DISPLAY_RECENT_MINUTES by the server's clock, which
    the state gives: the TV's own clock may be wrong."""
    app.config["DISPLAY_RECENT_MINUTES"] = 12
    display = signed_in_device(app, DeviceKind.DISPLAY, name="Screen")
    state = state_of(display)
    assert datetime.fromisoformat(state["now"]) == NOW
    assert state["recent_minutes"] == 12
    clock.shift(timedelta(minutes=20))  # the time of each answer, not of the cached state
    assert datetime.fromisoformat(state_of(display)["now"]) == NOW + timedelta(minutes=20)


def choose_shows(app: Flask, name: str, services: list[str], counters: list[str]) -> None:
    service_ids = [service_id(app, key) for key in services]
    counter_ids = [counter_id(app, c) for c in counters]
    with app.app_context():
        device = db.session.scalar(select(Device).where(Device.name == name))
        assert device is not None
        device.shown_service_ids, device.shown_counter_ids = service_ids, counter_ids
        db.session.commit()


def test_each_display_shows_its_own_part_of_the_office(app: Flask, clock: Any) -> None:
    kiosk = signed_in_device(app)
    raty, zamiana = walk_in(kiosk, "raty"), walk_in(kiosk, "zamiana")
    walk_in(kiosk, "raty")
    one = Clerk(app, "one", "Stanowisko 1")
    two = Clerk(app, "two", "Stanowisko 2")
    assert ok(one.call_next())["ticket_id"] == raty
    # Stanowisko 2 serves zamiana too: its next is the zamiana ticket or the second raty.
    called_at_two = ok(two.call_next())["ticket_id"]

    everything = signed_in_device(app, DeviceKind.DISPLAY, name="Hall")
    by_service = signed_in_device(app, DeviceKind.DISPLAY, name="Instalments")
    by_counter = signed_in_device(app, DeviceKind.DISPLAY, name="Corridor")
    choose_shows(app, "Instalments", ["raty"], [])
    choose_shows(app, "Corridor", [], ["Stanowisko 2"])

    hall = state_of(everything)
    assert {c["ticket_id"] for c in hall["calls"]} == {raty, called_at_two}
    assert len(hall["waiting"]) == len(hall["waiting"]) and len(hall["waiting"]) > 1

    instalments = state_of(by_service)
    assert {c["service"] for c in instalments["calls"]} == {"raty"}
    assert [line["service"] for line in instalments["waiting"]] == ["raty"]

    corridor = state_of(by_counter)
    assert [c["ticket_id"] for c in corridor["calls"]] == [called_at_two]
    two_id = counter_id(app, "Stanowisko 2")
    with app.app_context():
        counter = db.session.get(Counter, two_id)
        assert counter is not None
        served = {s.key for s in counter.services}
    assert {line["service"] for line in corridor["waiting"]} == served
    assert zamiana in (called_at_two, zamiana)

    # The page tells its script the same part, for the live events that follow.
    page = by_service.get("/display/").get_data(as_text=True)
    shown = json.loads(html.unescape(re.search(r'data-shown="([^"]*)"', page).group(1)))  # type: ignore[union-attr]
    assert shown == {"services": ["raty"], "counters": None, "lines": ["raty"]}
    # ... and its stream's first state is cut down the same way.
    stream = by_counter.get("/display/stream", buffered=False)
    try:
        chunks = iter(stream.response)
        first: bytes = next(c for c in chunks if b"event: state" in c)  # after "retry:"
    finally:
        stream.close()
    data = next(line for line in first.splitlines() if line.startswith(b"data: "))
    assert [c["ticket_id"] for c in json.loads(data[6:])["calls"]] == [called_at_two]


def test_an_administrator_chooses_what_a_display_shows(app: Flask, clock: Any) -> None:
    """Through the admin's device form: on adding a display, and later on its own page."""
    manager = session_of(app, make_account(app, "shows-manager", Role.MANAGER, manages=[ZIELNA]))
    manager.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    devices = f"/admin/o/{ZIELNA}/devices"
    raty = service_id(app, "raty-umorzenia", office=ZIELNA)
    response = send(
        manager, devices, {"kind": "display", "name": "Upstairs", "services": [str(raty)]}
    )
    assert response.status_code == 200, field_errors(response)
    with app.app_context():
        upstairs = db.session.scalar(select(Device).where(Device.name == "Upstairs"))
        assert upstairs is not None
        assert (upstairs.shown_service_ids, upstairs.shown_counter_ids) == ([raty], [])
        device_id = upstairs.id
    assert "shows a part of the office" in text_of(manager.get(devices))

    page = f"{devices}/{device_id}/shows"
    assert manager.get(page).status_code == 200
    counter = counter_id(app, "Punkt obsługi 2", office=ZIELNA)
    response = send(manager, page, {"services": None, "counters": [str(counter)]})
    assert response.status_code == 302
    with app.app_context():
        again = db.session.get(Device, device_id)
        assert again is not None
        assert (again.shown_service_ids, again.shown_counter_ids) == ([], [counter])

    # Another office's counter: a clear refusal, not a 500.
    other = counter_id(app, "Stanowisko 1")
    response = send(manager, page, {"counters": [str(other)]})
    assert response.status_code == 422
    assert "is not a valid choice" in text_of(response)
    # A kiosk shows nothing: it has no such page.
    kiosk = signed_in_device(app, name="Entrance", office=ZIELNA)
    assert kiosk.get("/kiosk/").status_code == 200
    with app.app_context():
        kiosk_id = db.session.scalar(select(Device.id).where(Device.name == "Entrance"))
    assert manager.get(f"{devices}/{kiosk_id}/shows").status_code == 404
