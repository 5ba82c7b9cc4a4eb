"""Waiting time, service time and load, on a known week, against figures worked out by hand.

The week is ``dst_week`` (tests/helpers/report_floor.py): Thursday 22 to Wednesday 28
October 2026 at a Warsaw office, across the end of summer time, with its timetable of
tickets t1..t19 (and one before and one after the week, which must not count). Quantiles
interpolate linearly between the closest ranks: over n sorted values the q quantile sits
at rank q*(n-1), counted from 0. Minutes are rounded to one place, shares to four.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from flask import Flask

from tests.helpers.factories import MakeBooking, MakeOffice, MakeService
from tests.helpers.report_floor import ReportFloor, Week, dst_week, report, ticket_states, warsaw

FIRST, LAST = date(2026, 10, 22), date(2026, 10, 28)
WAIT = ("called", "median_minutes", "p90_minutes", "within_10", "within_20", "within_30")
TIME = ("served", "median_minutes", "p90_minutes", "mean_minutes", "recalls", "transfers", "parks")
LOAD = (
    "hour",
    "open_days",
    "arrivals",
    "arrivals_per_day",
    "counters_open",
    "arrivals_per_counter",
)


def rows(keys: tuple[str, ...], *values: tuple[Any, ...]) -> list[dict[str, Any]]:
    return [dict(zip(keys, row, strict=True)) for row in values]


@pytest.fixture
def week(
    any_app: Flask, make_office: MakeOffice, make_service: MakeService, make_booking: MakeBooking
) -> Week:
    office = make_office(
        "okno-warszawa",
        name="Warszawa",
        timezone="Europe/Warsaw",
        hours={"daily": "08:00-16:00"},
        counters=["Okno 1", "Okno 2", "Okno 3"],
        admission={"enabled": True, "from": "2026-10-22", "to": "2026-10-22"},
    )
    registration = make_service(
        office,
        "meldunek",
        prefix="M",
        name={"pl": "Meldunek", "cs": "Přihlášení k pobytu", "en": "Registration"},
    )
    id_cards = make_service(
        office,
        "dowody",
        prefix="D",
        name={"pl": "Dowody osobiste", "cs": "Občanské průkazy", "en": "ID cards"},
    )
    return dst_week(any_app, office, registration, id_cards, make_booking)


def of_week(app: Flask, week: Week, name: str, **kw: Any) -> dict[str, list[dict[str, Any]]]:
    return report(app, name, (week.floor.office.id,), FIRST, LAST, **kw)


def test_waiting_time_by_service_hour_and_weekday(any_app: Flask, week: Week) -> None:
    states = ticket_states(any_app, week.tickets)  # the week went as its timetable says
    assert (states.pop("t9"), states.pop("t17"), states.pop("t18")) == (
        "refused",
        "no_show",
        "cancelled",
    )
    assert set(states.values()) == {"done"}
    waiting = of_week(any_app, week, "waiting")

    # Called in person, minutes from joining the line (t12 is a phone call, t18 never called):
    # 4 5 5 6 8 10 10 12 15 15 20 20 22 25 30 35 45 (n=17).
    # Median at rank 8: 15. p90 at rank 14.4: 30 + 0.4 * (35 - 30) = 32.
    # Within 10: 7/17, within 20: 12/17, within 30: 15/17.
    assert waiting["overall"] == rows(WAIT, (17, 15.0, 32.0, 0.4118, 0.7059, 0.8824))

    assert waiting["by_service"] == rows(
        ("service", *WAIT),
        # Registration: t1-t7 4 12 25 6 35 8 15, t9 30, t10 22, t11 5, t15 5;
        # sorted 4 5 5 6 8 12 15 22 25 30 35: median rank 5 = 12, p90 rank 9 = 30.
        ("Registration", 11, 12.0, 30.0, 0.4545, 0.6364, 0.9091),
        # ID cards: t8 10, t13 20 (its line, though served for registration), t14 15, t16 20
        # (called again after parking: the first call counts), t17 45, t19 10; sorted
        # 10 10 15 20 20 45: median (15 + 20) / 2, p90 rank 4.5 = 20 + 0.5 * 25.
        ("ID cards", 6, 17.5, 32.5, 0.3333, 0.8333, 0.8333),
    )

    # A 09:00 ticket is in hour 9 on both sides of Sunday's change from CEST to CET.
    assert warsaw("2026-10-24", "09:00").hour == 7 and warsaw("2026-10-26", "09:00").hour == 8
    assert waiting["by_hour"] == rows(
        ("hour", *WAIT),
        # t1-t7 at 09:00 every day: 4 12 25 6 35 8 15, and t10 (09:50) 22; sorted
        # 4 6 8 12 15 22 25 35: median (12 + 15) / 2, p90 rank 6.3 = 25 + 0.3 * 10.
        (9, 8, 13.5, 28.0, 0.375, 0.625, 0.875),
        # t13 20, t17 45, t19 10: median 20, p90 rank 1.8 = 20 + 0.8 * 25.
        (10, 3, 20.0, 40.0, 0.3333, 0.6667, 0.6667),
        # t11 (11:58) 5, t15 5, t16 20: p90 = 5 + 0.8 * 15.
        (11, 3, 5.0, 17.0, 0.6667, 1.0, 1.0),
        # t8 10, t14 (13:40) 15: p90 = 10 + 0.9 * 5.
        (13, 2, 12.5, 14.5, 0.5, 1.0, 1.0),
        # t9 30: "within 30 minutes" counts 30 minutes exactly.
        (14, 1, 30.0, 30.0, 0.0, 0.0, 1.0),
    )

    assert waiting["by_weekday"] == rows(
        ("weekday", *WAIT),
        (0, 3, 20.0, 32.0, 0.0, 0.6667, 0.6667),  # Mon t5 35, t13 20, t14 15: 20 + 0.8 * 15
        (1, 3, 8.0, 17.6, 0.6667, 1.0, 1.0),  # Tue t6 8, t15 5, t16 20: 8 + 0.8 * 12
        (2, 2, 30.0, 42.0, 0.0, 0.5, 0.5),  # Wed t7 15, t17 45: 15 + 0.9 * 30
        (3, 3, 10.0, 26.0, 0.6667, 0.6667, 1.0),  # Thu t1 4, t8 10, t9 30: 10 + 0.8 * 20
        (4, 2, 17.0, 21.0, 0.0, 0.5, 1.0),  # Fri t2 12, t10 22: 12 + 0.9 * 10
        (5, 3, 10.0, 22.0, 0.6667, 0.6667, 1.0),  # Sat t3 25, t11 5, t19 10: 10 + 0.8 * 15
        (6, 1, 6.0, 6.0, 1.0, 1.0, 1.0),  # Sun t4 6 (t12 is by phone)
    )

    # Appointments, first call against the booked start: t10 +12, t11 +3, t14 -5 (early).
    # Median +3, p90 rank 1.8 = 3 + 0.8 * 9; at most 5 min late: 2 of 3; early: 1 of 3.
    assert waiting["punctuality"] == [
        {
            "called": 3,
            "median_minutes": 3.0,
            "p90_minutes": 10.2,
            "on_time": 0.6667,
            "early": 0.3333,
        }
    ]


def test_service_time_by_service_counter_and_clerk(any_app: Flask, week: Week) -> None:
    handling = of_week(any_app, week, "handling")
    assert handling["by_service"] == rows(
        ("service", *TIME),
        # Registration, done: t1 10, t2 8, t3 20, t4 6, t5 14, t6 12 (from the call), t7 8,
        # t10 18, t11 10, t12 15 (phone), t13 12 (from its second start, after the transfer
        # from ID cards), t15 10; sorted 6 8 8 10 10 10 12 12 14 15 18 20: median
        # (10 + 12) / 2, p90 rank 9.9 = 15 + 0.9 * 3, mean 143 / 12 = 11.92.
        # Recalls: t15 2; transfers: t13 1; t9 (refused) and t18 (cancelled) add nothing.
        ("Registration", 12, 11.0, 17.7, 11.9, 2, 1, 0),
        # ID cards, done: t8 6 (finished from celina's call), t14 14, t16 9 (from the start
        # after parking), t19 13; sorted 6 9 13 14: median 11, p90 rank 2.7 = 13 + 0.7,
        # mean 42 / 4. Recalls t17 2 (no-show), transfer t8 to a counter, park t16.
        ("ID cards", 4, 11.0, 13.7, 10.5, 2, 1, 1),
    )
    # Recalls, transfers and parks go to the counter and clerk that did them: anna@1
    # recalled t15 twice and sent t13 on; bartek@2 sent t8 to Okno 3 and parked t16;
    # celina@3 recalled t17 twice.
    assert handling["by_counter"] == rows(
        ("counter", *TIME),
        # Okno 1: t1 10, t3 20, t6 12, t10 18, t12 15, t15 10, and t9 refused there;
        # sorted 10 10 12 15 18 20: median 13.5, p90 rank 4.5 = 18 + 0.5 * 2, mean 85 / 6.
        # Transfers 1: t13 sent on from here (was 0, credited to Okno 2 where it ended).
        ("Okno 1", 6, 13.5, 19.0, 14.2, 2, 1, 0),
        # Okno 2: t2 8, t5 14, t11 10, t13 12, t16 9: p90 rank 3.6 = 12 + 0.6 * 2, mean 53 / 5.
        # Transfer 1 is now t8 sent from here (t13 goes to Okno 1); park t16.
        ("Okno 2", 5, 10.0, 13.2, 10.6, 0, 1, 1),
        # Okno 3: t4 6, t7 8, t8 6, t14 14, t19 13, and t17 no-show there (2 recalls);
        # sorted 6 6 8 13 14: p90 rank 3.6 = 13 + 0.6, mean 47 / 5.
        # Transfers 0: t8 only ended here, Okno 2 sent it (was 1).
        ("Okno 3", 5, 8.0, 13.6, 9.4, 2, 0, 0),
    )
    assert handling["by_clerk"] == rows(
        ("clerk", *TIME),
        # Anna finished what Okno 1 did; t9's refusal served nobody, t13 moved on.
        # Transfers 1: she sent t13 on (was 0).
        ("Anna Nowak", 6, 13.5, 19.0, 14.2, 2, 1, 0),
        # Transfer t8 (instead of t13, which only ended with her), park t16.
        ("Bartek Zieliński", 5, 10.0, 13.2, 10.6, 0, 1, 1),
        # Celina finished t8, which Bartek had started; nobody served t17.
        # Recalls 2: she recalled t17 (was 0); transfers 0: Bartek sent t8 (was 1).
        ("Celina Wójcik", 5, 8.0, 13.6, 9.4, 2, 0, 0),
    )
    czech = of_week(any_app, week, "handling", locale="cs")["by_service"]
    assert [r["service"] for r in czech] == ["Přihlášení k pobytu", "Občanské průkazy"]


def test_a_counter_that_only_parked_still_has_its_row(
    any_app: Flask, make_office: MakeOffice, make_service: MakeService
) -> None:
    office = make_office(
        "okno-krakow", timezone="Europe/Warsaw", hours={"daily": "08:00-16:00"}, counters=1
    )
    registration = make_service(office, "meldunek", prefix="M", name="Registration")
    floor = ReportFloor(any_app, office)
    floor.seat("ewa", "Ewa Kos", "Counter 1")
    # Called and set aside, never taken up again: nobody served it, it is at no counter.
    visitor = floor.walk_in(registration, warsaw("2026-10-22", "09:00"))
    floor.act("call_ticket", "ewa", visitor, warsaw("2026-10-22", "09:05"))
    floor.act("park", "ewa", visitor, warsaw("2026-10-22", "09:06"))
    handling = report(any_app, "handling", (office.id,), FIRST, LAST)
    assert handling["by_service"] == rows(
        ("service", *TIME), ("Registration", 0, None, None, None, 0, 0, 1)
    )
    assert handling["by_counter"] == rows(
        ("counter", *TIME), ("Counter 1", 0, None, None, None, 0, 0, 1)
    )
    assert handling["by_clerk"] == rows(("clerk", *TIME), ("Ewa Kos", 0, None, None, None, 0, 0, 1))


def test_load_arrivals_against_counters_open(any_app: Flask, week: Week) -> None:
    load = of_week(any_app, week, "load")
    assert load["by_hour"] == rows(
        LOAD,
        # 7 open days. Hour 9: t1-t7 and t10; a counter at work each day (Thu Okno 1,
        # Fri 2, Sat 1, Sun 3, Mon 2, Tue 1, Wed 3): 8 / 7, 7 / 7, 8 / 7.
        (9, 7, 8, 1.1, 1.0, 1.1),
        # t13, t17, t19; Fri Okno 1, Mon Okno 1 and 2, Wed 3, Sat 3: 3 / 7, 5 / 7, 3 / 5.
        (10, 7, 3, 0.4, 0.7, 0.6),
        # t11, t15, t16; Sun Okno 1 (phone), Tue 1 and 2: 3 / 7, 3 / 7, 3 / 3.
        (11, 7, 3, 0.4, 0.4, 1.0),
        # Nobody arrived; Sat Okno 2 (t11) and Tue 2 (t16) at work: 2 / 7.
        (12, 7, 0, 0.0, 0.3, 0.0),
        # t8, t14; Thu Okno 2 and 3, Mon 3: 2 / 7, 3 / 7, 2 / 3.
        (13, 7, 2, 0.3, 0.4, 0.7),
        # t9; Thu Okno 1, Mon 3 (t14's finish): 1 / 7, 2 / 7, 1 / 2.
        (14, 7, 1, 0.1, 0.3, 0.5),
        # t18 came at 15:50 and nobody was at a counter.
        (15, 7, 1, 0.1, 0.0, None),
    )
    assert load["by_weekday"] == rows(
        ("weekday", "open_days", "arrivals", "arrivals_per_day"),
        (0, 1, 3, 3.0),  # Mon t5 t13 t14
        (1, 1, 3, 3.0),  # Tue t6 t15 t16
        (2, 1, 3, 3.0),  # Wed t7 t17 t18
        (3, 1, 3, 3.0),  # Thu t1 t8 t9
        (4, 1, 2, 2.0),  # Fri t2 t10
        (5, 1, 3, 3.0),  # Sat t3 t11 t19
        (6, 1, 1, 1.0),  # Sun t4 (t12 by phone is no arrival)
    )
    # Ties (hours 10 and 11, 3 each) go to the earlier hour.
    assert load["peaks"] == [
        {"hour": 9, "arrivals_per_day": 1.1},
        {"hour": 10, "arrivals_per_day": 0.4},
        {"hour": 11, "arrivals_per_day": 0.4},
    ]


def test_one_service_waits_for_its_line_and_is_timed_where_it_ended(
    any_app: Flask, week: Week
) -> None:
    waiting = of_week(any_app, week, "waiting", service="dowody", locale="pl")
    # t13 joined the ID cards line: its wait counts here.
    assert waiting["overall"] == rows(WAIT, (6, 17.5, 32.5, 0.3333, 0.8333, 0.8333))
    assert [r["service"] for r in waiting["by_service"]] == ["Dowody osobiste"]
    assert [r["weekday"] for r in waiting["by_weekday"]] == [0, 1, 2, 3, 5]
    # Its appointment t14 only: 5 min early.
    assert waiting["punctuality"] == [
        {"called": 1, "median_minutes": -5.0, "p90_minutes": -5.0, "on_time": 1.0, "early": 1.0}
    ]

    # ...but t13 was served for registration: not here. Okno 3: t8 6, t14 14, t19 13,
    # p90 rank 1.8 = 13 + 0.8 * 1; Okno 2: t16 9.
    handling = of_week(any_app, week, "handling", service="dowody")
    assert handling["by_service"] == rows(
        ("service", *TIME), ("ID cards", 4, 11.0, 13.7, 10.5, 2, 1, 1)
    )
    # Acts on ID cards tickets (t13 ended in registration: its transfer is not here):
    # Okno 2 / Bartek sent t8 on and parked t16; Okno 3 / Celina recalled t17 twice.
    assert handling["by_counter"] == rows(
        ("counter", *TIME),
        ("Okno 2", 1, 9.0, 9.0, 9.0, 0, 1, 1),  # transfers 1: t8 sent from here (was 0)
        ("Okno 3", 3, 13.0, 13.8, 11.0, 2, 0, 0),  # transfers 0: t8 only ended here (was 1)
    )
    assert handling["by_clerk"] == rows(
        ("clerk", *TIME),
        ("Bartek Zieliński", 1, 9.0, 9.0, 9.0, 0, 1, 1),  # transfers 1: he sent t8 (was 0)
        # Recalls 2: she recalled t17 (was 0); transfers 0: Bartek sent t8 (was 1).
        ("Celina Wójcik", 3, 13.0, 13.8, 11.0, 2, 0, 0),
    )

    load = of_week(any_app, week, "load", service="dowody")
    assert load["by_hour"] == rows(
        LOAD,
        # Open days with an ID cards arrival: Thu, Sat, Mon, Tue, Wed. Counters at work on
        # a ticket that joined or ended in that line (t8 t13 t14 t16 t17 t19).
        (10, 5, 3, 0.6, 0.8, 0.8),  # t13 t17 t19; Mon Okno 1 and 2, Wed 3, Sat 3: 3 / 4
        (11, 5, 1, 0.2, 0.2, 1.0),  # t16; Tue Okno 2
        (12, 5, 0, 0.0, 0.2, 0.0),  # Tue Okno 2 (t16 finished at 12:00)
        (13, 5, 2, 0.4, 0.6, 0.7),  # t8 t14; Thu Okno 2 and 3, Mon 3
        (14, 5, 0, 0.0, 0.2, 0.0),  # Mon Okno 3
    )
    assert load["peaks"] == [
        {"hour": 10, "arrivals_per_day": 0.6},
        {"hour": 13, "arrivals_per_day": 0.4},
        {"hour": 11, "arrivals_per_day": 0.2},
    ]

    # A period without visitors: one overall row with nothing in it, and no other rows.
    quiet = (date(2027, 1, 4), date(2027, 1, 10))
    empty = report(any_app, "waiting", (week.floor.office.id,), *quiet)
    assert empty["overall"] == rows(WAIT, (0, None, None, None, None, None))
    assert empty["punctuality"] == [
        {"called": 0, "median_minutes": None, "p90_minutes": None, "on_time": None, "early": None}
    ]
    assert empty["by_service"] == empty["by_hour"] == empty["by_weekday"] == []
    for name in ("handling", "load"):
        tables = report(any_app, name, (week.floor.office.id,), *quiet)
        assert all(table == [] for table in tables.values()), name


def test_offices_together_each_on_its_own_clock(
    any_app: Flask, week: Week, make_office: MakeOffice, make_service: MakeService
) -> None:
    london = make_office(
        "okno-londyn",
        name="Londyn",
        timezone="Europe/London",
        hours={"daily": "08:00-16:00"},
        counters=["Okno 1"],
    )
    registration = make_service(london, "meldunek", prefix="M", name="Registration in London")
    floor = ReportFloor(any_app, london)
    floor.seat("dorota", "Dorota Lis", "Okno 1")
    # Monday 26 at 09:00 in London (GMT since Sunday) is 10:00 in Warsaw: waits 40, served 20.
    visitor = floor.walk_in(registration, warsaw("2026-10-26", "10:00"))
    floor.serve(
        "dorota",
        visitor,
        warsaw("2026-10-26", "10:40"),
        warsaw("2026-10-26", "10:41"),
        warsaw("2026-10-26", "11:01"),
    )
    both = (week.floor.office.id, london.id)

    waiting = report(any_app, "waiting", both, FIRST, LAST)
    # One registration line across the offices, named as the first office names it:
    # 4 5 5 6 8 12 15 22 25 30 35 40: median (12 + 15) / 2, p90 rank 9.9 = 30 + 0.9 * 5.
    assert waiting["by_service"][:1] == rows(
        ("service", *WAIT), ("Registration", 12, 13.5, 34.5, 0.4167, 0.5833, 0.8333)
    )
    # Hour 9 on London's clock: 4 6 8 12 15 22 25 35 40, median rank 4, p90 35 + 0.2 * 5.
    assert waiting["by_hour"][:1] == rows(
        ("hour", *WAIT), (9, 9, 15.0, 36.0, 0.3333, 0.5556, 0.7778)
    )

    handling = report(any_app, "handling", both, FIRST, LAST)
    # Counters are named per office: across offices the office is said.
    assert [r["counter"] for r in handling["by_counter"]] == [
        "Okno 1 (Warszawa)",
        "Okno 2 (Warszawa)",
        "Okno 3 (Warszawa)",
        "Okno 1 (Londyn)",
    ]
    assert handling["by_counter"][-1:] == rows(
        ("counter", *TIME), ("Okno 1 (Londyn)", 1, 20.0, 20.0, 20.0, 0, 0, 0)
    )

    load = report(any_app, "load", both, FIRST, LAST)["by_hour"]
    # Still 7 open days. Hour 9: 9 arrivals; 8 (day, counter) pairs: 9 / 7, 8 / 7, 9 / 8.
    # Hour 10: London's Okno 1 finished at 10:01 there: 6 pairs: 3 / 7, 6 / 7, 3 / 6.
    assert load[:2] == rows(LOAD, (9, 7, 9, 1.3, 1.1, 1.1), (10, 7, 3, 0.4, 0.9, 0.5))
