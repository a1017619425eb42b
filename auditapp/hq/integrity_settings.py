"""HQ: the thresholds of the integrity checks and the weight of each flag in the risk
score (``auditapp/integrity.py``; defaults in docs/INTEGRITY.md)."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import IntegerField, SubmitField
from wtforms.validators import InputRequired, NumberRange

from .. import integrity
from ..extensions import db
from ..permissions import Cap, requires
from . import bp

#: Each threshold: its label and the values it may take.
THRESHOLD_FIELDS = {
    "min_visit_minutes": (_l("Shortest plausible visit (minutes from check-in to "
                             "submission)"), 0, 600),
    "photo_max_distance_m": (_l("Photo taken at most this far from the store (m)"), 10,
                             100_000),
    "timer_tolerance_s": (_l("Timer answer may differ from its recorded events by (s)"),
                          0, 600),
    "photo_hash_distance": (_l("Photos are the same picture up to this many differing "
                               "hash bits (of 64)"), 0, 32),
    "comment_similarity": (_l("Comments are copied from this similarity (of 100)"), 50, 100),
    "comment_min_chars": (_l("Compare comments from this length (characters)"), 1, 4000),
    "straight_line_min_items": (_l("Same-answer check from this many rating questions"), 2,
                                100),
}


def _form_class() -> type[FlaskForm]:
    class IntegrityForm(FlaskForm):
        submit = SubmitField(_l("Save"))

    for key, (text, low, high) in THRESHOLD_FIELDS.items():
        setattr(IntegrityForm, key, IntegerField(text, validators=[
            InputRequired(_l("Enter a whole number.")),
            NumberRange(low, high, _l("Between %(min)s and %(max)s."))]))
    for code, check in integrity.CHECKS.items():
        setattr(IntegrityForm, f"w_{code}", IntegerField(check.label, validators=[
            InputRequired(_l("Enter a whole number.")),
            NumberRange(0, 100, _l("Between %(min)s and %(max)s."))]))
    return IntegrityForm


@bp.route("/settings/integrity", methods=["GET", "POST"])
@requires(Cap.MANAGE_SETTINGS)
def integrity_settings():
    current = integrity.config()
    data = {**{k: current[k] for k in THRESHOLD_FIELDS},
            **{f"w_{c}": w for c, w in current["weights"].items()}}
    form = _form_class()(data=data)
    if form.validate_on_submit():
        integrity.save_config({k: form[k].data for k in THRESHOLD_FIELDS},
                              {c: form[f"w_{c}"].data for c in integrity.CHECKS},
                              current_user.id)
        db.session.commit()
        flash(_("Integrity settings saved. They apply to visits submitted from now on; "
                "the weights also reorder the review queue now."), "success")
        return redirect(url_for("hq.integrity_settings"))
    return render_template(
        "hq/settings/integrity.html", form=form, thresholds=list(THRESHOLD_FIELDS),
        checks=list(integrity.CHECKS.values()), defaults=integrity.THRESHOLDS,
    ), (422 if form.errors else 200)
