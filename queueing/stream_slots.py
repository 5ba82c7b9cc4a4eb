"""Open event streams counted in this process, per key (an office) and in all.

A view takes a slot before it makes a stream's response and gives it back when the
server closes that response (the client gone, or the stream ended): the count is exact
however many requests arrive at once, and a stream that never starts holds nothing.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Hashable

from flask import Response


class StreamSlots:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: Counter[Hashable] = Counter()

    def take(self, key: Hashable, per_key: int, total: int) -> bool:
        """One more stream of ``key``, unless it has ``per_key`` or all have ``total``."""
        with self._lock:
            if self._open[key] >= per_key or self._open.total() >= total:
                return False
            self._open[key] += 1
            return True

    def give_back(self, key: Hashable) -> None:
        with self._lock:
            self._open[key] -= 1
            if self._open[key] <= 0:
                del self._open[key]

    def held_by(self, response: Response, key: Hashable) -> Response:
        """``response`` gives the slot back when closed (WSGI servers close every response)."""
        response.call_on_close(lambda: self.give_back(key))
        return response

    def open(self, key: Hashable | None = None) -> int:
        with self._lock:
            return self._open.total() if key is None else self._open[key]
