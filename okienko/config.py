"""Settings read from the environment, with defaults that work on a fresh machine."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any


def _secret_key(instance: Path) -> str:
    """The SECRET_KEY: from the environment, else generated once and kept in the instance folder."""
    if key := os.environ.get("SECRET_KEY"):
        return key
    path = instance / "secret_key"
    try:
        # O_EXCL: of several workers starting at once, one writes and all read the same key.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    key = secrets.token_hex(32)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


def _bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def from_environment(instance: Path) -> dict[str, Any]:
    """Build the Flask config from environment variables."""
    instance.mkdir(parents=True, exist_ok=True)
    database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{instance / 'okienko.db'}"
    if database_url.startswith("postgresql://"):
        # psycopg 3 is the installed driver; plain postgresql:// would ask for psycopg2.
        database_url = "postgresql+psycopg://" + database_url.removeprefix("postgresql://")
    redis_url = os.environ.get("REDIS_URL")
    return {
        "SECRET_KEY": _secret_key(instance),
        # Where it came from, for `flask doctor`.
        "SECRET_KEY_SOURCE": "from the environment"
        if os.environ.get("SECRET_KEY")
        else f"generated into {instance / 'secret_key'}",
        "SQLALCHEMY_DATABASE_URI": database_url,
        # A pooled connection is tested before use: after a database restart the first
        # requests get a fresh connection instead of an error.
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "REDIS_URL": redis_url,
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI", redis_url or "memory://"),
        "RATELIMIT_ENABLED": _bool("RATELIMIT_ENABLED", True),
        # Redis gone: the limits count in each process's memory until it is back (logged
        # once), instead of every limited request failing.
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "RATELIMIT_SWALLOW_ERRORS": True,
        # A Redis that does not answer holds a request 2 s at most, then the fallback.
        "RATELIMIT_STORAGE_OPTIONS": {"socket_timeout": 2, "socket_connect_timeout": 2},
        # Several installations may share one Redis: keep their counters apart.
        "RATELIMIT_KEY_PREFIX": os.environ.get("RATELIMIT_KEY_PREFIX", "okienko"),
        "RATELIMIT_HEADERS_ENABLED": True,
        # A moving window counts the last hour exactly: a fixed one lets twice the limit
        # through across the turn of a window (hits just before it and just after).
        "RATELIMIT_STRATEGY": os.environ.get("RATELIMIT_STRATEGY", "moving-window"),
        "BOOKING_RATE_LIMIT": os.environ.get("BOOKING_RATE_LIMIT", "10 per hour;3 per minute"),
        "API_RATE_LIMIT": os.environ.get("API_RATE_LIMIT", "120 per minute"),
        "LOGIN_RATE_LIMIT": os.environ.get("LOGIN_RATE_LIMIT", "10 per minute;50 per hour"),
        "API_BOOKING_RATE_LIMIT": os.environ.get("API_BOOKING_RATE_LIMIT", "20 per hour"),
        # The public queue's state.json and stream (/o/SLUG/queue): the same answer for
        # everyone, read by every viewer behind one address (an office's guest Wi-Fi, a
        # carrier's NAT), so a limit of its own, above the API's.
        "PUBLIC_QUEUE_RATE_LIMIT": os.environ.get("PUBLIC_QUEUE_RATE_LIMIT", "600 per minute"),
        # Open public queue streams per process, per office and in all: each holds a
        # connection (gunicorn's --worker-connections, 2000 in the README's setup).
        "PUBLIC_QUEUE_STREAMS_PER_OFFICE": int(
            os.environ.get("PUBLIC_QUEUE_STREAMS_PER_OFFICE", "300")
        ),
        "PUBLIC_QUEUE_STREAMS": int(os.environ.get("PUBLIC_QUEUE_STREAMS", "1000")),
        # Reverse proxies in front of the app; their X-Forwarded-For gives the client
        # address the rate limits count by.
        "TRUSTED_PROXIES": int(os.environ.get("TRUSTED_PROXIES", "0")),
        "MAIL_SERVER": os.environ.get("MAIL_SERVER"),
        "MAIL_PORT": int(os.environ.get("MAIL_PORT", "25")),
        "MAIL_USERNAME": os.environ.get("MAIL_USERNAME"),
        "MAIL_PASSWORD": os.environ.get("MAIL_PASSWORD"),
        "MAIL_USE_TLS": _bool("MAIL_USE_TLS", False),
        "MAIL_USE_SSL": _bool("MAIL_USE_SSL", False),
        "MAIL_SENDER": os.environ.get("MAIL_SENDER", "Okienko <no-reply@okienko.local>"),
        "MAIL_OUTBOX": os.environ.get("MAIL_OUTBOX", str(instance / "outbox")),
        "PUBLIC_URL": os.environ.get("PUBLIC_URL", "http://127.0.0.1:5000"),
        # Outcomes of the sanitary admission check (health data) are deleted after this.
        "ADMISSION_RETENTION_DAYS": int(os.environ.get("ADMISSION_RETENTION_DAYS", "14")),
        # Bookings' names, contacts and links are erased this long after the visit.
        "RETENTION_DAYS": int(os.environ.get("RETENTION_DAYS", "90")),
        # `make run`: the scheduler in the app's one process; in production `flask scheduler`.
        "SCHEDULER_IN_PROCESS": _bool("SCHEDULER_IN_PROCESS", False),
        "ICS_UID_DOMAIN": os.environ.get("ICS_UID_DOMAIN", "okienko.local"),
        # Staff are signed out after this long without a request: managers and
        # administrators sooner, clerks (whose counter page is open all day) after a shift.
        "STAFF_IDLE_MINUTES": int(os.environ.get("STAFF_IDLE_MINUTES", "30")),
        "CLERK_IDLE_MINUTES": int(os.environ.get("CLERK_IDLE_MINUTES", "600")),
        # A clerk's seat is freed, and a called ticket put back in line, after this long
        # without a heartbeat from the open counter page (a browser closed or crashed).
        "SEAT_LEASE_MINUTES": int(os.environ.get("SEAT_LEASE_MINUTES", "10")),
        # The counter page marks a ticket waiting longer than this.
        "LONG_WAIT_MINUTES": int(os.environ.get("LONG_WAIT_MINUTES", "20")),
        # How long a one-time link to set a password (a new account, a reset) works.
        "PASSWORD_RESET_HOURS": int(os.environ.get("PASSWORD_RESET_HOURS", "24")),
        # The lobby display's idle screen (nobody called or served) still lists the calls
        # made in the last this many minutes: a resident who looked away finds their number.
        "DISPLAY_RECENT_MINUTES": int(os.environ.get("DISPLAY_RECENT_MINUTES", "15")),
        # The kiosk's pages after the start page go back to it after this long untouched,
        # so the next resident does not find the last one's ticket or questions.
        "KIOSK_RETURN_SECONDS": int(os.environ.get("KIOSK_RETURN_SECONDS", "60")),
        # A kiosk without a printer (a tablet) shows the ticket and prints nothing by itself.
        "KIOSK_PRINT_ON_LOAD": _bool("KIOSK_PRINT_ON_LOAD", True),
        "SESSION_COOKIE_SAMESITE": "Lax",
        # A response sends the session cookie only when the session changed. Sent with
        # every response, a request that left with an older cookie (a favicon, a stream
        # reconnecting) would put back what a newer one changed, such as the language.
        # Devices renew their long session once a day instead (queueing.access).
        "SESSION_REFRESH_EACH_REQUEST": False,
        "SESSION_COOKIE_SECURE": _bool("SESSION_COOKIE_SECURE", False),
        "WTF_CSRF_TIME_LIMIT": None,
        # An office file in four languages (Ukrainian in Cyrillic, two bytes a letter) is
        # about 36 KiB for the largest demo office: room to grow, and nothing larger.
        "MAX_CONTENT_LENGTH": 128 * 1024,
        "BABEL_DEFAULT_LOCALE": "pl",
        "LANGUAGES": ["pl", "cs", "en", "uk"],
        # The feature packages, registered in this order: the floor builds on booking.
        "FEATURES": ("booking", "queueing", "admin", "reports"),
    }
