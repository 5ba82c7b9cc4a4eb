"""Counter time held back for walk-ins: the one rule availability, booking and the kiosk follow.

An office (and a service, overriding it) keeps ``walk_in_share`` per cent of each day's
cells off the online calendar, for residents who come without an appointment, as Czech
town halls do.

Which cells: the earliest of each day, a block from opening time on. Town halls keep
their mornings for walk-ins, and residents know to come early; a block also leaves
appointments in one piece later in the day, where every k-th cell spread over the day
would cut every longer visit in two and leave holes nobody can book. The count is the
share of the day's whole cells (inside its opening hours, closures cut out), rounded up:
never less than asked, and any share above 0 keeps at least one cell.

Plain functions over plain data (``slots.Schedule``), so the calendar, the server's
check of a posted time and the kiosk's estimate cannot disagree.
"""

from __future__ import annotations

from datetime import date, datetime

from flask_babel import lazy_gettext as _l

from .models import Office, Service
from .refusals import NotBookable
from .slots import EPOCH, Schedule, opening_intervals


class HeldForWalkIns(NotBookable):
    """A start in the time held back, posted though the calendar never offered it."""

    message = _l(
        "This time is kept for residents who come without an appointment. "
        "Please choose a later time."
    )


def share_of(office: Office, service: Service) -> int:
    """The per cent held back for ``service``: its own, else its office's."""
    own = service.walk_in_share
    return office.walk_in_share if own is None else own


def day_cells(schedule: Schedule, day: date) -> list[int]:
    """The numbers (``slots.cell_index``) of the whole grid cells the office is open on
    ``day``, in order."""
    step = schedule.step
    return [
        index
        for opens, closes in opening_intervals(schedule, day)
        for index in range(-((EPOCH - opens) // step), (closes - EPOCH) // step)
    ]


def held_back_count(cells: int, share: int) -> int:
    """How many of a day's ``cells`` ``share`` per cent holds back: rounded up."""
    return -(-cells * share // 100)


def held_back(schedule: Schedule, day: date, share: int) -> list[int]:
    """The cells of ``day`` kept for walk-ins: the first ``held_back_count`` of them."""
    if share <= 0:
        return []
    cells = day_cells(schedule, day)
    return cells[: held_back_count(len(cells), share)]


def first_bookable_cell(schedule: Schedule, day: date, share: int) -> int | None:
    """The lowest cell number a visit on ``day`` may start at; None: no limit (nothing held).

    Held-back cells are the day's first ones, so a start inside the opening hours holds
    none of them exactly when it comes after the last."""
    held = held_back(schedule, day, share)
    return held[-1] + 1 if held else None


def is_held_back(schedule: Schedule, day: date, start: datetime, share: int) -> bool:
    """Whether a visit starting at ``start`` (a candidate start of ``day``) would take
    time kept for walk-ins."""
    first = first_bookable_cell(schedule, day, share)
    return first is not None and start < EPOCH + first * schedule.step
