"""Manager: report downloads for their own stores — never anything naming the shopper."""

from __future__ import annotations

from flask import Response, abort, render_template
from flask_login import current_user
from sqlalchemy import select

from .. import exports, params
from ..extensions import db
from ..models import MANAGER, Store, Visit
from ..models.visit import MYSTERY
from ..reports import views
from ..security import roles_required
from . import bp


def _own_store_ids() -> list[int]:
    return [s.id for s in current_user.stores]


@bp.route("/reports")
@roles_required(MANAGER)
def reports():
    period, month_value, month_error = params.month_for_page()
    visits: dict[int, list[Visit]] = {}
    rows = db.session.scalars(
        select(Visit)
        .where(
            Visit.store_id.in_(_own_store_ids()),
            Visit.kind == MYSTERY,
            Visit.counted,
            period.includes(Visit.visit_date),
        )
        .order_by(Visit.visit_date, Visit.id)
    )
    for visit in rows:
        visits.setdefault(visit.store_id, []).append(visit)
    return render_template(
        "manager/reports.html", period=period, stores=current_user.stores, visits=visits,
        month_value=month_value, month_error=month_error,
    )


@bp.route("/reports/visits/<int:visit_id>.pdf")
@roles_required(MANAGER)
def report_visit_pdf(visit_id: int):
    visit = views.get_or_404(Visit, visit_id)
    if not visit.counted or not current_user.manages(visit.store_id):
        abort(404)
    return views.visit_pdf(visit, show_shopper=False)


@bp.route("/reports/stores/<int:store_id>.pdf")
@roles_required(MANAGER)
def report_store_pdf(store_id: int):
    store = views.get_or_404(Store, store_id)
    if not current_user.manages(store.id):
        abort(404)
    return views.store_month_pdf(store, params.month())


@bp.route("/reports/export/visits.<fmt>")
@roles_required(MANAGER)
def report_export_visits(fmt: str) -> Response:
    return exports.visits_response(
        params.month(), fmt, store_ids=_own_store_ids(), include_shopper=False
    )


@bp.route("/reports/export/scores.<fmt>")
@roles_required(MANAGER)
def report_export_scores(fmt: str) -> Response:
    return exports.scores_response(params.month(), fmt, store_ids=_own_store_ids())
