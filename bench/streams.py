"""Benchmark: N open lobby-display streams on one gunicorn instance, calls made, a resident's page.

For each N of ``--streams`` (default 20, 500 and 2,000): starts gunicorn
(``--server-args``; default the gunicorn line of README.md's Production
section, with REDIS_URL unless ``--no-redis``) on one fresh database (PostgreSQL,
or SQLite with ``--backend sqlite``) holding the office that is open now
(``bench/floor_common.py``: three walk-in services, three counters, one kiosk,
one clerk, DEVICES display devices), and from one asyncio process (aiohttp,
not a thread per stream) opens N Server-Sent Events streams to
``/display/stream``, the displays signed in through their device links (N
streams share the DEVICES sessions round-robin, as several screens opened
with one link do), about 1,000 a second. It waits at most CONNECT_SECONDS for
every stream's first ``state`` event, and no longer once none has come for
STALL_SECONDS; then the kiosk has issued CALLS tickets and the clerk, signed
in and seated, makes CALLS calls through the counter's HTTP API (``POST
/counter/call-next``, Accept: application/json), waiting after each at most
CALL_WAIT seconds until every connected stream has the call, then ``finish``.
Meanwhile a resident fetches a page (``--resident-path``, default ``/``, the
booking start page) again and again, each on a new connection.

Prints per N: streams connected (their first event arrived) within the bound
and by the end, those that got no answer or an error; calls made (a call-next
that times out twice in a row ends the calls); deliveries of every call to
every stream connected before the calls, and how many streams got every call
in order; p50 and p99 of call-next sent -> event at the stream, and of the
event row stored (its ``created_at``) -> at the stream; the resident
page's p50 and p99 (timeouts counted as slower than any answer) while the
streams were open; the client event loop's worst lag (what the client itself
adds to the latencies); each worker's resident memory idle and with the
streams open; tracebacks in gunicorn's log (kept in bench/results/). Every wait
is bounded; a server that cannot hold the streams shows as figures, not as a
hang. Nothing here is a test. Run from the project root:

    .venv/bin/python bench/streams.py
    .venv/bin/python bench/streams.py --streams 20,200 --calls 10
    .venv/bin/python bench/streams.py --server-args "-k gthread --threads 32 -w 2"

Needs aiohttp in .venv (``.venv/bin/pip install aiohttp``), Redis (or ``--no-redis``)
and PostgreSQL (or ``--backend sqlite``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # floor_common
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))  # the project: tests.helpers

from floor_common import (
    REDIS_URL,
    RESULTS,
    SERVICES,
    Floor,
    Machine,
    call_times,
    describe_rss,
    fresh_database,
    gunicorn_with,
    prepare,
    production_server_args,
    project_env,
    raise_fd_limit,
    rss_mib,
    tracebacks,
)

from tests.helpers.live_floor import Clerk, Kiosk, device_session, percentile
from tests.helpers.ports import free_port

try:
    import aiohttp
except ImportError:  # reported in main()
    aiohttp = None


# ---------------------------------------------------------------------------
# The client side: N streams in one event loop


@dataclass
class StreamRecord:
    """What one display stream saw."""

    opened: float = 0.0
    status: int | None = None
    state_at: float | None = None  # perf_counter() when the first event (the state) arrived
    # (ticket id, perf_counter() at arrival, time.time() then: the database's clock)
    calls: list[tuple[int, float, float]] = field(default_factory=list)
    error: str | None = None
    ended: bool = False  # the server closed the stream, or it failed


class Crowd:
    """N streams, the arrivals of each call, a resident fetching a page; all in one loop."""

    def __init__(self, base: str, cookies: list[str], args: argparse.Namespace) -> None:
        self.base = base
        self.cookies = cookies
        self.args = args
        self.records: list[StreamRecord] = []
        self.arrived: Counter[int] = Counter()  # ticket id -> streams that have its call
        self.resident: list[tuple[str, float | None, str]] = []  # (phase, seconds, outcome)
        self.phase = "opening"
        self.lags: dict[str, float] = {}  # phase -> the event loop's worst lag

    async def stream(self, session: aiohttp.ClientSession, index: int) -> None:
        record = self.records[index]
        record.opened = time.perf_counter()
        headers = {
            "Accept": "text/event-stream",
            "Cookie": self.cookies[index % len(self.cookies)],
        }
        try:
            async with session.get(f"{self.base}/display/stream", headers=headers) as response:
                record.status = response.status
                if response.status != 200:
                    record.error = f"answered {response.status}"
                    return
                buffer = b""
                async for chunk in response.content.iter_any():
                    at, wall = time.perf_counter(), time.time()
                    buffer += chunk
                    while b"\n\n" in buffer:
                        block, buffer = buffer.split(b"\n\n", 1)
                        self.event(record, block, at, wall)
                record.error = "closed by the server"
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a reset or refused connection ends this stream only
            record.error = f"{type(exc).__name__}: {exc}"[:120]
        finally:
            record.ended = True

    def event(self, record: StreamRecord, block: bytes, at: float, wall: float) -> None:
        kind, data = b"message", b""
        for line in block.split(b"\n"):
            if line.startswith(b"event:"):
                kind = line[6:].strip()
            elif line.startswith(b"data:"):
                data = line[5:].strip()
        if not data:
            return  # the retry line
        if record.state_at is None:
            record.state_at = at  # the first event is the state
        elif kind == b"call":
            ticket = json.loads(data)["ticket_id"]
            record.calls.append((ticket, at, wall))
            self.arrived[ticket] += 1

    async def resident_page(self, stop: asyncio.Event) -> None:
        """A resident's page, again and again, each on a new connection, until ``stop``."""
        url = self.base + self.args.resident_path
        timeout = aiohttp.ClientTimeout(total=self.args.request_timeout)
        connector = aiohttp.TCPConnector(limit=0, force_close=True)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
            while not stop.is_set():
                phase, began = self.phase, time.perf_counter()
                try:
                    async with session.get(url) as response:
                        await response.read()
                        outcome = str(response.status)
                        seconds: float | None = time.perf_counter() - began
                except (TimeoutError, aiohttp.ClientError) as exc:
                    outcome, seconds = type(exc).__name__, None
                self.resident.append((phase, seconds, outcome))
                with_timeout = asyncio.create_task(stop.wait())
                await asyncio.wait([with_timeout], timeout=self.args.resident_interval)
                with_timeout.cancel()

    async def loop_lag(self, stop: asyncio.Event) -> None:
        """The worst delay of a 20 ms sleep in this loop, per phase."""
        while not stop.is_set():
            phase, began = self.phase, time.perf_counter()
            await asyncio.sleep(0.02)
            lag = time.perf_counter() - began - 0.02
            self.lags[phase] = max(self.lags.get(phase, 0.0), lag)

    def connected(self) -> list[StreamRecord]:
        return [r for r in self.records if r.state_at is not None and not r.ended]


@dataclass
class SizeResult:
    """The figures of one N."""

    streams: int
    connected_in_bound: int = 0
    connected_by_end: int = 0
    connect_seconds: float = 0.0
    first_event: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    dark: int = 0  # no answer at all by the end
    calls_made: int = 0
    call_failures: list[str] = field(default_factory=list)
    call_requests: list[float] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)  # call-next sent -> at the stream
    stored: list[float] = field(default_factory=list)  # the event row stored -> at the stream
    arrivals: list[tuple[int, float]] = field(default_factory=list)  # (ticket, wall clock)
    expected: int = 0
    delivered: int = 0
    listeners: int = 0  # streams whose first event came before the first call
    in_order: int = 0
    resident: list[tuple[str, float | None, str]] = field(default_factory=list)
    lags: dict[str, float] = field(default_factory=dict)
    rss_idle: dict[int, float] = field(default_factory=dict)
    rss_open: dict[int, float] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    log: Path | None = None


async def run_size(
    base: str,
    cookies: list[str],
    clerk: Clerk,
    n: int,
    args: argparse.Namespace,
    result: SizeResult,
) -> None:
    floor = Crowd(base, cookies, args)
    floor.records = [StreamRecord() for _ in range(n)]
    stop = asyncio.Event()
    connector = aiohttp.TCPConnector(limit=0)  # no pool limit: one connection per stream
    session = aiohttp.ClientSession(
        connector=connector,
        cookie_jar=aiohttp.DummyCookieJar(),
        timeout=aiohttp.ClientTimeout(total=None, sock_connect=args.request_timeout),
    )
    helpers = [
        asyncio.create_task(floor.resident_page(stop)),
        asyncio.create_task(floor.loop_lag(stop)),
    ]
    tasks: list[asyncio.Task[None]] = []
    listeners: list[StreamRecord] = []
    called: list[int] = []
    sent: dict[int, float] = {}
    try:
        began = time.perf_counter()
        for i in range(n):
            tasks.append(asyncio.create_task(floor.stream(session, i)))
            if i % 50 == 49:
                # About 1,000 a second, not all in one burst: screens are switched on
                # one by one, and the client's own loop stays responsive.
                await asyncio.sleep(0.05)
        deadline = began + args.connect_seconds
        progress, progress_at = -1, time.perf_counter()
        while time.perf_counter() < deadline:
            done = sum(1 for r in floor.records if r.state_at is not None or r.ended)
            if done == n:
                break
            if done != progress:
                progress, progress_at = done, time.perf_counter()
            elif time.perf_counter() - progress_at > args.stall_seconds:
                break  # no stream has connected or failed for a while: the rest wait in vain
            await asyncio.sleep(0.1)
        result.connect_seconds = time.perf_counter() - began
        result.connected_in_bound = len(floor.connected())
        result.first_event = [r.state_at - r.opened for r in floor.records if r.state_at]
        result.rss_open = await asyncio.to_thread(rss_mib, result.rss_idle.keys())
        print(
            f"  {result.connected_in_bound} of {n} streams had their first event within "
            f"{result.connect_seconds:.1f} s",
            flush=True,
        )

        floor.phase = "calls"
        listeners = [r for r in floor.records if r.state_at is not None and not r.ended]
        failures_in_a_row = 0
        for _ in range(args.calls):
            await asyncio.sleep(args.pause)
            start = time.perf_counter()
            try:
                answer = await asyncio.to_thread(clerk.call_next)
            except Exception as exc:  # a timeout, a refused connection, an unexpected answer
                result.call_failures.append(f"call-next: {type(exc).__name__}: {exc}"[:160])
                failures_in_a_row += 1
                if failures_in_a_row >= 2:
                    break
                continue
            failures_in_a_row = 0
            result.call_requests.append(time.perf_counter() - start)
            ticket = answer.body["ticket"]["ticket_id"]
            called.append(ticket)
            sent[ticket] = start
            wait_until = time.perf_counter() + args.call_wait
            while time.perf_counter() < wait_until:
                live = sum(1 for r in listeners if not r.ended)
                if floor.arrived[ticket] >= live:
                    break
                await asyncio.sleep(0.005)
            try:
                await asyncio.to_thread(clerk.finish, ticket)
            except Exception as exc:
                result.call_failures.append(f"finish: {type(exc).__name__}: {exc}"[:160])
                break  # the clerk still holds the ticket: call-next would be refused
        result.calls_made = len(called)
        result.connected_by_end = len(floor.connected())
    finally:
        stop.set()
        await asyncio.wait(helpers, timeout=args.request_timeout + 5)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=30)
        await session.close()

    result.dark = sum(1 for r in floor.records if r.status is None and r.error is None)
    result.errors = Counter(r.error.split(":")[0] for r in floor.records if r.error)
    result.listeners = len(listeners)
    result.expected = len(listeners) * len(called)
    for record in listeners:
        mine = [(t, at, wall) for t, at, wall in record.calls if t in sent]
        result.delivered += len(mine)
        if [t for t, _, _ in mine] == called:
            result.in_order += 1
        result.latencies.extend(at - sent[t] for t, at, _ in mine)
        result.arrivals.extend((t, wall) for t, _, wall in mine)
    result.resident = floor.resident
    result.lags = floor.lags


def measure_size(
    n: int, url: str, folder: Path, floor_setup: Floor, args: argparse.Namespace
) -> SizeResult:
    result = SizeResult(n)
    port = free_port()
    redis = None if args.no_redis else REDIS_URL
    env = project_env(url, folder, port, redis)
    result.log = RESULTS / f"streams-{args.stamp}-{n}-gunicorn.log"
    with gunicorn_with(
        "wsgi:app", args.server_args, result.log, env, port, ready_path="/api/v1/offices"
    ) as server:
        result.rss_idle = rss_mib(server.workers)
        cookies = []
        for token in floor_setup.displays:
            session = device_session(server.base, token, timeout=args.request_timeout)
            cookies.append("; ".join(f"{c.name}={c.value}" for c in session.cookies))
        kiosk = Kiosk(server.base, floor_setup.kiosks[0], timeout=args.request_timeout)
        for i in range(args.calls):
            kiosk.walk_in(SERVICES[i % len(SERVICES)])
        clerk = Clerk(server.base, floor_setup.clerks[0], timeout=args.request_timeout)
        clerk.seat(next(iter(floor_setup.counters.values())))
        asyncio.run(run_size(server.base, cookies, clerk, n, args, result))
    result.problems = tracebacks(result.log.read_text(errors="replace"))
    created = call_times(url, floor_setup.office_id)
    result.stored = [wall - created[t] for t, wall in result.arrivals if t in created]
    return result


# ---------------------------------------------------------------------------
# Report


def resident_figures(samples: list[tuple[str, float | None, str]]) -> str:
    """p50 / p99 of the answered requests, timeouts counted as slower than any answer."""
    if not samples:
        return "no requests"
    times = [math.inf if s is None else s for _, s, _ in samples]
    failed = Counter(outcome for _, s, outcome in samples if s is None or outcome != "200")

    def ms(value: float) -> str:
        return "timeout" if math.isinf(value) else f"{value * 1000:.0f} ms"

    text = f"n={len(times)}, p50 {ms(percentile(times, 50))}, p99 {ms(percentile(times, 99))}"
    answered = [s for s in times if not math.isinf(s)]
    if answered:
        text += f", max answered {max(answered) * 1000:.0f} ms"
    return text + (f"; not 200: {dict(failed)}" if failed else "")


def report(result: SizeResult, args: argparse.Namespace) -> None:
    n = result.streams
    print(f"\n{n} streams ({args.server_args}):")
    print(
        f"  connected (first event arrived): {result.connected_in_bound} of {n} within "
        f"{result.connect_seconds:.1f} s (bound {args.connect_seconds:g} s, or "
        f"{args.stall_seconds:g} s without progress), "
        f"{result.connected_by_end} open at the end; no answer at all: {result.dark}; "
        f"errors: {dict(result.errors) or 'none'}"
    )
    if result.first_event:
        print(
            f"  open -> first event: median {statistics.median(result.first_event) * 1000:.0f} ms, "
            f"p99 {percentile(result.first_event, 99) * 1000:.0f} ms, "
            f"max {max(result.first_event) * 1000:.0f} ms"
        )
    print(
        f"  calls made: {result.calls_made} of {args.calls}"
        + (f"; failures: {result.call_failures[:3]}" if result.call_failures else "")
    )
    if result.call_requests:
        print(
            f"  call-next request itself: median "
            f"{statistics.median(result.call_requests) * 1000:.0f} ms, max "
            f"{max(result.call_requests) * 1000:.0f} ms"
        )
    every = result.expected > 0 and result.delivered == result.expected
    complete = result.calls_made == args.calls
    order = result.listeners > 0 and result.in_order == result.listeners
    print(
        f"  every call delivered to every stream, in order: "
        f"{'yes' if every and order and result.listeners == n and complete else 'NO'} "
        f"(deliveries {result.delivered} of {result.expected}; streams with every call in "
        f"order {result.in_order} of {result.listeners} listening, {n} opened)"
    )
    if result.latencies:
        print(
            f"  call-next sent -> event at the stream: p50 "
            f"{percentile(result.latencies, 50) * 1000:.0f} ms, p99 "
            f"{percentile(result.latencies, 99) * 1000:.0f} ms, max "
            f"{max(result.latencies) * 1000:.0f} ms"
        )
    if result.stored:
        print(
            f"  event row stored -> at the stream (the server's part): p50 "
            f"{percentile(result.stored, 50) * 1000:.0f} ms, p99 "
            f"{percentile(result.stored, 99) * 1000:.0f} ms"
        )
    calls = [r for r in result.resident if r[0] == "calls"]
    opening = [r for r in result.resident if r[0] == "opening"]
    print(f"  resident page {args.resident_path} during the calls: {resident_figures(calls)}")
    print(f"  resident page while the streams opened: {resident_figures(opening)}")
    lags = ", ".join(f"{phase} {lag * 1000:.0f} ms" for phase, lag in result.lags.items())
    print(f"  client event loop, worst lag: {lags}")
    print(
        f"  worker RSS: idle {describe_rss(result.rss_idle)}; with the streams open "
        f"{describe_rss(result.rss_open)}"
    )
    print(f"  gunicorn log {result.log}: {len(result.problems)} tracebacks/errors")
    for problem in result.problems[:2]:
        print("    " + problem.replace("\n", "\n    ")[:1500])


def summary_line(result: SizeResult, args: argparse.Namespace) -> str:
    calls = [r for r in result.resident if r[0] == "calls"]
    times = [math.inf if s is None else s for _, s, _ in calls]
    resident = percentile(times, 99) if times else math.nan
    latency = percentile(result.latencies, 99) if result.latencies else math.nan

    def ms(value: float) -> str:
        return (
            "timeout"
            if math.isinf(value)
            else "n/a"
            if math.isnan(value)
            else f"{value * 1000:.0f}"
        )

    complete = (
        result.calls_made == args.calls
        and result.expected > 0
        and result.delivered == result.expected
        and result.in_order == result.listeners == result.streams
    )
    return (
        f"{result.streams:>7} {result.connected_in_bound:>9} {result.calls_made:>5} "
        f"{'yes' if complete else 'no':>9} {result.delivered:>7}/{result.expected:<7} "
        f"{ms(percentile(result.latencies, 50)) if result.latencies else 'n/a':>7} "
        f"{ms(latency):>7} {ms(resident):>9} "
        f"{max(result.rss_open.values(), default=math.nan):>8.0f}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", default="20,500,2000", help="comma-separated stream counts")
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument(
        "--server-args",
        default=None,
        help="gunicorn options (default: the README's production command, now "
        f"{production_server_args()!r})",
    )
    parser.add_argument("--backend", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--no-redis", action="store_true", help="no REDIS_URL: polling only")
    parser.add_argument("--devices", type=int, default=20, help="display devices signed in")
    parser.add_argument(
        "--connect-seconds", type=float, default=60, help="bound for every stream's first event"
    )
    parser.add_argument(
        "--stall-seconds",
        type=float,
        default=15,
        help="stop waiting for first events once none has come for this long",
    )
    parser.add_argument(
        "--call-wait", type=float, default=10, help="bound for a call to reach every stream"
    )
    parser.add_argument("--pause", type=float, default=0.2, help="seconds between calls")
    parser.add_argument("--resident-path", default="/", help="the resident's page")
    parser.add_argument("--resident-interval", type=float, default=0.25)
    parser.add_argument(
        "--request-timeout", type=float, default=10, help="bound for one request (clerk, resident)"
    )
    args = parser.parse_args(argv)
    sizes = [int(x) for x in args.streams.split(",") if x.strip()]
    if not sizes or not all(1 <= n <= 5000 for n in sizes) or not 1 <= args.calls <= 200:
        parser.error("need stream counts of 1..5000 and 1..200 calls")
    if not (1 <= args.devices <= 100 and 1 <= args.connect_seconds <= 300):
        parser.error("need 1..100 devices and a connect bound of 1..300 s")
    if aiohttp is None:
        print(
            "aiohttp is missing: this benchmark holds thousands of streams in one asyncio\n"
            "process. Install it with:  .venv/bin/pip install aiohttp",
            file=sys.stderr,
        )
        return 2
    args.server_args = args.server_args or production_server_args()
    # Both ends of every stream are on this machine: the workers inherit the limit.
    fds = raise_fd_limit(2 * max(sizes) + 1024)
    run_began = time.perf_counter()
    args.stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    print(f"streams {args.stamp} UTC; {Machine().describe()}; aiohttp {aiohttp.__version__}")
    print(
        f"gunicorn {args.server_args}; {args.backend}, "
        f"{'no Redis' if args.no_redis else 'Redis'}; streams {sizes}, {args.calls} calls each; "
        f"{args.devices} display devices; open-file limit {fds}",
        flush=True,
    )
    results = []
    with (
        tempfile.TemporaryDirectory(prefix="okienko-streams-") as tmp,
        fresh_database(args.backend, Path(tmp), "streams") as url,
    ):
        floor_setup = prepare(url, Path(tmp), displays=args.devices, kiosks=1, clerks=1)
        for n in sizes:
            print(f"\n-- {n} streams", flush=True)
            result = measure_size(n, url, Path(tmp), floor_setup, args)
            report(result, args)
            results.append(result)
    print(f"\nall sizes in {time.perf_counter() - run_began:.0f} s; gunicorn {args.server_args}")
    print(
        f"{'streams':>7} {'connected':>9} {'calls':>5} {'in order':>9} "
        f"{'deliveries':>15} {'p50 ms':>7} {'p99 ms':>7} {'page p99':>9} {'RSS MiB':>8}"
    )
    for result in results:
        print(summary_line(result, args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
