"""HQ: programme settings — scoring weights, hotline deductions, bands, windows.

Scoring settings go through ``settings.save_scoring_config`` (validated by
``ScoringConfig.validate``; audit-trail row); the others through ``settings.save_setting``.
Each change is a version in force from a month (the first open month at the earliest);
"Preview the effect" shows the latest open month under the draft (``whatif.preview``)
without saving.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from .. import settings as app_settings
from .. import whatif
from ..analytics import Period, PeriodError
from ..extensions import db
from ..permissions import Cap, requires
from ..scoring import ScoringConfig, ScoringError
from . import bp
from .forms import SettingsForm

DEFAULTS = ScoringConfig()


def _form_data(config: ScoringConfig) -> dict:
    bands = dict((code, bound) for bound, code in config.bands)
    return {
        "w_ms": config.component_weights["MS"], "w_qa": config.component_weights["QA"],
        "w_hl": config.component_weights["HL"],
        "d_minor": config.hotline_deductions["minor"],
        "d_major": config.hotline_deductions["major"],
        "d_critical": config.hotline_deductions["critical"],
        "quick_hours": config.quick_resolution_hours,
        "quick_factor": config.quick_resolution_factor,
        "band_excellent": bands.get("excellent"), "band_good": bands.get("good"),
        "band_fair": bands.get("fair"),
    }


@bp.route("/settings", methods=["GET", "POST"])
@requires(Cap.MANAGE_SETTINGS)
def settings():
    config = app_settings.scoring_config()
    data = {
        **_form_data(config),
        "dispute_window_days": app_settings.get_setting("disputes")["window_days"],
        "complaint_overdue_hours": app_settings.get_setting("complaints")["overdue_hours"],
        **app_settings.get_setting("privacy"),
    }
    form = SettingsForm(data=data)
    first_open = app_settings.first_open_month()
    preview = None
    if form.validate_on_submit():
        effective_from = (form.effective_from.data or "").strip() or None
        if effective_from is not None:
            try:
                effective_from = Period.month(effective_from).label
            except PeriodError as error:
                form.effective_from.errors = [*form.effective_from.errors, str(error)]
        new = ScoringConfig(
            component_weights={"MS": form.w_ms.data, "QA": form.w_qa.data,
                               "HL": form.w_hl.data},
            hotline_deductions={"minor": form.d_minor.data, "major": form.d_major.data,
                                "critical": form.d_critical.data},
            quick_resolution_hours=form.quick_hours.data,
            quick_resolution_factor=form.quick_factor.data,
            bands=((form.band_excellent.data, "excellent"), (form.band_good.data, "good"),
                   (form.band_fair.data, "fair")),
            rs_weight=config.rs_weight,  # c_RS is set on the scenarios page
        )
        try:
            if form.effective_from.errors:
                pass
            elif form.preview.data:  # nothing is saved
                new.validate()
                preview = whatif.preview(new)
            else:
                _save(form, new, config, data, effective_from)
        except ScoringError as error:
            db.session.rollback()
            form.w_ms.errors.append(str(error))
        except app_settings.SettingsError as error:
            db.session.rollback()
            form.effective_from.errors = [*form.effective_from.errors, str(error)]
        else:
            if preview is None and not form.effective_from.errors:
                db.session.commit()
                flash(_("Settings saved, in force from %(month)s. Closed months keep the "
                        "settings they were closed with.",
                        month=effective_from or first_open or _("the first month")), "success")
                return redirect(url_for("hq.settings"))
    return render_template(
        "hq/settings/index.html", form=form, defaults=_form_data(DEFAULTS),
        preview=preview, first_open=first_open,
        versions=app_settings.versions(app_settings.SCORING_KEY),
        default_other={"dispute_window_days": app_settings.DEFAULTS["disputes"]["window_days"],
                       "complaint_overdue_hours":
                           app_settings.DEFAULTS["complaints"]["overdue_hours"],
                       **app_settings.DEFAULTS["privacy"]},
    ), (422 if form.errors else 200)


def _save(form: SettingsForm, new: ScoringConfig, config: ScoringConfig, data: dict,
          effective_from: str | None) -> None:
    """Store each changed setting as a version in force from ``effective_from``."""
    if new != config:
        app_settings.save_scoring_config(new, current_user.id, effective_from)
    if form.dispute_window_days.data != data["dispute_window_days"]:
        app_settings.save_setting(
            "disputes", {"window_days": form.dispute_window_days.data}, current_user.id,
            effective_from,
        )
    if form.complaint_overdue_hours.data != data["complaint_overdue_hours"]:
        app_settings.save_setting(
            "complaints", {"overdue_hours": form.complaint_overdue_hours.data},
            current_user.id, effective_from,
        )
    # who may learn when a store was visited: a rule for what is shown from now on, not a
    # figure of a month, so it has no "in force from"
    privacy = {"exact_times": bool(form.exact_times.data),
               "release_delay_hours": data["release_delay_hours"]
               if form.release_delay_hours.data is None
               else form.release_delay_hours.data}
    if privacy != app_settings.get_setting("privacy"):
        app_settings.save_setting("privacy", privacy, current_user.id)
