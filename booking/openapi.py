"""The OpenAPI document of /api/v1, served at /api/v1/openapi.json.

A plain dict built by small helpers. ``tests/test_openapi.py`` checks it against the
routes and validates real responses against it, so keep the two in step.
"""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

Schema = dict[str, Any]

# Every stable ``error`` code the API answers with, and what it means.
ERRORS = {
    "invalid_json": "The body is not a JSON object.",
    "unknown_field": "The body has a field this API does not know; `field` names it.",
    "invalid_type": "A field has the wrong JSON type; `field` names it.",
    "missing_field": "office, service or start is missing, empty or null; `field` names it.",
    "invalid_start": "start is not an ISO 8601 time with a zone offset.",
    "invalid_parameter": "A query parameter is missing or not valid (a date not like "
    "2026-12-31, an unknown grain, a number of days out of range); `field` names it.",
    "invalid_range": "The last day is before the first, the range is too long, or the dates are "
    "out of range.",
    "unknown_office": "No office has this slug.",
    "unknown_service": "The office has no service with this key (for a report: none of the "
    "report's offices has).",
    "unknown_booking": "No booking matches this code and token (one answer for either wrong).",
    "invalid_fields": "Contact details are not valid; `fields` has the messages per field.",
    "not_bookable": "The service is not bookable online, or start is not one of its free "
    "times (off the grid, outside opening hours, too soon or too far ahead).",
    "slot_taken": "Every counter is taken at start; `alternatives` are the nearest free starts.",
    "too_many_bookings": "This e-mail or phone has the most upcoming bookings allowed here.",
    "not_active": "The booking is cancelled or has already begun.",
    "too_large": "The body is larger than 128 KiB.",
    "rate_limited": "Too many requests; try again after Retry-After seconds.",
    "invalid_mode": "mode is neither in_person nor phone.",
    "answers_missing": "A visit in person on a day of the office's sanitary regime needs "
    "`declaration`, a true or false answer to every question; `questions` lists their keys.",
    "not_admitted": "An answer in `declaration` refuses admission: nothing is booked (only that "
    "outcome is kept, briefly). `remote` says how to handle the matter without coming in; a "
    "phone consultation (mode phone) at the same time is possible.",
    "phone_needed": "A phone consultation needs a phone number.",
    # [confirm]
    "email_needed": "The office confirms bookings by e-mail: an e-mail address is needed.",
    "unauthorized": "No staff token in `Authorization: Bearer`, or one that is unknown or "
    "revoked, or whose owner's account is disabled.",
    "forbidden": "The token's owner may not read this: a clerk, or a manager asking for an "
    "office they do not run (or running none).",
    "unknown_report": "There is no report of this name.",
    # [altcha] the bot challenge, asked by some offices (see GET /challenge)
    "challenge_required": "The office asks for a solved challenge: `altcha` is missing.",
    "challenge_invalid": "`altcha` is not a solution of a challenge this server signed.",
    "challenge_expired": "The challenge in `altcha` has expired: get and solve a new one.",
    "challenge_used": "This solution has already booked once: get and solve a new challenge.",
}
# [altcha] How a client solves the bot challenge, for the Challenge schema.
CHALLENGE_ERRORS = [
    "challenge_required",
    "challenge_invalid",
    "challenge_expired",
    "challenge_used",
]
CHALLENGE_HOW = (
    "A proof of work (ALTCHA) that some offices ask before a booking. Find the whole number "
    "n from 0 to `maxnumber` for which the SHA-256 of `salt` followed by n in decimal digits "
    "(as UTF-8), in lowercase hex, equals `challenge`. Then send, as `altcha` of POST "
    '/bookings, the base64 of the JSON object {"algorithm", "challenge", "number": n, '
    '"salt", "signature"} with the other values as received. A solution books once and '
    "expires with the challenge (the `expires` in the salt, in Unix seconds)."
)
# The fields that come with some codes besides ``error`` and ``message``.
FIELD = ["unknown_field", "invalid_type", "missing_field", "invalid_start", "invalid_parameter"]
EXTRA = dict.fromkeys(FIELD, "field") | {
    "invalid_fields": "fields",
    "slot_taken": "alternatives",
    "answers_missing": "questions",
    "not_admitted": "remote",
}
TIMESTAMP = {
    "type": "string",
    "format": "date-time",
    "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$",
    "description": "An instant in UTC, e.g. 2026-12-02T07:30:00Z.",
}
LANGUAGES = ["pl", "cs", "en", "uk"]
WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
CLOCK = {"type": "string", "pattern": r"^(?:[01]\d|2[0-4]):[0-5]\d$"}
# The reports' vocabulary (``reports.scope.Grain``, ``reports.table.Kind``): written out, as
# booking does not import reports; tests/test_reports_api.py checks the two agree.
GRAINS = ["day", "week", "month"]
KINDS = ["int", "share", "minutes", "number", "text", "date", "hour", "weekday"]
STAFF_TOKEN = "staffToken"


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def array(items: Schema, **extra: Any) -> Schema:
    return {"type": "array", "items": items, **extra}


def string(description: str = "", **extra: Any) -> Schema:
    return {"type": "string", **({"description": description} if description else {}), **extra}


def nullable(schema: Schema) -> Schema:
    enum = {"enum": [*schema["enum"], None]} if "enum" in schema else {}
    return {**schema, "type": [schema["type"], "null"], **enum}


def obj(
    *groups: Mapping[str, Schema], required: list[str] | None = None, **properties: Schema
) -> Schema:
    """A closed object of the ``groups``' and the named properties; every property is
    required unless ``required`` is given."""
    properties = {name: schema for group in groups for name, schema in group.items()} | properties
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties) if required is None else required,
        "additionalProperties": False,
    }


def json_response(description: str, schema: Schema) -> Schema:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def error_response(status: int, codes: list[str]) -> Schema:
    """The error body with ``error`` one of ``codes``, and the fields each code brings."""
    schema: Schema = {**ref("Error"), "properties": {"error": {"enum": codes}}}
    rules = [
        {"if": {"properties": {"error": {"const": c}}}, "then": {"required": [EXTRA[c]]}}
        for c in codes
        if c in EXTRA
    ]
    if rules:
        schema["allOf"] = rules
    details = " ".join(f"`{c}`: {ERRORS[c]}" for c in codes)
    response = json_response(f"{HTTPStatus(status).phrase}. {details}", schema)
    if status == 429:
        response["headers"] = {"Retry-After": {"schema": {"type": "integer"}}}
    if status == 401:
        response["headers"] = {"WWW-Authenticate": {"schema": {"type": "string"}}}
    return response


def param(name: str, where: str, description: str, required: bool = True, **schema: Any) -> Schema:
    return {
        "name": name,
        "in": where,
        "required": required,
        "description": description,
        "schema": {"type": "string", **schema},
    }


def operation(
    summary: str,
    ok: tuple[int, Schema],
    errors: dict[int, list[str]] | None = None,
    parameters: tuple[Schema, ...] = (),
    body: Schema | None = None,
    security: str | None = None,
) -> Schema:
    status, schema = ok
    responses = {str(status): json_response(HTTPStatus(status).phrase, schema)}
    for code, names in {**(errors or {}), 429: ["rate_limited"]}.items():
        responses[str(code)] = error_response(code, names)
    responses["default"] = json_response("Any other error, such as 405 or 500.", ref("Error"))
    common = [{"$ref": "#/components/parameters/lang"}, {"$ref": "#/components/parameters/al"}]
    op: Schema = {"summary": summary, "parameters": [*parameters, *common]}
    if security is not None:
        op["security"] = [{security: []}]
    if body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    return {**op, "responses": responses}


def schemas() -> dict[str, Schema]:
    office = {
        "slug": string("Stable identifier used in paths."),
        "name": string(),
        "address": string(),
        "timezone": string("IANA time zone of the office, e.g. Europe/Warsaw."),
        "country": string("ISO 3166 country code.", pattern="^[A-Z]{2}$"),
        "language": string("The office's own language.", enum=LANGUAGES),
        "phone": nullable(string()),
        "email": nullable(string()),
    }
    booking = {
        "code": string("Code to read out and to look the booking up by.", pattern="^[0-9A-Z]{8}$"),
        "status": string(
            "pending: held until the resident confirms it by the link e-mailed to them "
            "(offices that confirm bookings by e-mail), released if not by confirm_by.",
            # [confirm] pending and released
            enum=["booked", "cancelled", "refused", "no_show", "pending", "released"],
        ),
        "office": string("Office slug."),
        "service": string("Service key."),
        "counter": string("The counter (service point) of the visit."),
        "starts_at": TIMESTAMP,
        "ends_at": TIMESTAMP,
        "mode": string("A visit in person, or a phone consultation.", enum=["in_person", "phone"]),
        "documents": array(string(), description="What to bring, in the request language."),
    }
    # [confirm] only while pending: the booking is released unless confirmed by then
    confirm_by = {
        **TIMESTAMP,
        "description": "Only while pending: confirm by the e-mailed link before this instant.",
    }
    minutes = {"type": "integer", "minimum": 1}
    wall = {
        "opens": {**CLOCK, "description": "Local wall time, e.g. 08:00."},
        "closes": {**CLOCK, "description": "Local wall time; 24:00 is midnight at the end."},
    }
    interval = obj(
        wall,
        opens_at={**TIMESTAMP, "description": "The opening instant, UTC."},
        closes_at={**TIMESTAMP, "description": "The closing instant, UTC."},
    )
    return {
        "Office": obj(office),
        "Service": obj(
            key=string("Stable identifier used in paths."),
            name=string("In the request language."),
            description=string("In the request language; may be empty."),
            duration_minutes=minutes,
            documents=array(string(), description="What to bring, in the request language."),
            bookable_online={"type": "boolean"},
            next_free_start={
                **nullable(TIMESTAMP),
                "description": "The earliest start free now anywhere in the booking window "
                "(the availability's first; the day the office page shows); null if none.",
            },
        ),
        "OfficeDetail": obj(
            office,
            services=array(ref("Service")),
            admission={"oneOf": [ref("Admission"), {"type": "null"}]},
        ),
        "Admission": obj(
            {
                "from": nullable(string("First day of the sanitary regime.", format="date")),
                "to": nullable(string("Last day of the sanitary regime.", format="date")),
            },
            questions=array(
                obj(
                    key=string("Key in a booking's `declaration`."),
                    text=string("In the request language."),
                    refuse_on=string("The answer that refuses admission.", enum=["yes", "no"]),
                )
            ),
            notices=array(string(), description="Rules for visitors, in the request language."),
        ),
        "RemoteChannels": obj(
            department=nullable(
                obj(
                    name=string(),
                    email=nullable(string()),
                    phones=array(obj(number=string("E.164."), topic=nullable(string()))),
                )
            ),
            phone=nullable(string()),
            email=nullable(string()),
            drop_box=nullable(string()),
            postal_address=string(),
        ),
        "OpeningHours": obj(
            office=string(),
            timezone=string("IANA time zone of the wall times."),
            week=array(
                obj(
                    weekday=string(enum=WEEKDAYS),
                    hours=array(obj(wall), description="The usual week's intervals, in order."),
                ),
                minItems=7,
                maxItems=7,
                description="The usual week, Monday first; dated hours (summer hours) show "
                "only in `days`.",
            ),
            days=array(
                obj(
                    date=string("A local day.", format="date"),
                    weekday=string(enum=WEEKDAYS),
                    open={"type": "boolean", "description": "Any opening hours that day."},
                    hours=array(
                        interval,
                        description="The actual opening hours, after public holidays and closures.",
                    ),
                    holiday=nullable(
                        string("The public holiday's name, in the request language if known.")
                    ),
                    closures=array(
                        obj(
                            {
                                "from": nullable({**CLOCK, "description": "null: closed all day."}),
                                "to": nullable(CLOCK),
                            },
                            note=string("The office's note to residents; may be empty."),
                        )
                    ),
                ),
                description="Today and the days after it.",
            ),
        ),
        "QueueState": obj(
            office=string(),
            timezone=string(),
            at=TIMESTAMP,
            open_now={"type": "boolean"},
            hours_today=array(interval),
            counters_open={"type": "integer", "minimum": 0},
            counters={"type": "integer", "minimum": 0},
            services=array(
                obj(
                    key=string(),
                    name=string("In the request language."),
                    waiting={"type": "integer", "minimum": 0},
                    wait_minutes={
                        "type": ["integer", "null"],
                        "minimum": 0,
                        "description": "A newcomer's estimated wait; null if no counter "
                        "serving the service is open.",
                    },
                    wait_range={
                        "type": ["array", "null"],
                        "items": {"type": "integer", "minimum": 0},
                        "minItems": 2,
                        "maxItems": 2,
                        "description": "The estimate as the range of minutes residents are "
                        "shown, [low, high].",
                    },
                    wait_text=string("The estimate as the public queue page words it."),
                    walk_ins={
                        "type": "boolean",
                        "description": "Walk-in tickets are still issued today: the service "
                        "takes walk-ins, the office is or will be open today, and the wait "
                        "would not run past closing (or a clerk keeps issuing).",
                    },
                )
            ),
        ),
        "Availability": obj(
            office=string(),
            service=string(),
            timezone=string(),
            duration_minutes=minutes,
            days=array(obj(date=string("A local day.", format="date"), starts=array(TIMESTAMP))),
        ),
        # [altcha]
        "Challenge": {
            **obj(
                algorithm=string("Always SHA-256.", enum=["SHA-256"]),
                challenge=string("The SHA-256, in lowercase hex, to find."),
                maxnumber={"type": "integer", "description": "The number is at most this."},
                salt=string("Hash it, then the number in decimal digits; it signs the expiry."),
                signature=string("The server's HMAC of the challenge: send it back unchanged."),
            ),
            "description": CHALLENGE_HOW,
        },
        "BookingRequest": {
            **obj(
                required=["office", "service", "start", "name"],
                office=string("Office slug.", minLength=1),
                service=string("Service key at that office.", minLength=1),
                start=string("A free start, with an offset.", format="date-time", maxLength=40),
                name=string("Full name.", minLength=2, maxLength=120),
                email=nullable(string(format="email", maxLength=254)),
                phone=nullable(string("National numbers: the office's country.", maxLength=30)),
                language=nullable(string("For mails; default the office's.", enum=LANGUAGES)),
                consent={
                    "type": "boolean",
                    "deprecated": True,
                    "description": "Ignored. Booking is the office's public task (Art. 6(1)(e) "
                    "GDPR), not based on consent; the office's privacy notice is at "
                    "/privacy/{slug}.",
                },
                mode=string(
                    "Default in_person; phone needs a phone number.", enum=["in_person", "phone"]
                ),
                # [altcha]
                altcha=string(
                    "The solved bot challenge (see GET /challenge), where the office asks for "
                    "it: without it such an office answers 422 challenge_required. Sending it "
                    "to any office is harmless.",
                    maxLength=2000,
                ),
                declaration={
                    "type": "object",
                    "description": "Answers to the office's admission questions (GET "
                    "/offices/{slug}), true for yes: required for a visit in person on a day "
                    "of the sanitary regime. Only the outcome is stored.",
                    "additionalProperties": {"type": "boolean"},
                },
            ),
            "description": "Email or phone, at least one (null or empty counts as absent).",
            "anyOf": [
                {"required": [name], "properties": {name: {"type": "string", "minLength": 1}}}
                for name in ("email", "phone")
            ],
        },
        "Booking": obj(booking, confirm_by=confirm_by, required=list(booking)),
        "NewBooking": obj(
            booking,
            token=string("Secret for X-Booking-Token; given only once.", minLength=16),
            manage_url=string("The resident's own page for the booking.", format="uri"),
            confirm_by=confirm_by,
            required=[*booking, "token", "manage_url"],
        ),
        "ReportEntry": obj(
            name=string("The report's name in paths."), title=string("In the request language.")
        ),
        "Report": obj(
            report=string("The report's name."),
            title=string("In the request language."),
            offices=array(string("Office slug."), description="The offices counted."),
            first=string("First local day.", format="date"),
            last=string("Last local day, included.", format="date"),
            grain=string("How the tables by time are bucketed.", enum=GRAINS),
            service=nullable(string("The service key counted; null for all services.")),
            tables=array(ref("Table")),
        ),
        "LiveReport": obj(
            report=string("today"),
            title=string("In the request language."),
            office=string("The office's slug."),
            at=string("The moment of the figures, UTC.", format="date-time"),
            tables=array(ref("Table")),
        ),
        "Table": obj(
            key=string("Stable within the report, e.g. by_service."),
            title=string("In the request language."),
            columns=array(ref("Column")),
            rows=array(
                {
                    "type": "object",
                    "description": "A value for each column, by the column's key.",
                    "additionalProperties": {"type": ["integer", "number", "string", "null"]},
                }
            ),
        ),
        "Column": obj(
            key=string("The key of its values in the rows; stable."),
            label=string("In the request language."),
            kind=string(
                "int: a count; share: a fraction 0..1; minutes: a duration in minutes, one "
                "decimal; number: another figure, one decimal; text: a label (a service, a "
                "counter, a clerk); date: an ISO date (a day, or the first day of a week or "
                "month); hour: 0..23, local; weekday: 0 (Monday)..6. null: no data (a median "
                "of nothing).",
                enum=KINDS,
            ),
        ),
        "Error": obj(
            required=["error", "message"],
            error=string("Stable code for programs."),
            message=string("For people, in the request language."),
            field=string("The field or parameter at fault."),
            fields={"type": "object", "additionalProperties": array(string(), minItems=1)},
            alternatives=array(TIMESTAMP, maxItems=3),
            questions=array(string(), description="The admission questions to answer."),
            remote=ref("RemoteChannels"),
        ),
    }


def spec() -> dict[str, Any]:
    from .api import HOURS_DAYS, MAX_HOURS_DAYS, MAX_RANGE_DAYS

    slug = param("slug", "path", "Office slug, from GET /offices.")
    key = param("key", "path", "Service key, from GET /offices/{slug}/services.")
    code = param("code", "path", "Booking code; case, spaces and dashes are ignored.")
    token = param("X-Booking-Token", "header", "The token given when the booking was made.")
    first = param("from", "query", "First day; default today.", required=False, format="date")
    last = param("to", "query", "Last day; default `from` + 13.", required=False, format="date")
    last["description"] += f" At most {MAX_RANGE_DAYS} days in all."
    days = param(
        "days",
        "query",
        f"How many days from today; default {HOURS_DAYS}, at most {MAX_HOURS_DAYS}.",
        required=False,
        pattern="^[0-9]+$",
    )
    no_office, no_booking = {404: ["unknown_office"]}, {404: ["unknown_booking"]}
    no_service = {404: ["unknown_office", "unknown_service"]}
    report = param("name", "path", "The report's name, from GET /reports.")
    office = param(
        "office",
        "query",
        "An office's slug, or all: every office the token's owner runs.",
        required=False,
        default="all",
    )
    day = (
        "A local day from 2000-01-01 to 2100-12-31; a report spans at most three years "
        "(`last` before the same day three years after `first`)."
    )
    report_first = param("first", "query", f"First day. {day}", format="date")
    report_last = param("last", "query", f"Last day, included. {day}", format="date")
    grain = param(
        "grain",
        "query",
        "Buckets of the tables by time.",
        required=False,
        enum=GRAINS,
        default="day",
    )
    report_service = param("service", "query", "Only this service (by key).", required=False)
    live_office = param("office", "query", "The office's slug.")
    staff = {401: ["unauthorized"], 403: ["forbidden"]}
    paths: dict[str, Schema] = {}

    def add(method: str, path: str, op_id: str, *args: Any, **kwargs: Any) -> None:
        paths.setdefault(path, {})[method] = {"operationId": op_id, **operation(*args, **kwargs)}

    # fmt: off
    add("get", "/openapi.json", "getOpenApi", "This document.", (200, {"type": "object"}))
    add("get", "/offices", "listOffices", "Offices by name.", (200, array(ref("Office"))))
    add("get", "/offices/{slug}", "getOffice", "An office and its services bookable online.",
        (200, ref("OfficeDetail")), no_office, (slug,))
    add("get", "/offices/{slug}/services", "listServices", "Services bookable online.",
        (200, array(ref("Service"))), no_office, (slug,))
    add("get", "/offices/{slug}/hours", "getOpeningHours",
        "The usual week and the actual hours of the coming days, with public holidays and "
        "closures; cached with an ETag.", (200, ref("OpeningHours")),
        {400: ["invalid_parameter"], **no_office}, (slug, days))
    # Served by the floor (queueing/api.py), as /reports by reports/api.py.
    add("get", "/offices/{slug}/queue", "getQueueState",
        "The queue now, as the office's public queue page shows it; anyone may keep it for "
        "2 seconds (Cache-Control: public, max-age=2).", (200, ref("QueueState")), no_office,
        (slug,))
    add("get", "/offices/{slug}/services/{key}/availability", "getAvailability",
        "Free start times for each local day from `from` to `to`.", (200, ref("Availability")),
        {400: ["invalid_parameter", "invalid_range"], **no_service}, (slug, key, first, last))
    add("get", "/challenge", "getChallenge",  # [altcha]
        "A fresh bot challenge for a booking (POST /bookings, field `altcha`).",
        (200, ref("Challenge")))
    add("post", "/bookings", "createBooking",
        "Book a free start; a confirmation is e-mailed. At an office that confirms bookings by "
        "e-mail the booking is `pending` until the resident opens the e-mailed link before "
        "`confirm_by`, and released after it (an e-mail address is then required).",
        (201, ref("NewBooking")),
        {400: ["invalid_json", "unknown_field", "invalid_type", "missing_field", "invalid_start",
               "invalid_mode", "answers_missing"],
         403: ["not_admitted"], **no_service, 409: ["slot_taken", "too_many_bookings"],
         413: ["too_large"], 422: ["invalid_fields", "not_bookable", "phone_needed",
                                   "email_needed",
                                   *CHALLENGE_ERRORS]},
        body=ref("BookingRequest"))
    add("get", "/bookings/{code}", "getBooking", "A booking.", (200, ref("Booking")), no_booking,
        (code, token))
    add("post", "/bookings/{code}/cancel", "cancelBooking", "Cancel; the time is free again.",
        (200, ref("Booking")), {**no_booking, 409: ["not_active"]}, (code, token))
    add("get", "/reports", "listReports", "The reports there are.",
        (200, array(ref("ReportEntry"))), staff, security=STAFF_TOKEN)
    add("get", "/reports/{name}", "getReport",
        "A report's tables for an office or all, a period and optionally a service.",
        (200, ref("Report")),
        {400: ["invalid_parameter", "invalid_range"], **staff,
         404: ["unknown_report", "unknown_office", "unknown_service"]},
        (report, office, report_first, report_last, grain, report_service), security=STAFF_TOKEN)
    add("get", "/reports/today", "getLiveReport",
        "One office's floor now: waiting per service, the longest wait, counters open, busy "
        "and idle, calls in the last hour.",
        (200, ref("LiveReport")), {400: ["invalid_parameter"], **staff, 404: ["unknown_office"]},
        (live_office,), security=STAFF_TOKEN)
    # fmt: on
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Okienko booking API",
            "version": "1",
            "description": "Offices, free times and bookings, for the city's portal and the "
            "phone voice bot; and the reports, for the offices' staff, with a staff token made "
            "in the administration (API tokens). Answers are in the language of `lang` or "
            "Accept-Language; without either, an answer about one office is in the office's "
            "own language. Public reads carry an ETag: send it in If-None-Match for a 304.",
        },
        "servers": [{"url": "/api/v1"}],
        "paths": paths,
        "components": {
            "schemas": schemas(),
            "parameters": {
                "lang": param("lang", "query", "Language.", required=False, enum=LANGUAGES),
                "al": param("Accept-Language", "header", "Used without `lang`.", required=False),
            },
            "securitySchemes": {
                STAFF_TOKEN: {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A staff token, made by an office manager or administrator "
                    "at /admin/tokens. It acts as its owner, with the owner's role and offices "
                    "at the time of each request.",
                }
            },
        },
    }
