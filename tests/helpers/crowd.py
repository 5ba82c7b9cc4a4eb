"""Hundreds of lobby displays at once: SSE streams held by one asyncio loop (aiohttp).

A thread per stream, as ``live_floor.Stream`` uses, would make the test process
the bottleneck; one loop in one thread holds them all. Each stream keeps the
(id, kind, ticket id) of its events; waits are on a condition, bounded only so
that a failure ends.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Mapping
from typing import Any

import aiohttp

from tests.helpers.live_floor import sse_fields

Seen = tuple[int | None, str, Any]  # (event id, kind, ticket id or the state's last id)


class Crowd:
    """``count`` streams of ``url`` with the cookies of one signed-in display."""

    def __init__(self, url: str, cookies: Mapping[str, str], count: int) -> None:
        self.url = url
        self.cookies = dict(cookies)
        self.events: list[list[Seen]] = [[] for _ in range(count)]
        self.errors: list[BaseException] = []
        self.changed = threading.Condition()
        self._loop = asyncio.new_event_loop()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        self._loop.run_until_complete(self._main())

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        connector = aiohttp.TCPConnector(limit=0)  # no cap on connections to one host
        timeout = aiohttp.ClientTimeout(total=None, connect=60, sock_read=120)
        async with aiohttp.ClientSession(
            connector=connector, cookies=self.cookies, timeout=timeout
        ) as session:
            tasks = [asyncio.create_task(self._read(session, i)) for i in range(len(self.events))]
            await self._stop.wait()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _read(self, session: aiohttp.ClientSession, index: int) -> None:
        try:
            headers = {"Accept": "text/event-stream"}
            async with session.get(self.url, headers=headers) as response:
                if response.status != 200:
                    raise RuntimeError(f"stream {index}: HTTP {response.status}")
                buffer = b""
                async for chunk in response.content.iter_any():
                    buffer += chunk
                    while b"\n\n" in buffer:
                        block, buffer = buffer.split(b"\n\n", 1)
                        self._parse(index, block.decode())
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            with self.changed:
                self.errors.append(exc)
                self.changed.notify_all()

    def _parse(self, index: int, block: str) -> None:
        kind, event_id, body, _retry = sse_fields(block)
        if body is None:
            return
        mark = body.get("last_event_id") if kind == "state" else body.get("ticket_id")
        with self.changed:
            self.events[index].append((event_id, kind, mark))
            self.changed.notify_all()

    def wait_for(self, predicate: Callable[[list[list[Seen]]], bool], timeout: float) -> bool:
        """Until ``predicate(events of every stream)`` holds or a stream failed."""
        with self.changed:
            self.changed.wait_for(lambda: predicate(self.events) or bool(self.errors), timeout)
            return predicate(self.events)

    def close(self) -> None:
        if self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(60)
