"""The office floor in a real browser: kiosk, printed ticket, counter and lobby display.

Debian's Chromium is driven through Playwright against the live server. The camera
check-in runs in its own Chromium whose fake capture device plays a .y4m video of the
QR code the app issued for a booking; the other tests share one plain Chromium in
which a kiosk, a lobby display and a clerk each have their own browser context.

The server's clock is moved with time_machine (the live server runs in this process,
so its thread sees the same clock); the browser's clock stays real. Chromium reads a
cookie's expiry against the response's Date header, so device sessions still hold.
"""

from __future__ import annotations

import io
import itertools
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import time_machine
import zxingcpp
from flask import Flask
from flask_babel import force_locale
from PIL import Image
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Locator,
    Page,
    Request,
    Response,
    Route,
    expect,
)
from sqlalchemy import select

from booking.admission import DEFAULT_NOTICES, DEFAULT_QUESTIONS
from booking.models import AdmissionCheck, Booking, Office
from booking.qr import ticket_payload, verify_ticket
from okienko.database import db
from queueing.cli import replace_device, upsert_staff
from queueing.models import DeviceKind, Ticket, TicketKind, TicketStatus
from queueing.refusals import TicketNotValid
from tests.helpers import waiting
from tests.helpers.chromium import chromium_or_skip, launch_chromium
from tests.helpers.forms import book_form, local_start, manage_token
from tests.helpers.page_checks import assert_accessible

if TYPE_CHECKING:
    from tests.helpers.live_server import LiveServer

pytestmark = pytest.mark.browser

DISPLAY_SHOT = Path("/tmp/okienko-display.png")
TICKET_SHOT = Path("/tmp/okienko-ticket.png")

OFFICE_SLUG = "bytom-zielna"  # Europe/Warsaw, Mon-Fri from 07:30, check-in 30 min ahead
SERVICE_KEY = "raty-umorzenia"
PREFIX = "R"
COUNTER = "Punkt obsługi 1"
CLERK, CLERK_PASSWORD = "zielna-test", "a clerk's password"

# Friday 20 March 2026, 10:00 in Warsaw: the resident books Monday 10:00 online ...
BOOKED_ON = datetime(2026, 3, 20, 9, 0, tzinfo=UTC)
SLOT = ("2026-03-23", "10:00")
SLOT_UTC = datetime(2026, 3, 23, 9, 0, tzinfo=UTC)
# ... and comes to the kiosk on Monday at 09:50, inside the check-in window.
ARRIVES = datetime(2026, 3, 23, 8, 50, tzinfo=UTC)
# Monday 23 March 2026, 09:00 in Warsaw: the office is open for walk-ins.
OPEN_MONDAY = datetime(2026, 3, 23, 8, 0, tzinfo=UTC)

VIDEO = (640, 480)
Y4M_HEADER = b"YUV4MPEG2 W640 H480 F10:1 Ip A1:1 C420jpeg\n"


# --- browsers ------------------------------------------------------------------------
# ``browser`` (conftest.py) is the one plain Chromium of this module.


def new_context(browser: Browser, **options: object) -> BrowserContext:
    options = {"locale": "pl-PL", "viewport": {"width": 1024, "height": 800}} | options
    context = browser.new_context(**options)  # type: ignore[arg-type]
    context.set_default_timeout(30_000)  # a bound for a busy machine, not a speed
    return context


class Problems(list[str]):
    """What went wrong while browsing: script errors, console errors, HTTP errors.

    ``allow(status, path)`` allows one response that the test provokes on purpose,
    and the console line Chromium logs for it.
    """

    def __init__(self) -> None:
        super().__init__()
        self.expected: list[tuple[int, str]] = []

    def allow(self, status: int, path: str) -> None:
        self.expected.append((status, path))

    def _is_expected(self, status: int, url: str) -> bool:
        return any(status == s and url.split("?")[0].endswith(p) for s, p in self.expected)

    def watch(self, page: Page, who: str) -> Page:
        def on_response(response: Response) -> None:
            url = response.url
            if (
                response.status >= 400
                and not url.endswith("/favicon.ico")
                and not self._is_expected(response.status, url)
            ):
                self.append(f"{who}: {response.status} {response.request.method} {url}")

        def on_console(message: ConsoleMessage) -> None:
            if message.type != "error":
                return
            url = message.location.get("url", "")
            if url.endswith("/favicon.ico"):
                return
            failed_load = re.search(r"status of (\d+)", message.text)
            if failed_load and self._is_expected(int(failed_load.group(1)), url):
                return
            self.append(f"{who}: console error: {message.text} ({url})")

        page.on("pageerror", lambda exc: self.append(f"{who}: script error: {exc}"))
        page.on("console", on_console)

        def on_request_failed(request: Request) -> None:
            # Leaving a page (a form posted, a link followed) aborts its event stream.
            if request.resource_type == "eventsource" and request.failure == "net::ERR_ABORTED":
                return
            self.append(f"{who}: failed: {request.method} {request.url} {request.failure}")

        page.on("requestfailed", on_request_failed)
        page.on("response", on_response)
        return page


# --- the app's data ------------------------------------------------------------------


def office_of(slug: str = OFFICE_SLUG) -> Office:
    office = db.session.scalar(select(Office).where(Office.slug == slug))
    assert office is not None, slug
    return office


def device_link(app: Flask, kind: DeviceKind, name: str) -> str:
    """A sign-in link for a kiosk or display of the office, as `flask devices create` makes."""
    with app.app_context():
        link = replace_device(office_of(), kind, name)
        db.session.commit()
    return link


def add_clerk(app: Flask) -> None:
    with app.app_context():
        upsert_staff(office_of(), CLERK, "Anna Testowa", CLERK_PASSWORD)
        db.session.commit()


def make_y4m(png: bytes, path: Path, frames: int = 40) -> Path:
    """A still video of the QR code, centred on white, as Chromium's fake camera reads it.

    YUV4MPEG2, 4:2:0: each frame is ``FRAME\\n`` then the Y plane at full size and the
    Cb and Cr planes at half width and half height.
    """
    qr = Image.open(io.BytesIO(png)).convert("RGB")
    if qr.width > VIDEO[1] or qr.height > VIDEO[1]:
        qr = qr.resize((VIDEO[1] - 40, VIDEO[1] - 40), Image.Resampling.NEAREST)
    picture = Image.new("RGB", VIDEO, "white")
    picture.paste(qr, ((VIDEO[0] - qr.width) // 2, (VIDEO[1] - qr.height) // 2))
    y, cb, cr = picture.convert("YCbCr").split()
    half = (VIDEO[0] // 2, VIDEO[1] // 2)
    chroma = [plane.resize(half, Image.Resampling.BOX).tobytes() for plane in (cb, cr)]
    frame = b"FRAME\n" + y.tobytes() + chroma[0] + chroma[1]
    assert len(frame) == 6 + VIDEO[0] * VIDEO[1] * 3 // 2
    path.write_bytes(Y4M_HEADER + frame * frames)
    return path


def read_y4m_frame(path: Path) -> Image.Image:
    """The luma of the first frame: what a decoder sees of the video, to check the file."""
    data = path.read_bytes()
    start = data.index(b"FRAME\n") + len(b"FRAME\n")
    return Image.frombytes("L", VIDEO, data[start : start + VIDEO[0] * VIDEO[1]])


def read_qr(png: bytes) -> str:
    """The text of the one QR code in a screenshot."""
    results = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert len(results) == 1, f"{len(results)} codes found in the QR screenshot"
    return results[0].text


def assert_laid_out_side_by_side(display: Page, call: Locator) -> None:
    """The display fills the screen; ticket, arrow and counter sit apart, all on screen."""
    screen = display.viewport_size
    assert screen is not None
    main = display.locator("#display").bounding_box()
    assert main and (main["x"], main["width"]) == (0, screen["width"]), main
    boxes = [call.locator(part).bounding_box() for part in (".call-ticket", ".call-arrow")]
    counter = call.locator(".call-counter").evaluate(
        """el => { const range = document.createRange(); range.selectNodeContents(el);
                   const r = range.getBoundingClientRect();
                   return {x: r.x, y: r.y, width: r.width, height: r.height}; }"""
    )  # the text itself, not its grid cell
    boxes.append(counter)
    assert all(boxes), boxes
    for left, right in itertools.pairwise(boxes):
        assert left["x"] + left["width"] <= right["x"], f"overlap: {left} {right}"
    now = display.locator("section.now").bounding_box()
    assert now and counter["x"] + counter["width"] <= now["x"] + now["width"], (counter, now)
    assert counter["y"] + counter["height"] <= screen["height"], counter


def answer_questions(page: Page, answers: dict[str, str]) -> None:
    """Tap the answers to the kiosk's admission questions, then continue."""
    expect(page.locator(".question")).to_have_count(len(answers))
    for key, value in answers.items():
        page.locator(f'.question[data-question="{key}"] input[value="{value}"]').check()
    page.locator("#questions-form button[type=submit]").click()


ALL_NO = {key: "no" for key, _texts in DEFAULT_QUESTIONS}


# --- 1. check-in by camera -----------------------------------------------------------


def test_kiosk_checks_in_a_booking_by_camera(
    app: Flask, live_server: LiveServer, tmp_path: Path
) -> None:
    chromium_or_skip()
    app.config["PUBLIC_URL"] = live_server.url
    with time_machine.travel(BOOKED_ON, tick=True) as clock:
        # The resident books Monday 10:00 through the booking form on Friday.
        client = app.test_client()
        start = local_start(*SLOT, "Europe/Warsaw")
        token = manage_token(book_form(client, OFFICE_SLUG, SERVICE_KEY, start))
        qr = client.get(f"/manage/{token}/qr.png")
        assert qr.status_code == 200 and qr.mimetype == "image/png"
        with app.app_context():
            booking = db.session.scalars(select(Booking)).one()
            booking_id, code = booking.id, booking.code
            assert booking.starts_at == SLOT_UTC
            assert booking.service.prefix == PREFIX

        # The video the fake camera plays: the QR code of that booking, readable.
        video = make_y4m(qr.data, tmp_path / "qr-ticket.y4m")
        seen = zxingcpp.read_barcodes(read_y4m_frame(video))
        assert len(seen) == 1 and verify_ticket(seen[0].text, app.config["SECRET_KEY"]) == code

        # Monday, ten minutes before the visit: the kiosk reads the QR code by camera.
        clock.move_to(ARRIVES)
        kiosk_link = device_link(app, DeviceKind.KIOSK, "Kiosk 1")
        problems = Problems()
        with launch_chromium(
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={video}",
        ) as camera_browser:
            context = new_context(camera_browser)
            page = problems.watch(context.new_page(), "kiosk")
            page.goto(kiosk_link)
            expect(page).to_have_url(re.compile(r"/kiosk/$"))
            expect(page.locator("#code")).to_be_focused()
            page.locator("#camera-button").click()
            # Bytom's sanitary regime: the questions come before the ticket.
            answer_questions(page, ALL_NO)
            expect(page).to_have_url(re.compile(r"/kiosk/ticket/\d+$"))
            number = page.locator(".slip-number")
            expect(number).to_have_text(re.compile(rf"^{PREFIX}\d{{3}}$"))
            shown = number.inner_text().strip()
            ticket_id = int(page.url.rsplit("/", 1)[-1])
            qr_loaded = page.locator("img.slip-qr").evaluate(
                "img => img.complete && img.naturalWidth > 0"
            )
            assert qr_loaded, "the ticket's QR code did not load"

        with app.app_context():
            ticket = db.session.get(Ticket, ticket_id)
            assert ticket is not None
            assert ticket.booking_id == booking_id
            assert ticket.label == shown
            assert (ticket.kind, ticket.status) == (TicketKind.APPOINTMENT, TicketStatus.WAITING)
            assert ticket.queued_at == SLOT_UTC
            assert db.session.scalars(select(Ticket)).all() == [ticket]
    assert problems == []


# --- 2. walk-in, call, display -------------------------------------------------------


def test_walk_in_is_called_and_the_display_shows_it(
    app: Flask, live_server: LiveServer, browser: Browser
) -> None:
    app.config["PUBLIC_URL"] = live_server.url
    problems = Problems()
    with time_machine.travel(OPEN_MONDAY, tick=True):
        kiosk_link = device_link(app, DeviceKind.KIOSK, "Kiosk 1")
        display_link = device_link(app, DeviceKind.DISPLAY, "Lobby display")
        add_clerk(app)
        # Each at the size it is used at: a portrait touch kiosk, a TV, a desk screen.
        kiosk_context = new_context(browser, viewport={"width": 1080, "height": 1920})
        display_context = new_context(browser, viewport={"width": 1920, "height": 1080})
        clerk_context = new_context(browser)
        try:
            kiosk = problems.watch(kiosk_context.new_page(), "kiosk")
            display = problems.watch(display_context.new_page(), "display")
            clerk = problems.watch(clerk_context.new_page(), "clerk")

            # The lobby display, empty for now.
            display.goto(display_link)
            expect(display).to_have_url(re.compile(r"/display/$"))
            waiting_r = display.locator(
                "#waiting li", has=display.locator(".prefix", has_text=re.compile(f"^{PREFIX}$"))
            )
            expect(waiting_r.locator(".count")).to_have_text("0")  # the stream's first state
            expect(display.locator("li.call")).to_have_count(0)
            display.evaluate("window.notReloaded = true")
            assert_accessible(display)

            # The clerk logs in and sits at counter 1.
            clerk.goto(f"{live_server.url}/login")
            assert_accessible(clerk)
            clerk.fill("#username", CLERK)
            clerk.fill("#password", CLERK_PASSWORD)
            clerk.locator("form.form button[type=submit]").click()
            expect(clerk).to_have_url(re.compile(r"/counter/$"))
            clerk.select_option("#counter_id", label=COUNTER)
            clerk.locator("form.seat button[type=submit]").click()
            expect(clerk.locator("section.current h2")).to_have_text(COUNTER)
            expect(clerk.locator("#call-next")).to_be_visible()
            assert_accessible(clerk)

            # A resident without a booking takes a number at the kiosk.
            kiosk.goto(kiosk_link)
            expect(kiosk).to_have_url(re.compile(r"/kiosk/$"))
            assert_accessible(kiosk)
            service = kiosk.locator(
                ".service-button", has=kiosk.locator(".prefix", has_text=re.compile(f"^{PREFIX}$"))
            )
            service.click()
            answer_questions(kiosk, ALL_NO)
            expect(kiosk).to_have_url(re.compile(r"/kiosk/ticket/\d+$"))
            expect(kiosk.locator(".slip-number")).to_have_text(f"{PREFIX}001")
            expect(kiosk.locator(".slip-ahead")).to_be_visible()
            kiosk.locator("img.slip-qr").evaluate(
                """img => img.complete ? null : new Promise(done => {
                    img.addEventListener("load", done); img.addEventListener("error", done);
                })"""
            )
            assert kiosk.locator("img.slip-qr").evaluate("img => img.naturalWidth") > 0
            status_link = read_qr(kiosk.locator("img.slip-qr").screenshot())
            assert status_link.startswith(f"{live_server.url}/t/"), status_link
            kiosk.screenshot(path=TICKET_SHOT, full_page=True)
            assert_accessible(kiosk)

            # The clerk's list and the display's counts follow without reloading.
            expect(clerk.locator(f'tr[data-ticket="{PREFIX}001"]')).to_be_visible()
            expect(waiting_r.locator(".count")).to_have_text("1")

            # The clerk calls the next ticket; the display shows it.
            clerk.locator("#call-next").click()
            expect(clerk.locator(".slip-number")).to_have_attribute("data-current", f"{PREFIX}001")
            call = display.locator(f'li.call[data-ticket="{PREFIX}001"]')
            expect(call).to_be_visible()
            expect(call.locator(".call-counter")).to_have_text(COUNTER)
            expect(call).to_have_class(re.compile(r"\bnewest\b"))
            expect(waiting_r.locator(".count")).to_have_text("0")
            assert display.evaluate("window.notReloaded") is True, "the display page reloaded"
            assert_laid_out_side_by_side(display, call)
            display.screenshot(path=DISPLAY_SHOT, animations="disabled")  # blinking done
            assert_accessible(display)
            assert_accessible(clerk)
        finally:
            for context in (kiosk_context, display_context, clerk_context):
                context.close()

    with app.app_context():
        ticket = db.session.scalars(select(Ticket)).one()
        assert (ticket.label, ticket.kind, ticket.status) == (
            f"{PREFIX}001",
            TicketKind.WALK_IN,
            TicketStatus.CALLED,
        )
        assert ticket.counter is not None and ticket.counter.name == COUNTER
    assert problems == []


# --- 3. a forged QR code -------------------------------------------------------------


def test_kiosk_refuses_a_forged_qr_code(
    app: Flask, live_server: LiveServer, browser: Browser
) -> None:
    app.config["PUBLIC_URL"] = live_server.url
    problems = Problems()
    with time_machine.travel(OPEN_MONDAY, tick=True):
        kiosk_link = device_link(app, DeviceKind.KIOSK, "Kiosk 1")
        # Well formed, but signed with somebody else's secret.
        forged = ticket_payload("ABCD2345", "not-the-office-secret-" + "y" * 40)
        with app.app_context(), force_locale("pl"):
            refusal = str(TicketNotValid().message)
        context = new_context(browser)
        try:
            kiosk = problems.watch(context.new_page(), "kiosk")
            kiosk.goto(kiosk_link)
            expect(kiosk).to_have_url(re.compile(r"/kiosk/$"))
            # A USB scanner types the payload into the focused field and presses Enter.
            expect(kiosk.locator("#code")).to_be_focused()
            problems.allow(400, "/kiosk/check-in")
            with kiosk.expect_response(lambda r: r.request.method == "POST") as posted:
                kiosk.keyboard.type(forged)
                kiosk.keyboard.press("Enter")
            assert posted.value.status == 400
            expect(kiosk.locator(".kiosk-error")).to_have_text(refusal)
            expect(kiosk.locator(".kiosk-error")).to_have_attribute("role", "alert")
            expect(kiosk.locator("#code")).to_be_focused()  # ready for the next scan
            expect(kiosk.locator("#code")).to_have_value("")
        finally:
            context.close()

    with app.app_context():
        assert db.session.scalars(select(Ticket)).all() == []
    assert problems == []


# --- 4. the admission check at the kiosk, in two languages ---------------------------


def test_kiosk_refuses_in_czech_and_admits_in_polish(
    app: Flask, live_server: LiveServer, browser: Browser
) -> None:
    app.config["PUBLIC_URL"] = live_server.url
    problems = Problems()
    questions = dict(DEFAULT_QUESTIONS)
    with time_machine.travel(OPEN_MONDAY, tick=True):
        kiosk_link = device_link(app, DeviceKind.KIOSK, "Kiosk 1")
        context = new_context(browser)
        try:
            kiosk = problems.watch(context.new_page(), "kiosk")
            kiosk.goto(kiosk_link)
            expect(kiosk).to_have_url(re.compile(r"/kiosk/$"))
            # The regime's notices greet everyone at the kiosk.
            expect(kiosk.locator(".regime-notices li").first).to_have_text(DEFAULT_NOTICES["pl"][0])

            # A Czech visitor switches the language and asks for a number.
            kiosk.locator('.langs a[lang="cs"]').click()
            # Loaded with its scripts, as a visitor's page would be before a tap.
            kiosk.wait_for_url(re.compile(r"/kiosk/\?lang=cs$"), wait_until="load")
            service = kiosk.locator(
                ".service-button", has=kiosk.locator(".prefix", has_text=re.compile(f"^{PREFIX}$"))
            )
            service.click()
            expect(
                kiosk.locator('.question[data-question="symptoms"] .question-text')
            ).to_have_text(questions["symptoms"]["cs"])
            problems.allow(403, f"/kiosk/walk-in/{SERVICE_KEY}")
            with kiosk.expect_response(lambda r: r.request.method == "POST") as posted:
                answer_questions(kiosk, {**ALL_NO, "symptoms": "yes"})
            assert posted.value.status == 403
            refusal = kiosk.locator("[data-refused]")
            expect(refusal).to_contain_text("hygienick")  # in Czech: the office's rules
            channels = kiosk.locator(".remote-channels")
            expect(channels.locator(".department h3")).to_have_text("Oddělení vymáhání pohledávek")
            expect(channels).to_contain_text("windykacja@bm.bytom.pl")
            expect(channels).to_contain_text("+48 32 532 50 25")
            remote_qr = kiosk.locator(".remote-qr img")
            remote_qr.evaluate(
                """img => img.complete ? null : new Promise(done => {
                    img.addEventListener("load", done); img.addEventListener("error", done);
                })"""
            )
            remote_link = read_qr(remote_qr.screenshot())
            assert remote_link == f"{live_server.url}/o/{OFFICE_SLUG}/{SERVICE_KEY}/remote"
            with app.app_context():
                assert db.session.scalars(select(Ticket)).all() == []

            # Done: the kiosk is back in Polish for the next visitor, who is well.
            kiosk.locator("a.button.primary").click()
            expect(kiosk).to_have_url(re.compile(r"/kiosk/\?lang=pl$"))
            kiosk.wait_for_load_state("load")
            service.click()
            expect(kiosk.locator('.question[data-question="contact"] .question-text')).to_have_text(
                questions["contact"]["pl"]
            )
            answer_questions(kiosk, ALL_NO)
            expect(kiosk).to_have_url(re.compile(r"/kiosk/ticket/\d+$"))
            expect(kiosk.locator(".slip-number")).to_have_text(f"{PREFIX}001")
            expect(kiosk.locator(".regime-notices")).to_contain_text(DEFAULT_NOTICES["pl"][1])
        finally:
            context.close()

    with app.app_context():
        ticket = db.session.scalars(select(Ticket)).one()
        assert (ticket.label, ticket.kind) == (f"{PREFIX}001", TicketKind.WALK_IN)
        outcomes = db.session.scalars(select(AdmissionCheck).order_by(AdmissionCheck.id)).all()
        assert [(c.place, c.admitted, c.question) for c in outcomes] == [
            ("kiosk", False, "symptoms"),
            ("kiosk", True, None),
        ]
    assert problems == []


# --- 5. the display loses its connection ---------------------------------------------

STREAM = "**/display/stream*"
# The display's voice, recorded instead of spoken: what it announces.
RECORD_SPEECH = """
window.spoken = [];
if (window.speechSynthesis) {
    window.speechSynthesis.speak = utterance => { window.spoken.push(utterance.text); };
}
"""


def test_display_announces_a_call_made_while_it_was_cut_off(
    app: Flask, live_server: LiveServer, browser: Browser
) -> None:
    """A call made while the display's stream is dead is announced once it reconnects.

    The cut is the silent kind the page's watchdog is there for: the stream is dropped
    and the page's new request for it goes nowhere (held, never answered), so no error
    reaches the page; it neither retries by itself nor falls back to polling (whose
    own check would announce the call anyway). After 40 s without an event the
    watchdog opens a new EventSource, which sends no Last-Event-ID: only the
    ``?last_event_id=`` the page adds makes the server replay the call after the
    state, and only a replayed call blinks and is spoken. Without it the call would
    just be in the state's list, unannounced.
    """
    app.config["PUBLIC_URL"] = live_server.url
    problems = Problems()
    network = {"up": True}
    held: list[Route] = []

    def stream_route(route: Route) -> None:
        if network["up"]:
            route.continue_()
        else:
            held.append(route)  # never answered, until the page gives up on it

    with time_machine.travel(OPEN_MONDAY, tick=True):
        kiosk_link = device_link(app, DeviceKind.KIOSK, "Kiosk 1")
        display_link = device_link(app, DeviceKind.DISPLAY, "Lobby display")
        add_clerk(app)
        kiosk_context = new_context(browser)
        display_context = new_context(browser, viewport={"width": 1920, "height": 1080})
        clerk_context = new_context(browser)
        try:
            kiosk = problems.watch(kiosk_context.new_page(), "kiosk")
            display = problems.watch(display_context.new_page(), "display")
            clerk = problems.watch(clerk_context.new_page(), "clerk")

            # Clerk and kiosk first: the test waits on the display's watchdog.
            clerk.goto(f"{live_server.url}/login")
            clerk.fill("#username", CLERK)
            clerk.fill("#password", CLERK_PASSWORD)
            clerk.locator("form.form button[type=submit]").click()
            expect(clerk).to_have_url(re.compile(r"/counter/$"))
            clerk.select_option("#counter_id", label=COUNTER)
            clerk.locator("form.seat button[type=submit]").click()
            expect(clerk.locator("#call-next")).to_be_visible()
            kiosk.goto(kiosk_link)
            expect(kiosk).to_have_url(re.compile(r"/kiosk/$"))

            display_context.add_init_script(RECORD_SPEECH)
            display.route(STREAM, stream_route)
            display.goto(display_link)
            expect(display).to_have_url(re.compile(r"/display/$"))
            waiting_r = display.locator(
                "#waiting li", has=display.locator(".prefix", has_text=re.compile(f"^{PREFIX}$"))
            )
            expect(waiting_r.locator(".count")).to_have_text("0")  # the stream's first state
            display.evaluate("window.notReloaded = true")

            # A resident takes a number; the display, live, counts it.
            kiosk.locator(
                ".service-button", has=kiosk.locator(".prefix", has_text=re.compile(f"^{PREFIX}$"))
            ).click()
            answer_questions(kiosk, ALL_NO)
            expect(kiosk.locator(".slip-number")).to_have_text(f"{PREFIX}001")
            expect(waiting_r.locator(".count")).to_have_text("1")

            # The connection dies: the stream is dropped, and asking for it again hangs.
            network["up"] = False
            with display.expect_request(STREAM):
                display.evaluate("window.okienkoDisplay.connect()")
            expect(display.locator("#connection")).to_be_hidden()  # no error seen

            # Meanwhile the clerk calls the resident; the display misses it.
            expect(clerk.locator(f'tr[data-ticket="{PREFIX}001"]')).to_be_visible()
            clerk.locator("#call-next").click()
            expect(clerk.locator(".slip-number")).to_have_attribute("data-current", f"{PREFIX}001")
            assert len(held) == 1, "the display's stream was not cut"
            expect(display.locator("li.call")).to_have_count(0)
            expect(waiting_r.locator(".count")).to_have_text("1")
            assert display.evaluate("window.spoken") == []

            # The network is back. The watchdog looks every 5 s for 40 s of silence (the
            # browser's real clock); the bound leaves a busy machine time to reconnect.
            network["up"] = True
            call = display.locator(f'li.call[data-ticket="{PREFIX}001"]')
            expect(call).to_have_class(re.compile(r"\bblink\b"), timeout=120_000)
            expect(call.locator(".call-counter")).to_have_text(COUNTER)
            expect(call).to_have_class(re.compile(r"\bnewest\b"))
            expect(display.locator("li.call")).to_have_count(1)
            expect(waiting_r.locator(".count")).to_have_text("0")
            expect(display.locator("#connection")).to_be_hidden()
            # 0.8 s after the chime. Polled from here: wait_for_function evaluates its
            # string in the page, which the Content-Security-Policy forbids (no eval).
            waiting.wait_until(
                lambda: display.evaluate("window.spoken.length > 0"), message="nothing spoken"
            )
            spoken = display.evaluate("window.spoken")
            assert len(spoken) == 1 and " ".join(f"{PREFIX}001") in spoken[0], spoken
            assert display.evaluate("window.notReloaded") is True, "the display page reloaded"
        finally:
            for context in (kiosk_context, display_context, clerk_context):
                context.close()
    assert problems == []
