"""Score receipts: how a number was made, recomputed from the raw rows with ``scoring.py``.

A visit's receipt goes items → dimensions → V (with the weights and timed targets used);
a store-month's receipt goes visits and complaints → MS, QA, HL → BDI → band (with the
settings used). Every figure is recomputed here from answers and complaints with the pure
scoring functions, never read from the SQL aggregates, so that ``verify.py`` can compare
the two and an HQ reader can check a number by hand. Read-only: nothing here writes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from . import scoring
from .analytics import Period
from .extensions import db
from .models import Answer, Complaint, Store, Visit
from .models.visit import COUNTED_STATUSES, MYSTERY, QA
from .visits import to_item_answers


@dataclass(frozen=True)
class ItemLine:
    item_id: int
    code: str
    text: str
    dimension: str
    item_type: str
    value: float | None
    na: bool
    voided: bool
    weight: float
    critical: bool
    target: float | None
    limit: float | None
    score: float | None  # s, recomputed
    stored_score: float | None


@dataclass(frozen=True)
class DimensionLine:
    code: str
    weight: float  # W_d
    score: float | None  # S_d, recomputed (None: every item N/A)
    stored_score: float | None
    critical_failed: bool


@dataclass(frozen=True)
class VisitReceipt:
    visit_id: int
    kind: str
    store_code: str | None
    visit_date: str | None
    visit_type: str
    status: str
    questionnaire: str  # code and version
    items: list[ItemLine]
    dimensions: list[DimensionLine]
    score: float | None  # V, recomputed
    stored_score: float | None
    csm: float | None
    stored_csm: float | None
    csm_grade: int | None
    satisfied: bool | None
    band: str | None

    def to_dict(self) -> dict:
        return _plain(self)


def visit_receipt(visit: Visit, config: scoring.ScoringConfig) -> VisitReceipt:
    """The visit's score recomputed from its answers and its questionnaire version."""
    pairs = to_item_answers(visit)
    result = scoring.score_visit([ia for _, ia in pairs],
                                 visit.questionnaire.dimension_weights)
    stored_dims = {d.dimension: d.score for d in visit.dimension_scores}
    items = [
        ItemLine(
            item_id=answer.item_id, code=answer.item.code, text=answer.item.text,
            dimension=ia.dimension, item_type=ia.item_type, value=answer.value,
            na=answer.na, voided=answer.voided, weight=ia.weight, critical=ia.critical,
            target=ia.target, limit=ia.limit, score=s, stored_score=answer.score,
        )
        for (answer, ia), s in zip(pairs, result.item_scores, strict=True)
    ]
    weights = visit.questionnaire.dimension_weights
    dimensions = [
        DimensionLine(
            code=code,
            weight=weights.get(code, scoring.DEFAULT_DIMENSION_WEIGHT),
            score=score,
            stored_score=stored_dims.get(code),
            critical_failed=any(i.critical and i.score == 0 for i in items
                                if i.dimension == code),
        )
        for code, score in result.dimensions.items()
    ]
    questionnaire = visit.questionnaire
    return VisitReceipt(
        visit_id=visit.id, kind=visit.kind,
        store_code=visit.store.code if visit.store is not None else None,
        visit_date=visit.visit_date.isoformat() if visit.visit_date else None,
        visit_type=visit.visit_type, status=visit.status,
        questionnaire=f"{questionnaire.code} v{questionnaire.version}",
        items=items, dimensions=dimensions, score=result.score, stored_score=visit.score,
        csm=result.csm, stored_csm=visit.csm, csm_grade=result.csm_grade,
        satisfied=result.satisfied, band=scoring.band(result.score, config),
    )


@dataclass(frozen=True)
class ComplaintLine:
    complaint_id: int
    received_local: str  # the store's local time of receipt
    month: str  # the local month it counts in
    severity: str
    resolution_hours: float | None  # full duration, None while open
    quick: bool
    deduction: float


@dataclass(frozen=True)
class StoreReceipt:
    store_id: int
    store_code: str
    store_name: str
    month: str
    counts_in_period: bool  # active, or deactivated in or after the period
    mystery: list[VisitReceipt]
    qa: list[VisitReceipt]
    complaints: list[ComplaintLine]
    ms: float | None
    qa_score: float | None
    hl: float | None
    bdi: float | None
    band: str | None
    settings: dict = field(default_factory=dict)
    #: The store's recovery score (SCORING.md §13), recomputed from the steps; it joins
    #: the BDI only when the settings give it a weight c_RS.
    rs: float | None = None

    def to_dict(self) -> dict:
        data = _plain(self)
        data["components"] = {"MS": self.ms, "QA": self.qa_score, "HL": self.hl}
        return data


def local_month(utc: datetime, timezone: str) -> str:
    """The month (YYYY-MM) a naive UTC time falls in, in the zone ``timezone``."""
    return f"{utc.replace(tzinfo=UTC).astimezone(ZoneInfo(timezone)):%Y-%m}"


def counts_in(store: Store, period: Period) -> bool:
    """The store counts in the period: active, or deactivated on or after its first day."""
    return store.active or (store.deactivated_on is not None
                            and store.deactivated_on >= period.start)


def period_visits(period: Period, store_ids: list[int] | None = None) -> list[Visit]:
    """The period's visits that carry a score or count, with what a receipt reads."""
    query = (
        select(Visit)
        .where(period.includes(Visit.visit_date))
        .options(
            selectinload(Visit.answers).selectinload(Answer.item),
            selectinload(Visit.dimension_scores),
            selectinload(Visit.store),
        )
        .order_by(Visit.visit_date, Visit.id)
    )
    if store_ids is not None:
        query = query.where(Visit.store_id.in_(store_ids))
    return list(db.session.scalars(query))


def store_complaints(store: Store, period: Period) -> list[Complaint]:
    """The store's complaints received in the period, by the local month of receipt
    (read broadly by UTC time, then decided in the store's time zone)."""
    margin = timedelta(days=2)  # every time zone lies within a day of UTC
    rows = db.session.scalars(
        select(Complaint).where(
            Complaint.store_id == store.id,
            Complaint.received_at >= period.start_dt - margin,
            Complaint.received_at < period.end_dt + margin,
        ).order_by(Complaint.received_at, Complaint.id)
    )
    zone = ZoneInfo(store.timezone)
    return [c for c in rows
            if period.start <= c.received_at.replace(tzinfo=UTC).astimezone(zone).date()
            < period.end]


def store_receipt(
    store: Store,
    period: Period,
    config: scoring.ScoringConfig,
    visits: list[Visit] | None = None,
) -> StoreReceipt:
    """The store's MS, QA, HL, BDI and band for the period, recomputed from its visits'
    answers and its complaints (``visits``: the period's visits if already loaded)."""
    if visits is None:
        visits = period_visits(period, [store.id])
    counted = [v for v in visits if v.store_id == store.id and v.status in COUNTED_STATUSES]
    mystery = [visit_receipt(v, config) for v in counted if v.kind == MYSTERY]
    audits = [visit_receipt(v, config) for v in counted if v.kind == QA]
    mystery = [r for r in mystery if r.score is not None]
    audits = [r for r in audits if r.score is not None]
    lines = []
    for c in store_complaints(store, period):
        hours = (None if c.resolved_at is None
                 else max(0.0, (c.resolved_at - c.received_at).total_seconds()) / 3600)
        deduction = scoring.complaint_deduction(c.severity, hours, config)
        lines.append(ComplaintLine(
            complaint_id=c.id,
            received_local=c.received_at.replace(tzinfo=UTC)
            .astimezone(ZoneInfo(store.timezone)).isoformat(timespec="seconds"),
            month=local_month(c.received_at, store.timezone),
            severity=c.severity, resolution_hours=hours,
            quick=hours is not None and scoring.hours_to_seconds(hours)
            <= scoring.hours_to_seconds(config.quick_resolution_hours),
            deduction=deduction,
        ))
    ms = scoring.mean(r.score for r in mystery)
    qa = scoring.mean(r.score for r in audits)
    hl = (scoring.hotline_score(
        [(line.severity, line.resolution_hours) for line in lines], config)
        if ms is not None or qa is not None else None)
    rs = store_recovery(store, period) if config.rs_weight > 0 else None
    value = scoring.bdi(ms, qa, hl, config, rs=rs)
    return StoreReceipt(
        store_id=store.id, store_code=store.code, store_name=store.name, month=period.label,
        counts_in_period=counts_in(store, period), mystery=mystery, qa=audits,
        complaints=lines, ms=ms, qa_score=qa, hl=hl, bdi=value,
        band=scoring.band(value, config), settings=config.to_dict(), rs=rs,
    )


def store_recovery(store: Store, period: Period) -> float | None:
    """The store's RS from its released scenario visits' steps in the three months ending
    with the period (SCORING.md §13), recomputed with ``scoring.recovery_score``."""
    from .models import ScenarioVisit
    from .scenarios import rs_window

    window = rs_window(period)
    rows = db.session.scalars(
        select(ScenarioVisit).join(Visit, Visit.id == ScenarioVisit.visit_id).where(
            Visit.store_id == store.id, Visit.kind == MYSTERY, Visit.counted,
            window.includes(Visit.visit_date), ScenarioVisit.rs.is_not(None)))
    return scoring.rolling_recovery(
        scoring.recovery_score(row.steps()) for row in rows)[0]


def _plain(obj) -> dict:
    """A receipt as JSON-ready dicts and lists."""
    return asdict(obj)
