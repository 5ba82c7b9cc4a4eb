"""Log records in a test, however logging was set up before it."""

from __future__ import annotations

import logging


class Records(logging.Handler):
    """Log records of this process at WARNING and above, however logging was set up.

    (Alembic's fileConfig, run by the migrations in this process, replaces the root
    logger's handlers, pytest's among them, and disables the loggers existing then.)
    """

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def __enter__(self) -> list[logging.LogRecord]:
        for name in ("flask-limiter", "okienko.app", "queueing.events"):
            logging.getLogger(name).disabled = False
        logging.getLogger().addHandler(self)
        return self.records

    def __exit__(self, *exc: object) -> None:
        logging.getLogger().removeHandler(self)
