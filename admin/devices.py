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
    session: Session,
    now: datetime,
    actor: StaffUser,
    office: Office,
    kind: DeviceKind,
    name: str,
    shows: tuple[list[int], list[int]] = ([], []),
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
    if kind == DeviceKind.DISPLAY:
        device.shown_service_ids, device.shown_counter_ids = checked_shows(office, *shows)
    session.flush()
    record(
        session,
        now,
        actor,
        "create",
        "device",
        device.id,
        office_id=office.id,
        after={"kind": kind, "name": name} | (shows_of(device) if any(shows) else {}),
    )
    return device, device_link(token)


def shows_of(device: Device) -> dict[str, list[int]]:
    return {"services": device.shown_service_ids, "counters": device.shown_counter_ids}


def checked_shows(
    office: Office, service_ids: list[int], counter_ids: list[int]
) -> tuple[list[int], list[int]]:
    """The chosen services and counters, sorted; all must be the office's own."""
    services = {s.id for s in office.services}
    counters = {c.id for c in office.counters if c.retired_at is None}
    if not set(service_ids) <= services:
        raise DeviceRefused("services", _l("Choose services of this office."))
    if not set(counter_ids) <= counters:
        raise DeviceRefused("counters", _l("Choose counters of this office."))
    return sorted(set(service_ids)), sorted(set(counter_ids))


def set_shows(
    session: Session,
    now: datetime,
    actor: StaffUser,
    office: Office,
    device: Device,
    service_ids: list[int],
    counter_ids: list[int],
) -> None:
    """What a lobby display shows: only these services and counters (none: all of them)."""
    if device.kind != DeviceKind.DISPLAY or device.revoked_at is not None:
        raise DeviceRefused("device", _l("Only a working lobby display shows a choice."))
    before = shows_of(device)
    device.shown_service_ids, device.shown_counter_ids = checked_shows(
        office, service_ids, counter_ids
    )
    record(
        session,
        now,
        actor,
        "update",
        "device",
        device.id,
        office_id=office.id,
        before=before,
        after=shows_of(device),
    )


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
