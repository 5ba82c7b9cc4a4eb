"""Languages: which one a request gets, and picking a text from a {lang: text} map."""

from __future__ import annotations

from typing import TypeVar

from flask import current_app, has_request_context, request, session

LANGUAGES = ("pl", "cs", "en")
LANGUAGE_NAMES = {"pl": "Polski", "cs": "Čeština", "en": "English"}

T = TypeVar("T")


def localized(texts: dict[str, T] | None, locale: str) -> T | None:
    """The text for ``locale``, else English, else any: offices may not translate everything."""
    if not texts:
        return None
    for lang in (locale, "en", *texts):
        if texts.get(lang):
            return texts[lang]
    return None


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
    return (
        request.accept_languages.best_match(LANGUAGES) or current_app.config["BABEL_DEFAULT_LOCALE"]
    )
