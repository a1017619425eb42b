"""Managers: coaching on missed complaint-handling steps of scenario shops (issue #24) and
completing automatic corrective actions (issue #17 item 6)."""

from __future__ import annotations

from datetime import date

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from .. import corrective, followup, params, scenarios, storage
from ..extensions import db
from ..inputs import StorableText
from ..models import CorrectiveAction
from ..models.followup import ACTION_OPEN, SOURCE_AUTO
from ..permissions import Cap, requires
from . import bp
from .routes import _my_store, _my_visit


class CompleteForm(FlaskForm):
    root_cause = TextAreaField(_l("Root cause"), validators=[
        DataRequired(_l("Describe the root cause.")), Length(max=2000), StorableText()])
    done_note = TextAreaField(_l("What was done"), validators=[
        DataRequired(_l("Describe what was done.")), Length(max=2000), StorableText()])
    evidence = FileField(_l("Evidence photo (JPEG, PNG or WebP)"))


class StepActionForm(FlaskForm):
    action = TextAreaField(_l("Training or action"), validators=[Length(max=2000),
                                                                  StorableText()])
    owner = StringField(_l("Owner"), validators=[Length(max=120), StorableText()])


@bp.route("/stores/<int:store_id>/scenario-actions", methods=["POST"])
@requires(Cap.FOLLOW_UP)
def scenario_action(store_id: int):
    store = _my_store(store_id)
    period, _text, _error = params.month_for_page()
    form = StepActionForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        step = int(request.form.get("step", ""))
    except ValueError:
        step = 0
    try:
        due = date.fromisoformat(request.form.get("due_date", ""))
    except ValueError:
        due = None
    try:
        scenarios.add_step_action(store, period, step, form.action.data, form.owner.data,
                                  due, current_user)
    except scenarios.ScenarioError as error:
        db.session.rollback()
        flash(str(error), "error")
    else:
        db.session.commit()
        flash(_("Corrective action recorded."), "success")
    return redirect(url_for(".store", store_id=store.id, month=period.label,
                            _anchor="recovery"))


def _my_action(action_id: int) -> CorrectiveAction:
    row = db.session.get(CorrectiveAction, action_id)
    if row is None:
        abort(404)
    _my_visit(row.visit_id)
    return row


@bp.route("/actions/<int:action_id>/complete", methods=["GET", "POST"])
@requires(Cap.FOLLOW_UP)
def action_complete(action_id: int):
    row = _my_action(action_id)
    form = CompleteForm()
    error = None
    can_complete = row.source == SOURCE_AUTO and row.status == ACTION_OPEN
    if request.method == "POST" and not can_complete:
        error = _("Only an open action opened automatically is completed here.")
    elif request.method == "POST" and form.validate_on_submit():
        upload = form.evidence.data
        data = upload.read() if upload else None
        try:
            corrective.complete(row, current_user, form.root_cause.data, form.done_note.data,
                                data)
        except followup.FollowupError as exc:
            db.session.rollback()
            error = str(exc)
            if exc.field and hasattr(form, exc.field):
                getattr(form, exc.field).errors = [str(exc)]
        else:
            db.session.commit()
            flash(_("Action marked done. HQ will verify it."), "success")
            return redirect(url_for(".actions"))
    status = 400 if request.method == "POST" else 200
    return render_template("manager/action_complete.html", row=row, form=form,
                           page_error=error, evidence=corrective.item_evidence(row),
                           can_complete=can_complete), status


@bp.route("/actions/<int:action_id>/evidence")
@requires(Cap.VIEW_STORE_RESULTS)
def action_evidence(action_id: int):
    row = _my_action(action_id)
    if not row.evidence_key:
        abort(404)
    return storage.send(row.evidence_key, followup.evidence_mimetype(row.evidence_key))

