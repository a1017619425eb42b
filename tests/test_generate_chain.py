"""``flask --app wsgi generate``: a chain-scale data set whose stored scores are exactly
what the scoring engine computes, and that the analytics work on."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from auditapp import analytics, scoring
from auditapp.extensions import db
from auditapp.models import Complaint, Region, Store, User, Visit
from auditapp.models.visit import MYSTERY, QA, RELEASED
from auditapp.visits import ScoringForm, to_item_answers


def _count(column, *where) -> int:
    return db.session.scalar(select(func.count(column)).where(*where))


def test_generate_command_makes_a_scored_chain(runner):
    result = runner.invoke(
        args=["generate", "--stores", "5", "--months", "2", "--last-month", "2026-05"]
    )
    assert result.exit_code == 0, result.output
    assert "5 stores" in result.output and "10 mystery visits" in result.output

    assert _count(Store.id) == 5 and _count(Region.id) >= 1
    assert _count(User.id, User.role == "manager") == 5
    assert _count(Visit.id, Visit.kind == MYSTERY, Visit.status == RELEASED) == 10
    assert _count(Visit.id, Visit.kind == QA) >= 3  # one per store per quarter, staggered
    names = db.session.scalars(select(Store.name)).all()
    assert len(set(names)) == 5
    # one released mystery visit per store per month
    per_store_month = db.session.execute(
        select(Visit.store_id, Visit.month, func.count()).where(Visit.kind == MYSTERY)
        .group_by(Visit.store_id, Visit.month)
    ).all()
    assert len(per_store_month) == 10 and {n for *_, n in per_store_month} == {1}

    # every stored score equals a fresh computation from the answers (as score_and_store)
    for visit in db.session.scalars(select(Visit)):
        pairs = to_item_answers(visit)
        # every item the visit asks is answered (conditions.py), and only those
        form = ScoringForm.of(visit.questionnaire)
        given = {str(a.item_id): {"value": a.value if a.value is not None else a.text,
                                  "na": a.na} for a in visit.answers}
        questions = {i.id for i in form.items if i.kind.asked and not i.kind.photos}
        assert {a.item_id for a in visit.answers} \
            == form.visible_ids(visit.visit_type, visit.kind, given) & questions
        fresh = scoring.score_visit([ia for _, ia in pairs], visit.questionnaire.dimension_weights)
        assert visit.score == pytest.approx(fresh.score, abs=1e-9)
        assert visit.csm == pytest.approx(fresh.csm, abs=1e-9)
        assert visit.csm_grade == fresh.csm_grade and visit.satisfied == fresh.satisfied
        assert [a.score for a, _ in pairs] == pytest.approx(fresh.item_scores, abs=1e-9)
        stored = {d.dimension: d.score for d in visit.dimension_scores}
        assert stored == pytest.approx(fresh.dimensions, abs=1e-9)

    # complaints carry resolution_seconds in step with resolved_at
    for c in db.session.scalars(select(Complaint)):
        if c.resolved_at is None:
            assert c.resolution_seconds is None
        else:
            # the full duration, never truncated (SCORING.md §7a)
            assert c.resolution_seconds == (c.resolved_at - c.received_at).total_seconds()
        assert c.received_on == c.received_at.replace(tzinfo=UTC).astimezone(
            ZoneInfo(c.store.timezone)).date()

    # the analytics work on it: every store has a BDI in May, ranked 1…5
    rows = analytics.store_scores(analytics.Period.month("2026-05"), with_trend=True)
    assert [r.rank for r in rows] == [1, 2, 3, 4, 5]
    assert all(r.ms is not None and r.ms_visits == 1 and r.previous_bdi is not None
               for r in rows)
    may = analytics.Period.month("2026-05")
    assert analytics.brand_score(may).stores_scored == 5
    # the HQ dashboard's brand trend agrees with brand_score month by month
    # (to floating-point precision: SQL and Python may add in another order)
    assert analytics.trend_series(may, 3) == [
        (p.label, pytest.approx(analytics.brand_score(p).bdi, abs=1e-9)
         if analytics.brand_score(p).bdi is not None else None)
        for p in may.months_back(3)
    ]
    assert analytics.trend_series(may, 3)[0][1] is None  # 2026-03: before the data

    # new rows can still be added the ordinary way (ids/sequences moved past the bulk ids)
    store = db.session.scalars(select(Store)).first()
    db.session.add(Complaint(store=store, received_at=datetime(2026, 5, 3, 12)))
    visit = db.session.scalars(select(Visit).where(Visit.kind == MYSTERY)).first()
    db.session.add(Visit(kind=MYSTERY, store=store, questionnaire=visit.questionnaire,
                         month="2026-06", visit_type="walk_in"))
    db.session.add(User(username="someone.new@example.com", role="manager"))
    db.session.commit()

    # a second run refuses rather than doubling the data
    again = runner.invoke(args=["generate", "--stores", "5", "--months", "2"])
    assert again.exit_code != 0
    assert "already has stores" in again.output
    assert _count(Store.id) == 5


def test_generate_function_and_bad_input(app, runner):
    from auditapp.generate import generate_chain

    summary = generate_chain(3, 1, last_month=date(2026, 4, 1), seed=5)
    db.session.commit()
    assert summary["stores"] == 3 and summary["months"] == ["2026-04"]
    first = db.session.scalars(select(Visit.score).order_by(Visit.id)).all()
    assert all(s is not None for s in first)

    bad = runner.invoke(args=["generate", "--stores", "2", "--months", "1",
                              "--last-month", "2026-13"])
    assert bad.exit_code != 0 and "YYYY-MM" in bad.output
