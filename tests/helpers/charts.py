"""Whether a report's chart is drawn: the coloured pixels on its canvas, read in the page."""

from __future__ import annotations

from playwright.sync_api import Page

# Pixels of each colour a chart's canvas holds: the first two series' colours in reports.js.
PAINTED = """(id) => {
  const canvas = document.getElementById(id);
  const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  const near = (i, [r, g, b]) => Math.abs(pixels[i] - r) + Math.abs(pixels[i + 1] - g)
    + Math.abs(pixels[i + 2] - b) < 30 && pixels[i + 3] > 200;
  const found = {painted: 0, first: 0, second: 0};
  for (let i = 0; i < pixels.length; i += 4) {
    if (pixels[i + 3] > 0) found.painted++;
    if (near(i, [11, 92, 173])) found.first++;
    if (near(i, [217, 130, 43])) found.second++;
  }
  return found;
}"""


def drawn(page: Page, canvas_id: str, colour: str = "painted", more_than: int = 1000) -> None:
    """Wait until the chart shows more than ``more_than`` pixels of ``colour``: the page's
    script draws once it has loaded, after the heading a test waits for is already there."""
    page.wait_for_function(
        f"([id, colour, n]) => ({PAINTED})(id)[colour] > n", arg=[canvas_id, colour, more_than]
    )
