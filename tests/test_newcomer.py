"""A newcomer's first ten minutes: `make run` installs only what serving needs, the floor can
be tried at any hour at the demo office, and the docs need nothing outside the repository."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from datetime import UTC, date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from flask import Flask
from sqlalchemy import select

from booking import slots
from booking.availability import schedule_for
from booking.models import Office
from booking.slots import HoursRule, Schedule, opening_intervals
from okienko.database import db
from queueing.models import DeviceKind
from tests.helpers.floor import Clerk, error_of, signed_in_device, take_number, walk_in
from tests.helpers.office_files import import_office

ROOT = Path(__file__).resolve().parent.parent
DEMO = "demo-always-open"
WARSAW = ZoneInfo("Europe/Warsaw")


def warsaw(day: str, at: str) -> datetime:
    return datetime.fromisoformat(f"{day}T{at}").replace(tzinfo=WARSAW).astimezone(UTC)


# ---------------------------------------------------------------- the demo office


@pytest.mark.parametrize(
    "now",
    [
        warsaw("2026-11-29", "23:00"),  # a Sunday night
        warsaw("2026-12-25", "10:00"),  # Christmas Day, a public holiday on a Friday
        warsaw("2026-11-11", "03:00"),  # Independence Day, a Wednesday, in the small hours
    ],
    ids=["sunday-23h", "christmas", "holiday-3am"],
)
def test_the_demo_office_serves_a_walk_in_at_any_hour(app: Flask, now: datetime) -> None:
    with time_machine.travel(now, tick=False):
        # A real office is closed then: its kiosk issues nothing.
        koszalin = signed_in_device(app)
        assert "The office is closed now." in error_of(take_number(koszalin))

        kiosk = signed_in_device(app, office=DEMO)
        assert "/kiosk/walk-in/consultation" in kiosk.get("/kiosk/").get_data(as_text=True)
        ticket_id = walk_in(kiosk, "consultation")
        clerk = Clerk(app, "demo-clerk", "Counter 1", office=DEMO)
        called = clerk.call_next()
        assert called.status_code == 200, called.get_data(as_text=True)[:1000]
        assert called.get_json()["ticket"]["ticket_id"] == ticket_id
        assert called.get_json()["ticket"]["ticket"] == "A001"

        display = signed_in_device(app, DeviceKind.DISPLAY, "Lobby display", office=DEMO)
        state = display.get("/display/state.json").get_json()
    assert [(c["ticket_id"], c["ticket"], c["counter"]) for c in state["calls"]] == [
        (ticket_id, "A001", "Counter 1")
    ]


def test_the_demo_office_is_labelled_and_open_all_day_every_day(any_app: Flask) -> None:
    """On PostgreSQL too: the end of the day (23:59:59.999999) survives the round trip."""
    with any_app.app_context():
        office = db.session.scalar(select(Office).where(Office.slug == DEMO))
        assert "demo" in office.name.lower() and "not a real office" in office.name
        assert not office.public_holidays
        assert sorted(h.weekday for h in office.hours) == list(range(7))
        assert {(h.opens, h.closes) for h in office.hours} == {(time(0), slots.END_OF_DAY)}
        # Every day of a year, holidays and both clock changes included, is open from one
        # local midnight to the next.
        first, last = date(2026, 1, 1), date(2026, 12, 31)
        schedule = schedule_for(office, first, last)
        day = first
        while day <= last:
            [(opens, closes)] = opening_intervals(schedule, day)
            assert opens.astimezone(WARSAW) == datetime.combine(day, time(0), WARSAW)
            assert closes.astimezone(WARSAW).time() == time(0)
            assert closes.astimezone(WARSAW).date() == date.fromordinal(day.toordinal() + 1)
            day = date.fromordinal(day.toordinal() + 1)
        # The real offices still close on public holidays.
        koszalin = db.session.scalar(select(Office).where(Office.slug == "koszalin-zbm"))
        christmas = date(2026, 12, 25)
        assert opening_intervals(schedule_for(koszalin, christmas, christmas), christmas) == []


def test_flask_demo_prints_the_demo_office_links_and_logins(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    block = result.output.split("not a real office)\n", 1)[1].split("\n\n", 1)[0]
    assert f"/o/{DEMO}?lang=en" in block
    kiosk = re.search(r"kiosk:\s+http://\S+(/device/\S+)", block).group(1)
    display = re.search(r"display:\s+http://\S+(/device/\S+)", block).group(1)
    assert "log in as demo1, demo2; password demo" in block
    assert app.test_client().get(kiosk).headers["Location"].endswith("/kiosk/")
    assert app.test_client().get(display).headers["Location"].endswith("/display/")


def test_a_day_can_end_at_24_00_and_public_holidays_can_stay_open(
    app: Flask, tmp_path: Path
) -> None:
    def load(holidays: str) -> str:
        result = import_office(
            app, tmp_path, days=("sat", "sun"), opens="00:00", closes="24:00", settings=holidays
        )
        return result.output if result.exit_code else ""

    assert load("") == ""
    with app.app_context():
        office = db.session.scalar(select(Office).where(Office.slug == "test-office"))
        assert {(h.opens, h.closes) for h in office.hours} == {(time(0), slots.END_OF_DAY)}
        assert office.public_holidays
        # 26 December 2026 is a Saturday and a public holiday: closed, unlike the 27th.
        holiday, sunday = date(2026, 12, 26), date(2026, 12, 27)
        schedule = schedule_for(office, holiday, sunday)
        assert opening_intervals(schedule, holiday) == []
        assert opening_intervals(schedule, sunday) == [
            (warsaw("2026-12-27", "00:00"), warsaw("2026-12-28", "00:00"))
        ]
    assert load("public_holidays = false") == ""
    with app.app_context():
        office = db.session.scalar(select(Office).where(Office.slug == "test-office"))
        assert not office.public_holidays
        schedule = schedule_for(office, holiday, holiday)
        assert opening_intervals(schedule, holiday) == [
            (warsaw("2026-12-26", "00:00"), warsaw("2026-12-27", "00:00"))
        ]
    assert "'public_holidays' is true or false" in load('public_holidays = "no"')


def test_closing_at_24_00_runs_to_the_next_midnight_across_clock_changes() -> None:
    schedule = Schedule(WARSAW, 15, [HoursRule(6, time(0), slots.END_OF_DAY)])  # Sundays
    for day, hours in ((date(2026, 3, 29), 23), (date(2026, 10, 25), 25), (date(2026, 11, 1), 24)):
        [(opens, closes)] = opening_intervals(schedule, day)
        assert (closes - opens).total_seconds() == hours * 3600, day


# ---------------------------------------------------------------- make run and make test


def dry_run(folder: Path, *args: str) -> str:
    result = subprocess.run(
        ["make", "-n", *args],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHON": "python3"},
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def stamp(folder: Path, name: str) -> None:
    """A file made after the folder's pyproject.toml, as an install leaves its stamp."""
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()
    later = (folder / "pyproject.toml").stat().st_mtime + 10
    os.utime(path, (later, later))


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_run_installs_only_what_serving_needs_and_make_test_adds_the_rest(
    tmp_path: Path,
) -> None:
    shutil.copy(ROOT / "Makefile", tmp_path)
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    fresh = dry_run(tmp_path, "run")
    assert "-m venv .venv" in fresh
    installs = [line for line in fresh.splitlines() if "pip install" in line and "-e" in line]
    assert installs == [".venv/bin/python -m pip install --quiet -e ."], installs

    # After `make run`: `make run` installs nothing, `make test` adds the dev extras only.
    stamp(tmp_path, ".venv/bin/python")
    (run_stamp,) = {line.split()[-1] for line in fresh.splitlines() if line.startswith("touch")}
    stamp(tmp_path, run_stamp)
    assert "pip install" not in dry_run(tmp_path, "run")
    then_test = dry_run(tmp_path, "test")
    assert "-m venv" not in then_test
    assert [line for line in then_test.splitlines() if "pip install" in line] == [
        ".venv/bin/python -m pip install --quiet -e '.[dev]'"
    ]

    # After `make test` on a fresh clone: `make run` installs nothing again.
    (tmp_path / run_stamp).unlink()
    fresh_test = dry_run(tmp_path, "test")
    touched = next(line for line in fresh_test.splitlines() if line.startswith("touch"))
    for name in touched.split()[1:]:
        stamp(tmp_path, name)
    assert "pip install" not in dry_run(tmp_path, "run")
    assert "pip install" not in dry_run(tmp_path, "test")


def test_ci_still_runs_make_test() -> None:
    assert re.search(r"^make test\b", (ROOT / ".ci" / "run").read_text(), re.MULTILINE)


# ---------------------------------------------------------------- the docs


def repository_texts() -> list[Path]:
    tracked = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    suffixes = {".md", ".py", ".toml", ".html", ".txt", ".cfg", ".js", ".css", ""}
    return [
        ROOT / name
        for name in tracked
        if Path(name).suffix in suffixes
        and not name.startswith(("translations/", "static/vendor/", "tests/vendor/"))
        and (ROOT / name).is_file()
    ]


def test_docs_and_comments_need_nothing_outside_the_repository() -> None:
    """The demo data's sources are named as public pages, not as files the reader lacks."""
    # Spelt in pieces, so that this file does not match itself.
    outside = re.compile(
        "|".join([r"\.\./" + "shared", "shared/" + "seeds", r"\bseed" + r" \d{3}\b"])
    )
    found = [
        f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
        for path in repository_texts()
        for n, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1)
        if outside.search(line)
    ]
    assert found == []
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for page in ("Kontaktní místo pro bydlení funguje dva roky", "Program odpracowywania"):
        assert page in readme


def test_device_link_help_says_the_link_is_reusable_and_how_to_revoke_it(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["devices", "create", "--help"])
    text = " ".join(result.output.split())
    assert "one-time" not in text
    assert "can be used again" in text and "stops working" in text
    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    assert "can be used again" in readme and "stops working" in readme

    # And that is what happens: two browsers sign in with one link, twice each; a new link
    # for the same device stops the old one and signs its browsers out.
    with app.app_context():
        from booking.cli import find_office
        from queueing.cli import replace_device

        old = replace_device(find_office(DEMO), DeviceKind.KIOSK, "Kiosk 9")
        db.session.commit()
    old = old[old.index("/device/") :]
    browsers = [app.test_client(), app.test_client()]
    for browser in browsers * 2:
        assert browser.get(old).headers["Location"].endswith("/kiosk/")
        assert browser.get("/kiosk/").status_code == 200
    with app.app_context():
        new = replace_device(find_office(DEMO), DeviceKind.KIOSK, "Kiosk 9")
        db.session.commit()
    new = new[new.index("/device/") :]
    assert browsers[0].get("/kiosk/").status_code == 403
    assert browsers[1].get(old).status_code == 404
    assert browsers[1].get(new).headers["Location"].endswith("/kiosk/")
