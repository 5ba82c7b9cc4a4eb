"""The administration's blueprint, and the sections of an office's pages."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint
from flask_babel import LazyString

bp = Blueprint("admin", __name__, url_prefix="/admin")


@dataclass(frozen=True)
class Section:
    endpoint: str  # takes the office's ``slug``
    label: LazyString
    order: int


# The office's pages in its navigation, added by each view module as it is imported.
SECTIONS: list[Section] = []


def section(endpoint: str, label: LazyString, order: int) -> None:
    SECTIONS.append(Section(endpoint, label, order))
    SECTIONS.sort(key=lambda s: s.order)
