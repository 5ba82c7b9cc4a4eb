"""The resident's phone ticket (/t/<token>): the page the ticket's QR code opens, its
status as JSON, and its own live stream of that status."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    jsonify,
    render_template,
    send_from_directory,
    url_for,
)
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeSerializer

from okienko.database import db
from okienko.extensions import limiter

from .display import client_socket
from .events import latest_id
from .models import Ticket
from .ticket_feed import StreamSlot, statuses_for, ticket_stream

status_bp = Blueprint("status", __name__)


def status_serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="okienko.ticket-status")


def status_url(ticket: Ticket) -> str:
    """The phone's status page: a signed ticket id, so numbers cannot be enumerated."""
    token = status_serializer().dumps(ticket.id)
    return current_app.config["PUBLIC_URL"].rstrip("/") + url_for("status.page", token=token)


def ticket_from_token(token: str) -> Ticket:
    try:
        ticket_id = status_serializer().loads(token)
    except BadSignature:
        abort(404)
    ticket = db.session.get(Ticket, ticket_id) if isinstance(ticket_id, int) else None
    return ticket or abort(404)


def api_rate() -> str:
    return str(current_app.config["API_RATE_LIMIT"])


def current_status(ticket: Ticket) -> dict[str, Any]:
    """The ticket's status from the office's statuses of its newest floor event, which
    every phone of the office shares (``ticket_feed.Statuses``): a request works out
    the whole line only when the floor changed since, or the figures aged."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    newest = latest_id(db.session(), ticket.office_id)
    return statuses_for(app, ticket.office_id).get(ticket.id, newest)[1]


@status_bp.get("/t/ticket-sw.js")
def worker() -> Any:
    """The ticket page's service worker (static/js/ticket-sw.js), served under /t/ so that
    its default scope covers every ticket page without a Service-Worker-Allowed header."""
    response = send_from_directory(
        current_app.static_folder or "static",
        "js/ticket-sw.js",
        mimetype="application/javascript",
        max_age=0,
    )
    response.headers["Cache-Control"] = "no-cache"  # a changed worker reaches phones at once
    return response


@status_bp.get("/t/<token>")
def page(token: str) -> Any:
    ticket = ticket_from_token(token)
    response = current_app.make_response(
        render_template(
            "queueing/status.html",
            ticket=ticket,
            office=ticket.office,
            status=current_status(ticket),
            token=token,
        )
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@status_bp.get("/t/<token>/status.json")
@limiter.limit(api_rate)
def status_json(token: str) -> Any:
    response = jsonify(current_status(ticket_from_token(token)))
    response.headers["Cache-Control"] = "no-store"
    return response


@status_bp.get("/t/<token>/stream")
@limiter.limit(api_rate)
def stream(token: str) -> Any:
    """Server-Sent Events: the ticket's status whenever the office's floor changes it."""
    ticket = ticket_from_token(token)
    office_id = ticket.office_id
    slot = StreamSlot(ticket.id)
    if not slot.held:
        message = _("This ticket's page is open in too many windows. Close some of them.")
        return Response(message, 429, mimetype="text/plain")
    db.session.remove()  # nothing of the request's session outlives the first byte
    response = Response(
        ticket_stream(
            current_app._get_current_object(),  # type: ignore[attr-defined]
            office_id,
            slot,
            client_socket(),
        ),
        mimetype="text/event-stream",
    )
    # A response closed before its stream began never runs the stream's own release.
    response.call_on_close(slot.release)
    response.headers["Cache-Control"] = "no-cache"
    response.headers["X-Accel-Buffering"] = "no"  # nginx would otherwise buffer the stream
    return response
