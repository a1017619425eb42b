"""Template contexts of the three reports. Every figure comes from ``analytics`` (SQL
aggregates) or the scores stored on the visit at submission (``visits.score_answers``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import contains_eager, selectinload

from .. import analytics, charts, item_types, scoring, storage
from ..extensions import db
from ..i18n import BAND_LABELS, DIMENSION_LABELS, is_chinese, label
from ..models import Answer, CorrectiveAction, Item, Region, Store, Visit
from ..models.followup import ACTION_OPEN
from ..settings import scoring_config

#: Rows per table chunk in long listings: short tables keep WeasyPrint's layout fast.
CHUNK = 50
MOVERS = 10


def chunks(rows: list, size: int = CHUNK) -> list[list]:
    return [rows[i:i + size] for i in range(0, len(rows), size)] or [[]]


def _dimension_labels() -> list[tuple[str, str]]:
    return [(code, label(DIMENSION_LABELS, code)) for code in scoring.DIMENSIONS]


# --- visit ----------------------------------------------------------------------------------


@dataclass
class ItemRow:
    code: str
    text: str
    item_type: str
    answer: str
    score: float | None
    failed: bool
    critical: bool
    comment: str
    #: The photos attached to this item (file URIs): its evidence, shown with it.
    photos: list[str] = field(default_factory=list)
    #: False for the types that are never scored (text, photo, info).
    scored: bool = True


def answer_text(item: Item, answer: Answer | None, visit_type: str) -> str:
    """How an answer reads in a report: Yes/No, the CSM level, seconds, N/A."""
    return item_types.answer_text(item, answer, visit_type, detail=True)


def visit_context(visit: Visit, *, show_shopper: bool) -> tuple[dict, list[Path]]:
    """The visit report's context and the photo files it may embed."""
    zh = is_chinese()
    answers = {a.item_id: a for a in visit.answers}
    dim_scores = {d.dimension: d for d in visit.dimension_scores}
    sections = []
    photos, files = [], []
    by_item: dict[int, list[str]] = {}
    for photo in visit.photos:
        if storage.exists(photo.storage_key):
            path = storage.local_path(photo.storage_key)
            files.append(path)
            if photo.item_id is not None:
                by_item.setdefault(photo.item_id, []).append(path.as_uri())
            else:
                photos.append({"uri": path.as_uri(), "category": photo.category})
    for dimension in visit.questionnaire.dimensions:
        rows = []
        for item in dimension.items:
            answer = answers.get(item.id)
            if answer is None and (item.condition or dimension.condition
                                   or not item_types.of(item).asked):
                continue  # not asked in this visit (its condition), or only read
            rows.append(
                ItemRow(
                    code=item.code,
                    text=(item.text_zh if zh and item.text_zh else item.text),
                    item_type=item.item_type,
                    answer=answer_text(item, answer, visit.visit_type),
                    score=answer.score if answer else None,
                    failed=bool(answer and answer.failed),
                    critical=item.critical,
                    comment=answer.comment if answer else "",
                    photos=by_item.get(item.id, []),
                    scored=item_types.of(item).scored,
                )
            )
        ds = dim_scores.get(dimension.code)
        sections.append(
            {
                "code": dimension.code,
                "label": label(DIMENSION_LABELS, dimension.code),
                "weight": dimension.weight,
                "score": ds.score if ds else None,
                "rows": rows,
                "critical_failed": any(r.critical and r.failed for r in rows),
            }
        )
    config = scoring_config(visit.visit_date)
    failed = [r for s in sections for r in s["rows"] if r.failed]
    context = {
        "visit": visit,
        "store": visit.store,
        "place_name": visit.place_name,
        "region": visit.store.region if visit.store else None,
        "band": scoring.band(visit.score, config),
        "sections": sections,
        "failed_count": len(failed),
        "critical_failed": [r for r in failed if r.critical],
        "dimension_chart": charts.grouped_bars(
            [lbl for _, lbl in _dimension_labels()],
            [(_("This visit"), [dim_scores[c].score if c in dim_scores else None
                                for c in scoring.DIMENSIONS])],
            _("Dimension scores"), width=340, height=190,
        ),
        "photos": photos,
        "show_shopper": show_shopper,
        "shopper": visit.evaluator.pseudonym if show_shopper and visit.evaluator else None,
        "show_checkin": show_shopper,
        "title": _("Visit report"),
    }
    return context, files


# --- store month ------------------------------------------------------------------------------


def store_month_context(store: Store, period: analytics.Period) -> dict:
    config = scoring_config(period)
    score = analytics.store_score(store.id, period, config)
    trend = analytics.trend_points(period, 12, store_id=store.id, config=config)
    store_dims = analytics.dimension_means(period, store_ids=[store.id]).get(store.id, {})
    # the store's region in the month (a closed month: as it stood at closing)
    region_id = score.region_id if score is not None else store.region_id
    region_dims = analytics.dimension_means(period, by="region").get(region_id, {})
    brand_dims = analytics.dimension_means(period, by="brand").get(None, {})
    dims = _dimension_labels()
    visits = db.session.scalars(
        select(Visit)
        .where(
            Visit.store_id == store.id,
            Visit.counted,
            period.includes(Visit.visit_date),
        )
        .options(selectinload(Visit.dimension_scores))
        .order_by(Visit.visit_date, Visit.id)
    ).all()
    failed = db.session.execute(
        select(Visit.visit_date, Visit.kind, Visit.visit_type, Item, Answer)
        .join(Answer, Answer.visit_id == Visit.id)
        .join(Item, Item.id == Answer.item_id)
        .where(
            Visit.store_id == store.id,
            Visit.counted,
            period.includes(Visit.visit_date),
            Answer.failed,
        )
        .order_by(Visit.visit_date, Item.dimension_id, Item.position)
    ).all()
    zh = is_chinese()
    failed_rows = [
        {
            "date": row.visit_date,
            "kind": row.kind,
            "code": row.Item.code,
            "text": row.Item.text_zh if zh and row.Item.text_zh else row.Item.text,
            "answer": answer_text(row.Item, row.Answer, row.visit_type),
            "score": row.Answer.score,
            "critical": row.Item.critical,
            "comment": row.Answer.comment,
        }
        for row in failed
    ]
    actions = db.session.scalars(
        select(CorrectiveAction)
        .join(Visit, Visit.id == CorrectiveAction.visit_id)
        .where(Visit.store_id == store.id, CorrectiveAction.status == ACTION_OPEN)
        .options(contains_eager(CorrectiveAction.visit),  # the report shows each one's
                 selectinload(CorrectiveAction.answer).selectinload(Answer.item))  # visit, item
        .order_by(CorrectiveAction.due_date, CorrectiveAction.id)
    ).all()
    complaints = analytics.complaints_by_severity(store.id, period)
    sat = analytics.satisfaction(period, store_ids=[store.id])
    return {
        "store": store,
        # the store's name and code in the month (a closed month: as they stood at closing)
        "named": score if score is not None else store,
        # a closed month names the region the store was in then
        "region": SimpleNamespace(id=region_id, name=score.region_name if score is not None
                                  else store.region.name),
        "period": period,
        "score": score,
        "trend": trend,
        "trend_chart": charts.trend_chart(
            trend, _("BDI, last 12 months"), bands=config.bands, width=520, height=125
        ),
        "dims": dims,
        "store_dims": store_dims,
        "region_dims": region_dims,
        "brand_dims": brand_dims,
        "dimension_chart": charts.grouped_bars(
            [lbl for _, lbl in dims],
            [
                (_("Store"), [store_dims.get(c) for c, _l in dims]),
                (_("Region"), [region_dims.get(c) for c, _l in dims]),
                (_("Brand"), [brand_dims.get(c) for c, _l in dims]),
            ],
            _("Dimension scores against region and brand"), width=540, height=165,
        ),
        "visits": visits,
        "failed": failed_rows,
        "actions": actions,
        "complaints": complaints,
        "complaints_total": sum(c["count"] for c in complaints.values()),
        "satisfaction": sat,
        "weights": config.component_weights,
        "title": _("Store monthly report"),
    }


# --- brand summary ------------------------------------------------------------------------------


def brand_summary_context(
    period: analytics.Period, region: Region | None = None, progress=None
) -> dict:
    """HQ's summary for a month, for the whole brand or one region. ``progress(pct)`` is
    called as the parts are computed (for background jobs)."""
    config = scoring_config(period)
    step = progress or (lambda pct: None)
    region_id = region.id if region else None
    brand = analytics.brand_score(period, config)
    regions = analytics.region_scores(period, config)
    if region is not None:
        headline = next((r for r in regions if r.id == region.id), None)
        trend = analytics.trend_points(period, 12, region_id=region.id, config=config)
    else:
        headline = brand
        trend = analytics.trend_points(period, 12, config=config)
    step(20)
    stores = analytics.store_scores(period, config, region_id=region_id, with_trend=True)
    step(40)
    if region is None:
        distribution = analytics.band_distribution(period, config)
    else:
        distribution = {code: 0 for _b, code in config.bands} | {"needs_improvement": 0}
        for s in stores:
            if s.band:
                distribution[s.band] += 1
    band_rows = [(code, label(BAND_LABELS, code), n) for code, n in distribution.items()]
    dims = _dimension_labels()
    region_dims = analytics.dimension_means(period, by="region")
    brand_dims = analytics.dimension_means(period, by="brand").get(None, {})
    heat_rows = [
        {"name": r.name, "selected": region is not None and r.id == region.id,
         "values": [region_dims.get(r.id, {}).get(c) for c, _l in dims]}
        for r in regions
    ]
    heat_rows.append({"name": _("Brand"), "selected": False, "brand": True,
                      "values": [brand_dims.get(c) for c, _l in dims]})
    step(60)
    moved = [s for s in stores if s.trend is not None]
    risers = sorted(moved, key=lambda s: (-s.trend, s.code))[:MOVERS]
    fallers = sorted(moved, key=lambda s: (s.trend, s.code))[:MOVERS]
    competitors = analytics.competitor_benchmark(period, region_id=region_id)
    own_visits, own_mean = analytics.mystery_visit_mean(period, region_id=region_id)
    own_dims = (region_dims.get(region.id, {}) if region is not None else brand_dims)
    sat = analytics.satisfaction(period, region_id=region_id)
    step(70)
    ranked = [s for s in stores if s.bdi is not None]
    unscored = [s for s in stores if s.bdi is None]
    return {
        "period": period,
        "region": region,
        "brand": brand,
        "headline": headline,
        "regions": regions,
        "trend_chart": charts.trend_chart(
            trend, _("BDI, last 12 months"), bands=config.bands, width=330, height=150
        ),
        "band_rows": band_rows,
        "band_chart": charts.band_bars(band_rows, _("Stores per band"), width=330,
                                       height=110),
        "stores_total": len(stores),
        "stores_scored": len(ranked),
        "store_chunks": chunks(ranked),
        "unscored": unscored,
        "dims": dims,
        "heat_rows": heat_rows,
        "heat_colour": charts.heat_colour,
        "risers": [s for s in risers if s.trend > 0],
        "fallers": [s for s in fallers if s.trend < 0],
        "competitors": competitors,
        "own_visits": own_visits,
        "own_mean": own_mean,
        "own_interval": scoring.interval(own_mean, scoring.ms_standard_error(
            analytics.pooled_sigma(period), own_visits)),
        "own_dims": own_dims,
        "satisfaction": sat,
        "title": _("Brand summary"),
    }

