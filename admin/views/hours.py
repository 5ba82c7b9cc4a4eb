"""Opening hours: the office's sets of hours, a week editor, its preview, saving.

Editing runs in steps, each a POST of the same form: "Add an interval"/"Remove" (without
JavaScript; ``static/js/hours.js`` does them in the page), "Preview" (the new week drawn,
nothing saved), "Save" (through ``admin/changes.py``: booked visits the new hours leave
out are shown first, to be moved or cancelled).
"""

from __future__ import annotations

import itertools
from datetime import date, time
from typing import Any

from babel.dates import format_date
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response
from wtforms import DateField, FieldList, FormField, StringField
from wtforms.validators import Optional

from booking.availability import local_today
from booking.models import Office
from booking.slots import END_OF_DAY, parse_clock
from okienko.database import utcnow
from okienko.i18n import date_locale

from ..access import admin_required, managed_office, staff
from ..changes import NeedsDecision, affected_page, change_office
from ..forms import AdminForm, AdminSubform, strip
from ..hours import (
    DAY_KEYS,
    WEEK,
    HoursSet,
    Interval,
    delete_set,
    hours_sets,
    in_force,
    overlapping,
    save_set,
    set_of,
)
from .blueprint import bp, section

section("admin.hours", _l("Opening hours"), 30)

# The buttons of the editor; a post names one of them.
STEPS = ("add", "remove", "preview", "save", "edit")
MAX_ROWS = 12  # intervals a day (static/js/hours.js knows it too)


class HoursChanged(Exception):
    """Another manager changed the hours meanwhile: the set is gone, or another overlaps."""


class IntervalForm(AdminSubform):
    opens = StringField(_l("Opens"), filters=[strip])
    closes = StringField(_l("Closes"), filters=[strip])


def _day() -> FieldList:
    return FieldList(FormField(IntervalForm), min_entries=1, max_entries=MAX_ROWS)


def on_grid(at: time, grid: int) -> bool:
    return at == END_OF_DAY or not (at.hour * 60 + at.minute) % grid


class HoursForm(AdminForm):
    valid_from = DateField(_l("Valid from"), validators=[Optional()])
    valid_to = DateField(_l("Valid until"), validators=[Optional()])
    mon, tue, wed, thu, fri, sat, sun = (_day() for _ in range(7))

    def __init__(self, office: Office, hours_id: int | None, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.office = office
        self.hours_id = hours_id
        self.week_errors: list[str] = []
        self.parsed: dict[int, list[Interval]] = {}

    def days(self) -> list[tuple[int, FieldList]]:
        return [(weekday, self[DAY_KEYS[weekday]]) for weekday in WEEK]

    def validate(self, extra_validators: Any = None) -> bool:
        ok = super().validate(extra_validators)
        grid = self.office.slot_minutes
        self.parsed = {}
        for weekday, rows in self.days():
            intervals: list[tuple[Interval, Any]] = []
            for row in rows:
                opens_text, closes_text = row.opens.data or "", row.closes.data or ""
                if not opens_text and not closes_text:
                    continue
                opens = parse_clock(opens_text) if opens_text else None
                closes = parse_clock(closes_text, end=True) if closes_text else None
                if not opens_text or not closes_text:
                    field = row.opens if not opens_text else row.closes
                    field.errors = [_("Give both the opening and the closing time.")]
                elif opens is None or closes is None:
                    field = row.opens if opens is None else row.closes
                    field.errors = [_("Give a time like 08:30.")]
                elif opens >= closes:
                    row.closes.errors = [_("The closing time must be after the opening time.")]
                elif off_grid := [t for t in (opens, closes) if not on_grid(t, grid)]:
                    field = row.opens if off_grid[0] == opens else row.closes
                    field.errors = [
                        _(
                            "Use the office's grid of %(num)d minutes (e.g. 08:00, 08:%(num)02d).",
                            num=grid,
                        )
                    ]
                else:
                    intervals.append((Interval(opens, closes), row))
                    continue
                ok = False
            intervals.sort(key=lambda pair: pair[0].minutes())
            for (before, _row), (after, row) in itertools.pairwise(intervals):
                if after.minutes()[0] < before.minutes()[1]:
                    row.opens.errors = [
                        _("This overlaps the interval %(interval)s.", interval=before.text())
                    ]
                    ok = False
            self.parsed[weekday] = [interval for interval, _row in intervals]
        if ok and not any(self.parsed.values()):
            self.week_errors = [
                _("Give at least one interval. To close the office, add a closure.")
            ]
            ok = False
        first, last = self.valid_from.data, self.valid_to.data
        if first and last and first > last:
            self.valid_to.errors = [_("This date is before the first day.")]
            ok = False
        elif not self.valid_from.errors and not self.valid_to.errors:
            other = overlapping(self.office, first, last, self.hours_id)
            if other is not None:
                self.valid_from.errors = [
                    _(
                        "These dates overlap the hours valid %(dates)s. Hours of two sets are "
                        "never combined: change the dates of one of them first.",
                        dates=validity(other),
                    )
                ]
                ok = False
        return ok

    def hours_set(self) -> HoursSet:
        return HoursSet(self.valid_from.data, self.valid_to.data, self.parsed)


def validity(hours: HoursSet) -> str:
    """When a set applies, in words."""
    locale = date_locale()
    first = format_date(hours.valid_from, "long", locale=locale) if hours.valid_from else None
    last = format_date(hours.valid_to, "long", locale=locale) if hours.valid_to else None
    if first and last:
        return _("from %(first)s to %(last)s", first=first, last=last)
    if first:
        return _("from %(first)s on", first=first)
    if last:
        return _("until %(last)s", last=last)
    return _("at all times")


def filled(office: Office, hours_id: int | None, old: HoursSet | None) -> HoursForm:
    """The editor, from the post if there is one, else from the set (a blank week if new)."""
    if request.method == "POST":
        form = HoursForm(office, hours_id)
    else:
        form = HoursForm(office, hours_id, formdata=None)
        if old is not None:
            form.valid_from.data, form.valid_to.data = old.valid_from, old.valid_to
            for weekday, rows in form.days():
                intervals = old.week.get(weekday, ())
                while len(rows) < len(intervals):
                    rows.append_entry()
                for row, interval in zip(rows, intervals, strict=False):
                    row.opens.data, row.closes.data = interval.form_times()
    for _weekday, rows in form.days():  # a blank row to type into
        last = rows.entries[-1] if rows.entries else None
        if last and (last.opens.data or last.closes.data) and len(rows) < MAX_ROWS:
            rows.append_entry()
    return form


def _add_or_remove(form: HoursForm) -> None:
    """The editor's own buttons, for browsers without JavaScript."""
    add, remove = request.form.get("add"), request.form.get("remove", "")
    for weekday, rows in form.days():
        key = DAY_KEYS[weekday]
        if add == key and len(rows.entries) < MAX_ROWS:
            rows.append_entry()
        if remove.startswith(key + "-"):
            kept = [row for row in rows.entries if row.name != remove]
            rows.entries = kept or rows.entries[:1]
            if not kept:
                rows.entries[0].opens.data = rows.entries[0].closes.data = ""


def _editor(
    office: Office,
    form: HoursForm,
    old: HoursSet | None,
    status: int = 200,
    action: str | None = None,
) -> Any:
    return render_template(
        "admin/hours_edit.html",
        office=office,
        form=form,
        old=old,
        action=action or request.path,
        validity=validity,
        day_names=day_names(),
    ), status


def day_names() -> list[str]:
    monday = date(2024, 1, 1)
    return [format_date(monday.replace(day=1 + d), "EEEE", locale=date_locale()) for d in WEEK]


@bp.get("/o/<slug>/hours")
@admin_required()
def hours(slug: str) -> Any:
    office = managed_office(slug)
    today = local_today(office, utcnow())  # the office's date, not the server's
    sets = hours_sets(office)
    return render_template(
        "admin/hours.html",
        office=office,
        sets=sets,
        today=today,
        current=in_force(sets, today),
        validity=validity,
        day_names=day_names(),
    )


@bp.route("/o/<slug>/hours/new", methods=["GET", "POST"])
@admin_required()
def hours_new(slug: str) -> Any:
    return _edit(managed_office(slug), None)


@bp.route("/o/<slug>/hours/<int:hours_id>", methods=["GET", "POST"])
@admin_required()
def hours_edit(slug: str, hours_id: int) -> Any:
    office = managed_office(slug)
    return _edit(office, hours_id)


def _edit(office: Office, hours_id: int | None) -> Any:
    old = set_of(office, hours_id) if hours_id is not None else None
    if hours_id is not None and old is None:
        abort(404)
    form = filled(office, hours_id, old)
    if request.method == "GET":
        return _editor(office, form, old)
    step = next((s for s in STEPS if s in request.form), "preview")
    if step in ("add", "remove", "edit"):
        if step != "edit":
            _add_or_remove(form)
        return _editor(office, form, old)
    if not form.validate_on_submit():
        return _editor(office, form, old, 422)
    new = form.hours_set()
    if step == "preview":
        return render_template(
            "admin/hours_preview.html",
            office=office,
            form=form,
            old=old,
            new=new,
            validity=validity,
            day_names=day_names(),
            action=request.path,
        )
    return _save(office, hours_id, form, new)


def _save(office: Office, hours_id: int | None, form: HoursForm, new: HoursSet) -> Any:
    actor, now = staff(), utcnow()

    def apply(session: Any) -> HoursSet:
        # Read again under the office's lock: another manager may have saved meanwhile.
        old = set_of(office, hours_id) if hours_id is not None else None
        if hours_id is not None and old is None:
            raise HoursChanged()  # saved or deleted by someone else since the page was read
        if overlapping(office, new.valid_from, new.valid_to, hours_id) is not None:
            raise HoursChanged()
        return save_set(session, office, old, new, actor, now)

    try:
        change_office(office, apply, now)
    except NeedsDecision as needed:
        return affected_page(
            office,
            needed,
            what=_("New opening hours, valid %(dates)s.", dates=validity(new)),
            back=url_for("admin.hours", slug=office.slug),
        )
    except HoursChanged:
        form.validate()  # names the set that now overlaps, if one does
        form.week_errors.append(
            _("Someone else changed the opening hours meanwhile. Check them, then save again.")
        )
        # The set may be gone: what was typed can still be saved, as a new set.
        gone = hours_id is not None and set_of(office, hours_id) is None
        action = url_for("admin.hours_new", slug=office.slug) if gone else None
        return _editor(office, form, None, 409, action)
    flash(_("The opening hours are saved."), "success")
    return redirect(url_for("admin.hours", slug=office.slug))


@bp.post("/o/<slug>/hours/<int:hours_id>/delete")
@admin_required()
def hours_delete(slug: str, hours_id: int) -> Response | Any:
    """First the question (a page with the set drawn), then, posted with ``confirm``, the
    deletion, through the affected bookings."""
    office = managed_office(slug)
    doomed = set_of(office, hours_id)
    if doomed is None:
        abort(404)
    if request.form.get("confirm") != "1":
        return render_template(
            "admin/hours_delete.html",
            office=office,
            doomed=doomed,
            hours_id=hours_id,
            validity=validity,
            day_names=day_names(),
        )
    actor, now = staff(), utcnow()

    def apply(session: Any) -> None:
        old = set_of(office, hours_id)
        if old is None:
            abort(404)
        delete_set(session, office, old, actor, now)

    try:
        change_office(office, apply, now)
    except NeedsDecision as needed:
        return affected_page(
            office,
            needed,
            what=_("These opening hours are deleted."),
            back=url_for("admin.hours", slug=office.slug),
        )
    flash(_("The opening hours are deleted."), "success")
    return redirect(url_for("admin.hours", slug=office.slug))
