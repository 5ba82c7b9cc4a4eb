"""Who may open which floor page: staff by password, kiosks and displays by device link.

Staff log in with Flask-Login. A kiosk or a display is signed in once by a
secret link (token from ``secrets``, stored hashed) and then holds only a
device id in its session: it never becomes a staff user, so it cannot reach
counter or admin pages, and staff pages refuse it.
"""

from __future__ import annotations

import functools
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from flask import abort, g, redirect, request, session, url_for
from flask_login import LoginManager, current_user
from sqlalchemy import or_, select, update
from werkzeug.security import check_password_hash, generate_password_hash

from okienko.database import db, may_write, utcnow, writing
from okienko.tokens import hash_token, new_token

from .models import Device, DeviceKind, StaffUser

login_manager = LoginManager()
# The sign-in page of all staff belongs to the administration (admin/views/signin.py),
# which sets ``login_view`` when it registers.


def row_id(text: str) -> int | None:
    """A database id from a form or cookie: ASCII digits within the INTEGER range, else None."""
    if text.isascii() and text.isdigit() and len(text) <= 9:
        return int(text)
    return None


@login_manager.user_loader
def load_user(user_id: str) -> StaffUser | None:
    """The user of a session; None once their session key changed (a new password)."""
    kind, _, rest = user_id.partition(":")
    raw, _, key = rest.partition(":")
    staff_id = row_id(raw) if kind == "staff" else None
    user = db.session.get(StaffUser, staff_id) if staff_id else None
    if user is None or not secrets.compare_digest(user.session_key, key):
        return None
    return user


def hash_password(password: str) -> str:
    return generate_password_hash(password)  # scrypt, salted


# Checked for unknown names, so a wrong name costs what a wrong password costs.
UNKNOWN_USER_HASH = generate_password_hash("not-a-user")


def authenticate(username: str, password: str) -> StaffUser | None:
    user = db.session.scalar(select(StaffUser).where(StaffUser.username == username))
    stored = user.password_hash if user else UNKNOWN_USER_HASH
    if check_password_hash(stored, password) and user is not None and user.active:
        return user
    return None


def new_device(office_id: int, kind: DeviceKind, name: str) -> tuple[Device, str]:
    """A device and its sign-in token (shown once)."""
    token = new_token()
    device = Device(office_id=office_id, kind=kind, name=name, token_hash=hash_token(token))
    db.session.add(device)
    return device, token


def sign_in_device(token: str) -> Device | None:
    """Sign this browser in as the device whose link holds ``token``; None for a revoked one."""
    device = db.session.scalar(
        select(Device).where(Device.token_hash == hash_token(token), Device.revoked_at.is_(None))
    )
    if device is not None:
        session.clear()
        session["device_id"] = device.id
        # Bound to this link: a new link for the device signs out browsers using the old.
        session["device_key"] = device.token_hash[:16]
        # A kiosk starts in its office's language; each resident may switch.
        session["lang"] = device.office.language
        session["renewed"] = utcnow().date().isoformat()
        session.permanent = True
    return device


def current_device() -> Device | None:
    device_id = session.get("device_id")
    device = db.session.get(Device, device_id) if isinstance(device_id, int) else None
    if device is None or session.get("device_key") != device.token_hash[:16]:
        return None
    return device


SEEN_EVERY = timedelta(minutes=1)


def note_seen(device: Device, now: datetime) -> None:
    """Record that ``device`` made a request, at most once a minute (for the admin's list).

    The time already loaded decides whether to write at all, and a conditional UPDATE
    keeps two requests from writing twice. A request that writes anyway carries it in
    its own unit of work. A reading one (on SQLite its transaction cannot write) ends
    its read transaction, which changed nothing, and writes in a short one of its own
    on the same connection: a thousand displays connecting at once never hold two
    connections each.
    """
    if device.last_seen_at is not None and now - device.last_seen_at < SEEN_EVERY:
        return
    stale = or_(Device.last_seen_at.is_(None), Device.last_seen_at <= now - SEEN_EVERY)
    statement = (
        update(Device)
        .where(Device.id == device.id, stale)
        .values(last_seen_at=now)
        .execution_options(synchronize_session=False)
    )
    if may_write():
        db.session.execute(statement)
        return
    db.session.commit()
    with writing():
        db.session.execute(statement)
        db.session.commit()


def renew_signin(now: datetime) -> None:
    """Push a device's sign-in expiry forward, once a day: a kiosk or a display runs for
    months, and the session cookie is sent again only when the session changes.

    The renewing response writes back the cookie its request came with; a request that
    left before a language switch could still undo it, but only on the day's first one,
    at night for most offices (UTC days).
    """
    today = now.date().isoformat()
    if session.get("renewed") != today:
        session["renewed"] = today


def device_required(kind: DeviceKind) -> Callable[..., Any]:
    """The page is for a signed-in device of ``kind``; ``g.device`` is set."""

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            device = current_device()
            if device is None or device.kind != kind or device.revoked_at is not None:
                abort(403)
            g.device = device
            now = utcnow()
            note_seen(device, now)
            renew_signin(now)
            return view(*args, **kwargs)

        return wrapper

    return decorator


def staff_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """The page is for a logged-in clerk; devices are refused even if a link is shared."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if session.get("device_id") is not None:
            abort(403)
        if not current_user.is_authenticated:
            return redirect(url_for(login_manager.login_view, next=request.path))
        return view(*args, **kwargs)

    return wrapper
