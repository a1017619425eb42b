"""HQ: the review queue. Submitted visits wait here until an HQ reviewer releases them
(they then count and reach the store's managers) or returns them to the evaluator."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import HiddenField, TextAreaField
from wtforms.validators import DataRequired, Length

from .. import audit, integrity, item_types
from .. import visits as visit_service
from ..extensions import db
from ..inputs import StorableText
from ..models import Answer, Visit
from ..models.visit import VISIT_KINDS
from ..permissions import Cap, requires
from . import bp


class ReleaseForm(FlaskForm):
    """Only the CSRF token: releasing needs no input."""


class RejectForm(FlaskForm):
    reason = TextAreaField(
        _l("Reason for rejecting"),
        id="reject-reason",  # the return form's reason is on the same page
        validators=[
            DataRequired(message=_l("Say why the visit is rejected: the evaluator is told.")),
            Length(max=2000),
            StorableText(),
        ],
    )


class CorrectForm(FlaskForm):
    """A corrected text (a typo fixed, words redacted): ``field`` names the text."""

    field = HiddenField(validators=[DataRequired()])
    text = TextAreaField(_l("Corrected text"), validators=[Length(max=4000), StorableText()])


class VoidForm(FlaskForm):
    answer_id = HiddenField(validators=[DataRequired()])


class ReturnForm(FlaskForm):
    reason = TextAreaField(
        _l("Reason for returning"),
        validators=[
            DataRequired(message=_l("Say what the evaluator must correct.")),
            Length(max=2000),
            StorableText(),
        ],
    )


@bp.route("/review")
@requires(Cap.REVIEW_VISITS)
def review_queue():
    kind = request.args.get("kind", "")
    if kind not in VISIT_KINDS:
        kind = ""
    flag = request.args.get("flag", "")
    if flag not in integrity.CHECKS:
        flag = ""
    queue = integrity.review_queue(kind or None, flag or None)
    reasons = integrity.reasons_by_visit([v.id for v in queue])
    return render_template("hq/review_queue.html", queue=queue, kind=kind, kinds=VISIT_KINDS,
                           flag=flag, checks=integrity.CHECKS.values(), reasons=reasons)



def _render_detail(visit: Visit, return_form: ReturnForm | None = None, status: int = 200,
                   reject_form: RejectForm | None = None):
    answers = {a.item_id: a for a in visit.answers}
    sections = []
    for dimension in visit.questionnaire.dimensions:
        # an item the visit did not ask (its condition, or an instruction) is left out
        rows: list[tuple] = [
            (item, answers.get(item.id)) for item in dimension.items
            if item.id in answers or (item_types.of(item).asked and not item.condition
                                      and not dimension.condition)]
        sections.append((dimension, rows))
    dim_scores = {ds.dimension: ds.score for ds in visit.dimension_scores}
    photos_by_item: dict[int | None, list] = {}
    for photo in visit.photos:
        photos_by_item.setdefault(photo.item_id, []).append(photo)
    failed = sum(1 for a in visit.answers if isinstance(a, Answer) and a.failed)
    critical_failed = sum(
        1 for a in visit.answers if isinstance(a, Answer) and a.item.critical and a.failed
    )
    history = audit.history("visit", visit.id)
    return (
        render_template(
            "hq/visit_detail.html",
            visit=visit,
            sections=sections,
            dim_scores=dim_scores,
            photos_by_item=photos_by_item,
            failed=failed,
            critical_failed=critical_failed,
            history=history,
            integrity=integrity.panel(visit),
            release_form=ReleaseForm(),
            return_form=return_form or ReturnForm(formdata=None),
            reject_form=reject_form or RejectForm(formdata=None),
            correct_form=CorrectForm(formdata=None),
            void_form=VoidForm(formdata=None),
            tz=visit.store.timezone if visit.store else (
                visit.competitor.timezone if visit.competitor else None),
        ),
        status,
    )


@bp.route("/visits/<int:visit_id>")
@requires(Cap.REVIEW_VISITS)
def visit_detail(visit_id: int):
    return _render_detail(db.get_or_404(Visit, visit_id))


@bp.post("/visits/<int:visit_id>/release")
@requires(Cap.REVIEW_VISITS)
def visit_release(visit_id: int):
    visit = db.get_or_404(Visit, visit_id)
    form = ReleaseForm()
    if not form.validate_on_submit():
        flash(_("The form expired; please try again."), "error")
        return redirect(url_for("hq.visit_detail", visit_id=visit.id))
    try:
        visit_service.release(visit, current_user)
    except visit_service.TransitionError as error:
        db.session.rollback()
        flash(str(error), "error")
        return redirect(url_for("hq.visit_detail", visit_id=visit.id), code=303)
    db.session.commit()
    flash(_("Visit %(id)s released: it now counts and the store can see it.", id=visit.id),
          "success")
    return redirect(url_for("hq.review_queue"), code=303)


@bp.post("/visits/<int:visit_id>/return")
@requires(Cap.REVIEW_VISITS)
def visit_return(visit_id: int):
    visit = db.get_or_404(Visit, visit_id)
    form = ReturnForm()
    if not form.validate_on_submit():
        return _render_detail(visit, form, 400)
    try:
        visit_service.return_to_evaluator(visit, current_user, form.reason.data)
    except visit_service.TransitionError as error:
        db.session.rollback()
        flash(str(error), "error")
        return _render_detail(visit, form, 409)
    db.session.commit()
    flash(_("Visit %(id)s returned to the evaluator.", id=visit.id), "success")
    return redirect(url_for("hq.review_queue"), code=303)


@bp.post("/visits/<int:visit_id>/reject")
@requires(Cap.REVIEW_VISITS)
def visit_reject(visit_id: int):
    visit = db.get_or_404(Visit, visit_id)
    form = RejectForm()
    if not form.validate_on_submit():
        return _render_detail(visit, status=400, reject_form=form)
    try:
        visit_service.reject(visit, current_user, form.reason.data)
    except visit_service.TransitionError as error:
        db.session.rollback()
        flash(str(error), "error")
        return _render_detail(visit, status=409, reject_form=form)
    db.session.commit()
    flash(_("Visit %(id)s rejected: it will not count; the evaluator sees why.", id=visit.id),
          "success")
    return redirect(url_for("hq.review_queue"), code=303)


@bp.post("/visits/<int:visit_id>/correct")
@requires(Cap.REVIEW_VISITS)
def visit_correct(visit_id: int):
    """Correct a typo in a fact or comment, or redact words from it, before release."""
    visit = db.get_or_404(Visit, visit_id)
    form = CorrectForm()
    if not form.validate_on_submit():
        flash(_("The corrected text was not saved: %(why)s",
                why=" ".join(e for errs in form.errors.values() for e in errs)), "error")
        return redirect(url_for("hq.visit_detail", visit_id=visit.id), code=303)
    try:
        visit_service.correct_text(visit, current_user, form.field.data, form.text.data or "")
    except visit_service.TransitionError as error:
        db.session.rollback()
        flash(str(error), "error")
        return redirect(url_for("hq.visit_detail", visit_id=visit.id), code=303)
    db.session.commit()
    flash(_("Text corrected; the change is in the audit trail."), "success")
    return redirect(url_for("hq.visit_detail", visit_id=visit.id), code=303)


@bp.post("/visits/<int:visit_id>/void")
@requires(Cap.REVIEW_VISITS)
def visit_void(visit_id: int):
    """Void an item before release: it is scored as N/A and the visit re-scored."""
    visit = db.get_or_404(Visit, visit_id)
    form = VoidForm()
    if not form.validate_on_submit():
        flash(_("The form expired; please try again."), "error")
        return redirect(url_for("hq.visit_detail", visit_id=visit.id), code=303)
    try:
        visit_service.void_item(visit, current_user, form.answer_id.data)
    except visit_service.TransitionError as error:
        db.session.rollback()
        flash(str(error), "error")
        return redirect(url_for("hq.visit_detail", visit_id=visit.id), code=303)
    db.session.commit()
    flash(_("Item voided: it is scored as N/A and the visit was re-scored."), "success")
    return redirect(url_for("hq.visit_detail", visit_id=visit.id), code=303)
