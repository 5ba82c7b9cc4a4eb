"""What the administration does when other features announce something."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy.orm import Session

from booking.offices import require_office
from okienko.database import utcnow
from queueing.cli import DEMO_PASSWORD
from queueing.models import Role
from queueing.signals import demo_loaded
from queueing.staff import upsert_staff

from . import second_factor

# Demo managers and the administrator: (user name, full name, role, home office, offices
# they run). The administrator's second factor is enrolled afresh by every `flask demo`.
DEMO_MANAGERS = [
    (
        "kierownik",
        "Małgorzata Kowalska",
        Role.MANAGER,
        "bytom-zielna",
        ("bytom-zielna", "bytom-armii-krajowej"),
    ),
    (
        "vedouci",
        "Lenka Horáková",
        Role.MANAGER,
        "plzen-kontaktni-misto",
        ("plzen-kontaktni-misto",),
    ),
    ("admin", "Alex Admin", Role.ADMINISTRATOR, "bytom-zielna", ()),
]


@demo_loaded.connect
def demo_managers(app: Flask, *, session: Session, **_: Any) -> list[str]:
    """The demo managers and administrator, with the administrator's new TOTP secret and one
    of their recovery codes; returns the lines ``flask demo`` prints about them."""
    base = app.config["PUBLIC_URL"].rstrip("/")
    lines = [
        f"\nAdministration: {base}/admin/  (sign in as one of these; password {DEMO_PASSWORD})"
    ]
    for username, name, role, home, runs in DEMO_MANAGERS:
        user = upsert_staff(require_office(session, home), username, name, DEMO_PASSWORD)
        user.role = role
        user.managed_offices = [require_office(session, slug) for slug in runs]
        offices = ", ".join(office.name for office in user.managed_offices)
        lines.append(f"  {username:<10} {role.value}: {offices or 'every office, the accounts'}")
        if role == Role.ADMINISTRATOR:
            secret = second_factor.new_secret()
            user.totp_secret, user.totp_enabled_at, user.totp_last_step = secret, utcnow(), None
            session.flush()
            code = second_factor.new_recovery_codes(session, user)[0]
            lines += [
                f"  {username}'s second factor: add the key {secret} to an authenticator app",
                f"  (FreeOTP, Aegis, ...), or sign in once with the recovery code {code}",
            ]
    return lines
