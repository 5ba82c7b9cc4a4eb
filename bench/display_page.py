"""Benchmark: from a clerk's "call next" to the call on the lobby display's screen, in Chromium.

The figures ``tests/test_display_stream.py::test_the_display_page_shows_a_call`` once bounded
(a second with the stream, four with the polling fallback); the test now checks only
that the call is shown, and how. Same office and gunicorn as ``display_latency.py``
(``floor_common.py``): an office open now, one kiosk, one clerk, one display device.
Opens the display page (``/device/<token>``, which leads to ``/display/``) in Debian's
Chromium through Playwright, headless, once per mode:

* ``live``: the page's own EventSource stream;
* ``polling``: every request to ``/display/stream`` aborted at the network level,
  so the page falls back to polling ``/display/state.json`` (every 3 s).

Then CALLS times: ``POST /counter/call-next`` through the counter's HTTP API, wait
until the page shows the called ticket (``#calls li[data-ticket=...]``, at most 30 s),
``finish``, pause. A MutationObserver in the page notes when each ticket's row
appeared (the page's ``Date.now()``), so the figure is from sending call-next to the
row in the page, without Playwright's own polling. Prints per mode: the time from
navigation to the first state on the screen, and call-next sent -> row shown.

    .venv/bin/python bench/display_page.py
    .venv/bin/python bench/display_page.py --calls 20 --pause 0.5 --mode polling
    .venv/bin/python bench/display_page.py --backend sqlite --no-redis
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

sys.path.insert(0, str(Path(__file__).resolve().parent))  # floor_common
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))  # the project: tests.helpers

from floor_common import SERVICES, Run, prepare, summary, tracebacks

from tests.helpers.live_floor import Clerk, Kiosk

if TYPE_CHECKING:
    from playwright.sync_api import Browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"]
WATCH = """() => {
  window.__shown = {};
  const note = () => document.querySelectorAll("#calls li[data-ticket]").forEach((li) => {
    if (!(li.dataset.ticket in window.__shown)) window.__shown[li.dataset.ticket] = Date.now();
  });
  note();
  new MutationObserver(note).observe(document.getElementById("calls"),
                                     {childList: true, subtree: true});
}"""


def measure(
    browser: Browser,
    base: str,
    display: str,
    kiosk: Kiosk,
    clerk: Clerk,
    mode: str,
    args: argparse.Namespace,
) -> tuple[float, list[float]]:
    """(seconds to the first state, [seconds from call-next sent to the row shown])."""
    context = browser.new_context(locale="pl-PL")
    try:
        page = context.new_page()
        if mode == "polling":
            page.route("**/display/stream", lambda route: route.abort())
        began = time.perf_counter()
        page.goto(f"{base}/device/{display}")
        page.wait_for_selector("#waiting li", timeout=30_000)
        first_state = time.perf_counter() - began
        page.evaluate(WATCH)
        shown: list[float] = []
        for i in range(args.calls):
            kiosk.walk_in(SERVICES[i % len(SERVICES)])
            time.sleep(args.pause)
            sent = time.time()
            answer = clerk.call_next()
            label = answer.body["ticket"]["ticket"]
            page.wait_for_selector(f"#calls li[data-ticket='{label}']", timeout=30_000)
            at = page.evaluate("(label) => window.__shown[label]", label)
            shown.append(at / 1000 - sent)
            clerk.finish(answer.body["ticket"]["ticket_id"])
        return first_state, shown
    finally:
        context.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--calls", type=int, default=10)
    parser.add_argument("--pause", type=float, default=0.3, help="seconds before each call")
    parser.add_argument("--mode", choices=["live", "polling", "both"], default="both")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=32, help="gthread threads per worker")
    parser.add_argument("--no-redis", action="store_true", help="no REDIS_URL: polling only")
    args = parser.parse_args(argv)
    if not 1 <= args.calls <= 200:
        parser.error("need 1..200 calls")
    if not CHROMIUM.exists():
        raise SystemExit(f"needs Debian's Chromium at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    modes = ["live", "polling"] if args.mode == "both" else [args.mode]
    run = Run.from_args("display_page", args)
    run.announce(f"Chromium, {', '.join(modes)}, {args.calls} calls per mode")
    results: dict[str, tuple[float, list[float]]] = {}
    with run.database("page") as (folder, url):
        floor = prepare(url, folder, displays=1, kiosks=1, clerks=1)
        with run.gunicorn(url, folder) as server, sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
            )
            try:
                kiosk = Kiosk(server.base, floor.kiosks[0], timeout=60)
                clerk = Clerk(server.base, floor.clerks[0], timeout=60)
                clerk.seat(next(iter(floor.counters.values())))
                for mode in modes:
                    results[mode] = measure(
                        browser, server.base, floor.displays[0], kiosk, clerk, mode, args
                    )
            finally:
                browser.close()
        log = server.log.read_text(errors="replace")

    for mode, (first_state, shown) in results.items():
        print(f"\n{mode}: first state on the screen {first_state * 1000:.0f} ms after navigating")
        print(f"  call-next sent -> row shown: {summary(shown)}")
    errors = tracebacks(log)
    print(f"\ngunicorn log: {server.log} ({len(errors)} tracebacks/errors)")
    for error in errors[:5]:
        print(error)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
