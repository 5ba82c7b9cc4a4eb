"""Signing a kiosk or a lobby display in to its office by its secret link."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, redirect, url_for

from okienko.transaction import unit_of_work

from .access import sign_in_device
from .models import DeviceKind

bp = Blueprint("devices", __name__)


@bp.get("/device/<token>")
def sign_in(token: str) -> Any:
    if len(token) > 64:
        abort(404)
    with unit_of_work():
        device = sign_in_device(token)
    if device is None:
        abort(404)
    target = "kiosk.home" if device.kind == DeviceKind.KIOSK else "display.page"
    return redirect(url_for(target))
