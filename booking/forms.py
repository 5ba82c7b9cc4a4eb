"""Forms residents fill in; the API feeds the same forms, so the rules live in one place."""

from __future__ import annotations

import unicodedata
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField, SelectField, StringField

# WTForms 3.2's choice type; types-WTForms does not list it yet.
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from okienko.i18n import LANGUAGE_NAMES, LANGUAGES

from .contact import ContactError, normalize_email, normalize_phone
from .models import AdmissionQuestion


def plain_name(form: Any, field: Any) -> None:
    """A person's name: letters and ordinary punctuation, no markup or control characters."""
    text = field.data or ""
    if any(ch in "<>{}" for ch in text) or any(
        unicodedata.category(ch).startswith("C") for ch in text
    ):
        raise ValidationError(_l("Please enter your name without special characters."))


class ContactForm(FlaskForm):
    name = StringField(
        _l("Full name"),
        validators=[
            DataRequired(_l("Please enter your name.")),
            Length(min=2, max=120, message=_l("The name must have 2 to 120 characters.")),
            plain_name,
        ],
        filters=[lambda s: " ".join(s.split()) if isinstance(s, str) else s],
    )
    email = StringField(
        _l("E-mail"),
        validators=[Optional(), Length(max=254, message=_l("This e-mail address is too long."))],
        filters=[lambda s: s.strip() if isinstance(s, str) else s],
    )
    phone = StringField(
        _l("Phone"),
        validators=[Optional(), Length(max=30, message=_l("This phone number is too long."))],
        filters=[lambda s: s.strip() if isinstance(s, str) else s],
    )
    language = SelectField(
        _l("Language for messages"),
        choices=[SelectChoice(code, LANGUAGE_NAMES[code]) for code in LANGUAGES],
        validators=[DataRequired(_l("Please choose a language."))],
    )
    # No consent is asked: arranging visits is the office's public task (Art. 6(1)(e)
    # GDPR). The form shows the information notice instead (booking/privacy.html).
    start = HiddenField(validators=[DataRequired(_l("Please choose a time."))])
    # "phone": a phone consultation, offered to whoever may not come in person.
    mode = HiddenField(default="in_person")

    def __init__(self, *args: Any, region: str = "PL", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.region = region

    def validate_email(self, field: StringField) -> None:
        if field.data:
            try:
                field.data = normalize_email(field.data)
            except ContactError as exc:
                raise ValidationError(str(exc.message)) from exc

    def validate_phone(self, field: StringField) -> None:
        if field.data:
            try:
                field.data = normalize_phone(field.data, self.region)
            except ContactError as exc:
                raise ValidationError(str(exc.message)) from exc

    def validate(self, extra_validators: Any = None) -> bool:
        ok = super().validate(extra_validators)
        if self.mode.data not in ("in_person", "phone"):
            self.mode.data = "in_person"
        if self.mode.data == "phone" and not self.phone.data and not self.phone.errors:
            self.phone.errors = [
                *self.phone.errors,
                _l("Please give a phone number the office can call for a phone consultation."),
            ]
            ok = False
        if (
            not self.email.data
            and not self.phone.data
            and not self.email.errors
            and not self.phone.errors
        ):
            self.email.errors = [
                *self.email.errors,
                _l("Please give an e-mail address or a phone number."),
            ]
            ok = False
        return ok


class ConfirmForm(FlaskForm):
    """An empty form: only the CSRF token, for POST-only actions such as cancelling."""


class RescheduleForm(FlaskForm):
    start = HiddenField(validators=[DataRequired(_l("Please choose a time."))])


def question_field(question: AdmissionQuestion) -> str:
    return f"q_{question.key}"


def with_declaration(base: type[FlaskForm], asked: list[AdmissionQuestion], locale: str) -> type:
    """``base`` with a yes/no answer for each admission question, all required."""
    fields = {
        question_field(q): RadioField(
            q.text(locale),
            choices=[SelectChoice("yes", _l("Yes")), SelectChoice("no", _l("No"))],
            validators=[InputRequired(_l("Please answer this question."))],
        )
        for q in asked
    }
    return type(f"{base.__name__}WithDeclaration", (base,), fields)


def answers(form: FlaskForm, asked: list[AdmissionQuestion]) -> dict[str, bool | None]:
    """Yes as True, no as False, nothing as None: the form's answers by question key."""
    result: dict[str, bool | None] = {}
    for q in asked:
        value = form[question_field(q)].data
        result[q.key] = {"yes": True, "no": False}.get(value)
    return result


class DeclarationForm(FlaskForm):
    """The admission questions alone: before the visit online, or at the kiosk."""
