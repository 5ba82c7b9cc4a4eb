"""Editing an office's sanitary regime: when it is on, its questions and notices, and the
directory of departments and branch offices a refused resident is sent to.

Every change is recorded in the history and raises the office's version, so the
residents' pages and the API ask the new questions at once. Nothing is applied to the
past: an answer is judged by the questions asked when it was given, and a refusal stands
(its counter time was given to others and its resident mailed); the kiosk asks the
current questions at every arrival. What the editor saves, the office file's importer
accepts: question texts and department names in every language, phones as E.164.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

from sqlalchemy.orm import Session

from booking.importer import apply_admission
from booking.models import AdmissionPolicy, AdmissionQuestion, Department, Office, Service
from booking.versions import touch
from queueing.models import StaffUser

from .audit import record, snapshot

POLICY_FIELDS = ("enabled", "first_day", "last_day", "link_hours_before", "rebook_after_days")
QUESTION_FIELDS = ("key", "position", "texts", "refuse_on")
DEPARTMENT_FIELDS = ("key", "kind", "position", "names", "email", "address", "phones")
KEY_LIMIT = 40  # AdmissionQuestion.key


class InUse(Exception):
    """A department that services still name: it cannot go while they do."""

    def __init__(self, services: list[Service]) -> None:
        super().__init__(", ".join(s.key for s in services))
        self.services = services


class LastQuestion(Exception):
    """The regime keeps at least one question: an office file without any gets the defaults."""


class KeyTaken(Exception):
    """Another department of the office has this key."""


@dataclass(frozen=True)
class Regime:
    enabled: bool
    first_day: date | None
    last_day: date | None
    link_hours_before: int
    rebook_after_days: int


@dataclass(frozen=True)
class Phone:
    number: str  # E.164
    topics: dict[str, str] = field(default_factory=dict)  # every language, or none


@dataclass(frozen=True)
class DepartmentData:
    key: str  # empty: made from the English name
    kind: str
    names: dict[str, str]
    email: str | None
    address: str | None
    phones: list[Phone]


class Ordered(Protocol):
    id: int
    position: int


def policy(office: Office) -> AdmissionPolicy:
    """The office's regime; one never set up starts off, with the default questions and
    notices, as the office file and ``flask admission on`` set it up."""
    if office.admission is None:
        apply_admission(office, {})
    assert office.admission is not None
    return office.admission


def set_regime(
    session: Session, now: datetime, actor: StaffUser, office: Office, regime: Regime
) -> None:
    rules = policy(office)
    before = snapshot(rules, POLICY_FIELDS)
    for name in POLICY_FIELDS:
        setattr(rules, name, getattr(regime, name))
    if record(
        session,
        now,
        actor,
        "update",
        "admission_policy",
        office.id,
        office_id=office.id,
        before=before,
        after=snapshot(rules, POLICY_FIELDS),
    ):
        touch(session, office.id)


def set_notices(
    session: Session,
    now: datetime,
    actor: StaffUser,
    office: Office,
    notices: Mapping[str, list[str]],
) -> None:
    """The notices per language; a language without lines is left out."""
    rules = policy(office)
    before = {"notices": rules.notices}
    rules.notices = {lang: list(lines) for lang, lines in notices.items() if lines}
    if record(
        session,
        now,
        actor,
        "update",
        "admission_notices",
        office.id,
        office_id=office.id,
        before=before,
        after={"notices": rules.notices},
    ):
        touch(session, office.id)


def new_key(text: str, taken: set[str], separator: str = "_") -> str:
    """A key from a text: its ascii words joined by ``separator``, unique among ``taken``.

    Question keys name the answers in the API and in kept outcomes, so they never change.
    """
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    base = ""
    for word in re.findall(r"[a-z0-9]+", plain):
        if len(base) + len(word) + 1 > KEY_LIMIT - 3:
            break
        base = f"{base}{separator}{word}" if base else word
    base = base or "item"
    key, number = base, 2
    while key in taken:
        key, number = f"{base}{separator}{number}", number + 1
    return key


def add_question(
    session: Session,
    now: datetime,
    actor: StaffUser,
    office: Office,
    texts: dict[str, str],
    refuse_on: bool,
) -> AdmissionQuestion:
    policy(office)
    question = AdmissionQuestion(
        key=new_key(texts.get("en", ""), {q.key for q in office.questions}),
        position=max((q.position for q in office.questions), default=-1) + 1,
        texts=dict(texts),
        refuse_on=refuse_on,
    )
    office.questions.append(question)
    session.flush()
    record(
        session,
        now,
        actor,
        "create",
        "admission_question",
        question.id,
        office_id=office.id,
        after=snapshot(question, QUESTION_FIELDS),
    )
    touch(session, office.id)
    return question


def update_question(
    session: Session,
    now: datetime,
    actor: StaffUser,
    question: AdmissionQuestion,
    texts: dict[str, str],
    refuse_on: bool,
) -> None:
    before = snapshot(question, QUESTION_FIELDS)
    question.texts = dict(texts)
    question.refuse_on = refuse_on
    if record(
        session,
        now,
        actor,
        "update",
        "admission_question",
        question.id,
        office_id=question.office_id,
        before=before,
        after=snapshot(question, QUESTION_FIELDS),
    ):
        touch(session, question.office_id)


def remove_question(
    session: Session, now: datetime, actor: StaffUser, office: Office, question: AdmissionQuestion
) -> None:
    """Outcomes kept from earlier checks keep the key of the question that refused them."""
    if len(office.questions) <= 1:
        raise LastQuestion()
    before = snapshot(question, QUESTION_FIELDS)
    office.questions.remove(question)
    _renumber(office.questions)
    record(
        session,
        now,
        actor,
        "delete",
        "admission_question",
        question.id,
        office_id=office.id,
        before=before,
    )
    touch(session, office.id)


def move(
    session: Session,
    now: datetime,
    actor: StaffUser,
    office: Office,
    rows: Sequence[Ordered],
    row: Ordered,
    step: int,
    record_type: str,
) -> bool:
    """Swap ``row`` with its neighbour ``step`` (-1 up, +1 down) in ``rows``; False at an end."""
    ordered = list(rows)
    index = ordered.index(row)
    target = index + step
    if not 0 <= target < len(ordered):
        return False
    ordered[index], ordered[target] = ordered[target], ordered[index]
    _renumber(ordered)
    record(
        session,
        now,
        actor,
        "move",
        record_type,
        row.id,
        office_id=office.id,
        before={"position": index + 1},
        after={"position": target + 1},
    )
    touch(session, office.id)
    return True


def _renumber(rows: Sequence[Ordered]) -> None:
    for position, row in enumerate(rows):
        row.position = position


def _phones(phones: list[Phone]) -> list[dict[str, Any]]:
    return [{"number": p.number, "topics": dict(p.topics)} for p in phones]


def _check_key(office: Office, key: str, department: Department | None) -> None:
    if any(d.key == key and d is not department for d in office.departments):
        raise KeyTaken()


def add_department(
    session: Session, now: datetime, actor: StaffUser, office: Office, data: DepartmentData
) -> Department:
    key = data.key or new_key(data.names.get("en", ""), {d.key for d in office.departments}, "-")
    _check_key(office, key, None)
    department = Department(
        key=key,
        kind=data.kind,
        position=max((d.position for d in office.departments), default=-1) + 1,
        names=dict(data.names),
        email=data.email,
        address=data.address,
        phones=_phones(data.phones),
    )
    office.departments.append(department)
    session.flush()
    record(
        session,
        now,
        actor,
        "create",
        "department",
        department.id,
        office_id=office.id,
        after=snapshot(department, DEPARTMENT_FIELDS),
    )
    touch(session, office.id)
    return department


def update_department(
    session: Session,
    now: datetime,
    actor: StaffUser,
    office: Office,
    department: Department,
    data: DepartmentData,
) -> None:
    _check_key(office, data.key or department.key, department)
    before = snapshot(department, DEPARTMENT_FIELDS)
    department.key = data.key or department.key
    department.kind = data.kind
    department.names = dict(data.names)
    department.email = data.email
    department.address = data.address
    department.phones = _phones(data.phones)
    if record(
        session,
        now,
        actor,
        "update",
        "department",
        department.id,
        office_id=office.id,
        before=before,
        after=snapshot(department, DEPARTMENT_FIELDS),
    ):
        touch(session, office.id)


def services_using(office: Office, department: Department) -> list[Service]:
    return [s for s in office.services if s.department is department]


def remove_department(
    session: Session, now: datetime, actor: StaffUser, office: Office, department: Department
) -> None:
    """Refused with ``InUse`` while a service names the department for its remote handling."""
    using = services_using(office, department)
    if using:
        raise InUse(using)
    before = snapshot(department, DEPARTMENT_FIELDS)
    office.departments.remove(department)
    _renumber(office.departments)
    record(
        session,
        now,
        actor,
        "delete",
        "department",
        department.id,
        office_id=office.id,
        before=before,
    )
    touch(session, office.id)
