"""The lobby display: a full-screen page fed by Server-Sent Events, with a polling fallback."""

from __future__ import annotations

import select
import socket
import ssl
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    g,
    has_request_context,
    jsonify,
    render_template,
    request,
)
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from booking.models import Counter, Service
from okienko.database import db, utcnow

from .access import device_required
from .feed import feed_for, sse
from .models import Device, DeviceKind

bp = Blueprint("display", __name__, url_prefix="/display")

HEARTBEAT_SECONDS = 15.0
POLL_SECONDS = 1.0  # the longest a stream sleeps when no broker wakes it

State = dict[str, Any]


@dataclass(frozen=True)
class Shown:
    """What one display shows, when an office has several: None means everything.

    ``services`` and ``counters`` filter the calls; ``lines`` are the services whose
    waiting counts it shows (the chosen services, else those its counters serve).
    """

    services: frozenset[str] | None = None
    counters: frozenset[int] | None = None
    lines: frozenset[str] | None = None

    def as_data(self) -> dict[str, list[Any] | None]:
        """For the page's script, which filters the live events the same way."""
        return {
            "services": None if self.services is None else sorted(self.services),
            "counters": None if self.counters is None else sorted(self.counters),
            "lines": None if self.lines is None else sorted(self.lines),
        }


def shown_by(session: Session, device: Device) -> Shown:
    """The device's chosen services and counters, each still one of its office's."""
    services = [
        s
        for s in (session.get(Service, i) for i in device.shown_service_ids or [])
        if s is not None and s.office_id == device.office_id
    ]
    counters = [
        c
        for c in (session.get(Counter, i) for i in device.shown_counter_ids or [])
        if c is not None and c.office_id == device.office_id
    ]
    keys = frozenset(s.key for s in services) or None
    served = frozenset(s.key for c in counters for s in c.services)
    return Shown(
        services=keys,
        counters=frozenset(c.id for c in counters) or None,
        lines=keys if keys is not None else (served if counters else None),
    )


def shown_state(state: State, shown: Shown) -> State:
    """The office's display state cut down to what one display shows."""

    def call_shown(call: dict[str, Any]) -> bool:
        return (shown.services is None or call.get("service") in shown.services) and (
            shown.counters is None or call.get("counter_id") in shown.counters
        )

    return state | {
        "calls": [c for c in state.get("calls", []) if call_shown(c)],
        "waiting": [
            line
            for line in state.get("waiting", [])
            if shown.lines is None or line["service"] in shown.lines
        ],
    }


def timed_state(state: State, now: datetime, recent_minutes: int) -> State:
    """The state with the server's time and how long the idle screen lists past calls.

    The page keeps a call on its idle screen while it is younger than ``recent_minutes``
    by the server's clock (``now`` gives its offset), re-checking on a timer: a TV's own
    clock may be wrong, and no event marks the end of that window.
    """
    return state | {"now": now.isoformat(), "recent_minutes": recent_minutes}


def display_shape(shown: Shown) -> Callable[[State], State]:
    """What one display's state and first event carry; read its setting in the request."""
    minutes = current_app.config["DISPLAY_RECENT_MINUTES"]
    return lambda state: timed_state(shown_state(state, shown), utcnow(), minutes)


def client_socket() -> socket.socket | None:
    """The request's TCP connection, where the server tells it (gunicorn, werkzeug)."""
    environ = request.environ
    sock = environ.get("gunicorn.socket") or environ.get("werkzeug.socket")
    # A TLS socket cannot be peeked at; such a stream ends at its next failed write.
    if isinstance(sock, socket.socket) and not isinstance(sock, ssl.SSLSocket):
        return sock
    return None


def client_gone(sock: socket.socket | None) -> bool:
    """True once the client has closed its end of the connection.

    An EventSource sends nothing after its request, so end-of-file on a peek
    means nobody is listening any more. Otherwise a dead stream would only be
    noticed when a write fails, at the next event or heartbeat, and would hold
    its worker thread until then; a display that reconnects often (flaky Wi-Fi,
    its watchdog) would pile such threads up.
    """
    if sock is None:
        return False
    try:
        # Asked first, without waiting: gevent's socket would wait for data on a
        # would-block peek. poll, not select: a worker holds more than select's 1,024 fds.
        poller = select.poll()
        poller.register(sock, select.POLLIN)
        if not poller.poll(0):
            return False  # connected, nothing to read: the normal case
        return sock.recv(1, socket.MSG_PEEK) == b""
    except (BlockingIOError, InterruptedError):
        return False
    except OSError:
        return True  # reset, or closed under us


def stream_events(
    app: Any, office_id: int, last_id: int | None, shape: Callable[[State], State] | None = None
) -> Iterator[str]:
    """The display's stream (also the clerk's live feed); call it in the request.

    It notes the request's connection, to stop as soon as the client hangs up.
    ``shape`` cuts the first state down to one display's part (``shown_state``).
    """
    client = client_socket() if has_request_context() else None
    return _stream(app, office_id, last_id, client, shape)


def _stream(
    app: Any,
    office_id: int,
    last_id: int | None,
    client: socket.socket | None,
    shape: Callable[[State], State] | None = None,
) -> Iterator[str]:
    """The events, from the office's feed in this process (``queueing.feed``).

    No session or transaction is held between reads: a stream lasts hours, and on
    SQLite an open transaction would hold the write lock for all that time.
    """
    broker = app.extensions["queue_broker"]
    feed = feed_for(app, office_id)
    yield "retry: 2000\n\n"
    first = feed.state(broker.latest(office_id))
    if first is None:  # the office was removed: nothing left to show
        return
    newest, state = first
    if last_id is None or last_id > newest:
        # An id from the future (a restored database, another installation) would
        # silence the display until the log caught up with it.
        last_id = newest
    # A first event at once: proxies flush, and the screen is right before anything happens.
    # The page treats events after last_event_id as new: on a reconnect, the calls it
    # missed are replayed after the state and announced, not just listed.
    # Its id lets the browser's own reconnect resume after this snapshot.
    if shape is not None:
        state = shape(state)
    yield sse(state | {"last_event_id": last_id}, "state", newest)
    quiet_since = time.monotonic()
    while True:
        announced = broker.latest(office_id)  # before the read: see Broker.wait
        sent = feed.after(last_id, announced, POLL_SECONDS)
        for event in sent:
            yield event.text
            last_id = event.id
        if sent:
            quiet_since = time.monotonic()
            continue
        broker.wait(office_id, max(last_id, announced), POLL_SECONDS)
        if client_gone(client):
            return
        if time.monotonic() - quiet_since >= HEARTBEAT_SECONDS:
            # A named event, not a comment: the page's watchdog sees it and knows the
            # stream is alive (a silent, stale display is the classic failure).
            yield sse({}, "ping")
            quiet_since = time.monotonic()


def last_event_id() -> int | None:
    """The id a reconnecting display had; anything but a plain number is ignored."""
    raw = (request.headers.get("Last-Event-ID") or request.args.get("last_event_id") or "").strip()
    # ASCII digits only ("²".isdigit() is true), and no more than a bigint holds.
    if raw.isascii() and raw.isdigit() and len(raw) <= 18:
        return int(raw)
    return None


@bp.get("/")
@device_required(DeviceKind.DISPLAY)
def page() -> str:
    office = g.device.office
    shown = shown_by(db.session(), g.device)
    # The screen and its announcements speak the office's language, whatever the
    # language of the browser the display happens to run in.
    with force_locale(office.language):
        announce = _("Ticket %(ticket)s, %(counter)s", ticket="{ticket}", counter="{counter}")
        return render_template(
            "queueing/display.html", office=office, announce=announce, shown=shown.as_data()
        )


def event_stream(office_id: int, shape: Callable[[State], State] | None = None) -> Response:
    """The SSE response for an office's floor events, for displays and clerks alike."""
    db.session.remove()  # nothing of the request's session outlives the first byte
    response = Response(
        stream_events(
            current_app._get_current_object(),  # type: ignore[attr-defined]
            office_id,
            last_event_id(),
            shape,
        ),
        mimetype="text/event-stream",
    )
    response.headers["Cache-Control"] = "no-cache"
    response.headers["X-Accel-Buffering"] = "no"  # nginx would otherwise buffer the stream
    return response


@bp.get("/stream")
@device_required(DeviceKind.DISPLAY)
def stream() -> Response:
    return event_stream(g.device.office_id, display_shape(shown_by(db.session(), g.device)))


@bp.get("/state.json")
@device_required(DeviceKind.DISPLAY)
def state() -> Response:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    office_id = g.device.office_id
    shape = display_shape(shown_by(db.session(), g.device))
    db.session.remove()  # the feed reads with its own session, shared by the screens
    first = feed_for(app, office_id).state(app.extensions["queue_broker"].latest(office_id))
    if first is None:
        abort(404)
    newest, body = first
    response = jsonify(shape(body) | {"last_event_id": newest})
    response.headers["Cache-Control"] = "no-store"
    return response
