"""The sanitary regime editor's forms: the regime's days, a question, the notices and a
department of the directory. Texts a resident reads are asked in every language."""

from __future__ import annotations

from typing import Any

import phonenumbers
from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateField,
    FieldList,
    FormField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)

# WTForms 3.2's choice type; types-WTForms does not list it yet.
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]
from wtforms.validators import (
    AnyOf,
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    StopValidation,
    ValidationError,
)

from booking.contact import ContactError, normalize_email, normalize_phone
from booking.models import AdmissionQuestion, Department
from okienko.i18n import LANGUAGES, REQUIRED_LANGUAGES

from ..forms import AdminForm, AdminSubform, strip
from ..regime import DepartmentData, Phone, Regime

IN_LANGUAGE = {
    "pl": _l("In Polish"),
    "cs": _l("In Czech"),
    "en": _l("In English"),
    "uk": _l("In Ukrainian"),
}
TOPIC_IN = {
    "pl": _l("Topic in Polish"),
    "cs": _l("Topic in Czech"),
    "en": _l("Topic in English"),
    "uk": _l("Topic in Ukrainian"),
}
TOPIC_LENGTH = Length(max=300, message=_l("At most %(max)d characters, please."))
NOTICE_LINES = 10
NOTICE_LENGTH = 300
SPARE_PHONES = 2  # empty phone rows offered under the department's numbers
MAX_PHONES = 60


class DayField(DateField):
    """A date typed or picked; a message in the user's language when it is not one."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(_l("Please give a date like 2026-12-24.")) from None


class WholeNumberField(IntegerField):
    def process_formdata(self, valuelist: list[Any]) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(_l("Please give a whole number.")) from None

    def pre_validate(self, form: Any) -> None:
        if self.process_errors:  # not a number: its range says nothing more
            raise StopValidation()


class RegimeForm(AdminForm):
    enabled = BooleanField(_l("The sanitary regime is on"))
    first_day = DayField(_l("First day (optional)"), validators=[Optional()])
    last_day = DayField(_l("Last day (optional)"), validators=[Optional()])
    link_hours_before = WholeNumberField(
        _l("Residents may answer online this many hours before their visit"),
        validators=[
            InputRequired(_l("Please give a number of hours.")),
            NumberRange(0, 168, _l("Between %(min)s and %(max)s hours, please.")),
        ],
    )
    rebook_after_days = WholeNumberField(
        _l("A refused resident may book a visit in person again after this many days"),
        validators=[
            InputRequired(_l("Please give a number of days.")),
            NumberRange(0, 365, _l("Between %(min)s and %(max)s days, please.")),
        ],
    )

    def validate_last_day(self, field: DayField) -> None:
        if field.data and self.first_day.data and field.data < self.first_day.data:
            raise ValidationError(_l("The last day cannot be before the first day."))

    def regime(self) -> Regime:
        return Regime(
            bool(self.enabled.data),
            self.first_day.data,
            self.last_day.data,
            int(self.link_hours_before.data or 0),
            int(self.rebook_after_days.data or 0),
        )


def _at_most(limit: int) -> Length:
    return Length(max=limit, message=_l("At most %(max)d characters, please."))


def _required_text(limit: int) -> list[Any]:
    return [DataRequired(_l("Please give the text in this language.")), _at_most(limit)]


class QuestionForm(AdminForm):
    text_pl = TextAreaField(IN_LANGUAGE["pl"], validators=_required_text(500), filters=[strip])
    text_cs = TextAreaField(IN_LANGUAGE["cs"], validators=_required_text(500), filters=[strip])
    text_en = TextAreaField(IN_LANGUAGE["en"], validators=_required_text(500), filters=[strip])
    text_uk = TextAreaField(IN_LANGUAGE["uk"], validators=[_at_most(500)], filters=[strip])
    refuse_on = RadioField(
        _l("Which answer keeps the visitor out?"),
        choices=[SelectChoice("yes", _l("Yes")), SelectChoice("no", _l("No"))],
        validators=[InputRequired(_l("Please choose the answer that refuses."))],
    )

    def fill(self, question: AdmissionQuestion) -> None:
        for lang in LANGUAGES:
            self[f"text_{lang}"].data = question.texts.get(lang, "")
        self.refuse_on.data = "yes" if question.refuse_on else "no"

    def texts(self) -> dict[str, str]:
        return {lang: self[f"text_{lang}"].data for lang in LANGUAGES}


def _lines(text: str | None) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


class NoticesForm(AdminForm):
    notices_pl = TextAreaField(IN_LANGUAGE["pl"])
    notices_cs = TextAreaField(IN_LANGUAGE["cs"])
    notices_en = TextAreaField(IN_LANGUAGE["en"])
    notices_uk = TextAreaField(IN_LANGUAGE["uk"])

    def fill(self, notices: dict[str, list[str]]) -> None:
        for lang in LANGUAGES:
            self[f"notices_{lang}"].data = "\n".join(notices.get(lang, []))

    def validate(self, extra_validators: Any = None) -> bool:
        ok = super().validate(extra_validators)
        for lang in LANGUAGES:
            field = self[f"notices_{lang}"]
            lines = _lines(field.data)
            if len(lines) > NOTICE_LINES:
                field.errors = [_l("At most %(num)d notices, please.", num=NOTICE_LINES)]
                ok = False
            elif any(len(line) > NOTICE_LENGTH for line in lines):
                field.errors = [
                    _l("Each notice may have at most %(max)d characters.", max=NOTICE_LENGTH)
                ]
                ok = False
        return ok

    def notices(self) -> dict[str, list[str]]:
        return {lang: _lines(self[f"notices_{lang}"].data) for lang in LANGUAGES}


class PhoneForm(AdminSubform):
    """One direct line; its topic says what to call it about, in every language or none."""

    number = StringField(
        _l("Number"),
        validators=[Length(max=30, message=_l("This phone number is too long."))],
        filters=[strip],
    )
    topic_pl = StringField(TOPIC_IN["pl"], validators=[TOPIC_LENGTH], filters=[strip])
    topic_cs = StringField(TOPIC_IN["cs"], validators=[TOPIC_LENGTH], filters=[strip])
    topic_en = StringField(TOPIC_IN["en"], validators=[TOPIC_LENGTH], filters=[strip])
    topic_uk = StringField(TOPIC_IN["uk"], validators=[TOPIC_LENGTH], filters=[strip])

    def topics(self) -> dict[str, str]:
        return {lang: self[f"topic_{lang}"].data or "" for lang in LANGUAGES}


class DepartmentForm(AdminForm):
    key = StringField(
        _l("Short name in the office file"),
        description=_l(
            "Letters, digits and hyphens, e.g. debt-collection; made from the English name "
            "when left empty."
        ),
        validators=[
            Optional(),
            Length(max=64, message=_l("At most %(max)d characters, please.")),
            Regexp(
                r"^[A-Za-z0-9][A-Za-z0-9_-]*$",
                message=_l("Only letters, digits, hyphens and underscores, please."),
            ),
        ],
        filters=[strip],
    )
    kind = SelectField(
        _l("Kind"),
        choices=[
            SelectChoice("department", _l("Department")),
            SelectChoice("branch", _l("Branch office")),
        ],
        validators=[AnyOf(["department", "branch"], message=_l("Please choose the kind."))],
    )
    name_pl = StringField(IN_LANGUAGE["pl"], validators=_required_text(200), filters=[strip])
    name_cs = StringField(IN_LANGUAGE["cs"], validators=_required_text(200), filters=[strip])
    name_en = StringField(IN_LANGUAGE["en"], validators=_required_text(200), filters=[strip])
    name_uk = StringField(IN_LANGUAGE["uk"], validators=[_at_most(200)], filters=[strip])
    email = StringField(
        _l("E-mail"),
        validators=[Optional(), Length(max=200, message=_l("This e-mail address is too long."))],
        filters=[strip],
    )
    address = StringField(
        _l("Address"),
        validators=[Optional(), Length(max=300, message=_l("At most %(max)d characters, please."))],
        filters=[strip],
    )
    phones = FieldList(FormField(PhoneForm), min_entries=SPARE_PHONES, max_entries=MAX_PHONES)

    def __init__(self, *args: Any, region: str = "PL", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.region = region

    def fill(self, department: Department) -> None:
        self.key.data = department.key
        self.kind.data = department.kind
        for lang in LANGUAGES:
            self[f"name_{lang}"].data = department.names.get(lang, "")
        self.email.data = department.email or ""
        self.address.data = department.address or ""
        while self.phones.entries:
            self.phones.pop_entry()
        spare = max(0, min(SPARE_PHONES, MAX_PHONES - len(department.phones)))
        for phone in [*department.phones[:MAX_PHONES], *[{}] * spare]:
            entry = self.phones.append_entry()
            entry.number.data = _readable(phone.get("number", ""))
            for lang in LANGUAGES:
                entry[f"topic_{lang}"].data = phone.get("topics", {}).get(lang, "")

    def validate_email(self, field: StringField) -> None:
        if field.data:
            try:
                field.data = normalize_email(field.data)
            except ContactError as exc:
                raise ValidationError(str(exc.message)) from exc

    def validate_phones(self, field: FieldList) -> None:
        for entry in field.entries:
            topics = entry.topics()
            if entry.number.data:
                try:
                    entry.number.data = normalize_phone(entry.number.data, self.region)
                except ContactError as exc:
                    entry.number.errors = [*entry.number.errors, exc.message]
                if any(topics.values()) and not all(topics[lang] for lang in REQUIRED_LANGUAGES):
                    entry.topic_en.errors = [
                        *entry.topic_en.errors,
                        _l("Give the topic in every language, or in none."),
                    ]
            elif any(topics.values()):
                entry.number.errors = [*entry.number.errors, _l("Please give the number.")]
        if any(e.number.errors or e.topic_en.errors for e in field.entries):
            raise ValidationError(_l("Please check the phone numbers."))

    def data_of(self) -> DepartmentData:
        return DepartmentData(
            key=self.key.data or "",
            kind=self.kind.data,
            names={lang: self[f"name_{lang}"].data for lang in LANGUAGES},
            email=self.email.data or None,
            address=self.address.data or None,
            phones=[_phone(entry.form) for entry in self.phones.entries if entry.number.data],
        )


def _phone(form: PhoneForm) -> Phone:
    topics = form.topics()
    return Phone(form.number.data or "", topics if any(topics.values()) else {})


def _readable(number: str) -> str:
    """A stored E.164 number as people write it: +48 32 532 59 99."""
    if not number:
        return ""
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return number
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


class MoveForm(AdminForm):
    direction = HiddenField(validators=[AnyOf(["up", "down"])])


class ConfirmRemoveForm(AdminForm):
    """Removing needs the confirmation page's button, which sends ``confirm``."""

    confirm = HiddenField(validators=[AnyOf(["yes"])])
