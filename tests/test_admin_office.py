"""An office manager edits the office's settings, services and counters at /admin/, through
the pages' own forms: each change shows on the residents' pages, is in the history, and
every bad value gets its message next to its field, with what was typed kept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from admin.models import ChangeLog
from booking.codes import format_code
from booking.models import Booking, BookingSlot, BookingStatus, Counter, Office, Service
from booking.tasks import anonymise
from okienko.database import db
from queueing.models import Role, StaffUser, Ticket, TicketStatus
from tests.helpers.admin import ZIELNA, make_account, office, session_of
from tests.helpers.floor import Clerk, book, walk_in
from tests.helpers.floor import signed_in_device as device_client
from tests.helpers.page_forms import field_errors, forms_of, page_form, resend, send, text_of

SETTINGS = f"/admin/o/{ZIELNA}/settings"
SERVICES = f"/admin/o/{ZIELNA}/services"
COUNTERS = f"/admin/o/{ZIELNA}/counters"
EXCHANGE = "zamiana-lokalu"  # served by counters 1 and 2 of Zielna, 30 minutes
THURSDAY = "2026-11-26"  # the day after NOW; Zielna opens 07:30-17:00


def at(day: str, clock: str) -> datetime:
    """A Bytom wall-clock time (CET in November) as UTC."""
    return datetime.fromisoformat(f"{day}T{clock}+01:00").astimezone(UTC)


@pytest.fixture
def office_app(request: pytest.FixtureRequest) -> Flask:
    """The app the test asks for: ``any_app`` (SQLite, then PostgreSQL), else ``app``."""
    return request.getfixturevalue("any_app" if "any_app" in request.fixturenames else "app")


@pytest.fixture
def manager(office_app: Flask, clock: Any) -> FlaskClient:
    """Zielna's manager, reading the pages in English, on Wednesday 25 November 2026."""
    app = office_app
    account = make_account(app, "zielna-manager", Role.MANAGER, manages=[ZIELNA])
    client = session_of(app, account)
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def history(app: Flask, record_type: str) -> list[ChangeLog]:
    with app.app_context():
        rows = db.session.scalars(
            select(ChangeLog).where(ChangeLog.record_type == record_type).order_by(ChangeLog.id)
        ).all()
        db.session.expunge_all()
        return list(rows)


def row(app: Flask, model: type, **where: Any) -> Any:
    with app.app_context():
        found = db.session.scalar(select(model).filter_by(**where))
        assert found is not None, (model, where)
        db.session.expunge(found)
        return found


def zielna(app: Flask) -> Office:
    with app.app_context():
        found = office(ZIELNA)
        db.session.expunge(found)
        return found


def service_id(app: Flask, key: str) -> int:
    with app.app_context():
        return db.session.scalar(
            select(Service.id).where(Service.office_id == office(ZIELNA).id, Service.key == key)
        )


def counter_id(app: Flask, name: str) -> int:
    with app.app_context():
        return db.session.scalar(
            select(Counter.id).where(Counter.office_id == office(ZIELNA).id, Counter.name == name)
        )


def booked(app: Flask, start: datetime, key: str = EXCHANGE, **kw: Any) -> Booking:
    """A visit booked through the API the day before; the row, detached."""
    code = book(app, start, key, office=ZIELNA, **kw)["code"]
    return row(app, Booking, code=code)


def held_cells(app: Flask, booking_id: int) -> list[datetime]:
    with app.app_context():
        query = select(BookingSlot.starts_at).where(BookingSlot.booking_id == booking_id)
        return sorted(db.session.scalars(query))


def served_by(app: Flask, counter: int) -> list[str]:
    with app.app_context():
        found = db.session.get(Counter, counter)
        return [s.key for s in found.services]


def zielna_services(app: Flask) -> list[Service]:
    with app.app_context():
        rows = list(office(ZIELNA).services)
        db.session.expunge_all()
        return rows


def free_starts(client: FlaskClient, key: str, day: str) -> list[str]:
    response = client.get(
        f"/api/v1/offices/{ZIELNA}/services/{key}/availability",
        query_string={"from": day, "to": day},
    )
    assert response.status_code == 200, response.get_json()
    return [start for d in response.get_json()["days"] for start in d["starts"]]


# ------------------------------------------------------------------------------ settings


def test_the_settings_page_saves_names_and_contacts_and_residents_see_them(
    any_app: Flask, manager: FlaskClient
) -> None:
    app = any_app
    response = send(
        manager,
        SETTINGS,
        {
            "name_cs": "Bytomské byty – ulice Zielna 25b",
            "name_en": "Bytom Housing – Zielna St 25b",
            "phone": "32 532 59 00",  # national: read in the office's country
            "email": "Zielna@Example.com",
        },
    )
    assert response.status_code == 302, field_errors(response)
    saved = zielna(app)
    assert saved.name == "Bytomskie Mieszkania – ul. Zielna 25b"  # Polish: the office's own
    assert saved.names == {
        "cs": "Bytomské byty – ulice Zielna 25b",
        "en": "Bytom Housing – Zielna St 25b",
    }
    assert saved.phone == "+48 32 532 59 00"
    assert saved.email == "Zielna@example.com"

    resident = app.test_client()
    assert "Bytomské byty – ulice Zielna 25b" in text_of(resident.get(f"/o/{ZIELNA}?lang=cs"))
    assert "Bytom Housing – Zielna St 25b" in text_of(resident.get(f"/o/{ZIELNA}?lang=en"))
    polish = text_of(resident.get(f"/o/{ZIELNA}?lang=pl"))
    assert "Bytomskie Mieszkania – ul. Zielna 25b" in polish and "+48 32 532 59 00" in polish

    [entry] = history(app, "office")
    assert entry.action == "update" and entry.actor_name == "Zielna Manager"
    assert set(entry.after) == {"names", "phone", "email"}  # only what changed
    assert entry.before["phone"] == "+48 32 532 59 99"


def test_a_form_sent_unchanged_changes_nothing(app: Flask, manager: FlaskClient) -> None:
    response = send(manager, SETTINGS)
    assert response.status_code == 302, field_errors(response)
    assert history(app, "office") == []


BAD_SETTINGS = [
    ("name_pl", "", "Give the name in the office's own language."),
    ("name_en", "x" * 201, "200"),
    ("language", "de", "Not a valid choice"),
    ("address", " ", "Give the office's address."),
    ("timezone", "Europe/Bytom", "Choose a time zone from the list"),
    ("country", "XX", "Not a valid choice"),
    ("subdivision", "ZZ", "region"),
    ("email", "biuro@", "This e-mail address is not valid."),
    ("phone", "12345", "This phone number is not valid."),
    ("website", "www.example", "Give the whole address"),
    ("dpo_email", "iod at example.pl", "This e-mail address is not valid."),
    ("slot_minutes", "7", "Not a valid choice"),
    ("min_notice_minutes", "soon", "Give a whole number."),
    ("max_days_ahead", "0", "Give a whole number from 1 to 730."),
    ("max_active_bookings_per_contact", "-1", "Give a whole number from 1 to 100."),
    ("reminder_time", "25:00", "Give a time like 16:00."),
    ("checkin_before_minutes", "999", "Give a whole number from 0 to 240."),
    ("checkin_after_minutes", "1.5", "Give a whole number."),
    ("max_calls", "0", "Give a whole number from 1 to 20."),
    ("call_cooldown_seconds", "601", "Give a whole number from 0 to 600."),
    ("retention_days", "0", "Give a whole number from 1 to 3650."),
]


@pytest.mark.parametrize(
    ("field", "typed", "message"), BAD_SETTINGS, ids=[b[0] for b in BAD_SETTINGS]
)
def test_each_bad_setting_gets_its_message_and_keeps_what_was_typed(
    app: Flask, manager: FlaskClient, field: str, typed: str, message: str
) -> None:
    before = zielna(app)
    response = send(manager, SETTINGS, {field: typed, "name_cs": "Typed before the mistake"})
    assert response.status_code == 422
    errors = field_errors(response)
    assert list(errors) == [field], errors
    assert any(message.lower() in e.lower() for e in errors[field]), errors
    [form] = [f for f in forms_of(response.get_data(as_text=True)) if f.value("name_cs")]
    assert form.value("name_cs") == "Typed before the mistake"  # nothing typed is lost
    if field not in ("language", "country", "slot_minutes", "timezone"):  # a select's choices
        assert form.value(field) == typed.strip()
    assert history(app, "office") == []
    assert zielna(app).names == before.names


NUL_FIELDS = [
    (SETTINGS, "address", {}),
    (f"{SERVICES}/new", "name_pl", {}),
    (f"{COUNTERS}/new", "name", {}),
    (f"/admin/o/{ZIELNA}/devices", "name", {}),
    (f"/admin/o/{ZIELNA}/closures", "reason", {"first_day": "2026-12-10"}),
    (f"/admin/o/{ZIELNA}/regime/questions/new", "text_pl", {}),
    (f"/admin/o/{ZIELNA}/regime/departments/new", "name_pl", {}),
    (f"/admin/o/{ZIELNA}/hours/new", "mon-0-opens", {}),  # a form inside the form
]


@pytest.mark.parametrize(("page", "field", "more"), NUL_FIELDS, ids=[n[0] for n in NUL_FIELDS])
def test_text_with_a_nul_character_is_refused_next_to_its_field(
    any_app: Flask, manager: FlaskClient, page: str, field: str, more: dict[str, str]
) -> None:
    """PostgreSQL cannot store NUL: every form of the administration refuses it."""
    app = any_app
    before = len(history(app, "office")) + len(history(app, "counter"))
    response = send(manager, page, {**more, field: "Pasted\x00 text"})
    assert response.status_code in (409, 422), response.status_code
    message = "Remove the invisible control character (NUL) from this text."
    assert message in field_errors(response).get(field, []) or message in text_of(response)
    assert len(history(app, "office")) + len(history(app, "counter")) == before


def test_the_settings_are_in_the_managers_language(app: Flask, manager: FlaskClient) -> None:
    manager.environ_base["HTTP_ACCEPT_LANGUAGE"] = "cs"
    response = send(manager, SETTINGS, {"country": "XX"})
    assert response.status_code == 422
    assert '<html lang="cs">' in response.get_data(as_text=True)
    assert field_errors(response)["country"] == ["Neplatná volba."]


def test_the_booking_window_and_holidays_change_the_calendar(
    app: Flask, manager: FlaskClient
) -> None:
    resident = app.test_client()
    christmas_eve = "2026-12-24"  # a public holiday in Poland since 2025, a Thursday
    assert free_starts(resident, EXCHANGE, christmas_eve) == []
    assert free_starts(resident, EXCHANGE, "2027-02-04") == []  # past 60 days ahead
    response = send(manager, SETTINGS, {"public_holidays": None, "max_days_ahead": "90"})
    assert response.status_code == 302, field_errors(response)
    assert free_starts(resident, EXCHANGE, christmas_eve)[0] == at(christmas_eve, "07:30").strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )
    assert free_starts(resident, EXCHANGE, "2027-02-04")


def test_the_slot_grid_does_not_change_under_booked_visits(
    app: Flask, manager: FlaskClient
) -> None:
    booked(app, at(THURSDAY, "10:00"))
    response = send(manager, SETTINGS, {"slot_minutes": "5"})
    assert response.status_code == 409
    assert "booked ahead" in field_errors(response)["slot_minutes"][0]
    assert zielna(app).slot_minutes == 15
    with app.app_context():  # once the visit is over, the grid may change
        db.session.execute(db.update(Booking).values(status=BookingStatus.CANCELLED))
        db.session.execute(db.delete(BookingSlot))
        db.session.commit()
    response = send(manager, SETTINGS, {"slot_minutes": "5"})
    assert response.status_code == 302, field_errors(response)
    assert zielna(app).slot_minutes == 5


def test_the_slot_grid_fits_every_services_duration(app: Flask, manager: FlaskClient) -> None:
    response = send(manager, SETTINGS, {"slot_minutes": "20"})
    assert response.status_code == 409
    [message] = field_errors(response)["slot_minutes"]
    assert "Flat exchange" in message and "Change their durations first." in message
    assert zielna(app).slot_minutes == 15


def test_the_time_zone_does_not_change_under_booked_visits(
    any_app: Flask, manager: FlaskClient
) -> None:
    app = any_app
    # Kept in UTC, 12:00 in Bytom would become 11:00 in London: still open, yet moved.
    visit = booked(app, at(THURSDAY, "12:00"))
    refused = send(manager, SETTINGS, {"timezone": "Europe/London", "name_cs": "Typed"})
    assert refused.status_code == 409
    assert field_errors(refused) == {
        "timezone": [
            "The time zone cannot change while visits are booked ahead: "
            "they would move to other hours on the clock."
        ]
    }
    [form] = [f for f in forms_of(refused.get_data(as_text=True)) if f.value("name_cs")]
    assert form.value("timezone") == "Europe/London" and form.value("name_cs") == "Typed"
    assert zielna(app).timezone == "Europe/Warsaw" and history(app, "office") == []
    assert row(app, Booking, id=visit.id).status == BookingStatus.BOOKED

    with app.app_context():  # once no visit is booked ahead, the zone may change
        db.session.execute(db.update(Booking).values(status=BookingStatus.CANCELLED))
        db.session.execute(db.delete(BookingSlot))
        db.session.commit()
    done = send(manager, SETTINGS, {"timezone": "Europe/London"})
    assert done.status_code == 302, field_errors(done)
    assert zielna(app).timezone == "Europe/London"
    [entry] = history(app, "office")
    assert entry.after == {"timezone": "Europe/London"}


def test_the_office_keeps_residents_data_for_its_own_retention(
    app: Flask, manager: FlaskClient
) -> None:
    visit = booked(app, at(THURSDAY, "10:00"))
    response = send(manager, SETTINGS, {"retention_days": "30"})
    assert response.status_code == 302, field_errors(response)
    privacy = text_of(app.test_client().get(f"/privacy/{ZIELNA}?lang=en"))
    assert "erased 30 days after the visit" in privacy
    with app.app_context():
        assert (
            anonymise(db.session, visit.ends_at + timedelta(days=29), timedelta(90), timedelta(14))
            == 0
        )
        assert (
            anonymise(db.session, visit.ends_at + timedelta(days=31), timedelta(90), timedelta(14))
            == 1
        )
    assert row(app, Booking, id=visit.id).email is None
    response = send(manager, SETTINGS, {"retention_days": ""})  # back to the default
    assert response.status_code == 302 and zielna(app).retention_days is None


# ------------------------------------------------------------------------------ services


def test_a_service_renamed_in_czech_shows_in_czech(app: Flask, manager: FlaskClient) -> None:
    url = f"{SERVICES}/{service_id(app, EXCHANGE)}"
    response = send(
        manager,
        url,
        {
            "name_cs": "Výměna obecního bytu",
            "documents_cs": "Občanský průkaz\n\n Nájemní smlouva \nVýpis z katastru",
        },
    )
    assert response.status_code == 302, field_errors(response)
    resident = app.test_client()
    assert "Výměna obecního bytu" in text_of(resident.get(f"/o/{ZIELNA}?lang=cs"))
    assert "Výměna obecního bytu" not in text_of(resident.get(f"/o/{ZIELNA}?lang=pl"))
    calendar = text_of(resident.get(f"/o/{ZIELNA}/{EXCHANGE}?lang=cs"))
    assert "Výpis z katastru" in calendar
    saved = row(app, Service, key=EXCHANGE)
    assert saved.documents["cs"] == ["Občanský průkaz", "Nájemní smlouva", "Výpis z katastru"]
    [entry] = history(app, "service")
    assert entry.record_id == str(saved.id) and set(entry.after) == {"names", "documents"}


BAD_SERVICE = [
    ("name_pl", "", "Give the name in the office's own language."),
    ("prefix", "", "Give one letter."),
    ("prefix", "AB", "Give one letter."),
    ("prefix", "7", "Give one letter."),
    ("duration_minutes", "0", "Give a whole number from 1 to 480."),
    ("duration_minutes", "twenty", "Give a whole number."),
    ("duration_minutes", "20", "Give a multiple of the office's slot length, 15 minutes."),
    ("description_en", "x" * 1001, "1000"),
    ("documents_pl", "x" * 201, "Keep each document to 200 characters."),
    ("department_id", "999999", "Not a valid choice"),
]


@pytest.mark.parametrize(("field", "typed", "message"), BAD_SERVICE)
def test_each_bad_service_field_gets_its_message(
    app: Flask, manager: FlaskClient, field: str, typed: str, message: str
) -> None:
    response = send(
        manager,
        f"{SERVICES}/new",
        {"name_pl": "Lokale użytkowe", "prefix": "U", "name_en": "Typed first", field: typed},
    )
    assert response.status_code == 422
    errors = field_errors(response)
    assert list(errors) == [field], errors
    assert any(message in e for e in errors[field]), errors
    form = max(forms_of(response.get_data(as_text=True)), key=lambda f: len(f.fields))
    assert form.value("name_en") == "Typed first"
    if field != "department_id":
        assert form.value(field) == (typed.upper() if field == "prefix" else typed)
    assert history(app, "service") == []


def test_a_ticket_letter_is_one_services_only(app: Flask, manager: FlaskClient) -> None:
    response = send(manager, f"{SERVICES}/new", {"name_pl": "Lokale użytkowe", "prefix": "z"})
    assert response.status_code == 409
    assert field_errors(response)["prefix"] == ["Flat exchange has this letter already."]


def test_a_new_service_is_booked_once_a_counter_serves_it(app: Flask, manager: FlaskClient) -> None:
    response = send(
        manager,
        f"{SERVICES}/new",
        {
            "name_pl": "Lokale użytkowe",
            "name_en": "Commercial premises",
            "description_pl": "Najem lokali użytkowych.",
            "duration_minutes": "45",
            "prefix": "u",
            "department_id": "None",
        },
    )
    assert response.status_code == 302 and response.headers["Location"].endswith(COUNTERS)
    service = row(app, Service, prefix="U")
    assert service.key == "commercial-premises" and service.position == 5
    resident = app.test_client()
    assert "Commercial premises" in text_of(resident.get(f"/o/{ZIELNA}?lang=en"))
    assert free_starts(resident, service.key, THURSDAY) == []  # no counter serves it yet

    counter = counter_id(app, "Punkt obsługi 3")
    form = page_form(manager, f"{COUNTERS}/{counter}")
    ticked = [*form.values()["services"], str(service.id)]
    response = send(manager, f"{COUNTERS}/{counter}", {"services": ticked})
    assert response.status_code == 302, field_errors(response)
    starts = free_starts(resident, service.key, THURSDAY)
    assert starts[0] == at(THURSDAY, "07:30").strftime("%Y-%m-%dT%H:%M:%SZ")
    assert [e.action for e in history(app, "service")] == ["create"]
    [entry] = history(app, "counter")
    assert entry.after["services"] == [*entry.before["services"], service.id]


def test_a_new_duration_leaves_booked_visits_as_they_were(
    any_app: Flask, manager: FlaskClient
) -> None:
    app = any_app
    visit = booked(app, at(THURSDAY, "10:00"))
    cells = held_cells(app, visit.id)
    assert len(cells) == 2
    response = send(manager, f"{SERVICES}/{visit.service_id}", {"duration_minutes": "45"})
    assert response.status_code == 302, field_errors(response)
    after = row(app, Booking, id=visit.id)
    assert (after.starts_at, after.ends_at) == (visit.starts_at, visit.ends_at)
    assert held_cells(app, visit.id) == cells
    calendar = text_of(app.test_client().get(f"/o/{ZIELNA}/{EXCHANGE}?lang=en"))
    assert "Duration: 45 minutes" in calendar  # new bookings take the new length


def test_a_booked_service_is_kept_and_can_be_taken_off_instead(
    app: Flask, manager: FlaskClient
) -> None:
    visit = booked(app, at(THURSDAY, "10:00"))
    url = f"{SERVICES}/{visit.service_id}"
    page = manager.get(url)
    assert "Delete this service" not in text_of(page)
    question = manager.post(
        f"{url}/delete", data={"csrf_token": page_form(manager, url).value("csrf_token")}
    )
    assert question.status_code == 200 and "stays in the history" in text_of(question)
    refused = manager.post(
        f"{url}/delete",
        data={"csrf_token": page_form(manager, url).value("csrf_token"), "confirm": "1"},
    )
    assert refused.status_code == 409
    assert row(app, Service, id=visit.service_id)
    response = send(manager, url, {"bookable_online": None, "walk_in": None})
    assert response.status_code == 302, field_errors(response)
    resident = app.test_client()
    assert "Flat exchange" not in text_of(resident.get(f"/o/{ZIELNA}?lang=en"))
    assert row(app, Booking, id=visit.id).status == BookingStatus.BOOKED


def test_a_service_nobody_used_is_deleted_after_a_question(
    app: Flask, manager: FlaskClient
) -> None:
    send(manager, f"{SERVICES}/new", {"name_pl": "Lokale użytkowe", "prefix": "U"})
    service = row(app, Service, prefix="U")
    url = f"{SERVICES}/{service.id}"
    question = send(manager, url, button="Delete this service…")
    assert question.status_code == 200 and "Delete Lokale użytkowe" in text_of(question)
    assert row(app, Service, id=service.id)
    done = resend(manager, question)
    assert done.status_code == 302
    with app.app_context():
        assert db.session.get(Service, service.id) is None
    assert [e.action for e in history(app, "service")] == ["create", "delete"]


def test_the_kiosk_order_follows_the_up_and_down_buttons(app: Flask, manager: FlaskClient) -> None:
    kiosk = device_client(app, office=ZIELNA)
    first = [s.key for s in sorted(zielna_services(app), key=lambda s: s.position)]
    moved = service_id(app, first[1])
    page = manager.get(SERVICES).get_data(as_text=True)
    [up] = [
        f
        for f in forms_of(page)
        if f.action == f"{SERVICES}/{moved}/move" and f.value("direction") == "up"
    ]
    response = manager.post(up.action, data=MultiDict(up.fields))
    assert response.status_code == 302
    after = [s.key for s in sorted(zielna_services(app), key=lambda s: s.position)]
    assert after == [first[1], first[0], *first[2:]]
    kiosk_page = kiosk.get("/kiosk/").get_data(as_text=True)
    assert kiosk_page.index(f"/kiosk/walk-in/{first[1]}") < kiosk_page.index(
        f"/kiosk/walk-in/{first[0]}"
    )
    [entry] = history(app, "service")
    assert entry.action == "reorder" and entry.record_id == str(moved)


# ------------------------------------------------------------------------------ counters


def test_a_counter_taking_a_service_gives_more_free_times(app: Flask, manager: FlaskClient) -> None:
    resident = app.test_client()
    ten = at(THURSDAY, "10:00").strftime("%Y-%m-%dT%H:%M:%SZ")
    booked(app, at(THURSDAY, "10:00"), email="a@example.com")
    booked(app, at(THURSDAY, "10:00"), email="b@example.com")  # counters 1 and 2: full
    assert ten not in free_starts(resident, EXCHANGE, THURSDAY)
    third = counter_id(app, "Punkt obsługi 3")
    form = page_form(manager, f"{COUNTERS}/{third}")
    ticked = [*form.values()["services"], str(service_id(app, EXCHANGE))]
    response = send(manager, f"{COUNTERS}/{third}", {"services": ticked})
    assert response.status_code == 302, field_errors(response)
    assert ten in free_starts(resident, EXCHANGE, THURSDAY)


def test_taking_a_service_off_a_counter_moves_its_visits_after_a_preview(
    any_app: Flask, manager: FlaskClient
) -> None:
    app = any_app
    visit = booked(app, at(THURSDAY, "10:00"))
    first = counter_id(app, "Punkt obsługi 1")
    assert visit.counter_id == first
    form = page_form(manager, f"{COUNTERS}/{first}")
    kept = [s for s in form.values()["services"] if s != str(service_id(app, EXCHANGE))]
    preview = send(manager, f"{COUNTERS}/{first}", {"services": kept})
    assert preview.status_code == 200
    assert format_code(visit.code) in text_of(preview) and "Move to Punkt obsługi 2" in text_of(
        preview
    )
    assert row(app, Booking, id=visit.id).counter_id == first  # nothing saved yet
    done = resend(manager, preview)
    assert done.status_code == 302
    assert row(app, Booking, id=visit.id).counter_id == counter_id(app, "Punkt obsługi 2")
    assert EXCHANGE not in served_by(app, first)
    actions = [(e.action, e.record_type) for e in history(app, "counter") + history(app, "booking")]
    assert ("update", "counter") in actions and ("move", "booking") in actions


def test_each_bad_counter_field_gets_its_message(app: Flask, manager: FlaskClient) -> None:
    response = send(
        manager, f"{COUNTERS}/new", {"name": " ", "services": [str(service_id(app, EXCHANGE))]}
    )
    assert response.status_code == 422
    assert field_errors(response) == {"name": ["Give the counter a name."]}
    [form] = [f for f in forms_of(response.get_data(as_text=True)) if "services" in f.values()]
    assert form.values()["services"] == [str(service_id(app, EXCHANGE))]
    taken = send(manager, f"{COUNTERS}/new", {"name": "Punkt obsługi 2"})
    assert taken.status_code == 409
    assert field_errors(taken) == {"name": ["Another counter has this name."]}
    foreign = send(manager, f"{COUNTERS}/new", {"name": "Punkt 4", "services": ["999999"]})
    assert foreign.status_code == 422
    assert history(app, "counter") == []


def test_a_new_counter_is_added_last_and_a_counter_never_used_is_deleted(
    app: Flask, manager: FlaskClient
) -> None:
    response = send(
        manager,
        f"{COUNTERS}/new",
        {"name": "Punkt obsługi 4", "services": [str(service_id(app, EXCHANGE))]},
    )
    assert response.status_code == 302, field_errors(response)
    new = row(app, Counter, name="Punkt obsługi 4")
    assert new.position == 3
    question = send(manager, f"{COUNTERS}/{new.id}", button="Remove this counter…")
    assert question.status_code == 200 and "The counter is deleted." in text_of(question)
    done = resend(manager, question)
    assert done.status_code == 302
    with app.app_context():
        assert db.session.get(Counter, new.id) is None
    created, deleted = history(app, "counter")
    assert (created.action, deleted.action) == ("create", "delete")
    # What it served is in its last entry, though removing took its services off first.
    assert deleted.before["services"] == [service_id(app, EXCHANGE)]


def test_a_counter_with_a_history_is_retired_its_visits_moved_and_its_seat_freed(
    any_app: Flask, manager: FlaskClient
) -> None:
    app = any_app
    visit = booked(app, at(THURSDAY, "10:00"))
    ticket_id = walk_in(device_client(app, office=ZIELNA), EXCHANGE)
    clerk = Clerk(app, "zielna-clerk", "Punkt obsługi 1", office=ZIELNA)
    assert clerk.call_next().status_code == 200  # the ticket's history names the counter
    first = counter_id(app, "Punkt obsługi 1")
    served_before = [service_id(app, key) for key in served_by(app, first)]
    question = send(manager, f"{COUNTERS}/{first}", button="Remove this counter…")
    shown = text_of(question)
    assert "1 visit is booked at this counter" in shown
    assert "Clerk zielna-clerk sits at this counter now" in shown
    assert "it serves nothing from now on" in shown
    preview = resend(manager, question)
    assert preview.status_code == 200 and format_code(visit.code) in text_of(preview)
    assert EXCHANGE in served_by(app, first)  # nothing saved yet
    done = resend(manager, preview)
    assert done.status_code == 302
    retired = row(app, Counter, id=first)  # kept: the ticket's history names it
    assert served_by(app, first) == [] and retired.position == 3
    assert retired.retired_at is not None
    assert row(app, Booking, id=visit.id).counter_id == counter_id(app, "Punkt obsługi 2")
    assert row(app, StaffUser, username="zielna-clerk").counter_id is None
    assert row(app, Ticket, id=ticket_id).status == TicketStatus.PARKED
    released, retire = history(app, "counter")
    assert (released.action, retire.action) == ("release", "retire")
    assert retire.before["services"] == sorted(served_before)  # what it served, kept
    assert retire.after["services"] == [] and retire.after["retired_at"]
    assert [e.action for e in history(app, "booking")] == ["move"]

    # Listed apart, and no longer edited, moved or taken by a new counter's name.
    listed = manager.get(COUNTERS).get_data(as_text=True)
    table = listed[listed.index("<table") : listed.index("</table>")]
    assert "Punkt obsługi 2" in table and "Punkt obsługi 1" not in table
    assert "Punkt obsługi 1" in listed[listed.index("<h2>Removed counters</h2>") :]
    assert manager.get(f"{COUNTERS}/{first}").status_code == 404
    taken = send(manager, f"{COUNTERS}/new", {"name": "Punkt obsługi 1"})
    assert taken.status_code == 409
    assert field_errors(taken) == {
        "name": ["A removed counter, kept for its history, has this name."]
    }


def test_a_clerks_seat_is_released_and_the_ticket_held_there_parked(
    any_app: Flask, manager: FlaskClient
) -> None:
    app = any_app
    kiosk = device_client(app, office=ZIELNA)
    ticket_id = walk_in(kiosk, EXCHANGE)
    clerk = Clerk(app, "zielna-clerk", "Punkt obsługi 1", office=ZIELNA)
    assert clerk.call_next().status_code == 200
    assert "Clerk zielna-clerk" in text_of(manager.get(COUNTERS))
    response = send(manager, COUNTERS, button="Release")
    assert response.status_code == 302
    listed = text_of(manager.get(COUNTERS))
    assert "Clerk zielna-clerk no longer sits at Punkt obsługi 1." in listed
    assert row(app, StaffUser, username="zielna-clerk").counter_id is None
    ticket = row(app, Ticket, id=ticket_id)
    assert ticket.status == TicketStatus.PARKED and f"Ticket {ticket.label} was parked." in listed
    [entry] = history(app, "counter")
    assert entry.action == "release" and entry.before == {"clerk": "zielna-clerk"}
