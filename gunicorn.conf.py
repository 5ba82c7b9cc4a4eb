"""gunicorn's start-up hooks for Okienko.

gunicorn reads ./gunicorn.conf.py from the folder it starts in when no ``-c``/``--config``
is given, so ``gunicorn wsgi:app`` run in the repository's folder (as the README's
Production section does) uses this file. It sets no option: the worker count and the
rest still come from the command line, GUNICORN_CMD_ARGS and WEB_CONCURRENCY.
"""

from __future__ import annotations

from typing import Any


def when_ready(server: Any) -> None:
    """In the master, once, before the workers start: rate limits that the workers would
    each count in their own memory are said loudly (the same rule `flask doctor` uses)."""
    from okienko.doctor import warn_unshared_limits

    warn_unshared_limits(server.cfg.workers, server.log.error)
