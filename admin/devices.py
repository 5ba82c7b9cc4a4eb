"""An office's kiosks and lobby displays: their sign-in links, shown once as a QR code to
scan on the device, a new link for one, and revoking one.

Only a hash of a link's token is stored (``queueing.access``). A new link, or revoking,
replaces the hash, so the old link opens nothing and browsers signed in with it are
refused (their session is bound to the hash); a revoked device is refused outright.
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from booking.models import Office
from okienko.tokens import hash_token, new_token
from queueing.access import new_device
from queueing.cli import device_link
from queueing.models import Device, DeviceKind, StaffUser

from .audit import record

KIND_LABELS = {DeviceKind.KIOSK: _l("Kiosk"), DeviceKind.DISPLAY: _l("Lobby display")}


class DeviceRefused(ValueError):
    """A device change that cannot be made; ``field`` names the form field."""

    def __init__(self, field: str, message: LazyString) -> None:
        super().__init__(str(message))
        self.field = field
        self.message = message


def create_device(
    session: Session, now: datetime, actor: StaffUser, office: Office, kind: DeviceKind, name: str
) -> tuple[Device, str]:
    """A new kiosk or display and its sign-in link (to show once: only its hash is kept).

    Names are unique among an office's working devices of a kind, as ``flask devices
    create`` finds a device by its name.
    """
    taken = exists().where(
        Device.office_id == office.id,
        Device.kind == kind,
        Device.name == name,
        Device.revoked_at.is_(None),
    )
    if session.scalar(select(taken)):
        raise DeviceRefused("name", _l("A device of this kind has this name already."))
    device, token = new_device(office.id, kind, name)
    device.created_at = now
    session.flush()
    record(
        session,
        now,
        actor,
        "create",
        "device",
        device.id,
        office_id=office.id,
        after={"kind": kind, "name": name},
    )
    return device, device_link(token)


def replace_link(
    session: Session, now: datetime, actor: StaffUser, office: Office, device: Device
) -> str:
    """A new sign-in link for ``device``: the old one, and browsers signed in with it, stop."""
    if device.revoked_at is not None:
        raise DeviceRefused("device", _l("This device is revoked. Add a new one instead."))
    token = new_token()
    device.token_hash = hash_token(token)
    record(
        session,
        now,
        actor,
        "new_link",
        "device",
        device.id,
        office_id=office.id,
        after={"kind": device.kind, "name": device.name},
    )
    return device_link(token)


def revoke(
    session: Session, now: datetime, actor: StaffUser, office: Office, device: Device
) -> bool:
    """Stop the device for good; False if it was revoked already."""
    if device.revoked_at is not None:
        return False
    device.revoked_at = now
    # A hash of a token nobody has: the link opens nothing from now on.
    device.token_hash = hash_token(new_token())
    record(
        session,
        now,
        actor,
        "revoke",
        "device",
        device.id,
        office_id=office.id,
        before={"revoked_at": None},
        after={"kind": device.kind, "name": device.name, "revoked_at": now},
    )
    return True
