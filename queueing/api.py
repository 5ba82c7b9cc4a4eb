"""The queue now, for the city's portal and the voice bot: GET /api/v1/offices/<slug>/queue.

The floor's part of the booking API (``booking.api``, which does not import the floor):
the same prefix, rate limit, ETags and JSON errors, and the same figures as the public
queue page (``queueing.public``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, current_app
from flask_babel import get_locale
from sqlalchemy.orm import Session

from booking.api import ApiError, api_error, find_office, intervals_json, revalidated
from booking.availability import local_today
from booking.models import Office, Service
from booking.times import iso
from okienko.database import db, utcnow
from okienko.extensions import limiter

from .capacity import open_hours_left, walk_ins_full
from .estimate import wait_range
from .public import board, cacheable_by_anyone, current_figures

bp = Blueprint("queue_api", __name__, url_prefix="/api/v1")
limiter.limit(lambda: current_app.config["API_RATE_LIMIT"])(bp)
bp.register_error_handler(ApiError, api_error)


@bp.after_request
def _no_store(response: Response) -> Response:
    # As booking's API: an answer that says nothing of caching (an error) is not kept.
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def queue_json(session: Session, office: Office, now: datetime) -> dict[str, Any]:
    """The public queue page's figures (the same functions build /o/<slug>/queue/state.json)
    and, per service, whether walk-in tickets are still issued today."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    seen = current_figures(app, session, office, now)
    shown = board(office, seen)
    services = {s.key: s for s in office.services}
    hours_left = open_hours_left(office, now)
    zone = ZoneInfo(office.timezone)
    today = local_today(office, now)

    def walk_ins(service: Service) -> bool:
        return service.walk_in and bool(hours_left) and not walk_ins_full(session, service, now)

    return {
        "office": office.slug,
        "timezone": office.timezone,
        "at": iso(seen.at),
        "open_now": shown["open_now"],
        "hours_today": intervals_json(seen.hours, today, zone),
        "counters_open": shown["counters_open"],
        "counters": shown["counters"],
        "services": [
            {
                "key": line["service"],
                "name": line["name"],
                "waiting": line["waiting"],
                "wait_minutes": line["wait_minutes"],
                "wait_range": None
                if line["wait_minutes"] is None
                else list(wait_range(timedelta(minutes=line["wait_minutes"]), line["waiting"])),
                "wait_text": line["wait"],
                "walk_ins": walk_ins(services[line["service"]]),
            }
            for line in shown["services"]
        ],
    }


@bp.get("/offices/<slug>/queue")
def queue(slug: str) -> Response:
    """Live, so kept briefly by anyone and tagged by its content (no version covers it)."""
    office = find_office(slug)
    answer = queue_json(db.session(), office, utcnow())
    locale = str(get_locale())
    response = revalidated(
        ("queue", office.id, locale, repr(answer)), lambda: answer, by_language=True, kept=False
    )
    return cacheable_by_anyone(response)
