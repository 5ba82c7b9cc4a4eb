"""HTML forms as a browser reads and sends them: the fields of a form on a page with the
values it shows (checked boxes, selected options, text areas), sent back with changes; and
the messages shown next to the fields of a refused form."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

from flask.testing import FlaskClient
from werkzeug.datastructures import MultiDict


@dataclass
class Form:
    action: str | None
    method: str
    fields: list[tuple[str, str]] = field(default_factory=list)
    buttons: list[str] = field(default_factory=list)

    def values(self) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for name, value in self.fields:
            found.setdefault(name, []).append(value)
        return found

    def value(self, name: str) -> str | None:
        values = self.values().get(name)
        return values[0] if values else None


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self._select: tuple[str, list[tuple[str, bool]]] | None = None
        self._option: list[str] | None = None
        self._option_attrs: dict[str, str | None] = {}
        self._textarea: tuple[str, list[str]] | None = None
        self._button: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "form":
            self.forms.append(Form(a.get("action"), (a.get("method") or "get").lower()))
        if not self.forms:
            return
        form = self.forms[-1]
        name = a.get("name")
        if tag == "input" and name and "disabled" not in a:
            kind = (a.get("type") or "text").lower()
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    form.fields.append((name, a.get("value") or "on"))
            elif kind not in ("submit", "button", "reset", "image", "file"):
                form.fields.append((name, a.get("value") or ""))
        elif tag == "select" and name:
            self._select = (name, [])
        elif tag == "option" and self._select is not None:
            self._option, self._option_attrs = [], a
        elif tag == "textarea" and name:
            self._textarea = (name, [])
        elif tag == "button":
            self._button = []

    def handle_data(self, data: str) -> None:
        for collecting in (self._option, self._button):
            if collecting is not None:
                collecting.append(data)
        if self._textarea is not None:
            self._textarea[1].append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "option" and self._select is not None and self._option is not None:
            text = "".join(self._option).strip()
            value = self._option_attrs.get("value")
            self._select[1].append(
                (text if value is None else value, "selected" in self._option_attrs)
            )
            self._option = None
        elif tag == "select" and self._select is not None:
            name, options = self._select
            chosen = [v for v, selected in options if selected] or [v for v, _ in options[:1]]
            self.forms[-1].fields.extend((name, v) for v in chosen)
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            name, parts = self._textarea
            text = "".join(parts)
            # A browser drops the newline after <textarea> (WTForms writes \r\n there).
            for newline in ("\r\n", "\n"):
                if text.startswith(newline):
                    text = text.removeprefix(newline)
                    break
            self.forms[-1].fields.append((name, text))
            self._textarea = None
        elif tag == "button" and self._button is not None:
            if self.forms:
                self.forms[-1].buttons.append(" ".join("".join(self._button).split()))
            self._button = None


def forms_of(page: str) -> list[Form]:
    parser = _Parser()
    parser.feed(page)
    return parser.forms


def page_form(client: FlaskClient, url: str, button: str | None = None) -> Form:
    """The form on the page at ``url`` whose button reads ``button`` (else the largest)."""
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    forms = [f for f in forms_of(response.get_data(as_text=True)) if f.method == "post"]
    if button is not None:
        forms = [f for f in forms if button in f.buttons]
        assert forms, f"no form with a button {button!r} on {url}"
    return max(forms, key=lambda f: len(f.fields))


def send(
    client: FlaskClient,
    url: str,
    changes: Mapping[str, str | list[str] | None] | None = None,
    *,
    button: str | None = None,
) -> Any:
    """Fill in the form on ``url`` as shown, change some fields (a list for several values,
    None to leave a box unticked or a field out) and send it where the form sends it."""
    form = page_form(client, url, button)
    values = form.values()
    for name, value in (changes or {}).items():
        if value is None:
            values.pop(name, None)
        else:
            values[name] = value if isinstance(value, list) else [value]
    return client.post(form.action or url, data=MultiDict(values))


def resend(
    client: FlaskClient, response: Any, changes: Mapping[str, str | None] | None = None
) -> Any:
    """Send the largest form of a page that was itself an answer to a post (a question or
    a preview), to where it sends (its own address if the form names none)."""
    page = response.get_data(as_text=True)
    form = max((f for f in forms_of(page) if f.method == "post"), key=lambda f: len(f.fields))
    values = form.values()
    for name, value in (changes or {}).items():
        if value is None:
            values.pop(name, None)
        else:
            values[name] = [value]
    return client.post(form.action or response.request.path, data=MultiDict(values))


FIELD_RE = re.compile(r'<div class="field[^"]*has-error">(.*?)</div>', re.S)
ID_RE = re.compile(r'<(?:input|select|textarea)\b[^>]*\bid="([^"]+)"')
ERROR_RE = re.compile(r'<p class="field-error" role="alert">(.*?)</p>', re.S)


def field_errors(response: Any) -> dict[str, list[str]]:
    """The messages shown next to each field, by the field's id."""
    found = {}
    for block in FIELD_RE.findall(response.get_data(as_text=True)):
        ids = ID_RE.findall(block)
        if ids:
            found[ids[0]] = [html.unescape(m).strip() for m in ERROR_RE.findall(block)]
    return found


def text_of(response: Any) -> str:
    """The page's visible text, roughly: tags dropped, entities decoded, spaces squeezed."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", response.get_data(as_text=True), flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())
