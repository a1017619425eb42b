"""HQ: QA audits (issue #4 item 6). QA auditors fill the same form engine as shoppers,
with the latest published QA questionnaire, for a store they choose. Not anonymous."""

from __future__ import annotations

from flask import abort, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from .. import qa
from ..extensions import db
from ..models import Store, Visit
from ..models.visit import QA
from ..permissions import Cap, requires
from ..scoring import VISIT_TYPES
from ..shopper.form import handle_form
from ..stores import active_stores
from . import bp


@bp.route("/qa", methods=["GET", "POST"])
@requires(Cap.QA_AUDIT)
def qa_index():
    errors: dict[str, str] = {}
    chosen = {"store_id": request.form.get("store_id", ""),
              "visit_type": request.form.get("visit_type", "dine_in")}
    if request.method == "POST":
        questionnaire = qa.latest_qa_questionnaire()
        store = db.session.get(Store, int(chosen["store_id"])) \
            if chosen["store_id"].isdigit() else None
        if store is None or not store.active:
            errors["store_id"] = _("Choose an active store.")
        if chosen["visit_type"] not in VISIT_TYPES:
            errors["visit_type"] = _("Choose a visit type.")
        if questionnaire is None:
            errors["store_id"] = _("There is no published QA questionnaire yet.")
        if not errors:
            visit_id = qa.start_audit(store, chosen["visit_type"], questionnaire,
                                      current_user.id)
            db.session.commit()
            return redirect(url_for("hq.qa_visit", visit_id=visit_id))
    audits = qa.audits_of(current_user.id)
    return render_template("hq/qa_index.html", audits=audits, stores=active_stores(),
                           errors=errors,
                           chosen=chosen, visit_types=VISIT_TYPES), (400 if errors else 200)


@bp.route("/qa/<int:visit_id>", methods=["GET", "POST"])
@requires(Cap.QA_AUDIT)
def qa_visit(visit_id: int):
    visit = db.session.get(Visit, visit_id)
    if visit is None or visit.kind != QA or visit.evaluator_id != current_user.id:
        abort(404)
    return handle_form(visit, post_url=url_for("hq.qa_visit", visit_id=visit.id))
