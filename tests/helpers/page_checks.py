"""Checks of the page a browser test is looking at: axe-core, and forms that post what they show."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

AXE_JS = Path(__file__).resolve().parent.parent / "vendor" / "axe-core" / "axe.min.js"

# Evaluated through the DevTools protocol, so the page's strict CSP does not block it.
# ``enable``: rules axe-core leaves off by default, such as "target-size" (WCAG 2.2 AA).
RUN = """async (enable) => {
  const rules = Object.fromEntries(enable.map(id => [id, {enabled: true}]));
  const result = await axe.run(document, {resultTypes: ["violations"], rules});
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 5).map(n => n.target.join(" ") + ": " + n.failureSummary),
  }));
}"""


@cache
def _source() -> str:
    return AXE_JS.read_text(encoding="utf-8")


def violations(page: Any, enable: Sequence[str] = ()) -> list[dict[str, Any]]:
    """The axe-core violations (WCAG 2.x A/AA and best practices) of the page as shown now,
    with the rules named in ``enable`` on as well."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(_source())
    return list(page.evaluate(RUN, list(enable)))


def assert_accessible(page: Any, enable: Sequence[str] = ()) -> None:
    """No axe-core violation at all, whatever its impact."""
    found = violations(page, enable)
    assert not found, f"axe-core on {page.url}:\n" + "\n".join(
        f"- {v['id']} ({v['impact']}): {v['help']}\n    " + "\n    ".join(v["nodes"]) for v in found
    )


# A field sent twice (say the form's own empty hidden "start" and the chosen one) makes
# the server read the first: the click does nothing but a 400.
REPEATED_FIELDS = """() => [...document.forms].flatMap(form => {
  const names = [...form.elements]
    .filter(e => e.name && !["radio", "checkbox", "submit", "button"].includes(e.type))
    .map(e => e.name);
  return names.filter((name, i) => names.indexOf(name) !== i)
    .map(name => (form.getAttribute("action") || "(this page)") + ": " + name);
})"""


def assert_forms_send_each_field_once(page: Any) -> None:
    repeated = page.evaluate(REPEATED_FIELDS)
    assert repeated == [], f"forms on {page.url} send a field twice: {repeated}"
