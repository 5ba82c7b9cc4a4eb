"""The scheduler: APScheduler 3.11 in one dedicated process (``flask scheduler``).

Under ``make run`` it runs inside the app's single process instead
(``SCHEDULER_IN_PROCESS``). Jobs are kept in the database (APScheduler's
SQLAlchemy job store), so after a restart a run missed while the process was
down is made up at once, coalesced into one, within ``GRACE``; and since
every job works from the state of the data, even a run missed beyond that is
made up by the next one. Jobs claim their rows before acting, so a second
scheduler started by mistake repeats no work.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Mapping
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import import_module
from importlib.util import find_spec
from typing import Any
from urllib.parse import urlsplit

from apscheduler.jobstores.base import ConflictingIdError
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from flask import Flask
from sqlalchemy.orm import Session

from .database import db, utcnow
from .transaction import unit_of_work

JOBSTORE_TABLE = "apscheduler_jobs"
GRACE = timedelta(hours=1)

Work = Callable[[Session, datetime, Mapping[str, Any]], int]


@dataclass(frozen=True)
class Job:
    """Scheduled work: ``work(session, now, config)`` every ``every``; returns a count."""

    name: str
    every: timedelta
    work: Work
    package: str  # whose job: "okienko" or a feature's package


# Filled by the ``tasks`` modules of the core and the features as they are imported;
# the scheduler knows no job by name.
JOBS: dict[str, Job] = {}


def job(name: str, every: timedelta) -> Callable[[Work], Work]:
    """Register ``work`` under ``name`` (the id kept in the job store): run it every ``every``."""

    def register(work: Work) -> Work:
        JOBS[name] = Job(name, every, work, work.__module__.split(".")[0])
        return work

    return register


def collect(app: Flask) -> dict[str, Job]:
    """Every job of the core and of the app's features: their ``tasks`` modules register them."""
    packages = ("okienko", *app.config["FEATURES"])
    for package in packages:
        if find_spec(f"{package}.tasks") is not None:
            import_module(f"{package}.tasks")
    return {name: job for name, job in JOBS.items() if job.package in packages}


_app: Flask | None = None


def run_job(name: str) -> int:
    """What the scheduler calls (by name, so the job store can keep it): one run of a job."""
    assert _app is not None, "the scheduler was not started with an app"
    # A request context at the public host, so mails can build their links.
    public = urlsplit(_app.config["PUBLIC_URL"])
    with _app.test_request_context("/", base_url=f"{public.scheme}://{public.netloc}"):
        try:
            with unit_of_work() as session:
                return collect(_app)[name].work(session, utcnow(), _app.config)
        except Exception:
            _app.logger.exception("job %s failed; it runs again at its next time", name)
            return 0
        finally:
            db.session.remove()


def start(app: Flask) -> BackgroundScheduler:
    """Start the jobs in a background thread of this process (once); returns the scheduler."""
    global _app
    if running := app.extensions.get("okienko.scheduler"):
        return running
    _app = app
    with app.app_context():
        # The app's engine: on SQLite its busy timeout and IMMEDIATE transactions too.
        # The table comes from the migrations, so two schedulers never race to create it.
        store = SQLAlchemyJobStore(engine=db.engine, tablename=JOBSTORE_TABLE)
    scheduler = BackgroundScheduler(
        jobstores={"default": store},
        job_defaults={
            "coalesce": True,
            "max_instances": 1,
            "misfire_grace_time": int(GRACE.total_seconds()),
        },
        timezone=UTC,
    )
    # Paused until the stored jobs are checked: a job kept from before a restart keeps
    # its schedule, so a run it missed is due now; a new one runs at once.
    scheduler.start(paused=True)
    for name, planned in collect(app).items():
        seconds = int(planned.every.total_seconds())
        try:
            stored = scheduler.get_job(name)
        except LookupError:
            # Stored with a function that no longer exists (a module renamed since): store
            # it afresh; it runs at once, and its work depends on the data, not on when.
            scheduler.remove_job(name)
            stored = None
        if stored is None:
            # Another scheduler may store it a moment before: this one runs it from there.
            with suppress(ConflictingIdError):
                scheduler.add_job(
                    run_job,
                    "interval",
                    seconds=seconds,
                    args=[name],
                    id=name,
                    next_run_time=utcnow(),
                )
        elif stored.trigger.interval != planned.every:
            scheduler.reschedule_job(name, trigger="interval", seconds=seconds)
    scheduler.resume()
    app.extensions["okienko.scheduler"] = scheduler
    return scheduler


def stop(app: Flask, wait: bool = True) -> None:
    """Stop this process's scheduler, letting running jobs finish if ``wait``."""
    scheduler = app.extensions.pop("okienko.scheduler", None)
    if scheduler is not None:
        scheduler.shutdown(wait=wait)


def run_forever(app: Flask) -> None:
    """``flask scheduler``: run until SIGTERM or Ctrl+C, then let running jobs finish."""
    stopping = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stopping.set())
    scheduler = start(app)
    app.logger.info("scheduler running: %s", ", ".join(JOBS))
    # APScheduler's thread ends for good if its job store fails (the database restarted):
    # then exit, so systemd or the Procfile runner starts a fresh process.
    while not stopping.wait(10):
        thread = getattr(scheduler, "_thread", None)
        if thread is not None and not thread.is_alive():
            app.logger.error("scheduler thread stopped; exiting for a restart")
            raise SystemExit(1)
    stop(app)
