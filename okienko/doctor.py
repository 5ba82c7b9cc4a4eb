"""``flask doctor``: checks the configuration a deployment depends on and says what to fix.

Also the start-up warning for rate limits that several gunicorn workers do not share,
which gunicorn's master logs through the hook in the repository's gunicorn.conf.py.
"""

from __future__ import annotations

import os
import shlex
import smtplib
import ssl
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.pool import NullPool

from . import scheduler
from .database import db

OK, WARNING, PROBLEM = "ok", "warning", "PROBLEM"
# The scheduler's jobs run every 30 s to 1 h; the most frequent one overdue by this much
# means no scheduler process is running.
HEARTBEAT_GRACE_SECONDS = 120


@dataclass
class Finding:
    check: str
    status: str  # OK, WARNING or PROBLEM
    message: str
    fix: str = ""


# ------------------------------------------------------------------ gunicorn's workers


def workers_from_environment() -> int | None:
    """The worker count a gunicorn started with this environment would run, if it says."""
    count = None
    if (concurrency := os.environ.get("WEB_CONCURRENCY", "").strip()).isdigit():
        count = int(concurrency)
    args = shlex.split(os.environ.get("GUNICORN_CMD_ARGS", ""))
    for i, arg in enumerate(args):
        value = None
        if arg in ("-w", "--workers") and i + 1 < len(args):
            value = args[i + 1]
        elif arg.startswith("--workers="):
            value = arg.partition("=")[2]
        elif arg.startswith("-w") and len(arg) > 2:
            value = arg[2:]
        if value and value.isdigit():
            count = int(value)
    return count


def limits_from_environment() -> dict[str, Any]:
    """The rate-limit settings a web worker started with this environment has: the rule of
    ``okienko.config.from_environment`` (RATELIMIT_STORAGE_URI, else REDIS_URL, else
    memory://), for gunicorn's master, which loads no app."""
    enabled = os.environ.get("RATELIMIT_ENABLED")
    return {
        "RATELIMIT_STORAGE_URI": os.environ.get(
            "RATELIMIT_STORAGE_URI", os.environ.get("REDIS_URL") or "memory://"
        ),
        "RATELIMIT_ENABLED": enabled is None
        or enabled.strip().lower() in {"1", "true", "yes", "on"},
    }


def limits_in_memory(config: Mapping[str, Any]) -> bool:
    """Whether the rate limits are counted in each process's own memory."""
    uri = str(config.get("RATELIMIT_STORAGE_URI") or "memory://")
    return bool(config.get("RATELIMIT_ENABLED", True)) and uri.startswith("memory://")


def unshared_limits_message(workers: int) -> str:
    return (
        f"RATE LIMITS ARE NOT SHARED: {workers} gunicorn workers each count the rate "
        f"limits in their own memory (RATELIMIT_STORAGE_URI=memory://), so every limit "
        f"lets {workers} times as many requests through. Set REDIS_URL (or "
        f"RATELIMIT_STORAGE_URI) to a Redis that all workers share, or run one worker."
    )


def warn_unshared_limits(workers: int, log: Callable[[str], object]) -> bool:
    """Say loudly, once, when ``workers`` gunicorn workers would each keep their own limits.

    Called by gunicorn's master from ``when_ready`` in the repository's gunicorn.conf.py,
    with the worker count of its settings (command line, GUNICORN_CMD_ARGS,
    WEB_CONCURRENCY) and ``log``, its error log. True when it warned.
    """
    if workers > 1 and limits_in_memory(limits_from_environment()):
        log(unshared_limits_message(workers))
        return True
    return False


# ------------------------------------------------------------------------ the secret key

# SECRET_KEY_SOURCE as ``okienko.config`` sets it for a key it generated into the instance
# folder (each installation, or each machine, would have a key of its own).
GENERATED_PREFIX = "generated"


def record_secret_key_source(app: Flask, overrides: Mapping[str, Any] | None) -> None:
    """A SECRET_KEY given to ``create_app(config)`` is where the key comes from, whatever
    the environment says; a SECRET_KEY_SOURCE given with it stands."""
    if overrides and "SECRET_KEY" in overrides and "SECRET_KEY_SOURCE" not in overrides:
        app.config["SECRET_KEY_SOURCE"] = "given in the configuration"


# --------------------------------------------------------------------------- checks

# A database server that does not answer (a firewall dropping the packets) is given up
# on after this long, instead of the doctor hanging.
CONNECT_TIMEOUT_SECONDS = 5


@contextmanager
def connect() -> Iterator[Connection]:
    """A database connection of the doctor's own, with a connect timeout (PostgreSQL)."""
    url = db.engine.url
    if url.get_backend_name() != "postgresql":  # SQLite: a file, nothing to wait for
        with db.engine.connect() as connection:
            yield connection
        return
    options = {} if "connect_timeout" in url.query else {"connect_timeout": CONNECT_TIMEOUT_SECONDS}
    engine = create_engine(url, poolclass=NullPool, connect_args=options)
    try:
        with engine.connect() as connection:
            yield connection
    finally:
        engine.dispose()


def check_database() -> Iterator[Finding]:
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    where = db.engine.url.render_as_string(hide_password=True)
    try:
        with connect() as connection:
            connection.execute(text("SELECT 1"))
            current = set(MigrationContext.configure(connection).get_current_heads())
    except Exception as exc:  # any driver's error: the message says what
        yield Finding(
            "database",
            PROBLEM,
            f"cannot connect to {where}: {first_line(exc)}",
            "check DATABASE_URL and that the database server is running and reachable",
        )
        return
    yield Finding("database", OK, f"reachable: {where}")
    migrate = current_app.extensions["migrate"]
    script = ScriptDirectory.from_config(migrate.migrate.get_config(migrate.directory))
    heads = set(script.get_heads())
    if current == heads:
        yield Finding("migrations", OK, f"at the latest revision ({', '.join(sorted(heads))})")
    else:
        have = ", ".join(sorted(current)) or "none"
        yield Finding(
            "migrations",
            PROBLEM,
            f"database at revision {have}, the code needs {', '.join(sorted(heads))}",
            "run: flask --app wsgi db upgrade",
        )


def check_secret_key(config: Mapping[str, Any]) -> Iterator[Finding]:
    """Decided by SECRET_KEY_SOURCE, which is set where the key is read."""
    key = str(config.get("SECRET_KEY") or "")
    source = str(config.get("SECRET_KEY_SOURCE") or "given in the configuration")
    fix = (
        "set SECRET_KEY in the environment of every web worker and the scheduler, the "
        "same everywhere (e.g. the output of: python -c 'import secrets; "
        "print(secrets.token_hex(32))')"
    )
    if not key:
        yield Finding("secret key", PROBLEM, "no SECRET_KEY", fix)
    elif source.startswith(GENERATED_PREFIX):
        yield Finding("secret key", PROBLEM, f"not set in the environment; {source}", fix)
    elif len(key) < 32:
        yield Finding(
            "secret key",
            PROBLEM,
            f"{source}, but only {len(key)} characters long",
            "use a random SECRET_KEY of at least 32 characters",
        )
    else:
        yield Finding("secret key", OK, f"{source} (SECRET_KEY)")


def redis_urls(config: Mapping[str, Any]) -> dict[str, str]:
    """The Redis servers the configuration names, by what uses them."""
    urls = {}
    if config.get("REDIS_URL"):
        urls["REDIS_URL (event wake-ups)"] = str(config["REDIS_URL"])
    storage = str(config.get("RATELIMIT_STORAGE_URI") or "")
    if storage.startswith(("redis://", "rediss://", "redis+unix://")):
        urls["RATELIMIT_STORAGE_URI (rate limits)"] = storage
    return urls


def check_redis(config: Mapping[str, Any]) -> Iterator[Finding]:
    import redis

    urls = redis_urls(config)
    if not urls:
        yield Finding("redis", OK, "not configured (none needed with one worker)")
        return
    for use, url in urls.items():
        shown = redact(url)
        try:
            client = redis.Redis.from_url(url, socket_timeout=3, socket_connect_timeout=3)
            client.ping()
            client.close()
        except (redis.RedisError, OSError, ValueError) as exc:
            yield Finding(
                "redis",
                PROBLEM,
                f"{use}: {shown} does not answer: {first_line(exc)}",
                "start Redis or correct the URL",
            )
        else:
            yield Finding("redis", OK, f"{use}: {shown} answers")


def check_limit_storage(config: Mapping[str, Any], workers: int | None) -> Iterator[Finding]:
    if not config.get("RATELIMIT_ENABLED", True):
        yield Finding("rate limits", WARNING, "switched off (RATELIMIT_ENABLED=false)")
        return
    if not limits_in_memory(config):
        yield Finding("rate limits", OK, "kept in shared storage, the same for every worker")
        return
    if workers is not None and workers > 1:
        yield Finding(
            "rate limits",
            PROBLEM,
            unshared_limits_message(workers),
            "set REDIS_URL=redis://HOST:6379/0 for the web workers",
        )
    elif workers is None:
        yield Finding(
            "rate limits",
            WARNING,
            "counted in each process's memory: right only with one worker (gunicorn -w 1)",
            "with several workers set REDIS_URL; `flask doctor --workers N` checks for N",
        )
    else:
        yield Finding("rate limits", OK, "in memory, with one worker")


def check_mail(config: Mapping[str, Any]) -> Iterator[Finding]:
    server = config.get("MAIL_SERVER")
    if not server:
        outbox = Path(config["MAIL_OUTBOX"])
        try:
            outbox.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=outbox, prefix=".doctor-"):
                pass
        except OSError as exc:
            yield Finding(
                "mail",
                PROBLEM,
                f"no MAIL_SERVER, and the outbox {outbox} is not writable: {first_line(exc)}",
                "set MAIL_SERVER (and MAIL_PORT, MAIL_USERNAME, ...) or make MAIL_OUTBOX writable",
            )
        else:
            yield Finding(
                "mail",
                WARNING,
                f"no MAIL_SERVER: mail is written to {outbox} and nobody receives it",
                "set MAIL_SERVER, MAIL_PORT, MAIL_USERNAME, MAIL_PASSWORD, MAIL_SENDER",
            )
        return
    port = int(config.get("MAIL_PORT") or 25)
    try:
        if config.get("MAIL_USE_SSL"):
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                server, port, timeout=10, context=ssl.create_default_context()
            )
        else:
            smtp = smtplib.SMTP(server, port, timeout=10)
        with smtp:
            smtp.ehlo()
            if config.get("MAIL_USE_TLS"):
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if config.get("MAIL_USERNAME"):
                smtp.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD") or "")
    except (OSError, smtplib.SMTPException) as exc:
        yield Finding(
            "mail",
            PROBLEM,
            f"SMTP server {server}:{port} does not accept us: {first_line(exc)}",
            "check MAIL_SERVER, MAIL_PORT, MAIL_USE_TLS/MAIL_USE_SSL and the login",
        )
    else:
        yield Finding("mail", OK, f"SMTP server {server}:{port} answers")


def check_scheduler(now: datetime) -> Iterator[Finding]:
    """The scheduler's heartbeat: its jobs' next run times, which it moves on at every run."""
    jobs = scheduler.collect(current_app)

    try:
        with connect() as connection:
            rows = connection.execute(
                text(f"SELECT id, next_run_time FROM {scheduler.JOBSTORE_TABLE}")
            ).all()
    except Exception as exc:
        yield Finding("scheduler", PROBLEM, f"cannot read its jobs: {first_line(exc)}")
        return
    due = {name: when for name, when in rows if name in jobs and when is not None}
    start = "start it: flask --app wsgi scheduler (one process; see README, The scheduler)"
    if not due:
        yield Finding("scheduler", PROBLEM, "has never run (no scheduled jobs stored)", start)
        return
    # A running scheduler moves each job's next run on when it runs it: the last heartbeat
    # is a job's next run time less its interval.
    last = max(when - jobs[name].every.total_seconds() for name, when in due.items())
    overdue = now.timestamp() - min(due.values())
    ago = max(0, round(now.timestamp() - last))
    if overdue > HEARTBEAT_GRACE_SECONDS:
        yield Finding(
            "scheduler",
            PROBLEM,
            f"not running: last heartbeat {ago} s ago, a job is {round(overdue)} s overdue",
            start,
        )
    else:
        yield Finding("scheduler", OK, f"running: last heartbeat {ago} s ago")


def check_scheduler_placement(config: Mapping[str, Any], workers: int | None) -> Iterator[Finding]:
    if config.get("SCHEDULER_IN_PROCESS") and workers is not None and workers > 1:
        yield Finding(
            "scheduler",
            WARNING,
            f"SCHEDULER_IN_PROCESS=true with {workers} workers: every worker runs the jobs",
            "set SCHEDULER_IN_PROCESS=false and run one `flask scheduler` process",
        )


def check_public_url(config: Mapping[str, Any]) -> Iterator[Finding]:
    url = str(config.get("PUBLIC_URL") or "")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        yield Finding(
            "public URL",
            PROBLEM,
            f"PUBLIC_URL={url!r} is not an absolute http(s) URL: links in mails would not work",
            "set PUBLIC_URL to the address residents open, e.g. https://termin.example.org",
        )
    elif parts.hostname in ("localhost", "127.0.0.1", "::1"):
        yield Finding(
            "public URL",
            WARNING,
            f"PUBLIC_URL={url} points to this machine: links in mails reach nobody else",
            "set PUBLIC_URL to the public address",
        )
    elif parts.scheme != "https":
        yield Finding(
            "public URL",
            WARNING,
            f"PUBLIC_URL={url} is not https: manage links travel unencrypted",
            "serve over TLS and set PUBLIC_URL=https://...",
        )
    else:
        yield Finding("public URL", OK, url)


def add_check(app: Flask, check: Callable[[], Iterator[Finding]]) -> None:
    """A feature's own check, added from its ``init_app``: the core knows no feature's tables."""
    app.extensions.setdefault("okienko.doctor", []).append(check)


def run_checks(app: Flask, workers: int | None = None) -> list[Finding]:
    config = app.config
    workers = workers if workers is not None else workers_from_environment()
    checks: list[Callable[[], Iterator[Finding]]] = [
        check_database,
        lambda: check_secret_key(config),
        lambda: check_redis(config),
        lambda: check_limit_storage(config, workers),
        lambda: check_mail(config),
        lambda: check_scheduler(datetime.now(UTC)),
        lambda: check_scheduler_placement(config, workers),
        lambda: check_public_url(config),
        *app.extensions.get("okienko.doctor", []),
    ]
    findings: list[Finding] = []
    for check in checks:
        findings.extend(check())
    return findings


def first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@", 1)
    return url


@click.command("doctor")
@with_appcontext
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    help="Web workers the deployment runs (default: from WEB_CONCURRENCY/GUNICORN_CMD_ARGS).",
)
def doctor_command(workers: int | None) -> None:
    """Check the configuration a deployment depends on and say what to fix."""
    findings = run_checks(current_app._get_current_object(), workers)  # type: ignore[attr-defined]
    width = max(len(f.check) for f in findings)
    for finding in findings:
        click.echo(f"{finding.status:<8} {finding.check:<{width}}  {finding.message}")
        if finding.fix and finding.status != OK:
            click.echo(f"{'':<8} {'':<{width}}  fix: {finding.fix}")
    problems = sum(f.status == PROBLEM for f in findings)
    if problems:
        click.echo(f"{problems} to fix.", err=True)
        sys.exit(1)
    click.echo("Nothing to fix.")
