"""The sanitary regime editor: the regime's days, its questions, notices and the directory
of departments and branch offices. The rules are in ``admin/regime.py``."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from booking.models import AdmissionQuestion, Department, Office
from okienko.database import db, utcnow
from okienko.transaction import unit_of_work

from .. import regime as rules
from ..access import admin_required, managed_office, owned, staff
from ..changes import lock_office
from .blueprint import bp, section
from .regime_forms import (
    ConfirmRemoveForm,
    DepartmentForm,
    MoveForm,
    NoticesForm,
    QuestionForm,
    RegimeForm,
)

section("admin.regime", _l("Sanitary regime"), 70)


def _regime_page(
    office: Office,
    regime_form: RegimeForm | None = None,
    notices_form: NoticesForm | None = None,
    status: int = 200,
) -> tuple[str, int]:
    """The regime's page; a form sent with mistakes comes back as it was typed."""
    policy = office.admission
    if regime_form is None:
        regime_form = RegimeForm(formdata=None)
        regime_form.enabled.data = bool(policy and policy.enabled)
        regime_form.first_day.data = policy.first_day if policy else None
        regime_form.last_day.data = policy.last_day if policy else None
        regime_form.link_hours_before.data = policy.link_hours_before if policy else 24
        regime_form.rebook_after_days.data = policy.rebook_after_days if policy else 7
    if notices_form is None:
        notices_form = NoticesForm(formdata=None)
        notices_form.fill(policy.notices if policy else {})
    used_by = {d.id: rules.services_using(office, d) for d in office.departments}
    return render_template(
        "admin/regime.html",
        office=office,
        policy=policy,
        regime_form=regime_form,
        notices_form=notices_form,
        used_by=used_by,
        move_form=MoveForm(formdata=None),
    ), status


@bp.route("/o/<slug>/regime", methods=["GET", "POST"])
@admin_required()
def regime(slug: str) -> Any:
    office = managed_office(slug)
    if request.method == "GET":
        return _regime_page(office)
    form = RegimeForm()
    if not form.validate_on_submit():
        return _regime_page(office, regime_form=form, status=422)
    with unit_of_work() as session:
        lock_office(session, office)
        rules.set_regime(session, utcnow(), staff(), office, form.regime())
    flash(_("The sanitary regime is saved."), "success")
    return redirect(url_for(".regime", slug=slug))


@bp.post("/o/<slug>/regime/notices")
@admin_required()
def regime_notices(slug: str) -> Any:
    office = managed_office(slug)
    form = NoticesForm()
    if not form.validate_on_submit():
        return _regime_page(office, notices_form=form, status=422)
    with unit_of_work() as session:
        lock_office(session, office)
        rules.set_notices(session, utcnow(), staff(), office, form.notices())
    flash(_("The notices are saved."), "success")
    return redirect(url_for(".regime", slug=slug, _anchor="notices"))


def _question_page(
    office: Office, form: QuestionForm, question: AdmissionQuestion | None, status: int = 200
) -> tuple[str, int]:
    return render_template(
        "admin/regime_question.html", office=office, form=form, question=question
    ), status


@bp.route("/o/<slug>/regime/questions/new", methods=["GET", "POST"])
@admin_required()
def regime_question_new(slug: str) -> Any:
    office = managed_office(slug)
    form = QuestionForm()
    if request.method == "GET":
        form.refuse_on.data = "yes"
        return _question_page(office, form, None)
    if not form.validate_on_submit():
        return _question_page(office, form, None, 422)
    with unit_of_work() as session:
        lock_office(session, office)
        rules.add_question(
            session, utcnow(), staff(), office, form.texts(), form.refuse_on.data == "yes"
        )
    flash(_("The question is added."), "success")
    return redirect(url_for(".regime", slug=slug, _anchor="questions"))


@bp.route("/o/<slug>/regime/questions/<int:question_id>", methods=["GET", "POST"])
@admin_required()
def regime_question(slug: str, question_id: int) -> Any:
    office = managed_office(slug)
    question = owned(db.session(), AdmissionQuestion, question_id, office)
    form = QuestionForm()
    if request.method == "GET":
        form.fill(question)
        return _question_page(office, form, question)
    if not form.validate_on_submit():
        return _question_page(office, form, question, 422)
    with unit_of_work() as session:
        lock_office(session, office)
        question = owned(session, AdmissionQuestion, question_id, office)
        rules.update_question(
            session, utcnow(), staff(), question, form.texts(), form.refuse_on.data == "yes"
        )
    flash(_("The question is saved."), "success")
    return redirect(url_for(".regime", slug=slug, _anchor="questions"))


@bp.post("/o/<slug>/regime/questions/<int:question_id>/move")
@admin_required()
def regime_question_move(slug: str, question_id: int) -> Any:
    office = managed_office(slug)
    owned(db.session(), AdmissionQuestion, question_id, office)
    form = MoveForm()
    if not form.validate_on_submit():
        abort(400)
    with unit_of_work() as session:
        lock_office(session, office)
        question = owned(session, AdmissionQuestion, question_id, office)
        step = -1 if form.direction.data == "up" else 1
        rules.move(
            session,
            utcnow(),
            staff(),
            office,
            office.questions,
            question,
            step,
            "admission_question",
        )
    return redirect(url_for(".regime", slug=slug, _anchor=f"question-{question_id}"))


@bp.route("/o/<slug>/regime/questions/<int:question_id>/delete", methods=["GET", "POST"])
@admin_required()
def regime_question_delete(slug: str, question_id: int) -> Any:
    office = managed_office(slug)
    question = owned(db.session(), AdmissionQuestion, question_id, office)
    form = ConfirmRemoveForm()
    last = len(office.questions) <= 1
    if request.method == "POST" and not last:
        if not form.validate_on_submit():
            abort(400)
        with unit_of_work() as session:
            lock_office(session, office)
            question = owned(session, AdmissionQuestion, question_id, office)
            try:
                rules.remove_question(session, utcnow(), staff(), office, question)
            except rules.LastQuestion:
                last = True
        if not last:
            flash(_("The question is removed."), "success")
            return redirect(url_for(".regime", slug=slug, _anchor="questions"))
    status = 409 if request.method == "POST" else 200
    return render_template(
        "admin/regime_remove.html",
        office=office,
        what="question",
        question=question,
        last=last,
        form=form,
    ), status


def _department_page(
    office: Office, form: DepartmentForm, department: Department | None, status: int = 200
) -> tuple[str, int]:
    return render_template(
        "admin/regime_department.html",
        office=office,
        form=form,
        department=department,
        used_by=rules.services_using(office, department) if department else [],
    ), status


@bp.route("/o/<slug>/regime/departments/new", methods=["GET", "POST"])
@admin_required()
def regime_department_new(slug: str) -> Any:
    office = managed_office(slug)
    form = DepartmentForm(region=office.country)
    if request.method == "GET":
        return _department_page(office, form, None)
    if form.validate_on_submit():
        try:
            with unit_of_work() as session:
                lock_office(session, office)
                rules.add_department(session, utcnow(), staff(), office, form.data_of())
        except rules.KeyTaken:
            form.key.errors = [_("Another department of this office has this short name.")]
        else:
            flash(_("The department is added."), "success")
            return redirect(url_for(".regime", slug=slug, _anchor="departments"))
    return _department_page(office, form, None, 422)


@bp.route("/o/<slug>/regime/departments/<int:department_id>", methods=["GET", "POST"])
@admin_required()
def regime_department(slug: str, department_id: int) -> Any:
    office = managed_office(slug)
    department = owned(db.session(), Department, department_id, office)
    form = DepartmentForm(region=office.country)
    if request.method == "GET":
        form.fill(department)
        return _department_page(office, form, department)
    if form.validate_on_submit():
        try:
            with unit_of_work() as session:
                lock_office(session, office)
                department = owned(session, Department, department_id, office)
                rules.update_department(
                    session, utcnow(), staff(), office, department, form.data_of()
                )
        except rules.KeyTaken:
            form.key.errors = [_("Another department of this office has this short name.")]
            department = owned(db.session(), Department, department_id, office)
        else:
            flash(_("The department is saved."), "success")
            return redirect(url_for(".regime", slug=slug, _anchor="departments"))
    return _department_page(office, form, department, 422)


@bp.post("/o/<slug>/regime/departments/<int:department_id>/move")
@admin_required()
def regime_department_move(slug: str, department_id: int) -> Any:
    office = managed_office(slug)
    owned(db.session(), Department, department_id, office)
    form = MoveForm()
    if not form.validate_on_submit():
        abort(400)
    with unit_of_work() as session:
        lock_office(session, office)
        department = owned(session, Department, department_id, office)
        step = -1 if form.direction.data == "up" else 1
        rules.move(
            session, utcnow(), staff(), office, office.departments, department, step, "department"
        )
    return redirect(url_for(".regime", slug=slug, _anchor=f"department-{department_id}"))


@bp.route("/o/<slug>/regime/departments/<int:department_id>/delete", methods=["GET", "POST"])
@admin_required()
def regime_department_delete(slug: str, department_id: int) -> Any:
    office = managed_office(slug)
    department = owned(db.session(), Department, department_id, office)
    form = ConfirmRemoveForm()
    using = rules.services_using(office, department)
    if request.method == "POST" and not using:
        if not form.validate_on_submit():
            abort(400)
        try:
            with unit_of_work() as session:
                lock_office(session, office)
                department = owned(session, Department, department_id, office)
                rules.remove_department(session, utcnow(), staff(), office, department)
        except rules.InUse as exc:
            using = exc.services
            department = owned(db.session(), Department, department_id, office)
        else:
            flash(_("The department is removed."), "success")
            return redirect(url_for(".regime", slug=slug, _anchor="departments"))
    status = 409 if request.method == "POST" else 200
    return render_template(
        "admin/regime_remove.html",
        office=office,
        what="department",
        department=department,
        using=using,
        form=form,
    ), status
