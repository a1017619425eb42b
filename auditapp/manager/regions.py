"""Area managers: one table of the month's figures for every store of their regions.

The stores come from ``permissions.visible_stores``; every figure from ``analytics`` (and
the unread audits from ``followup``). Nothing names a shopper.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import render_template
from flask_login import current_user

from .. import analytics, followup, params
from ..extensions import db
from ..models import Region, Store
from ..permissions import Cap, requires, visible_stores
from . import bp


@dataclass
class StoreRow:
    store: Store
    score: analytics.StoreScore | None
    rank: tuple[int, int] | None
    open_actions: int
    overdue: int
    unread: int


@dataclass
class RegionBlock:
    region: Region
    score: analytics.GroupScore | None
    rows: list[StoreRow]


@bp.route("/regions")
@requires(Cap.VIEW_REGION_SUMMARY)
def regions():
    period, month_value, month_error = params.month_for_page()
    stores = db.session.scalars(visible_stores(current_user)).all()
    ids = [s.id for s in stores]
    scores = {s.store_id: s for s in analytics.store_scores(
        period, store_ids=ids, include_inactive=True, with_trend=True)}
    ranks = analytics.region_ranks(period, ids)
    region_scores = {g.id: g for g in analytics.region_scores(period)}
    unread = {u.store_id: u.unread for u in followup.unread_by_store()}
    actions = analytics.action_counts(ids, followup.utcnow().date())
    blocks: dict[int, RegionBlock] = {}
    for store in stores:
        block = blocks.setdefault(store.region_id, RegionBlock(
            store.region, region_scores.get(store.region_id), []))
        block.rows.append(StoreRow(
            store=store,
            score=scores.get(store.id),
            rank=ranks.get(store.id),
            open_actions=actions[store.id][0],
            overdue=actions[store.id][1],
            unread=unread.get(store.id, 0),
        ))
    for block in blocks.values():  # best BDI first, stores without one last
        block.rows.sort(key=lambda r: (r.score is None or r.score.bdi is None,
                                       -(r.score.bdi or 0.0) if r.score else 0.0,
                                       r.store.code))
    return render_template(
        "manager/regions.html", period=period, month_error=month_error,
        month_value=month_value,
        blocks=sorted(blocks.values(), key=lambda b: b.region.code),
    )
