"""The office file: download it, and upload an edited one. The rules are in
``admin/transfer.py``."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired

from booking.exporter import export_office
from booking.importer import OfficeConfigError
from booking.models import Office
from okienko.database import utcnow
from okienko.transaction import unit_of_work

from .. import transfer
from ..access import admin_required, managed_office, staff
from ..changes import Affected, lock_office
from ..forms import AdminForm
from .blueprint import bp, section

section("admin.transfer_page", _l("Import and export"), 90)

PART_LABELS = {
    "office": _l("office settings"),
    "regime": _l("sanitary regime settings"),
    "questions": _l("admission questions"),
    "departments": _l("departments"),
    "services": _l("services"),
    "counters": _l("counters"),
    "hours": _l("opening hours"),
    "closures": _l("closures"),
}


class ImportForm(AdminForm):
    office_file = FileField(
        _l("Office file (TOML)"),
        validators=[FileRequired(_l("Please choose the office file to upload."))],
    )


def _page(
    office: Office,
    form: ImportForm | None = None,
    error: str | None = None,
    detail: str | None = None,
    lost: list[Affected] | None = None,
    status: int = 200,
) -> tuple[str, int]:
    return render_template(
        "admin/transfer.html",
        office=office,
        form=form or ImportForm(formdata=None),
        error=error,
        detail=detail,
        lost=lost or [],
        limit_kib=current_app.config["MAX_CONTENT_LENGTH"] // 1024,
    ), status


@bp.get("/o/<slug>/transfer")
@admin_required()
def transfer_page(slug: str) -> Any:
    return _page(managed_office(slug))


@bp.get("/o/<slug>/transfer/export.toml")
@admin_required()
def transfer_export(slug: str) -> Any:
    office = managed_office(slug)
    return Response(
        export_office(office),
        mimetype="application/toml",
        headers={"Content-Disposition": f'attachment; filename="{office.slug}.toml"'},
    )


@bp.post("/o/<slug>/transfer/import")
@admin_required()
def transfer_import(slug: str) -> Any:
    office = managed_office(slug)
    form = ImportForm()
    if not form.validate_on_submit():
        return _page(office, form, status=422)
    upload = form.office_file.data
    try:
        data = transfer.read_office_file(upload.read(), office.slug)
        with unit_of_work() as session:
            lock_office(session, office)
            counts = transfer.import_office(
                session, utcnow(), staff(), office, data, upload.filename or None
            )
    except transfer.FileRefused as exc:
        return _page(office, form, error=str(exc.message), detail=exc.detail, status=422)
    except OfficeConfigError as exc:
        # The importer's words are English (it serves the command line too): shown as they
        # are, below a sentence in the reader's language.
        message = _(
            "Something in the file is missing or wrong. Correct it where the details below "
            "say, and upload the file again."
        )
        return _page(office, form, error=message, detail=str(exc), status=422)
    except transfer.LeavesBookings as exc:
        return _page(office, form, lost=exc.lost, status=409)
    changed = [f"{PART_LABELS[part]}: {n}" for part, n in counts.items() if n]
    if changed:
        flash(
            _("The office file is imported. Changed: %(list)s.", list=", ".join(changed)), "success"
        )
    else:
        flash(_("The office file is imported. It changed nothing."), "success")
    return redirect(url_for(".transfer_page", slug=slug))
