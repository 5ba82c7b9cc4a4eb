"""Calendar files: parsed by icalendar and by vobject, right on both sides of a clock change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest
import time_machine
import vobject
from flask import Flask
from flask.testing import FlaskClient

from tests.helpers.factories import MadeService, MakeBooking, MakeOffice, MakeService
from tests.helpers.forms import csrf_token, local_start

PRAGUE = ZoneInfo("Europe/Prague")


@pytest.fixture
def service(make_office: MakeOffice, make_service: MakeService) -> MadeService:
    """30-minute visits at an office in Prague's time zone."""
    office = make_office(timezone="Europe/Prague", address="Jagellonská 8, 301 00 Plzeň")
    return make_service(office, duration=30)


def ics_event(client: FlaskClient, token: str) -> tuple[bytes, icalendar.Event]:
    response = client.get(f"/manage/{token}/booking.ics")
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    calendar = icalendar.Calendar.from_ical(response.data)
    (event,) = calendar.walk("VEVENT")
    return response.data, event


def both_parsers(body: bytes) -> tuple[datetime, datetime, str, int]:
    """DTSTART, DTEND, UID and SEQUENCE as icalendar and vobject each read them (must agree)."""
    (event,) = icalendar.Calendar.from_ical(body).walk("VEVENT")
    ours = (event.DTSTART, event.DTEND, str(event["UID"]), int(event["SEQUENCE"]))
    theirs = vobject.readOne(body.decode()).vevent
    other = (
        theirs.dtstart.value,
        theirs.dtend.value,
        theirs.uid.value,
        int(theirs.sequence.value),
    )
    assert ours[0] == other[0] and ours[1] == other[1], (ours, other)
    assert ours[2:] == other[2:]
    return ours


@pytest.mark.parametrize(
    "today,days",
    [
        # The Mondays before and after the spring change (29 March 2026).
        (datetime(2026, 3, 20, 9, tzinfo=UTC), ["2026-03-23", "2026-03-30"]),
        # The Wednesday before and the Monday after the autumn change (25 October 2026).
        (datetime(2026, 10, 16, 9, tzinfo=UTC), ["2026-10-21", "2026-10-26"]),
    ],
)
def test_ics_times_match_the_booked_slot_across_the_clock_change(
    app: Flask, service: MadeService, make_booking: MakeBooking, today: datetime, days: list[str]
) -> None:
    with time_machine.travel(today, tick=True):
        client = app.test_client()
        for i, day in enumerate(days):
            start = local_start(day, "16:30", "Europe/Prague")
            token = make_booking(service, start, email=f"r{i}@example.cz").token
            body, event = ics_event(client, token)
            dtstart, dtend, _uid, sequence = both_parsers(body)
            assert dtstart.astimezone(UTC) == datetime.fromisoformat(start)
            local = dtstart.astimezone(PRAGUE)
            assert (local.hour, local.minute) == (16, 30)
            assert dtend - dtstart == timedelta(minutes=30)
            assert event["DTSTART"].to_ical().endswith(b"Z")  # UTC: no VTIMEZONE to misread
            assert event.DTEND.astimezone(PRAGUE).hour == 17
            assert sequence == 0


def test_ics_carries_no_personal_data_and_says_where(
    app: Flask, service: MadeService, make_booking: MakeBooking
) -> None:
    with time_machine.travel(datetime(2026, 3, 20, 9, tzinfo=UTC), tick=True):
        client = app.test_client()
        token = make_booking(
            service,
            local_start("2026-03-23", "09:00", "Europe/Prague"),
            name="Zdeňka Nováková",
            email="zdenka.novakova@example.cz",
            phone="+420 601 123 456",
        ).token
        body, event = ics_event(client, token)
    text = body.decode()
    for personal in ("Zdeňka", "Nováková", "zdenka", "601", "123 456", token):
        assert personal not in text
    assert "Jagellonská 8" in str(event["LOCATION"])
    assert icalendar.Calendar.from_ical(body)["METHOD"] == "PUBLISH"


def test_reschedule_and_cancel_keep_the_uid_and_raise_the_sequence(
    app: Flask, service: MadeService, make_booking: MakeBooking
) -> None:
    with time_machine.travel(datetime(2026, 3, 20, 9, tzinfo=UTC), tick=True):
        client = app.test_client()
        token = make_booking(service, local_start("2026-03-23", "09:00", "Europe/Prague")).token
        first, _ = ics_event(client, token)
        _, _, uid, sequence = both_parsers(first)
        new_start = local_start("2026-03-30", "10:00", "Europe/Prague")
        response = client.post(
            f"/manage/{token}/reschedule",
            data={
                "csrf_token": csrf_token(client, f"/manage/{token}/reschedule/2026-03-30"),
                "start": new_start,
            },
        )
        assert response.status_code == 302
        moved, _ = ics_event(client, token)
        moved_start, _, moved_uid, moved_sequence = both_parsers(moved)
        assert moved_uid == uid and moved_sequence == sequence + 1
        assert moved_start.astimezone(UTC) == datetime.fromisoformat(new_start)
        response = client.post(
            f"/manage/{token}/cancel",
            data={"csrf_token": csrf_token(client, f"/manage/{token}/cancel")},
        )
        assert response.status_code == 302
        cancelled, event = ics_event(client, token)
        _, _, cancelled_uid, cancelled_sequence = both_parsers(cancelled)
    assert icalendar.Calendar.from_ical(cancelled)["METHOD"] == "CANCEL"
    assert str(event["ORGANIZER"]).startswith("mailto:")  # clients ignore a CANCEL without it
    assert str(event["STATUS"]) == "CANCELLED"
    assert cancelled_uid == uid and cancelled_sequence == moved_sequence + 1
