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
  dimension are left out. Needs ``MIN_N`` visits, else "too few visits". SQL returns the
  moments (n, Σv, Σvvᵀ) in one row; the regression is computed from them.
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
import time
from dataclasses import dataclass, field

import numpy as np
from flask import current_app
from flask_babel import lazy_gettext as _l
from scipy import stats
from sqlalchemy import Float, Integer, and_, case, cast, func, literal, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlalchemy.sql.functions import FunctionElement

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


class _month_key(FunctionElement):
    """SQL: a date's month as the number YYYYMM (both databases). On SQLite, where a date
    is its ISO text, read from the text: ``extract`` there is two ``strftime`` calls, the
    larger part of the triangulation's per-visit work."""

    type = Integer()
    inherit_cache = True


@compiles(_month_key)
def _month_key_sql(element, compiler, **kw) -> str:
    column = compiler.process(element.clauses, **kw)
    return f"(EXTRACT(YEAR FROM {column}) * 100 + EXTRACT(MONTH FROM {column}))"


@compiles(_month_key, "sqlite")
def _month_key_sqlite(element, compiler, **kw) -> str:
    column = compiler.process(element.clauses, **kw)
    return (f"(CAST(substr({column}, 1, 4) AS INTEGER) * 100"
            f" + CAST(substr({column}, 6, 2) AS INTEGER))")


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


def fit_moments(n: int, sums: np.ndarray, cross: np.ndarray, outcome: str,
                weights: dict[str, float] | None = None) -> Drivers:
    """The key-driver regression from the moments of (y, S_speed, …, S_cleanliness) over
    ``n`` complete visits: ``sums`` Σv (k + 1), ``cross`` Σvvᵀ ((k + 1) × (k + 1)).

    Ordinary least squares on standardised variables is a function of their correlation
    matrix R alone: β = R_xx⁻¹ r_xy, R² = r_xyᵀβ, Var(β) = (1 − R²)/(n − k − 1) · R_xx⁻¹
    (exactly what least squares on the z-scores gives); numpy does the algebra."""
    if n < MIN_N:
        return Drivers(outcome, n)
    mean = sums / n
    cov = (cross - n * np.outer(mean, mean)) / (n - 1)
    sd = np.sqrt(np.clip(np.diag(cov), 0, None))
    x_sd = sd[1:]
    keep = x_sd > 1e-9 * max(1.0, float(np.abs(mean[1:]).max()))
    constant = [d for d, k in zip(DIMENSIONS, keep, strict=True) if not k]
    if sd[0] <= 1e-12 or not keep.any():
        return Drivers(outcome, n, [], None, constant)
    idx = np.concatenate([[0], 1 + np.flatnonzero(keep)])
    corr = cov[np.ix_(idx, idx)] / np.outer(sd[idx], sd[idx])
    r_xx, r_xy = corr[1:, 1:], corr[1:, 0]
    inverse = np.linalg.pinv(r_xx)
    beta = inverse @ r_xy
    r2 = float(r_xy @ beta)
    k = int(keep.sum())
    dof = n - k - 1
    if dof <= 0:
        return Drivers(outcome, n, [], None, constant)
    se = np.sqrt(np.clip(np.diag(inverse) * max(1.0 - r2, 0.0) / dof, 0, None))
    t = float(stats.t.ppf(0.95, dof))
    kept = [d for d, k_ in zip(DIMENSIONS, keep, strict=True) if k_]
    positive = sum(max(float(b), 0.0) for b in beta) or 1.0
    coefficients = [
        Coefficient(d, float(b), float(b - t * e), float(b + t * e), float(r),
                    importance=max(float(b), 0.0) / positive * 100,
                    weight=(weights or {}).get(d))
        for d, b, e, r in zip(kept, beta, se, r_xy, strict=True)
    ]
    return Drivers(outcome, n, coefficients, r2, constant)


def fit_drivers(data: np.ndarray, outcome: str, weights: dict[str, float] | None = None
                ) -> Drivers:
    """``fit_moments`` on a matrix of visits: column 0 CSM, 1 loyalty, 2… the dimension
    scores (NaN for missing); complete rows only. (Tests and small samples; the pages
    take the moments from SQL, ``_driver_moments``.)"""
    y_col = 0 if outcome == "csm" else 1
    if data.size == 0:
        return Drivers(outcome, 0)
    sub = data[:, [y_col, *range(2, data.shape[1])]]
    sub = sub[~np.isnan(sub).any(axis=1)]
    return fit_moments(int(sub.shape[0]), sub.sum(axis=0), sub.T @ sub, outcome, weights)


def _driver_moments(win: Period, scope: Scope) -> dict[str, tuple[int, np.ndarray, np.ndarray]]:
    """n, Σv and Σvvᵀ of (outcome, S_d …) over the complete visits (a CSM and five
    dimension scores), for the CSM and for the loyalty answer (those with one). SQL
    returns the moments of (CSM, loyalty, S_d …) in two rows, visits without and with a
    loyalty answer (each dimension joined by its key, no row per visit leaves the
    database): the CSM's are the two rows' sum, the loyalty's the second row's."""
    scores = {d: aliased(VisitDimensionScore, name=f"s_{d}") for d in DIMENSIONS}
    xs = [scores[d].score for d in DIMENSIONS]
    loyal = cast(Visit.loyalty, Float)
    values = [Visit.csm, loyal, *xs]
    size = len(values)
    rows, cols = np.triu_indices(size)
    has_loyalty = loyal.is_not(None)
    query = (
        select(has_loyalty, func.count(), *[func.sum(v) for v in values],
               *[func.sum(values[a] * values[b]) for a, b in zip(rows, cols, strict=True)])
        .select_from(Visit).join(Store, Store.id == Visit.store_id)
    )
    for d in DIMENSIONS:
        query = query.join(scores[d], and_(scores[d].visit_id == Visit.id,
                                           scores[d].dimension == d))
    # complete visits: a CSM and all five dimension scores (the inner joins)
    query = query.where(Visit.csm.is_not(None), *_ms_where(win, scope)).group_by(has_loyalty)
    groups = {}
    for answered, n, *figures in db.session.execute(query):
        figures = [float(v or 0) for v in figures]
        cross = np.zeros((size, size))
        cross[rows, cols] = figures[size:]
        groups[bool(answered)] = (int(n), np.array(figures[:size]),
                                  cross + np.triu(cross, 1).T)
    empty = (0, np.zeros(size), np.zeros((size, size)))
    without, with_ = groups.get(False, empty), groups.get(True, empty)
    out = {}
    for name, (n, sums, cross), y in (
        ("csm", [a + b for a, b in zip(without, with_, strict=True)], 0),
        ("loyalty", with_, 1),
    ):
        keep = [y, *range(2, size)]
        out[name] = (int(n), sums[keep], cross[np.ix_(keep, keep)])
    return out


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


def key_drivers(win: Period, scope: Scope = BRAND,
                weights: dict[str, float] | None = None) -> dict[str, Drivers]:
    """Drivers of the CSM and of the loyalty answer over the window's visits in scope
    (``weights``: the configured shares, when the caller has them)."""
    moments = _driver_moments(win, scope)
    weights = weights if weights is not None else configured_weights(win, scope)
    return {name: fit_moments(n, sums, cross, name, weights)
            for name, (n, sums, cross) in moments.items()}


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


def _answer_sums(win: Period, scope: Scope = BRAND) -> dict[int, list[float]]:
    """One pass over the window's answers, per item id: [answers, N/A, answered (not N/A,
    not voided), failed (SCORING.md §8), full marks, then over the mystery visits in
    ``scope`` with a CSM: n, Σs, Σy, Σs², Σy², Σs·y (y the visit's CSM)]. Item health
    (every counted visit) and the item drivers (mystery visits in scope) share it.

    The window's visits come first, each with y (its CSM when it is in ``scope``, else
    NULL); the answers are then grouped by item and by their N/A and voided flags, in
    the order of ``ix_answers_item_pass``, which holds every column read. SQLite
    materialises the visits once, walks that index and looks each answer's visit up:
    no sort, no per-answer test of the visit's scope (the NULLs of y and of s do the
    filtering). PostgreSQL plans the CTE inline (materialised, it would lose its
    parallel hash join)."""
    in_scope = [Visit.kind == MYSTERY, Visit.store_id.is_not(None), analytics.counts_in(win),
                Visit.csm.is_not(None)]
    if scope.region_id is not None:
        in_scope.append(Store.region_id == scope.region_id)
    if scope.store_id is not None:
        in_scope.append(Visit.store_id == scope.store_id)
    visits = (
        select(Visit.id, case((and_(*in_scope), cast(Visit.csm, Float))).label("y"))
        .outerjoin(Store, Store.id == Visit.store_id)
        .where(Visit.counted, win.includes(Visit.visit_date), Visit.score.is_not(None))
        .cte("window_visits").prefix_with("MATERIALIZED", dialect="sqlite")
    )
    s, y = cast(Answer.score, Float), visits.c.y
    s_in_scope = case((y.is_not(None), s))  # s of a visit in scope
    y_answered = case((Answer.score.is_not(None), y))  # y of an answered item
    query = (
        select(
            Answer.item_id, Answer.na, Answer.voided, func.count(),
            func.count(Answer.score), func.count(case((Answer.score == 0, 1))),
            func.count(case((and_(Answer.value < 0, Answer.score != 0), 1))),
            func.count(case((Answer.score >= 100, 1))),
            func.count(s * y), func.sum(s_in_scope), func.sum(y_answered),
            func.sum(s_in_scope * s), func.sum(y_answered * y), func.sum(s * y),
        )
        # "+ 0": the visit is looked up for each answer; the answers are not fetched
        # visit by visit (through ix_answers_visit_id), which would need a sort by item
        .join(visits, visits.c.id == Answer.visit_id + 0)
        .group_by(Answer.item_id, Answer.na, Answer.voided)
    )
    sums: dict[int, list[float]] = {}
    below_neutral: dict[int, int] = {}
    for item_id, na, voided, total, scored, zero, below, full, *moments in \
            db.session.execute(query):
        entry = sums.setdefault(item_id, [0.0] * 11)
        entry[0] += total
        if na:
            entry[1] += total
        elif not voided:  # answered: those with a score
            entry[2:11] = [float(v or 0) for v in (scored, zero, full, *moments)]
            below_neutral[item_id] = below
    # failed (SCORING.md §8): s = 0, or a satisfaction level below neutral (x < 0)
    for item_id in db.session.scalars(select(Item.id).where(
            Item.id.in_(list(below_neutral)), Item.item_type == scoring.SCALE7)):
        sums[item_id][3] += below_neutral[item_id]
    return sums


def _item_meta(item_ids) -> list:
    """Items with their dimension and questionnaire version, in questionnaire order."""
    if not item_ids:
        return []
    return db.session.execute(
        select(Item.id, Item.code, Item.text, Item.text_zh, Item.item_type, Dimension.code,
               Questionnaire.id, Questionnaire.code, Questionnaire.name,
               Questionnaire.version, Questionnaire.kind)
        .join(Dimension, Dimension.id == Item.dimension_id)
        .join(Questionnaire, Questionnaire.id == Dimension.questionnaire_id)
        .where(Item.id.in_(list(item_ids)))
        .order_by(Questionnaire.code, Questionnaire.version, Dimension.position,
                  Item.position)).all()


def item_drivers(win: Period, scope: Scope = BRAND, *, sums: dict | None = None,
                 meta: list | None = None) -> list[ItemDriver]:
    """Each item (by its code, across questionnaire versions) against the visit's CSM:
    r with its 90 % interval and n, strongest first; items below ``MIN_N`` answers last,
    without a number."""
    sums = sums if sums is not None else _answer_sums(win, scope)
    meta = meta if meta is not None else _item_meta(sums)
    merged: dict[tuple[str, str], list] = {}
    for item_id, code, text, text_zh, item_type, dim, *_version in meta:
        if item_id not in sums:
            continue
        entry = merged.setdefault((dim, code), [text, text_zh or "", item_type,
                                                np.zeros(6)])
        entry[3] += np.array(sums[item_id][5:11])
    out = []
    for (dim, code), (text, text_zh, item_type, moments) in merged.items():
        n = int(moments[0])
        if not n:
            continue
        found = correlation(n, *map(float, moments[1:]))
        r, low, high = found if found else (None, None, None)
        out.append(ItemDriver(code, dim, text, text_zh, item_type, n, r, low, high))
    out.sort(key=lambda i: (i.r is None, -(i.r or 0.0), i.item_code))
    return out


# --- importance × performance ----------------------------------------------------------------


def dimension_moments(win: Period, scope: Scope = BRAND
                      ) -> dict[str, tuple[float, int, float, float]]:
    """Mean S_d, its number of visits, the mean of S_d² and the mean configured weight
    W_d over the window, per dimension, in scope (one pass: the IPA's performance, the
    competitor gaps' σ and the configured weights)."""
    score = VisitDimensionScore.score
    query = (
        select(VisitDimensionScore.dimension, func.avg(score), func.count(score),
               func.avg(score * score), func.avg(VisitDimensionScore.weight))
        .join(Visit, Visit.id == VisitDimensionScore.visit_id)
        .join(Store, Store.id == Visit.store_id)
        .where(*_ms_where(win, scope))
        .group_by(VisitDimensionScore.dimension)
    )
    return {d: (float(m), int(n), float(m2), float(w or 0))
            for d, m, n, m2, w in db.session.execute(query) if m is not None}


def weight_shares(moments: dict) -> dict[str, float]:
    """The configured dimension weights of ``dimension_moments`` as shares (in %)."""
    total = sum(w for *_rest, w in moments.values())
    return {d: w / total * 100 for d, (*_rest, w) in moments.items()} if total else {}


def dimension_means(win: Period, scope: Scope = BRAND,
                    moments: dict | None = None) -> dict[str, tuple[float, int]]:
    """Mean S_d and its number of visits over the window, per dimension, in scope."""
    moments = moments if moments is not None else dimension_moments(win, scope)
    return {d: (m, n) for d, (m, n, *_rest) in moments.items()}


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


def _loyalty_by_store(win: Period, scope: Scope = BRAND) -> list[tuple]:
    """Per store in scope: (store id, code, name, region id, region code, region name,
    answered, satisfied, satisfied not loyal, loyal, Σ answers)."""
    answered = and_(Visit.csm.is_not(None), Visit.loyalty.is_not(None))
    satisfied = and_(answered, _satisfied(Visit.csm))
    query = (
        select(Store.id, Store.code, Store.name, Region.id, Region.code, Region.name,
               func.count(case((answered, 1))),
               func.sum(case((satisfied, 1), else_=0)),
               func.sum(case((and_(satisfied, Visit.loyalty < loyalty.LOYAL_MIN), 1),
                             else_=0)),
               func.sum(case((and_(answered, Visit.loyalty >= loyalty.LOYAL_MIN), 1),
                             else_=0)),
               func.sum(case((answered, cast(Visit.loyalty, Float)), else_=0.0)))
        .join(Store, Store.id == Visit.store_id)
        .join(Region, Region.id == Store.region_id)
        .where(*_ms_where(win, scope))
        # by the two keys (the names follow from them): the sort stays narrow
        .group_by(Store.id, Region.id)
    )
    return [tuple(row) for row in db.session.execute(query)]


def loyalty_rows(win: Period, by: str = "brand", scope: Scope = BRAND,
                 stores: list[tuple] | None = None) -> list[LoyaltyRow]:
    """Per brand, region or store: visits with a CSM and a loyalty answer, how many were
    satisfied, how many of those were not loyal, how many loyal, the mean answer. One
    query per store (``_loyalty_by_store``, or ``stores`` when the caller has it); the
    regions and the brand are their stores' sums."""
    stores = stores if stores is not None else _loyalty_by_store(win, scope)
    groups: dict[object, list] = {}
    for sid, code, name, rid, rcode, rname, n, sat, snl, loyal, total in stores:
        key, label, gcode = {"store": (sid, name, code), "region": (rid, rname, rcode),
                             "brand": (None, "", "")}[by]
        entry = groups.setdefault(key, [label, gcode, 0, 0, 0, 0, 0.0])
        for index, value in enumerate((n, sat, snl, loyal, total), start=2):
            entry[index] += value or 0
    if by == "brand" and not groups:
        groups[None] = ["", "", 0, 0, 0, 0, 0.0]
    rows = [LoyaltyRow(key, label, int(n), int(sat), int(snl), int(loyal),
                       float(total) / n if n else None, gcode)
            for key, (label, gcode, n, sat, snl, loyal, total) in groups.items()]
    rows.sort(key=lambda r: r.code)
    return [r for r in rows if r.answered or by == "brand"]


def stores_not_loyal(win: Period, scope: Scope = BRAND, limit: int = 15,
                     stores: list[tuple] | None = None) -> list[LoyaltyRow]:
    """Stores with the most satisfied-but-not-loyal visits (share first where it can be
    shown)."""
    rows = [r for r in loyalty_rows(win, "store", scope, stores) if r.satisfied_not_loyal]
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


def triangulate(win: Period, scope: Scope = BRAND,
                config: scoring.ScoringConfig | None = None) -> list[Disagreement]:
    """Store-months where MS, QA and the hotline disagree (``RULES``): newest month first.

    "Excellent" and "needs improvement" are the BDI bands of ``config``; a complaint count
    is in the brand's top tenth when it is at least that month's 90th percentile over the
    brand's stores (those counting in the window; no complaint counts 0), and at least 1.
    Everything is aggregated and the rules are applied in SQL; only the flagged
    store-months leave the database (the 90th percentiles come from a small
    count-of-counts query, numpy ``percentile``)."""
    config = config or scoring.DEFAULT_CONFIG
    excellent = config.bands[0][0]
    fair = config.bands[-1][0]
    base = [Visit.counted, win.includes(Visit.visit_date), Visit.score.is_not(None),
            Visit.store_id.is_not(None), analytics.counts_in(win)]
    month = _month_key(Visit.visit_date)

    def per_store_month(kind: str):
        quality_score = aliased(VisitDimensionScore)
        return (
            select(Visit.store_id.label("store_id"), month.label("m"),
                   func.avg(Visit.score).label("score"),
                   func.avg(quality_score.score).label("quality"))
            .join(Store, Store.id == Visit.store_id)
            .outerjoin(quality_score, and_(quality_score.visit_id == Visit.id,
                                           quality_score.dimension == QUALITY))
            .where(Visit.kind == kind, *base)
            .group_by(Visit.store_id, month)
            .subquery()
        )

    ms, qa = per_store_month(MYSTERY), per_store_month(QA)
    critical = (
        select(Visit.store_id.label("store_id"), month.label("m"),
               func.count(Answer.id).label("n"))
        .join(Visit, Visit.id == Answer.visit_id)
        .join(Store, Store.id == Visit.store_id)
        .where(Visit.kind == QA, *base, Answer.na.is_(False), Answer.voided.is_(False),
               Answer.score == 0,
               Answer.item_id.in_(
                   select(Item.id).join(Dimension, Dimension.id == Item.dimension_id)
                   .where(Dimension.code == QUALITY, Item.critical.is_(True))))
        .group_by(Visit.store_id, month)
        .subquery()
    )
    c_month = _month_key(Complaint.received_on)
    complaints = (
        select(Complaint.store_id.label("store_id"), c_month.label("m"),
               func.count(Complaint.id).label("n"))
        .where(win.includes(Complaint.received_on))
        .group_by(Complaint.store_id, c_month)
        .subquery()
    )
    on_ms = and_(complaints.c.store_id == ms.c.store_id, complaints.c.m == ms.c.m)
    n_complaints = func.coalesce(complaints.c.n, 0)
    # the brand's 90th percentile of complaints per store and month, over the brand's
    # stores that count in the window (those without a complaint count 0)
    stores = db.session.scalar(select(func.count(Store.id)).where(analytics.counts_in(win)))
    counts: dict[int, list[tuple[int, int]]] = {}
    for m, n, k in db.session.execute(
        select(complaints.c.m, complaints.c.n, func.count())
        .join(Store, Store.id == complaints.c.store_id).where(analytics.counts_in(win))
        .group_by(complaints.c.m, complaints.c.n)
    ):
        counts.setdefault(int(m), []).append((int(n), int(k)))
    p90 = {}
    for m, pairs in counts.items():
        pairs.append((0, max(int(stores or 0) - sum(k for _n, k in pairs), 0)))
        p90[m] = float(np.percentile(np.repeat([n for n, _k in pairs],
                                               [k for _n, k in pairs]), 90))
    never = literal(1e9, Float)  # no complaint that month: no top tenth
    top_tenth = (case({m: literal(v, Float) for m, v in p90.items()}, value=ms.c.m,
                      else_=never) if p90 else never)
    n_critical = func.coalesce(critical.c.n, 0)
    rules = {
        "ms_quality_vs_qa": and_(
            ms.c.quality.is_not(None), analytics._exact(ms.c.quality) >= excellent,
            qa.c.score.is_not(None),
            or_(n_critical > 0, and_(qa.c.quality.is_not(None),
                                     analytics._exact(qa.c.quality) < fair))),
        "ms_vs_hotline": and_(analytics._exact(ms.c.score) >= excellent, n_complaints >= 1,
                              n_complaints >= top_tenth),
        "ms_low_vs_qa_hl": and_(analytics._exact(ms.c.score) < fair,
                                qa.c.score.is_not(None),
                                analytics._exact(qa.c.score) >= excellent,
                                n_complaints == 0),
    }
    query = (
        select(ms.c.store_id, ms.c.m, Store.code, Store.name, Region.name,
               ms.c.score, ms.c.quality, qa.c.score, qa.c.quality, n_critical, n_complaints,
               *[case((rule, 1), else_=0) for rule in rules.values()])
        .select_from(ms)
        .join(Store, Store.id == ms.c.store_id)
        .join(Region, Region.id == Store.region_id)
        .outerjoin(qa, and_(qa.c.store_id == ms.c.store_id, qa.c.m == ms.c.m))
        .outerjoin(critical, and_(critical.c.store_id == ms.c.store_id,
                                  critical.c.m == ms.c.m))
        .outerjoin(complaints, on_ms)
        .where(or_(*rules.values()))
    )
    if scope.region_id is not None:
        query = query.where(Store.region_id == scope.region_id)
    if scope.store_id is not None:
        query = query.where(Store.id == scope.store_id)
    out = []
    for (store_id, m, code, name, region, ms_v, ms_q, qa_v, qa_q, crit, n_c,
         *hits) in db.session.execute(query):
        label = _label(m)
        figures = {"ms": ms_v, "ms_quality": ms_q, "qa": qa_v, "qa_quality": qa_q,
                   "qa_critical": int(crit), "complaints": int(n_c),
                   "p90": p90.get(int(m))}
        out += [Disagreement(store_id, code, name, region, label, rule, figures)
                for rule, hit in zip(rules, hits, strict=True) if hit]
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


def competitor_gaps(win: Period, region_id: int | None = None,
                    moments: dict | None = None) -> list[Gap]:
    """Per competitor chain and dimension (and overall): our mean minus theirs with both
    n, significant when |gap| > Z90·σ·√(1/n_ours + 1/n_theirs), σ the visit-to-visit
    spread of that dimension (of V for overall) in our own stores over the window."""
    scope = Scope(region_id=region_id)
    ours = dict(moments if moments is not None else dimension_moments(win, scope))
    overall = db.session.execute(
        select(func.avg(Visit.score), func.count(Visit.id), func.avg(Visit.score * Visit.score))
        .join(Store, Store.id == Visit.store_id).where(*_ms_where(win, scope))).one()
    if overall[0] is not None:
        ours["overall"] = (float(overall[0]), int(overall[1]), float(overall[2]), 0.0)
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
        m, n_o, m2, *_rest = ours[dim]
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


def item_health(win: Period, *, sums: dict | None = None, meta: list | None = None
                ) -> list[VersionHealth]:
    """Every questionnaire version with counted visits in the window (mystery, QA and
    competitor), each item's full-marks and failed shares, N/A share, upheld disputes, and
    (mystery visits) the correlation of its score with the visit's CSM."""
    sums = sums if sums is not None else _answer_sums(win)
    if not sums:
        return []
    meta = meta if meta is not None else _item_meta(sums)
    where = [Visit.counted, win.includes(Visit.visit_date), Visit.score.is_not(None)]
    upheld = dict(db.session.execute(
        select(Answer.item_id, func.count(Dispute.id))
        .join(Answer, Answer.id == Dispute.answer_id)
        .join(Visit, Visit.id == Dispute.visit_id)
        .where(Dispute.status == DISPUTE_UPHELD, *where)
        .group_by(Answer.item_id)).all())
    visits = dict(db.session.execute(
        select(Visit.questionnaire_id, func.count(Visit.id)).where(*where)
        .group_by(Visit.questionnaire_id)).all())
    versions: dict[int, VersionHealth] = {}
    for item_id, code, text, text_zh, item_type, dim, qid, qcode, qname, version, kind in meta:
        total, na, n_answered, n_failed, n_full, n, sx, sy, sxx, syy, sxy = sums[item_id]
        found = correlation(int(n), sx, sy, sxx, syy, sxy)
        r, low, high = found if found else (None, None, None)
        vh = versions.setdefault(qid, VersionHealth(qid, qcode, qname, version, kind,
                                                    int(visits.get(qid, 0)), []))
        vh.items.append(ItemHealth(
            item_id, code, dim, text, text_zh or "", item_type, int(total), int(na),
            int(n_answered), int(n_full), int(n_failed), int(upheld.get(item_id, 0)),
            r, low, high))
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
    brand_moments = dimension_moments(win)
    brand_drivers = key_drivers(win, BRAND, weight_shares(brand_moments))
    drivers, source = brand_drivers, "brand"
    if scope.region_id is not None and scope.store_id is None:
        own = key_drivers(win, scope)
        if own["csm"].enough:
            drivers, source = own, "region"
    brand_means = dimension_means(win, moments=brand_moments)
    ipa = importance_performance(win, scope, drivers["csm"], brand_means, source)
    sums = _answer_sums(win)  # one pass over the answers: item health and item drivers
    meta = _item_meta(sums)
    item_sums = _answer_sums(win, scope) if source == "region" else sums
    loyalty_scope = Scope(region_id=scope.region_id) if scope.store_id else scope
    by_store = _loyalty_by_store(win, loyalty_scope)
    total = loyalty_rows(win, "brand", scope,
                         [r for r in by_store if r[0] == scope.store_id]
                         if scope.store_id else by_store)
    return Insights(
        month=month, window=win, months=months, scope=scope,
        drivers=drivers, importance_from=source,
        items=item_drivers(win, sums=item_sums, meta=meta),
        ipa=ipa,
        loyalty_total=total[0] if total else None,
        loyalty_regions=loyalty_rows(win, "region", loyalty_scope, by_store),
        loyalty_stores=stores_not_loyal(win, loyalty_scope, stores=by_store),
        flags=triangulate(win, scope, config),
        gaps=(competitor_gaps(win, scope.region_id,
                              brand_moments if scope.region_id is None else None)
              if hq else []),
        health=item_health(win, sums=sums, meta=meta) if hq else [],
    )


#: How long the Insights of a window of closed months are kept (seconds, per process).
CACHE_SECONDS = 600


def build_cached(month: Period, months: int = DEFAULT_MONTHS, scope: Scope = BRAND, *,
                 hq: bool = True, config: scoring.ScoringConfig | None = None) -> Insights:
    """``build``, kept for ``CACHE_SECONDS`` when every month of the window is closed:
    a closed month's visits, complaints and settings never change again (SCORING.md §11),
    so neither do its Insights (store and item names aside, which show as they were when
    computed, for at most the cache's lifetime). A window with an open month is computed
    every time. The cache lives in the app (``app.extensions``), one per process."""
    from .months import is_provisional

    win = window(month, months)
    if is_provisional(win):
        return build(month, months, scope, hq=hq, config=config)
    cache = current_app.extensions.setdefault("insights_cache", {})
    key = (month.label, months, scope, hq)
    now = time.monotonic()
    hit = cache.get(key)
    if hit is not None and now - hit[0] < CACHE_SECONDS:
        return hit[1]
    result = build(month, months, scope, hq=hq, config=config)
    if len(cache) > 200:  # regions × months × scopes: keep it small
        cache.clear()
    cache[key] = (now, result)
    return result


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

