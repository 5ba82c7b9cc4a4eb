"""Validation of the contact details a resident gives."""

from __future__ import annotations

import email_validator
import phonenumbers
from flask_babel import lazy_gettext as _l


class ContactError(ValueError):
    """A contact detail that cannot be used; ``message`` is shown to the resident."""

    def __init__(self, message: object) -> None:
        super().__init__(str(message))
        self.message = message


def normalize_email(text: str) -> str:
    """The address in normalized form; no DNS look-up, as offices may be offline."""
    try:
        return email_validator.validate_email(text, check_deliverability=False).normalized
    except email_validator.EmailNotValidError as exc:
        raise ContactError(_l("This e-mail address is not valid.")) from exc


def normalize_phone(text: str, region: str) -> str:
    """The number in E.164 form; national numbers are read in the office's country."""
    try:
        number = phonenumbers.parse(text, region.upper())
    except phonenumbers.NumberParseException as exc:
        raise ContactError(_l("This phone number is not valid.")) from exc
    if not phonenumbers.is_valid_number(number):
        raise ContactError(_l("This phone number is not valid."))
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
