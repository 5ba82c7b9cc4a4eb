"""A year of ten offices' history for ``bench/report_speed.py``: made up, checked, bulk-loaded.

Not a benchmark itself. The offices are imported as an office file is; the rest is
generated with a seeded random generator: bookings on each office's slot grid with
their fates (the ledger's events), the day's visitors, and a queue simulation per
office and day whose calls, recalls, parks, transfers, no-shows, refusals and the
day's close are the audit entries. Each ticket's columns are then replayed from its
audit entries as ``queueing/calling.py`` writes them, the summaries ``counter_hour``
and ``counter_service_hour`` as ``queueing/tally.py`` keeps them. Everything after ``NOW`` is cut.
"""

from __future__ import annotations

import heapq
import json
import math
import random
import sqlite3
import statistics
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import psycopg
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import create_engine, select, text

from booking.admission import COUNTER_REASONS, regime_active
from booking.availability import schedule_for
from booking.importer import import_offices
from booking.models import AdmissionQuestion
from booking.slots import date_range, opening_intervals
from okienko.database import db
from queueing.models import Device, DeviceKind, Role, StaffUser, staff_offices

NOW = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)  # a Monday, 11:00 in Warsaw and Prague
LAST = date(2026, 11, 30)
RETENTION = 90 * 86400  # RETENTION_DAYS' default, in seconds
HORIZON = 60  # days ahead bookings are made (the offices' max_days_ahead)

# ---------------------------------------------------------------------------
# The offices


class Kind(NamedTuple):
    prefix: str
    booked: int  # minutes (at least the office's slot)
    handling: float  # median minutes at the counter
    names: dict[str, str]


SERVICES = {
    "najem": Kind(
        "N",
        15,
        9,
        {"pl": "Najem lokali", "cs": "Nájem bytů", "en": "Tenancy", "uk": "Оренда житла"},
    ),
    "raty": Kind(
        "R", 30, 14, {"pl": "Raty", "cs": "Splátky", "en": "Instalments", "uk": "Розстрочка"}
    ),
    "zaswiadczenie": Kind(
        "C",
        15,
        4.5,
        {"pl": "Zaświadczenia", "cs": "Potvrzení", "en": "Certificates", "uk": "Довідки"},
    ),
    "media": Kind(
        "M",
        15,
        7,
        {"pl": "Media", "cs": "Energie", "en": "Utility bills", "uk": "Комунальні послуги"},
    ),
    "zamiana": Kind(
        "Z",
        30,
        16,
        {"pl": "Zamiana", "cs": "Výměna bytu", "en": "Flat exchange", "uk": "Обмін квартири"},
    ),
    "lokale": Kind(
        "L",
        15,
        10,
        {"pl": "Lokale", "cs": "Byty", "en": "Flats to move into", "uk": "Квартири для заселення"},
    ),
    "volne-byty": Kind(
        "A",
        15,
        12,
        {"pl": "Wolne", "cs": "Volné byty", "en": "Vacant flats", "uk": "Вільні квартири"},
    ),
    "jak-ziskat-byt": Kind(
        "B", 30, 15, {"pl": "Jak", "cs": "Jak získat byt", "en": "Getting", "uk": "Як отримати"}
    ),
    "zmena-registrace": Kind(
        "D", 15, 8, {"pl": "Zmiana", "cs": "Změna", "en": "Changes", "uk": "Зміни"}
    ),
}
POLISH = (("raty", 3), ("najem", 3), ("media", 3), ("zaswiadczenie", 2), ("lokale", 2))
CZECH = (("volne-byty", 5), ("jak-ziskat-byt", 3), ("zmena-registrace", 2))
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")


@dataclass(frozen=True)
class Spec:
    slug: str
    zone: str
    hours: tuple[tuple[tuple[str, ...], str, str], ...]  # days, opens, closes
    counters: int
    services: tuple[tuple[str, int], ...]  # key, popularity
    booked: float  # share of the office's tickets that come from bookings
    slot: int = 15
    dedicated: tuple[str, ...] = ()  # the last counter serves only these
    regime: tuple[date, date] | None = None  # the sanitary regime's first and last day
    closed: tuple[date, date] | None = None

    @property
    def country(self) -> str:
        return "CZ" if self.zone == "Europe/Prague" else "PL"


# Two Plzeň-like contact points open Monday and Wednesday; the others every weekday, one
# with a lunch break, one on Saturdays too, one closed a week in August.
OFFICES = (
    Spec(
        "bytom-zielna",
        "Europe/Warsaw",
        ((("mon", "tue", "wed", "fri"), "07:30", "15:00"), (("thu",), "07:30", "17:00")),
        8,
        (("zamiana", 2), ("lokale", 2), ("raty", 3), ("zaswiadczenie", 3), ("media", 3)),
        0.55,
        regime=(date(2025, 11, 1), date(2026, 3, 31)),
    ),
    Spec(
        "plzen-jagellonska",
        "Europe/Prague",
        ((("mon", "wed"), "08:00", "17:00"),),
        4,
        CZECH,
        0.6,
        slot=30,
    ),
    Spec(
        "katowice-kzgm",
        "Europe/Warsaw",
        ((("mon",), "08:00", "18:00"), (("tue", "wed", "thu", "fri"), "08:00", "15:00")),
        11,
        (*POLISH, ("zamiana", 1)),
        0.5,
        dedicated=("zamiana", "lokale"),
        closed=(date(2026, 8, 10), date(2026, 8, 14)),
    ),
    Spec(
        "ostrava-bydleni",
        "Europe/Prague",
        (
            (("mon", "wed"), "08:00", "17:00"),
            (("tue", "thu"), "08:00", "14:00"),
            (("fri",), "08:00", "12:00"),
        ),
        8,
        (*CZECH, ("media", 2)),
        0.6,
    ),
    Spec(
        "koszalin-zbm",
        "Europe/Warsaw",
        ((("mon", "tue", "wed", "fri"), "07:15", "15:15"), (("thu",), "07:15", "16:00")),
        8,
        (("raty", 3), ("zamiana", 1), ("najem", 2), ("zaswiadczenie", 2)),
        0.55,
        dedicated=("zamiana",),
    ),
    Spec(
        "krakow-zbk",
        "Europe/Warsaw",
        ((WEEKDAYS, "08:00", "16:00"), (("sat",), "09:00", "13:00")),
        11,
        (*POLISH, ("zamiana", 1)),
        0.5,
        dedicated=("zaswiadczenie",),
    ),
    Spec(
        "plzen-slovany",
        "Europe/Prague",
        ((("mon", "wed"), "08:00", "17:00"),),
        5,
        (*CZECH, ("media", 1)),
        0.6,
    ),
    Spec("gliwice-zgm", "Europe/Warsaw", ((WEEKDAYS, "07:30", "15:30"),), 10, POLISH, 0.5),
    Spec(
        "brno-bydleni",
        "Europe/Prague",
        ((WEEKDAYS, "08:00", "12:00"), (WEEKDAYS, "12:30", "16:00")),
        9,
        (*CZECH, ("media", 2)),
        0.6,
    ),
    Spec(
        "bytom-armii-krajowej",
        "Europe/Warsaw",
        ((WEEKDAYS, "07:30", "15:00"),),
        6,
        (("najem", 3), ("raty", 2)),
        0.55,
        regime=(date(2025, 1, 1), date(2027, 12, 31)),
    ),
)


def office_file(specs: Iterable[Spec]) -> dict[str, Any]:
    """The specs as the importer's parsed TOML."""
    offices = []
    for s in specs:
        counters: list[dict[str, Any]] = [
            {"name": f"Okienko {i + 1}", "services": "*"} for i in range(s.counters)
        ]
        if s.dedicated:
            counters[-1]["services"] = list(s.dedicated)
        entry: dict[str, Any] = {
            "slug": s.slug,
            "name": s.slug.replace("-", " ").title(),
            "address": f"{s.slug} (bench)",
            "timezone": s.zone,
            "country": s.country,
            "language": "cs" if s.country == "CZ" else "pl",
            "slot_minutes": s.slot,
            "max_days_ahead": HORIZON,
            "hours": [{"days": list(d), "open": a, "close": b} for d, a, b in s.hours],
            "services": [
                {
                    "key": key,
                    "prefix": SERVICES[key].prefix,
                    "duration": max(SERVICES[key].booked, s.slot),
                    "name": SERVICES[key].names,
                }
                for key, _ in s.services
            ],
            "counters": counters,
        }
        if s.regime:
            entry["admission"] = {"enabled": True, "from": s.regime[0], "to": s.regime[1]}
        if s.closed:
            entry["closures"] = [{"from": s.closed[0], "to": s.closed[1], "reason": "Remont"}]
        offices.append(entry)
    return {"office": offices}


@dataclass
class Place:
    """One office as the generator sees it: ids from the database, times in epoch seconds."""

    spec: Spec
    id: int
    zone: ZoneInfo
    slot: int  # seconds
    checkin_after: int  # seconds
    services: dict[str, int]  # key -> id
    durations: dict[int, int]  # service id -> booked seconds
    counters: list[tuple[int, frozenset[int]]]  # counter id, the service ids it serves
    clerks: list[int]  # the staff id seated at each counter
    substitute: int
    kiosk: int
    questions: list[str]
    days: dict[date, list[tuple[int, int]]] = field(default_factory=dict)  # opening hours
    regime: set[date] = field(default_factory=set)

    def local(self, moment: int) -> datetime:
        return datetime.fromtimestamp(moment, self.zone)


def set_up(app: Flask, specs: Iterable[Spec], first: date) -> list[Place]:
    """Migrate (``flask db upgrade``), import the offices, seat a clerk at each counter, add
    a substitute, a manager and a kiosk; the offices as the generator sees them."""
    places = []
    with app.app_context():
        upgrade()
        session = db.session
        specs = list(specs)
        for office, spec in zip(import_offices(session, office_file(specs)), specs, strict=True):
            clerks = [
                StaffUser(
                    username=f"{office.slug}-{i + 1}",
                    name=f"Urzędnik {i + 1} ({office.slug})",
                    password_hash="x",
                    office_id=office.id,
                    counter_id=counter.id,
                )
                for i, counter in enumerate(office.counters)
            ]
            substitute, manager = (
                StaffUser(
                    username=f"{office.slug}-{who}",
                    name=who,
                    password_hash="x",
                    office_id=office.id,
                    role=role,
                )
                for who, role in (("zastepstwo", Role.CLERK), ("kierownik", Role.MANAGER))
            )
            kiosk = Device(
                office_id=office.id,
                kind=DeviceKind.KIOSK,
                name="Kiosk",
                token_hash=uuid.uuid4().hex * 2,
            )
            session.add_all([*clerks, substitute, manager, kiosk])
            session.flush()
            session.execute(staff_offices.insert().values(staff_id=manager.id, office_id=office.id))
            questions = session.scalars(
                select(AdmissionQuestion.key).where(AdmissionQuestion.office_id == office.id)
            ).all()
            place = Place(
                spec=spec,
                id=office.id,
                zone=ZoneInfo(office.timezone),
                slot=office.slot_minutes * 60,
                checkin_after=office.checkin_after_minutes * 60,
                services={s.key: s.id for s in office.services},
                durations={s.id: s.duration_minutes * 60 for s in office.services},
                counters=[(c.id, frozenset(s.id for s in c.services)) for c in office.counters],
                clerks=[c.id for c in clerks],
                substitute=substitute.id,
                kiosk=kiosk.id,
                questions=list(questions) or ["symptoms"],
            )
            last = LAST + timedelta(days=HORIZON)
            schedule = schedule_for(office, first, last)
            for day in date_range(first, last):
                if hours := opening_intervals(schedule, day):
                    place.days[day] = [(int(a.timestamp()), int(b.timestamp())) for a, b in hours]
                    if regime_active(office, day):
                        place.regime.add(day)
            places.append(place)
        session.commit()
        db.engine.dispose()
    return places


# ---------------------------------------------------------------------------
# Bookings and visits

# (action, at, staff id, counter id, detail, device id): an audit entry to be
Action = tuple[str, int, int | None, int | None, dict[str, Any] | None, int | None]


@dataclass(slots=True)
class Booking:
    place: Place
    service: int
    counter: int
    start: int
    end: int
    id: int = 0
    phone: bool = False
    made: int = 0
    first_start: int = 0  # before it was moved
    moved: int | None = None
    cancelled: int | None = None
    cancelled_by: str | None = None
    refused: int | None = None
    no_show: int | None = None


@dataclass(slots=True)
class Visit:
    """A ticket in the making: its actions; the ticket's columns are replayed from them."""

    place: Place
    day: date
    kind: str  # appointment, walk_in, phone
    service: int  # the line it is in now
    ready: int  # in line (or, for a phone call, due) from
    queued: int  # its place in line
    booking: Booking | None = None
    first_service: int = 0
    issued: int = 0
    seq: int = 0
    id: int = 0
    noshow: bool = False
    recall: bool = False
    park: bool = False
    quick: bool = False  # finished without a start
    transfer: int | None = None  # sent on to this service's line
    refuse: str | None = None  # the clerk's reason under the sanitary regime
    actions: list[Action] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.first_service, self.issued = self.service, self.ready


class Event(NamedTuple):
    """A row of the bookings' ledger (booking/ledger.py)."""

    place: Place
    service: int | None
    booking: Booking | None
    kind: str
    mode: str | None
    at: int
    by: str | None = None
    where: str | None = None
    reason: str | None = None
    lead: int | None = None


@dataclass
class History:
    bookings: list[Booking] = field(default_factory=list)
    visits: list[Visit] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    unplaced: int = 0  # bookings that found the day's grid full
    cells: Counter[int] = field(default_factory=Counter)  # booked counter cells per office
    capacity: Counter[int] = field(default_factory=Counter)  # counter cells per office


WEEKDAY_LOAD = (1.3, 1.0, 1.15, 1.05, 0.75, 0.6, 0.5)
MONTH_LOAD = (1.15, 1.05, 1.05, 1.0, 0.95, 0.9, 0.75, 0.75, 1.0, 1.05, 1.05, 0.85)
WALK_IN_HOUR = {7: 1.0, 8: 1.6, 9: 1.5, 10: 1.3, 11: 1.1, 12: 0.8, 13: 0.9, 14: 0.8}
BOOKED_HOUR = {7: 1.0, 8: 1.4, 9: 1.4, 10: 1.3, 11: 1.1, 12: 0.9, 13: 0.9, 14: 0.8}


def day_weight(hours: list[tuple[int, int]], day: date) -> float:
    minutes = sum(b - a for a, b in hours) / 60
    return WEEKDAY_LOAD[day.weekday()] * MONTH_LOAD[day.month - 1] * minutes / 480


def poisson(rng: random.Random, mean: float) -> int:
    if mean < 30:
        limit, k, p = math.exp(-mean), 0, rng.random()
        while p > limit:
            k += 1
            p *= rng.random()
        return k
    return max(0, round(rng.gauss(mean, math.sqrt(mean))))


def arrival_bins(place: Place, hours: list[tuple[int, int]]) -> tuple[list[int], list[float]]:
    """5-minute bins over the opening hours and their cumulative walk-in weights: a queue
    at the door, the morning peak, few in the last half hour."""
    starts, cum, total = [], [], 0.0
    opens, closes = hours[0][0], hours[-1][1]
    for a, b in hours:
        for s in range(a, b, 300):
            weight = WALK_IN_HOUR.get(place.local(s).hour, 0.6)
            weight *= 1.6 if s - opens < 900 else 0.35 if closes - s <= 1800 else 1
            starts.append(s)
            total += weight
            cum.append(total)
    return starts, cum


def lead_seconds(rng: random.Random) -> int:
    """How far ahead a booking is made: a fifth within a day or so, the rest days ahead."""
    if rng.random() < 0.2:
        return int(rng.uniform(2.1, 30) * 3600)
    return int(min(rng.lognormvariate(math.log(5), 0.9), HORIZON - 0.1) * 86400)


def made_by(ahead: float) -> float:
    """The share of ``lead_seconds`` at least ``ahead``: of a later day's bookings, those
    that exist at NOW."""
    hours, days = ahead / 3600, ahead / 86400
    if days >= HORIZON - 0.1:
        return 0.0
    far = 1 - statistics.NormalDist(math.log(5), 0.9).cdf(math.log(days)) if days > 0 else 1.0
    return 0.2 * min(1.0, max(0.0, (30 - hours) / (30 - 2.1))) + 0.8 * far


def place_bookings(
    place: Place, day: date, count: int, rng: random.Random, history: History
) -> list[Booking]:
    """``count`` bookings on the day's grid, each on a counter with all its cells free,
    mornings first; fewer if the grid is full."""
    hours, step = place.days[day], place.slot
    taken: dict[int, set[int]] = defaultdict(set)
    keys, weights = zip(*((place.services[k], w) for k, w in place.spec.services), strict=True)
    starts = {}
    for service in keys:
        options = [s for a, b in hours for s in range(a, b - place.durations[service] + 1, step)]
        starts[service] = options, [BOOKED_HOUR.get(place.local(s).hour, 0.7) for s in options]
    if day <= LAST:
        history.capacity[place.id] += sum((b - a) // step for a, b in hours) * len(place.counters)
    made = []
    for service in rng.choices(keys, weights, k=count):
        options, favour = starts[service]
        if not options:  # open for less than the service takes
            continue
        cells = place.durations[service] // step
        counters = [c for c, served in place.counters if service in served]
        turn = rng.randrange(len(options))
        # The favourite times first; if they are full, any time, in turn.
        found = free_cells(rng.choices(options, favour, k=6), counters, cells, step, taken)
        found = found or free_cells(options[turn:] + options[:turn], counters, cells, step, taken)
        if found is None:
            history.unplaced += 1
            continue
        history.cells[place.id] += cells if day <= LAST else 0
        start, counter = found
        made.append(Booking(place, service, counter, start, start + cells * step))
    return made


def free_cells(
    starts: list[int], counters: list[int], cells: int, step: int, taken: dict[int, set[int]]
) -> tuple[int, int] | None:
    """The first (start, counter) with all its cells free, which it then takes."""
    for start in starts:
        need = [start + i * step for i in range(cells)]
        for counter in counters:
            if not any(cell in taken[counter] for cell in need):
                taken[counter].update(need)
                return start, counter
    return None


def fate(
    booking: Booking, day: date, rng: random.Random, now: int, history: History, later: bool
) -> Visit | None:
    """What becomes of a booking, as the ledger's events; the visit it makes, if any.

    None also when it was not made by ``now`` (``booking.made`` stays 0). A ``later`` day's
    bookings were thinned to those made by now: they are made by now.
    """
    place, start = booking.place, booking.start
    booking.phone = rng.random() < 0.08
    for _ in range(100 if later else 1):
        made = start - lead_seconds(rng)
        if made <= now:
            booking.made = booking.first_start = made
            break
    else:
        return None
    if rng.random() < 0.06:  # moved here from another day
        moved = made + int(rng.uniform(0.2, 0.9) * (start - made))
        if moved <= now and start - moved > 7200:
            booking.moved = moved
            shift = rng.choice((-3, -2, -1, 1, 2, 3, 5, 7)) * 86400
            too_soon = start + shift - made < 7200
            booking.first_start = start + (86400 if too_soon else shift)
    mode = "phone" if booking.phone else "in_person"
    service, last_change = booking.service, booking.moved or made
    note = history.events.append
    note(
        Event(place, service, booking, "made", mode, made, lead=(booking.first_start - made) // 60)
    )
    if booking.moved:
        note(
            Event(
                place,
                service,
                booking,
                "moved",
                mode,
                booking.moved,
                lead=(start - booking.moved) // 60,
            )
        )
    draw = rng.random()
    if draw < 0.105:  # cancelled before the visit
        by = "resident" if draw < 0.09 else "office"
        at = last_change + int(rng.uniform(0.1, 0.95) * (start - 300 - last_change))
        if at <= now:
            booking.cancelled, booking.cancelled_by = at, by
            note(Event(place, service, booking, "cancelled", mode, at, by=by))
        return None
    if booking.phone:
        return Visit(place, day, "phone", service, start + rng.randint(0, 240), start, booking)
    where = ""
    if day in place.regime and rng.random() < 0.035:
        where = rng.choices(("online", "kiosk", "counter"), (55, 30, 15))[0]
        if where != "counter":  # the counter's refusal happens in the queue
            before = rng.randint(3600, 86400) if where == "online" else rng.randint(0, 1500)
            at = max(start - before, last_change + 60)
            if at <= now:
                booking.refused = at
                note(
                    Event(
                        place,
                        service,
                        booking,
                        "refused",
                        mode,
                        at,
                        where=where,
                        reason=rng.choice(place.questions),
                    )
                )
            return None
    if rng.random() < 0.05:  # not checked in: marked by the no-show job within a minute
        at = start + place.checkin_after + rng.randint(1, 59)
        if at <= now:
            booking.no_show = at
            note(Event(place, service, booking, "no_show", mode, at))
        return None
    early = rng.random() < 0.85
    arrival = start - rng.randint(0, 1500) if early else start + rng.randint(0, 14 * 60)
    visit = Visit(place, day, "appointment", service, arrival, start, booking)
    if where == "counter":
        visit.refuse = rng.choice(list(COUNTER_REASONS))
    return visit


def walk_ins(
    place: Place, day: date, count: int, rng: random.Random, history: History
) -> list[Visit]:
    """The day's walk-ins; under the sanitary regime some are turned away at the kiosk."""
    keys, weights = zip(*((place.services[k], w) for k, w in place.spec.services), strict=True)
    bins, cum = arrival_bins(place, place.days[day])
    closes = place.days[day][-1][1]
    regime = day in place.regime
    visits = []
    for moment in rng.choices(bins, cum_weights=cum, k=count):
        moment = min(moment + rng.randint(0, 299), closes - 1)
        if regime and rng.random() < 0.02:
            reason = rng.choice(place.questions)
            history.events.append(
                Event(place, None, None, "refused", None, moment, where="kiosk", reason=reason)
            )
            continue
        visit = Visit(place, day, "walk_in", rng.choices(keys, weights)[0], moment, moment)
        if regime and rng.random() < 0.005:
            visit.refuse = rng.choice(list(COUNTER_REASONS))
        visits.append(visit)
    return visits


def flag(visit: Visit, rng: random.Random, services: list[int]) -> None:
    """The turns a visit will take at the counter."""
    visit.noshow = rng.random() < (0.02 if visit.kind == "walk_in" else 0.01)
    visit.recall = rng.random() < 0.04
    visit.park = rng.random() < 0.025
    visit.quick = rng.random() < 0.1
    others = [s for s in services if s != visit.service]
    if others and rng.random() < 0.03:
        visit.transfer = rng.choice(others)


# ---------------------------------------------------------------------------
# The queue


@dataclass(frozen=True)
class Seat:
    counter: int
    serves: frozenset[int]
    clerk: int
    begins: int
    ends: int


def staffing(place: Place, day: date, rng: random.Random) -> list[Seat]:
    """Who sits where today: now and then a clerk is away (the substitute covers one),
    and in the bigger half of the office some start late or leave early."""
    hours = place.days[day]
    opens, closes = hours[0][0], hours[-1][1]
    seats, substitute = [], place.substitute
    half = (len(place.counters) + 1) // 2
    for i, (counter, serves) in enumerate(place.counters):
        clerk = place.clerks[i]
        if rng.random() < 0.06:
            if not substitute or rng.random() < 0.5:
                continue
            clerk, substitute = substitute, 0
        begins = opens + (3600 if i >= half and rng.random() < 0.25 else 0)
        ends = closes - (5400 if i >= half and rng.random() < 0.4 else 0)
        seats.append(Seat(counter, serves, clerk, begins, ends))
    first, serves = place.counters[0]
    return seats or [Seat(first, serves, place.clerks[0], opens, closes)]


def simulate(
    place: Place, day: date, visits: list[Visit], rng: random.Random, history: History
) -> None:
    """The day at the counters, as each visit's actions: a counter calls by the priority
    rule of queueing/priority.py (the earliest place in line, appointments first on a tie)
    among those for its services, only while the office is open; whoever is left at
    closing is closed by the day_close job."""
    hours = place.days[day]
    seats = staffing(place, day, rng)
    median = {place.services[k]: SERVICES[k].handling * 60 for k, _ in place.spec.services}
    keys = {v: k for k, v in place.services.items()}

    def takes(service: int) -> int:
        """Seconds at the counter: log-normal around the service's median."""
        return max(45, min(5400, int(rng.lognormvariate(math.log(median[service]), 0.55))))

    pending: list[tuple[int, int, Visit]] = []  # joins the line at, order, visit
    for seq, visit in enumerate(visits, 1):
        visit.seq = seq
        pending.append((visit.ready, seq, visit))
        if visit.kind != "phone":
            issue = "check_in" if visit.booking else "walk_in"
            visit.actions.append((issue, visit.issued, None, None, None, place.kiosk))
    heapq.heapify(pending)
    seq = len(visits)
    line: list[Visit] = []
    free = [(seat.begins, i) for i, seat in enumerate(seats)]  # a counter free at
    heapq.heapify(free)
    idle: list[int] = []  # counters with nobody to call, until someone joins their line
    while free or pending:
        if pending and (not free or pending[0][0] <= free[0][0]):
            ready, _, visit = heapq.heappop(pending)
            line.append(visit)
            for i in [i for i in idle if visit.service in seats[i].serves]:
                idle.remove(i)
                heapq.heappush(free, (ready, i))
            continue
        t, i = heapq.heappop(free)
        seat = seats[i]
        later = [a for a, b in hours if b > t]
        if t >= seat.ends or not later:
            continue
        if t < later[0]:  # before opening, or the lunch break
            heapq.heappush(free, (later[0], i))
            continue
        choice = min(
            (v for v in line if v.service in seat.serves),
            key=lambda v: (v.queued, v.kind != "appointment", v.issued, v.seq),
            default=None,
        )
        if choice is None:
            idle.append(i)
            continue
        line.remove(choice)
        done, back = attend(choice, t, seat, rng, takes, keys)
        if back is not None:
            seq += 1
            heapq.heappush(pending, (back, seq, choice))
        heapq.heappush(free, (done + rng.randint(10, 50), i))
    closing = hours[-1][1] + rng.randint(30, 300)  # the day_close job runs every 5 minutes
    for visit in line + [v for _, _, v in pending]:
        if visit.actions:
            visit.actions.append(("day_close", closing, None, None, None, None))
    for visit in visits:
        refused = [a[1] for a in visit.actions if a[0] == "refuse"]
        if not refused:
            continue
        booking = visit.booking
        if booking is not None:
            booking.refused = refused[0]
        history.events.append(
            Event(
                place,
                booking.service if booking else None,
                booking,
                "refused",
                "in_person" if booking else None,
                refused[0],
                where="counter",
                reason=visit.refuse,
            )
        )


def attend(
    v: Visit,
    t: int,
    seat: Seat,
    rng: random.Random,
    takes: Callable[[int], int],
    keys: dict[int, str],
) -> tuple[int, int | None]:
    """One turn at a counter from the call at ``t``: (the counter free at, back in line at)."""

    def act(action: str, at: int, detail: dict[str, Any] | None = None) -> None:
        v.actions.append((action, at, seat.clerk, seat.counter, detail, None))

    if v.kind == "phone":
        v.issued = t
        act("phone", t)
        act("finish", t + int(takes(v.service) * 0.8))
        return v.actions[-1][1], None
    act("call", t)
    if v.refuse:
        act("refuse", t + rng.randint(30, 120))
        return v.actions[-1][1], None
    at = t
    if v.noshow and not any(a[0] in ("park", "transfer") for a in v.actions):
        for calls in (2, 3):  # max_calls: the third call, then a no-show
            at += rng.randint(60, 100)
            act("recall", at, {"calls": calls})
        act("no_show", at + rng.randint(40, 90))
        return v.actions[-1][1], None
    if v.recall:
        v.recall = False
        at += rng.randint(40, 90)
        act("recall", at, {"calls": 2})
    at += rng.randint(15, 90)  # to the counter
    if not v.quick:
        act("serve", at)
    if v.park:  # fetches a document and comes back to the line
        v.park = False
        at += rng.randint(90, 420)
        act("park", at)
        return at, at + rng.randint(300, 1500)
    if v.transfer is not None:
        at += rng.randint(60, 480)
        act("transfer", at, {"service": keys[v.transfer], "counter": None})
        v.service, v.transfer = v.transfer, None
        return at, at
    at += takes(v.service)
    act("finish", at)
    return at, None


def generate(places: list[Place], first: date, tickets: int, bookings: int, seed: int) -> History:
    """The history of ``places`` from ``first`` to NOW: about ``tickets`` tickets and
    ``bookings`` bookings, shared by the offices' counter hours."""
    rng = random.Random(seed)
    now = int(NOW.timestamp())
    history = History()
    days = {p.id: [d for d in p.days if first <= d <= LAST] for p in places}
    capacity = {
        p.id: sum(b - a for d in days[p.id] for a, b in p.days[d]) * len(p.counters) for p in places
    }
    share = {i: c / (sum(capacity.values()) or 1) for i, c in capacity.items()}
    booked = sum(share[p.id] * p.spec.booked for p in places) or 1
    for place in places:
        own_bookings = bookings * share[place.id] * place.spec.booked / booked
        # About 82 % of bookings end at a counter or on the phone.
        own_walk_ins = max(0.05, tickets * share[place.id] - 0.82 * own_bookings)
        norm = sum(day_weight(place.days[d], d) for d in days[place.id]) or 1
        services = list(place.services.values())
        today = NOW.astimezone(place.zone).date()
        for day in sorted(d for d in place.days if d >= first):
            hours = place.days[day]
            weight = day_weight(hours, day) / norm
            if day > today:  # only the bookings made by now
                weight *= made_by((hours[0][0] + hours[-1][1]) // 2 - now)
            visits = []
            for booking in place_bookings(
                place, day, poisson(rng, own_bookings * weight), rng, history
            ):
                visit = fate(booking, day, rng, now, history, later=day > today)
                if booking.made:
                    history.bookings.append(booking)
                if visit is not None and day <= today:
                    visits.append(visit)
            if day > today:
                continue
            visits += walk_ins(place, day, poisson(rng, own_walk_ins * weight), rng, history)
            if day in place.regime:  # refused while booking: nobody booked
                for _ in range(poisson(rng, 0.02 * own_bookings * weight)):
                    at = rng.randint(hours[0][0] - 3 * 86400, hours[0][0])
                    reason = rng.choice(place.questions)
                    history.events.append(
                        Event(
                            place, None, None, "refused", None, at, where="booking", reason=reason
                        )
                    )
            for visit in visits:
                flag(visit, rng, services)
            simulate(place, day, visits, rng, history)
            history.visits += visits
    cut(history, now)
    return history


def cut(history: History, now: int) -> None:
    """Forget what happens after ``now``: the last morning is half done."""
    history.events = [e for e in history.events if e.at <= now]
    kept = []
    for visit in history.visits:
        visit.actions = [a for a in visit.actions if a[1] <= now]
        if visit.actions:
            kept.append(visit)
        if (booking := visit.booking) is not None and (booking.refused or 0) > now:
            booking.refused = None
    history.visits = kept


# ---------------------------------------------------------------------------
# Rows

AT_WORK = ("call", "recall", "serve", "finish", "phone")  # queueing/tally.counter_at_work


def replay(v: Visit) -> dict[str, Any]:
    """The ticket's columns after its actions, as queueing/calling.py writes them."""
    t: dict[str, Any] = dict.fromkeys(
        (
            "counter_id",
            "called_at",
            "serving_at",
            "finished_at",
            "parked_at",
            "transferred_at",
            "closed_reason",
            "first_called_at",
            "served_by_id",
            "wait_seconds",
            "service_seconds",
            "late_seconds",
        )
    )
    t.update(status="waiting", calls=0, recalls=0, transfers=0, parks=0)
    t["service_id"] = v.first_service
    for action, at, staff, counter, detail, _device in v.actions:
        if action == "phone":
            t.update(
                status="serving",
                counter_id=counter,
                calls=1,
                called_at=at,
                first_called_at=at,
                serving_at=at,
                served_by_id=staff,
            )
        elif action == "call":
            t.update(status="called", counter_id=counter, called_at=at, calls=t["calls"] + 1)
            if t["first_called_at"] is None:
                t.update(first_called_at=at, wait_seconds=float(at - v.issued))
                if v.kind == "appointment" and v.booking is not None:
                    t["late_seconds"] = float(at - v.booking.start)
        elif action == "recall":
            t.update(calls=t["calls"] + 1, recalls=t["recalls"] + 1, called_at=at)
        elif action == "serve":
            t.update(status="serving", serving_at=at, served_by_id=staff)
        elif action == "finish":
            if t["status"] == "called":  # finished without a start: served from the call
                t["serving_at"] = t["called_at"]
            t.update(
                status="done",
                finished_at=at,
                served_by_id=staff,
                service_seconds=float(at - t["serving_at"]),
            )
        elif action == "no_show":
            t.update(status="no_show", finished_at=at)
        elif action == "park":
            t.update(status="parked", parked_at=at, parks=t["parks"] + 1, calls=0, counter_id=None)
        elif action == "transfer":
            assert detail is not None
            t.update(
                status="transferred",
                transferred_at=at,
                transfers=t["transfers"] + 1,
                counter_id=None,
                calls=0,
                service_id=v.place.services[detail["service"]],
            )
        elif action == "refuse":
            t.update(status="refused", finished_at=at, closed_reason="refused")
        elif action == "day_close":
            t.update(status="cancelled", closed_reason="day closed", finished_at=at)
    return t


class Table(NamedTuple):
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]


def table(rows: list[dict[str, Any]]) -> Table:
    return Table(tuple(rows[0]) if rows else (), [tuple(r.values()) for r in rows])


def booking_rows(history: History, now: int) -> tuple[Table, Table]:
    """The bookings (ids in the order they were made) and the cells the active ones hold."""
    history.bookings.sort(key=lambda b: (b.made, b.start))
    rows: list[dict[str, Any]] = []
    cells: list[dict[str, Any]] = []
    for number, b in enumerate(history.bookings, 1):
        b.id = number
        status = (
            "refused"
            if b.refused
            else "cancelled"
            if b.cancelled
            else "no_show"
            if b.no_show
            else "booked"
        )
        eve = b.place.local(b.start).date() - timedelta(days=1)
        reminder = int(datetime.combine(eve, clock_time(16), b.place.zone).timestamp())
        reminded = b.made < reminder <= now and all(
            x > reminder for x in (b.cancelled, b.refused) if x
        )
        erased = b.end + RETENTION < now  # the retention job's anonymisation
        rows.append(
            {
                "id": b.id,
                "code": f"B{b.id:09d}",
                "manage_token_hash": uuid.uuid4().hex * 2 if erased else f"{b.id:064x}",
                "office_id": b.place.id,
                "service_id": b.service,
                "counter_id": b.counter,
                "starts_at": b.start,
                "ends_at": b.end,
                "status": status,
                "mode": "phone" if b.phone else "in_person",
                "name": "" if erased else f"Mieszkaniec {b.id}",
                "email": None if erased or b.phone else f"r{b.id}@example.invalid",
                "phone": None if erased or not b.phone else f"+48500{b.id % 1000000:06d}",
                "language": "cs" if b.place.spec.country == "CZ" else "pl",
                "consent_at": b.made,
                "sequence": 1 if b.moved else 0,
                "created_at": b.made,
                "cancelled_at": b.cancelled,
                "cancelled_by": b.cancelled_by,
                "cancel_reason": "Remont" if b.cancelled_by == "office" and not erased else None,
                "refused_at": b.refused,
                "reminder_sent_at": reminder + 30 if reminded else None,
                "anonymized_at": min(now, b.end + RETENTION + 600) if erased else None,
            }
        )
        if status in ("booked", "no_show"):  # a no-show's cells from then on were freed
            for cell in range(b.start, b.end, b.place.slot):
                if not b.no_show or cell < b.no_show:
                    cells.append(
                        {
                            "id": len(cells) + 1,
                            "booking_id": b.id,
                            "counter_id": b.counter,
                            "starts_at": cell,
                        }
                    )
    return table(rows), table(cells)


def event_rows(history: History) -> Table:
    history.events.sort(key=lambda e: e.at)
    return table(
        [
            {
                "id": i,
                "office_id": e.place.id,
                "service_id": e.service,
                "booking_id": e.booking.id if e.booking else None,
                "kind": e.kind,
                "mode": e.mode,
                "by": e.by,
                "place": e.where,
                "reason": e.reason,
                "at": e.at,
                "day": e.place.local(e.at).date(),
                "lead_minutes": e.lead,
            }
            for i, e in enumerate(history.events, 1)
        ]
    )


def ticket_rows(visits: list[Visit]) -> tuple[Table, Table]:
    """The tickets (ids and numbers in the order they were issued) and the numbering."""
    for v in visits:
        v.issued = v.actions[0][1]  # a phone consultation's ticket is made at the call
    visits.sort(key=lambda v: (v.issued, v.seq))
    numbers: Counter[tuple[int, date, str]] = Counter()
    prefix = {s: SERVICES[k].prefix for v in visits for k, s in v.place.services.items()}
    rows = []
    for i, v in enumerate(visits, 1):
        v.id = i
        key = (v.place.id, v.day, prefix[v.first_service])
        numbers[key] += 1
        t = replay(v)
        # A refusal at the counter lets go of the booking (queueing/listeners.py).
        booking = v.booking if t["status"] != "refused" else None
        rows.append(
            {
                "id": i,
                "office_id": v.place.id,
                "booking_id": booking.id if booking else None,
                "day": v.day,
                "prefix": key[2],
                "number": numbers[key],
                "kind": v.kind,
                "urgent": False,
                "queued_at": v.queued,
                "target_counter_id": None,
                "issued_at": v.issued,
                "first_service_id": v.first_service,
                "issued_hour": v.place.local(v.issued).hour,
                **t,
            }
        )
    sequence = [
        {"office_id": o, "day": d, "prefix": p, "last_number": n}
        for (o, d, p), n in numbers.items()
    ]
    return table(rows), table(sequence)


def counter_hours(visits: list[Visit]) -> Table:
    """The (office, local day, local hour, counter) a clerk called, served or finished in."""
    worked: set[tuple[int, date, int, int]] = set()
    local: dict[tuple[int, int], tuple[date, int]] = {}
    for v in visits:
        for action, at, _staff, counter, _detail, _device in v.actions:
            if action in AT_WORK and counter is not None:
                key = (v.place.id, at // 900)  # zones are off UTC by whole quarter hours
                if (when := local.get(key)) is None:
                    moment = v.place.local(at)
                    when = local[key] = (moment.date(), moment.hour)
                worked.add((v.place.id, *when, counter))
    return Table(("office_id", "day", "hour", "counter_id"), sorted(worked))


def counter_service_hours(visits: list[Visit]) -> Table:
    """Per (office, ticket's day, local hour, counter, service): the tickets of the service
    (first or final) the counter worked on then, as ``queueing/tally.py`` ends up with."""
    served: Counter[tuple[int, date, int, int, int]] = Counter()
    local: dict[tuple[int, int], int] = {}
    for v in visits:
        final, worked = v.first_service, set()
        for action, at, _staff, counter, detail, _device in v.actions:
            if action == "transfer" and detail is not None and detail["service"] is not None:
                final = v.place.services[detail["service"]]
            if action in AT_WORK and counter is not None:
                key = (v.place.id, at // 900)  # zones are off UTC by whole quarter hours
                if (hour := local.get(key)) is None:
                    hour = local[key] = v.place.local(at).hour
                worked.add((hour, counter))
        for hour, counter in worked:
            for service in {v.first_service, final}:
                served[v.place.id, v.day, hour, counter, service] += 1
    return Table(
        ("office_id", "day", "hour", "counter_id", "service_id", "tickets"),
        [(*k, n) for k, n in sorted(served.items())],
    )


def audit_rows(visits: list[Visit]) -> Table:
    """Every action as an audit entry, ids in the order of time."""
    entries = sorted(
        ((a[1], v.id, v.place.id, a) for v in visits for a in v.actions), key=lambda e: e[:2]
    )
    return Table(
        (
            "id",
            "office_id",
            "staff_id",
            "device_id",
            "counter_id",
            "ticket_id",
            "action",
            "detail",
            "at",
        ),
        [
            (i, office, a[2], a[5], a[3], ticket, a[0], json.dumps(a[4]) if a[4] else "{}", at)
            for i, (at, ticket, office, a) in enumerate(entries, 1)
        ],
    )


def rows_of(history: History) -> dict[str, Table]:
    """The tables to load, in an order their foreign keys allow; instants as epoch seconds."""
    now = int(NOW.timestamp())
    bookings, cells = booking_rows(history, now)
    tickets, sequence = ticket_rows(history.visits)
    return {
        "booking": bookings,
        "booking_slot": cells,
        "booking_event": event_rows(history),
        "ticket": tickets,
        "ticket_sequence": sequence,
        "counter_hour": counter_hours(history.visits),
        "counter_service_hour": counter_service_hours(history.visits),
        "audit_entry": audit_rows(history.visits),
    }


def describe(history: History, tables: dict[str, Table], places: list[Place]) -> None:
    """What was made, and per office how busy it was."""
    print("  " + ", ".join(f"{name} {len(t.rows):,}" for name, t in tables.items()))
    if history.unplaced:
        print(f"  {history.unplaced:,} bookings found their day's grid full")
    tickets = tables["ticket"]
    office, reason, waited = (
        tickets.columns.index(c) for c in ("office_id", "closed_reason", "wait_seconds")
    )
    for p in places:
        mine = [r for r in tickets.rows if r[office] == p.id]
        waits = sorted(r[waited] for r in mine if r[waited] is not None) or [0.0]
        closed = sum(1 for r in mine if r[reason] == "day closed") / (len(mine) or 1)
        booked = history.cells[p.id] / (history.capacity[p.id] or 1)
        print(
            f"  {p.spec.slug:21} {len(mine):7,} tickets, {len(p.counters):2} counters,"
            f" {booked:4.0%} of counter cells booked; wait median"
            f" {statistics.median(waits) / 60:4.1f} min, 90th percentile"
            f" {waits[int(0.9 * (len(waits) - 1))] / 60:4.1f}; {closed:4.1%} left at closing"
        )


# ---------------------------------------------------------------------------
# Loading

EPOCH = date(1970, 1, 1)
TIMESTAMPS = {
    "starts_at",
    "ends_at",
    "consent_at",
    "created_at",
    "cancelled_at",
    "refused_at",
    "reminder_sent_at",
    "anonymized_at",
    "at",
    "queued_at",
    "issued_at",
    "called_at",
    "serving_at",
    "finished_at",
    "parked_at",
    "transferred_at",
    "first_called_at",
}


class Stamps:
    """Epoch seconds as a naive UTC timestamp's text, fast (the date part is cached)."""

    def __init__(self, fraction: str) -> None:
        self.days: dict[int, str] = {}
        self.fraction = fraction  # SQLAlchemy's SQLite format has microseconds

    def __call__(self, moment: int | None) -> str | None:
        if moment is None:
            return None
        day, second = divmod(moment, 86400)
        if (prefix := self.days.get(day)) is None:
            prefix = self.days[day] = (EPOCH + timedelta(days=day)).isoformat()
        hour, rest = divmod(second, 3600)
        return f"{prefix} {hour:02d}:{rest // 60:02d}:{rest % 60:02d}{self.fraction}"


def converted(data: Table, sqlite: bool) -> Iterator[list[Any]]:
    """The rows with their instants as timestamps' text, and on SQLite dates and booleans
    as SQLAlchemy stores them."""
    stamp = Stamps(".000000" if sqlite else "")
    instants = [i for i, c in enumerate(data.columns) if c in TIMESTAMPS]
    others = [i for i, c in enumerate(data.columns) if c not in TIMESTAMPS] if sqlite else []
    for row in data.rows:
        values = list(row)
        for i in instants:
            values[i] = stamp(values[i])
        for i in others:
            if isinstance(values[i], date):
                values[i] = values[i].isoformat()
            elif isinstance(values[i], bool):
                values[i] = int(values[i])
        yield values


def load_pg(url: str, tables: dict[str, Table]) -> float:
    """COPY every table (the foreign keys are right by construction, and ``check`` looks),
    then VACUUM ANALYZE as autovacuum would after such a load; seconds the COPY took."""
    began = time.perf_counter()
    with psycopg.connect(url) as conn:
        conn.execute("SET session_replication_role = replica")  # no FK trigger per row
        for name, data in tables.items():
            columns = ", ".join(f'"{c}"' for c in data.columns)
            with conn.cursor() as cur, cur.copy(f"COPY {name} ({columns}) FROM STDIN") as copy:
                for row in converted(data, sqlite=False):
                    copy.write_row(row)
            if "id" in data.columns:
                conn.execute(
                    f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), max(id)) FROM {name}"
                )
    seconds = time.perf_counter() - began
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    return seconds


def load_sqlite(path: Path, tables: dict[str, Table]) -> float:
    began = time.perf_counter()
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("PRAGMA cache_size=-262144")  # 256 MiB: the indexes stay in memory
        conn.execute("BEGIN")
        for name, data in tables.items():
            marks = ", ".join("?" for _ in data.columns)
            columns = ", ".join(f'"{c}"' for c in data.columns)
            conn.executemany(
                f"INSERT INTO {name} ({columns}) VALUES ({marks})", converted(data, sqlite=True)
            )
        conn.execute("COMMIT")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    return time.perf_counter() - began


CHECKS = {
    "tickets by status": "SELECT status, count(*) FROM ticket GROUP BY 1 ORDER BY 1",
    "tickets by kind": "SELECT kind, count(*) FROM ticket GROUP BY 1 ORDER BY 1",
    "bookings by status": "SELECT status, mode, count(*) FROM booking GROUP BY 1, 2 ORDER BY 1, 2",
    "booking events": "SELECT kind, by, place, count(*) FROM booking_event"
    " GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
    "audit entries": "SELECT action, count(*) FROM audit_entry GROUP BY 1 ORDER BY 1",
    "audit entries, tickets, booking events without their row": "SELECT"
    " (SELECT count(*) FROM audit_entry a LEFT JOIN ticket t ON t.id = a.ticket_id"
    "  WHERE t.id IS NULL),"
    " (SELECT count(*) FROM ticket t LEFT JOIN booking b ON b.id = t.booking_id"
    "  WHERE t.booking_id IS NOT NULL AND b.id IS NULL),"
    " (SELECT count(*) FROM booking_event e LEFT JOIN booking b ON b.id = e.booking_id"
    "  WHERE e.booking_id IS NOT NULL AND b.id IS NULL)",
    "done without first call, start, clerk, first service or service time": "SELECT count(*)"
    " FROM ticket WHERE status = 'done' AND (first_called_at IS NULL OR serving_at IS NULL"
    " OR served_by_id IS NULL OR first_service_id IS NULL OR service_seconds IS NULL)",
    "called in person without a wait; tickets without their hour": "SELECT"
    " (SELECT count(*) FROM ticket WHERE first_called_at IS NOT NULL AND kind <> 'phone'"
    "  AND wait_seconds IS NULL), (SELECT count(*) FROM ticket WHERE issued_hour IS NULL)",
    "counters holding two tickets": "SELECT count(*) FROM (SELECT counter_id FROM ticket"
    " WHERE status IN ('called', 'serving') GROUP BY counter_id HAVING count(*) > 1) x",
    "recalls, transfers, parks less their audit entries": "SELECT"
    " (SELECT sum(recalls) FROM ticket) - (SELECT count(*) FROM audit_entry"
    "  WHERE action = 'recall'),"
    " (SELECT sum(transfers) FROM ticket) - (SELECT count(*) FROM audit_entry"
    "  WHERE action = 'transfer'),"
    " (SELECT sum(parks) FROM ticket) - (SELECT count(*) FROM audit_entry WHERE action = 'park')",
    "counter hours": "SELECT count(*) FROM counter_hour",
    "counter service hours, their tickets": "SELECT count(*), sum(tickets)"
    " FROM counter_service_hour",
}


def check(url: str) -> None:
    """Print plain SQL counts of what was loaded."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            for name, sql in CHECKS.items():
                print(f"  {name}: {[tuple(r) for r in conn.execute(text(sql))]}")
    finally:
        engine.dispose()


def the_biggest(tables: dict[str, Table]) -> int:
    """The office with the most tickets."""
    offices = Counter(row[1] for row in tables["ticket"].rows)
    return offices.most_common(1)[0][0]


def same_offices(a: list[Place], b: list[Place]) -> bool:
    """Both databases gave the offices, services, counters and staff the same ids."""
    return [(p.id, p.services, p.counters, p.clerks, p.kiosk) for p in a] == [
        (p.id, p.services, p.counters, p.clerks, p.kiosk) for p in b
    ]
