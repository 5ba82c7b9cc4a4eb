"""The sanitary regime editor: an office manager turns the regime on for some days, edits the
questions in each language and the answer that refuses, the notices and the directory of
departments, through the real forms; residents' booking pages follow at once.

The clock stands at 10:00 in Koszalin on Wednesday 25 November 2026 (the ``clock`` fixture);
Plzeň is open on Mondays and Wednesdays, Bytom's Zielna on weekdays, under the regime.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from admin.models import ChangeLog
from booking.admission import DEFAULT_QUESTIONS
from booking.models import AdmissionQuestion, Department, Office, OfficeVersion
from okienko.database import db
from queueing.models import Role
from tests.helpers.admin import PASSWORD, PLZEN, ZIELNA, make_account, session_of
from tests.helpers.forms import book_form, csrf_token, local_start
from tests.helpers.page_checks import assert_accessible

FLATS = "volne-byty"  # Plzeň
RATY = "raty-umorzenia"  # Zielna; handled remotely by the debt collection department
PRAGUE, WARSAW = "Europe/Prague", "Europe/Warsaw"
KEYS = [key for key, _texts in DEFAULT_QUESTIONS]
QUESTION_RE = re.compile(r'data-question="(\w+)"')
ERROR_RE = re.compile(r'class="field-error"[^>]*>([^<]+)<')


@pytest.fixture
def manager(app: Flask, clock: Any) -> FlaskClient:
    """The manager of Plzeň and Zielna, signed in."""
    account = make_account(app, "regime-manager", Role.MANAGER, manages=[PLZEN, ZIELNA])
    client = session_of(app, account)
    client.get("/?lang=en")  # the manager reads English
    return client


def regime_url(slug: str, rest: str = "") -> str:
    return f"/admin/o/{slug}/regime{rest}"


def post(client: FlaskClient, page: str, data: dict[str, Any], action: str | None = None) -> Any:
    """Send the form of ``page`` (to ``action``, if it posts elsewhere) with its CSRF token."""
    return client.post(action or page, data={"csrf_token": csrf_token(client, page), **data})


def regime_form(**changes: Any) -> dict[str, Any]:
    form = {"link_hours_before": "24", "rebook_after_days": "7"}
    form.update(changes)
    return form


def question_id(app: Flask, slug: str, key: str) -> int:
    with app.app_context():
        found = db.session.scalar(
            select(AdmissionQuestion.id)
            .join(Office)
            .where(Office.slug == slug, AdmissionQuestion.key == key)
        )
        assert found is not None, key
        return found


def department_id(app: Flask, slug: str, key: str) -> int:
    with app.app_context():
        found = db.session.scalar(
            select(Department.id).join(Office).where(Office.slug == slug, Department.key == key)
        )
        assert found is not None, key
        return found


def version(app: Flask, slug: str) -> int:
    with app.app_context():
        value = db.session.scalar(
            select(OfficeVersion.version).join(Office).where(Office.slug == slug)
        )
        return value or 0


def history(app: Flask, record_type: str) -> list[ChangeLog]:
    with app.app_context():
        rows = list(
            db.session.scalars(
                select(ChangeLog).where(ChangeLog.record_type == record_type).order_by(ChangeLog.id)
            )
        )
        for row in rows:
            db.session.expunge(row)
        return rows


def booking_page(client: FlaskClient, slug: str, key: str, start: str, lang: str = "en") -> str:
    response = client.get(f"/o/{slug}/{key}/book?start={start}&lang={lang}")
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def question_form(texts: dict[str, str], refuse_on: str = "yes") -> dict[str, str]:
    return {**{f"text_{lang}": text for lang, text in texts.items()}, "refuse_on": refuse_on}


def current_texts(app: Flask, slug: str, key: str) -> dict[str, str]:
    with app.app_context():
        question = db.session.get(AdmissionQuestion, question_id(app, slug, key))
        assert question is not None
        return dict(question.texts)


# ------------------------------------------------------------------ the regime's days


def test_the_regime_turned_on_for_some_days_asks_the_questions_when_booking(
    app: Flask, manager: FlaskClient
) -> None:
    resident = app.test_client()
    monday, next_monday = (local_start(d, "10:00", PRAGUE) for d in ("2026-11-30", "2026-12-07"))
    assert QUESTION_RE.findall(booking_page(resident, PLZEN, FLATS, monday)) == []
    before = version(app, PLZEN)

    page = regime_url(PLZEN)
    form = regime_form(enabled="y", first_day="2026-11-30", last_day="2026-12-02")
    response = post(manager, page, form)
    assert response.status_code == 302

    assert version(app, PLZEN) > before  # residents' cached pages are renewed
    assert QUESTION_RE.findall(booking_page(resident, PLZEN, FLATS, monday)) == KEYS
    assert QUESTION_RE.findall(booking_page(resident, PLZEN, FLATS, next_monday)) == []
    shown = manager.get(page).get_data(as_text=True)
    assert 'data-regime="on"' in shown and 'value="2026-11-30"' in shown
    [entry] = history(app, "admission_policy")
    assert entry.action == "update"
    assert entry.after == {"enabled": True, "first_day": "2026-11-30", "last_day": "2026-12-02"}

    assert post(manager, page, regime_form()).status_code == 302  # unticked: off
    assert QUESTION_RE.findall(booking_page(resident, PLZEN, FLATS, monday)) == []


def test_mistakes_in_the_regime_form_are_shown_by_their_fields_and_nothing_is_lost(
    app: Flask, manager: FlaskClient
) -> None:
    page = regime_url(PLZEN)
    form = regime_form(
        enabled="y", first_day="2026-12-10", last_day="2026-12-01", rebook_after_days="a week"
    )
    response = post(manager, page, form)
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert ERROR_RE.findall(text) == [
        "The last day cannot be before the first day.",
        "Please give a whole number.",
    ]
    assert 'value="2026-12-10"' in text and 'value="2026-12-01"' in text
    assert 'value="a week"' in text and "checked" in text
    response = post(manager, page, regime_form(enabled="y", first_day="31.02.2026"))
    assert response.status_code == 422
    assert "Please give a date like 2026-12-24." in response.get_data(as_text=True)
    with app.app_context():
        office = db.session.scalar(select(Office).where(Office.slug == PLZEN))
        assert office is not None and office.admission is not None
        assert not office.admission.enabled
    assert history(app, "admission_policy") == []


# ------------------------------------------------------------------ the questions


def test_a_question_edited_in_czech_is_asked_in_czech(app: Flask, manager: FlaskClient) -> None:
    resident = app.test_client()
    friday = local_start("2026-11-27", "10:00", WARSAW)
    before = version(app, ZIELNA)
    texts = current_texts(app, ZIELNA, "symptoms")
    page = regime_url(ZIELNA, f"/questions/{question_id(app, ZIELNA, 'symptoms')}")
    assert texts["cs"] in manager.get(page).get_data(as_text=True)  # the form shows it to edit

    edited = {**texts, "cs": "Máte dnes horečku nebo kašel?"}
    assert post(manager, page, question_form(edited)).status_code == 302

    assert version(app, ZIELNA) > before
    assert "Máte dnes horečku nebo kašel?" in booking_page(resident, ZIELNA, RATY, friday, "cs")
    polish = booking_page(resident, ZIELNA, RATY, friday, "pl")
    assert texts["pl"] in polish and "Máte dnes horečku" not in polish
    [entry] = history(app, "admission_question")
    assert entry.before == {"texts": texts} and entry.after == {"texts": edited}


def test_the_refusing_answer_can_be_changed(app: Flask, manager: FlaskClient) -> None:
    """ "Do you wear a mask?" refuses on "no": the mask question's "no" now keeps one out."""
    friday = local_start("2026-11-27", "10:00", WARSAW)
    page = regime_url(ZIELNA, f"/questions/{question_id(app, ZIELNA, 'isolation')}")
    mask = {
        "pl": "Czy masz maseczkę?",
        "cs": "Máte roušku?",
        "en": "Do you have a mask?",
        "uk": "У вас є маска?",
    }
    assert post(manager, page, question_form(mask, refuse_on="no")).status_code == 302

    resident = app.test_client()
    all_no = dict.fromkeys(KEYS, "no")
    refused = book_form(resident, ZIELNA, RATY, friday, language="en", answers=all_no)
    assert refused.status_code == 403
    with_mask = {**all_no, "isolation": "yes"}
    assert book_form(resident, ZIELNA, RATY, friday, answers=with_mask).status_code == 302


def test_questions_are_added_moved_and_removed(app: Flask, manager: FlaskClient) -> None:
    resident = app.test_client()
    friday = local_start("2026-11-27", "10:00", WARSAW)
    travel = {
        "pl": "Czy wróciłeś(-aś) z zagranicy w ciągu 10 dni?",
        "cs": "Vrátili jste se ze zahraničí během 10 dní?",
        "en": "Have you come back from abroad in the last 10 days?",
        "uk": "Чи поверталися ви з-за кордону протягом останніх 10 днів?",
    }
    new_page = regime_url(ZIELNA, "/questions/new")
    assert post(manager, new_page, question_form(travel)).status_code == 302
    key = "have_you_come_back_from_abroad_in_the"
    assert QUESTION_RE.findall(booking_page(resident, ZIELNA, RATY, friday)) == [*KEYS, key]
    assert travel["en"] in booking_page(resident, ZIELNA, RATY, friday)

    new_id = question_id(app, ZIELNA, key)
    move = regime_url(ZIELNA, f"/questions/{new_id}/move")
    assert post(manager, regime_url(ZIELNA), {"direction": "up"}, move).status_code == 302
    expected = [*KEYS[:3], key, KEYS[3]]
    assert QUESTION_RE.findall(booking_page(resident, ZIELNA, RATY, friday)) == expected
    assert QUESTION_RE.findall(manager.get(regime_url(ZIELNA)).get_data(as_text=True)) == expected

    remove = regime_url(ZIELNA, f"/questions/{new_id}/delete")
    assert travel["cs"] in manager.get(remove).get_data(as_text=True)  # what is removed
    assert post(manager, remove, {"confirm": "yes"}).status_code == 302
    assert QUESTION_RE.findall(booking_page(resident, ZIELNA, RATY, friday)) == KEYS
    actions = [e.action for e in history(app, "admission_question")]
    assert actions == ["create", "move", "delete"]


def test_the_last_question_stays(app: Flask, manager: FlaskClient) -> None:
    """An office file without questions would get the four defaults back: turn it off instead."""
    for key in KEYS[:-1]:
        remove = regime_url(ZIELNA, f"/questions/{question_id(app, ZIELNA, key)}/delete")
        assert post(manager, remove, {"confirm": "yes"}).status_code == 302
    remove = regime_url(ZIELNA, f"/questions/{question_id(app, ZIELNA, KEYS[-1])}/delete")
    page = manager.get(remove).get_data(as_text=True)
    assert "turn the regime off instead" in page
    response = manager.post(remove, data={"csrf_token": csrf_token(manager, regime_url(ZIELNA))})
    assert response.status_code == 409
    assert QUESTION_RE.findall(manager.get(regime_url(ZIELNA)).get_data(as_text=True)) == KEYS[-1:]


def test_a_question_needs_every_language_and_keeps_what_was_typed(
    app: Flask, manager: FlaskClient
) -> None:
    page = regime_url(ZIELNA, "/questions/new")
    response = post(manager, page, {"text_pl": "Czy masz gorączkę?", "text_en": "A fever?"})
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert ERROR_RE.findall(text) == [
        "Please give the text in this language.",  # Czech (Ukrainian may be left out)
        "Please choose the answer that refuses.",
    ]
    assert "Czy masz gorączkę?</textarea>" in text and "A fever?</textarea>" in text
    with app.app_context():
        assert db.session.scalar(
            select(func.count(AdmissionQuestion.id)).join(Office).where(Office.slug == ZIELNA)
        ) == len(KEYS)


# ------------------------------------------------------------------ notices


def test_notices_are_edited_per_language(app: Flask, manager: FlaskClient) -> None:
    resident = app.test_client()
    friday = local_start("2026-11-27", "10:00", WARSAW)
    notices = {
        "notices_pl": "Wejście od podwórza.\n\nProsimy o punktualność.",
        "notices_cs": "Vchod ze dvora.",
        "notices_en": "",
    }
    action = regime_url(ZIELNA, "/notices")
    assert post(manager, regime_url(ZIELNA), notices, action).status_code == 302
    polish = booking_page(resident, ZIELNA, RATY, friday, "pl")
    assert "Wejście od podwórza." in polish and "Prosimy o punktualność." in polish
    assert "Vchod ze dvora." in booking_page(resident, ZIELNA, RATY, friday, "cs")
    english = booking_page(resident, ZIELNA, RATY, friday, "en")
    assert "mask covering your nose" not in english  # no English notices: the page falls back
    with app.app_context():
        office = db.session.scalar(select(Office).where(Office.slug == ZIELNA))
        assert office is not None and office.admission is not None
        assert office.admission.notices == {
            "pl": ["Wejście od podwórza.", "Prosimy o punktualność."],
            "cs": ["Vchod ze dvora."],
        }
    too_long = {"notices_pl": "x" * 301}
    response = post(manager, regime_url(ZIELNA), too_long, action)
    assert response.status_code == 422
    assert "Each notice may have at most 300 characters." in response.get_data(as_text=True)


# ------------------------------------------------------------------ departments


def test_the_edited_department_is_shown_to_a_refused_resident(
    app: Flask, manager: FlaskClient
) -> None:
    page = regime_url(ZIELNA, f"/departments/{department_id(app, ZIELNA, 'windykacja')}")
    form = manager.get(page).get_data(as_text=True)
    assert 'value="windykacja@bm.bytom.pl"' in form and 'value="+48 32 532 50 25"' in form
    data = {
        "key": "windykacja",
        "kind": "department",
        "name_pl": "Dział Windykacji i Ugód",
        "name_cs": "Oddělení vymáhání a dohod",
        "name_en": "Debt Collection and Settlements",
        "name_uk": "Відділ стягнення боргів і угод",
        "email": "ugody@bm.bytom.pl",
        "address": "ul. Zielna 25b, Bytom",
        "phones-0-number": "32 532 50 25",
        "phones-0-topic_pl": "raty",
        "phones-0-topic_cs": "splátky",
        "phones-0-topic_en": "instalments",
        "phones-0-topic_uk": "розстрочка",
    }
    assert post(manager, page, data).status_code == 302

    friday = local_start("2026-11-27", "10:00", WARSAW)
    refusing = {**dict.fromkeys(KEYS, "no"), "symptoms": "yes"}
    resident = app.test_client()
    resident.get("/?lang=cs")  # a resident reading in Czech
    refusal = book_form(resident, ZIELNA, RATY, friday, language="cs", answers=refusing)
    assert refusal.status_code == 403
    text = refusal.get_data(as_text=True)
    assert 'data-department="windykacja"' in text
    assert "Oddělení vymáhání a dohod" in text and "ugody@bm.bytom.pl" in text
    assert "splátky" in text
    with app.app_context():
        department = db.session.get(Department, department_id(app, ZIELNA, "windykacja"))
        assert department is not None
        assert department.phones == [
            {
                "number": "+48325325025",
                "topics": {"pl": "raty", "cs": "splátky", "en": "instalments", "uk": "розстрочка"},
            }
        ]


def test_a_department_needs_its_names_and_valid_contacts(app: Flask, manager: FlaskClient) -> None:
    page = regime_url(ZIELNA, "/departments/new")
    data = {
        "kind": "branch",
        "name_pl": "POM 7",
        "name_en": "POM 7 (branch office)",
        "email": "pom7@",
        "phones-0-number": "12",
        "phones-1-number": "+48 32 532 57 00",
        "phones-1-topic_pl": "sekcja techniczna",
    }
    response = post(manager, page, data)
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert ERROR_RE.findall(text) == [
        "Please give the text in this language.",  # Czech (Ukrainian may be left out)
        "This e-mail address is not valid.",
        "This phone number is not valid.",
        "Give the topic in every language, or in none.",
    ]
    assert 'value="POM 7 (branch office)"' in text and 'value="sekcja techniczna"' in text

    data.update(
        {
            "name_cs": "POM 7 (pobočka)",
            "name_uk": "POM 7 (філія)",
            "email": "pom7@bm.bytom.pl",
            "phones-0-number": "",
            "phones-1-topic_cs": "technický úsek",
            "phones-1-topic_en": "technical section",
            "phones-1-topic_uk": "технічний відділ",
        }
    )
    assert post(manager, page, data).status_code == 302
    with app.app_context():
        added = db.session.get(Department, department_id(app, ZIELNA, "pom-7-branch-office"))
        assert added is not None and added.kind == "branch"
        assert [p["number"] for p in added.phones] == ["+48325325700"]
    [entry] = history(app, "department")
    assert entry.action == "create" and entry.after["key"] == "pom-7-branch-office"

    taken = {**data, "key": "windykacja"}
    response = post(manager, page, taken)
    assert response.status_code == 422
    assert "Another department of this office has this short name." in response.get_data(
        as_text=True
    )


def test_a_department_used_by_services_cannot_be_removed(app: Flask, manager: FlaskClient) -> None:
    remove = regime_url(ZIELNA, f"/departments/{department_id(app, ZIELNA, 'windykacja')}/delete")
    page = manager.get(remove).get_data(as_text=True)
    assert "Rent arrears: instalments and write-offs" in manager.get(remove + "?lang=en").get_data(
        as_text=True
    )
    assert 'name="confirm"' not in page
    response = manager.post(
        remove, data={"csrf_token": csrf_token(manager, regime_url(ZIELNA)), "confirm": "yes"}
    )
    assert response.status_code == 409
    text = response.get_data(as_text=True)
    assert "Certificate of no arrears" in text or "Zaświadczenie o niezaleganiu" in text
    department_id(app, ZIELNA, "windykacja")  # still there

    unused = regime_url(ZIELNA, f"/departments/{department_id(app, ZIELNA, 'pom-1')}/delete")
    assert post(manager, unused, {"confirm": "yes"}).status_code == 302
    with app.app_context():
        left = select(Department.key).join(Office).where(Office.slug == ZIELNA)
        assert "pom-1" not in db.session.scalars(left).all()
    assert [e.action for e in history(app, "department")] == ["delete"]


def test_departments_are_reordered(app: Flask, manager: FlaskClient) -> None:
    second = department_id(app, ZIELNA, "lokale-mieszkalne")
    move = regime_url(ZIELNA, f"/departments/{second}/move")
    assert post(manager, regime_url(ZIELNA), {"direction": "up"}, move).status_code == 302
    page = manager.get(regime_url(ZIELNA)).get_data(as_text=True)
    order = re.findall(r'data-department="([\w-]+)"', page)
    assert order[:2] == ["lokale-mieszkalne", "sekretariat"]
    first = department_id(app, ZIELNA, "lokale-mieszkalne")
    move = regime_url(ZIELNA, f"/departments/{first}/move")
    response = post(manager, regime_url(ZIELNA), {"direction": "sideways"}, move)
    assert response.status_code == 400


# ------------------------------------------------------------------ in the browser


@pytest.mark.browser
def test_a_manager_edits_a_question_in_the_browser(
    app: Flask, live_server: Any, browser: Any
) -> None:
    """Signed in through the login form, every page axe-clean, the keyboard's Enter submits."""
    make_account(app, "browser-manager", Role.MANAGER, manages=[ZIELNA])
    context = browser.new_context(locale="en-GB", viewport={"width": 1280, "height": 800})
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/login?lang=en")
        page.fill("#username", "browser-manager")
        page.fill("#password", PASSWORD)
        page.press("#password", "Enter")
        page.wait_for_url("**/admin/**")
        page.goto(f"{live_server.url}/admin/o/{ZIELNA}/regime")
        assert_accessible(page)
        page.get_by_role("link", name="Edit: question 1").click()
        assert_accessible(page)
        page.fill("#text_cs", "Máte dnes horečku?")
        page.get_by_role("button", name="Save the question").click()
        page.wait_for_url("**/regime#questions")
        assert page.get_by_text("Máte dnes horečku?").is_visible()
        assert_accessible(page)
        page.get_by_role("link", name="Remove: question 2").click()
        assert_accessible(page)
        page.get_by_role("link", name="Back").click()
        page.goto(f"{live_server.url}/admin/o/{ZIELNA}/regime/departments/new")
        page.get_by_role("button", name="Save the department").click()
        assert page.locator(".field-error").first.is_visible()
        assert_accessible(page)
    finally:
        context.close()
