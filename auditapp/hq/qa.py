"""HQ: QA audits (issue #4 item 6). QA auditors fill the same form engine as shoppers,
with the latest published QA questionnaire, for a store they choose. Not anonymous."""

from __future__ import annotations

from datetime import timedelta

from flask import abort, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from ..extensions import db
from ..models import Questionnaire, Store, Visit, utcnow
from ..models.questionnaire import KIND_QA, PUBLISHED
from ..models.visit import IN_PROGRESS, QA
from ..permissions import Cap, requires
from ..scoring import VISIT_TYPES
from ..shopper.form import handle_form
from ..visits import log_change
from . import bp

#: Starting the same QA audit again within this time opens the one just started.
DOUBLE_TAP = timedelta(minutes=2)


def latest_qa_questionnaire() -> Questionnaire | None:
    return db.session.scalar(
        select(Questionnaire)
        .where(Questionnaire.kind == KIND_QA, Questionnaire.status == PUBLISHED)
        .order_by(Questionnaire.published_at.desc(), Questionnaire.version.desc())
        .limit(1)
    )


def _stores() -> list[Store]:
    return list(db.session.scalars(
        select(Store).where(Store.active.is_(True)).order_by(Store.code)
    ))


@bp.route("/qa", methods=["GET", "POST"])
@requires(Cap.QA_AUDIT)
def qa_index():
    errors: dict[str, str] = {}
    chosen = {"store_id": request.form.get("store_id", ""),
              "visit_type": request.form.get("visit_type", "dine_in")}
    if request.method == "POST":
        questionnaire = latest_qa_questionnaire()
        store = db.session.get(Store, int(chosen["store_id"])) \
            if chosen["store_id"].isdigit() else None
        if store is None or not store.active:
            errors["store_id"] = _("Choose an active store.")
        if chosen["visit_type"] not in VISIT_TYPES:
            errors["visit_type"] = _("Choose a visit type.")
        if questionnaire is None:
            errors["store_id"] = _("There is no published QA questionnaire yet.")
        if not errors:
            now = utcnow()
            # A double tap (or a resent form) opens the audit the first tap started for
            # this store and visit type a moment ago, instead of starting a second one.
            just_started = db.session.scalar(
                select(Visit.id).where(
                    Visit.kind == QA, Visit.evaluator_id == current_user.id,
                    Visit.store_id == store.id, Visit.visit_type == chosen["visit_type"],
                    Visit.status == IN_PROGRESS, Visit.created_at >= now - DOUBLE_TAP)
                .order_by(Visit.id.desc()).limit(1))
            if just_started is not None:
                return redirect(url_for("hq.qa_visit", visit_id=just_started))
            visit = Visit(kind=QA, store=store, evaluator_id=current_user.id,
                          questionnaire=questionnaire, month=f"{now:%Y-%m}",
                          visit_type=chosen["visit_type"], status=IN_PROGRESS,
                          started_at=now, visit_date=now.date())
            db.session.add(visit)
            db.session.flush()
            log_change("visit", visit.id, "create_qa", current_user.id, None,
                       {"status": IN_PROGRESS, "store_id": store.id})
            db.session.commit()
            return redirect(url_for("hq.qa_visit", visit_id=visit.id))
    audits = db.session.scalars(
        select(Visit).where(Visit.kind == QA, Visit.evaluator_id == current_user.id)
        .order_by(Visit.created_at.desc(), Visit.id.desc())
    ).all()
    return render_template("hq/qa_index.html", audits=audits, stores=_stores(), errors=errors,
                           chosen=chosen, visit_types=VISIT_TYPES), (400 if errors else 200)


@bp.route("/qa/<int:visit_id>", methods=["GET", "POST"])
@requires(Cap.QA_AUDIT)
def qa_visit(visit_id: int):
    visit = db.session.get(Visit, visit_id)
    if visit is None or visit.kind != QA or visit.evaluator_id != current_user.id:
        abort(404)
    return handle_form(visit, post_url=url_for("hq.qa_visit", visit_id=visit.id))
