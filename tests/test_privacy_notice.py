"""Booking is the office's public task: no consent is asked. The form gives the information
notice of Art. 13 GDPR instead: who processes the data, why, for how long, and the rights."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime

import time_machine
from flask import Flask
from sqlalchemy import func, select

from booking.models import Booking, Office
from booking.openapi import spec
from okienko.database import db
from tests.helpers.forms import book_form, local_start, manage_token

TODAY = datetime(2026, 11, 20, 9, tzinfo=UTC)  # a Friday
KOSZALIN, RATY = "koszalin-zbm", "raty"
START = local_start("2026-11-23", "10:00", "Europe/Warsaw")  # Monday


def text_of(response) -> str:
    assert response.status_code == 200, response.status_code
    page = re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))
    return " ".join(html.unescape(page).split())


def test_the_booking_form_asks_no_consent_and_books_without_one(app: Flask) -> None:
    with time_machine.travel(TODAY, tick=True):
        client = app.test_client()
        form = client.get(f"/o/{KOSZALIN}/{RATY}/book?start={START}&lang=en")
        page = form.get_data(as_text=True)
        assert 'name="consent"' not in page and 'type="checkbox"' not in page
        assert f'href="/privacy/{KOSZALIN}"' in page
        notice = text_of(form)
        assert "Zarząd Budynków Mieszkalnych w Koszalinie" in notice
        assert "public task (Art. 6(1)(e) GDPR); no consent is asked" in notice
        assert "erased 90 days after the visit" in notice
        manage_token(book_form(client, KOSZALIN, RATY, START))
    with app.app_context():
        assert db.session.scalar(select(func.count(Booking.id))) == 1


def test_the_api_books_without_consent_and_ignores_what_older_clients_send(app: Flask) -> None:
    client = app.test_client()
    base = {"office": KOSZALIN, "service": RATY, "name": "Ewa Nowak"}
    with time_machine.travel(TODAY, tick=True):
        for i, extra in enumerate(({}, {"consent": False}, {"consent": True})):
            start = local_start("2026-11-23", f"1{i}:00", "Europe/Warsaw")
            body = {**base, "start": start, "email": f"ewa{i}@example.com", **extra}
            response = client.post("/api/v1/bookings", json=body)
            assert response.status_code == 201, response.get_json()
    request = spec()["components"]["schemas"]["BookingRequest"]
    assert "consent" not in request["required"]
    assert request["properties"]["consent"]["deprecated"] is True


def test_the_office_notice_says_who_why_how_long_and_the_rights(app: Flask) -> None:
    app.config.update(RETENTION_DAYS=45, ADMISSION_RETENTION_DAYS=9)
    with app.app_context():
        plzen = db.session.scalar(select(Office).where(Office.slug == "plzen-kontaktni-misto"))
        plzen.email = "bydleni@plzen.example"
        db.session.commit()
    client = app.test_client()
    notice = text_of(client.get("/privacy/plzen-kontaktni-misto?lang=en"))
    # Who: the office as controller, with its contacts.
    assert (
        "The controller of your data is Kontaktní místo pro bydlení Plzeň, "
        "Jagellonská 8, 301 00 Plzeň." in notice
    )
    assert "+420 378 032 222" in notice and "bydleni@plzen.example" in notice
    # Why: the public task, not consent; the admission check keeps only its outcome.
    assert "Art. 6(1)(e) GDPR" in notice and "Your consent is not asked for." in notice
    assert "agree to the processing" not in notice
    assert "your answers are not stored: only whether you were admitted" in notice
    # How long: the configured numbers.
    assert "erased 45 days after the visit" in notice
    assert "The outcome of an admission check is deleted 9 days after the check." in notice
    # The rights, and the authority of the office's country.
    for right in ("access", "rectification", "erasure", "restriction", "object"):
        assert right in notice, right
    assert "lodge a complaint with the supervisory authority" in notice
    assert "Úřad pro ochranu osobních údajů (ÚOOÚ)" in notice and "uoou.gov.cz" in notice
    assert "UODO" not in notice

    polish = text_of(client.get(f"/privacy/{KOSZALIN}?lang=en"))
    assert "Prezes Urzędu Ochrony Danych Osobowych (UODO)" in polish
    assert "ul. Stawki 2, 00-193 Warszawa" in polish and "ÚOOÚ" not in polish
    assert client.get("/privacy/nowhere").status_code == 404


def test_the_general_notice_links_every_office_notice(app: Flask) -> None:
    response = app.test_client().get("/privacy?lang=en")
    page = response.get_data(as_text=True)
    with app.app_context():
        slugs = db.session.scalars(select(Office.slug)).all()
    for slug in slugs:
        assert f'href="/privacy/{slug}"' in page, slug
    notice = text_of(response)
    assert "Art. 6(1)(e) GDPR" in notice and "UODO" in notice and "ÚOOÚ" in notice
    assert "erased 90 days after the visit" in notice
    assert "deleted 14 days after the check" in notice


def test_the_notice_renders_in_every_language(app: Flask) -> None:
    client = app.test_client()
    for lang in ("pl", "cs", "en"):
        for path in ("/privacy", f"/privacy/{KOSZALIN}"):
            response = client.get(f"{path}?lang={lang}")
            assert response.status_code == 200, (path, lang)
            assert f'lang="{lang}"' in response.get_data(as_text=True)


def set_office(app: Flask, slug: str, **values: object) -> None:
    with app.app_context():
        office = db.session.scalar(select(Office).where(Office.slug == slug))
        for key, value in values.items():
            setattr(office, key, value)
        db.session.commit()


def test_the_notice_names_the_data_protection_officer_the_office_file_gives(app: Flask) -> None:
    set_office(app, KOSZALIN, dpo_email="iod@zbm.example", dpo_address="ul. Testowa 1, Koszalin")
    response = app.test_client().get(f"/privacy/{KOSZALIN}?lang=en")
    assert 'href="mailto:iod@zbm.example"' in response.get_data(as_text=True)
    notice = text_of(response)
    # (text_of puts a space where the mailto link ends)
    assert "Data protection officer: iod@zbm.example , ul. Testowa 1, Koszalin." in notice
    assert "marked “for the data protection officer”" not in notice

    set_office(app, KOSZALIN, dpo_address=None)
    notice = text_of(app.test_client().get(f"/privacy/{KOSZALIN}?lang=en"))
    assert "Data protection officer: iod@zbm.example ." in notice


def test_without_a_data_protection_officer_the_notice_says_to_write_to_the_office(
    app: Flask,
) -> None:
    """Art. 13(1)(b) is never left out: the office's own address, marked for the officer."""
    client = app.test_client()
    notice = text_of(client.get(f"/privacy/{KOSZALIN}?lang=en"))
    assert (
        "To contact the office's data protection officer, write to the office at "
        "ul. Połczyńska 24, 75-818 Koszalin, marked “for the data protection officer”." in notice
    )
    assert "Data protection officer:" not in notice and "By e-mail" not in notice
    # The postal address where the office gives one, and its e-mail address where it has one.
    set_office(app, "bytom-zielna", email="obsluga@bytom.example")
    notice = text_of(client.get("/privacy/bytom-zielna?lang=en"))
    assert (
        "write to the office at Bytomskie Mieszkania, ul. Zielna 25b, 41-902 Bytom, "
        "marked “for the data protection officer”." in notice
    )
    assert "By e-mail, write to obsluga@bytom.example with the same words" in notice
    # The general notice points to each office's.
    general = text_of(client.get("/privacy?lang=en"))
    assert "how to contact its data protection officer" in general


def test_the_notice_names_the_recipients_and_how_admission_is_decided(app: Flask) -> None:
    for path in ("/privacy", f"/privacy/{KOSZALIN}"):
        notice = text_of(app.test_client().get(f"{path}?lang=en"))
        assert (
            "Recipients: the office's staff who handle visits and, where the office uses them, "
            "the companies that host this service and deliver its e-mail, acting for the office "
            "as processors (Art. 28 GDPR)." in notice
        ), path
        assert "not passed on to anyone" not in notice
        # Art. 13(2)(f), Art. 22: an automatic refusal, how it is decided, and what to do.
        assert "decided automatically from your answers to the office's fixed questions" in notice
        assert "a clerk may also refuse entry" in notice
        assert "ask the office to review a refusal" in notice
        assert "phone consultation instead (Art. 22 GDPR)" in notice
