"""The office file: a manager downloads it and uploads it again through the transfer page.

Exporting and importing gives the same office: the same file, and the same rows in the
database. An edited file imports its edit; another office's file, a malformed one or one
that would leave booked visits without counter time is refused with a message and changes
nothing.
"""

from __future__ import annotations

import html
import io
import re
import tomllib
from datetime import date, time
from typing import Any

import pytest
import tomli_w
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from admin.models import ChangeLog
from booking.importer import DEMO_FILE
from booking.models import Closure, Office, OpeningHours
from okienko.database import Model, db
from queueing.models import Role
from tests.helpers.admin import PLZEN, ZIELNA, make_account, session_of
from tests.helpers.bookings import booking_of
from tests.helpers.forms import book_form, csrf_token, local_start, manage_token

DEMO_SLUGS = [o["slug"] for o in tomllib.loads(DEMO_FILE.read_text("utf-8"))["office"]]
FLASH_RE = re.compile(r'class="flash flash-(?:success|error)"[^>]*>\s*(?:<p>)?([^<]+)<')


@pytest.fixture
def manager(app: Flask, clock: Any) -> FlaskClient:
    """An administrator, who manages every office, signed in and reading English."""
    account = make_account(app, "transfer-admin", Role.ADMINISTRATOR)
    client = session_of(app, account)
    client.get("/?lang=en")
    return client


def export(client: FlaskClient, slug: str) -> bytes:
    response = client.get(f"/admin/o/{slug}/transfer/export.toml")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == f'attachment; filename="{slug}.toml"'
    return response.data


def upload(client: FlaskClient, slug: str, content: bytes, name: str = "office.toml") -> Any:
    """Upload through the transfer page's form, with its CSRF token."""
    page = f"/admin/o/{slug}/transfer"
    data = {"csrf_token": csrf_token(client, page), "office_file": (io.BytesIO(content), name)}
    return client.post(f"{page}/import", data=data, content_type="multipart/form-data")


def messages(client: FlaskClient, response: Any) -> list[str]:
    """The page's flash messages: the response's own, or (after a redirect) the next page's."""
    if response.status_code == 302:
        response = client.get(response.headers["Location"])
    return [html.unescape(m).strip() for m in FLASH_RE.findall(response.get_data(as_text=True))]


def _columns(row: Model, *skip: str) -> dict[str, Any]:
    table: Any = row.__table__
    return {c.key: getattr(row, c.key) for c in table.columns if c.key not in skip}


def office_state(app: Flask, slug: str) -> dict[str, Any]:
    """Every row the office file sets, as the database holds it. Hours and closures are
    replaced by an import (new ids); every other record keeps its id."""
    with app.app_context():
        office = db.session.scalar(select(Office).where(Office.slug == slug))
        assert office is not None
        return {
            "office": _columns(office),
            "policy": _columns(office.admission) if office.admission else None,
            "questions": [_columns(q) for q in office.questions],
            "departments": [_columns(d) for d in office.departments],
            "services": [_columns(s) for s in office.services],
            "counters": [
                {**_columns(c), "services": sorted(s.id for s in c.services)}
                for c in office.counters
            ],
            "hours": sorted((_columns(h, "id") for h in office.hours), key=repr),
            "closures": sorted((_columns(c, "id") for c in office.closures), key=repr),
        }


def imports(app: Flask) -> list[ChangeLog]:
    with app.app_context():
        rows = list(db.session.scalars(select(ChangeLog).where(ChangeLog.action == "import")))
        for row in rows:
            db.session.expunge(row)
        return rows


# ------------------------------------------------------------------ the round trip


@pytest.mark.parametrize("slug", DEMO_SLUGS)
def test_export_then_import_gives_the_same_office(any_app: Flask, clock: Any, slug: str) -> None:
    """On SQLite and PostgreSQL: times, dates and JSON texts come back as they went in."""
    app = any_app
    manager = session_of(app, make_account(app, "transfer-admin", Role.ADMINISTRATOR))
    manager.get("/?lang=en")
    before = office_state(app, slug)
    first = export(manager, slug)
    response = upload(manager, slug, first)
    assert response.status_code == 302
    assert messages(manager, response) == ["The office file is imported. It changed nothing."]
    assert export(manager, slug) == first
    assert office_state(app, slug) == before
    [entry] = imports(app)
    assert entry.after == {
        "office": 0,
        "regime": 0,
        "questions": 0,
        "departments": 0,
        "services": 0,
        "counters": 0,
        "hours": 0,
        "closures": 0,
        "file": "office.toml",
    }


def test_every_key_of_the_file_survives_the_round_trip(app: Flask, manager: FlaskClient) -> None:
    """Values the demo file leaves at their defaults: names, retention, the data protection
    officer, seasonal hours, closures of whole and part days, regime days, a question that
    refuses on "no", a service neither online nor for walk-ins, departments' contacts."""
    with app.app_context():
        office = db.session.scalar(select(Office).where(Office.slug == ZIELNA))
        assert office is not None and office.admission is not None
        office.names = {"cs": "Bytomské byty – Zielna", "en": "Bytom Housing – Zielna"}
        office.retention_days = 45
        office.dpo_email, office.dpo_address = "iod@bm.bytom.pl", "ul. Zielna 25b, Bytom"
        office.subdivision = "24"
        office.email, office.website = "bm@bm.bytom.pl", "https://bm.bytom.pl"
        office.reminder_time = time(17, 30)
        office.max_calls = 5
        office.hours.append(
            OpeningHours(
                weekday=5,
                opens=time(8),
                closes=time(12),
                valid_from=date(2026, 6, 1),
                valid_to=date(2026, 8, 31),
            )
        )
        office.closures.append(
            Closure(first_day=date(2026, 12, 24), last_day=date(2026, 12, 24), reason="Wigilia")
        )
        office.closures.append(
            Closure(
                first_day=date(2026, 12, 28),
                last_day=date(2026, 12, 30),
                reason="Inwentaryzacja",
                starts=time(12),
                ends=time(15),
            )
        )
        office.admission.first_day = date(2026, 11, 1)
        office.admission.last_day = date(2027, 3, 31)
        office.admission.link_hours_before = 48
        office.questions[1].refuse_on = False
        office.services[0].bookable_online = False
        office.services[0].walk_in = False
        office.departments[0].address = "ul. Zielna 25b, 41-902 Bytom"
        db.session.commit()
    before = office_state(app, ZIELNA)
    first = export(manager, ZIELNA)
    text = first.decode()
    for shown in ("retention_days = 45", "from = 2026-12-28 12:00:00", "to = 2026-12-30 15:00:00"):
        assert shown in text
    assert upload(manager, ZIELNA, first).status_code == 302
    assert export(manager, ZIELNA) == first
    assert office_state(app, ZIELNA) == before


def test_the_office_file_fits_the_upload_limit(app: Flask, manager: FlaskClient) -> None:
    """The largest demo office (Zielna, with Bytomskie Mieszkania's whole directory) leaves
    more than half of the 128 KiB request limit free; a larger upload is refused with 413."""
    limit = app.config["MAX_CONTENT_LENGTH"]
    assert max(len(export(manager, slug)) for slug in DEMO_SLUGS) < limit / 2
    padded = export(manager, PLZEN) + b"\n# " + b"x" * limit
    assert upload(manager, PLZEN, padded).status_code == 413


# ------------------------------------------------------------------ edits


def test_an_edited_file_imports_the_edit(app: Flask, manager: FlaskClient) -> None:
    text = export(manager, PLZEN).decode()
    text = text.replace('cs = "Volné městské byty"', 'cs = "Volné byty města"')
    text = text.replace('cs = "Jste v povinné izolaci nebo karanténě?"', 'cs = "Jste v karanténě?"')
    text += '\n[[office.closures]]\nfrom = 2026-12-23\nto = 2026-12-24\nreason = "Vánoce"\n'
    response = upload(manager, PLZEN, text.encode(), "plzen-edited.toml")
    assert response.status_code == 302
    assert messages(manager, response) == [
        "The office file is imported. Changed: admission questions: 1, services: 1, closures: 1."
    ]
    with app.app_context():
        office = db.session.scalar(select(Office).where(Office.slug == PLZEN))
        assert office is not None
        assert office.services[0].names["cs"] == "Volné byty města"
        assert office.questions[1].texts["cs"] == "Jste v karanténě?"
        assert [(c.first_day, c.last_day, c.reason) for c in office.closures] == [
            (date(2026, 12, 23), date(2026, 12, 24), "Vánoce")
        ]
    [entry] = imports(app)
    assert entry.after["services"] == 1 and entry.after["closures"] == 1
    assert entry.after["file"] == "plzen-edited.toml"
    page = manager.get(f"/admin/o/{PLZEN}/history").get_data(as_text=True)
    assert "import" in page


# ------------------------------------------------------------------ refusals


def test_a_file_for_another_office_is_refused(app: Flask, manager: FlaskClient) -> None:
    before = office_state(app, ZIELNA)
    response = upload(manager, ZIELNA, export(manager, PLZEN))
    assert response.status_code == 422
    assert messages(manager, response)[0] == (
        "The file is for the office 'plzen-kontaktni-misto', not this one (bytom-zielna)."
    )
    both = DEMO_FILE.read_bytes()
    response = upload(manager, ZIELNA, both)
    assert response.status_code == 422
    assert "upload the file of this office alone" in messages(manager, response)[0]
    assert office_state(app, ZIELNA) == before
    assert imports(app) == []


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"[[office]\nslug = 1", "The file is not valid TOML. Correct it where the details"),
        ("Zielna \u2013 25b".encode("utf-16"), "The file is not a text file in UTF-8."),
        (b'title = "no office"', "The file describes no office: it needs one [[office]] table."),
        (
            b'[[office]]\nslug = "bytom-zielna"\nname = "Zielna"',
            "Something in the file is missing or wrong. Correct it where the details below say",
        ),
    ],
)
def test_a_malformed_file_gets_a_message(
    app: Flask, manager: FlaskClient, content: bytes, message: str
) -> None:
    before = office_state(app, ZIELNA)
    response = upload(manager, ZIELNA, content)
    assert response.status_code == 422
    assert messages(manager, response)[0].startswith(message)
    assert office_state(app, ZIELNA) == before


def test_a_mistake_deep_in_the_file_says_where_it_is(app: Flask, manager: FlaskClient) -> None:
    text = export(manager, ZIELNA).decode().replace("duration = 15", 'duration = "15"', 1)
    response = upload(manager, ZIELNA, text.encode())
    assert response.status_code == 422
    assert messages(manager, response)[0] == (
        "Something in the file is missing or wrong. Correct it where the details below say, "
        "and upload the file again."
    )
    page = html.unescape(response.get_data(as_text=True))
    # The importer's own words, in English, set apart from the sentence in the reader's language.
    assert re.search(
        r'<code class="import-detail">office bytom-zielna, '
        r"service zaswiadczenie-niezaleganie: 'duration' must be [^<]+</code>",
        page,
    ), page
    assert "Details (in English):" in page and "Nothing was imported." in page
    manager.get(f"/admin/o/{ZIELNA}/transfer?lang=pl")  # the reader's language from now on
    polish = html.unescape(upload(manager, ZIELNA, text.encode()).get_data(as_text=True))
    assert "Szczegóły (po angielsku):" in polish
    assert "service zaswiadczenie-niezaleganie: 'duration' must be" in polish


def test_no_file_is_asked_for(app: Flask, manager: FlaskClient) -> None:
    page = f"/admin/o/{ZIELNA}/transfer"
    response = manager.post(f"{page}/import", data={"csrf_token": csrf_token(manager, page)})
    assert response.status_code == 422
    assert "Please choose the office file to upload." in response.get_data(as_text=True)


def test_a_file_that_leaves_a_booking_without_counter_time_is_refused(
    app: Flask, manager: FlaskClient
) -> None:
    monday = local_start("2026-11-30", "10:00", "Europe/Prague")
    token = manage_token(book_form(app.test_client(), PLZEN, "volne-byty", monday, answers={}))
    text = export(manager, PLZEN).decode()
    assert 'days = [\n    "mon",\n    "wed",\n]' in text
    closed_mondays = text.replace('days = [\n    "mon",\n    "wed",\n]', 'days = [\n    "wed",\n]')
    before = office_state(app, PLZEN)

    response = upload(manager, PLZEN, closed_mondays.encode())
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "The file would leave 1 booked visit without counter time" in page
    code = booking_of(app, token).code
    assert f"{code[:4]}-{code[4:]}" in page
    assert "Monday, 30 November 2026 10:00" in page  # the office's local time
    assert office_state(app, PLZEN) == before
    assert imports(app) == []


# ------------------------------------------------------ values the database cannot take


@pytest.fixture
def any_manager(any_app: Flask, clock: Any) -> FlaskClient:
    """``manager`` on SQLite and then on PostgreSQL, which refuses more than SQLite."""
    account = make_account(any_app, "transfer-admin", Role.ADMINISTRATOR)
    client = session_of(any_app, account)
    client.get("/?lang=en")
    return client


def edited(client: FlaskClient, path: tuple[str | int, ...], value: Any) -> bytes:
    """Zielna's file with one value of its office table replaced."""
    data = tomllib.loads(export(client, ZIELNA).decode())
    *keys, last = path
    target = data["office"][0]
    for key in keys:
        target = target[key]
    target[last] = value
    return tomli_w.dumps(data).encode()


def import_detail(response: Any) -> str:
    """The importer's own words (what and where) on a refused upload's page."""
    found = re.search(r'<code class="import-detail">(.*?)</code>', response.get_data(as_text=True))
    assert found, response.get_data(as_text=True)
    return html.unescape(found.group(1))


BAD_VALUES = [
    (("timezone",), 5, "'timezone' must be text"),
    (("country",), 5, "'country' must be text"),
    (("language",), "de", "'language' is one of pl, cs, en"),
    (("name",), "x" * 201, "'name' is longer than 200 characters"),
    (("max_calls",), 99999999999999999, "'max_calls' must be a whole number from 1 to 20"),
    (("max_days_ahead",), 2000000000, "'max_days_ahead' must be a whole number from 1 to 730"),
    (("retention_days",), True, "'retention_days' must be a whole number from 1 to 3650"),
    (("address",), "ul. Zielna\x00 25b", "address: the text holds a NUL character"),
    (("counters", 0, "name"), "Punkt\x00 1", "counters[1].name: the text holds a NUL"),
    (("counters",), 5, "counters: give a list of tables"),
    (("hours", 0, "days"), [1], "days: give a list of texts"),
    (("services", 0, "duration"), 10**17, "'duration' must be at most 480 minutes"),
    (("services", 0, "key"), ["list"], "needs a key"),
    (("admission", "rebook_after_days"), 10**17, "'rebook_after_days' must be a whole number"),
]


@pytest.mark.parametrize(("path", "value", "message"), BAD_VALUES, ids=[b[2] for b in BAD_VALUES])
def test_a_value_the_database_cannot_take_is_refused_with_where_it_is(
    any_app: Flask, any_manager: FlaskClient, path: tuple[str | int, ...], value: Any, message: str
) -> None:
    before = office_state(any_app, ZIELNA)
    response = upload(any_manager, ZIELNA, edited(any_manager, path, value))
    assert response.status_code == 422
    assert message in import_detail(response)
    assert office_state(any_app, ZIELNA) == before
    assert imports(any_app) == []
    assert any_app.test_client().get(f"/o/{ZIELNA}/zamiana-lokalu").status_code == 200


def test_the_time_zone_does_not_change_under_booked_visits(
    any_app: Flask, any_manager: FlaskClient
) -> None:
    monday = local_start("2026-11-30", "10:00", "Europe/Prague")
    book_form(any_app.test_client(), PLZEN, "volne-byty", monday, answers={})
    data = tomllib.loads(export(any_manager, PLZEN).decode())
    data["office"][0]["timezone"] = "Europe/London"  # Mondays 10:00 would become 09:00
    before = office_state(any_app, PLZEN)
    response = upload(any_manager, PLZEN, tomli_w.dumps(data).encode())
    assert response.status_code == 422
    assert import_detail(response) == (
        "office plzen-kontaktni-misto: the time zone cannot change while 1 upcoming bookings exist"
    )
    assert office_state(any_app, PLZEN) == before
