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
from collections.abc import Callable
from contextlib import suppress
from datetime import UTC, timedelta
from typing import Any
from urllib.parse import urlsplit

from apscheduler.jobstores.base import ConflictingIdError
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from flask import Flask
from sqlalchemy.orm import Session

from . import jobs
from .database import db, utcnow

JOBSTORE_TABLE = "apscheduler_jobs"
GRACE = timedelta(hours=1)


def _retention(session: Session, now: Any, config: Any) -> int:
    return jobs.anonymise(
        session,
        now,
        timedelta(days=config["RETENTION_DAYS"]),
        timedelta(days=config["ADMISSION_RETENTION_DAYS"]),
    )


def _day_close(session: Session, now: Any, config: Any) -> int:
    from queueing.closing import close_all

    return close_all(session, now)


# name: (seconds between runs, what it does)
JOBS: dict[str, tuple[int, Callable[[Session, Any, Any], int]]] = {
    "mail": (30, lambda session, now, config: jobs.deliver_mail(session, now, config)),
    "reminders": (300, lambda session, now, config: jobs.send_reminders(session, now, config)),
    "no_shows": (60, lambda session, now, config: jobs.mark_no_shows(session, now)),
    "day_close": (300, _day_close),
    "retention": (3600, _retention),
}

_app: Flask | None = None


def run_job(name: str) -> int:
    """What the scheduler calls (by name, so the job store can keep it): one run of a job."""
    assert _app is not None, "the scheduler was not started with an app"
    # A request context at the public host, so mails can build their links.
    public = urlsplit(_app.config["PUBLIC_URL"])
    with _app.test_request_context("/", base_url=f"{public.scheme}://{public.netloc}"):
        try:
            return JOBS[name][1](db.session, utcnow(), _app.config)
        except Exception:
            db.session.rollback()
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
    for name, (seconds, _work) in JOBS.items():
        job = scheduler.get_job(name)
        if job is None:
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
        elif job.trigger.interval != timedelta(seconds=seconds):
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
