"""analytics.py (SQL GROUP BY) must give the same numbers as scoring.py (pure Python)."""

from __future__ import annotations

import math
import random
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from auditapp import analytics, scoring
from auditapp.extensions import db
from auditapp.models import Complaint, Store, Visit
from auditapp.models.visit import COUNTED_STATUSES, MYSTERY, QA, RELEASED, SUBMITTED
from auditapp.scoring import ScoringConfig
from auditapp.visits import to_item_answers

from .factories import make_complaint, make_visit

MAY = analytics.Period.month("2026-05")


def python_store_bdis(period: analytics.Period, config: ScoringConfig) -> dict[str, dict]:
    """The reference computation, straight from scoring.py over raw rows."""
    out = {}
    for store in db.session.scalars(select(Store)):
        if not (store.active or store.deactivated_on >= period.start):
            continue  # a deactivated store counts up to its month of deactivation
        visits = db.session.scalars(select(Visit).where(Visit.store_id == store.id)).all()

        def in_period(v, kind):
            return (v.kind == kind and v.status in COUNTED_STATUSES
                    and period.start <= v.visit_date < period.end)

        def v_score(v):
            # recompute from the answers, not the stored score
            return scoring.score_visit(
                [ia for _, ia in to_item_answers(v)], v.questionnaire.dimension_weights
            ).score

        ms = scoring.mean([v_score(v) for v in visits if in_period(v, MYSTERY)])
        qa = scoring.mean([v_score(v) for v in visits if in_period(v, QA)])
        zone = ZoneInfo(store.timezone)
        complaints = [  # in the month of receipt in the store's own time zone
            c for c in db.session.scalars(select(Complaint).where(Complaint.store_id == store.id))
            if period.start <= c.received_at.replace(tzinfo=UTC).astimezone(zone).date()
            < period.end
        ]
        hl = scoring.hotline_score(
            [(c.severity, (c.resolved_at - c.received_at).total_seconds() / 3600
              if c.resolved_at else None) for c in complaints], config)
        has_any = ms is not None or qa is not None
        out[store.code] = {
            "ms": ms, "qa": qa, "hl": hl if has_any else None,
            "bdi": scoring.bdi(ms, qa, hl, config), "region_id": store.region_id,
        }
    return out


def random_data(chain, rng: random.Random) -> None:
    months = [date(2026, 4, 1), date(2026, 5, 1), date(2026, 6, 1)]
    for store in chain.stores:
        for first in months:
            for _ in range(rng.randrange(0, 3)):
                kind = rng.choice((MYSTERY, MYSTERY, QA))
                values = {}
                questionnaire = chain.qa_q if kind == QA else chain.ms_q
                for item in questionnaire.items:
                    if item.allow_na and rng.random() < 0.2:
                        values[item.code] = "na"
                    elif item.item_type == "yesno":
                        values[item.code] = rng.choice((0, 1, 1, 1))
                    elif item.item_type == "scale7":
                        values[item.code] = rng.choice(scoring.SCALE7_LEVELS)
                    else:
                        values[item.code] = rng.uniform(30, 700)
                make_visit(
                    chain, store, kind=kind,
                    status=rng.choice((RELEASED, RELEASED, RELEASED, SUBMITTED)),
                    visit_date=first + timedelta(days=rng.randrange(28)),
                    visit_type=rng.choice(scoring.VISIT_TYPES), values=values,
                )
            for _ in range(rng.randrange(0, 5)):
                received = datetime.combine(first, datetime.min.time()) + timedelta(
                    hours=rng.randrange(0, 28 * 24))
                make_complaint(store, received, rng.choice(scoring.SEVERITIES),
                               rng.choice((None, rng.uniform(0, 47.9), 48, rng.uniform(48.1, 200))))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_sql_aggregation_matches_scoring_on_random_data(chain, seed):
    rng = random.Random(seed)
    random_data(chain, rng)
    configs = [
        ScoringConfig(),
        ScoringConfig.from_dict({
            "component_weights": {"MS": 0.5, "QA": 0.3, "HL": 0.2},
            "hotline_deductions": {"minor": 3, "major": 7, "critical": 20},
            "quick_resolution_hours": 24, "quick_resolution_factor": 0.25,
            "bands": [[85, "excellent"], [75, "good"], [60, "fair"]],
        }),
    ]
    for config in configs:
        for period in (analytics.Period.month("2026-04"), MAY,
                       analytics.Period.between(date(2026, 4, 15), date(2026, 6, 10))):
            expected = python_store_bdis(period, config)
            rows = {r.code: r for r in analytics.store_scores(period, config)}
            assert set(rows) == set(expected)
            for code, exp in expected.items():
                row = rows[code]
                for key in ("ms", "qa", "hl", "bdi"):
                    assert getattr(row, key) == pytest.approx(exp[key], abs=1e-9), (code, key)
                assert row.band == scoring.band(exp["bdi"], config)
            regions = {g.id: g for g in analytics.region_scores(period, config)}
            for region in chain.regions:
                want = scoring.group_score(
                    [e["bdi"] for e in expected.values() if e["region_id"] == region.id])
                assert regions[region.id].bdi == pytest.approx(want, abs=1e-9)
            brand = analytics.brand_score(period, config)
            assert brand.bdi == pytest.approx(
                scoring.group_score([e["bdi"] for e in expected.values()]), abs=1e-9)


def test_stored_visit_scores_equal_a_fresh_computation(chain):
    rng = random.Random(9)
    random_data(chain, rng)
    for visit in db.session.scalars(select(Visit)):
        fresh = scoring.score_visit([ia for _, ia in to_item_answers(visit)],
                                    visit.questionnaire.dimension_weights)
        assert visit.score == pytest.approx(fresh.score)
        assert visit.csm == pytest.approx(fresh.csm)
        stored = {d.dimension: d.score for d in visit.dimension_scores}
        assert stored == pytest.approx(fresh.dimensions)


def test_worked_example_through_the_database(chain):
    """SCORING.md §7 month: visits 62.5 and 80, a QA audit of 90, two complaints."""
    store = chain.stores[0]
    # A visit that scores 100 everywhere but a failed critical cleanliness item:
    # dimensions 100, 100, 100, 100, 0 → V = 80.
    make_visit(chain, store, visit_date=date(2026, 5, 3), values={"clean_restroom": 0})
    # V = 62.5: speed 100, courtesy 100, accuracy 100, quality 100 → need 62.5 overall:
    # cleanliness 0 (critical) and quality with a failed hot-food and 0 taste …
    # simpler: make the visit directly from stored scores via answers giving 62.5.
    visit = make_visit(
        chain, store, visit_date=date(2026, 5, 20),
        values={"clean_restroom": 0, "courtesy_satisfaction": -90, "courtesy_smile": 0,
                "courtesy_thanks": 1},
    )
    # courtesy: smile 0 (w1), thanks 100 (w1), satisfaction 0 (w2) → 25 → V = (100+25+100+100+0)/5
    assert visit.score == pytest.approx(65)
    make_visit(chain, store, kind=QA, visit_date=date(2026, 5, 12), values={"qa_taste": 0})
    make_complaint(store, datetime(2026, 5, 4, 12), "major", resolved_after_hours=24)
    make_complaint(store, datetime(2026, 5, 9, 12), "minor")
    row = next(r for r in analytics.store_scores(MAY) if r.code == store.code)
    qa_v = db.session.scalar(select(Visit.score).where(Visit.kind == QA))
    assert row.ms == pytest.approx((80 + 65) / 2)
    assert row.hl == pytest.approx(95.5)
    assert row.bdi == pytest.approx(0.6 * 72.5 + 0.25 * qa_v + 0.15 * 95.5)
    assert row.complaints == 2 and row.ms_visits == 2 and row.qa_visits == 1


def test_unreleased_visits_and_inactive_stores_do_not_count(chain):
    store, other = chain.stores[0], chain.stores[1]
    make_visit(chain, store, status=SUBMITTED, default=None)
    make_visit(chain, other, values={"clean_restroom": 0})
    other.active = False
    other.deactivated_on = date(2026, 4, 30)  # before May: it no longer counts in May
    db.session.commit()
    rows = {r.code: r for r in analytics.store_scores(MAY)}
    assert rows[store.code].bdi is None and rows[store.code].rank is None
    assert other.code not in rows
    assert analytics.brand_score(MAY).bdi is None


def test_ranking_trend_and_band_distribution(chain):
    s1, s2 = chain.stores[0], chain.stores[1]
    make_visit(chain, s1, visit_date=date(2026, 4, 10), values={"clean_restroom": 0})  # 80
    make_visit(chain, s1, visit_date=date(2026, 5, 10))  # 100
    make_visit(chain, s2, visit_date=date(2026, 5, 11), values={"accuracy_complete": 0})  # 80
    rows = analytics.store_scores(MAY, with_trend=True)
    assert [r.code for r in rows[:2]] == [s1.code, s2.code]
    assert rows[0].rank == 1 and rows[1].rank == 2
    # April: MS 80 and HL 100 → BDI (0.6·80 + 0.15·100) / 0.75 = 84; May: 100.
    assert rows[0].previous_bdi == pytest.approx(84)
    assert rows[0].trend == pytest.approx(100 - 84)
    assert rows[1].trend is None
    dist = analytics.band_distribution(MAY)
    assert dist == {"excellent": 1, "good": 1, "fair": 0, "needs_improvement": 0}
    series = analytics.trend_series(MAY, 3, store_id=s1.id)
    assert series == [("2026-03", None), ("2026-04", pytest.approx(84)),
                      ("2026-05", pytest.approx(100))]
    assert analytics.brand_score(MAY).bdi == pytest.approx((100 + 84) / 2)
    assert analytics.brand_score(MAY).trend == pytest.approx(92 - 84)


def test_dimension_means_and_satisfaction(chain):
    s1 = chain.stores[0]
    make_visit(chain, s1, visit_date=date(2026, 5, 1), default=None)  # CSM 90
    make_visit(chain, s1, visit_date=date(2026, 5, 2),
               values={"speed_satisfaction": -90, "courtesy_satisfaction": -90,
                       "quality_taste": -90, "clean_atmosphere": -90})  # CSM -90
    dims = analytics.dimension_means(MAY)[s1.id]
    # cleanliness: 100, then (100 + 100 + 0) / 3 → mean 83.33
    assert dims["cleanliness"] == pytest.approx((100 + 200 / 3) / 2)
    assert set(dims) == set(scoring.DIMENSIONS)
    sat = analytics.satisfaction(MAY)
    assert sat.visits_with_csm == 2 and sat.satisfied == 1 and sat.rate == 50
    assert sat.mean_csm == pytest.approx(0) and sat.grade == 0


@pytest.mark.parametrize("text", ["2026-13", "26-05", "2026/05", "", "May 2026", "2026-5"])
def test_bad_month_is_refused(text):
    with pytest.raises(analytics.PeriodError, match="YYYY-MM"):
        analytics.Period.month(text)


def test_period_previous_and_range():
    assert analytics.Period.month("2026-01").previous().label == "2025-12"
    p = analytics.Period.between(date(2026, 5, 1), date(2026, 5, 10))
    assert p.previous() == analytics.Period.between(date(2026, 4, 21), date(2026, 4, 30))
    with pytest.raises(analytics.PeriodError):
        analytics.Period.between(date(2026, 5, 2), date(2026, 5, 1))


def test_store_score_ranks_the_store_among_all_active_stores(chain):
    s1, s2, s3 = chain.stores[0], chain.stores[1], chain.stores[2]
    make_visit(chain, s1, visit_date=date(2026, 5, 3), values={"clean_restroom": 0})  # 80
    make_visit(chain, s2, visit_date=date(2026, 5, 4))  # 100
    make_visit(chain, s3, visit_date=date(2026, 5, 5), values={"clean_restroom": 0})  # 80, tie
    ranking = {r.code: r.rank for r in analytics.store_scores(MAY)}
    for store in (s1, s2, s3):
        assert analytics.store_score(store.id, MAY).rank == ranking[store.code]
    assert ranking[s2.code] == 1 and {ranking[s1.code], ranking[s3.code]} == {2, 3}
    assert analytics.store_score(chain.stores[3].id, MAY).rank is None


def python_reliability(period: analytics.Period, config: ScoringConfig) -> tuple[float, dict]:
    """SCORING.md §10 from raw rows with scoring.py: σ over the 12-month window and each
    store's (n, e)."""
    window = analytics.spread_window(period)
    by_store: dict[int, list[float]] = {}
    for v in db.session.scalars(select(Visit).join(Store).where(Store.active.is_(True))):
        if (v.kind == MYSTERY and v.status in COUNTED_STATUSES
                and window.start <= v.visit_date < window.end):
            by_store.setdefault(v.store_id, []).append(v.score)
    sigma = scoring.pooled_sigma(by_store.values())
    out = {}
    for code, exp in python_store_bdis(period, config).items():
        store = db.session.scalar(select(Store).where(Store.code == code))
        visits = db.session.scalars(select(Visit).where(Visit.store_id == store.id))
        n = sum(1 for v in visits if v.kind == MYSTERY and v.status in COUNTED_STATUSES
                and period.start <= v.visit_date < period.end)
        out[code] = (n, scoring.bdi_error(sigma, n, exp["qa"] is not None, config), exp)
    return sigma, out


def test_intervals_from_sql_equal_scoring(chain):
    """σ (pooled over 12 months), n, e and the intervals of stores, regions and the brand
    from SQL equal SCORING.md §10 computed in Python; both the default σ = 15 (too few
    visits) and a pooled σ."""
    rng = random.Random(16)
    config = ScoringConfig.from_dict({"component_weights": {"MS": 0.5, "QA": 0.3, "HL": 0.2}})
    make_visit(chain, chain.stores[0], kind=QA, visit_date=date(2026, 5, 12))
    for n_months in (1, 12):
        months = MAY.months_back(n_months)
        for period in months[-n_months:]:
            for store in chain.stores[:3]:
                for day in (3, 17)[: 1 + (store.code != "E002")]:
                    make_visit(chain, store, visit_date=period.start + timedelta(days=day),
                               values={"courtesy_satisfaction": rng.choice(scoring.SCALE7_LEVELS),
                                       "clean_restroom": rng.choice((0, 1, 1))})
        sigma, expected = python_reliability(MAY, config)
        assert (sigma == 15.0) is (n_months == 1)
        rows = {r.code: r for r in analytics.store_scores(MAY, config, with_trend=True)}
        for code, (n, e, exp) in expected.items():
            row = rows[code]
            assert row.ms_visits == n
            assert row.error == pytest.approx(e, abs=1e-9), code
            if n:
                assert math.sqrt(row.ms_e2) == pytest.approx(sigma / math.sqrt(n), abs=1e-9)
                assert row.bdi_e2 > 0
            span = scoring.interval(exp["bdi"], e)
            if span is None:
                assert row.interval is None and row.bands == ()
            else:
                assert (row.interval.low, row.interval.high) == (
                    pytest.approx(span.low), pytest.approx(span.high))
                assert row.bands == scoring.bands_touched(span, config)
        assert rows["E001"].qa is not None and rows["N002"].bdi is None
        brand = analytics.brand_score(MAY, config)
        errors = [e for _, e, exp in expected.values() if exp["bdi"] is not None]
        assert brand.error == pytest.approx(scoring.group_error(errors), abs=1e-9)
        regions = {g.id: g for g in analytics.region_scores(MAY, config)}
        east = [e for _, e, exp in expected.values()
                if exp["bdi"] is not None and exp["region_id"] == chain.regions[0].id]
        assert regions[chain.regions[0].id].error == pytest.approx(
            scoring.group_error(east), abs=1e-9)
    # a change is judged against both periods' errors (April has its own σ window)
    row = rows["E001"]
    _, april = python_reliability(MAY.previous(), config)
    assert row.change_significant == scoring.change_is_significant(
        row.bdi, april["E001"][2]["bdi"], row.error, april["E001"][1])


def _raw_variance(period: analytics.Period) -> float:
    """σ² of SCORING.md §10 from the visit rows, with scoring.py only."""
    window = analytics.spread_window(period)
    by_store: dict[int, list[float]] = {}
    for v in db.session.scalars(select(Visit).join(Store).where(Store.active.is_(True))):
        if (v.kind == MYSTERY and v.status in COUNTED_STATUSES and v.score is not None
                and window.start <= v.visit_date < window.end):
            by_store.setdefault(v.store_id, []).append(v.score)
    return scoring.pooled_sigma(by_store.values()) ** 2


def test_sigma_reads_closed_months_once_and_the_open_ones_live(chain):
    """σ's 12-month window: its closed months are read once per process (they never
    change), its open months and the active stores live; always the σ of the raw rows."""
    from auditapp.months import close_month

    rng = random.Random(11)
    for period in MAY.months_back(4):
        for store in chain.stores:
            for day in (3, 11, 19):
                make_visit(chain, store, visit_date=period.start + timedelta(days=day),
                           values={"courtesy_satisfaction": rng.choice(scoring.SCALE7_LEVELS),
                                   "clean_restroom": rng.choice((0, 1))})
    db.session.commit()
    before = analytics.pooled_variance(MAY)
    assert before == pytest.approx(_raw_variance(MAY), rel=1e-12)
    assert before != scoring.DEFAULT_SIGMA**2  # enough visits to pool

    for label in ("2026-02", "2026-03", "2026-04"):
        close_month(analytics.Period.month(label), None, today=date(2026, 6, 1))
    db.session.commit()
    assert analytics.pooled_variance(MAY) == pytest.approx(before, rel=1e-12)

    # read once: a closed month's visit altered behind the services' back changes only
    # the live recomputation (flask verify's), not the figures
    march = db.session.scalar(select(Visit).where(Visit.visit_date == date(2026, 3, 12)).limit(1))
    original, march.score = march.score, (0.0 if march.score > 50 else 100.0)
    db.session.commit()
    assert analytics.pooled_variance(MAY) == pytest.approx(before, rel=1e-12)
    with analytics.live_figures():
        assert analytics.pooled_variance(MAY) == pytest.approx(_raw_variance(MAY), rel=1e-12)
        assert analytics.pooled_variance(MAY) != pytest.approx(before, rel=1e-9)
    march.score = original  # as it was
    db.session.commit()

    # the open month counts live: another May visit moves σ
    make_visit(chain, chain.stores[0], visit_date=date(2026, 5, 25),
               values={"clean_restroom": 0, "courtesy_satisfaction": -90})
    db.session.commit()
    assert analytics.pooled_variance(MAY) == pytest.approx(_raw_variance(MAY), rel=1e-12)
    assert analytics.pooled_variance(MAY) != pytest.approx(before, rel=1e-9)

    # a deactivated store leaves σ, its visits in closed months too
    chain.stores[1].active = False
    db.session.commit()
    assert analytics.pooled_variance(MAY) == pytest.approx(_raw_variance(MAY), rel=1e-12)

    # a range ending mid-month: its closed months plus the days left over
    days = analytics.Period.between(date(2026, 3, 5), date(2026, 5, 15))
    assert analytics.pooled_variance(days) == pytest.approx(_raw_variance(days), rel=1e-12)
    # and the store figures carry that σ (e² = σ²/n for MS)
    row = next(s for s in analytics.store_scores(MAY) if s.code == chain.stores[0].code)
    assert row.ms_e2 == pytest.approx(_raw_variance(MAY) / row.ms_visits, rel=1e-12)
