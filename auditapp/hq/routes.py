"""HQ: the programme's console (see issue #4)."""

from __future__ import annotations

from flask import render_template, request

from .. import analytics
from ..models import HQ_ADMIN
from ..security import roles_required
from . import bp


@bp.route("/")
@roles_required(HQ_ADMIN)
def index():
    month = request.args.get("month") or analytics.latest_month()
    try:
        period = analytics.Period.month(month)
    except analytics.PeriodError:
        period = analytics.Period.month(analytics.latest_month())
    brand = analytics.brand_score(period)
    regions = analytics.region_scores(period)
    stores = analytics.store_scores(period, with_trend=True)
    return render_template(
        "hq/index.html", period=period, brand=brand, regions=regions, stores=stores
    )
