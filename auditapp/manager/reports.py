"""Manager: report downloads for their own stores — never anything naming the shopper."""

from __future__ import annotations

from flask import Response, abort, render_template
from flask_babel import get_locale
from flask_login import current_user

from .. import exports, month_end, params
from ..extensions import db
from ..i18n import language_code
from ..models import Store, Visit
from ..models.visit import MYSTERY
from ..permissions import (
    Cap,
    can_see_store,
    can_see_visit,
    requires,
    visible_store_ids,
    visible_stores,
    visible_visits,
)
from ..reports import views
from . import bp


def _own_store_ids() -> list[int]:
    return list(db.session.scalars(visible_store_ids(current_user)))


@bp.route("/reports")
@requires(Cap.VIEW_STORE_RESULTS)
def reports():
    period, month_value, month_error = params.month_for_page()
    visits: dict[int, list[Visit]] = {}
    rows = db.session.scalars(
        visible_visits(current_user)
        .where(
            Visit.kind == MYSTERY,
            Visit.counted,
            period.includes(Visit.visit_date),
        )
        .order_by(Visit.visit_date, Visit.id)
    )
    for visit in rows:
        visits.setdefault(visit.store_id, []).append(visit)
    return render_template(
        "manager/reports.html", period=period,
        stores=db.session.scalars(visible_stores(current_user)).all(), visits=visits,
        month_value=month_value, month_error=month_error,
        month_reports=month_end.store_reports(visible_store_ids(current_user),
                                              locale=language_code(current_user.locale
                                                                   or get_locale()),
                                              limit=48),
    )


@bp.route("/reports/visits/<int:visit_id>.pdf")
@requires(Cap.VIEW_STORE_RESULTS)
def report_visit_pdf(visit_id: int):
    visit = db.get_or_404(Visit, visit_id)
    if not can_see_visit(current_user, visit):
        abort(404)
    return views.visit_pdf(visit, show_shopper=False)


@bp.route("/reports/stores/<int:store_id>.pdf")
@requires(Cap.VIEW_STORE_RESULTS)
def report_store_pdf(store_id: int):
    store = db.get_or_404(Store, store_id)
    if not can_see_store(current_user, store.id):
        abort(404)
    return views.store_month_pdf(store, params.month())


@bp.route("/reports/export/visits.<fmt>")
@requires(Cap.VIEW_STORE_RESULTS)
def report_export_visits(fmt: str) -> Response:
    return exports.visits_response(
        params.month(), fmt, store_ids=_own_store_ids(), include_shopper=False
    )


@bp.route("/reports/export/scores.<fmt>")
@requires(Cap.VIEW_STORE_RESULTS)
def report_export_scores(fmt: str) -> Response:
    return exports.scores_response(params.month(), fmt, store_ids=_own_store_ids())
