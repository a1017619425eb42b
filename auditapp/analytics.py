"""Store, region and brand figures for a period, aggregated in SQL.

Each function builds one ``SELECT … GROUP BY`` and runs it; none loops over visits in
Python. The formulas are those of ``scoring.py`` (SCORING.md §5–6), written as SQL
expressions; ``tests/test_analytics.py`` proves on randomised data that both agree.

Visit scores (V, S_d, CSM) are stored at submission (``visits.score_answers``), so
everything here is an aggregate of stored numbers.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_right
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, fields, replace
from datetime import date, datetime, timedelta
from functools import lru_cache, reduce
from itertools import repeat
from operator import add, getitem, is_not

import numpy as np
from flask_babel import gettext as _
from sqlalchemy import (
    Float,
    Integer,
    Numeric,
    and_,
    bindparam,
    case,
    cast,
    func,
    literal,
    or_,
    select,
    type_coerce,
    union_all,
)
from sqlalchemy.sql import ColumnElement, Select

from . import scoring
from .extensions import db
from .models import (
    Brand,
    Complaint,
    CorrectiveAction,
    MonthClosure,
    Region,
    Store,
    Visit,
    VisitDimensionScore,
)
from .models.followup import ACTION_OPEN
from .models.visit import MYSTERY, QA

_MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")

#: The months a period may be (``Period.month``): every page, the API and the CLI accept
#: exactly these. The last one leaves room for "next month" and end dates (``date`` ends
#: in the year 9999).
FIRST_MONTH, LAST_MONTH = "1900-01", "9998-12"


class PeriodError(ValueError):
    """A period that cannot be understood; the message says what was expected."""


def month_error(text: object) -> str:
    """The one message (translated) for a month that cannot be read."""
    return _("Write the month as YYYY-MM from %(first)s to %(last)s (e.g. 2026-05), "
             "not %(value)s.", first=FIRST_MONTH, last=LAST_MONTH, value=repr(text))


@dataclass(frozen=True)
class Period:
    """Dates ``start`` ≤ d < ``end``; a calendar month unless made from a range."""

    start: date
    end: date
    is_month: bool = False

    @classmethod
    def month(cls, text: str) -> Period:
        """The month ``YYYY-MM`` (FIRST_MONTH … LAST_MONTH); PeriodError with the one
        translated message otherwise."""
        match = _MONTH_RE.match(text.strip()) if isinstance(text, str) else None
        if (
            not match
            or not 1 <= int(match.group(2)) <= 12
            or not FIRST_MONTH <= match.group(0) <= LAST_MONTH
        ):
            raise PeriodError(month_error(text))
        year, month = int(match.group(1)), int(match.group(2))
        start = date(year, month, 1)
        end = date(year + (month == 12), month % 12 + 1, 1)
        return cls(start, end, True)

    @classmethod
    def between(cls, first: date, last: date) -> Period:
        """The days from ``first`` to ``last``, both included."""
        if last < first:
            raise PeriodError("The end of a period cannot be before its start.")
        return cls(first, last + timedelta(days=1), False)

    @property
    def label(self) -> str:
        if self.is_month:
            return f"{self.start:%Y-%m}"
        return f"{self.start:%Y-%m-%d} – {self.end - timedelta(days=1):%Y-%m-%d}"

    @property
    def start_dt(self) -> datetime:
        return datetime.combine(self.start, datetime.min.time())

    @property
    def end_dt(self) -> datetime:
        return datetime.combine(self.end, datetime.min.time())

    def includes(self, column) -> ColumnElement:
        """SQL: ``column`` (a date or date-time) falls in the period."""
        start, end = (self.start, self.end) if _is_date(column) else (self.start_dt, self.end_dt)
        return and_(column >= start, column < end)

    def previous(self) -> Period:
        """The period before: the previous month, or a range of the same length."""
        if self.is_month:
            prev_last = self.start - timedelta(days=1)
            return Period(prev_last.replace(day=1), self.start, True)
        length = self.end - self.start
        return Period(self.start - length, self.start, False)

    def next(self) -> Period | None:
        """The following month (None after LAST_MONTH); for month periods."""
        following = f"{self.end:%Y-%m}"
        return Period.month(following) if following <= LAST_MONTH else None

    def months_back(self, count: int) -> list[Period]:
        """This month and the ``count - 1`` before it, oldest first."""
        periods = [self]
        while len(periods) < count:
            periods.append(periods[-1].previous())
        return list(reversed(periods))


def _is_date(column) -> bool:
    try:
        return column.type.python_type is date
    except (AttributeError, NotImplementedError):
        return True


# --- building blocks ---------------------------------------------------------------------


def _num(value: float) -> ColumnElement:
    return literal(float(value), type_=Float)


def _exact(column) -> ColumnElement:
    """``scoring.exact`` as SQL: the value rounded to the decimals thresholds compare at
    (PostgreSQL rounds only NUMERIC to a number of decimals)."""
    return func.round(cast(column, Numeric), scoring.THRESHOLD_DECIMALS)


def counts_in(period: Period) -> ColumnElement:
    """SQL: the store counts in the period's figures: active, or deactivated on or after
    the period's first day (it keeps its past months, SCORING.md §7a)."""
    return or_(Store.active.is_(True), Store.deactivated_on >= period.start)


def _counted_visits(kind: str, period: Period) -> list[ColumnElement]:
    return [
        Visit.kind == kind,
        Visit.counted,
        period.includes(Visit.visit_date),
        Visit.score.is_not(None),
        Visit.store_id.is_not(None),
    ]


def _visit_means(kind: str, period: Period, moments: bool = False):
    """Per store, the mean and count of its counted visits of ``kind`` in the period
    (with ``moments``, also ΣV and ΣV² as ``_moments_query`` sums them)."""
    sums = [func.sum(Visit.score).label("s"),
            func.sum(Visit.score * Visit.score).label("ss")] if moments else []
    return (
        select(
            Visit.store_id.label("store_id"),
            func.avg(Visit.score).label("mean"),
            func.count(Visit.id).label("n"),
            *sums,
        )
        .where(*_counted_visits(kind, period))
        .group_by(Visit.store_id)
        .subquery()
    )


def _deduction(config: scoring.ScoringConfig) -> ColumnElement:
    """``scoring.complaint_deduction`` as SQL."""
    d = config.hotline_deductions
    points = case(
        (Complaint.severity == scoring.MINOR, _num(d[scoring.MINOR])),
        (Complaint.severity == scoring.MAJOR, _num(d[scoring.MAJOR])),
        else_=_num(d[scoring.CRITICAL]),
    )
    quick = and_(
        Complaint.resolution_seconds.is_not(None),
        # the full duration, exact to the microsecond (SCORING.md §7a)
        Complaint.resolution_seconds <= scoring.hours_to_seconds(config.quick_resolution_hours),
    )
    return points * case((quick, _num(config.quick_resolution_factor)), else_=_num(1.0))


def _complaint_sums(period: Period, config: scoring.ScoringConfig):
    return (
        select(
            Complaint.store_id.label("store_id"),
            func.sum(_deduction(config)).label("deducted"),
            func.count(Complaint.id).label("n"),
        )
        .where(period.includes(Complaint.received_on))  # the store's local month
        .group_by(Complaint.store_id)
        .subquery()
    )


def spread_window(period: Period) -> Period:
    """The 12 months ending with the period (SCORING.md §10: σ's window)."""
    last_day = period.end - timedelta(days=1)
    # built directly, not with Period.month: a trend's early months may precede FIRST_MONTH
    last_month = Period(last_day.replace(day=1), period.end, True)
    return Period(last_month.months_back(12)[0].start, period.end, False)


#: A store's released mystery-shop visits in part of σ's window: n, ΣV and ΣV².
Moments = tuple[int, float, float]
_NO_MOMENTS: Moments = (0, 0.0, 0.0)


def _joined(ranges: list[Period]) -> list[Period]:
    """Adjacent date ranges joined into one (one index range read instead of several)."""
    out: list[Period] = []
    for r in sorted(ranges, key=lambda r: r.start):
        if out and out[-1].end == r.start:
            out[-1] = Period(out[-1].start, r.end, False)
        else:
            out.append(r)
    return out


def _moments_query(ranges: list[Period]) -> Select:
    """Per store, n, ΣV and ΣV² of its released mystery-shop visits in ``ranges``."""
    return (
        select(
            Visit.store_id.label("store_id"),
            func.count(Visit.id).label("n"),
            func.sum(Visit.score).label("s"),
            func.sum(Visit.score * Visit.score).label("ss"),
        )
        .where(
            Visit.kind == MYSTERY, Visit.counted, Visit.score.is_not(None),
            Visit.store_id.is_not(None),
            or_(*(r.includes(Visit.visit_date) for r in _joined(ranges))),
        )
        .group_by(Visit.store_id)
    )


class _MomentTable(dict[int, Moments]):
    """Per store, moments (a dict), with the same as arrays for numpy (``arrays``)."""

    _arrays: tuple[dict[int, int], np.ndarray, np.ndarray, np.ndarray] | None = None

    def arrays(self) -> tuple[dict[int, int], np.ndarray, np.ndarray, np.ndarray]:
        """Each store's position, and n, ΣV and ΣV² by position with a last position of
        zeros (-1: a store not in the table); built once."""
        if self._arrays is None:
            n, s, ss = (list(column) for column in zip(*self.values(), strict=True)) \
                if self else ([], [], [])
            self._arrays = ({store_id: i for i, store_id in enumerate(self)},
                            np.array([*n, 0], dtype=np.int64), np.array([*s, 0.0]),
                            np.array([*ss, 0.0]))
        return self._arrays


@lru_cache(maxsize=32)
def _closed_moments(database: str, closed: tuple[tuple[str, datetime], ...]) -> _MomentTable:
    """Per store, the moments of the closed months ``closed`` (label, closed at). Closed
    months never change and are never reopened (SCORING.md §11), so they are read once per
    process and set of closed months; the key names the database and each closure."""
    months = [Period.month(label) for label, _closed_at in closed]
    return _MomentTable(
        (sid, (n, s, ss)) for sid, n, s, ss in db.session.execute(_moments_query(months)))


def _window_parts(window: Period) -> tuple[list[Period], list[Period]]:
    """σ's window as its calendar months and, when it ends mid-month (a range), the
    days left over."""
    months, day = [], window.start
    while True:
        end = date(day.year + (day.month == 12), day.month % 12 + 1, 1)
        if end > window.end:
            break
        months.append(Period(day, end, True))
        day = end
    rest = [Period(day, window.end, False)] if day < window.end else []
    return months, rest


_ACTIVE_STORES = select(Store.id).where(Store.active.is_(True))


def _connection():
    """The session's connection, after the flush ``Session.execute`` would make first
    (the statements run on it skip the ORM's per-statement work)."""
    if db.session.autoflush:
        db.session.flush()
    return db.session.connection()


#: The closed months from ``first`` to ``last`` (labels): each with when it was closed
#: and whether its snapshot is complete, oldest first.
_CLOSURES = (
    select(MonthClosure.month, MonthClosure.closed_at, MonthClosure.complete)
    .where(MonthClosure.month.between(bindparam("first"), bindparam("last")))
    .order_by(MonthClosure.month)
)

#: A month's closure: (label, closed at, snapshot complete).
Closure = tuple[str, datetime, bool]


def _window_closures(period: Period) -> tuple[Closure, ...]:
    """The closures of the calendar months in σ's window for the period (a month is the
    last of its own window), oldest first; none within ``live_figures``, where every
    month is read from the visits."""
    months, _rest = _window_parts(spread_window(period))
    if _LIVE.get() or not months:
        return ()
    rows = _connection().execute(
        _CLOSURES, {"first": months[0].label, "last": months[-1].label}).all()
    return tuple((label, closed_at, bool(complete)) for label, closed_at, complete in rows)


def _window_moments(
    period: Period, closures: tuple[Closure, ...] | None = None
) -> tuple[dict[int, Moments], list[Period]]:
    """σ's 12-month window for the period, split in two: per store, the moments of its
    closed months (``_closed_moments``, read once per process), and the date ranges still
    to be read from the visits (its open months and any days left over). ``closures``:
    ``_window_closures(period)`` when already read."""
    months, rest = _window_parts(spread_window(period))
    if closures is None:
        closures = _window_closures(period)
    closed = tuple((label, closed_at) for label, closed_at, _complete in closures)
    frozen = _closed_moments(str(db.engine.url), closed) if closed else {}
    closed_labels = {label for label, _closed_at in closed}
    return frozen, [m for m in months if m.label not in closed_labels] + rest


def _live_moments(ranges: list[Period]) -> dict[int, Moments]:
    """Per store, the moments of its visits in ``ranges``, read now."""
    if not ranges:
        return {}
    # fetched whole (fetchall): iterating a result row by row costs more than the query
    rows = db.session.connection().execute(_moments_query(ranges)).all()
    return {row[0]: row[1:] for row in rows}


def _variance(store_ids: Iterable[int], *parts: dict[int, Moments]) -> float:
    """σ² over the stores ``store_ids`` (the active ones), each with its moments summed
    over ``parts`` (parts of the window; a store may be missing from any)."""
    no_moments = _NO_MOMENTS
    moments = []
    for store_id in store_ids:
        n, s, ss = no_moments
        for part in parts:
            own = part.get(store_id)
            if own is not None:
                n, s, ss = n + own[0], s + own[1], ss + own[2]
        moments.append((n, s, ss))
    return scoring.variance_from_moments(moments)


def pooled_variance(period: Period) -> float:
    """σ² of SCORING.md §10 for the period, over its own 12-month window: per active
    store n, ΣV and ΣV², then ``scoring.variance_from_moments``.

    The window's closed months come from ``_closed_moments`` (read once per process),
    the rest from the visits; ``live_figures`` reads every month from the visits."""
    frozen, ranges = _window_moments(period)
    live = _live_moments(ranges)
    active = db.session.connection().execute(_ACTIVE_STORES).scalars().all()
    return _variance(active, frozen, live)


def pooled_sigma(period: Period) -> float:
    """σ of SCORING.md §10 for the period (its own 12-month window)."""
    return math.sqrt(pooled_variance(period))


def _variance_param(period: Period):
    """The bound parameter that carries the period's σ² into ``store_scores_query``
    (named after the period: one statement may hold several periods)."""
    return bindparam(f"sigma2_{period.start:%Y%m%d}_{period.end:%Y%m%d}", type_=Float,
                     required=True)


def _with_variance(query: Select, period: Period) -> Select:
    """A live figures statement with the period's σ² bound."""
    return query.params({_variance_param(period).key: pooled_variance(period)})


def store_scores_query(
    period: Period, config: scoring.ScoringConfig, moments: bool = False
) -> Select:
    """One row per store: MS, QA, HL, BDI and counts for the period (SCORING.md §6), with
    the squared errors of MS and BDI (SCORING.md §10: σ²/n and e²).

    With ``moments`` the last two columns are instead the store's ΣV and ΣV² of the
    period's mystery-shop visits (NULL for a single visit: ΣV is then the MS, ΣV² its
    square, as exact) (``ms_sum``, ``ms_sum_sq``), and with a recovery score in the BDI
    (SCORING.md §13) c_MS/Σc (``ms_share``; else ``_ms_shares`` gives it): σ² is then
    summed from the rows themselves (``_ranking_rows``), no σ² is bound."""
    ms = _visit_means(MYSTERY, period, moments)
    qa = _visit_means(QA, period)
    hl = _complaint_sums(period, config)
    c = config.component_weights

    has_ms = ms.c.mean.is_not(None)
    has_qa = qa.c.mean.is_not(None)
    raw_hl = _num(100.0) - func.coalesce(hl.c.deducted, _num(0.0))
    hl_value = case(
        (and_(~has_ms, ~has_qa), None),
        (raw_hl < 0, _num(0.0)),
        else_=raw_hl,
    )
    has_hl = has_ms | has_qa  # HL counts whenever MS or QA does
    numerator = (
        case((has_ms, _num(c["MS"]) * ms.c.mean), else_=_num(0.0))
        + case((has_qa, _num(c["QA"]) * qa.c.mean), else_=_num(0.0))
        + case((has_hl, _num(c["HL"]) * hl_value), else_=_num(0.0))
    )
    denominator = (
        case((has_ms, _num(c["MS"])), else_=_num(0.0))
        + case((has_qa, _num(c["QA"])), else_=_num(0.0))
        + case((has_hl, _num(c["HL"])), else_=_num(0.0))
    )
    rs = None
    if config.rs_weight > 0:  # SCORING.md §13: the recovery score joins only with a weight
        from .scenarios import rs_store_query

        rs = rs_store_query(period).subquery("rs")
        has_rs = and_(has_hl, rs.c.rs.is_not(None))
        numerator = numerator + case((has_rs, _num(config.rs_weight) * rs.c.rs),
                                     else_=_num(0.0))
        denominator = denominator + case((has_rs, _num(config.rs_weight)), else_=_num(0.0))
    bdi = case((has_hl, numerator / func.nullif(denominator, 0.0)), else_=None)
    ms_share = _num(c["MS"]) / func.nullif(denominator, 0.0)
    if moments:
        several = ms.c.n > 1  # one visit: ΣV is its MS, ΣV² its square (read as NULL)
        errors = [case((several, ms.c.s)).label("ms_sum"),
                  case((several, ms.c.ss)).label("ms_sum_sq")]
        if rs is not None:  # Σc also depends on the store's RS
            errors.append(ms_share.label("ms_share"))
    else:
        variance = _variance_param(period)  # σ², bound by _with_variance when run
        ms_e2 = case((has_ms, variance / ms.c.n), else_=None)
        bdi_e2 = case((has_ms, ms_e2 * ms_share * ms_share), (has_qa, _num(0.0)), else_=None)
        errors = [ms_e2.label("ms_e2"), bdi_e2.label("bdi_e2")]

    query = (
        select(
            Store.id.label("store_id"),
            Store.code.label("code"),
            Store.name.label("name"),
            # for the ranking, read without a per-row result processor (SQLite stores a
            # bool as 0/1): _ranked makes it a bool
            (type_coerce(Store.active, Integer) if moments else Store.active).label("active"),
            Region.id.label("region_id"),
            Region.name.label("region_name"),
            Region.brand_id.label("brand_id"),
            ms.c.mean.label("ms"),
            func.coalesce(ms.c.n, 0).label("ms_visits"),
            qa.c.mean.label("qa"),
            func.coalesce(qa.c.n, 0).label("qa_visits"),
            hl_value.label("hl"),
            func.coalesce(hl.c.n, 0).label("complaints"),
            bdi.label("bdi"),
            *errors,
        )
        .join(Region, Region.id == Store.region_id)
        .outerjoin(ms, ms.c.store_id == Store.id)
        .outerjoin(qa, qa.c.store_id == Store.id)
        .outerjoin(hl, hl.c.store_id == Store.id)
    )
    return query.outerjoin(rs, rs.c.store_id == Store.id) if rs is not None else query


# Building these statements costs more than running them on a small chain, and a Select is
# immutable: build each once per period and scoring settings, then share it (SQLAlchemy also
# memoises a shared statement's cache key, so its compiled SQL is found at once).
_ConfigKey = tuple


def _config_key(config: scoring.ScoringConfig) -> _ConfigKey:
    """The settings the SQL depends on, as a hashable key (bands are applied in Python)."""
    return (
        tuple(sorted(config.component_weights.items())),
        tuple(sorted(config.hotline_deductions.items())),
        config.quick_resolution_hours,
        config.quick_resolution_factor,
        config.rs_weight,
    )


def _config_from_key(key: _ConfigKey) -> scoring.ScoringConfig:
    weights, deductions, quick_hours, quick_factor, rs_weight = key
    return scoring.ScoringConfig(
        component_weights=dict(weights),
        hotline_deductions=dict(deductions),
        quick_resolution_hours=quick_hours,
        quick_resolution_factor=quick_factor,
        rs_weight=rs_weight,
    )


@lru_cache(maxsize=256)
def _shared_store_query(period: Period, key: _ConfigKey, active_only: bool) -> Select:
    query = store_scores_query(period, _config_from_key(key))
    return query.where(counts_in(period)) if active_only else query


def _cached_query(
    period: Period, config: scoring.ScoringConfig, active_only: bool = False
) -> Select:
    """``store_scores_query`` (only the stores that count in the period if asked), shared.

    **The one branch between open and closed months**: a closed month's figures are read
    from the snapshot stored at closing (``month_figures``, SCORING.md §11), so a later
    masterdata or settings change cannot alter what it shows; an open month is computed
    live. Both give the same columns, so every consumer reads either alike."""
    if _from_snapshot(period):
        return _shared_snapshot_query(period, active_only)
    return _with_variance(_shared_store_query(period, _config_key(config), active_only), period)


#: Set (``live_figures``) to compute closed months from the raw rows too: ``flask verify``
#: compares the snapshot with that recomputation.
_LIVE: ContextVar[bool] = ContextVar("analytics_live", default=False)


@contextmanager
def live_figures() -> Iterator[None]:
    """Within this block, closed months are computed live instead of read from their
    snapshot (for ``verify`` and closing itself)."""
    token = _LIVE.set(True)
    try:
        yield
    finally:
        _LIVE.reset(token)


def _from_snapshot(period: Period) -> bool:
    """Whether the period's figures come from a closed month's snapshot."""
    if not period.is_month or _LIVE.get():
        return False
    closure = db.session.get(MonthClosure, period.label)
    return closure is not None and closure.complete


@lru_cache(maxsize=256)
def _shared_snapshot_query(period: Period, active_only: bool) -> Select:
    """A closed month's store rows from ``month_figures``, as ``store_scores_query``'s
    columns (the store's code, region and brand as they stood at closing)."""
    from .models import MonthFigure
    from .models.months import SCOPE_STORE

    f = MonthFigure
    query = select(
        f.ref_id.label("store_id"), f.code.label("code"), f.name.label("name"),
        f.active.label("active"), f.region_id.label("region_id"),
        f.region_name.label("region_name"), f.brand_id.label("brand_id"), f.ms.label("ms"),
        f.ms_visits.label("ms_visits"), f.qa.label("qa"), f.qa_visits.label("qa_visits"),
        f.hl.label("hl"), f.complaints.label("complaints"), f.bdi.label("bdi"),
        f.ms_e2.label("ms_e2"), f.bdi_e2.label("bdi_e2"),
    ).where(f.month == period.label, f.scope == SCOPE_STORE)
    return query.where(f.counted.is_(True)) if active_only else query


@lru_cache(maxsize=256)
def _shared_snapshot_ranking(period: Period, active_only: bool) -> Select:
    """A closed month's store rows in the order stored at closing (by rank, stores without
    a BDI last by code), each with its stored band (``stored_band``, last column)."""
    from .models import MonthFigure

    f = MonthFigure
    return (_shared_snapshot_query(period, active_only)
            .add_columns(f.band.label("stored_band"))
            .order_by(f.rank.is_(None), f.rank, f.code))


@lru_cache(maxsize=256)
def _shared_snapshot_group_query(period: Period, key: str) -> Select:
    """A closed month's region or brand rows, as ``_shared_group_query``'s columns."""
    from .models import MonthFigure
    from .models.months import SCOPE_BRAND, SCOPE_REGION

    f = MonthFigure
    scope = SCOPE_REGION if key == "region_id" else SCOPE_BRAND
    return select(
        f.ref_id.label("group_id"), f.bdi.label("bdi"), f.stores_scored.label("stores_scored"),
        f.bdi_e2.label("e2_sum"), f.ms_visits.label("visits"), f.name.label("name"),
    ).where(f.month == period.label, f.scope == scope)


# --- results ------------------------------------------------------------------------------


@dataclass(slots=True)
class StoreScore:
    """One store's figures for a period (``store_scores``). Read-only by convention
    (``dataclasses.replace`` makes a changed copy); not frozen, because a frozen
    dataclass sets each field through ``object.__setattr__`` and a 2,000-store ranking
    then spends 4 × as long building its rows."""

    store_id: int
    code: str
    name: str
    active: bool
    region_id: int
    region_name: str
    brand_id: int
    ms: float | None
    ms_visits: int
    qa: float | None
    qa_visits: int
    hl: float | None
    complaints: int
    bdi: float | None
    #: SCORING.md §10: σ²/n (None without MS) and e² (0 when the BDI rests on QA and HL)
    ms_e2: float | None = None
    bdi_e2: float | None = None
    band: str | None = None
    rank: int | None = None
    previous_bdi: float | None = None
    previous_e2: float | None = None
    #: the bands the BDI interval touches, lowest first; one band: confirmed
    bands: tuple[str, ...] = ()

    @property
    def trend(self) -> float | None:
        return scoring.trend(self.bdi, self.previous_bdi)

    @property
    def visits(self) -> int:
        """n of SCORING.md §10: the released mystery-shop visits behind the figure."""
        return self.ms_visits

    @property
    def error(self) -> float:
        """e of SCORING.md §10 (the BDI's half-width is Z90 times this)."""
        return math.sqrt(self.bdi_e2 or 0.0)

    @property
    def interval(self) -> scoring.Interval | None:
        return scoring.interval(self.bdi, self.error)

    @property
    def ms_interval(self) -> scoring.Interval | None:
        return scoring.interval(self.ms, math.sqrt(self.ms_e2) if self.ms_e2 else 0.0)

    @property
    def band_confirmed(self) -> bool:
        return len(self.bands) == 1

    @property
    def change_significant(self) -> bool | None:
        return scoring.change_is_significant(
            self.bdi, self.previous_bdi, self.error, math.sqrt(self.previous_e2 or 0.0)
        )


#: The columns of ``store_scores_query``, in StoreScore's field order.
_ROW_FIELDS = tuple(f.name for f in fields(StoreScore))[:-5]
_BDI, _CODE = _ROW_FIELDS.index("bdi"), _ROW_FIELDS.index("code")
_E2 = _ROW_FIELDS.index("bdi_e2")


@dataclass(frozen=True)
class GroupScore:
    """A region's or the brand's BDI: mean of its stores' BDIs."""

    id: int | None
    name: str
    bdi: float | None
    stores_scored: int
    band: str | None = None
    previous_bdi: float | None = None
    #: SCORING.md §10: e = √(Σ e_store²)/k, this period's and the previous one's
    error: float = 0.0
    previous_error: float = 0.0
    bands: tuple[str, ...] = ()
    #: the released mystery-shop visits behind it (its stores with a BDI)
    visits: int = 0

    @property
    def trend(self) -> float | None:
        return scoring.trend(self.bdi, self.previous_bdi)

    @property
    def interval(self) -> scoring.Interval | None:
        return scoring.interval(self.bdi, self.error)

    @property
    def band_confirmed(self) -> bool:
        return len(self.bands) == 1

    @property
    def change_significant(self) -> bool | None:
        return scoring.change_is_significant(
            self.bdi, self.previous_bdi, self.error, self.previous_error
        )


def _group_error(row) -> float:
    """e of a region or the brand from its row of ``_shared_group_query``."""
    if row is None or not row.stores_scored:
        return 0.0
    return math.sqrt(row.e2_sum or 0.0) / row.stores_scored


def reliability_json(figure: StoreScore | GroupScore) -> dict:
    """How sure a figure is (SCORING.md §10), for the API and ``flask bdi --format json``:
    n visits, the 90 % interval [low, high] (None without a BDI), the bands it touches
    (one: the band is confirmed) and whether the change from the previous period is
    significant (None when unknown)."""
    span = figure.interval
    return {
        "visits": figure.visits,
        "interval": [span.low, span.high] if span else None,
        "bands": list(figure.bands),
        "band_confirmed": figure.band_confirmed if figure.bands else None,
        "change_significant": figure.change_significant,
    }


def _scoring_config(
    config: scoring.ScoringConfig | None, period: Period | None = None
) -> scoring.ScoringConfig:
    """``config`` if given (for the period asked for: a what-if passes a draft), else the
    settings version in force for ``period`` (SCORING.md §11)."""
    if config is not None:
        return config
    from .settings import scoring_config

    return scoring_config(period)


def _config_for(p: Period, period: Period, config: scoring.ScoringConfig) -> scoring.ScoringConfig:
    """The settings for ``p``: ``config`` for the period asked for, the version in force
    for any other (a previous month, a trend's months)."""
    return config if p == period else _scoring_config(None, p)


def store_scores(
    period: Period,
    config: scoring.ScoringConfig | None = None,
    *,
    region_id: int | None = None,
    store_ids: list[int] | None = None,
    store_codes: list[str] | None = None,
    include_inactive: bool = False,
    with_trend: bool = False,
) -> list[StoreScore]:
    """Every store's figures for the period, best BDI first (stores without one last),
    ranked 1…n among the stores that have a BDI."""
    connection = _connection()
    # the closures of σ's window, the month's own last: whether the month is read from
    # its snapshot (below) and which months σ takes from _closed_moments (_ranking_rows)
    closures = _window_closures(period) if period.is_month else ()
    # a closed month with its own settings: its stored order and bands (SCORING.md §11)
    stored = config is None and any(
        label == period.label and complete for label, _closed_at, complete in closures)
    config = _scoring_config(config, period)

    def narrowed(query: Select) -> Select:
        columns = query.selected_columns  # live or a closed month's snapshot alike
        if region_id is not None:
            query = query.where(columns.region_id == region_id)
        if store_ids is not None:
            query = query.where(columns.store_id.in_(store_ids))
        if store_codes is not None:
            query = query.where(columns.code.in_(store_codes))
        return query

    def filtered(p: Period) -> Select:
        return narrowed(_cached_query(p, _config_for(p, period, config),
                                      active_only=not include_inactive))

    # Rows are fetched as plain tuples on the session's connection and each becomes one
    # StoreScore, built once after sorting (2,000 stores: see benchmarks/bdi_ranking.py).
    rows, columns, variance = None, None, None
    if stored:
        result = connection.execute(narrowed(
            _shared_snapshot_ranking(period, not include_inactive)))
        if tuple(result.keys()) != (*_ROW_FIELDS, "stored_band"):  # pragma: no cover
            raise RuntimeError("the snapshot's columns no longer match StoreScore")
        rows = result.all()
    elif region_id is None and store_ids is None and store_codes is None:
        ranking = _ranking_rows(period, config, not include_inactive, closures)
        if ranking is not None:
            columns, variance = ranking
    if rows is None and columns is None:
        result = connection.execute(filtered(period))
        if tuple(result.keys()) != _ROW_FIELDS:  # pragma: no cover - guards the positional build
            raise RuntimeError("store_scores_query columns no longer match StoreScore")
        rows = result.all()

    previous: dict[int, tuple[float | None, float | None]] = {}
    if with_trend and (rows or (columns and columns[0])):
        # the same stores (the filters only look at the store), one period earlier
        prev = filtered(period.previous()).subquery()
        previous = {
            store_id: (bdi, e2)
            for store_id, bdi, e2 in connection.execute(
                select(prev.c.store_id, prev.c.bdi, prev.c.bdi_e2)
            ).all()
        }
    if stored:
        return _ranked_stored(rows, config, previous)
    return _ranked(columns or _columns(rows), config, previous, variance)


#: The columns of ``store_scores_query`` with moments (``_shared_ranking_query``).
_MS, _MS_VISITS, _QA = _ROW_FIELDS.index("ms"), _ROW_FIELDS.index("ms_visits"), \
    _ROW_FIELDS.index("qa")
_ACTIVE = _ROW_FIELDS.index("active")
_MS_SUM, _MS_SUM_SQ, _MS_SHARE = _E2 - 1, _E2, _E2 + 1


@lru_cache(maxsize=256)
def _shared_ranking_query(period: Period, key: _ConfigKey, active_only: bool) -> Select:
    """An open month's ranking statement: ``store_scores_query`` with the moments of the
    month's visits (``_ranking_rows`` sums σ² from them), by store code (``_ranked``
    orders by BDI: a stable sort then keeps ties by code; SQLite reads the stores in
    that order from the code's index, without sorting)."""
    query = store_scores_query(period, _config_from_key(key), moments=True)
    if active_only:
        query = query.where(counts_in(period))
    return query.order_by(query.selected_columns.code)


def _ranking_rows(
    period: Period, config: scoring.ScoringConfig, active_only: bool,
    closures: tuple[Closure, ...],
) -> tuple[list, float] | None:
    """Every store's row of ``_shared_ranking_query`` for an open month, as columns, read
    in one statement that also gives σ's open part (SCORING.md §10), and σ².

    σ² needs, per active store, n, ΣV and ΣV² over the 12 months ending with the month:
    the month's own are the sums behind its MS, so they come with the store's row; the
    window's closed months come from ``_closed_moments`` and any other open month from
    one more ``GROUP BY``. ``_ranked`` then computes σ²/n and e² as the statement
    without moments does. None when the period is not an open month of its own window (a
    range, a closed month): the caller binds σ² instead. ``closures``:
    ``_window_closures(period)``."""
    if not period.is_month:
        return None
    frozen, ranges = _window_moments(period, closures)
    if period not in ranges:
        return None
    others = _live_moments([r for r in ranges if r != period])
    result = db.session.connection().execute(
        _shared_ranking_query(period, _config_key(config), active_only))
    with_share = ("ms_share",) if config.rs_weight > 0 else ()
    if tuple(result.keys()) != (*_ROW_FIELDS[:_MS_SUM], "ms_sum", "ms_sum_sq", *with_share):
        raise RuntimeError("the ranking's columns no longer match StoreScore")  # pragma: no cover
    columns = _columns(result.all())
    return columns, _open_variance(columns, frozen, others)


def _columns(rows: list) -> list[tuple]:
    """The rows as columns (one tuple per column, empty when there are no rows)."""
    return list(zip(*rows, strict=True)) or [() for _ in range(len(_ROW_FIELDS) + 1)]


def _moment_arrays(ids: tuple, part: dict[int, Moments]) -> tuple[np.ndarray, ...]:
    """n, ΣV and ΣV² of ``part`` for each store of ``ids`` (0 for a store not in it)."""
    table = part if isinstance(part, _MomentTable) else _MomentTable(part)
    index, n, s, ss = table.arrays()
    at = np.fromiter(map(index.get, ids, repeat(-1)), dtype=np.int64, count=len(ids))
    return n[at], s[at], ss[at]


def _open_variance(
    columns: list[tuple], frozen: dict[int, Moments], others: dict[int, Moments]
) -> float:
    """σ² over the active stores of an open month's ranking (every one has a row):
    ``scoring.variance_from_moments``'s sums, each store's n, ΣV and ΣV² added up as
    that function gets them (closed months, then other open months, then the month's
    own), column by column; the squared deviations summed one by one, the stores in the
    order of the BDI as computed, best first, then code (stores without one last)."""
    ids = columns[0]
    n, s, ss = _moment_arrays(ids, frozen)
    if others:
        n_other, s_other, ss_other = _moment_arrays(ids, others)
        n, s, ss = n + n_other, s + s_other, ss + ss_other
    visits = np.array(columns[_MS_VISITS], dtype=np.int64)
    ms = np.array(columns[_MS], dtype=float)  # NaN: no MS
    several = visits > 1
    # the month's own: its sums, or for one visit the MS and its square
    own_s = np.where(several, np.array(columns[_MS_SUM], dtype=float),
                     np.where(visits == 1, ms, 0.0))
    own_ss = np.where(several, np.array(columns[_MS_SUM_SQ], dtype=float),
                      np.where(visits == 1, ms * ms, 0.0))
    n, s, ss = n + visits, s + own_s, ss + own_ss
    pooled = np.array(columns[_ACTIVE], dtype=bool) & (n >= 2)
    # in the order of the ranking by BDI as computed, then code
    by_bdi = np.argsort(-np.array(columns[_BDI], dtype=float), kind="stable")
    by_bdi = by_bdi[pooled[by_bdi]]
    n, s, ss = n[by_bdi], s[by_bdi], ss[by_bdi]
    squares = reduce(add, (ss - s * s / n).tolist(), 0.0)
    return scoring.pooled_variance(int(n.sum()), len(n), squares)


def _ranked_stored(
    rows: list, config: scoring.ScoringConfig,
    previous: dict[int, tuple[float | None, float | None]],
) -> list[StoreScore]:
    """StoreScores of a closed month's rows (``_shared_snapshot_ranking``), already in
    their stored order, each with the band stored at closing as an extra last column:
    rank and the bands its interval touches (as ``_ranked``)."""
    bounds, guards, _codes, spans = _band_table(config.bands)
    out: list[StoreScore] = []
    append = out.append
    get_previous, no_previous = previous.get, (None, None)
    for position, row in enumerate(rows, start=1):
        bdi, e2 = row[_BDI], row[_E2]
        if bdi is None:
            append(StoreScore(*row, None, *get_previous(row[0], no_previous), ()))
            continue
        bands = (row[-1],)
        if e2:
            half = scoring.Z90 * math.sqrt(e2)
            low, high = bdi - half, bdi + half
            bands = spans[_band_index(bounds, guards, low if low > 0.0 else 0.0)][
                _band_index(bounds, guards, high if high < 100.0 else 100.0)]
        append(StoreScore(*row, position, *get_previous(row[0], no_previous), bands))
    return out


def _ranked(
    columns: list[tuple], config: scoring.ScoringConfig,
    previous: dict[int, tuple[float | None, float | None]],
    variance: float | None = None,
) -> list[StoreScore]:
    """StoreScores of the rows of ``store_scores_query`` given as ``columns`` (in any
    order), best exact BDI first, ties by code, stores without a BDI last by code, each
    with its band, rank and the bands its interval touches: the comparisons of
    ``scoring.band`` and ``bands_touched`` (SCORING.md §7a), see ``_exact_order`` and
    ``_band_indexes``. ``variance``: σ² for the columns of ``_shared_ranking_query``
    (moments instead of errors): σ²/n and e² are then computed here, as
    ``store_scores_query`` computes them in SQL (same operations, same order).

    Column by column with numpy (2,000 stores: ``benchmarks/bdi_ranking.py``): its
    elementwise +, −, ×, ÷ and √ round as Python's floats do; only the StoreScores are
    built one by one."""
    bounds, guards, codes, spans = _band_table(config.bands)
    count = len(columns[0])
    bdi = np.array(columns[_BDI], dtype=float)  # NaN: no BDI
    if variance is None:
        ms_e2s, e2s = columns[_E2 - 1], list(columns[_E2])
        e2 = np.array(e2s, dtype=float)
    else:  # store_scores_query's ms_e2 and bdi_e2
        ms = np.array(columns[_MS], dtype=float)
        has_ms = ~np.isnan(ms)
        ms_e2 = np.divide(variance, np.array(columns[_MS_VISITS], dtype=float),
                          out=np.full(count, np.nan), where=has_ms)
        share = np.array(columns[_MS_SHARE], dtype=float) if len(columns) > _MS_SHARE \
            else _ms_shares(config, columns[_QA])
        e2 = ms_e2 * share * share
        ms_e2s, e2s = ms_e2.tolist(), e2.tolist()
        for i in np.flatnonzero(~has_ms).tolist():
            ms_e2s[i], e2s[i] = None, (None if columns[_QA][i] is None else 0.0)
        for i in np.flatnonzero(has_ms & np.isnan(share)).tolist():
            e2s[i] = None
        e2 = np.array(e2s, dtype=float)
    k = _band_indexes(bounds, guards, bdi)
    with_error = e2 > 0.0  # False for 0 and NaN (None): the band alone
    half = scoring.Z90 * np.sqrt(np.where(with_error, e2, 0.0))
    first = _band_indexes(bounds, guards, np.maximum(bdi - half, 0.0))
    last = _band_indexes(bounds, guards, np.minimum(bdi + half, 100.0))
    first, last = np.where(with_error, first, k).tolist(), np.where(with_error, last, k).tolist()
    touched = list(map(getitem, map(spans.__getitem__, first), last))
    bands = list(map(codes.__getitem__, k.tolist()))

    order, unscored = _exact_order(bdi, columns[_CODE])
    ranks = [None] * count
    for position, i in enumerate(order, start=1):
        ranks[i] = position
    for i in unscored:
        bands[i], touched[i] = None, ()
    if previous:
        previous_bdis, previous_e2s = zip(
            *map(previous.get, columns[0], repeat((None, None))), strict=True)
    else:
        previous_bdis = previous_e2s = repeat(None)
    fields = columns[:_E2 - 1]
    fields[_ACTIVE] = map(bool, fields[_ACTIVE])
    scores = list(map(StoreScore, *fields, ms_e2s, e2s, bands, ranks,
                      previous_bdis, previous_e2s, touched))
    return list(map(scores.__getitem__, order + unscored))


def _ms_shares(config: scoring.ScoringConfig, qas: tuple) -> np.ndarray:
    """c_MS/Σc of ``store_scores_query`` for stores with an MS (then HL counts too) and
    without a recovery score, by whether each has a QA: the statement's operations in
    its order (NaN where Σc is 0, as its ``nullif``)."""
    c = config.component_weights

    def share(qa_weight: float) -> float:
        total = float(c["MS"]) + qa_weight + float(c["HL"])  # as the SQL's float literals
        return float(c["MS"]) / total if total != 0.0 else math.nan

    with_qa = np.fromiter(map(is_not, qas, repeat(None)), dtype=bool, count=len(qas))
    return np.where(with_qa, share(float(c["QA"])), share(0.0))


def _band_index(bounds: list[float], guards: list[float], value: float) -> int:
    """``_band_indexes`` of one value."""
    index = bisect_right(bounds, value)
    if index != bisect_right(guards, value):  # just below a bound: compare it exactly
        index = bisect_right(bounds, round(value, scoring.THRESHOLD_DECIMALS))
    return index


def _band_indexes(bounds: list[float], guards: list[float], values: np.ndarray) -> np.ndarray:
    """For each value, the index of its band in ``_band_table``'s ``codes``, as an exact
    decimal: its place (``bisect_right``) among the exact bounds, and where its place
    among the guards differs (just below a bound), among the bounds with the value
    rounded as ``scoring.exact`` rounds it."""
    indexes = np.searchsorted(bounds, values, side="right")
    near = np.flatnonzero(indexes != np.searchsorted(guards, values, side="right"))
    for i in near.tolist():
        indexes[i] = _band_index(bounds, guards, float(values[i]))
    return indexes


#: Two values closer than this may round to the same exact decimal (``scoring.exact``
#: moves a value by at most half of it).
_NEAR = 10.0 ** -scoring.THRESHOLD_DECIMALS


def _exact_order(bdi: np.ndarray, codes: tuple[str, ...]) -> tuple[list[int], list[int]]:
    """The positions of the rows with a BDI (``bdi``, NaN for none), best first as exact
    decimals (SCORING.md §7a: an exact tie goes by store code), rounding only the values
    that could tie; and those of the rows without a BDI, by code.

    Sorted by the BDI as computed, best first (stable: rows given by code keep ties by
    code), then each run of neighbours less than
    2 × ``_NEAR`` apart is sorted again, by code when it holds one value, else by the
    rounded BDI and code: rounding never swaps two values (``round`` is monotonic), and
    two values that round alike are within ``_NEAR`` of each other, hence in one run."""
    has_bdi = ~np.isnan(bdi)
    scored = np.flatnonzero(has_bdi)
    scored = scored[np.argsort(-bdi[scored], kind="stable")]
    keys = bdi[scored]
    order, values = scored.tolist(), keys.tolist()
    # i such that order[i] is close to order[i - 1]: a run is [start, end) with every i
    # in (start, end) among them
    joined = (np.flatnonzero(keys[:-1] - keys[1:] < 2 * _NEAR) + 1).tolist()
    decimals = scoring.THRESHOLD_DECIMALS
    start = end = 0
    for i in (*joined, None):
        if i is not None and i == end:
            end += 1  # order[i] continues the run
            continue
        if end - start > 1:
            run = order[start:end]
            if values[start] == values[end - 1]:
                order[start:end] = sorted(run, key=codes.__getitem__)
            else:
                by_value = dict(zip(run, values[start:end], strict=True))
                order[start:end] = sorted(
                    run, key=lambda j: (round(-by_value[j], decimals), codes[j]))
        if i is not None:
            start, end = i - 1, i + 1
    unscored = sorted(np.flatnonzero(~has_bdi).tolist(), key=codes.__getitem__)
    return order, unscored


@lru_cache(maxsize=32)
def _band_table(
    bands: tuple[tuple[float, str], ...]
) -> tuple[list[float], list[float], list[str], list[list[tuple[str, ...]]]]:
    """The bands of ``ScoringConfig.bands`` (strictly decreasing bounds) as a lookup.

    ``bounds``: the exact bounds, ascending; ``codes``: the band codes, lowest first, so
    that the band of a value v is ``codes[bisect_right(bounds, exact(v))]`` (v ≥ an exact
    bound, as ``scoring.band``); ``spans[i][j]``: the bands from ``codes[i]`` to
    ``codes[j]`` (``scoring.bands_touched`` of an interval whose ends are in those).
    ``guards``: each bound less ``_NEAR``. Rounding matters only for a value in
    [bound − ``_NEAR``, bound), where ``bisect_right`` finds a different place in the two
    lists: at or above an exact bound a value rounds to at least the bound, further
    below it to less."""
    bounds = [scoring.exact(bound) for bound, _code in reversed(bands)]
    guards = [bound - _NEAR for bound in bounds]
    codes = ["needs_improvement", *(code for _bound, code in reversed(bands))]
    spans = [[tuple(codes[low:high + 1]) for high in range(len(codes))]
             for low in range(len(codes))]
    return bounds, guards, codes, spans


def store_score(
    store_id: int, period: Period, config: scoring.ScoringConfig | None = None
) -> StoreScore | None:
    """One store's figures, ranked among all stores that count in the period (as in
    ``store_scores``: by BDI, ties by store code); a store that does not count in the
    period or has no BDI has no rank."""
    config = _scoring_config(config, period)
    rows = store_scores(
        period, config, store_ids=[store_id], include_inactive=True, with_trend=True
    )
    if not rows:
        return None
    row = rows[0]
    rank = None
    others = _cached_query(period, config, active_only=True).subquery()
    counted = db.session.scalar(
        select(func.count()).select_from(others).where(others.c.store_id == store_id)
    )
    if row.bdi is not None and counted:
        bdi, other = scoring.exact(row.bdi), _exact(others.c.bdi)
        ahead = db.session.scalar(
            select(func.count()).select_from(others).where(
                (other > bdi) | ((other == bdi) & (others.c.code < row.code))
            )
        )
        rank = int(ahead) + 1
    return replace(row, rank=rank)


def _group_query(period: Period, config: scoring.ScoringConfig, key: str):
    """One row per region (``key="region_id"``) or brand: live, or a closed month's
    snapshot (see ``_cached_query``)."""
    if _from_snapshot(period):
        return _shared_snapshot_group_query(period, key)
    return _with_variance(_shared_group_query(period, _config_key(config), key), period)


@lru_cache(maxsize=256)
def _shared_group_query(period: Period, config_key: _ConfigKey, key: str) -> Select:
    stores = _shared_store_query(period, config_key, True).subquery()
    column = stores.c[key]
    return (
        select(
            column.label("group_id"),
            func.avg(stores.c.bdi).label("bdi"),
            func.count(stores.c.bdi).label("stores_scored"),
            func.sum(stores.c.bdi_e2).label("e2_sum"),
            func.sum(case((stores.c.bdi.is_not(None), stores.c.ms_visits), else_=0)).label(
                "visits"),
        )
        .group_by(column)
    )


@dataclass(frozen=True)
class _Named:
    id: int
    name: str


def region_scores(
    period: Period, config: scoring.ScoringConfig | None = None
) -> list[GroupScore]:
    """Each active region's BDI (mean of the BDIs of its stores that count in the period)
    with the previous period's, ordered by name."""
    config = _scoring_config(config, period)
    current = {
        r.group_id: r for r in db.session.execute(_group_query(period, config, "region_id"))
    }
    previous_config = _scoring_config(None, period.previous())
    previous = {
        r.group_id: r
        for r in db.session.execute(_group_query(period.previous(), previous_config,
                                                 "region_id"))
    }
    if _from_snapshot(period):  # the regions as they stood at closing
        regions = sorted(((r.group_id, r.name) for r in current.values()),
                         key=lambda r: r[1])
    else:
        regions = db.session.execute(
            select(Region.id, Region.name).where(Region.active.is_(True))
            .order_by(Region.name)
        ).all()
    out = []
    for region in regions:
        region = _Named(*region)
        row, prev = current.get(region.id), previous.get(region.id)
        bdi = row.bdi if row else None
        error = _group_error(row)
        out.append(
            GroupScore(
                id=region.id,
                name=region.name,
                bdi=bdi,
                stores_scored=row.stores_scored if row else 0,
                band=scoring.band(bdi, config),
                previous_bdi=prev.bdi if prev else None,
                error=error,
                previous_error=_group_error(prev),
                bands=scoring.bands_touched(scoring.interval(bdi, error), config),
                visits=int(row.visits or 0) if row else 0,
            )
        )
    return out


def brand_score(
    period: Period, config: scoring.ScoringConfig | None = None, brand_id: int | None = None
) -> GroupScore:
    """The Brand Delivery Index: mean of the BDIs of the brand's stores that count in the
    period (active, or deactivated in or after it)."""
    config = _scoring_config(config, period)
    if brand_id is None:
        brand_id = db.session.scalar(select(func.min(Brand.id)))
    brand = db.session.get(Brand, brand_id) if brand_id is not None else None

    def fetch(p: Period):
        rows = {
            r.group_id: r
            for r in db.session.execute(
                _group_query(p, _config_for(p, period, config), "brand_id"))
        }
        return rows.get(brand_id)

    row, prev = fetch(period), fetch(period.previous())
    bdi = row.bdi if row else None
    error = _group_error(row)
    name = brand.name if brand else ""
    if row is not None and "name" in row._fields:  # a closed month: the name at closing
        name = row.name
    return GroupScore(
        id=brand_id,
        name=name,
        bdi=bdi,
        stores_scored=row.stores_scored if row else 0,
        band=scoring.band(bdi, config),
        previous_bdi=prev.bdi if prev else None,
        error=error,
        previous_error=_group_error(prev),
        bands=scoring.bands_touched(scoring.interval(bdi, error), config),
        visits=int(row.visits or 0) if row else 0,
    )


def band_distribution(
    period: Period, config: scoring.ScoringConfig | None = None
) -> dict[str, int]:
    """How many of the period's stores fall in each band (only stores with a BDI); bounds
    compared as exact decimals, as ``scoring.band`` does."""
    config = _scoring_config(config, period)
    stores = _cached_query(period, config, active_only=True).subquery()
    bdi = _exact(stores.c.bdi)
    whens = [(bdi >= scoring.exact(bound), literal(code)) for bound, code in config.bands]
    band_col = case(*whens, else_=literal("needs_improvement")).label("band")
    counts = {code: 0 for _, code in config.bands} | {"needs_improvement": 0}
    query = (
        select(band_col, func.count())
        .where(stores.c.bdi.is_not(None))
        .group_by(band_col)
    )
    for code, n in db.session.execute(query):
        counts[code] = n
    return counts


def trend_series(
    period: Period,
    months: int = 12,
    *,
    store_id: int | None = None,
    region_id: int | None = None,
    config: scoring.ScoringConfig | None = None,
) -> list[tuple[str, float | None]]:
    """BDI over the last ``months`` months up to ``period``: one store, one region, or
    the brand; each month with its own settings version."""
    points = trend_points(period, months, store_id=store_id, region_id=region_id,
                          config=config)
    return [(label, bdi) for label, bdi, _span in points]


def trend_points(
    period: Period,
    months: int = 12,
    *,
    store_id: int | None = None,
    region_id: int | None = None,
    config: scoring.ScoringConfig | None = None,
) -> list[tuple[str, float | None, scoring.Interval | None]]:
    """``trend_series`` with each month's 90 % interval (SCORING.md §10, each month with
    its own σ), for the charts."""
    config = _scoring_config(config, period)
    # the brand of brand_score(), looked up once; one group query per month (brand_score
    # would also fetch each month's previous month)
    brand_id = (
        db.session.scalar(select(func.min(Brand.id)))
        if store_id is None and region_id is None else None
    )
    out = []
    for p in period.months_back(months):
        p_config = _config_for(p, period, config)
        if store_id is not None:
            query = _cached_query(p, p_config)
            sub = query.where(query.selected_columns.store_id == store_id).subquery()
            row = db.session.execute(select(sub.c.bdi, sub.c.bdi_e2)).first()
            bdi = row.bdi if row else None
            error = math.sqrt(row.bdi_e2 or 0.0) if row else 0.0
        else:
            key, group = ("region_id", region_id) if region_id is not None else (
                "brand_id", brand_id)
            sub = _group_query(p, p_config, key).subquery()
            row = db.session.execute(
                select(sub.c.bdi, sub.c.e2_sum, sub.c.stores_scored)
                .where(sub.c.group_id == group)
            ).first()
            bdi = row.bdi if row else None
            error = _group_error(row)
        out.append((p.label, bdi, scoring.interval(bdi, error)))
    return out


def store_trend_series(
    period: Period,
    months: int,
    store_ids: list[int],
    config: scoring.ScoringConfig | None = None,
) -> dict[int, list[tuple[str, float | None, scoring.Interval | None]]]:
    """``trend_points`` of many stores at once (the manager's store cards): one query,
    whatever the number of stores."""
    if not store_ids:
        return {}
    config = _scoring_config(config, period)
    periods = period.months_back(months)
    parts = []
    for p in periods:
        query = _cached_query(p, _config_for(p, period, config))
        sub = query.where(query.selected_columns.store_id.in_(store_ids)).subquery()
        parts.append(select(literal(p.label).label("month"), sub.c.store_id, sub.c.bdi,
                            sub.c.bdi_e2))
    found = {
        (row.month, row.store_id): (row.bdi, scoring.interval(row.bdi, math.sqrt(row.bdi_e2 or 0)))
        for row in db.session.execute(union_all(*parts))
    }
    return {sid: [(p.label, *found.get((p.label, sid), (None, None))) for p in periods]
            for sid in store_ids}


def action_counts(store_ids: list[int], today: date) -> dict[int, tuple[int, int]]:
    """Per store: its open corrective actions and how many of them are overdue (due
    before ``today``), ``{store_id: (open, overdue)}``; one query."""
    if not store_ids:
        return {}
    is_open = CorrectiveAction.status == ACTION_OPEN
    query = (
        select(
            Visit.store_id,
            func.count(case((is_open, 1))),
            func.count(case((and_(is_open, CorrectiveAction.due_date < today), 1))),
        )
        .join(Visit, Visit.id == CorrectiveAction.visit_id)
        .where(Visit.store_id.in_(store_ids))
        .group_by(Visit.store_id)
    )
    counts = {sid: (int(n_open), int(n_overdue))
              for sid, n_open, n_overdue in db.session.execute(query)}
    return {sid: counts.get(sid, (0, 0)) for sid in store_ids}


def _membership(period: Period) -> tuple:
    """Which stores count in the period and their regions, for the visit-level figures
    (dimension means, CSM): ``(table, store id, region id, counts)`` to join on the visits.
    A closed month takes them from its snapshot, as they stood at closing."""
    if _from_snapshot(period):
        from .models import MonthFigure
        from .models.months import SCOPE_STORE

        f = MonthFigure
        return f, f.ref_id, f.region_id, and_(
            f.month == period.label, f.scope == SCOPE_STORE, f.counted.is_(True))
    return Store, Store.id, Store.region_id, counts_in(period)


def dimension_means(
    period: Period,
    *,
    by: str = "store",
    kind: str = MYSTERY,
    store_ids: list[int] | None = None,
) -> dict[int | None, dict[str, float | None]]:
    """Mean S_d per dimension over the period's released visits, grouped by ``store``,
    ``region`` or ``brand`` (key None). N/A dimensions are left out of the mean."""
    table, store_id, region_col, counts = _membership(period)
    group_col = {
        "store": Visit.store_id,
        "region": region_col,
        "brand": literal(None),
    }[by]
    query = (
        select(
            group_col.label("group_id"),
            VisitDimensionScore.dimension,
            func.avg(VisitDimensionScore.score),
        )
        .join(Visit, Visit.id == VisitDimensionScore.visit_id)
        .join(table, store_id == Visit.store_id)
        .where(*_counted_visits(kind, period), counts)
        .group_by(group_col, VisitDimensionScore.dimension)
    )
    if store_ids is not None:
        query = query.where(Visit.store_id.in_(store_ids))
    out: dict[int | None, dict[str, float | None]] = {}
    for group_id, dimension, value in db.session.execute(query):
        out.setdefault(group_id, {})[dimension] = value
    return out


@dataclass(frozen=True)
class Satisfaction:
    visits_with_csm: int
    satisfied: int
    mean_csm: float | None

    @property
    def rate(self) -> float | None:
        """T = S / C × 100 (SCORING.md §5)."""
        return self.satisfied / self.visits_with_csm * 100 if self.visits_with_csm else None

    @property
    def grade(self) -> int | None:
        return scoring.csm_grade(self.mean_csm) if self.mean_csm is not None else None


def satisfaction(
    period: Period, *, store_ids: list[int] | None = None, region_id: int | None = None
) -> Satisfaction:
    """CSM and satisfaction rate over the period's released mystery visits."""
    table, store_id, region_col, counts = _membership(period)
    query = (
        select(
            func.count(Visit.csm),
            func.coalesce(func.sum(
                case((_exact(Visit.csm) >= scoring.SATISFIED_CSM, 1), else_=0)), 0),
            func.avg(Visit.csm),
        )
        .join(table, store_id == Visit.store_id)
        .where(*_counted_visits(MYSTERY, period), counts)
    )
    if store_ids is not None:
        query = query.where(Visit.store_id.in_(store_ids))
    if region_id is not None:
        query = query.where(region_col == region_id)
    counted, satisfied, mean_csm = db.session.execute(query).one()
    return Satisfaction(int(counted or 0), int(satisfied or 0), mean_csm)


# --- counts for HQ's lists ------------------------------------------------------------------


def visits_per_questionnaire() -> dict[int, int]:
    """Questionnaire version id → how many visits use it (any status)."""
    return dict(db.session.execute(
        select(Visit.questionnaire_id, func.count(Visit.id)).group_by(Visit.questionnaire_id)
    ).all())


def active_stores_per_region() -> dict[int, int]:
    """Region id → how many active stores it has."""
    return dict(db.session.execute(
        select(Store.region_id, func.count(Store.id))
        .where(Store.active.is_(True)).group_by(Store.region_id)
    ).all())


def complaints_by_severity(store_id: int, period: Period) -> dict[str, dict[str, int]]:
    """A store's complaints received in ``period``: severity → count and how many are
    resolved (every severity, also those without a complaint)."""
    rows = db.session.execute(
        select(
            Complaint.severity,
            func.count(Complaint.id),
            func.count(Complaint.resolved_at),
        )
        .where(
            Complaint.store_id == store_id,
            period.includes(Complaint.received_on),  # the store's local month
        )
        .group_by(Complaint.severity)
    ).all()
    complaints = {sev: {"count": 0, "resolved": 0} for sev in scoring.SEVERITIES}
    for severity, count, resolved in rows:
        complaints[severity] = {"count": count, "resolved": resolved}
    return complaints


def latest_month() -> str:
    """The month pages and reports open on: the latest closed month (SCORING.md §11),
    else the most recent month with a released visit (``YYYY-MM``), else the current one."""
    from .settings import latest_closed_month

    return latest_closed_month() or latest_data_month()


def latest_data_month() -> str:
    """The most recent month with a released visit (``YYYY-MM``), else the current one."""
    last = db.session.scalar(
        select(func.max(Visit.visit_date)).where(Visit.counted)
    )
    if isinstance(last, str):  # SQLite returns the raw text for an aggregate of a date
        last = date.fromisoformat(last)
    return f"{(last or date.today()):%Y-%m}"


def region_ranks(
    period: Period,
    store_ids: list[int],
    config: scoring.ScoringConfig | None = None,
) -> dict[int, tuple[int, int]]:
    """Each given store's rank by BDI within its region and how many of the region's active
    stores have a BDI: ``{store_id: (rank, ranked)}``. Stores without a BDI are left out.
    Ties share a rank (SQL ``RANK()``)."""
    if not store_ids:
        return {}
    config = _scoring_config(config, period)
    every = _cached_query(period, config)
    counted = _cached_query(period, config, active_only=True).subquery()
    stores = (
        every.where(every.selected_columns.store_id.in_(store_ids)
                    | every.selected_columns.store_id.in_(select(counted.c.store_id)))
        .subquery()
    )
    ranked = (
        select(
            stores.c.store_id,
            func.rank().over(partition_by=stores.c.region_id,
                             order_by=_exact(stores.c.bdi).desc())
            .label("rank"),
            func.count().over(partition_by=stores.c.region_id).label("ranked"),
        )
        .where(stores.c.bdi.is_not(None))
        .subquery()
    )
    query = select(ranked.c.store_id, ranked.c.rank, ranked.c.ranked).where(
        ranked.c.store_id.in_(store_ids)
    )
    return {row.store_id: (int(row.rank), int(row.ranked)) for row in db.session.execute(query)}


def competitor_benchmark(
    period: Period, *, region_id: int | None = None
) -> dict[str, dict]:
    """Competitor benchmark visits of the period, per competitor chain: the number of
    visits, their mean visit score with its 90 % interval (±Z90·σ/√n, σ pooled over our own
    stores as in SCORING.md §10) and mean S_d per dimension (HQ page, API, reports).

    Competitor visits have ``kind == "competitor"``, a ``competitor_id`` and no store."""
    from .models import CompetitorStore
    from .models.visit import COMPETITOR

    where = [
        Visit.kind == COMPETITOR,
        Visit.counted,
        period.includes(Visit.visit_date),
        Visit.score.is_not(None),
        Visit.competitor_id.is_not(None),
    ]
    if region_id is not None:
        where.append(CompetitorStore.region_id == region_id)
    out: dict[str, dict] = {}
    sigma2 = literal(pooled_variance(period), type_=Float)
    totals = (
        select(CompetitorStore.competitor, func.count(Visit.id), func.avg(Visit.score),
               sigma2 / func.count(Visit.id))
        .join(CompetitorStore, CompetitorStore.id == Visit.competitor_id)
        .where(*where)
        .group_by(CompetitorStore.competitor)
        .order_by(CompetitorStore.competitor)
    )
    for name, visits, mean_score, e2 in db.session.execute(totals):
        out[name] = {"visits": visits, "score": mean_score, "dimensions": {},
                     "interval": scoring.interval(mean_score, math.sqrt(e2))}
    dims = (
        select(
            CompetitorStore.competitor,
            VisitDimensionScore.dimension,
            func.avg(VisitDimensionScore.score),
        )
        .join(Visit, Visit.id == VisitDimensionScore.visit_id)
        .join(CompetitorStore, CompetitorStore.id == Visit.competitor_id)
        .where(*where)
        .group_by(CompetitorStore.competitor, VisitDimensionScore.dimension)
    )
    for name, dimension, value in db.session.execute(dims):
        if name in out:
            out[name]["dimensions"][dimension] = value
    return out


def mystery_visit_mean(
    period: Period, *, region_id: int | None = None, store_ids: list[int] | None = None
) -> tuple[int, float | None]:
    """Number and mean V of the period's released mystery visits to active stores."""
    table, store_id, region_col, counts = _membership(period)
    query = (
        select(func.count(Visit.id), func.avg(Visit.score))
        .join(table, store_id == Visit.store_id)
        .where(*_counted_visits(MYSTERY, period), counts)
    )
    if region_id is not None:
        query = query.where(region_col == region_id)
    if store_ids is not None:
        query = query.where(Visit.store_id.in_(store_ids))
    count, mean_score = db.session.execute(query).one()
    return int(count or 0), mean_score
