"""Store managers: their stores' released audits (see issue #5)."""

from __future__ import annotations

from flask import render_template
from flask_login import current_user

from .. import analytics
from ..models import MANAGER
from ..security import roles_required
from . import bp


@bp.route("/")
@roles_required(MANAGER)
def index():
    period = analytics.Period.month(analytics.latest_month())
    scores = analytics.store_scores(
        period, store_ids=[s.id for s in current_user.stores], with_trend=True,
        include_inactive=True,
    )
    return render_template("manager/index.html", period=period, scores=scores)
