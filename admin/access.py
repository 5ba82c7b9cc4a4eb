"""Who may open which administration page: the role, then the office.

Every ``/admin/`` view is wrapped by ``admin_required`` (the role) and, when it is about
one office, takes that office from ``managed_office`` (the office in the URL) and every
record from ``owned`` (the record in the URL or the form, looked up within that office).
A manager of one office therefore gets 403 for another's URL and 404 for another's id.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

from flask import abort, current_app, flash, g, redirect, request, session, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user, logout_user
from sqlalchemy import select
from sqlalchemy.orm import Session

from booking.models import Office
from okienko.database import Model, db, utcnow
from queueing.models import Role, StaffUser

M = TypeVar("M", bound=Model)

# Requests a page makes by itself (the live report following the floor) are not the
# person at work: they do not keep an idle session alive.
PASSIVE_ENDPOINTS = {"reports.today_figures", "reports.today_stream"}

# Views that an administrator without a second factor may still open: enrolling one.
SECOND_FACTOR_EXEMPT = "_second_factor_exempt"


def staff() -> StaffUser:
    return current_user  # flask_login is untyped: the signed-in StaffUser


def offices_of(session: Session, user: StaffUser) -> list[Office]:
    """The offices ``user`` administers: all for an administrator, their own for a manager."""
    if user.role == Role.ADMINISTRATOR:
        return list(session.scalars(select(Office).order_by(Office.name)))
    if user.role == Role.MANAGER:
        return list(user.managed_offices)
    return []


def can_manage(user: StaffUser, office: Office) -> bool:
    if user.role == Role.ADMINISTRATOR:
        return True
    return user.role == Role.MANAGER and any(o.id == office.id for o in user.managed_offices)


def needs_second_factor(user: StaffUser) -> bool:
    """Administrators must have a second factor; they may use nothing else until they do."""
    return user.role == Role.ADMINISTRATOR and user.totp_enabled_at is None


def admin_required(role: Role = Role.MANAGER) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The page is for a signed-in person of at least ``role``; kiosks and displays never."""

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if session.get("device_id") is not None:
                abort(403)
            if not current_user.is_authenticated:
                return redirect(url_for("staff.login", next=request.path))
            user = staff()
            if not user.at_least(role):
                abort(403)
            if needs_second_factor(user) and not getattr(view, SECOND_FACTOR_EXEMPT, False):
                flash(_l("Set up the second factor before you continue."), "error")
                return redirect(url_for("admin.second_factor"))
            g.staff = user
            return view(*args, **kwargs)

        wrapper.admin_role = role  # type: ignore[attr-defined]  # read by the role matrix test
        return wrapper

    return decorator


def second_factor_exempt(view: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a view an administrator may open before enrolling a second factor."""
    setattr(view, SECOND_FACTOR_EXEMPT, True)
    return view


def managed_office(slug: str) -> Office:
    """The office named in the URL, if the signed-in person administers it: else 404/403."""
    office = db.session.scalar(select(Office).where(Office.slug == slug))
    if office is None:
        abort(404)
    if not can_manage(staff(), office):
        abort(403)
    g.office = office
    return office


def owned(session: Session, model: type[M], record_id: int | None, office: Office) -> M:
    """Row ``record_id`` of ``model`` if it belongs to ``office``; else 404, whatever was posted."""
    row = session.get(model, record_id) if record_id is not None else None
    if row is None or getattr(row, "office_id", None) != office.id:
        abort(404)
    return row


def expire_idle_sessions() -> Any:
    """Sign out staff after a spell without requests: ``STAFF_IDLE_MINUTES`` for managers and
    administrators, ``CLERK_IDLE_MINUTES`` for clerks (a counter page is open all day).

    Runs before every request. A kiosk or a display has no staff login, so it is untouched.
    """
    if session.get("device_id") is not None or not current_user.is_authenticated:
        return None
    user = staff()
    minutes = current_app.config[
        "CLERK_IDLE_MINUTES" if user.role == Role.CLERK else "STAFF_IDLE_MINUTES"
    ]
    now = utcnow().timestamp()
    seen = session.get("seen")
    if isinstance(seen, int | float) and now - seen > timedelta(minutes=minutes).total_seconds():
        logout_user()
        session.clear()
        flash(_l("You were signed out after a time without activity."), "error")
        return redirect(url_for("staff.login", next=request.path))
    if request.endpoint in PASSIVE_ENDPOINTS:
        return None
    if not isinstance(seen, int | float) or now - seen >= 60:  # not a new cookie every request
        session["seen"] = int(now)
    return None
