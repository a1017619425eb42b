"""HQ: programme settings — scoring weights, hotline deductions, bands, windows.

Scoring settings go through ``settings.save_scoring_config`` (validated by
``ScoringConfig.validate``; audit-trail row); the others through ``settings.save_setting``.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from .. import settings as app_settings
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
    }
    form = SettingsForm(data=data)
    if form.validate_on_submit():
        new = ScoringConfig(
            component_weights={"MS": form.w_ms.data, "QA": form.w_qa.data,
                               "HL": form.w_hl.data},
            hotline_deductions={"minor": form.d_minor.data, "major": form.d_major.data,
                                "critical": form.d_critical.data},
            quick_resolution_hours=form.quick_hours.data,
            quick_resolution_factor=form.quick_factor.data,
            bands=((form.band_excellent.data, "excellent"), (form.band_good.data, "good"),
                   (form.band_fair.data, "fair")),
        )
        try:
            if new != config:
                app_settings.save_scoring_config(new, current_user.id)
            if form.dispute_window_days.data != data["dispute_window_days"]:
                app_settings.save_setting(
                    "disputes", {"window_days": form.dispute_window_days.data}, current_user.id
                )
            if form.complaint_overdue_hours.data != data["complaint_overdue_hours"]:
                app_settings.save_setting(
                    "complaints", {"overdue_hours": form.complaint_overdue_hours.data},
                    current_user.id,
                )
        except ScoringError as error:
            db.session.rollback()
            form.w_ms.errors.append(str(error))
        else:
            db.session.commit()
            flash(_("Settings saved. From now on every month's figures, past months included, "
                    "are computed with them."), "success")
            return redirect(url_for("hq.settings"))
    return render_template(
        "hq/settings/index.html", form=form, defaults=_form_data(DEFAULTS),
        default_other={"dispute_window_days": app_settings.DEFAULTS["disputes"]["window_days"],
                       "complaint_overdue_hours":
                           app_settings.DEFAULTS["complaints"]["overdue_hours"]},
    ), (422 if form.errors else 200)
