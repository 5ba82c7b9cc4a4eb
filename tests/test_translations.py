"""The Polish and Czech catalogues translate every string the code marks, and pages use them.

The strings are extracted from the source tree the way ``make messages`` does it (babel.cfg
and the ``-k`` keywords of the Makefile), so a new ``_()`` string that nobody translated
fails here with its text and where it is.
"""

from __future__ import annotations

import functools
import gettext
import itertools
import os
import re
import shlex
import tempfile
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_keywords, parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from markupsafe import escape

import okienko.i18n

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "translations"
# Every language but English, the source: a new one is checked as soon as it is listed.
LANGUAGES = tuple(lang for lang in okienko.i18n.LANGUAGES if lang != "en")

# A printf-style conversion as Python's % operator reads it, e.g. %(name)s, %(days)d, %%.
PLACEHOLDER = re.compile(
    r"%(?:\((?P<name>[^)]*)\))?"  # mapping key
    r"[-#0 +]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[hlL]?"  # flags, width, precision, length
    r"(?P<conv>[diouxXeEfFgGcrsa%])"
)

MsgKey = tuple[str | tuple[str, ...], str | None]


def extract_keywords() -> dict:
    """The keywords ``make messages`` gives ``pybabel extract``: the defaults plus each ``-k``."""
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    line = next((ln for ln in makefile.splitlines() if "pybabel extract" in ln), None)
    assert line, "no `pybabel extract` command in the Makefile"
    args = shlex.split(line.split("pybabel extract", 1)[1])
    extra = [value for flag, value in itertools.pairwise(args) if flag in ("-k", "--keyword")]
    extra += [arg.split("=", 1)[1] for arg in args if arg.startswith("--keyword=")]
    keywords = {} if "--no-default-keywords" in args else dict(DEFAULT_KEYWORDS)
    keywords.update(parse_keywords(extra))
    return keywords


@functools.cache
def source_messages() -> dict[MsgKey, str]:
    """Every marked string in the source tree, with the first place it occurs."""
    with open(ROOT / "babel.cfg", encoding="utf-8") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg, "babel.cfg")
    found: dict[MsgKey, str] = {}
    for filename, lineno, message, _comments, context in extract_from_dir(
        ROOT, method_map, options_map, keywords=extract_keywords()
    ):
        msgid = tuple(message) if isinstance(message, (list, tuple)) else message
        if msgid and (msgid[0] if isinstance(msgid, tuple) else msgid):
            found.setdefault((msgid, context), f"{filename}:{lineno}")
    assert found, "no translatable strings found in the source tree: check babel.cfg"
    return found


@functools.cache
def catalog(lang: str) -> Catalog:
    path = TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po"
    assert path.exists(), f"{path} is missing: run `pybabel init` for {lang}, see the Makefile"
    with path.open("rb") as po:
        return read_po(po, locale=lang)


def placeholders(text: str) -> set[str]:
    return {m.group(0) for m in PLACEHOLDER.finditer(text) if m.group("conv") != "%"}


def stray_percent(text: str) -> bool:
    """A % that Python's % operator would choke on (the text is formatted with variables)."""
    return "%" in PLACEHOLDER.sub("", text)


def problems(lang: str) -> list[str]:
    cat = catalog(lang)
    found: list[str] = []
    for (msgid, context), where in sorted(source_messages().items(), key=lambda kv: kv[1]):
        ids = msgid if isinstance(msgid, tuple) else (msgid,)
        label = f"{ids[0]!r}" + (f" (context {context!r})" if context else "") + f"  [{where}]"
        message = cat.get(ids[0], context)
        if message is None:
            found.append(f"missing: {label}")
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if len(ids) > 1 and len(strings) != cat.num_plurals:
            found.append(f"needs {cat.num_plurals} plural forms: {label}")
        if not all(s and s.strip() for s in strings):
            found.append(f"untranslated: {label}")
            continue
        if message.fuzzy:
            found.append(f"fuzzy: {label}")
        expected = set().union(*(placeholders(i) for i in ids))
        for text in strings:
            if placeholders(text) != expected:
                found.append(
                    f"placeholders {sorted(placeholders(text))} instead of {sorted(expected)}: "
                    f"{label} -> {text!r}"
                )
            elif expected and stray_percent(text):
                found.append(f"a lone % (write %%): {label} -> {text!r}")
    return found


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_source_string_is_translated(lang: str) -> None:
    found = problems(lang)
    assert not found, (
        f"{len(found)} problem(s) in translations/{lang}/LC_MESSAGES/messages.po "
        "(run `make messages`, translate, then `make translations`):\n  " + "\n  ".join(found)
    )


@pytest.mark.parametrize("lang", LANGUAGES)
def test_catalogue_header(lang: str) -> None:
    cat = catalog(lang)
    assert str(cat.locale) == lang
    assert cat.num_plurals == 3, cat.plural_forms
    assert not cat.fuzzy, "the catalogue header is marked fuzzy"


def compile_if_stale(lang: str) -> None:
    """Build messages.mo from messages.po as `make translations` does, if it is out of date."""
    folder = TRANSLATIONS / lang / "LC_MESSAGES"
    po, mo = folder / "messages.po", folder / "messages.mo"
    if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
        return
    fd, tmp = tempfile.mkstemp(dir=folder, suffix=".mo.tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            write_mo(out, catalog(lang), use_fuzzy=True)
        os.replace(tmp, mo)
    finally:
        Path(tmp).unlink(missing_ok=True)


PAGE_STRINGS = ("Offices", "What is your visit about?", "Documents to bring", "Privacy notice")


@pytest.mark.parametrize("lang", LANGUAGES)
def test_office_page_is_in_the_chosen_language(client, lang: str) -> None:
    """?lang= picks the catalogue: its texts are on the page and the English ones are not."""
    compile_if_stale(lang)
    html = client.get(f"/o/koszalin-zbm?lang={lang}").get_data(as_text=True)
    assert f'<html lang="{lang}">' in html
    cat = catalog(lang)
    for msgid in PAGE_STRINGS:
        assert str(escape(cat[msgid].string)) in html, (lang, msgid)
        assert str(escape(msgid)) not in html, (lang, msgid)
    # Formatted with its variable and the language's plural rule: "raty" takes 30 minutes.
    compiled = gettext.translation("messages", str(ROOT / "translations"), [lang], fallback=True)
    singular, plural = "Duration: %(num)d minute", "Duration: %(num)d minutes"
    duration = compiled.ngettext(singular, plural, 30) % {"num": 30}
    assert str(escape(duration)) in html


def test_office_page_shows_czech_and_polish_text(client) -> None:
    """Plain words of each language, so swapped or copied catalogues cannot pass."""
    for lang in LANGUAGES:
        compile_if_stale(lang)
    czech = client.get("/o/koszalin-zbm?lang=cs").get_data(as_text=True)
    assert "Čeho se návštěva týká?" in czech
    assert "Co si vzít s sebou" in czech
    polish = client.get("/o/koszalin-zbm?lang=pl").get_data(as_text=True)
    assert "Czego dotyczy wizyta?" in polish
    assert "Co zabrać ze sobą" in polish


def test_english_needs_no_catalogue(client) -> None:
    """English is the source language: without an en catalogue the msgids are shown."""
    html = client.get("/o/koszalin-zbm?lang=en").get_data(as_text=True)
    assert '<html lang="en">' in html
    for msgid in PAGE_STRINGS:
        assert str(escape(msgid)) in html, msgid
