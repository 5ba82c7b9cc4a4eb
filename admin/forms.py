"""What every form of the administration shares: text is stripped of spaces at its ends, and
text the database cannot store (NUL; PostgreSQL refuses it) is refused next to its field."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any, TypeVar

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import Field, Form
from wtforms.fields.core import UnboundField
from wtforms.form import BaseForm
from wtforms.meta import DefaultMeta
from wtforms.validators import StopValidation

from booking.offices import storable

FieldT = TypeVar("FieldT", bound=Field)

UNSTORABLE = _l("Remove the invisible control character (NUL) from this text.")


def strip(value: Any) -> Any:
    """The filter of text fields: spaces at either end are never meant."""
    return value.strip() if isinstance(value, str) else value


def lowercase(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def uppercase(value: Any) -> Any:
    return value.upper() if isinstance(value, str) else value


def refuse_unstorable(form: BaseForm, field: Field) -> None:
    """A field's first validator: nothing else looks at text that cannot be saved."""
    raw = getattr(field, "raw_data", None) or []
    texts = [value for value in [*raw, field.data] if isinstance(value, str)]
    if not all(storable(text) for text in texts):
        raise StopValidation(UNSTORABLE)


class RefusesUnstorable(DefaultMeta):
    """Gives every field of the form ``refuse_unstorable`` first."""

    def bind_field(
        self,
        form: BaseForm,
        unbound_field: UnboundField[FieldT],
        options: MutableMapping[str, Any],
    ) -> FieldT:
        field = super().bind_field(form, unbound_field, options)
        field.validators = [refuse_unstorable, *field.validators]
        return field


class AdminForm(FlaskForm):
    """The base of the administration's forms (with the CSRF token)."""

    class Meta(RefusesUnstorable):
        pass


class AdminSubform(Form):
    """The base of a form repeated inside another (``FormField``): the outer form carries
    the CSRF token."""

    class Meta(RefusesUnstorable):
        pass
