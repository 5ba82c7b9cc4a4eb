"""JSON API for the city's portal and the phone voice bot: /api/v1."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, current_app, g, jsonify, request, url_for
from flask_babel import get_locale, refresh
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from okienko.database import db, utcnow
from okienko.errorpages import json_error
from okienko.extensions import limiter
from okienko.i18n import localized
from okienko.tokens import hash_token
from okienko.transaction import unit_of_work

from . import admission, challenge, notifications
from .availability import availability, hours_rules, local_today, schedule_for
from .bookings import Contact, cancel_booking, create_booking
from .cache import app_cache, cached_first_free, etag, first_free_key, window_key
from .codes import normalize_code
from .declaration import Wanted, declare
from .forms import ContactForm
from .holidays import holiday_names
from .models import AdmissionQuestion, Booking, BookingMode, BookingStatus, Office, Service
from .offices import office_by_slug, service_by_key
from .openapi import spec
from .refusals import Refusal, SlotTaken
from .slots import clock_text, opening_intervals
from .times import iso, parse_start
from .versions import all_versions, office_at_version, service_at_version
from .views.calendar import closures_between

api = Blueprint("api", __name__, url_prefix="/api/v1")
limiter.limit(lambda: current_app.config["API_RATE_LIMIT"])(api)

MAX_RANGE_DAYS = 62
# The calendar looks a day around the range in UTC: keep clear of date.min and date.max.
FIRST_DAY, LAST_DAY = date.min + timedelta(days=2), date.max - timedelta(days=2)
HOURS_DAYS, MAX_HOURS_DAYS = 14, 60  # the office's actual hours: days ahead, default and most
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
BOOKING_FIELDS = {
    "office": str,
    "service": str,
    "start": str,
    "name": str,
    "email": str,
    "phone": str,
    "language": str,
    "consent": bool,  # accepted from older clients and ignored: booking needs no consent
    "mode": str,
    "declaration": dict,
    "altcha": str,  # [altcha] the solved bot challenge, where the office asks for it
}


class ApiError(Exception):
    def __init__(self, status: int, error: str, message: object, **extra: Any) -> None:
        super().__init__(str(message))
        self.status, self.error, self.message, self.extra = status, error, message, extra


@api.after_request
def _no_store(response: Response) -> Response:
    # Booking answers carry the manage token and a resident's booking: never cache them.
    # Only the public reads (``revalidated``) say otherwise.
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def revalidated(
    key: tuple[Any, ...],
    build: Callable[[], Any],
    *,
    by_language: bool = False,
    kept: bool = True,
) -> Response:
    """A public read that clients and proxies may keep but must check every time.

    ``key`` names the answer (an office's version, what was asked, the locale of a
    localized one): a client holding its ETag gets a 304 before anything is built;
    otherwise the JSON comes from the worker's cache (unless not ``kept``), or ``build``
    makes it. No max-age: what was free a minute ago may be taken now, and a stale time
    costs the resident a refused booking; a 304 costs a request and a small query.
    """
    tag = etag(key)
    if request.if_none_match.contains_weak(tag):
        response = Response(status=304)
    else:
        if kept:
            body = app_cache().get(("json", *key), lambda: jsonify(build()).get_data())
        else:
            body = jsonify(build()).get_data()
        response = Response(body, mimetype="application/json")
    response.set_etag(tag)
    response.headers["Cache-Control"] = "no-cache"
    if by_language:
        response.vary.add("Accept-Language")  # and Cookie, which Flask adds when read
    return response


@api.errorhandler(ApiError)
def api_error(exc: ApiError) -> tuple[Response, int]:
    """The JSON error; the floor's /api/v1 blueprint (``queueing.api``) answers with it too."""
    return json_error(exc.status, exc.error, exc.message, **exc.extra)


@api.errorhandler(Refusal)
def _booking_error(exc: Refusal) -> tuple[Response, int]:
    extra = (
        {"alternatives": [iso(s) for s in exc.alternatives]} if isinstance(exc, SlotTaken) else {}
    )
    return json_error(exc.status, exc.error, exc.message, **extra)


def office_json(office: Office) -> dict[str, Any]:
    return {
        "slug": office.slug,
        "name": office.name,
        "address": office.address,
        "timezone": office.timezone,
        "country": office.country,
        "language": office.language,
        "phone": office.phone,
        "email": office.email,
    }


def admission_json(office: Office, locale: str) -> dict[str, Any] | None:
    """The sanitary regime, so a client can ask the questions itself; None if never set up."""
    policy = office.admission
    if policy is None or not policy.enabled:
        return None
    return {
        "from": policy.first_day.isoformat() if policy.first_day else None,
        "to": policy.last_day.isoformat() if policy.last_day else None,
        "questions": [
            {"key": q.key, "text": q.text(locale), "refuse_on": "yes" if q.refuse_on else "no"}
            for q in admission.questions(office)
        ],
        "notices": localized(policy.notices, locale) or [],
    }


def remote_json(office: Office, service: Service, locale: str) -> dict[str, Any]:
    """Where to turn instead of coming in: the service's department, the office, post."""
    department = service.department
    return {
        "department": None
        if department is None
        else {
            "name": department.name(locale),
            "email": department.email,
            "phones": [
                {"number": p["number"], "topic": localized(p["topics"], locale)}
                for p in department.phones
            ],
        },
        "phone": office.phone,
        "email": office.email,
        "drop_box": office.drop_box_text(locale),
        "postal_address": office.postal_address or f"{office.name}, {office.address}",
    }


def service_json(service: Service, locale: str, version: int, now: datetime) -> dict[str, Any]:
    return {
        "key": service.key,
        "name": service.name(locale),
        "description": service.description(locale) or "",
        "duration_minutes": service.duration_minutes,
        "documents": service.documents_for(locale),
        "bookable_online": service.bookable_online,
        "next_free_start": next_free_start(service, version, now),
    }


def next_free_start(service: Service, version: int, now: datetime) -> str | None:
    """The earliest free start (``availability.first_free_start``): the day the office page
    and the calendar show first, and what the kiosk offers instead of a ticket. From the
    cache the office page fills; ``version`` must have been read before the office."""
    if not service.bookable_online:
        return None
    start = cached_first_free(db.session(), service.office, version, service, now)
    return None if start is None else iso(start)


def local_clock(instant: datetime, day: date, zone: ZoneInfo) -> str:
    """``instant`` as the wall time of ``day``: midnight after it is "24:00"."""
    local = instant.astimezone(zone)
    return "24:00" if local.date() > day else local.strftime("%H:%M")


def intervals_json(
    intervals: list[tuple[datetime, datetime]], day: date, zone: ZoneInfo
) -> list[dict[str, str]]:
    return [
        {
            "opens": local_clock(start, day, zone),
            "closes": local_clock(end, day, zone),
            "opens_at": iso(start),
            "closes_at": iso(end),
        }
        for start, end in intervals
    ]


def hours_json(office: Office, first: date, days: int, locale: str) -> dict[str, Any]:
    """The office's usual week and its actual hours, holidays and closures from ``first``
    on, as the calendar and the floor compute them (``availability.schedule_for``)."""
    last = first + timedelta(days=days - 1)
    zone = ZoneInfo(office.timezone)
    schedule = schedule_for(office, first, last)
    holidays = holiday_names(office, range(first.year, last.year + 1), locale)
    usual = sorted((r for r in hours_rules(office) if not r.dated), key=lambda r: r.opens)
    answer_days = []
    for offset in range(days):
        day = first + timedelta(days=offset)
        hours = opening_intervals(schedule, day)
        answer_days.append(
            {
                "date": day.isoformat(),
                "weekday": WEEKDAYS[day.weekday()],
                "open": bool(hours),
                "hours": intervals_json(hours, day, zone),
                "holiday": holidays.get(day),
                "closures": [
                    {
                        "from": None if c.starts is None else clock_text(c.starts),
                        "to": None if c.ends is None else clock_text(c.ends),
                        "note": c.reason,
                    }
                    for c in closures_between(office, day, day)
                ],
            }
        )
    return {
        "office": office.slug,
        "timezone": office.timezone,
        "week": [
            {
                "weekday": name,
                "hours": [
                    {"opens": clock_text(r.opens), "closes": clock_text(r.closes)}
                    for r in usual
                    if r.weekday == number
                ],
            }
            for number, name in enumerate(WEEKDAYS)
        ],
        "days": answer_days,
    }


def booking_json(booking: Booking, locale: str) -> dict[str, Any]:
    return {
        "code": booking.code,
        "status": booking.status.value,
        "office": booking.office.slug,
        "service": booking.service.key,
        "counter": booking.counter.name,
        "starts_at": iso(booking.starts_at),
        "ends_at": iso(booking.ends_at),
        "mode": booking.mode.value,
        "documents": booking.service.documents_for(locale),
        # [confirm] pending until the link in its mail is opened, by this time
        **(
            {"confirm_by": iso(booking.confirm_by)}
            if booking.status == BookingStatus.PENDING and booking.confirm_by
            else {}
        ),
    }


def speaking_for(office: Office) -> Office:
    """Answers about ``office`` are in its language unless the request asks for one
    (``okienko.i18n.select_locale``): Plzeň's voice bot asks nothing and gets Czech."""
    g.office_language = office.language
    refresh()  # the locale may have been chosen already, before the office was known
    return office


def find_office(slug: str) -> Office:
    office = office_by_slug(db.session(), slug)
    if office is None:
        raise ApiError(404, "unknown_office", _l("There is no such office."))
    return speaking_for(office)


def find_office_at_version(slug: str) -> tuple[Office, int]:
    """The office and its version, read before anything else of it (``booking.versions``)."""
    found = office_at_version(db.session(), slug)
    if found is None:
        raise ApiError(404, "unknown_office", _l("There is no such office."))
    speaking_for(found[0])
    return found


def find_service_at_version(slug: str, key: str) -> tuple[Office, Service, int]:
    """The office, its service and the office's version, read before anything else of them."""
    found = service_at_version(db.session(), slug, key)
    if found is None:
        find_service(find_office(slug), key)  # the 404 that says which of the two is unknown
        raise ApiError(404, "unknown_service", _l("This office has no such service."))
    speaking_for(found[0])
    return found


def find_service(office: Office, key: str) -> Service:
    """Any service of the office: one not bookable online is refused when booked."""
    service = service_by_key(db.session(), office, key)
    if service is None:
        raise ApiError(404, "unknown_service", _l("This office has no such service."))
    return service


def parse_day(name: str, default: date) -> date:
    text = request.args.get(name)
    if text is None:
        return default
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ApiError(
            400, "invalid_parameter", _l("Dates must look like 2026-12-31."), field=name
        ) from None


def parse_days() -> int:
    text = request.args.get("days")
    if text is None:
        return HOURS_DAYS
    if not re.fullmatch(r"[0-9]{1,3}", text) or not 1 <= int(text) <= MAX_HOURS_DAYS:
        raise ApiError(
            400,
            "invalid_parameter",
            _l("days must be a whole number from 1 to %(most)d.", most=MAX_HOURS_DAYS),
            field="days",
        )
    return int(text)


def find_booking(code: str) -> Booking:
    token = request.headers.get("X-Booking-Token", "")
    booking = db.session.scalar(select(Booking).where(Booking.code == normalize_code(code)[:16]))
    # One answer for a wrong code and a wrong token: nothing to learn by guessing.
    if booking is None or not token or booking.manage_token_hash != hash_token(token):
        raise ApiError(404, "unknown_booking", _l("No booking matches this code and token."))
    speaking_for(booking.office)
    return booking


@api.get("/openapi.json")
def openapi() -> Response:
    return jsonify(spec())


@api.get("/offices")
def offices() -> Response:
    versions = all_versions(db.session())
    return revalidated(
        ("offices", versions),
        lambda: [office_json(o) for o in db.session.scalars(select(Office).order_by(Office.name))],
    )


@api.get("/offices/<slug>")
def office(slug: str) -> Response:
    office, version = find_office_at_version(slug)
    locale, now = str(get_locale()), utcnow()
    return revalidated(
        # Bookings and cancellations raise the version; the rest of now is first_free_key.
        ("office", office.id, version, locale, *first_free_key(office, now)),
        lambda: {
            **office_json(office),
            "services": [
                service_json(s, locale, version, now) for s in office.services if s.bookable_online
            ],
            "admission": admission_json(office, locale),
        },
        by_language=True,
    )


@api.get("/offices/<slug>/services")
def services(slug: str) -> Response:
    office, version = find_office_at_version(slug)
    locale, now = str(get_locale()), utcnow()
    return revalidated(
        ("services", office.id, version, locale, *first_free_key(office, now)),
        lambda: [
            service_json(s, locale, version, now) for s in office.services if s.bookable_online
        ],
        by_language=True,
    )


@api.get("/offices/<slug>/hours")
def hours(slug: str) -> Response:
    office, version = find_office_at_version(slug)
    days = parse_days()
    locale, today = str(get_locale()), local_today(office, utcnow())
    return revalidated(
        ("hours", office.id, version, locale, today, days),
        lambda: hours_json(office, today, days, locale),
        by_language=True,
    )


@api.get("/offices/<slug>/services/<key>/availability")
def service_availability(slug: str, key: str) -> Response:
    office, service, version = find_service_at_version(slug, key)
    now = utcnow()
    first = parse_day("from", local_today(office, now))
    try:
        last = parse_day("to", first + timedelta(days=13))
    except OverflowError:
        last = date.max
    if not FIRST_DAY <= first <= last <= LAST_DAY or (last - first).days >= MAX_RANGE_DAYS:
        raise ApiError(
            400,
            "invalid_range",
            _l("The range must run forwards and span at most %(days)d days.", days=MAX_RANGE_DAYS),
        )

    def build() -> dict[str, Any]:
        free = availability(db.session(), office, service, first, last, now)
        return {
            "office": office.slug,
            "service": service.key,
            "timezone": office.timezone,
            "duration_minutes": service.duration_minutes,
            "days": [
                {"date": d.isoformat(), "starts": [iso(s) for s in starts]}
                for d, starts in free.items()
            ],
        }

    window = window_key(office, now, first, last)
    asked = ("free", office.id, version, service.id, first, last, *window)
    return revalidated(asked, build)


def booking_request() -> dict[str, Any]:
    try:
        body = request.get_json(silent=True)
    except RecursionError:  # deeply nested arrays: silent=True only covers ValueError
        body = None
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_json", _l("The request body must be a JSON object."))
    for name, value in body.items():
        expected = BOOKING_FIELDS.get(name)
        if expected is None:
            raise ApiError(
                400, "unknown_field", _l("Unknown field: %(name)s", name=name), field=name
            )
        if value is not None and not isinstance(value, expected):
            raise ApiError(
                400, "invalid_type", _l("Field %(name)s has the wrong type.", name=name), field=name
            )
    for name in ("office", "service", "start"):
        if not body.get(name):
            raise ApiError(
                400, "missing_field", _l("Field %(name)s is required.", name=name), field=name
            )
    return body


@limiter.limit(lambda: current_app.config["API_BOOKING_RATE_LIMIT"])
def booking_attempt() -> None:
    """One booking attempt through the API: what API_BOOKING_RATE_LIMIT counts.

    Called by the view, not wrapped around it, so that fields which only need correcting
    (422 invalid_fields) use up nothing. Each call is one atomic hit in the limiter's
    storage: concurrent requests cannot all pass a check before any of them is counted,
    as they could with a count deducted after the response.
    """


# [altcha] ------------------------------------------------------------- bot challenge
@api.get("/challenge")
def new_challenge() -> Response:
    """A fresh challenge for the booking widget and API clients; never cached."""
    return jsonify(challenge.new_challenge(utcnow()))


@api.post("/bookings")
def create() -> tuple[Response, int]:
    try:
        body, office, service, start, form = checked_booking()
    except ApiError as exc:
        if exc.error != "invalid_fields":
            booking_attempt()  # a malformed request counts; over the limit it gets the 429
        raise
    booking_attempt()
    contact = Contact(
        form.name.data or "",
        form.email.data or None,
        form.phone.data or None,
        form.language.data or office.language,
    )
    now = utcnow()
    mode = body.get("mode") or BookingMode.IN_PERSON.value
    if mode not in {m.value for m in BookingMode}:
        message = _l("The mode must be in_person or phone.")
        raise ApiError(400, "invalid_mode", message, field="mode")
    asked = questions_asked(office, start, BookingMode(mode), body.get("declaration"))
    with unit_of_work() as session:
        if challenge.required(office):  # [altcha] spent with the booking, or not at all
            challenge.spend(session, body.get(challenge.FIELD), now)
        declaration = None
        if asked is not None:
            declaration = declare(
                session, office, *asked, "booking", now, wanted=Wanted(service, start, contact)
            )
        if declaration is None or not declaration.refused:
            booking, token = create_booking(
                session,
                office,
                service,
                start,
                contact,
                now,
                mode=BookingMode(mode),
                outcome=declaration.outcome if declaration else None,
            )
            notifications.booking_confirmed(session, booking, token, now)
            # Read before the commit, while all of it is loaded: after it, every
            # attribute would be read again.
            answer = booking_json(booking, str(get_locale()))
    if declaration is not None and declaration.refused:  # kept, and the resident told
        raise ApiError(
            403,
            "not_admitted",
            admission.NotAdmitted.message,
            remote=remote_json(office, service, str(get_locale())),
        )
    manage = current_app.config["PUBLIC_URL"].rstrip("/") + url_for("booking.manage", token=token)
    return jsonify({**answer, "token": token, "manage_url": manage}), 201


def checked_booking() -> tuple[dict[str, Any], Office, Service, datetime, ContactForm]:
    """The booking request's fields, checked; raises the ApiError that answers a bad one."""
    body = booking_request()
    office = find_office(body["office"])
    service = find_service(office, body["service"])
    start = parse_start(body["start"])
    if start is None:
        raise ApiError(
            400,
            "invalid_start",
            _l("The start must be an ISO 8601 time with a zone."),
            field="start",
        )
    form = ContactForm(
        formdata=MultiDict(
            {
                "name": body.get("name") or "",
                "email": body.get("email") or "",
                "phone": body.get("phone") or "",
                "language": body.get("language") or office.language,
                "start": body["start"],
            }
        ),
        meta={"csrf": False},
        region=office.country,
    )
    if not form.validate():
        fields = {name: [str(e) for e in errors] for name, errors in form.errors.items()}
        raise ApiError(422, "invalid_fields", _l("Some fields are not valid."), fields=fields)
    return body, office, service, start, form


def questions_asked(
    office: Office, start: datetime, mode: BookingMode, sent: dict[str, Any] | None
) -> tuple[list[AdmissionQuestion], dict[str, bool | None]] | None:
    """For a visit in person on a day of the sanitary regime, the questions and the answers
    sent to them; raises the 400 that lists the questions if an answer is missing."""
    if mode != BookingMode.IN_PERSON or not admission.regime_active_at(office, start):
        return None
    asked = admission.questions(office)
    given = sent or {}
    values: dict[str, bool | None] = {q.key: given.get(q.key) for q in asked}
    if any(not isinstance(v, bool) for v in values.values()):
        raise ApiError(
            400,
            "answers_missing",
            admission.AnswersMissing.message,
            field="declaration",
            questions=[q.key for q in asked],
        )
    return asked, values


@api.get("/bookings/<code>")
def read(code: str) -> Response:
    return jsonify(booking_json(find_booking(code), str(get_locale())))


@api.post("/bookings/<code>/cancel")
def cancel(code: str) -> Response:
    booking = find_booking(code)
    now = utcnow()
    with unit_of_work() as session:
        cancel_booking(session, booking, now)
        notifications.booking_cancelled(session, booking, now)
    return jsonify(booking_json(booking, str(get_locale())))
