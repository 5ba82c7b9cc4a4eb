"""The history pages speak the reader's language: actions, record types and fields by the
names the forms give them, values as a person reads them (yes/no, lists, one text per
language, the records an id names), times in the office's local time or said to be UTC.
No key such as ``sign_in_failed`` or ``max_days_ahead`` reaches a Polish or Czech page."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient

from admin import closures, offices, regime, services, transfer
from admin.audit import record, snapshot
from admin.history import ACTIONS, FIELDS, RECORDS
from okienko.database import db
from queueing.models import Role, StaffUser
from tests.helpers.admin import PASSWORD, ZIELNA, Account, make_account, office, session_of
from tests.helpers.forms import csrf_token
from tests.helpers.page_forms import text_of

# Wednesday 25 November 2026, 10:00 in Bytom.
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> Iterator[Any]:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def entries(app: Flask, clock: Any) -> dict[str, int]:
    """One entry of each kind, as the administration writes them; returns some ids."""
    admin = make_account(app, "ada", Role.ADMINISTRATOR)
    # A failed sign-in and a sign-in, through the sign-in form.
    make_account(app, "zielna-clerk", Role.CLERK)
    for password in ("not the password", PASSWORD):
        client = app.test_client()
        token = csrf_token(client, "/login")
        client.post(
            "/login", data={"csrf_token": token, "username": "zielna-clerk", "password": password}
        )
    with app.app_context():
        session = db.session()
        actor = session.get(StaffUser, admin.id)
        zielna = office(ZIELNA)
        service, counter = zielna.services[0], zielna.counters[0]

        def log(action: str, record_type: str, record_id: object, **values: Any) -> None:
            values.setdefault("office_id", zielna.id)
            record(session, NOW, actor, action, record_type, record_id, **values)

        before = snapshot(zielna, offices.SETTINGS)
        zielna.max_days_ahead, zielna.public_holidays = 90, not zielna.public_holidays
        log("update", "office", zielna.id, before=before, after=snapshot(zielna, offices.SETTINGS))
        log("create", "service", service.id, after=snapshot(service, ("key", *services.FIELDS)))
        log(
            "update",
            "counter",
            counter.id,
            before={"services": []},
            after={"services": [service.id]},
        )
        week = {"mon": ["08:00–16:00"], "fri": ["08:00–12:00"]}
        log("create", "hours", "2026-12-01", after={"valid_from": "2026-12-01", "week": week})
        closure = {
            "first_day": "2026-12-24",
            "starts": "12:00:00",
            "ends": None,
            "reason": "Wigilia",
        }
        log("delete", "closure", 7, before=closure)
        log(
            "cancel",
            "booking",
            41,
            before={"status": "booked", "counter_id": counter.id},
            after={"status": "cancelled", "code": "ABCD2345"},
        )
        device = {"kind": "kiosk", "name": "Wejście", "revoked_at": NOW}
        log("revoke", "device", 3, before={"revoked_at": None}, after=device)
        log("import", "office", zielna.id, after={"services": 1, "closures": 2, "file": "z.toml"})
        log(
            "update",
            "admission_policy",
            zielna.id,
            before={"enabled": False},
            after={"enabled": True},
        )
        log(
            "update",
            "account",
            actor.id,
            office_id=None,
            before={"role": "manager"},
            after={"role": "administrator", "shoe_size": 44},
        )
        session.commit()
        return {"admin": admin.id, "service": service.id}


def page(app: Flask, account_id: int, url: str, language: str) -> str:
    with app.app_context():
        user = db.session.get(StaffUser, account_id)
        assert user is not None
        account = Account(user.id, user.username, user.totp_secret)
    client: FlaskClient = session_of(app, account)
    response = client.get(f"{url}?lang={language}")
    assert response.status_code == 200, response.status_code
    return text_of(response)


# What a Polish and a Czech reader sees on the office's history page.
OFFICE_WORDS = {
    "pl": [
        "zmieniono",  # update
        "utworzono",  # create
        "usunięto",  # delete
        "anulowano",  # cancel
        "zaimportowano z pliku urzędu",
        "ustawienia urzędu",  # the office's record
        "usługa",
        "stanowisko",
        "dzień zamknięcia",
        "rezerwacja #41",
        "Rezerwacja najwyżej tyle dni naprzód",  # max_days_ahead
        "Zamknięte w dni ustawowo wolne od pracy",  # public_holidays
        "Litera biletu",  # a service's prefix
        "Obsługiwane usługi",  # a counter's services, named
        "Zamknięte od 12:00",
        "Informacja dla mieszkańców Wigilia",
        "Status zarezerwowana",
        "anulowana",
        "Kiosk",
        "pon.: 08:00–16:00",
        "Reżim sanitarny jest włączony Nie",
        "25.11.2026, 10:00",  # Bytom's time
        "Godziny podano według czasu lokalnego urzędu.",
    ],
    "cs": [
        "změněno",
        "vytvořeno",
        "smazáno",
        "zrušeno",
        "importováno ze souboru úřadu",
        "nastavení úřadu",
        "služba",
        "přepážka",
        "uzavírka",
        "Rezervace nejvýše tolik dní dopředu",
        "Hygienický režim je zapnutý Ne",
        "po: 08:00–16:00",
    ],
}


def test_an_office_history_names_everything_in_the_reader_language(
    app: Flask, entries: dict[str, int]
) -> None:
    manager = make_account(app, "zielna-manager", Role.MANAGER, manages=[ZIELNA])
    for language, words in OFFICE_WORDS.items():
        text = page(app, manager.id, f"/admin/o/{ZIELNA}/history", language)
        for word in words:
            assert word in text, (language, word, text[:4000])
        for key in ("max_days_ahead", "public_holidays", "bookable_online", "admission_policy"):
            assert key not in text, (language, key)
    polish = page(app, manager.id, f"/admin/o/{ZIELNA}/history", "pl")
    with app.app_context():
        service = office(ZIELNA).services[0]
        assert f"Obsługiwane usługi {service.name('pl')}" in polish
        assert f"pl: {service.names['pl']} · cs: {service.names['cs']}" in polish


def test_the_history_of_all_offices_names_the_sign_ins_and_tells_utc(
    app: Flask, entries: dict[str, int]
) -> None:
    polish = page(app, entries["admin"], "/admin/history", "pl")
    for word in (
        "nieudane logowanie",
        "zalogowano",
        "Nazwa użytkownika zielna-clerk",
        "Zalogowano za pomocą samego hasła",
        "Rola Kierownik urzędu",
        "Administrator",
        "shoe_size 44",  # a key nobody named: shown as it is
        "25.11.2026, 09:00 UTC",
        "Godziny podano w UTC.",
    ):
        assert word in polish, (word, polish[:4000])
    czech = page(app, entries["admin"], "/admin/history", "cs")
    for word in ("neúspěšné přihlášení", "přihlášení", "Role Vedoucí úřadu"):
        assert word in czech, (word, czech[:4000])
    for text in (polish, czech):
        assert "sign_in_failed" not in text and "sign_in" not in text


def test_every_field_the_administration_records_has_a_label() -> None:
    recorded = {
        *offices.SETTINGS,
        *services.FIELDS,
        *closures.FIELDS,
        *regime.POLICY_FIELDS,
        *regime.QUESTION_FIELDS,
        *regime.DEPARTMENT_FIELDS,
        *transfer.PARTS,
        "file",
    }
    plain = {key for key in FIELDS if isinstance(key, str)}
    assert recorded - plain - {"name"} == set()
    assert {"office", "service", "counter", "hours", "closure", "booking", "account"} <= set(
        RECORDS
    )
    assert {"sign_in", "sign_in_failed", "second_factor_failed", "create", "update"} <= set(ACTIONS)
