"""Languages: which one a request gets, and picking a text from a {lang: text} map."""

from __future__ import annotations

from typing import TypeVar

from flask import current_app, g, has_request_context, request, session
from flask_babel import get_locale

LANGUAGES = ("pl", "cs", "en", "uk")
# What an office must write in every one of these (questions, departments, phone topics):
# Ukrainian came later, and an office file or form without it shows English instead
# (``localized``), so that no existing installation's office file stops importing.
REQUIRED_LANGUAGES = ("pl", "cs", "en")
LANGUAGE_NAMES = {"pl": "Polski", "cs": "Čeština", "en": "English", "uk": "Українська"}

T = TypeVar("T")

# Babel's "en" is American English ("11/30/26", "November 30, 2026"); the offices'
# English readers expect European day-month order, so dates use British English data.
DATE_LOCALES = {"en": "en_GB"}


def localized(texts: dict[str, T] | None, locale: str) -> T | None:
    """The text for ``locale``, else English, else any: offices may not translate everything."""
    if not texts:
        return None
    for lang in (locale, "en", *texts):
        if texts.get(lang):
            return texts[lang]
    return None


def date_locale(locale: str | None = None) -> str:
    """The locale whose data formats dates and times for ``locale`` (the reader's if None).

    Only dates and times: time-zone names stay in the reader's own locale.
    """
    if locale is None:
        locale = str(get_locale() or "pl")
    return DATE_LOCALES.get(locale, locale)


def remember_language() -> None:
    """Keep a language chosen with ?lang= for the rest of the visit."""
    lang = request.args.get("lang")
    if lang in LANGUAGES and not request.path.startswith("/api/"):
        session["lang"] = lang


def select_locale() -> str:
    if not has_request_context():  # CLI, jobs, scripts: the installation's default
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    if (lang := request.args.get("lang")) in LANGUAGES:
        return lang
    if (lang := session.get("lang")) in LANGUAGES:
        return lang
    # Nothing asked for: an answer about one office (``g.office_language``, set by the
    # API once it knows the office) is in that office's language.
    return (
        request.accept_languages.best_match(LANGUAGES)
        or g.get("office_language")
        or current_app.config["BABEL_DEFAULT_LOCALE"]
    )
