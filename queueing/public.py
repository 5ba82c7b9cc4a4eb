"""The public state of an office's counters ("Aktuální stav na přepážkách"), for residents
planning a visit: who is at which counter, how many wait for each service and about how
long, the counters open and today's hours; live, and embeddable in the office's own site.

Public, so it shows ticket labels, counter and service names and counts only: nothing of
who holds a ticket. Its stream says only that something changed, never what: the floor's
own events are for signed-in screens.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    jsonify,
    render_template,
    session,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from booking.availability import local_today, schedule_for
from booking.formatting import local_time
from booking.models import Counter, Office
from booking.offices import office_by_slug
from booking.slots import opening_intervals
from okienko.database import db, utcnow
from okienko.errorpages import json_error
from okienko.extensions import CONTENT_SECURITY_POLICY, limiter, talisman
from okienko.i18n import localized

from .display import HEARTBEAT_SECONDS, POLL_SECONDS, client_gone, client_socket
from .events import latest_id
from .feed import feed_for, sse
from .models import AT_COUNTER, Ticket, TicketKind
from .state import open_counters, waiting_counts
from .stream_slots import StreamSlots

bp = Blueprint("public_queue", __name__, url_prefix="/o/<slug>/queue")

# Every viewer refetches the figures after each floor event: they are computed once per
# event and office in a process, and reused while nothing happens for this long (the
# estimates drift with the clock, not only with events).
REUSE_FOR = timedelta(seconds=5)
# The embed goes in any site's page; everything else of the policy stays.
EMBED_POLICY = CONTENT_SECURITY_POLICY | {"frame-ancestors": "*"}
# Anyone's cache may keep state.json this long: every viewer gets the same answer.
STATE_MAX_AGE_SECONDS = 2
# A stream ends after this and the browser comes back (``retry:``): a viewer gone without
# closing the connection (behind TLS, where it cannot be seen) holds it no longer.
LIFETIME_SECONDS = 30 * 60.0
# A refused stream's browser tries again after this (EventSource gives up on a 429; the
# page's script reconnects after 30 s).
RETRY_AFTER_SECONDS = 30
TOO_MANY_STREAMS = _l(
    "Too many people are following this page right now. Please try again in a minute."
)


@dataclass(frozen=True)
class AtCounter:
    ticket: str
    counter: str
    status: str


@dataclass(frozen=True)
class Figures:
    """An office's counters now, in no language; plain values, no database rows."""

    at: datetime
    serving: list[AtCounter]
    # ``state.waiting_counts``: per service its key, names, waiting and wait_minutes.
    lines: list[dict[str, Any]]
    open_counters: list[str]
    counters: int
    hours: list[tuple[datetime, datetime]]


def figures(session: Session, office: Office, now: datetime) -> Figures:
    today = local_today(office, now)
    at_counters = session.scalars(
        select(Ticket)
        .where(
            Ticket.office_id == office.id,
            Ticket.day == today,
            Ticket.status.in_(AT_COUNTER),
            # A phone consultation is the clerk calling out: nobody to come to the counter.
            Ticket.kind != TicketKind.PHONE,
            Ticket.counter_id.is_not(None),
        )
        .options(joinedload(Ticket.counter))
        .order_by(Ticket.called_at.desc())
    ).all()
    return Figures(
        at=now,
        serving=[
            AtCounter(t.label, t.counter.name, t.status.value) for t in at_counters if t.counter
        ],
        lines=waiting_counts(session, office, now),
        open_counters=[c.name for c in sorted(open_counters(session, office), key=position)],
        counters=sum(1 for c in office.counters if c.retired_at is None),
        hours=opening_intervals(schedule_for(office, today, today), today),
    )


def position(counter: Counter) -> tuple[int, str]:
    return counter.position, counter.name


def wait_text(waiting: int, minutes: int | None) -> str:
    """The estimate as residents read it: rounded, and never "about 0 min" with people waiting."""
    if minutes is None:
        return _("no counter open")
    if minutes == 0 and waiting == 0:
        return _("no waiting")
    if minutes < 5:
        return _("under 5 min")
    if (rounded := 5 * round(minutes / 5)) < 60:
        return _("about %(minutes)d min", minutes=rounded)
    hours, rest = divmod(15 * round(minutes / 15), 60)
    if rest == 0:
        return _("about %(hours)d h", hours=hours)
    return _("about %(hours)d h %(minutes)d min", hours=hours, minutes=rest)


def board(office: Office, seen: Figures) -> dict[str, Any]:
    """The figures in the reader's language: the page and its JSON show the same texts."""
    locale = str(get_locale() or office.language)
    statuses = {"called": _("Called now"), "serving": _("Being served")}
    hours = ", ".join(
        f"{local_time(start, office)}–{local_time(end, office)}" for start, end in seen.hours
    )
    open_now = any(start <= seen.at < end for start, end in seen.hours)
    if not hours:
        hours_text = _("Closed today.")
    elif open_now:
        hours_text = _("Open today %(hours)s.", hours=hours)
    else:
        hours_text = _("Today's hours: %(hours)s (closed now).", hours=hours)
    return {
        "office": office.name_in(locale),
        "updated": local_time(seen.at, office),
        "updated_text": _("Updated at %(time)s", time=local_time(seen.at, office)),
        "hours": hours or None,
        "open_now": open_now,
        "hours_text": hours_text,
        "serving": [
            {
                "ticket": s.ticket,
                "counter": s.counter,
                "status": s.status,
                "status_text": statuses.get(s.status, ""),
            }
            for s in seen.serving
        ],
        "services": [
            {
                "service": line["service"],
                "name": localized(line["names"], locale) or line["service"],
                "prefix": line["prefix"],
                "waiting": line["waiting"],
                "wait_minutes": line["wait_minutes"],
                "wait": wait_text(line["waiting"], line["wait_minutes"]),
            }
            for line in seen.lines
        ],
        "counters_open": len(seen.open_counters),
        "counters": seen.counters,
        "open_counter_names": seen.open_counters,
        "counters_text": _(
            "Counters open: %(open)d of %(all)d",
            open=len(seen.open_counters),
            all=seen.counters,
        ),
    }


def current_figures(app: Flask, session: Session, office: Office, now: datetime) -> Figures:
    """``figures``, reused while no floor event happened and ``REUSE_FOR`` has not passed."""
    newest = latest_id(session, office.id)
    cache: dict[int, tuple[int, Figures]] = app.extensions.setdefault("public_queue", {})
    kept = cache.get(office.id)
    if kept is not None and kept[0] == newest and timedelta(0) <= now - kept[1].at < REUSE_FOR:
        return kept[1]
    fresh = figures(session, office, now)
    cache[office.id] = (newest, fresh)  # a race only computes twice
    return fresh


def the_office(slug: str) -> Office:
    return office_by_slug(db.session(), slug) or abort(404)


def rendered(slug: str, template: str) -> str:
    office = the_office(slug)
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    shown = board(office, current_figures(app, db.session(), office, utcnow()))
    locale = str(get_locale())
    return render_template(
        template,
        office=office,
        board=shown,
        state_url=url_for(".state", slug=office.slug, lang=locale),
        stream_url=url_for(".stream", slug=office.slug),
    )


@bp.get("")
def page(slug: str) -> str:
    return rendered(slug, "queueing/public_queue.html")


@bp.get("/embed")
@talisman(frame_options=None, content_security_policy=EMBED_POLICY)
def embed(slug: str) -> str:
    """The same, compact, for an iframe in the office's own site."""
    return rendered(slug, "queueing/public_queue_embed.html")


def public_rate() -> str:
    return str(current_app.config["PUBLIC_QUEUE_RATE_LIMIT"])


def cacheable_by_anyone(response: Response) -> Response:
    """Marks ``response`` the same for everyone, and keeps the reader's session cookie out
    of it: a shared cache must not hand one viewer's cookie to the next."""
    response.headers["Cache-Control"] = f"public, max-age={STATE_MAX_AGE_SECONDS}"
    response.vary.add("Accept-Language")  # the language, without ?lang=
    session.permanent = False  # in this request only: the session is not saved
    session.modified = False
    return response


@bp.get("/state.json")
@limiter.limit(public_rate)
def state(slug: str) -> Response:
    office = the_office(slug)
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    return cacheable_by_anyone(
        jsonify(board(office, current_figures(app, db.session(), office, utcnow())))
    )


def stream_slots(app: Flask) -> StreamSlots:
    slots: StreamSlots = app.extensions.setdefault("public_queue_streams", StreamSlots())
    return slots


@bp.get("/stream")
@limiter.limit(public_rate)
def stream(slug: str) -> Response:
    """Server-Sent Events that say only "changed": the page then refetches ``state``."""
    office = the_office(slug)
    office_id, newest = office.id, latest_id(db.session(), office.id)
    db.session.remove()  # nothing of the request's session outlives the first byte
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    slots = stream_slots(app)
    config = app.config
    if not slots.take(
        office_id, config["PUBLIC_QUEUE_STREAMS_PER_OFFICE"], config["PUBLIC_QUEUE_STREAMS"]
    ):
        refused, status = json_error(429, "too_many_streams", TOO_MANY_STREAMS)
        refused.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        refused.status_code = status
        return refused
    response = slots.held_by(
        Response(changes(app, office_id, newest, client_socket()), mimetype="text/event-stream"),
        office_id,
    )
    response.headers["Cache-Control"] = "no-cache"
    response.headers["X-Accel-Buffering"] = "no"  # nginx would otherwise buffer the stream
    return response


def changes(
    app: Flask, office_id: int, last_id: int, client: socket.socket | None
) -> Iterator[str]:
    """A "changed" after each batch of the office's floor events, read from the feed that
    the lobby displays share (``queueing.feed``); a "ping" on a quiet floor.

    The first "changed" goes at once: proxies flush, and a page back after a dropped
    connection refetches what it missed. Ends after ``LIFETIME_SECONDS``.
    """
    broker = app.extensions["queue_broker"]
    feed = feed_for(app, office_id)
    yield "retry: 2000\n\n"
    yield sse({}, "changed")
    started = quiet_since = time.monotonic()
    while time.monotonic() - started < LIFETIME_SECONDS:
        announced = broker.latest(office_id)  # before the read: see Broker.wait
        sent = feed.after(last_id, announced, POLL_SECONDS)
        if sent:
            last_id = sent[-1].id
            yield sse({}, "changed")
            quiet_since = time.monotonic()
            continue
        broker.wait(office_id, max(last_id, announced), POLL_SECONDS)
        if client_gone(client):
            return
        if time.monotonic() - quiet_since >= HEARTBEAT_SECONDS:
            yield sse({}, "ping")
            quiet_since = time.monotonic()
