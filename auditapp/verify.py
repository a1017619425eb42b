"""An independent recomputation of a month's figures (``flask verify --month``).

Every stored visit score of the month (V, S_d, item scores, CSM) is recomputed from its
answers, and every store's, region's and the brand's figures from the raw rows (answers
and complaints), with the pure functions of ``scoring.py`` through ``receipts.py``; the
results are compared with what is stored and with what ``analytics.py``'s SQL gives.
Numbers are compared as exact decimals (``scoring.exact``, SCORING.md §7a). Read-only.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from . import analytics, receipts, scoring
from .analytics import Period
from .extensions import db
from .models import Brand, MonthClosure, MonthFigure, Region, Store
from .models.months import SCOPE_REGION, SCOPE_STORE


@dataclass(frozen=True)
class Difference:
    """One figure whose stored or SQL value differs from its recomputation."""

    what: str
    found: object  # stored, or computed by the SQL
    expected: object  # recomputed from the raw rows

    def __str__(self) -> str:
        return f"{self.what}: found {_show(self.found)}, recomputed {_show(self.expected)}"


@dataclass
class Verification:
    month: str
    visits: int = 0
    stores: int = 0
    regions: int = 0
    #: the month is closed and its stored snapshot was compared with the recomputation
    snapshot: bool = False
    differences: list[Difference] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.differences


def _show(value: object) -> str:
    return repr(value) if not isinstance(value, float) else f"{value!r}"


def _same(a: object, b: object) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, bool) or isinstance(b, bool):
        return a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return scoring.exact(float(a)) == scoring.exact(float(b))
    return a == b


def verify_month(period: Period, config: scoring.ScoringConfig | None = None) -> Verification:
    """Recompute the month and list every difference (none: the figures are right)."""
    if config is None:
        from .settings import scoring_config

        config = scoring_config(period)  # the version in force for the month
    out = Verification(period.label)
    with analytics.live_figures():  # the SQL computed from the raw rows, closed or not
        _verify(period, config, out)
    return out


def _verify(period: Period, config: scoring.ScoringConfig, out: Verification) -> None:

    def check(what: str, found: object, expected: object) -> None:
        if not _same(found, expected):
            out.differences.append(Difference(what, found, expected))

    # 1. every stored visit score, from its answers
    visits = receipts.period_visits(period)
    by_store = defaultdict(list)
    for visit in visits:
        by_store[visit.store_id].append(visit)
        if visit.scored_at is None and visit.score is None:
            continue
        out.visits += 1
        r = receipts.visit_receipt(visit, config)
        name = f"visit {visit.id}"
        check(f"{name} V", r.stored_score, r.score)
        check(f"{name} CSM", r.stored_csm, r.csm)
        check(f"{name} CSM grade", visit.csm_grade, r.csm_grade)
        check(f"{name} satisfied", visit.satisfied, r.satisfied)
        for d in r.dimensions:
            check(f"{name} S_{d.code}", d.stored_score, d.score)
        for i in r.items:
            check(f"{name} item {i.code} s", i.stored_score, i.score)

    # 2. every store, from its visits and complaints, against the SQL
    sql = {s.store_id: s for s in analytics.store_scores(period, config, include_inactive=True)}
    ranked = {s.store_id: s.rank for s in analytics.store_scores(period, config)}
    stores = db.session.scalars(
        select(Store).options(selectinload(Store.region)).order_by(Store.code)
    ).all()
    store_bdis: dict[int, float | None] = {}
    recomputed: dict[int, receipts.StoreReceipt] = {}
    for store in stores:
        out.stores += 1
        r = receipts.store_receipt(store, period, config, by_store.get(store.id, []))
        recomputed[store.id] = r
        row = sql.get(store.id)
        name = f"store {store.code}"
        if row is None:
            out.differences.append(Difference(f"{name} figures", None, "a row"))
            continue
        check(f"{name} MS", row.ms, r.ms)
        check(f"{name} MS visits", row.ms_visits, len(r.mystery))
        check(f"{name} QA", row.qa, r.qa_score)
        check(f"{name} QA audits", row.qa_visits, len(r.qa))
        check(f"{name} HL", row.hl, r.hl)
        check(f"{name} complaints", row.complaints, len(r.complaints))
        check(f"{name} BDI", row.bdi, r.bdi)
        check(f"{name} band", row.band, r.band)
        check(f"{name} counts in the month", store.id in ranked, r.counts_in_period)
        if r.counts_in_period:
            store_bdis[store.id] = r.bdi

    # ranks: by BDI (exact decimals), ties by code, among the stores that count
    code = {s.id: s.code for s in stores}
    order = sorted((sid for sid, v in store_bdis.items() if v is not None),
                   key=lambda sid: (-scoring.exact(store_bdis[sid]), code[sid]))
    expected_rank = {sid: n for n, sid in enumerate(order, start=1)}
    for sid in store_bdis:
        check(f"store {code[sid]} rank", ranked.get(sid), expected_rank.get(sid))

    # 3. regions, the brand and the band counts: means of the stores that count
    region_of = {s.id: s.region_id for s in stores}
    sql_regions = {g.id: g for g in analytics.region_scores(period, config)}
    for region in db.session.scalars(select(Region).where(Region.active.is_(True))):
        out.regions += 1
        values = [v for sid, v in store_bdis.items()
                  if region_of[sid] == region.id and v is not None]
        expected = scoring.group_score(values)
        group = sql_regions.get(region.id)
        check(f"region {region.code} BDI", group.bdi if group else None, expected)
        check(f"region {region.code} band", group.band if group else None,
              scoring.band(expected, config))
        check(f"region {region.code} stores scored", group.stores_scored if group else 0,
              len(values))
    brand_id = db.session.scalar(select(func.min(Brand.id)))
    if brand_id is not None:
        brand_of = {s.id: s.region.brand_id for s in stores}
        values = [v for sid, v in store_bdis.items()
                  if brand_of[sid] == brand_id and v is not None]
        expected = scoring.group_score(values)
        brand = analytics.brand_score(period, config, brand_id)
        check("brand BDI", brand.bdi, expected)
        check("brand band", brand.band, scoring.band(expected, config))
        check("brand stores scored", brand.stores_scored, len(values))
    bands = Counter(scoring.band(v, config) for v in store_bdis.values() if v is not None)
    for band_code, n in analytics.band_distribution(period, config).items():
        check(f"stores in band {band_code}", n, bands.get(band_code, 0))

    # 4. a closed month: the snapshot its pages read, against the same recomputation
    _verify_snapshot(period, config, recomputed, check, out)


def _verify_snapshot(period: Period, config: scoring.ScoringConfig,
                     recomputed: dict[int, receipts.StoreReceipt], check, out) -> None:
    """Each stored store figure against its recomputation from the raw rows; each stored
    region and brand figure against the mean of the recomputed store BDIs, over the stores
    it held at closing (a store moved or deactivated since changes nothing)."""
    closure = db.session.get(MonthClosure, period.label)
    if closure is None or not closure.complete:
        return
    out.snapshot = True
    rows = db.session.scalars(select(MonthFigure).where(MonthFigure.month == period.label)
                              .order_by(MonthFigure.id)).all()
    stores = [f for f in rows if f.scope == SCOPE_STORE]
    bdis: dict[int, float | None] = {}
    for f in stores:
        r = recomputed.get(f.ref_id)
        name = f"snapshot store {f.code}"
        if r is None:
            out.differences.append(Difference(f"{name} figures", "a row", None))
            continue
        check(f"{name} MS", f.ms, r.ms)
        check(f"{name} MS visits", f.ms_visits, len(r.mystery))
        check(f"{name} QA", f.qa, r.qa_score)
        check(f"{name} QA audits", f.qa_visits, len(r.qa))
        check(f"{name} HL", f.hl, r.hl)
        check(f"{name} complaints", f.complaints, len(r.complaints))
        check(f"{name} BDI", f.bdi, r.bdi)
        check(f"{name} band", f.band, r.band)
        if f.counted:
            bdis[f.ref_id] = r.bdi
    for sid in set(recomputed) - {f.ref_id for f in stores}:
        out.differences.append(Difference(f"snapshot store id {sid} figures", None, "a row"))
    code = {f.ref_id: f.code for f in stores}
    order = sorted((sid for sid, v in bdis.items() if v is not None),
                   key=lambda sid: (-scoring.exact(bdis[sid]), code[sid]))
    rank = {sid: n for n, sid in enumerate(order, start=1)}
    for f in stores:
        if f.counted:
            check(f"snapshot store {f.code} rank", f.rank, rank.get(f.ref_id))
    for f in rows:
        if f.scope == SCOPE_STORE:
            continue
        key = "region_id" if f.scope == SCOPE_REGION else "brand_id"
        values = [bdis[s.ref_id] for s in stores if s.counted and getattr(s, key) == f.ref_id
                  and bdis.get(s.ref_id) is not None]
        expected = scoring.group_score(values)
        check(f"snapshot {f.scope} {f.name} BDI", f.bdi, expected)
        check(f"snapshot {f.scope} {f.name} band", f.band, scoring.band(expected, config))
        check(f"snapshot {f.scope} {f.name} stores scored", f.stores_scored, len(values))
