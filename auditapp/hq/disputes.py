"""HQ: managers' disputes of released visits — uphold (correct or void the item, re-score)
or reject, with a note (issue #5). The rules live in ``auditapp.followup``."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import FloatField, RadioField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from .. import followup, item_types
from ..extensions import db
from ..inputs import StorableText
from ..models import Dispute
from ..models.followup import DISPUTE_OPEN
from ..permissions import Cap, requires
from . import bp


class DecisionForm(FlaskForm):
    decision = RadioField(
        _l("Decision"),
        choices=[SelectChoice("uphold", _l("Uphold")), SelectChoice("reject", _l("Reject"))],
        validators=[InputRequired(_l("Choose uphold or reject."))],
    )
    corrected_value = FloatField(
        _l("Corrected value (leave empty to void the item)"), validators=[Optional()]
    )
    note = TextAreaField(
        _l("Note to the store"),
        validators=[DataRequired(_l("Write a note explaining the decision.")), Length(max=4000),
                    StorableText()],
    )


def _choices(item) -> list[tuple[str, str]]:
    return item_types.of(item).dispute_choices(item)


def _render(forms: dict[int, DecisionForm] | None = None, status: int = 200):
    rows = followup.open_disputes()
    decided = followup.decided_disputes()
    forms = forms or {}
    for row in rows:
        forms.setdefault(row.id, DecisionForm(formdata=None, prefix=f"x{row.id}"))
    return render_template(
        "hq/disputes.html", rows=rows, decided=decided, forms=forms, choices=_choices,
        deadline=followup.dispute_deadline,
    ), status


@bp.route("/disputes")
@requires(Cap.DECIDE_FOLLOW_UP)
def disputes():
    return _render()


@bp.route("/disputes/<int:dispute_id>/decide", methods=["POST"])
@requires(Cap.DECIDE_FOLLOW_UP)
def decide_dispute(dispute_id: int):
    dispute = db.get_or_404(Dispute, dispute_id)
    if dispute.status != DISPUTE_OPEN:
        flash(_("This dispute has already been decided."), "error")
        return redirect(url_for(".disputes"))
    form = DecisionForm(prefix=f"x{dispute.id}")
    if form.validate():
        upheld = form.decision.data == "uphold"
        try:
            followup.decide_dispute(
                dispute, upheld, form.note.data, current_user,
                corrected_value=form.corrected_value.data if upheld else None,
            )
        except followup.FollowupError as error:
            field = form.corrected_value if error.field == "corrected_value" else form.note
            field.errors = [*field.errors, str(error)]
        else:
            db.session.commit()
            flash(_("Dispute upheld: the visit was re-scored.") if upheld
                  else _("Dispute rejected."), "success")
            return redirect(url_for(".disputes"))
    db.session.rollback()
    return _render({dispute.id: form}, status=400)


@bp.route("/disputes/<int:dispute_id>/evidence/<int:n>")
@requires(Cap.DECIDE_FOLLOW_UP)
def dispute_evidence(dispute_id: int, n: int):
    dispute = db.get_or_404(Dispute, dispute_id)
    return followup.evidence_response(dispute, n)



