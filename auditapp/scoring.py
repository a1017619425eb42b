"""The scoring method: from one answer to the Brand Delivery Index.

This module is the single implementation of ``SCORING.md`` (a copy lives in
``docs/SCORING.md``). It is pure Python: no Flask, no database. Everything that shows a
score (pages, PDFs, exports, the API, SQL aggregation in ``analytics.py``) either calls
these functions or is tested to agree with them.

Scores are kept at full precision; ``fmt_score`` rounds for display only.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

# --- vocabulary ---------------------------------------------------------------------------

DIMENSIONS: tuple[str, ...] = ("speed", "courtesy", "accuracy", "quality", "cleanliness")
#: Item types (SCORING.md §2 and §9): a yes/no check, a 7-level satisfaction scale, a timed
#: item (seconds), one option of a list with points, a number with an acceptable range; and
#: three types that are never scored: free text, a required photo, an instruction.
YESNO, SCALE7, TIMED = "yesno", "scale7", "timed"
CHOICE, NUMBER = "choice", "number"
TEXT, PHOTO, INFO = "text", "photo", "info"
SCORED_TYPES: tuple[str, ...] = (YESNO, SCALE7, TIMED, CHOICE, NUMBER)
UNSCORED_TYPES: tuple[str, ...] = (TEXT, PHOTO, INFO)
ITEM_TYPES: tuple[str, ...] = SCORED_TYPES + UNSCORED_TYPES
VISIT_TYPES: tuple[str, ...] = ("drive_thru", "walk_in", "dine_in")
MINOR, MAJOR, CRITICAL = "minor", "major", "critical"
SEVERITIES: tuple[str, ...] = (MINOR, MAJOR, CRITICAL)
COMPONENTS: tuple[str, ...] = ("MS", "QA", "HL")

#: The seven customer-satisfaction-measure (CSM) levels, lowest first.
SCALE7_LEVELS: tuple[int, ...] = (-90, -60, -30, 0, 30, 60, 90)
SATISFIED_CSM = 30

#: Default timed target T and limit L in seconds, per visit type.
DEFAULT_TIMED_TARGETS: dict[str, tuple[float, float]] = {
    "drive_thru": (180.0, 360.0),
    "walk_in": (120.0, 300.0),
    "dine_in": (300.0, 600.0),
}

DEFAULT_DIMENSION_WEIGHT = 20.0

#: Decimals kept when a value is compared with a threshold (SCORING.md §7a): floating-point
#: error (89.99999999999999 for an exact 90) never moves a value across a threshold.
THRESHOLD_DECIMALS = 6


class ScoringError(ValueError):
    """An answer or a setting that the method cannot score; the message says why."""


# --- configuration ------------------------------------------------------------------------


@dataclass(frozen=True)
class ScoringConfig:
    """The settings SCORING.md names as configurable, with its defaults."""

    component_weights: Mapping[str, float] = field(
        default_factory=lambda: {"MS": 0.60, "QA": 0.25, "HL": 0.15}
    )
    hotline_deductions: Mapping[str, float] = field(
        default_factory=lambda: {"minor": 2.0, "major": 5.0, "critical": 10.0}
    )
    quick_resolution_hours: float = 48.0
    quick_resolution_factor: float = 0.5
    #: (lower bound, band code), highest first; below the last bound: ``needs_improvement``.
    bands: tuple[tuple[float, str], ...] = ((90.0, "excellent"), (80.0, "good"), (70.0, "fair"))
    #: c_RS, the recovery score's BDI weight (SCORING.md §13): 0 keeps RS beside the BDI.
    rs_weight: float = 0.0

    def validate(self) -> ScoringConfig:
        """Return self, or raise ScoringError naming what is wrong."""
        if set(self.component_weights) != set(COMPONENTS):
            raise ScoringError("Component weights must be given for MS, QA and HL.")
        for name, weight in self.component_weights.items():
            if not _finite(weight) or weight < 0:
                raise ScoringError(f"Component weight {name} must be a number ≥ 0.")
        if sum(self.component_weights.values()) <= 0:
            raise ScoringError("At least one component weight must be above 0.")
        if set(self.hotline_deductions) != set(SEVERITIES):
            raise ScoringError("Hotline deductions must be given for minor, major and critical.")
        for name, points in self.hotline_deductions.items():
            if not _finite(points) or points < 0:
                raise ScoringError(f"Hotline deduction for {name} must be a number ≥ 0.")
        if not _finite(self.quick_resolution_hours) or self.quick_resolution_hours < 0:
            raise ScoringError("Quick-resolution hours must be a number ≥ 0.")
        if not _finite(self.quick_resolution_factor) or not 0 <= self.quick_resolution_factor <= 1:
            raise ScoringError("Quick-resolution factor must be between 0 and 1.")
        if not _finite(self.rs_weight) or self.rs_weight < 0:
            raise ScoringError("The recovery-score weight c_RS must be a number ≥ 0.")
        bounds = [b for b, _ in self.bands]
        if not bounds or any(not _finite(b) or not 0 <= b <= 100 for b in bounds):
            raise ScoringError("Band bounds must be numbers between 0 and 100.")
        if any(a <= b for a, b in zip(bounds, bounds[1:], strict=False)):
            raise ScoringError("Band bounds must be strictly decreasing (e.g. 90, 80, 70).")
        return self

    def to_dict(self) -> dict:
        return {
            "component_weights": dict(self.component_weights),
            "hotline_deductions": dict(self.hotline_deductions),
            "quick_resolution_hours": self.quick_resolution_hours,
            "quick_resolution_factor": self.quick_resolution_factor,
            "bands": [[b, code] for b, code in self.bands],
            **({"rs_weight": self.rs_weight} if self.rs_weight else {}),
        }

    @classmethod
    def from_dict(cls, data: Mapping | None) -> ScoringConfig:
        data = dict(data or {})
        default = cls()
        return cls(
            component_weights={
                k: float(v)
                for k, v in data.get("component_weights", default.component_weights).items()
            },
            hotline_deductions={
                k: float(v)
                for k, v in data.get("hotline_deductions", default.hotline_deductions).items()
            },
            quick_resolution_hours=float(
                data.get("quick_resolution_hours", default.quick_resolution_hours)
            ),
            quick_resolution_factor=float(
                data.get("quick_resolution_factor", default.quick_resolution_factor)
            ),
            bands=tuple((float(b), str(code)) for b, code in data.get("bands", default.bands)),
            rs_weight=float(data.get("rs_weight", default.rs_weight)),
        ).validate()


DEFAULT_CONFIG = ScoringConfig()


def _finite(x: object) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def exact(value: float) -> float:
    """``value`` as compared with a threshold: rounded to ``THRESHOLD_DECIMALS`` decimals
    (SCORING.md §7a). ``analytics.py`` applies the same rounding in SQL."""
    return round(value, THRESHOLD_DECIMALS)


def at_least(value: float, bound: float) -> bool:
    """``value ≥ bound`` as exact decimals (an exact 90 computed as 89.99999999999999 is 90)."""
    return exact(value) >= exact(bound)


def hours_to_seconds(hours: float) -> float:
    """A duration in hours as seconds, exact to the microsecond (the resolution of a
    recorded time), so that durations compare exactly (the 48 h rule)."""
    return exact(hours * 3600.0)


# --- 2. item score ------------------------------------------------------------------------


def timed_target(
    visit_type: str, targets: Mapping[str, Sequence[float]] | None = None
) -> tuple[float, float]:
    """(T, L) for a visit type: the item's own targets, else the defaults."""
    if visit_type not in VISIT_TYPES:
        raise ScoringError(f"Unknown visit type {visit_type!r}.")
    source = targets or {}
    pair = source.get(visit_type) or DEFAULT_TIMED_TARGETS[visit_type]
    return float(pair[0]), float(pair[1])


def choice_points(points: Sequence[float] | None, value: float | int | bool | None) -> float:
    """The points (0–100) of the chosen option: ``value`` is the option's index (0, 1, …)
    in ``points``, the points of each option as the questionnaire sets them."""
    if not points:
        raise ScoringError("A choice item needs its options' points.")
    for p in points:
        if not _finite(p) or not 0 <= p <= 100:
            raise ScoringError("Each option's points must be a number from 0 to 100.")
    if not _finite(value) or isinstance(value, bool) or float(value) != int(value) \
            or not 0 <= int(value) < len(points):
        raise ScoringError(f"A choice answer must be one of the {len(points)} options, "
                           f"not {value!r}.")
    return float(points[int(value)])


def number_in_range(value: float | int | None, lo: float | None, hi: float | None) -> bool:
    """Whether a number lies in the acceptable range [lo, hi], bounds included (compared
    as exact decimals, SCORING.md §7a)."""
    if lo is None or hi is None or not _finite(lo) or not _finite(hi):
        raise ScoringError("A number item needs its range: a low and a high bound.")
    if not hi >= lo:
        raise ScoringError("A number item's high bound must be at least its low bound.")
    if not _finite(value):
        raise ScoringError(f"A number answer must be a number, not {value!r}.")
    return at_least(float(value), lo) and at_least(hi, float(value))


def item_score(
    item_type: str,
    value: float | int | bool | None,
    *,
    target: float | None = None,
    limit: float | None = None,
    points: Sequence[float] | None = None,
    lo: float | None = None,
    hi: float | None = None,
) -> float:
    """Score s (0–100) of one answered, non-N/A item (SCORING.md §2, §9). ``text``,
    ``photo`` and ``info`` are never scored: asking for their score is an error."""
    if item_type in UNSCORED_TYPES:
        raise ScoringError(f"A {item_type} item is not scored.")
    if value is None:
        raise ScoringError("An answered item needs a value; use N/A for no answer.")
    if item_type == YESNO:
        if value in (True, 1, 1.0):
            return 100.0
        if value in (False, 0, 0.0):
            return 0.0
        raise ScoringError(f"A yes/no answer must be yes (1) or no (0), not {value!r}.")
    if item_type == SCALE7:
        if value not in SCALE7_LEVELS:
            raise ScoringError(
                f"A satisfaction answer must be one of {', '.join(map(str, SCALE7_LEVELS))}, "
                f"not {value!r}."
            )
        return (float(value) + 90.0) / 180.0 * 100.0
    if item_type == TIMED:
        if target is None or limit is None:
            raise ScoringError("A timed item needs a target and a limit.")
        if not _finite(value) or value < 0:
            raise ScoringError(f"A time must be a number of seconds ≥ 0, not {value!r}.")
        if not limit > target:
            raise ScoringError("A timed item's limit must be above its target.")
        t = float(value)
        if at_least(target, t):
            return 100.0
        if at_least(t, limit):
            return 0.0
        return 100.0 * (limit - t) / (limit - target)
    if item_type == CHOICE:
        return choice_points(points, value)
    if item_type == NUMBER:
        return 100.0 if number_in_range(value, lo, hi) else 0.0
    raise ScoringError(f"Unknown item type {item_type!r}.")


def is_failed(item_type: str, value: float | int | bool | None, *,
              limit: float | None = None, points: Sequence[float] | None = None,
              lo: float | None = None, hi: float | None = None) -> bool:
    """Whether an answered, non-N/A item is **failed** (SCORING.md §8): yes/no "no", a
    satisfaction level below neutral (x < 0), a time at or past its limit (t ≥ L), a
    number outside its range, a choice whose option scores 0. A time between target and
    limit is below target, not failed; "not fully met" (s < 100) is never called failed.
    Items that are not scored (text, photo, info) never fail. The SQL twin is
    ``Answer.failed`` (models/visit.py)."""
    if value is None or item_type in UNSCORED_TYPES:
        return False
    if item_type == CHOICE:
        return choice_points(points, value) == 0
    if item_type == NUMBER:
        return not number_in_range(value, lo, hi)
    if item_type == YESNO:
        return value in (False, 0, 0.0)
    if item_type == SCALE7:
        return value < 0
    if item_type == TIMED:
        if limit is None:
            raise ScoringError("A timed item needs a limit.")
        return float(value) >= limit
    raise ScoringError(f"Unknown item type {item_type!r}.")


# --- 3–5. dimension and visit score, CSM --------------------------------------------------


@dataclass(frozen=True)
class ItemAnswer:
    """One answer, with what the method needs to know about its item."""

    dimension: str
    item_type: str
    value: float | int | bool | None = None
    na: bool = False
    weight: float = 1.0
    critical: bool = False
    target: float | None = None
    limit: float | None = None
    #: choice: each option's points, by option index.
    points: tuple[float, ...] | None = None
    #: number: the acceptable range [lo, hi].
    lo: float | None = None
    hi: float | None = None

    @property
    def scored(self) -> bool:
        return self.item_type not in UNSCORED_TYPES

    @property
    def score(self) -> float | None:
        """Item score s, or None for N/A and for the types that are never scored."""
        if self.na or not self.scored:
            return None
        return item_score(self.item_type, self.value, target=self.target, limit=self.limit,
                          points=self.points, lo=self.lo, hi=self.hi)

    @property
    def failed(self) -> bool:
        """Failed in the sense of SCORING.md §8 (never when N/A)."""
        return not self.na and is_failed(self.item_type, self.value, limit=self.limit,
                                         points=self.points, lo=self.lo, hi=self.hi)


def dimension_score(answers: Iterable[ItemAnswer]) -> float | None:
    """S_d: weighted mean of item scores; None when every item is N/A;
    0 when a critical item scored 0."""
    total = weights = 0.0
    critical_failed = False
    for answer in answers:
        s = answer.score
        if s is None:
            continue
        total += answer.weight * s
        weights += answer.weight
        if answer.critical and s == 0:
            critical_failed = True
    if weights == 0:
        return None
    return 0.0 if critical_failed else total / weights


def weighted_mean(pairs: Iterable[tuple[float, float | None]]) -> float | None:
    """Σ w·x / Σ w over the pairs whose x is not None; None when none is left."""
    total = weights = 0.0
    for weight, x in pairs:
        if x is None:
            continue
        total += weight * x
        weights += weight
    return total / weights if weights > 0 else None


def mean(values: Iterable[float | None]) -> float | None:
    """Plain mean of the values that are not None; None when there are none."""
    return weighted_mean((1.0, v) for v in values)


def csm(values: Iterable[float | int | None]) -> float | None:
    """CSM of a visit: mean of its scale7 answers (None = N/A), from −90 to +90."""
    return mean(float(v) if v is not None else None for v in values)


def csm_grade(value: float) -> int:
    """The CSM level nearest to value; a tie goes to the lower level."""
    best = SCALE7_LEVELS[0]
    for level in SCALE7_LEVELS:
        if abs(value - level) < abs(value - best):
            best = level
    return best


def is_satisfied(csm_value: float | None) -> bool | None:
    """A visit counts as satisfied when its CSM ≥ +30; None without scale7 answers."""
    if csm_value is None:
        return None
    return at_least(csm_value, SATISFIED_CSM)


def satisfaction_rate(csm_values: Iterable[float | None]) -> float | None:
    """T = S / C × 100 over visits that have a CSM (visits without one are left out)."""
    counted = satisfied = 0
    for value in csm_values:
        if value is None:
            continue
        counted += 1
        satisfied += at_least(value, SATISFIED_CSM)
    return satisfied / counted * 100.0 if counted else None


@dataclass(frozen=True)
class VisitScore:
    score: float | None
    dimensions: dict[str, float | None]
    item_scores: list[float | None]
    csm: float | None
    csm_grade: int | None
    satisfied: bool | None


def score_visit(
    answers: Sequence[ItemAnswer],
    dimension_weights: Mapping[str, float] | None = None,
) -> VisitScore:
    """Score a whole visit: item scores, S_d per dimension, V, CSM and its grade.

    ``dimension_weights`` maps dimension code → W_d (default 20 each). Dimensions are
    reported in the order of ``dimension_weights`` (then of first appearance).
    """
    weights = dict(dimension_weights or {})
    order = list(weights)
    by_dimension: dict[str, list[ItemAnswer]] = {}
    for answer in answers:
        by_dimension.setdefault(answer.dimension, []).append(answer)
        if answer.dimension not in order:
            order.append(answer.dimension)
    dims = {d: dimension_score(by_dimension.get(d, [])) for d in order}
    visit = weighted_mean((weights.get(d, DEFAULT_DIMENSION_WEIGHT), s) for d, s in dims.items())
    c = csm(a.value if not a.na else None for a in answers if a.item_type == SCALE7)
    return VisitScore(
        score=visit,
        dimensions=dims,
        item_scores=[a.score for a in answers],
        csm=c,
        csm_grade=csm_grade(c) if c is not None else None,
        satisfied=is_satisfied(c),
    )


# --- 6. hotline, store BDI, bands, groups -------------------------------------------------


def complaint_deduction(
    severity: str,
    resolution_hours: float | None,
    config: ScoringConfig = DEFAULT_CONFIG,
) -> float:
    """Points one complaint deducts; half (configurable) when resolved within 48 h. The
    full duration counts (48 h and 0.6 s is not within 48 h), compared in seconds exactly."""
    try:
        points = float(config.hotline_deductions[severity])
    except KeyError:
        raise ScoringError(f"Unknown complaint severity {severity!r}.") from None
    if resolution_hours is not None and hours_to_seconds(resolution_hours) <= hours_to_seconds(
        config.quick_resolution_hours
    ):
        points *= config.quick_resolution_factor
    return points


def hotline_score(
    complaints: Iterable[tuple[str, float | None]],
    config: ScoringConfig = DEFAULT_CONFIG,
) -> float:
    """HL = 100 − Σ deductions, floored at 0. Each complaint is (severity, resolution hours
    or None when unresolved)."""
    total = sum(complaint_deduction(sev, hours, config) for sev, hours in complaints)
    return max(0.0, 100.0 - total)


def bdi(
    ms: float | None,
    qa: float | None,
    hl: float | None,
    config: ScoringConfig = DEFAULT_CONFIG,
    rs: float | None = None,
) -> float | None:
    """BDI = Σ c_k·X_k / Σ c_k over the components present.

    HL counts only when MS or QA is present; with neither there is no BDI. The store's
    recovery score ``rs`` (SCORING.md §13) joins only when HQ gave it a weight c_RS > 0.
    """
    if ms is None and qa is None:
        return None
    c = config.component_weights
    pairs = [(c["MS"], ms), (c["QA"], qa), (c["HL"], hl)]
    if config.rs_weight > 0:
        pairs.append((config.rs_weight, rs))
    return weighted_mean(pairs)


def band(value: float | None, config: ScoringConfig = DEFAULT_CONFIG) -> str | None:
    """Band code for a score: excellent / good / fair / needs_improvement; the bounds are
    compared as exact decimals (an exact 90 is excellent)."""
    if value is None:
        return None
    for bound, code in config.bands:
        if at_least(value, bound):
            return code
    return "needs_improvement"


def group_score(store_bdis: Iterable[float | None]) -> float | None:
    """Region or brand BDI: mean of its stores' BDIs, each store once, ignoring stores
    without a BDI in the period."""
    return mean(store_bdis)


def trend(current: float | None, previous: float | None) -> float | None:
    """Difference from the previous period, or None when either is missing."""
    if current is None or previous is None:
        return None
    return current - previous


def fmt_score(value: float | None, empty: str = "–") -> str:
    """One decimal, for display only (half away from zero, as a reader expects)."""
    if value is None:
        return empty
    rounded = math.floor(abs(value) * 10 + 0.5 + 1e-9) / 10
    return f"{math.copysign(rounded, value) if rounded else 0.0:.1f}"


# --- reliability (SCORING.md §10) ---------------------------------------------------------

#: z for a two-sided 90 % interval.
Z90 = 1.645
#: σ when fewer than this many degrees of freedom (N − S) pool the visit-to-visit spread.
MIN_SPREAD_DF = 30
DEFAULT_SIGMA = 15.0


def pooled_variance(visit_count: int, store_count: int, squared_deviations: float) -> float:
    """σ² = Σ_s Σ_v (V_sv − V̄_s)² / (N − S) over stores with ≥ 2 visits (N visits,
    S stores); DEFAULT_SIGMA² when N − S < MIN_SPREAD_DF."""
    df = visit_count - store_count
    if df < MIN_SPREAD_DF:
        return DEFAULT_SIGMA**2
    return max(0.0, squared_deviations) / df


def variance_from_moments(stores: Iterable[tuple[int, float, float]]) -> float:
    """σ² from each store's n, ΣV and ΣV² in the 12-month window (how ``analytics``
    sums them): Σ (ΣV² − (ΣV)²/n) over the stores with n ≥ 2."""
    visits = count = 0
    squares = 0.0
    for n, total, total_sq in stores:
        if n >= 2:
            visits, count = visits + n, count + 1
            squares += total_sq - total * total / n
    return pooled_variance(visits, count, squares)


def pooled_sigma(visit_scores_by_store: Iterable[Sequence[float]]) -> float:
    """σ from each store's visit scores in the 12-month window (the reference for the SQL
    in ``analytics``, which sums n, ΣV and ΣV² per store)."""
    visits = stores = 0
    squares = 0.0
    for scores in visit_scores_by_store:
        if len(scores) < 2:
            continue
        store_mean = sum(scores) / len(scores)
        squares += sum((v - store_mean) ** 2 for v in scores)
        visits, stores = visits + len(scores), stores + 1
    return math.sqrt(pooled_variance(visits, stores, squares))


def ms_standard_error(sigma: float, n: int) -> float | None:
    """SE(MS) = σ / √n; None without a mystery-shop visit."""
    return sigma / math.sqrt(n) if n > 0 else None


def bdi_error(
    sigma: float,
    n: int,
    has_qa: bool,
    config: ScoringConfig = DEFAULT_CONFIG,
    has_rs: bool = False,
) -> float:
    """e = SE(MS)·c_MS/Σc (Σc over the store's components present; HL is present whenever
    MS or QA is; RS when it has a weight and a value); 0 without a mystery-shop visit (QA,
    HL and RS count as exact)."""
    if n <= 0:
        return 0.0
    c = config.component_weights
    total = c["MS"] + c["HL"] + (c["QA"] if has_qa else 0.0)
    total += config.rs_weight if has_rs else 0.0
    return sigma / math.sqrt(n) * c["MS"] / total


@dataclass(frozen=True)
class Interval:
    """A 90 % interval, clipped to [0, 100]."""

    low: float
    high: float


def interval(value: float | None, error: float | None) -> Interval | None:
    """value ± Z90·error, clipped to [0, 100]; None without a value."""
    if value is None:
        return None
    half = Z90 * (error or 0.0)
    return Interval(max(0.0, value - half), min(100.0, value + half))


def bands_touched(
    span: Interval | None, config: ScoringConfig = DEFAULT_CONFIG
) -> tuple[str, ...]:
    """The bands an interval touches, lowest first (one band: the band is confirmed)."""
    if span is None:
        return ()
    order = ["needs_improvement", *(code for _, code in reversed(config.bands))]
    low, high = order.index(band(span.low, config)), order.index(band(span.high, config))
    return tuple(order[low : high + 1])


def group_error(store_errors: Iterable[float]) -> float:
    """A region's or the brand's e: √(Σ e_store²) / k over its k stores with a BDI (its
    interval is ± Z90 times this)."""
    errors = list(store_errors)
    if not errors:
        return 0.0
    return math.sqrt(sum(e * e for e in errors)) / len(errors)


def change_is_significant(
    current: float | None, previous: float | None, e_now: float, e_prev: float
) -> bool | None:
    """|ΔBDI| > Z90·√(e_now² + e_prev²); None when either period has no BDI."""
    delta = trend(current, previous)
    if delta is None:
        return None
    return abs(delta) > Z90 * math.sqrt(e_now**2 + e_prev**2)


# --- 13. complaint handling in scenario shops ---------------------------------------------

#: The five on-site complaint-handling steps, in the method's order (SCORING.md §13).
RECOVERY_STEPS: tuple[str, ...] = ("thank", "listen", "apologise", "ask", "remedy")
#: Months in a store's rolling recovery-score window (the period's month and the two before).
RS_WINDOW_MONTHS = 3


def recovery_score(steps: Sequence[bool]) -> float:
    """RS of one scenario visit = 100 × (steps observed) / 5; each of the five steps is
    yes/no (N/A is not allowed)."""
    if len(steps) != len(RECOVERY_STEPS):
        raise ScoringError(f"A scenario visit has {len(RECOVERY_STEPS)} steps, not {len(steps)}.")
    for step in steps:
        if not isinstance(step, bool) and step not in (0, 1):
            raise ScoringError(f"A complaint-handling step must be yes or no, not {step!r}.")
    return 100.0 * sum(1 for step in steps if step) / len(RECOVERY_STEPS)


def rolling_recovery(visit_rs: Iterable[float]) -> tuple[float | None, int]:
    """A store's RS for a period: the mean RS of its released scenario visits in the
    window (the caller selects the three months), with n."""
    values = [float(v) for v in visit_rs]
    return (sum(values) / len(values) if values else None), len(values)


def group_recovery(store_rs: Iterable[float | None]) -> float | None:
    """Region or brand RS: mean of its stores' RS (stores without one are left out)."""
    return mean(store_rs)
