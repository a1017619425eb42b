"""Insights HQ can act on (issue #21): what drives satisfaction, importance against
performance, loyalty beside satisfaction, where the three feeds disagree, the gaps to the
competitors, and which questionnaire items carry no information.

The data come from SQL aggregates over stored scores (``GROUP BY``, as in
``analytics.py``); the statistics are numpy (least squares, percentiles) and scipy (the
t quantile). Nothing here loops over visits in Python. The method, its assumptions and the
minimum samples are written in ``docs/INSIGHTS.md`` and on the page.

- **Window**: the ``months`` calendar months ending with the chosen month (default 12),
  released mystery-shop visits (``Visit.counted``) of stores that count in it.
- **Key drivers** (``key_drivers``): each visit's five dimension scores S_d against its
  CSM (and its loyalty answer when given), a multiple regression on standardised values
  (z-scores): the standardised coefficient β of each dimension, its 90 % interval
  (β ± t₀.₉₅·SE, ordinary least squares) and the simple correlation r. Visits with an N/A
  dimension are left out. Needs ``MIN_N`` visits, else "too few visits".
- **Derived importance**: max(β, 0) as a share of the sum, beside the configured
  dimension weights W_d as shares.
- **Importance–performance** (``importance_performance``): importance β × performance
  (mean S_d of the brand, a region or a store), cut at the mean importance and at the
  brand's mean dimension score.
- **Loyalty** (``loyalty_rows``): share of satisfied visits (CSM ≥ +30) whose loyalty
  answer is below ``loyalty.LOYAL_MIN``; shown from ``MIN_SHARE_N`` satisfied visits.
- **Triangulation** (``triangulate``): per store and month, rules in ``RULES``.
- **Competitors** (``competitor_gaps``): our mean S_d minus theirs, significant when
  |gap| > 1.645·σ_d·√(1/n_ours + 1/n_theirs) (SCORING.md §10 with σ_d the visit-to-visit
  spread of that dimension in our stores).
- **Item health** (``item_health``): per questionnaire version and item, the shares of
  full marks and of failed answers, N/A share, upheld disputes and the correlation of the
  item's score with the visit's CSM.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date

import numpy as np
from flask_babel import lazy_gettext as _l
from scipy import stats
from sqlalchemy import Float, and_, case, cast, func, literal, or_, select

from . import analytics, loyalty, scoring
from .analytics import Period
from .extensions import db
from .models import (
    Answer,
    CompetitorStore,
    Complaint,
    Item,
    Questionnaire,
    Region,
    Store,
    Visit,
    VisitDimensionScore,
)
from .models.followup import DISPUTE_UPHELD, Dispute
from .models.questionnaire import Dimension
from .models.visit import COMPETITOR, MYSTERY, QA
from .scoring import DIMENSIONS, Z90

#: Fewest visits behind a driver coefficient, a correlation or an item's rates.
MIN_N = 30
#: Fewest satisfied visits behind a "satisfied but not loyal" share.
MIN_SHARE_N = 10
#: Default window, in months ending with the chosen month.
DEFAULT_MONTHS = 12
MAX_MONTHS = 36
#: Item health: full marks (s = 100), or failed (SCORING.md §8), in at least this share of
#: its answered (non-N/A) answers: the item tells nothing apart.
ALWAYS_SHARE = 0.98
#: Item health: N/A in at least this share of its answers.
OFTEN_NA_SHARE = 0.20
#: Item health: at least this many upheld disputes.
MANY_DISPUTES = 3
#: Triangulation: the dimension MS and QA both judge (food quality and safety).
QUALITY = "quality"

QUADRANTS = {
    "keep_up": _l("Keep up the good work"),
    "concentrate": _l("Concentrate here"),
    "low_priority": _l("Low priority"),
    "overkill": _l("Possible overkill"),
}

RULES = {
    "ms_quality_vs_qa": _l("Mystery shop rates food quality excellent, but the QA audit "
                           "fails food quality or safety"),
    "ms_vs_hotline": _l("Mystery-shop score excellent, but complaints in the brand's top "
                        "tenth this month"),
    "ms_low_vs_qa_hl": _l("Mystery-shop score needs improvement, but the QA audit is "
                          "excellent and there were no complaints"),
}

FLAGS = {
    "always": _l("Full marks almost always"),
    "never": _l("Failed almost always"),
    "often_na": _l("Often N/A"),
    "disputes": _l("Many upheld disputes"),
    "contradicts": _l("Goes against overall satisfaction"),
    "few": _l("Too few answers"),
}


# --- scope and window -----------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """The brand (both None), one region, or one store."""

    region_id: int | None = None
    store_id: int | None = None

    @property
    def kind(self) -> str:
        return "store" if self.store_id else "region" if self.region_id else "brand"


BRAND = Scope()


def window(month: Period, months: int = DEFAULT_MONTHS) -> Period:
    """The ``months`` calendar months ending with ``month`` (a range period)."""
    first = month.months_back(months)[0]
    return Period(first.start, month.end, False)


def _ms_where(win: Period, scope: Scope) -> list:
    where = [
        Visit.kind == MYSTERY, Visit.counted, win.includes(Visit.visit_date),
        Visit.score.is_not(None), Visit.store_id.is_not(None), analytics.counts_in(win),
    ]
    if scope.region_id is not None:
        where.append(Store.region_id == scope.region_id)
    if scope.store_id is not None:
        where.append(Visit.store_id == scope.store_id)
    return where


def _satisfied(column) -> object:
    """SQL: CSM ≥ +30, compared as exact decimals (SCORING.md §5, §7a)."""
    return analytics._exact(column) >= scoring.SATISFIED_CSM


def _month_key(column) -> object:
    """SQL: a date's month as the number YYYYMM (both databases)."""
    return func.extract("year", column) * 100 + func.extract("month", column)


def _label(key: int) -> str:
    key = int(key)
    return f"{key // 100:04d}-{key % 100:02d}"


# --- 1. key drivers -------------------------------------------------------------------------


@dataclass(frozen=True)
class Coefficient:
    key: str
    beta: float
    low: float
    high: float
    r: float
    #: max(β, 0) as a share of the sum over dimensions, in %
    importance: float = 0.0
    #: the configured dimension weight W_d as a share of the sum, in %
    weight: float | None = None

    @property
    def significant(self) -> bool:
        return self.low > 0 or self.high < 0


@dataclass(frozen=True)
class Drivers:
    outcome: str  # "csm" or "loyalty"
    n: int
    coefficients: list[Coefficient] = field(default_factory=list)
    r2: float | None = None
    #: dimensions left out: no variation in the window
    constant: list[str] = field(default_factory=list)

    @property
    def enough(self) -> bool:
        return self.n >= MIN_N and bool(self.coefficients)

    @property
    def top(self) -> Coefficient | None:
        return max(self.coefficients, key=lambda c: c.beta) if self.enough else None

    def get(self, key: str) -> Coefficient | None:
        return next((c for c in self.coefficients if c.key == key), None)


def standardised_ols(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, float,
                                                            np.ndarray, int]:
    """Ordinary least squares of z(y) on z(x) (columns standardised, so no intercept is
    needed): (β, SE(β), R², which columns were kept (those that vary), degrees of
    freedom n − k − 1)."""
    n = x.shape[0]
    sx = x.std(axis=0, ddof=1)
    keep = sx > 1e-9
    zx = (x[:, keep] - x[:, keep].mean(axis=0)) / sx[keep]
    sy = y.std(ddof=1)
    zy = (y - y.mean()) / sy if sy > 1e-12 else np.zeros_like(y)
    beta, *_ = np.linalg.lstsq(zx, zy, rcond=None)
    resid = zy - zx @ beta
    dof = n - zx.shape[1] - 1
    s2 = float(resid @ resid) / dof if dof > 0 else float("nan")
    cov = s2 * np.linalg.pinv(zx.T @ zx)
    se = np.sqrt(np.clip(np.diag(cov), 0, None))
    total = float(zy @ zy)
    r2 = 1 - float(resid @ resid) / total if total > 0 else float("nan")
    return beta, se, r2, keep, dof


def _driver_rows(win: Period, scope: Scope) -> np.ndarray:
    """One row per visit: CSM, loyalty, S_d of each dimension (NaN when N/A or absent)."""
    dims = [
        func.avg(case((VisitDimensionScore.dimension == d, VisitDimensionScore.score)))
        for d in DIMENSIONS
    ]
    query = (
        select(Visit.csm, Visit.loyalty, *dims)
        .join(VisitDimensionScore, VisitDimensionScore.visit_id == Visit.id)
        .join(Store, Store.id == Visit.store_id)
        .where(*_ms_where(win, scope))
        .group_by(Visit.id, Visit.csm, Visit.loyalty)
    )
    rows = db.session.execute(query).all()
    if not rows:
        return np.empty((0, 2 + len(DIMENSIONS)))
    return np.array(rows, dtype=float)


def configured_weights(win: Period, scope: Scope) -> dict[str, float]:
    """Mean configured W_d over the window's visits, as shares of their sum (in %)."""
    query = (
        select(VisitDimensionScore.dimension, func.avg(VisitDimensionScore.weight))
        .join(Visit, Visit.id == VisitDimensionScore.visit_id)
        .join(Store, Store.id == Visit.store_id)
        .where(*_ms_where(win, scope))
        .group_by(VisitDimensionScore.dimension)
    )
    weights = {d: float(w or 0) for d, w in db.session.execute(query)}
    total = sum(weights.values())
    return {d: w / total * 100 for d, w in weights.items()} if total else {}


def fit_drivers(data: np.ndarray, outcome: str, weights: dict[str, float] | None = None
                ) -> Drivers:
    """The key-driver regression of ``outcome`` (column 0 CSM, column 1 loyalty) on the
    dimension columns (2…) of ``data`` (``_driver_rows``); complete rows only."""
    y_col = 0 if outcome == "csm" else 1
    if data.size == 0:
        return Drivers(outcome, 0)
    sub = data[:, [y_col, *range(2, data.shape[1])]]
    sub = sub[~np.isnan(sub).any(axis=1)]
    n = int(sub.shape[0])
    if n < MIN_N:
        return Drivers(outcome, n)
    y, x = sub[:, 0], sub[:, 1:]
    beta, se, r2, keep, dof = standardised_ols(x, y)
    t = float(stats.t.ppf(0.95, dof)) if dof > 0 else float("nan")
    kept = [d for d, k in zip(DIMENSIONS, keep, strict=True) if k]
    positive = sum(max(float(b), 0.0) for b in beta) or 1.0
    coefficients = []
    for i, d in enumerate(kept):
        column = x[:, DIMENSIONS.index(d)]
        r = float(np.corrcoef(column, y)[0, 1]) if y.std() > 0 else 0.0
        b = float(beta[i])
        coefficients.append(Coefficient(
            d, b, b - t * float(se[i]), b + t * float(se[i]), r,
            importance=max(b, 0.0) / positive * 100,
            weight=(weights or {}).get(d)))
    constant = [d for d, k in zip(DIMENSIONS, keep, strict=True) if not k]
    return Drivers(outcome, n, coefficients, r2, constant)


def key_drivers(win: Period, scope: Scope = BRAND) -> dict[str, Drivers]:
    """Drivers of the CSM and of the loyalty answer over the window's visits in scope."""
    data = _driver_rows(win, scope)
    weights = configured_weights(win, scope)
    return {"csm": fit_drivers(data, "csm", weights),
            "loyalty": fit_drivers(data, "loyalty", weights)}


@dataclass(frozen=True)
class ItemDriver:
    item_code: str
    dimension: str
    text: str
    text_zh: str
    item_type: str
    n: int
    r: float | None
    low: float | None
    high: float | None

    @property
    def part_of_csm(self) -> bool:
        """A satisfaction-scale item is itself part of the CSM (its r is inflated)."""
        return self.item_type == scoring.SCALE7


def correlation(n: int, sx: float, sy: float, sxx: float, syy: float, sxy: float
                ) -> tuple[float, float, float] | None:
    """Pearson r from sums, with its 90 % interval (Fisher z: tanh(atanh r ± 1.645/√(n−3)));
    None below ``MIN_N`` or without variation."""
    if n < MIN_N:
        return None
    vx, vy = n * sxx - sx * sx, n * syy - sy * sy
    if vx <= 1e-9 * max(1.0, n * sxx) or vy <= 1e-9 * max(1.0, n * syy):
        return None
    r = (n * sxy - sx * sy) / math.sqrt(vx * vy)
    r = max(-0.999999, min(0.999999, r))
    half = Z90 / math.sqrt(n - 3)
    z = math.atanh(r)
    return r, math.tanh(z - half), math.tanh(z + half)


def _item_sums(where: list, y) -> list:
    """Per item code (within its dimension): n, Σs, Σy, Σs², Σy², Σs·y over answered,
    non-N/A, not voided answers of the visits in ``where``."""
    s = cast(Answer.score, Float)
    yf = cast(y, Float)
    query = (
        select(
            Dimension.code, Item.code, func.max(Item.text), func.max(Item.text_zh),
            func.max(Item.item_type), func.count(Answer.id), func.sum(s), func.sum(yf),
            func.sum(s * s), func.sum(yf * yf), func.sum(s * yf),
        )
        .join(Visit, Visit.id == Answer.visit_id)
        .join(Store, Store.id == Visit.store_id)
        .join(Item, Item.id == Answer.item_id)
        .join(Dimension, Dimension.id == Item.dimension_id)
        .where(*where, Answer.na.is_(False), Answer.voided.is_(False),
               Answer.score.is_not(None), y.is_not(None))
        .group_by(Dimension.code, Item.code)
    )
    return db.session.execute(query).all()


def item_drivers(win: Period, scope: Scope = BRAND, outcome: str = "csm") -> list[ItemDriver]:
    """Each item's score against the visit's CSM (or loyalty): r with its interval and n,
    strongest first; items below ``MIN_N`` answers last, without a number."""
    y = Visit.csm if outcome == "csm" else Visit.loyalty
    out = []
    for dim, code, text, text_zh, item_type, n, sx, sy, sxx, syy, sxy in _item_sums(
            _ms_where(win, scope), y):
        found = correlation(int(n), float(sx or 0), float(sy or 0), float(sxx or 0),
                            float(syy or 0), float(sxy or 0))
        r, low, high = found if found else (None, None, None)
        out.append(ItemDriver(code, dim, text, text_zh or "", item_type, int(n), r, low, high))
    out.sort(key=lambda i: (i.r is None, -(i.r or 0.0), i.item_code))
    return out


# --- importance × performance ----------------------------------------------------------------


def dimension_means(win: Period, scope: Scope = BRAND) -> dict[str, tuple[float, int]]:
    """Mean S_d and its number of visits over the window, per dimension, in scope."""
    query = (
        select(VisitDimensionScore.dimension, func.avg(VisitDimensionScore.score),
               func.count(VisitDimensionScore.score))
        .join(Visit, Visit.id == VisitDimensionScore.visit_id)
        .join(Store, Store.id == Visit.store_id)
        .where(*_ms_where(win, scope))
        .group_by(VisitDimensionScore.dimension)
    )
    return {d: (float(m), int(n)) for d, m, n in db.session.execute(query) if m is not None}


@dataclass(frozen=True)
class IpaPoint:
    key: str
    importance: float
    performance: float
    n: int
    quadrant: str


@dataclass(frozen=True)
class Ipa:
    scope: Scope
    points: list[IpaPoint]
    importance_cut: float | None
    performance_cut: float | None
    #: whose drivers give the importance: "brand" or "region"
    importance_from: str = "brand"


def quadrant(importance: float, performance: float, importance_cut: float,
             performance_cut: float) -> str:
    important = importance >= importance_cut
    good = performance >= performance_cut
    if important:
        return "keep_up" if good else "concentrate"
    return "overkill" if good else "low_priority"


def importance_performance(win: Period, scope: Scope, drivers: Drivers,
                           brand_means: dict[str, tuple[float, int]] | None = None,
                           importance_from: str = "brand") -> Ipa:
    """Importance (β of ``drivers``) × performance (mean S_d in ``scope``), cut at the
    mean importance and the brand's mean dimension score."""
    brand_means = brand_means if brand_means is not None else dimension_means(win)
    means = brand_means if scope == BRAND else dimension_means(win, scope)
    if not drivers.enough or not brand_means:
        return Ipa(scope, [], None, None, importance_from)
    imp_cut = float(np.mean([c.beta for c in drivers.coefficients]))
    perf_cut = float(np.mean([m for m, _n in brand_means.values()]))
    points = [
        IpaPoint(c.key, c.beta, means[c.key][0], means[c.key][1],
                 quadrant(c.beta, means[c.key][0], imp_cut, perf_cut))
        for c in drivers.coefficients if c.key in means
    ]
    return Ipa(scope, points, imp_cut, perf_cut, importance_from)


# --- 2. loyalty -----------------------------------------------------------------------------


@dataclass(frozen=True)
class LoyaltyRow:
    id: int | None
    name: str
    answered: int
    satisfied: int
    satisfied_not_loyal: int
    loyal: int
    mean: float | None
    code: str = ""

    @property
    def share_not_loyal(self) -> float | None:
        """% of satisfied visits that are not loyal; None below ``MIN_SHARE_N``."""
        if self.satisfied < MIN_SHARE_N:
            return None
        return self.satisfied_not_loyal / self.satisfied * 100

    @property
    def loyal_share(self) -> float | None:
        return self.loyal / self.answered * 100 if self.answered >= MIN_SHARE_N else None


def loyalty_rows(win: Period, by: str = "brand", scope: Scope = BRAND) -> list[LoyaltyRow]:
    """Per brand, region or store: visits with a CSM and a loyalty answer, how many were
    satisfied, how many of those were not loyal, how many loyal, the mean answer."""
    answered = and_(Visit.csm.is_not(None), Visit.loyalty.is_not(None))
    satisfied = and_(answered, _satisfied(Visit.csm))
    cols = [
        func.count(case((answered, 1))),
        func.sum(case((satisfied, 1), else_=0)),
        func.sum(case((and_(satisfied, Visit.loyalty < loyalty.LOYAL_MIN), 1), else_=0)),
        func.sum(case((and_(answered, Visit.loyalty >= loyalty.LOYAL_MIN), 1), else_=0)),
        func.avg(case((answered, cast(Visit.loyalty, Float)))),
    ]
    where = _ms_where(win, scope)
    if by == "store":
        query = (select(Store.id, Store.name, Store.code, *cols)
                 .join(Store, Store.id == Visit.store_id).where(*where)
                 .group_by(Store.id, Store.name, Store.code))
    elif by == "region":
        query = (select(Region.id, Region.name, Region.code, *cols)
                 .join(Store, Store.id == Visit.store_id)
                 .join(Region, Region.id == Store.region_id).where(*where)
                 .group_by(Region.id, Region.name, Region.code).order_by(Region.code))
    else:
        query = (select(literal(None), literal(""), literal(""), *cols)
                 .join(Store, Store.id == Visit.store_id).where(*where))
    rows = []
    for gid, name, code, n, sat, snl, loyal, mean in db.session.execute(query):
        rows.append(LoyaltyRow(gid, name or "", int(n or 0), int(sat or 0), int(snl or 0),
                               int(loyal or 0), float(mean) if mean is not None else None,
                               code or ""))
    return [r for r in rows if r.answered or by == "brand"]


def stores_not_loyal(win: Period, scope: Scope = BRAND, limit: int = 15) -> list[LoyaltyRow]:
    """Stores with the most satisfied-but-not-loyal visits (share first where it can be
    shown)."""
    rows = [r for r in loyalty_rows(win, "store", scope) if r.satisfied_not_loyal]
    rows.sort(key=lambda r: (r.share_not_loyal is None, -(r.share_not_loyal or 0),
                             -r.satisfied_not_loyal, r.code))
    return rows[:limit]


# --- 3. triangulation -----------------------------------------------------------------------


@dataclass(frozen=True)
class Disagreement:
    store_id: int
    code: str
    name: str
    region: str
    month: str
    rule: str
    #: the figures behind it: ms, ms_quality, qa, qa_quality, qa_critical, complaints, p90
    figures: dict

    @property
    def reason(self) -> str:
        return str(RULES[self.rule])


def _by_store_month(query) -> dict[tuple[int, str], tuple]:
    return {(row[0], _label(row[1])): tuple(row[2:]) for row in db.session.execute(query)}


def triangulate(win: Period, scope: Scope = BRAND,
                config: scoring.ScoringConfig | None = None) -> list[Disagreement]:
    """Store-months where MS, QA and the hotline disagree (``RULES``): newest month first.

    "Excellent" and "needs improvement" are the BDI bands of ``config``; a complaint count
    is in the brand's top tenth when it is at least that month's 90th percentile over the
    stores with a mystery-shop score (and at least 1)."""
    config = config or scoring.DEFAULT_CONFIG
    excellent = config.bands[0][0]
    fair = config.bands[-1][0]
    base = [Visit.counted, win.includes(Visit.visit_date), Visit.score.is_not(None),
            Visit.store_id.is_not(None), analytics.counts_in(win)]
    month = _month_key(Visit.visit_date)
    ms = _by_store_month(
        select(Visit.store_id, month, func.avg(Visit.score))
        .join(Store, Store.id == Visit.store_id)
        .where(Visit.kind == MYSTERY, *base).group_by(Visit.store_id, month))
    quality = {}
    for kind in (MYSTERY, QA):
        quality[kind] = _by_store_month(
            select(Visit.store_id, month, func.avg(VisitDimensionScore.score))
            .join(Visit, Visit.id == VisitDimensionScore.visit_id)
            .join(Store, Store.id == Visit.store_id)
            .where(Visit.kind == kind, VisitDimensionScore.dimension == QUALITY, *base)
            .group_by(Visit.store_id, month))
    qa = _by_store_month(
        select(Visit.store_id, month, func.avg(Visit.score))
        .join(Store, Store.id == Visit.store_id)
        .where(Visit.kind == QA, *base).group_by(Visit.store_id, month))
    critical = _by_store_month(
        select(Visit.store_id, month, func.count(Answer.id))
        .join(Visit, Visit.id == Answer.visit_id)
        .join(Store, Store.id == Visit.store_id)
        .join(Item, Item.id == Answer.item_id)
        .join(Dimension, Dimension.id == Item.dimension_id)
        .where(Visit.kind == QA, *base, Dimension.code == QUALITY, Item.critical.is_(True),
               Answer.na.is_(False), Answer.voided.is_(False), Answer.score == 0)
        .group_by(Visit.store_id, month))
    c_month = _month_key(Complaint.received_on)
    complaints = _by_store_month(
        select(Complaint.store_id, c_month, func.count(Complaint.id))
        .join(Store, Store.id == Complaint.store_id)
        .where(win.includes(Complaint.received_on), analytics.counts_in(win))
        .group_by(Complaint.store_id, c_month))
    # the brand's 90th percentile of complaints per store, per month (stores with an MS)
    p90: dict[str, float] = {}
    months = sorted({m for _s, m in ms})
    for m in months:
        counts = np.array([complaints.get((s, mm), (0,))[0] for s, mm in ms if mm == m],
                          dtype=float)
        p90[m] = float(np.percentile(counts, 90)) if counts.size else math.inf
    keys = set(ms) | set(qa)
    if scope != BRAND:
        allowed_where = [Store.region_id == scope.region_id] if scope.region_id else []
        if scope.store_id:
            allowed_where.append(Store.id == scope.store_id)
        allowed = set(db.session.scalars(select(Store.id).where(*allowed_where)))
        keys = {k for k in keys if k[0] in allowed}
    found: list[tuple[int, str, str, dict]] = []
    for key in keys:
        store_id, m = key
        ms_v = ms.get(key, (None,))[0]
        ms_q = quality[MYSTERY].get(key, (None,))[0]
        qa_v = qa.get(key, (None,))[0]
        qa_q = quality[QA].get(key, (None,))[0]
        crit = int(critical.get(key, (0,))[0])
        n_c = int(complaints.get(key, (0,))[0])
        figures = {"ms": ms_v, "ms_quality": ms_q, "qa": qa_v, "qa_quality": qa_q,
                   "qa_critical": crit, "complaints": n_c, "p90": p90.get(m)}
        if (ms_q is not None and scoring.at_least(ms_q, excellent) and qa_v is not None
                and (crit > 0 or (qa_q is not None and not scoring.at_least(qa_q, fair)))):
            found.append((store_id, m, "ms_quality_vs_qa", figures))
        if (ms_v is not None and scoring.at_least(ms_v, excellent) and n_c >= 1
                and n_c >= p90.get(m, math.inf)):
            found.append((store_id, m, "ms_vs_hotline", figures))
        if (ms_v is not None and not scoring.at_least(ms_v, fair) and qa_v is not None
                and scoring.at_least(qa_v, excellent) and n_c == 0):
            found.append((store_id, m, "ms_low_vs_qa_hl", figures))
    if not found:
        return []
    names = {
        sid: (code, name, region)
        for sid, code, name, region in db.session.execute(
            select(Store.id, Store.code, Store.name, Region.name)
            .join(Region, Region.id == Store.region_id)
            .where(Store.id.in_({f[0] for f in found})))
    }
    out = [Disagreement(sid, *names[sid], m, rule, figures)
           for sid, m, rule, figures in found]
    out.sort(key=lambda d: (d.month, d.code, d.rule))
    out.sort(key=lambda d: d.month, reverse=True)
    return out


def flagged_stores(flags: list[Disagreement]) -> list[tuple[str, str, list[Disagreement]]]:
    """The flags per store: (code, name, its flags newest first), most flags first."""
    by_store: dict[str, list[Disagreement]] = {}
    for f in flags:
        by_store.setdefault(f.code, []).append(f)
    return sorted(((code, fs[0].name, fs) for code, fs in by_store.items()),
                  key=lambda t: (-len(t[2]), t[0]))


# --- 4. competitors -------------------------------------------------------------------------


@dataclass(frozen=True)
class Gap:
    competitor: str
    dimension: str  # a dimension code, or "overall" (the visit score V)
    ours: float
    theirs: float
    n_ours: int
    n_theirs: int
    half_width: float

    @property
    def gap(self) -> float:
        return self.ours - self.theirs

    @property
    def significant(self) -> bool:
        return abs(self.gap) > self.half_width

    @property
    def verdict(self) -> str:
        """lead, trail or level (no clear difference)."""
        if not self.significant:
            return "level"
        return "lead" if self.gap > 0 else "trail"


def competitor_gaps(win: Period, region_id: int | None = None) -> list[Gap]:
    """Per competitor chain and dimension (and overall): our mean minus theirs with both
    n, significant when |gap| > Z90·σ·√(1/n_ours + 1/n_theirs), σ the visit-to-visit
    spread of that dimension (of V for overall) in our own stores over the window."""
    scope = Scope(region_id=region_id)
    sq = VisitDimensionScore.score * VisitDimensionScore.score
    ours = {
        d: (float(m), int(n), float(m2))
        for d, m, n, m2 in db.session.execute(
            select(VisitDimensionScore.dimension, func.avg(VisitDimensionScore.score),
                   func.count(VisitDimensionScore.score), func.avg(sq))
            .join(Visit, Visit.id == VisitDimensionScore.visit_id)
            .join(Store, Store.id == Visit.store_id)
            .where(*_ms_where(win, scope)).group_by(VisitDimensionScore.dimension))
        if m is not None
    }
    overall = db.session.execute(
        select(func.avg(Visit.score), func.count(Visit.id), func.avg(Visit.score * Visit.score))
        .join(Store, Store.id == Visit.store_id).where(*_ms_where(win, scope))).one()
    if overall[0] is not None:
        ours["overall"] = (float(overall[0]), int(overall[1]), float(overall[2]))
    comp_where = [Visit.kind == COMPETITOR, Visit.counted, win.includes(Visit.visit_date),
                  Visit.score.is_not(None), Visit.competitor_id.is_not(None)]
    if region_id is not None:
        comp_where.append(CompetitorStore.region_id == region_id)
    theirs = list(db.session.execute(
        select(CompetitorStore.competitor, VisitDimensionScore.dimension,
               func.avg(VisitDimensionScore.score), func.count(VisitDimensionScore.score))
        .join(Visit, Visit.id == VisitDimensionScore.visit_id)
        .join(CompetitorStore, CompetitorStore.id == Visit.competitor_id)
        .where(*comp_where)
        .group_by(CompetitorStore.competitor, VisitDimensionScore.dimension)))
    theirs += list(db.session.execute(
        select(CompetitorStore.competitor, literal("overall"), func.avg(Visit.score),
               func.count(Visit.id))
        .join(CompetitorStore, CompetitorStore.id == Visit.competitor_id)
        .where(*comp_where).group_by(CompetitorStore.competitor)))
    gaps = []
    order = {d: i for i, d in enumerate(("overall", *DIMENSIONS))}
    for name, dim, mean, n in theirs:
        if mean is None or dim not in ours or not n:
            continue
        m, n_o, m2 = ours[dim]
        sigma = math.sqrt(max(m2 - m * m, 0.0) * n_o / (n_o - 1)) if n_o > 1 else 15.0
        half = Z90 * sigma * math.sqrt(1 / n_o + 1 / int(n))
        gaps.append(Gap(name, dim, m, float(mean), n_o, int(n), half))
    gaps.sort(key=lambda g: (g.competitor, order.get(g.dimension, 99)))
    return gaps


# --- 5. item health -------------------------------------------------------------------------


@dataclass(frozen=True)
class ItemHealth:
    item_id: int
    code: str
    dimension: str
    text: str
    text_zh: str
    item_type: str
    answers: int
    na: int
    answered: int
    #: answers with full marks (s = 100)
    full: int
    #: answers failed (SCORING.md §8)
    failed: int
    upheld: int
    r: float | None
    r_low: float | None
    r_high: float | None

    @property
    def full_share(self) -> float | None:
        return self.full / self.answered if self.answered else None

    @property
    def failed_share(self) -> float | None:
        return self.failed / self.answered if self.answered else None

    @property
    def na_share(self) -> float | None:
        return self.na / self.answers if self.answers else None

    @property
    def flags(self) -> list[str]:
        out = []
        if self.answered >= MIN_N:
            if (self.full_share or 0) >= ALWAYS_SHARE:
                out.append("always")
            elif (self.failed_share or 0) >= ALWAYS_SHARE:
                out.append("never")
        if self.answers >= MIN_N and (self.na_share or 0) >= OFTEN_NA_SHARE:
            out.append("often_na")
        if self.upheld >= MANY_DISPUTES:
            out.append("disputes")
        if self.r_high is not None and self.r_high < 0:
            out.append("contradicts")
        if self.answers < MIN_N:
            out.append("few")
        return out


@dataclass(frozen=True)
class VersionHealth:
    questionnaire_id: int
    code: str
    name: str
    version: int
    kind: str
    visits: int
    items: list[ItemHealth]

    @property
    def flagged(self) -> list[ItemHealth]:
        return [i for i in self.items if i.flags]


def item_health(win: Period) -> list[VersionHealth]:
    """Every questionnaire version with counted visits in the window (mystery, QA and
    competitor), each item's pass rate, N/A share, upheld disputes, and (mystery visits)
    the correlation of its score with the visit's CSM."""
    where = [Visit.counted, win.includes(Visit.visit_date), Visit.score.is_not(None)]
    answered = and_(Answer.na.is_(False), Answer.voided.is_(False),
                    Answer.score.is_not(None))
    failed = and_(answered, or_(Answer.score == 0,
                                and_(Item.item_type == scoring.SCALE7, Answer.value < 0)))
    with_csm = and_(answered, Visit.csm.is_not(None), Visit.kind == MYSTERY)
    s = cast(Answer.score, Float)
    y = cast(Visit.csm, Float)
    query = (
        select(
            Item.id, func.count(Answer.id),
            func.sum(case((Answer.na.is_(True), 1), else_=0)),
            func.sum(case((answered, 1), else_=0)),
            func.sum(case((failed, 1), else_=0)),
            func.sum(case((and_(answered, Answer.score >= 100), 1), else_=0)),
            func.sum(case((with_csm, 1), else_=0)),
            func.sum(case((with_csm, s), else_=0.0)), func.sum(case((with_csm, y), else_=0.0)),
            func.sum(case((with_csm, s * s), else_=0.0)),
            func.sum(case((with_csm, y * y), else_=0.0)),
            func.sum(case((with_csm, s * y), else_=0.0)),
        )
        .join(Visit, Visit.id == Answer.visit_id)
        .join(Item, Item.id == Answer.item_id)
        .where(*where)
        .group_by(Item.id)
    )
    sums = {row[0]: row[1:] for row in db.session.execute(query)}
    if not sums:
        return []
    upheld = dict(db.session.execute(
        select(Answer.item_id, func.count(Dispute.id))
        .join(Answer, Answer.id == Dispute.answer_id)
        .join(Visit, Visit.id == Dispute.visit_id)
        .where(Dispute.status == DISPUTE_UPHELD, *where, Answer.item_id.in_(list(sums)))
        .group_by(Answer.item_id)).all())
    visits = dict(db.session.execute(
        select(Visit.questionnaire_id, func.count(Visit.id)).where(*where)
        .group_by(Visit.questionnaire_id)).all())
    items = db.session.execute(
        select(Item.id, Item.code, Item.text, Item.text_zh, Item.item_type, Dimension.code,
               Questionnaire.id, Questionnaire.code, Questionnaire.name,
               Questionnaire.version, Questionnaire.kind)
        .join(Dimension, Dimension.id == Item.dimension_id)
        .join(Questionnaire, Questionnaire.id == Dimension.questionnaire_id)
        .where(Item.id.in_(list(sums)))
        .order_by(Questionnaire.code, Questionnaire.version, Dimension.position,
                  Item.position)).all()
    versions: dict[int, VersionHealth] = {}
    for item_id, code, text, text_zh, item_type, dim, qid, qcode, qname, version, kind in items:
        total, na, n_answered, n_failed, n_full, n, sx, sy, sxx, syy, sxy = sums[item_id]
        found = correlation(int(n or 0), float(sx or 0), float(sy or 0), float(sxx or 0),
                            float(syy or 0), float(sxy or 0))
        r, low, high = found if found else (None, None, None)
        vh = versions.setdefault(qid, VersionHealth(qid, qcode, qname, version, kind,
                                                    int(visits.get(qid, 0)), []))
        vh.items.append(ItemHealth(
            item_id, code, dim, text, text_zh or "", item_type, int(total or 0),
            int(na or 0), int(n_answered or 0), int(n_full or 0), int(n_failed or 0),
            int(upheld.get(item_id, 0)), r, low, high))
    return list(versions.values())


# --- everything for a page, the API and the report --------------------------------------------


@dataclass
class Insights:
    month: Period
    window: Period
    months: int
    scope: Scope
    drivers: dict[str, Drivers]
    importance_from: str
    items: list[ItemDriver]
    ipa: Ipa
    loyalty_total: LoyaltyRow | None
    loyalty_regions: list[LoyaltyRow]
    loyalty_stores: list[LoyaltyRow]
    flags: list[Disagreement]
    gaps: list[Gap] = field(default_factory=list)
    health: list[VersionHealth] = field(default_factory=list)


def build(month: Period, months: int = DEFAULT_MONTHS, scope: Scope = BRAND, *,
          hq: bool = True, config: scoring.ScoringConfig | None = None) -> Insights:
    """All sections for ``scope`` over the window ending with ``month``. ``hq``: also
    the competitor gaps and item health (HQ only)."""
    win = window(month, months)
    brand_drivers = key_drivers(win, BRAND)
    drivers, source = brand_drivers, "brand"
    if scope.region_id is not None and scope.store_id is None:
        own = key_drivers(win, scope)
        if own["csm"].enough:
            drivers, source = own, "region"
    brand_means = dimension_means(win)
    ipa = importance_performance(win, scope, drivers["csm"], brand_means, source)
    item_scope = scope if source == "region" else BRAND
    total = loyalty_rows(win, "brand", scope)
    loyalty_scope = Scope(region_id=scope.region_id) if scope.store_id else scope
    return Insights(
        month=month, window=win, months=months, scope=scope,
        drivers=drivers, importance_from=source,
        items=item_drivers(win, item_scope),
        ipa=ipa,
        loyalty_total=total[0] if total else None,
        loyalty_regions=loyalty_rows(win, "region", loyalty_scope),
        loyalty_stores=stores_not_loyal(win, loyalty_scope),
        flags=triangulate(win, scope, config),
        gaps=competitor_gaps(win, scope.region_id) if hq else [],
        health=item_health(win) if hq else [],
    )


def _num(value: float | None, digits: int = 3) -> float | None:
    return None if value is None or not math.isfinite(value) else round(value, digits)


def to_json(ins: Insights) -> dict:
    """The API's answer (``/api/hq/insights``)."""

    def drivers_json(d: Drivers) -> dict:
        return {
            "outcome": d.outcome, "n": d.n, "enough": d.enough, "min_n": MIN_N,
            "r2": _num(d.r2) if d.enough else None, "constant": d.constant,
            "coefficients": [
                {"dimension": c.key, "beta": _num(c.beta), "interval": [_num(c.low),
                                                                        _num(c.high)],
                 "r": _num(c.r), "importance_pct": _num(c.importance, 1),
                 "weight_pct": _num(c.weight, 1), "n": d.n}
                for c in d.coefficients
            ] if d.enough else [],
        }

    def loyalty_json(r: LoyaltyRow) -> dict:
        return {"id": r.id, "code": r.code or None, "name": r.name, "answered": r.answered,
                "satisfied": r.satisfied, "satisfied_not_loyal": r.satisfied_not_loyal,
                "share_not_loyal_pct": _num(r.share_not_loyal, 1), "loyal": r.loyal,
                "mean": _num(r.mean, 2)}

    return {
        "month": ins.month.label,
        "window": {"from": f"{ins.window.start:%Y-%m}",
                   "to": f"{ins.month.start:%Y-%m}", "months": ins.months},
        "scope": {"type": ins.scope.kind, "region": ins.scope.region_id,
                  "store": ins.scope.store_id},
        "minimum_sample": {"drivers": MIN_N, "share": MIN_SHARE_N},
        "loyal_from": loyalty.LOYAL_MIN,
        "drivers": {k: drivers_json(d) for k, d in ins.drivers.items()},
        "importance_from": ins.importance_from,
        "items": [{"item": i.item_code, "dimension": i.dimension, "type": i.item_type,
                   "n": i.n, "r": _num(i.r),
                   "interval": [_num(i.low), _num(i.high)] if i.r is not None else None,
                   "part_of_csm": i.part_of_csm} for i in ins.items],
        "importance_performance": {
            "importance_cut": _num(ins.ipa.importance_cut),
            "performance_cut": _num(ins.ipa.performance_cut, 2),
            "points": [{"dimension": p.key, "importance": _num(p.importance),
                        "performance": _num(p.performance, 2), "n": p.n,
                        "quadrant": p.quadrant} for p in ins.ipa.points],
        },
        "loyalty": {
            "total": loyalty_json(ins.loyalty_total) if ins.loyalty_total else None,
            "regions": [loyalty_json(r) for r in ins.loyalty_regions],
            "stores": [loyalty_json(r) for r in ins.loyalty_stores],
        },
        "triangulation": [
            {"store": f.code, "name": f.name, "region": f.region, "month": f.month,
             "rule": f.rule, "reason": f.reason,
             "figures": {k: (_num(v, 2) if isinstance(v, float) else v)
                         for k, v in f.figures.items()}}
            for f in ins.flags
        ],
        "competitors": [
            {"competitor": g.competitor, "dimension": g.dimension, "ours": _num(g.ours, 2),
             "theirs": _num(g.theirs, 2), "gap": _num(g.gap, 2), "n_ours": g.n_ours,
             "n_theirs": g.n_theirs, "half_width": _num(g.half_width, 2),
             "significant": g.significant, "verdict": g.verdict}
            for g in ins.gaps
        ],
        "item_health": [
            {"questionnaire": v.code, "version": v.version, "name": v.name, "kind": v.kind,
             "visits": v.visits,
             "items": [{"item": i.code, "dimension": i.dimension, "type": i.item_type,
                        "answers": i.answers, "na": i.na, "answered": i.answered,
                        "full_marks": i.full, "failed": i.failed,
                        "upheld_disputes": i.upheld, "r": _num(i.r),
                        "flags": i.flags} for i in v.items]}
            for v in ins.health
        ],
    }


def default_month() -> Period:
    return Period.month(analytics.latest_month())


def today_month() -> Period:
    return Period.month(f"{date.today():%Y-%m}")
