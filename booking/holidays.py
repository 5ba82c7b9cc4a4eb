"""Public holidays by name, as residents read them: the API's opening hours and the
closures calendar in the office's administration name them alike."""

from __future__ import annotations

from datetime import date

import holidays

from .models import Office


def holiday_names(office: Office, years: range, locale: str) -> dict[date, str]:
    """The country's public holidays, named in ``locale`` where the package has it, else in
    the office's language, else the country's own (never the server's locale)."""
    country = holidays.country_holidays(office.country)
    wanted = [
        code
        for lang in (locale, office.language)
        for code in (lang, f"{lang}_US", f"{lang}_{office.country}")
    ]
    language = next((c for c in wanted if c in country.supported_languages), None)
    language = language or country.default_language
    found = holidays.country_holidays(
        office.country, subdiv=office.subdivision, years=list(years), language=language
    )
    return dict(found.items())
