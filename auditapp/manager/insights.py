"""Area managers: the Insights page for their own regions (``hq/insights.py``): key
drivers, importance–performance, loyalty and triangulation of their regions' stores;
not the competitor gaps or item health (HQ's)."""

from __future__ import annotations

from flask_login import current_user
from sqlalchemy import select

from ..extensions import db
from ..hq.insights import render
from ..models import Region, area_manager_regions
from ..permissions import Cap, requires
from . import bp


@bp.route("/insights")
@requires(Cap.VIEW_REGION_SUMMARY)
def insights_page():
    regions = list(db.session.scalars(
        select(Region).where(Region.id.in_(
            select(area_manager_regions.c.region_id)
            .where(area_manager_regions.c.user_id == current_user.id)))
        .order_by(Region.code)))
    return render("manager.insights_page", regions=regions,
                  allowed_regions=[r.id for r in regions], hq=False)
