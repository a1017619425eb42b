"""HQ: scenario shops (issue #24) — the scenarios (versioned), the share of visits that
carries one, the recovery score's BDI weight c_RS, and the automatic corrective actions'
settings (issue #17 item 6). Also the template helpers the scenario partials use."""

from __future__ import annotations

from dataclasses import replace

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length
from wtforms.widgets import CheckboxInput, ListWidget

from .. import corrective, followup, params, scenarios, settings, storage
from ..analytics import Period
from ..extensions import db
from ..followup import FollowupError
from ..i18n import VISIT_TYPE_LABELS
from ..models import CorrectiveAction, Scenario
from ..models.followup import SOURCE_AUTO
from ..models.scenario import SCENARIO_ACTIVE
from ..permissions import Cap, requires
from ..scoring import VISIT_TYPES, ScoringError
from . import bp


class ScenarioForm(FlaskForm):
    code = StringField(_l("Code"), validators=[Length(max=40)])
    title = StringField(_l("Title (English)"), validators=[DataRequired(), Length(max=200)])
    title_zh = StringField(_l("Title (Chinese)"), validators=[Length(max=200)])
    script = TextAreaField(_l("Script for the shopper (English)"), validators=[DataRequired()])
    script_zh = TextAreaField(_l("Script for the shopper (Chinese)"))
    visit_types = SelectMultipleField(
        _l("Visit types it fits"), option_widget=CheckboxInput(),
        widget=ListWidget(prefix_label=False))


class SettingsForm(FlaskForm):
    """Buttons and plain fields only (CSRF)."""


def _form() -> ScenarioForm:
    form = ScenarioForm()
    form.visit_types.choices = [(t, str(VISIT_TYPE_LABELS[t])) for t in VISIT_TYPES]
    return form


def _page(form: ScenarioForm, status: int = 200, editing: Scenario | None = None):
    return render_template(
        "hq/scenarios.html", form=form, editing=editing, rows=scenarios.all_scenarios(),
        share=scenarios.share(), rs_weight=settings.scoring_config().rs_weight,
        ca=corrective.config(), settings_form=SettingsForm(),
        first_open=settings.first_open_month() or "",
        share_versions=settings.versions(scenarios.SETTING_KEY)[:5],
    ), status


@bp.route("/scenarios", methods=["GET", "POST"])
@requires(Cap.MANAGE_QUESTIONNAIRES)
def scenarios_page():
    form = _form()
    if request.method == "POST":
        if not form.validate_on_submit():
            return _page(form, 400)
        try:
            row = scenarios.create_scenario(form.data, current_user.id)
        except scenarios.ScenarioError as error:
            form.title.errors = [*form.title.errors, str(error)]
            return _page(form, 400)
        db.session.commit()
        flash(_("Scenario %(code)s saved.", code=row.code), "success")
        return redirect(url_for(".scenarios_page"))
    return _page(form)


@bp.route("/scenarios/<int:scenario_id>", methods=["GET", "POST"])
@requires(Cap.MANAGE_QUESTIONNAIRES)
def scenario_edit(scenario_id: int):
    scenario = db.get_or_404(Scenario, scenario_id)
    form = _form()
    if request.method == "GET":
        form.process(obj=scenario)
        form.visit_types.data = list(scenario.visit_types or [])
        return _page(form, editing=scenario)
    if not form.validate_on_submit():
        return _page(form, 400, scenario)
    try:
        row = scenarios.update_scenario(scenario, form.data, current_user.id)
    except scenarios.ScenarioError as error:
        form.title.errors = [*form.title.errors, str(error)]
        return _page(form, 400, scenario)
    db.session.commit()
    flash(_("Scenario %(code)s is now version %(version)s; visits already given the "
            "earlier version keep it.", code=row.code, version=row.version), "success")
    return redirect(url_for(".scenarios_page"))


@bp.route("/scenarios/<int:scenario_id>/retire", methods=["POST"])
@requires(Cap.MANAGE_QUESTIONNAIRES)
def scenario_retire(scenario_id: int):
    scenario = db.get_or_404(Scenario, scenario_id)
    if SettingsForm().validate_on_submit() and scenario.status == SCENARIO_ACTIVE:
        scenarios.retire_scenario(scenario, current_user.id)
        db.session.commit()
        flash(_("Scenario %(code)s retired: it is no longer given to new visits.",
                code=scenario.code), "success")
    return redirect(url_for(".scenarios_page"))


@bp.route("/scenarios/settings", methods=["POST"])
@requires(Cap.MANAGE_SETTINGS)
def scenario_settings():
    if not SettingsForm().validate_on_submit():
        flash(_("Your session has expired. Reload the page and try again."), "error")
        return redirect(url_for(".scenarios_page"))
    month = (request.form.get("effective_from") or "").strip() or None
    try:
        if month is not None:
            Period.month(month)
        what = request.form.get("what")
        if what == "share":
            scenarios.save_share(request.form.get("share"), current_user.id, month)
        elif what == "rs_weight":
            try:
                weight = float(str(request.form.get("rs_weight", "")).replace(",", "."))
            except ValueError:
                raise scenarios.ScenarioError(_("The weight must be a number ≥ 0.")) from None
            config = replace(settings.scoring_config(month), rs_weight=weight)
            settings.save_scoring_config(config, current_user.id, month)
        elif what == "actions":
            corrective.save_config(request.form.get("auto") == "1",
                                   request.form.get("due_days"),
                                   request.form.get("dimension_threshold"),
                                   current_user.id, month)
        else:
            raise scenarios.ScenarioError(_("Nothing to save."))
    except (scenarios.ScenarioError, settings.SettingsError, FollowupError, ScoringError,
            ValueError) as error:
        db.session.rollback()
        flash(str(error), "error")
        return redirect(url_for(".scenarios_page"))
    db.session.commit()
    flash(_("Settings saved."), "success")
    return redirect(url_for(".scenarios_page"))


@bp.route("/scenarios/recovery")
@requires(Cap.VIEW_CHAIN)
def recovery_ranking():
    """The recovery-score ranking of every store (rolling three months), with n."""
    period, month_value, month_error = params.month_for_page()
    return render_template(
        "hq/recovery.html", period=period, month_value=month_value, month_error=month_error,
        stores=scenarios.store_recovery(period), regions=scenarios.region_recovery(period),
        brand=scenarios.brand_recovery(period), steps=scenarios.step_figures(period),
        window=scenarios.rs_window(period))


@bp.route("/actions/<int:action_id>/evidence")
@requires(Cap.DECIDE_FOLLOW_UP)
def action_evidence(action_id: int):
    """The evidence photo a manager attached to mark an automatic action done."""
    row = db.get_or_404(CorrectiveAction, action_id)
    if not row.evidence_key:
        abort(404)
    return storage.send(row.evidence_key, followup.evidence_mimetype(row.evidence_key))


# --- template helpers (the partials call these; views stay as they were) -------------------


@bp.app_template_global()
def scenario_of(visit):
    """The visit's scenario assignment (None for a plain shop)."""
    return scenarios.scenario_for(visit) if visit is not None and visit.id else None


@bp.app_template_global()
def scenario_form_state(visit, state):
    return scenarios.form_state(visit, state)


@bp.app_template_global()
def recovery_figures(period, store_ids=None):
    """RS figures for a page or PDF: the stores', the brand's and the steps."""
    if period is None:
        return None
    ids = list(store_ids) if store_ids is not None else None
    return {"stores": scenarios.store_recovery(period, ids),
            "brand": scenarios.brand_recovery(period),
            "regions": scenarios.region_recovery(period) if ids is None else [],
            "steps": scenarios.step_figures(period, ids),
            "window": scenarios.rs_window(period)}


@bp.app_template_global()
def scenario_step_actions(store_id):
    return scenarios.step_actions(store_id)


@bp.app_template_global()
def action_text(act, with_item: bool = True) -> str:
    """What an action is about, in the reader's language: an automatic action names its
    failed critical item (or its dimension), the others show what the manager wrote."""
    from flask_babel import gettext

    from ..i18n import DIMENSION_LABELS, label, loc

    if act.source == SOURCE_AUTO and act.dimension:
        return gettext("%(dimension)s scored below the threshold",
                       dimension=label(DIMENSION_LABELS, act.dimension))
    if act.source == SOURCE_AUTO and act.answer is not None:
        if not with_item:
            return gettext("Failed critical item")
        return gettext("Failed critical item: %(item)s", item=loc(act.answer.item, "text"))
    return act.action


@bp.app_template_global()
def scenario_steps():
    return [(n, code, scenarios.STEP_LABELS[code], scenarios.STEP_MEANINGS[code])
            for n, code in enumerate(scenarios.STEPS, start=1)]
