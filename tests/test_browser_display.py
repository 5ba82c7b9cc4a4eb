"""The lobby display in Chromium on a TV, 1920×1080 and 1280×720, in Polish, Czech and English.

Bytom (Zielna) has the demo data's most services and the sanitary regime's notices: its
display must show every service, every notice and the last calls without cutting any of
them off, the newest call's number the largest text on the screen. It also shows an idle
layout when nobody is called, and a lost connection says so, then recovers by itself.

The server's clock is moved with time_machine (the live server runs in this process);
screenshots of each size, language and state go to ``shots_folder``.
"""

from __future__ import annotations

import re
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import time_machine
from flask import Flask
from playwright.sync_api import Browser, Page, Response, expect
from sqlalchemy import select

from booking.models import Office, Service
from okienko.database import db
from okienko.i18n import LANGUAGES as I18N_LANGUAGES
from queueing import feed
from queueing.models import DeviceKind
from tests.helpers.admin_pages import shots_folder
from tests.helpers.floor import Clerk, device_link, ok, signed_in_device, walk_in
from tests.helpers.page_checks import assert_accessible

if TYPE_CHECKING:
    from tests.helpers.live_server import LiveServer

pytestmark = pytest.mark.browser

OFFICE = "bytom-zielna"  # five services, three counters, the sanitary regime on
SERVICES = (
    "zamiana-lokalu",
    "lokale-do-zasiedlenia",
    "raty-umorzenia",
    "zaswiadczenie-niezaleganie",
    "rozliczenia-mediow",
)
COUNTERS = ("Punkt obsługi 1", "Punkt obsługi 2", "Punkt obsługi 3")
# Monday 23 March 2026, 09:00 in Warsaw: open, walk-ins taken.
OPEN_MONDAY = datetime(2026, 3, 23, 8, 0, tzinfo=UTC)
DEMO_DATA = "booking/data/demo_offices.toml"
SIZES = ((1920, 1080), (1280, 720))
LANGUAGES = I18N_LANGUAGES  # every language a resident may read it in

# Everything the display shows, each on screen and nothing in it cut off.
NOT_CLIPPED = """() => {
  const vw = window.innerWidth, vh = window.innerHeight, bad = [];
  // Hidden from the eye on purpose (headings for screen readers): not part of the picture.
  const shown = el => el.getClientRects().length > 0 &&
    getComputedStyle(el).visibility !== "hidden" && !el.closest(".visually-hidden");
  const name = el => (el.id ? "#" + el.id : el.tagName + "." + el.className) +
    " " + JSON.stringify((el.textContent || "").trim().slice(0, 40));
  const items = "#waiting li, .notice, li.call, .display-head h1, #clock, #hours, " +
    "#connection, #stale";
  for (const el of document.querySelectorAll(items)) {
    if (!shown(el)) continue;
    const r = el.getBoundingClientRect();
    if (r.left < -0.5 || r.top < -0.5 || r.right > vw + 0.5 || r.bottom > vh + 0.5)
      bad.push("off screen: " + name(el) + " " + JSON.stringify(r));
  }
  for (const el of [document.body, ...document.querySelectorAll("#display, #display *")]) {
    if (!shown(el)) continue;
    const s = getComputedStyle(el);
    const tall = el.scrollHeight > el.clientHeight + 1, wide = el.scrollWidth > el.clientWidth + 1;
    if ((s.overflowY !== "visible" && tall) || (s.overflowX !== "visible" && wide))
      bad.push("cut off inside: " + name(el));
  }
  // A name or number must not spill out of its own cell into its neighbour's.
  const parts = ".call > span, #waiting li > *";
  for (const el of document.querySelectorAll(parts)) {
    if (!shown(el)) continue;
    const range = document.createRange();
    range.selectNodeContents(el);
    const text = range.getBoundingClientRect(), box = el.getBoundingClientRect();
    if (text.width && (text.left < box.left - 1 || text.right > box.right + 1))
      bad.push("spills out of its cell: " + name(el));
  }
  return bad;
}"""

# The clock shows the office's time (Warsaw), not the browser's (UTC); the browser's
# clock is not moved by time_machine, so the page compares with its own "now".
OFFICE_CLOCK = """() => document.getElementById("clock").textContent ===
  new Intl.DateTimeFormat(document.documentElement.lang,
    {hour: "2-digit", minute: "2-digit", timeZone: "Europe/Warsaw"}).format(new Date())"""

# The font size of every visible text on the screen, the largest first.
FONT_SIZES = """() => [...document.querySelectorAll("#display *")]
  .filter(el => el.getClientRects().length > 0 &&
    [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim()))
  .map(el => [parseFloat(getComputedStyle(el).fontSize), el.className || el.tagName])
  .sort((a, b) => b[0] - a[0])"""


def watch(page: Page, problems: list[str]) -> Page:
    def on_response(response: Response) -> None:
        if response.status >= 400 and not response.url.endswith("/favicon.ico"):
            problems.append(f"{response.status} {response.url}")

    page.on("pageerror", lambda exc: problems.append(f"script error: {exc}"))
    page.on("response", on_response)
    return page


def open_display(app: Flask, page: Page, lang: str) -> None:
    """The display in ``lang``: it always speaks its office's language, whatever the browser's."""
    with app.app_context():
        office = db.session.scalar(select(Office).where(Office.slug == OFFICE))
        assert office is not None
        office.language = lang
        db.session.commit()
    page.goto("/display/")
    expect(page.locator("html")).to_have_attribute("lang", lang)
    expect(page.locator("#waiting li")).to_have_count(len(SERVICES))  # the stream's first state
    expect(page.locator("#display .notice").first).to_be_attached()


def assert_nothing_clipped(page: Page, where: str) -> None:
    bad = page.evaluate(NOT_CLIPPED)
    assert bad == [], f"{where}: {bad}"


def shoot(page: Page, folder: Path, name: str) -> None:
    page.screenshot(path=folder / f"display-{name}.png", animations="disabled")


def longest(texts: list[str]) -> str:
    return max(texts, key=len)


def give_it_the_longest_names(app: Flask) -> None:
    """The demo data's longest office name, service name and notice, in every language,
    on Bytom's office: what no display may cut off."""
    demo = tomllib.loads((Path(__file__).parents[1] / DEMO_DATA).read_text())["office"]
    with app.app_context():
        office = db.session.scalar(select(Office).where(Office.slug == OFFICE))
        assert office is not None
        names = [o["name"] for o in demo]
        office.name = longest(names)
        office.names = dict.fromkeys(LANGUAGES, office.name)
        office.notices = {
            lang: [longest([n for o in demo for n in o.get("notices", {}).get(lang, [])])]
            for lang in LANGUAGES
        }
        service = db.session.scalar(
            select(Service).where(Service.office_id == office.id, Service.key == SERVICES[0])
        )
        assert service is not None
        service.names = {
            lang: longest([s["name"][lang] for o in demo for s in o["services"]])
            for lang in LANGUAGES
        }
        db.session.commit()


def sign_in(app: Flask, page: Page) -> None:
    page.goto(device_link(app, DeviceKind.DISPLAY, "Lobby display", office=OFFICE))
    expect(page).to_have_url(re.compile(r"/display/$"))


def fill_the_lines(app: Flask) -> list[int]:
    """Four walk-ins per service, in turns, from the kiosk."""
    kiosk = signed_in_device(app, DeviceKind.KIOSK, "Kiosk 1", office=OFFICE)
    return [walk_in(kiosk, service) for _round in range(4) for service in SERVICES]


def call_nine(app: Flask, clock: Any) -> None:
    """Three rounds of calls at the three counters: the first two rounds served and done."""
    clerks = [
        Clerk(app, f"zielna-{n}", counter, office=OFFICE) for n, counter in enumerate(COUNTERS)
    ]
    for round_ in range(3):
        clock.shift(timedelta(minutes=7))  # a counter may not call twice within seconds
        for clerk in clerks:
            called = ok(clerk.call_next())
            if round_ < 2:
                ok(clerk.act(called["ticket_id"], "serve"))
                ok(clerk.act(called["ticket_id"], "finish"))


@pytest.fixture
def display(app: Flask, live_server: LiveServer, browser: Browser) -> Any:
    """A display device's tab and the problems it ran into; ``sign_in`` (on the test's clock)."""
    app.config["PUBLIC_URL"] = live_server.url
    context = browser.new_context(
        base_url=live_server.url,
        locale="pl-PL",
        timezone_id="UTC",  # a TV set to another time zone than its office's
        viewport={"width": 1920, "height": 1080},
    )
    context.set_default_timeout(30_000)  # a bound for a busy machine, not a speed
    problems: list[str] = []
    page = watch(context.new_page(), problems)
    yield page, problems
    context.close()


def test_idle_and_busy_displays_fit_both_tvs_in_every_language(
    app: Flask, display: Any, tmp_path: Path
) -> None:
    page, problems = display
    folder = shots_folder(tmp_path)
    with time_machine.travel(OPEN_MONDAY, tick=True) as clock:
        give_it_the_longest_names(app)
        sign_in(app, page)
        fill_the_lines(app)

        # Nobody called yet: today's hours, the notices and the counts per service.
        for width, height in SIZES:
            page.set_viewport_size({"width": width, "height": height})
            for lang in LANGUAGES:
                open_display(app, page, lang)
                expect(page.locator("#display")).to_have_class(re.compile(r"\bidle-mode\b"))
                expect(page.locator("#idle")).to_be_visible()
                expect(page.locator("#hours")).to_have_text("07:30–15:00")
                expect(page.locator("#idle-notices .notice").first).to_be_visible()
                expect(page.locator("section.now")).to_be_hidden()
                counts = page.locator("#waiting .count").all_inner_texts()
                assert counts == ["4"] * len(SERVICES), counts
                shoot(page, folder, f"idle-{width}x{height}-{lang}")
                assert_nothing_clipped(page, f"idle {width}x{height} {lang}")
                assert_accessible(page)

        # Nine calls: the list of the last eight is full, the newest still called.
        call_nine(app, clock)
        for width, height in SIZES:
            page.set_viewport_size({"width": width, "height": height})
            for lang in LANGUAGES:
                open_display(app, page, lang)
                expect(page.locator("li.call")).to_have_count(8)
                expect(page.locator("#display")).not_to_have_class(re.compile(r"\bidle-mode\b"))
                expect(page.locator("li.call.newest")).to_have_count(1)
                expect(page.locator("#notices")).to_be_visible()
                page.wait_for_function(OFFICE_CLOCK)
                where = f"calls {width}x{height} {lang}"
                shoot(page, folder, f"calls-{width}x{height}-{lang}")
                assert_nothing_clipped(page, where)
                sizes = page.evaluate(FONT_SIZES)
                newest = page.locator("li.call.newest .call-ticket").evaluate(
                    "el => parseFloat(getComputedStyle(el).fontSize)"
                )
                assert newest >= sizes[0][0], f"{where}: {sizes[:3]}"
                assert_accessible(page)
    assert problems == []


def test_a_lost_connection_is_marked_and_recovers(app: Flask, display: Any, tmp_path: Path) -> None:
    page, problems = display
    folder = shots_folder(tmp_path)
    context = page.context
    with time_machine.travel(OPEN_MONDAY, tick=True) as clock:
        give_it_the_longest_names(app)
        sign_in(app, page)
        fill_the_lines(app)
        call_nine(app, clock)
        for width, height in SIZES:
            page.set_viewport_size({"width": width, "height": height})
            open_display(app, page, "en")
            expect(page.locator("li.call")).to_have_count(8)
            connection, stale = page.locator("#connection"), page.locator("#stale")
            expect(connection).to_be_hidden()
            expect(stale).to_be_hidden()

            # The network goes: neither the stream nor the polling fallback gets through.
            blocked = re.compile(r"/display/(stream|state\.json)")
            page.route(blocked, lambda route: route.abort())
            context.set_offline(True)
            expect(connection).to_be_visible()
            expect(connection).to_have_text("Reconnecting…")
            expect(stale).to_be_visible()
            expect(stale).to_have_text("No connection: these calls may be out of date.")
            expect(page.locator("li.call")).to_have_count(8)  # still shown, marked stale
            assert_nothing_clipped(page, f"offline {width}x{height}")
            shoot(page, folder, f"offline-{width}x{height}-en")
            assert_accessible(page)

            # It comes back: the display reconnects by itself and drops both marks.
            page.unroute(blocked)
            context.set_offline(False)
            expect(connection).to_be_hidden()
            expect(stale).to_be_hidden()
            expect(page.locator("li.call")).to_have_count(8)
            assert_nothing_clipped(page, f"back online {width}x{height}")
            assert_accessible(page)
    assert problems == []


def serve_everyone(app: Flask, clock: Any) -> tuple[list[tuple[str, datetime]], list[Any]]:
    """Ten walk-ins (two per service) called and finished at two counters, a round a
    minute; the last round is left called. Each call's label and server time, newest
    first, and what finishes the last round."""
    kiosk = signed_in_device(app, DeviceKind.KIOSK, "Kiosk 1", office=OFFICE)
    for _round in range(2):
        for service in SERVICES:
            walk_in(kiosk, service)
    clerks = [
        Clerk(app, f"zielna-{n}", counter, office=OFFICE) for n, counter in enumerate(COUNTERS[:2])
    ]
    calls: list[tuple[str, datetime]] = []
    last_round: list[Any] = []
    for round_ in range(5):
        clock.shift(timedelta(minutes=1))
        for clerk in clerks:
            called = ok(clerk.call_next())
            calls.insert(0, (called["ticket"], datetime.now(UTC)))
            if round_ < 4:
                ok(clerk.act(called["ticket_id"], "finish"))
            else:
                last_round.append(lambda c=clerk, t=called["ticket_id"]: ok(c.act(t, "finish")))
    return calls, last_round


def move_both_clocks(page: Page, clock: Any, to: datetime) -> None:
    """The server's clock, and the page's: its timers fire as if that time had passed."""
    gap = to - datetime.fromtimestamp(page.evaluate("Date.now()") / 1000, UTC)
    clock.move_to(to)
    page.clock.fast_forward(int(gap.total_seconds() * 1000))


def past_calls_shown(page: Page) -> list[str]:
    expect(page.locator("#display")).to_have_class(re.compile(r"\brecent-mode\b"))
    expect(page.locator("#display")).to_have_class(re.compile(r"\bidle-mode\b"))
    expect(page.locator("li.call.current, li.call.newest")).to_have_count(0)
    expect(page.locator(".now-past")).to_be_visible()
    expect(page.locator("#hours")).to_have_text("07:30–15:00")
    expect(page.locator("#notices .notice").first).to_be_visible()
    return page.locator("li.call.past .call-ticket").all_inner_texts()


def test_the_idle_screen_keeps_the_last_calls_for_a_while(
    app: Flask, display: Any, tmp_path: Path
) -> None:
    page, problems = display
    folder = shots_folder(tmp_path)
    window = timedelta(minutes=app.config["DISPLAY_RECENT_MINUTES"])
    # The page's clock and timers, set and moved along with the server's.
    page.clock.install(time=OPEN_MONDAY)
    with time_machine.travel(OPEN_MONDAY, tick=True) as clock:
        give_it_the_longest_names(app)
        sign_in(app, page)
        calls, finish_last_round = serve_everyone(app, clock)
        move_both_clocks(page, clock, datetime.now(UTC))  # the page's clock catches up
        newest_eight = [label for label, _at in calls[:8]]
        open_display(app, page, "en")
        expect(page.locator("li.call.current")).to_have_count(2)

        # Everyone served while the page is open: the live updates turn it idle, and it
        # keeps the last eight calls, newest first, marked as past ones.
        for finish in finish_last_round:
            finish()
        expect(page.locator("li.call.past")).to_have_count(8)
        assert past_calls_shown(page) == newest_eight
        expect(page.locator("#now-title")).to_have_accessible_name("Recently called numbers")

        # The same from a fresh page (its first state), on both TVs in every language.
        for width, height in SIZES:
            page.set_viewport_size({"width": width, "height": height})
            for lang in LANGUAGES:
                open_display(app, page, lang)
                expect(page.locator("li.call.past")).to_have_count(8)
                assert past_calls_shown(page) == newest_eight
                counts = page.locator("#waiting .count").all_inner_texts()
                assert counts == ["0"] * len(SERVICES), counts
                shoot(page, folder, f"recent-{width}x{height}-{lang}")
                assert_nothing_clipped(page, f"recent calls {width}x{height} {lang}")
                assert_accessible(page)

        # No event: the page's timer drops each call as it grows older than the window.
        page.set_viewport_size({"width": 1920, "height": 1080})
        open_display(app, page, "en")
        second_round = calls[-4][1]
        move_both_clocks(page, clock, second_round + window + timedelta(seconds=30))
        expect(page.locator("li.call.past")).to_have_count(6)
        assert past_calls_shown(page) == newest_eight[:6]

        # The last one gone: hours, notices and counts alone, then and after a reload.
        move_both_clocks(page, clock, calls[0][1] + window + timedelta(seconds=30))
        for reload in (False, True):
            if reload:
                open_display(app, page, "en")
            expect(page.locator("#display")).not_to_have_class(re.compile(r"\brecent-mode\b"))
            expect(page.locator("#display")).to_have_class(re.compile(r"\bidle-mode\b"))
            expect(page.locator("section.now")).to_be_hidden()
            expect(page.locator("#idle-notices .notice").first).to_be_visible()
            expect(page.locator("#notices")).to_be_hidden()
        shoot(page, folder, "recent-over-1920x1080-en")
        assert_nothing_clipped(page, "recent calls over")
        assert_accessible(page)
    assert problems == []


def test_the_wait_estimates_count_down_while_a_counter_stays_busy(
    app: Flask, display: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No floor event comes while a resident is being served, yet the wait shrinks:
    the page reads the state again each minute."""
    page, problems = display
    monkeypatch.setattr(feed, "STATE_MAX_AGE", 0.0)  # no state shared across the minute
    page.clock.install(time=OPEN_MONDAY)
    with time_machine.travel(OPEN_MONDAY, tick=True) as clock:
        sign_in(app, page)
        kiosk = signed_in_device(app, DeviceKind.KIOSK, "Kiosk 1", office=OFFICE)
        walk_in(kiosk, SERVICES[0])
        walk_in(kiosk, SERVICES[0])
        clerk = Clerk(app, "zielna-0", COUNTERS[0], office=OFFICE)  # the only counter open
        clock.shift(timedelta(minutes=1))
        ok(clerk.call_next())
        move_both_clocks(page, clock, datetime.now(UTC))
        open_display(app, page, "en")
        line = page.locator(f'#waiting li[data-service="{SERVICES[0]}"]')
        expect(line.locator(".count")).to_have_text("1")
        # A newcomer waits for the one counter, which has just called someone (30
        # minutes), and then for the one waiting (30 more).
        expect(line.locator(".estimate")).to_contain_text(re.compile(r"\b60\b"))
        clock.shift(timedelta(minutes=20))  # the server's clock only: no event, no reload
        page.clock.fast_forward(61_000)  # the page's next minute
        expect(line.locator(".estimate")).to_contain_text(re.compile(r"\b(39|40)\b"))
    assert problems == []
