"""Opening hours through the administration's week editor: rows added and removed without
JavaScript, a preview of the week before anything is saved, the booking calendar following
the saved hours, sets valid between dates, shorter hours showing the visits they take away,
and a message next to every wrong field."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine
from flask import Flask
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from admin.models import ChangeLog
from booking.models import BookingStatus, Office, OpeningHours
from okienko.database import db
from queueing.models import StaffUser
from tests.helpers.admin import Account, session_of
from tests.helpers.factories import MakeBooking, MakeOffice, MakeService
from tests.helpers.forms import csrf_token
from tests.helpers.office_changes import (
    NOW,
    SLUG,
    World,
    booked_office,
    form_fields,
    with_values,
)

TIME_RE = re.compile(r'class="time" href="[^"]*start=([^"&]+)[^"]*">([^<]+)<')


@pytest.fixture
def world(
    app: Flask, make_office: MakeOffice, make_service: MakeService, make_booking: MakeBooking
) -> Any:
    with time_machine.travel(NOW, tick=False):
        yield booked_office(app, make_office, make_service, make_booking)


def times(app: Flask, day: str) -> list[str]:
    page = app.test_client().get(f"/o/{SLUG}/paszport/{day}?lang=en")
    assert page.status_code == 200
    return [label for _start, label in TIME_RE.findall(page.get_data(as_text=True))]


def rows(app: Flask) -> list[tuple[int, str, str, Any, Any]]:
    with app.app_context():
        found = db.session.scalars(
            select(OpeningHours).join(Office).where(Office.slug == SLUG)
        ).all()
        return sorted(
            (
                h.weekday,
                h.opens.strftime("%H:%M"),
                h.closes.strftime("%H:%M"),
                h.valid_from,
                h.valid_to,
            )
            for h in found
        )


def editor(world: World, page: str) -> MultiDict[str, str]:
    """The editor's fields as the page fills them in."""
    return form_fields(world.manager.get(world.url(page)), "hours-editor")


def set_day(fields: MultiDict[str, str], day: str, *spans: tuple[str, str]) -> MultiDict[str, str]:
    """``fields`` with ``day``'s rows replaced by ``spans``."""
    kept = [(k, v) for k, v in fields.items(multi=True) if not k.startswith(f"{day}-")]
    for i, (opens, closes) in enumerate(spans):
        kept += [(f"{day}-{i}-opens", opens), (f"{day}-{i}-closes", closes)]
    return MultiDict(kept)


def press(fields: MultiDict[str, str], button: str, value: str = "1") -> MultiDict[str, str]:
    return with_values(fields, **{button: value})


def test_the_week_is_previewed_then_saved_and_the_calendar_follows(
    app: Flask, world: World
) -> None:
    listing = world.manager.get(world.url("hours")).get_data(as_text=True)
    assert "08:00–16:00" in listing and "Hours valid at all times" in listing
    hours_id = world.hours_id()
    fields = editor(world, f"hours/{hours_id}")
    assert fields["wed-0-opens"] == "08:00" and fields["wed-0-closes"] == "16:00"
    assert fields["sat-0-opens"] == ""  # a blank row to type into
    wednesday = set_day(fields, "wed", ("08:00", "12:00"), ("13:00", "18:00"))
    preview = world.manager.post(world.url(f"hours/{hours_id}"), data=press(wednesday, "preview"))
    page = preview.get_data(as_text=True)
    assert preview.status_code == 200, page[:3000]
    assert "08:00–12:00, 13:00–18:00" in page
    assert '<rect class="open" x="780" y="2" width="300"' in page  # 13:00-18:00 drawn
    # Nothing is saved by the preview: the calendar still shows the old hours.
    assert "12:30" in times(app, "2026-12-09") and "17:30" not in times(app, "2026-12-09")

    saved = world.manager.post(
        world.url(f"hours/{hours_id}"),
        data=press(form_fields(preview, "hours-save"), "save"),
    )
    assert saved.status_code == 302, saved.get_data(as_text=True)[:3000]
    wednesday_times = times(app, "2026-12-09")
    assert wednesday_times[0] == "08:00" and "11:30" in wednesday_times
    assert "11:45" not in wednesday_times and "12:30" not in wednesday_times
    assert "13:00" in wednesday_times and wednesday_times[-1] == "17:30"
    assert "15:30" in times(app, "2026-12-08") and "16:00" not in times(app, "2026-12-08")
    with app.app_context():
        [entry] = db.session.scalars(select(ChangeLog).where(ChangeLog.record_type == "hours"))
        assert entry.action == "update"
        assert entry.after["week"]["wed"] == ["08:00–12:00", "13:00–18:00"]
        assert entry.before["week"]["wed"] == ["08:00–16:00"]


def test_rows_are_added_and_removed_without_javascript(world: World) -> None:
    hours_id = world.hours_id()
    fields = editor(world, f"hours/{hours_id}")
    added = world.manager.post(world.url(f"hours/{hours_id}"), data=press(fields, "add", "mon"))
    assert added.status_code == 200
    after_add = form_fields(added, "hours-editor")
    monday = [k for k in after_add if k.startswith("mon-") and k.endswith("-opens")]
    assert len(monday) == 3  # 08:00-16:00, the blank row, and the one added
    filled = with_values(after_add, **{"mon-1-opens": "17:00", "mon-1-closes": "18:00"})
    removed = world.manager.post(
        world.url(f"hours/{hours_id}"), data=press(filled, "remove", "mon-0")
    )
    after_remove = form_fields(removed, "hours-editor")
    assert "mon-0-opens" not in after_remove
    assert after_remove["mon-1-opens"] == "17:00"  # what was typed stays


def test_shorter_hours_show_the_visits_they_take_away(app: Flask, world: World) -> None:
    hours_id = world.hours_id()
    to_save = world.hours_to_save(hours_id, wed=("08:00", "12:00"))
    affected = world.manager.post(world.url(f"hours/{hours_id}"), data=to_save)
    page = affected.get_data(as_text=True)
    assert affected.status_code == 200
    assert world.bookings["afternoon"].code in page
    assert world.bookings["cs"].code not in page  # 10:00 is still open
    assert rows(app)[2][2] == "16:00"  # nothing saved yet
    decided = with_values(form_fields(affected, "affected"), affected_reason="Krótsze godziny")
    done = world.manager.post(world.url(f"hours/{hours_id}"), data=decided)
    assert done.status_code == 302
    assert world.booking("afternoon").status == BookingStatus.CANCELLED
    assert world.booking("cs").status == BookingStatus.BOOKED
    assert (2, "08:00", "12:00", None, None) in rows(app)


def add_set(world: World, fields: MultiDict[str, str]) -> Any:
    """Preview a new set, then save it; the answer to "Save"."""
    preview = world.manager.post(world.url("hours/new"), data=press(fields, "preview"))
    assert preview.status_code == 200, preview.get_data(as_text=True)[:3000]
    return world.manager.post(
        world.url("hours/new"), data=press(form_fields(preview, "hours-save"), "save")
    )


def winter_mondays(world: World, first: str, last: str = "") -> MultiDict[str, str]:
    """A set between dates with Mondays 10:00-14:00 only."""
    fields = set_day(editor(world, "hours/new"), "mon", ("10:00", "14:00"))
    return with_values(fields, valid_from=first, valid_to=last)


def test_a_set_between_dates_replaces_the_usual_hours_on_its_days(app: Flask, world: World) -> None:
    """Winter hours (7 to 13 December, Mondays only) added over the hours valid at all
    times: the booking calendar shows them on their days, the usual hours outside."""
    saved = add_set(world, winter_mondays(world, "2026-12-07", "2026-12-13"))
    # No visit is booked from 7 to 13 December: nothing to decide.
    assert saved.status_code == 302, saved.get_data(as_text=True)[:2000]
    usual = [f"{h:02}:{m:02}" for h in range(8, 16) for m in (0, 15, 30, 45)][:-1]
    assert times(app, "2026-12-04") == usual  # Friday before
    assert times(app, "2026-12-07") == [
        f"{h}:{m}" for h in ("10", "11", "12") for m in ("00", "15", "30", "45")
    ] + ["13:00", "13:15", "13:30"]
    assert times(app, "2026-12-08") == []  # no Tuesday hours in the winter set
    assert times(app, "2026-12-14") == times(app, "2026-12-15") == usual  # after it
    listing = world.manager.get(world.url("hours")).get_data(as_text=True)
    assert "Hours valid at all times" in listing
    assert "from 7 December 2026 to 13 December 2026" in listing
    closures = world.manager.get(world.url("closures") + "?month=2026-12").get_data(as_text=True)
    assert re.search(r'<td class="no-hours">\s*<span class="day-number">8</span>', closures)
    assert not re.search(
        r'<td class="no-hours">\s*<span class="day-number">(7|14|15)</span>', closures
    )

    # Two sets between dates never share a day, nor two without dates.
    overlapping = world.manager.post(
        world.url("hours/new"),
        data=press(winter_mondays(world, "2026-12-13", "2026-12-20"), "preview"),
    )
    assert overlapping.status_code == 422
    assert "These dates overlap the hours valid from 7 December 2026 to 13 December 2026" in (
        overlapping.get_data(as_text=True)
    )
    again = world.manager.post(
        world.url("hours/new"), data=press(winter_mondays(world, ""), "preview")
    )
    assert again.status_code == 422
    assert "These dates overlap the hours valid at all times" in again.get_data(as_text=True)
    assert add_set(world, winter_mondays(world, "2026-12-14")).status_code == 302
    assert times(app, "2026-12-15") == []  # from 14 December on, Mondays only


def in_force_today(world: World) -> list[str]:
    """The headings of the hours list marked as in force today."""
    with world.app.app_context():
        user = db.session.scalar(select(StaffUser).where(StaffUser.username == "zmiany-manager"))
        assert user is not None
        account = Account(user.id, user.username, None)
    manager = session_of(world.app, account)
    page = manager.get(world.url("hours") + "?lang=en").get_data(as_text=True)
    return re.findall(r"Hours valid ([^<]*?)\s*<span class=\"badge\">in force today", page)


def test_the_hours_in_force_are_those_of_the_offices_date(world: World) -> None:
    """Near midnight in Warsaw the office's date, not the server's (UTC), decides."""
    assert add_set(world, winter_mondays(world, "2026-12-07")).status_code == 302
    with time_machine.travel(datetime(2026, 12, 6, 22, 30, tzinfo=UTC), tick=False):
        assert in_force_today(world) == ["at all times"]  # 23:30 on 6 December
    with time_machine.travel(datetime(2026, 12, 6, 23, 30, tzinfo=UTC), tick=False):
        assert in_force_today(world) == ["from 7 December 2026 on"]  # 00:30 on 7 December


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (("12:00", "08:00"), "The closing time must be after the opening time."),
        (("08:00", ""), "Give both the opening and the closing time."),
        (("8.00", "12:00"), "Give a time like 08:30."),
        (("08:07", "12:00"), "Use the office&#39;s grid of 15 minutes"),
    ],
)
def test_a_wrong_interval_says_why_next_to_it(
    world: World, row: tuple[str, str], message: str
) -> None:
    fields = set_day(editor(world, "hours/new"), "sat", row)
    sent = world.manager.post(world.url("hours/new"), data=press(fields, "preview"))
    page = sent.get_data(as_text=True)
    assert sent.status_code == 422
    field = re.search(
        r'<div class="interval" data-row="sat-0">(.*?)</div>\s*</div>\s*<button', page, re.S
    )
    assert field and message in field.group(1), page[:4000]
    assert f'value="{row[0]}"' in page  # what was typed stays


def test_overlapping_intervals_and_dates_are_refused(world: World) -> None:
    fields = set_day(editor(world, "hours/new"), "sat", ("08:00", "12:00"), ("11:00", "14:00"))
    fields = with_values(fields, valid_from="2027-02-10", valid_to="2027-02-01")
    page = world.manager.post(world.url("hours/new"), data=press(fields, "preview"))
    text = page.get_data(as_text=True)
    assert page.status_code == 422
    assert "This overlaps the interval 08:00–12:00." in text
    assert "This date is before the first day." in text
    empty = world.manager.post(
        world.url("hours/new"), data=press(editor(world, "hours/new"), "preview")
    )
    assert empty.status_code == 422
    assert "Give at least one interval." in empty.get_data(as_text=True)


def test_deleting_a_set_asks_first_and_shows_the_visits(app: Flask, world: World) -> None:
    hours_id = world.hours_id()
    token = csrf_token(world.manager, world.url("hours"))
    question = world.manager.post(world.url(f"hours/{hours_id}/delete"), data={"csrf_token": token})
    assert question.status_code == 200 and "Delete these hours" in question.get_data(as_text=True)
    affected = world.manager.post(
        world.url(f"hours/{hours_id}/delete"), data={"csrf_token": token, "confirm": "1"}
    )
    page = affected.get_data(as_text=True)
    assert affected.status_code == 200
    assert all(booking.code in page for booking in world.bookings.values())
    assert len(rows(app)) == 5  # nothing deleted before the manager decides
