"""What the clerk reads on the counter page: for the ticket at the counter the resident's name
and booked time (a booking), the service, how long they waited and a timer since the call or
the start of service; for the line each ticket's waiting time, the long waits marked in words
and colour; and the keyboard shortcuts on the buttons. The name stays on this page: the lobby
display's state and the floor's events never carry it.

Koszalin's demo office on Wednesday 25 November 2026, from 10:00 local (tests/helpers/floor.py).
"""

from __future__ import annotations

import html
import re
from datetime import timedelta
from typing import Any

from flask import Flask
from sqlalchemy import select

from booking.models import Service
from okienko.database import db
from queueing.models import DeviceKind, QueueEvent
from tests.helpers.floor import (
    DAY,
    Clerk,
    book,
    check_in,
    ok,
    signed_in_device,
    ticket,
    ticket_id_of,
    utc,
    walk_in,
)

NAME = "Ewa Mieszkanka"  # tests/helpers/floor.py books in this name


def page(clerk: Clerk) -> str:
    response = clerk.client.get("/counter/")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def fact(text: str, name: str) -> str:
    """The text of the current ticket's fact ``name`` (data-fact), tags stripped."""
    match = re.search(rf'<dd data-fact="{name}"[^>]*>(.*?)</dd>', text, re.S)
    assert match, f"no {name} on the page"
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", match.group(1))).split())


def row(text: str, label: str) -> str:
    match = re.search(rf'<tr data-ticket="{label}"[^>]*>.*?</tr>', text, re.S)
    assert match, f"no {label} in the line"
    return match.group(0)


def test_the_clerk_sees_who_was_booked_what_for_and_how_long_they_waited(
    app: Flask, clock: Any
) -> None:
    booked = book(app, utc(str(DAY), "10:30"))
    kiosk = signed_in_device(app)
    clerk = Clerk(app, "koszalin1", "Stanowisko 1")
    clock.shift(timedelta(minutes=5))  # 10:05: checked in early, for 10:30
    arrived = ticket_id_of(check_in(kiosk, booked["code"]))
    clock.shift(timedelta(minutes=26))  # 10:31
    assert ok(clerk.call_next())["ticket_id"] == arrived
    service = ticket(app, arrived)
    with app.app_context():
        service_name = db.session.get(Service, service.service_id).name("en")

    text = page(clerk)
    assert fact(text, "name") == NAME
    assert fact(text, "booked") == "10:30"
    assert fact(text, "service") == service_name
    assert fact(text, "waited") == "26 min"  # from the kiosk to the call
    called_at = service.called_at
    assert f'data-since="{called_at.isoformat()}"' in text
    assert fact(text, "called").startswith("0:00")

    clock.shift(timedelta(seconds=75))
    assert fact(page(clerk), "called").startswith("1:15")
    ok(clerk.act(arrived, "serve"))
    clock.shift(timedelta(minutes=4, seconds=5))
    text = page(clerk)
    assert fact(text, "serving") == "4:05"
    assert f'data-since="{ticket(app, arrived).serving_at.isoformat()}"' in text
    assert fact(text, "waited") == "26 min"  # the wait ended at the first call
    # The page's timers tick on from the server's time, not the PC's clock.
    assert f'data-now="{utc(str(DAY), "10:36:20").isoformat()}"' in text

    # The name is for the clerk only: not in the display's state, not in any floor event.
    display = signed_in_device(app, DeviceKind.DISPLAY, "Lobby")
    state = display.get("/display/state.json")
    assert state.status_code == 200 and NAME not in state.get_data(as_text=True)
    assert "Mieszkanka" not in clerk.client.get("/counter/line.json").get_data(as_text=True)
    with app.app_context():
        payloads = db.session.scalars(select(QueueEvent.payload)).all()
    assert payloads and not any("Mieszkanka" in repr(p) for p in payloads)


def test_a_walk_in_shows_no_name_and_its_wait_so_far(app: Flask, clock: Any) -> None:
    kiosk = signed_in_device(app)
    walked = walk_in(kiosk)
    clerk = Clerk(app, "koszalin1", "Stanowisko 1")
    clock.shift(timedelta(minutes=7, seconds=59))
    ok(clerk.call_next())
    text = page(clerk)
    assert 'data-fact="name"' not in text and 'data-fact="booked"' not in text
    assert fact(text, "waited") == "7 min"
    assert ticket(app, walked).wait_seconds == 7 * 60 + 59


def test_the_line_shows_each_wait_and_marks_the_long_ones(app: Flask, clock: Any) -> None:
    booked = book(app, utc(str(DAY), "10:45"))
    kiosk = signed_in_device(app)
    clerk = Clerk(app, "koszalin3", "Stanowisko 1")
    first = walk_in(kiosk)  # 10:00
    clock.shift(timedelta(minutes=15))
    second = walk_in(kiosk)  # 10:15
    clock.shift(timedelta(minutes=5))
    early = ticket_id_of(check_in(kiosk, booked["code"]))  # 10:20, for 10:45
    clock.shift(timedelta(minutes=21))  # 10:41
    labels = [ticket(app, t).label for t in (first, second, early)]

    text = page(clerk)
    long_row, short_row, appointment_row = (row(text, label) for label in labels)
    # 41 minutes: over the 20 of LONG_WAIT_MINUTES, marked in words and by the row's colour.
    assert '<span class="minutes"' in long_row and ">41</span> min" in long_row
    assert 'class="long"' in long_row
    assert re.search(r'class="long-mark" data-long-from="[^"]+">long wait', long_row)
    # 26 minutes, but ...
    assert ">26</span> min" in short_row and 'class="long"' in short_row
    # ... an appointment that came 25 minutes early waits its own choice until 10:45: its
    # minutes, like its mark, count from then (shown and ticking from the same start).
    booked_at = utc(str(DAY), "10:45")
    assert ">0</span> min" in appointment_row and 'class="long"' not in appointment_row
    assert f'data-since="{booked_at.isoformat()}"' in appointment_row
    long_from = (booked_at + timedelta(minutes=20)).isoformat()
    assert f'class="long-mark" data-long-from="{long_from}" hidden>' in appointment_row
    assert "an appointment checked in early: from its booked time" in html.unescape(text)
    assert "over 20 min is marked “long wait”" in html.unescape(text)

    # The limit is a setting.
    app.config["LONG_WAIT_MINUTES"] = 30
    text = page(clerk)
    assert 'class="long"' in row(text, labels[0]) and 'class="long"' not in row(text, labels[1])
    assert "over 30 min is marked" in text

    # Past its booked time the appointment's wait counts as any other.
    clock.shift(timedelta(minutes=9))  # 10:50
    assert ">5</span> min" in row(page(clerk), labels[2])


def test_the_buttons_show_their_keyboard_shortcuts(app: Flask, clock: Any) -> None:
    called = walk_in(signed_in_device(app))
    clerk = Clerk(app, "koszalin1", "Stanowisko 1")
    text = page(clerk)
    assert re.search(
        r'id="call-next" data-key="n" aria-keyshortcuts="N">Call next <kbd>\(N\)</kbd>', text
    )
    ok(clerk.call_next())
    text = page(clerk)
    for action, key, label in [
        ("recall", "R", "Call again"),
        ("serve", "S", "Start"),
        ("finish", "F", "Finish"),
        ("park", "P", "Park"),
    ]:
        assert re.search(
            rf'data-action="{action}" data-key="{key.lower()}" aria-keyshortcuts="{key}">'
            rf"{label} <kbd>\({key}\)</kbd>",
            text,
        ), action
    assert 'data-action="no-show" data-key' not in text
    # The open page keeps the seat: it knows where and how often to say so.
    assert 'data-keep="/counter/seat/keep" data-keep-seconds="60"' in text
    ok(clerk.act(called, "serve"))
    assert 'data-action="recall"' not in page(clerk)
