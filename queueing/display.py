"""The lobby display: a full-screen page fed by Server-Sent Events, with a polling fallback."""

from __future__ import annotations

import select
import socket
import ssl
import time
from collections.abc import Iterator
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

from okienko.database import db

from .access import device_required
from .feed import feed_for, sse
from .models import DeviceKind

bp = Blueprint("display", __name__, url_prefix="/display")

HEARTBEAT_SECONDS = 15.0
POLL_SECONDS = 1.0  # the longest a stream sleeps when no broker wakes it


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


def stream_events(app: Any, office_id: int, last_id: int | None) -> Iterator[str]:
    """The display's stream (also the clerk's live feed); call it in the request.

    It notes the request's connection, to stop as soon as the client hangs up.
    """
    client = client_socket() if has_request_context() else None
    return _stream(app, office_id, last_id, client)


def _stream(
    app: Any, office_id: int, last_id: int | None, client: socket.socket | None
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
    # The screen and its announcements speak the office's language, whatever the
    # language of the browser the display happens to run in.
    with force_locale(office.language):
        announce = _("Ticket %(ticket)s, %(counter)s", ticket="{ticket}", counter="{counter}")
        return render_template("queueing/display.html", office=office, announce=announce)


def event_stream(office_id: int) -> Response:
    """The SSE response for an office's floor events, for displays and clerks alike."""
    db.session.remove()  # nothing of the request's session outlives the first byte
    response = Response(
        stream_events(
            current_app._get_current_object(),  # type: ignore[attr-defined]
            office_id,
            last_event_id(),
        ),
        mimetype="text/event-stream",
    )
    response.headers["Cache-Control"] = "no-cache"
    response.headers["X-Accel-Buffering"] = "no"  # nginx would otherwise buffer the stream
    return response


@bp.get("/stream")
@device_required(DeviceKind.DISPLAY)
def stream() -> Response:
    return event_stream(g.device.office_id)


@bp.get("/state.json")
@device_required(DeviceKind.DISPLAY)
def state() -> Response:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    office_id = g.device.office_id
    db.session.remove()  # the feed reads with its own session, shared by the screens
    first = feed_for(app, office_id).state(app.extensions["queue_broker"].latest(office_id))
    if first is None:
        abort(404)
    newest, body = first
    response = jsonify(body | {"last_event_id": newest})
    response.headers["Cache-Control"] = "no-store"
    return response
