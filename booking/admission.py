"""The sanitary admission check: when it applies, what is asked, what is kept of the answers.

Answers are never stored. A check leaves one ``AdmissionCheck`` row: admitted
or not, the key of the question (or the clerk's listed reason) that refused,
and when; ``purge`` deletes these rows after a short time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from okienko.database import rows_changed
from okienko.i18n import localized

from . import ledger
from .availability import local_today
from .models import AdmissionCheck, AdmissionQuestion, Booking, BookingEventKind, Office
from .refusals import Refusal

# Bytomskie Mieszkania's four reasons to stay home (its public notice); offices may edit them.
DEFAULT_QUESTIONS: list[tuple[str, dict[str, str]]] = [
    (
        "symptoms",
        {
            "pl": "Czy masz objawy wskazujące na chorobę zakaźną (np. gorączkę, kaszel, duszność)?",
            "cs": "Máte příznaky infekčního onemocnění (např. horečku, kašel, dušnost)?",
            "en": "Do you have symptoms of an infectious disease (e.g. fever, cough, "
            "shortness of breath)?",
            "uk": "Чи маєте ви симптоми інфекційного захворювання (напр. підвищену температуру, "
            "кашель, задишку)?",
        },
    ),
    (
        "isolation",
        {
            "pl": "Czy odbywasz obowiązkową izolację lub kwarantannę?",
            "cs": "Jste v povinné izolaci nebo karanténě?",
            "en": "Are you in mandatory isolation or quarantine?",
            "uk": "Чи перебуваєте ви на обов’язковій ізоляції або карантині?",
        },
    ),
    (
        "household",
        {
            "pl": "Czy mieszkasz z osobą poddaną obowiązkowej izolacji lub kwarantannie?",
            "cs": "Žijete s osobou, která je v povinné izolaci nebo karanténě?",
            "en": "Do you live with someone who is in mandatory isolation or quarantine?",
            "uk": "Чи проживаєте ви з особою, яка перебуває на обов’язковій ізоляції "
            "або карантині?",
        },
    ),
    (
        "contact",
        {
            "pl": "Czy w ciągu ostatnich 7 dni miałeś(-aś) kontakt z osobą podejrzaną o "
            "zakażenie, chorą lub skierowaną do izolacji?",
            "cs": "Byli jste za posledních 7 dní v kontaktu s osobou podezřelou z nákazy, "
            "nemocnou nebo poslanou do izolace?",
            "en": "In the last 7 days, have you been in contact with someone suspected of "
            "infection, ill, or sent to isolation?",
            "uk": "Чи контактували ви протягом останніх 7 днів з особою, підозрюваною на "
            "зараження, хворою або направленою на ізоляцію?",
        },
    ),
]

DEFAULT_NOTICES: dict[str, list[str]] = {
    "pl": [
        "Wejście tylko w maseczce zasłaniającej nos i usta.",
        "Po wejściu do budynku zdezynfekuj ręce – także w rękawiczkach jednorazowych.",
    ],
    "cs": [
        "Vstup pouze s rouškou zakrývající nos a ústa.",
        "Po vstupu do budovy si vydezinfikujte ruce – i v jednorázových rukavicích.",
    ],
    "en": [
        "Enter only with a mask covering your nose and mouth.",
        "Disinfect your hands on entering the building, with or without disposable gloves.",
    ],
    "uk": [
        "Вхід лише в масці, що закриває ніс і рот.",
        "Після входу до будівлі продезінфікуйте руки – навіть якщо ви в одноразових рукавичках.",
    ],
}

# A clerk picks one of these; never free text, which could hold health details.
COUNTER_REASONS: dict[str, object] = {
    "looks_ill": _l("Looks ill"),
    "no_mask": _l("No mask covering nose and mouth"),
    "no_disinfection": _l("Did not disinfect hands"),
}

# A passing answer at the kiosk is good for the ticket taken right after it.
KIOSK_ANSWER_VALID = timedelta(minutes=10)


class AdmissionError(Refusal):
    error = "admission_error"
    message: object = _l("The admission check was not passed.")
    status = 403


class AnswersMissing(AdmissionError):
    error = "answers_missing"
    message = _l("Please answer every question of the admission check.")
    status = 400


class NotAdmitted(AdmissionError):
    error = "not_admitted"
    message = _l(
        "Under the office's sanitary rules you cannot come in person now. "
        "Please handle your matter by phone, e-mail, the drop box or post."
    )


class NotChecked(AdmissionError):
    error = "admission_check_required"
    message = _l("Please answer the admission questions first.")


@dataclass(frozen=True)
class Outcome:
    admitted: bool
    question: str | None = None


def regime_active(office: Office, day: date) -> bool:
    policy = office.admission
    return bool(
        policy
        and policy.enabled
        and (policy.first_day is None or policy.first_day <= day)
        and (policy.last_day is None or day <= policy.last_day)
    )


def regime_active_at(office: Office, instant: datetime) -> bool:
    return regime_active(office, instant.astimezone(ZoneInfo(office.timezone)).date())


def needs_check(booking: Booking) -> bool:
    """An in-person visit on a day the regime is on; phone consultations need none."""
    return not booking.by_phone and regime_active_at(booking.office, booking.starts_at)


def questions(office: Office) -> list[AdmissionQuestion]:
    return list(office.questions)


def notices(office: Office, day: date, locale: str) -> list[str]:
    """The regime's notices (masks, disinfection) for ``day``; none when the regime is off."""
    if not regime_active(office, day) or office.admission is None:
        return []
    return localized(office.admission.notices, locale) or []


def evaluate(asked: list[AdmissionQuestion], answers: Mapping[str, bool | None]) -> Outcome:
    """Admitted unless some answer is the one its question refuses on."""
    if any(answers.get(q.key) is None for q in asked):
        raise AnswersMissing()
    for q in asked:
        if answers[q.key] == q.refuse_on:
            return Outcome(False, q.key)
    return Outcome(True)


def record(
    session: Session,
    office: Office,
    place: str,
    outcome: Outcome,
    now: datetime,
    booking: Booking | None = None,
    staff_id: int | None = None,
    reason: str | None = None,
    service_id: int | None = None,
) -> AdmissionCheck:
    check = AdmissionCheck(
        office_id=office.id,
        booking_id=booking.id if booking else None,
        staff_id=staff_id,
        place=place,
        admitted=outcome.admitted,
        question=outcome.question,
        reason=reason,
        at=now,
    )
    session.add(check)
    if not outcome.admitted:  # the check is deleted soon; the count stays
        ledger.note(
            session,
            BookingEventKind.REFUSED,
            office,
            now,
            booking=booking,
            service_id=service_id,
            place=place,
            reason=reason or outcome.question,
        )
    session.flush()
    return check


def day_start(office: Office, day: date) -> datetime:
    return datetime.combine(day, time(0), ZoneInfo(office.timezone))


def passed_today(session: Session, booking: Booking, now: datetime) -> bool:
    """The latest answer for ``booking`` today, on the day of the visit, admitted it."""
    office = booking.office
    today = local_today(office, now)
    if booking.starts_at.astimezone(ZoneInfo(office.timezone)).date() != today:
        return False
    latest = session.scalar(
        select(AdmissionCheck)
        .where(
            AdmissionCheck.booking_id == booking.id, AdmissionCheck.at >= day_start(office, today)
        )
        .order_by(AdmissionCheck.at.desc(), AdmissionCheck.id.desc())
        .limit(1)
    )
    return latest is not None and latest.admitted


def kiosk_pass_usable(check: AdmissionCheck | None, office: Office, now: datetime) -> bool:
    """A walk-in's passing kiosk answer, fresh and not yet used for a ticket."""
    return (
        check is not None
        and check.admitted
        and check.place == "kiosk"
        and check.office_id == office.id
        and check.booking_id is None
        and check.ticket_id is None
        and now - check.at <= KIOSK_ANSWER_VALID
    )


def online_window(booking: Booking) -> tuple[datetime, datetime]:
    """When the online answer before a visit can be given: the link is valid in between."""
    policy = booking.office.admission
    hours = policy.link_hours_before if policy else 24
    after = timedelta(minutes=booking.office.checkin_after_minutes)
    return booking.starts_at - timedelta(hours=hours), booking.starts_at + after


def rebook_from(booking: Booking) -> datetime:
    """The earliest start a refused booking may be moved to in person: the whole local day,
    so many days after the refusal."""
    policy = booking.office.admission
    days = policy.rebook_after_days if policy else 0
    refused = local_today(booking.office, booking.refused_at or booking.starts_at)
    return day_start(booking.office, refused + timedelta(days=days))


def purge(session: Session, now: datetime, keep: timedelta) -> int:
    """Delete outcomes older than ``keep``; returns how many went."""
    return rows_changed(
        session.execute(delete(AdmissionCheck).where(AdmissionCheck.at < now - keep))
    )
