"""Offices set up from a TOML file through the CLI, and the app's own configuration."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from booking.models import Office
from okienko.app import create_app
from okienko.config import from_environment
from okienko.database import db
from tests.helpers.office_files import import_office


def test_import_creates_then_updates_in_place(app: Flask, tmp_path: Path) -> None:
    result = import_office(app, tmp_path)
    assert result.exit_code == 0, result.output
    assert "test-office: 1 services, 1 counters" in result.output
    result = import_office(app, tmp_path, opens="09:00")
    assert result.exit_code == 0, result.output
    with app.app_context():
        offices = db.session.scalars(select(Office).where(Office.slug == "test-office")).all()
        assert len(offices) == 1
        office = offices[0]
        assert sorted((h.weekday, h.opens.hour) for h in office.hours) == [(0, 9), (3, 9)]
        assert office.services[0].documents_for("cs") == ["Dowód osobisty"]
        assert office.counters[0].services == office.services


def test_the_data_protection_officer_is_optional_and_an_import_without_one_clears_it(
    app: Flask, tmp_path: Path
) -> None:
    dpo = 'dpo = { email = "IOD@Example.PL", address = "ul. Testowa 1, 00-001 Warszawa" }'
    assert import_office(app, tmp_path, settings=dpo).exit_code == 0
    with app.app_context():
        office = db.session.scalar(select(Office).where(Office.slug == "test-office"))
        # The domain is normalized to lower case; the local part is kept as written.
        assert office.dpo_email == "IOD@example.pl"
        assert office.dpo_address == "ul. Testowa 1, 00-001 Warszawa"
    assert (
        import_office(app, tmp_path, settings='dpo = { email = "iod@example.pl" }').exit_code == 0
    )
    with app.app_context():
        office = db.session.scalar(select(Office).where(Office.slug == "test-office"))
        assert (office.dpo_email, office.dpo_address) == ("iod@example.pl", None)
    assert import_office(app, tmp_path).exit_code == 0
    with app.app_context():
        office = db.session.scalar(select(Office).where(Office.slug == "test-office"))
        assert (office.dpo_email, office.dpo_address) == (None, None)


@pytest.mark.parametrize(
    "values,message",
    [
        ({"timezone": "Europe/Atlantis"}, "unknown time zone"),
        ({"opens": "08:10"}, "not on the 15-minute grid"),
        ({"opens": "8 o'clock"}, "is not a time"),
        ({"opens": "17:00"}, "opens at"),
        ({"settings": 'subdivision = "XX"'}, "has no subdivision"),
        ({"slot_minutes": "45"}, "must divide 60"),
        ({"timezone": "Asia/Kolkata", "slot_minutes": "60"}, "off the 60-minute grid"),
        ({"settings": 'public_holidays = "no"'}, "'public_holidays' is true or false"),
        ({"settings": 'dpo = "iod@example.pl"'}, "dpo: give a table like"),
        ({"settings": 'dpo = { phone = "+48 94 34 09 100" }'}, "dpo: give a table like"),
        ({"settings": 'dpo = { email = "iod at example.pl" }'}, "is not an e-mail address"),
        ({"settings": 'dpo = { address = " " }'}, "'address' must be a postal address"),
    ],
)
def test_import_refuses_a_bad_file_with_a_clear_message(
    app: Flask, tmp_path: Path, values: dict[str, str], message: str
) -> None:
    result = import_office(app, tmp_path, **values)
    assert result.exit_code != 0
    assert message in result.output
    with app.app_context():
        assert db.session.scalar(select(Office).where(Office.slug == "test-office")) is None


def test_demo_command_loads_the_demo_offices_and_prints_urls(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    slugs = ("plzen-kontaktni-misto", "bytom-zielna", "bytom-armii-krajowej", "koszalin-zbm")
    for slug in (*slugs, "demo-always-open"):
        assert f"/o/{slug}" in result.output or slug in result.output
    assert "outbox" in result.output.lower()
    # Per office (four real ones and the demo office that never closes) a kiosk and a
    # display link that sign a browser in, and the counter login.
    links = re.findall(r"(?:kiosk|display):\s+http://\S+(/device/\S+)", result.output)
    assert len(links) == 2 * 5
    assert "/counter/" in result.output and "password demo" in result.output
    kiosk = app.test_client()
    assert kiosk.get(links[0]).headers["Location"].endswith("/kiosk/")
    assert kiosk.get("/kiosk/").status_code == 200
    with app.app_context():
        zielna = db.session.scalar(select(Office).where(Office.slug == "bytom-zielna"))
        assert len(zielna.counters) == 3 and zielna.timezone == "Europe/Warsaw"
        plzen = db.session.scalar(select(Office).where(Office.slug == "plzen-kontaktni-misto"))
        assert sorted({h.weekday for h in plzen.hours}) == [0, 2]


def test_secret_key_is_generated_once_and_kept(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    first = from_environment(tmp_path)
    second = from_environment(tmp_path)
    assert first["SECRET_KEY"] == second["SECRET_KEY"] and len(first["SECRET_KEY"]) >= 64
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0
    assert first["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'okienko.db'}"


def test_database_url_switches_to_postgresql(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://okienko@db.example/okienko")
    config = from_environment(tmp_path)
    assert config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://okienko@db.example/okienko"


def test_create_app_takes_overrides(tmp_path: Path) -> None:
    app = create_app({"INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "s" * 40})
    assert app.config["SECRET_KEY"] == "s" * 40 and app.instance_path == str(tmp_path)


def test_slot_length_cannot_change_under_bookings(app: Flask, tmp_path: Path) -> None:
    """Bookings hold cells of the old grid; a new grid would let new bookings overlap them."""
    assert import_office(app, tmp_path).exit_code == 0
    client = app.test_client()
    days = client.get("/api/v1/offices/test-office/services/raty/availability").get_json()
    start = next(s for d in days["days"] for s in d["starts"])
    created = client.post(
        "/api/v1/bookings",
        json={
            "office": "test-office",
            "service": "raty",
            "start": start,
            "name": "Ewa",
            "phone": "601000001",
            "consent": True,
        },
    )
    assert created.status_code == 201
    result = import_office(app, tmp_path, slot_minutes="30")
    assert result.exit_code != 0 and "cannot change while 1 upcoming bookings" in result.output
    assert import_office(app, tmp_path, slot_minutes="15").exit_code == 0
