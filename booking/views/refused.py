"""The page for a resident who may not come in: where to turn, and the next steps."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import render_template

from okienko.database import utcnow

from .. import admission
from ..availability import local_today
from ..forms import ConfirmForm
from ..models import Booking, Office, Service


def refused_page(
    office: Office,
    service: Service,
    start: datetime,
    booking: Booking | None = None,
    token: str | None = None,
    form: Any = None,
    typed_phone: str | None = None,
    phone_error: str | None = None,
) -> tuple[str, int]:
    """Shown for a declaration refused while booking, and for a refused booking's link.

    A phone consultation is offered while the visit's time lasts; ``typed_phone`` is
    the number sent for one, shown again with the page and ``phone_error`` if it was wrong.
    """
    now = utcnow()
    rebook_day = (
        local_today(office, admission.rebook_from(booking))
        if booking is not None
        else local_today(office, now)
        + timedelta(days=office.admission.rebook_after_days if office.admission else 0)
    )
    return render_template(
        "booking/refused.html",
        office=office,
        service=service,
        start=start,
        booking=booking,
        token=token,
        form=form,
        phone_form=ConfirmForm(),
        typed_phone=typed_phone,
        phone_error=phone_error,
        rebook_day=rebook_day,
        can_phone=start + timedelta(minutes=service.duration_minutes) > now,
        now=now,
    ), 403
