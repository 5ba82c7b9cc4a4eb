"""The days the clocks change: every time shown once and told apart, none that does not exist."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
import time_machine
from flask import Flask

from tests.helpers.factories import MakeOffice, MakeService
from tests.helpers.forms import book_form, manage_token

TIME_RE = re.compile(r'class="time" href="[^"]*start=([^"&]+)[^"]*">([^<]+)<')


@pytest.fixture
def night(app: Flask, make_office: MakeOffice, make_service: MakeService) -> Flask:
    """A night desk in Warsaw, open on Sundays 00:00-06:00: the nights the clocks change."""
    office = make_office(
        "night-desk", timezone="Europe/Warsaw", hours={"sun": "00:00-06:00"}, min_notice_minutes=0
    )
    make_service(office, "night", duration=15)
    return app


def times(app: Flask, day: str, lang: str = "en") -> list[tuple[str, str]]:
    page = app.test_client().get(f"/o/night-desk/night/{day}?lang={lang}")
    assert page.status_code == 200
    return TIME_RE.findall(page.get_data(as_text=True))


# The zone of a repeated time in the reader's language, as Babel (CLDR) names it: summer
# time, then standard time. English has no abbreviation for Central European time, only
# the offset; Czech names it in Czech.
ZONES = {
    "en": ("+0200", "+0100"),
    "pl": ("CEST", "CET"),
    "cs": ("SELČ", "SEČ"),
}


@pytest.mark.parametrize("lang", sorted(ZONES))
def test_the_autumn_change_tells_the_repeated_hour_apart(night: Flask, lang: str) -> None:
    summer, winter = ZONES[lang]
    with time_machine.travel(datetime(2026, 10, 20, 10, tzinfo=UTC), tick=False):
        shown = times(night, "2026-10-25", lang)
    labels = [label for _start, label in shown]
    # 00:00 CEST to 06:00 CET is seven hours: 28 times, and no label twice.
    assert len(labels) == 28 and len(set(labels)) == 28, labels
    assert labels[8:16] == [
        f"02:00 {summer}",
        f"02:15 {summer}",
        f"02:30 {summer}",
        f"02:45 {summer}",
        f"02:00 {winter}",
        f"02:15 {winter}",
        f"02:30 {winter}",
        f"02:45 {winter}",
    ], labels
    assert labels[7] == "01:45" and labels[16] == "03:00"  # unambiguous times stay plain
    starts = dict((label, start) for start, label in shown)
    assert starts[f"02:30 {summer}"].replace("%3A", ":") == "2026-10-25T00:30:00Z"
    assert starts[f"02:30 {winter}"].replace("%3A", ":") == "2026-10-25T01:30:00Z"


@pytest.mark.parametrize("lang", sorted(ZONES))
def test_the_booking_form_and_the_manage_page_name_the_zone_of_a_repeated_time(
    night: Flask, lang: str
) -> None:
    summer, winter = ZONES[lang]
    with time_machine.travel(datetime(2026, 10, 20, 10, tzinfo=UTC), tick=False):
        client = night.test_client()
        form = client.get(f"/o/night-desk/night/book?start=2026-10-25T01:30:00Z&lang={lang}")
        assert f"02:30 {winter}" in form.get_data(as_text=True)
        token = manage_token(
            book_form(client, "night-desk", "night", "2026-10-25T01:30:00Z", language=lang)
        )
        page = client.get(f"/manage/{token}?lang={lang}").get_data(as_text=True)
    assert f"02:30 {winter}" in page and f"02:30 {summer}" not in page


def test_the_spring_change_shows_no_time_that_does_not_exist(night: Flask) -> None:
    with time_machine.travel(datetime(2026, 3, 25, 10, tzinfo=UTC), tick=False):
        labels = [label for _start, label in times(night, "2026-03-29")]
    # 00:00 CET to 06:00 CEST is five hours; 02:00-02:59 never happens that night.
    assert len(labels) == 20, labels
    assert labels[7:9] == ["01:45", "03:00"], labels
    assert not any(label.startswith("02:") or " " in label for label in labels), labels
