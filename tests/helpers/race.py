"""Many threads released at the same instant, each doing one attempt."""

from __future__ import annotations

import threading

import requests


def race(count: int, attempt) -> list[requests.Response]:
    """Run ``attempt(i)`` in ``count`` threads released at the same instant."""
    barrier = threading.Barrier(count)
    results: list[requests.Response | None] = [None] * count

    def run(i: int) -> None:
        prepared = attempt.prepare(i) if hasattr(attempt, "prepare") else None
        barrier.wait()
        results[i] = attempt(i, prepared)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert all(r is not None for r in results)
    return results  # type: ignore[return-value]
