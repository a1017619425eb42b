"""Insights (issue #21): key drivers, importance–performance, loyalty, triangulation,
competitor gaps and item health, on synthetic chains with a known answer."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import insert, select, update

from auditapp import insights
from auditapp.analytics import Period
from auditapp.extensions import db
from auditapp.models import (
    CompetitorStore,
    Region,
    Store,
    User,
    Visit,
    VisitDimensionScore,
)
from auditapp.models.followup import DISPUTE_UPHELD, Dispute
from auditapp.models.visit import COMPETITOR, MYSTERY, RELEASED
from auditapp.scoring import DIMENSIONS

from .factories import make_complaint, make_visit
from .manager_helpers import make_area_manager
from .shopper_helpers import default_value

MONTH = "2026-05"
#: The synthetic driver chain: S_d ~ N(60, 8) independent; CSM = 20 + 1.5·(quality − 60)
#: + 0.4·(speed − 60) + N(0, 10). So the true standardised coefficients are
#: β_quality = 1.5·8 / σ_CSM and β_speed = 0.4·8 / σ_CSM, the others 0.
SD_X, B_QUALITY, B_SPEED, SD_NOISE = 8.0, 1.5, 0.4, 10.0
SD_CSM = math.sqrt((B_QUALITY * SD_X) ** 2 + (B_SPEED * SD_X) ** 2 + SD_NOISE ** 2)
TRUE_QUALITY = B_QUALITY * SD_X / SD_CSM
TRUE_SPEED = B_SPEED * SD_X / SD_CSM


def _bulk_visits(chain, rows: list[dict], dims: np.ndarray) -> None:
    """Insert released visits with stored scores (as the scoring service stores them)."""
    first_id = (db.session.scalar(select(db.func.max(Visit.id))) or 0) + 1
    visits, scores = [], []
    for i, row in enumerate(rows):
        vid = first_id + i
        day = row.pop("visit_date")
        visits.append({
            "id": vid, "kind": row.pop("kind", MYSTERY), "questionnaire_id": chain.ms_q.id,
            "evaluator_id": chain.shoppers[0].id, "month": f"{day:%Y-%m}",
            "visit_type": "walk_in", "status": RELEASED, "visit_date": day,
            "submitted_at": datetime.combine(day, datetime.min.time()),
            "released_at": datetime.combine(day, datetime.min.time()),
            "score": float(dims[i].mean()), "scored_at": datetime(2026, 6, 1), **row,
        })
        for d, value in zip(DIMENSIONS, dims[i], strict=True):
            scores.append({"visit_id": vid, "dimension": d, "score": float(value),
                           "weight": 20.0})
    db.session.execute(insert(Visit), visits)
    db.session.execute(insert(VisitDimensionScore), scores)
    db.session.commit()


def driver_chain(chain, n: int = 600, seed: int = 11) -> None:
    """``n`` released mystery visits over Jan–May 2026 where food quality drives the CSM
    (and speed a little), and courtesy drives the loyalty answer."""
    rng = np.random.default_rng(seed)
    x = rng.normal(60, SD_X, size=(n, len(DIMENSIONS)))
    q, s, c = (DIMENSIONS.index(d) for d in ("quality", "speed", "courtesy"))
    csm = (20 + B_QUALITY * (x[:, q] - 60) + B_SPEED * (x[:, s] - 60)
           + rng.normal(0, SD_NOISE, n))
    loyal = np.clip(np.round(6 + (x[:, c] - 60) / 3 + rng.normal(0, 1, n)), 0, 10)
    rows = [
        {"store_id": chain.stores[i % len(chain.stores)].id,
         "visit_date": date(2026, 1 + i % 5, 1 + i % 27), "csm": float(csm[i]),
         "satisfied": bool(csm[i] >= 30), "loyalty": int(loyal[i])}
        for i in range(n)
    ]
    _bulk_visits(chain, rows, x)


# --- 1. key drivers ----------------------------------------------------------------------------


def test_the_dimension_made_to_drive_satisfaction_is_the_top_driver(client, auth, chain):
    driver_chain(chain)
    auth.login("hq@example.com")
    body = client.get(f"/api/hq/insights?month={MONTH}").get_json()
    csm = body["drivers"]["csm"]
    assert csm["enough"] and csm["n"] == 600
    coef = {c["dimension"]: c for c in csm["coefficients"]}
    top = max(coef.values(), key=lambda c: c["beta"])
    assert top["dimension"] == "quality"
    low, high = coef["quality"]["interval"]
    assert low <= TRUE_QUALITY <= high, (low, TRUE_QUALITY, high)
    low, high = coef["speed"]["interval"]
    assert low <= TRUE_SPEED <= high
    for d in ("courtesy", "accuracy", "cleanliness"):  # no effect: their intervals hold 0
        assert coef[d]["interval"][0] < 0.1 and abs(coef[d]["beta"]) < 0.1
    # derived importance beside the configured weights (20 each → 20 %)
    assert coef["quality"]["importance_pct"] > 60 and coef["quality"]["weight_pct"] == 20.0
    # loyalty is driven by courtesy
    loyalty = {c["dimension"]: c for c in body["drivers"]["loyalty"]["coefficients"]}
    assert max(loyalty.values(), key=lambda c: c["beta"])["dimension"] == "courtesy"
    # importance–performance: every dimension in one quadrant; quality is important
    ipa = {p["dimension"]: p for p in body["importance_performance"]["points"]}
    assert set(ipa) == set(DIMENSIONS)
    assert ipa["quality"]["quadrant"] in ("keep_up", "concentrate")
    assert ipa["accuracy"]["quadrant"] in ("low_priority", "overkill")

    html = client.get(f"/hq/insights?month={MONTH}").get_data(as_text=True)
    assert "Key drivers of satisfaction" in html and "n = 600" in html
    assert "<svg" in html and "Concentrate here" in html


def test_fit_drivers_recovers_a_known_coefficient():
    """The regression itself (pure numpy): the interval covers the truth."""
    rng = np.random.default_rng(5)
    n = 2000
    x = rng.normal(0, 1, size=(n, 5))
    y = 0.6 * x[:, 3] + 0.2 * x[:, 1] + rng.normal(0, 0.7, n)
    sd_y = math.sqrt(0.36 + 0.04 + 0.49)
    data = np.column_stack([y, np.full(n, np.nan), x])
    result = insights.fit_drivers(data, "csm")
    assert result.top.key == DIMENSIONS[3]
    c = result.get(DIMENSIONS[3])
    assert c.low <= 0.6 / sd_y <= c.high
    assert c.high - c.low < 0.1
    assert insights.fit_drivers(data, "loyalty").n == 0  # no loyalty answers: no figure


def test_too_few_visits_says_so_instead_of_a_number(client, auth, chain):
    driver_chain(chain, n=insights.MIN_N - 1)
    auth.login("hq@example.com")
    body = client.get(f"/api/hq/insights?month={MONTH}").get_json()
    assert body["drivers"]["csm"]["enough"] is False
    assert body["drivers"]["csm"]["coefficients"] == []
    assert body["minimum_sample"]["drivers"] == insights.MIN_N
    html = client.get(f"/hq/insights?month={MONTH}").get_data(as_text=True)
    assert f"Too few visits: {insights.MIN_N - 1}, at least {insights.MIN_N}" in html


def test_store_against_the_brand_and_bad_parameters(client, auth, chain):
    driver_chain(chain)
    auth.login("hq@example.com")
    store = chain.stores[0]
    body = client.get(f"/api/hq/insights?month={MONTH}&store={store.code}").get_json()
    assert body["scope"] == {"type": "store", "region": store.region_id, "store": store.id}
    assert body["importance_from"] == "brand"
    points = body["importance_performance"]["points"]
    assert len(points) == 5 and all(p["n"] == 150 for p in points)
    html = client.get(f"/hq/insights?month={MONTH}&store={store.code}").get_data(as_text=True)
    assert store.name in html
    for url in ("/api/hq/insights?months=2", "/api/hq/insights?months=x",
                "/api/hq/insights?store=NOPE", "/api/hq/insights?region=999",
                "/hq/insights?months=99"):
        assert client.get(url).status_code == 400, url


# --- 2. loyalty --------------------------------------------------------------------------------


def test_satisfied_but_not_loyal_share_per_brand_region_and_store(client, auth, chain):
    # 12 satisfied visits at E001: 9 loyal (9 or 10), 3 not (8, 5, 0); 2 unsatisfied at
    # N001; one without a loyalty answer (left out)
    east, north = chain.stores[0], chain.stores[2]
    answers = [10, 9, 9, 9, 10, 9, 9, 10, 9, 8, 5, 0]
    rows = [{"store_id": east.id, "visit_date": date(2026, 5, 1 + i), "csm": 60.0,
             "satisfied": True, "loyalty": v} for i, v in enumerate(answers)]
    rows += [{"store_id": north.id, "visit_date": date(2026, 5, 2), "csm": -30.0,
              "satisfied": False, "loyalty": 2},
             {"store_id": north.id, "visit_date": date(2026, 5, 3), "csm": 29.9999,
              "satisfied": False, "loyalty": 3},
             {"store_id": north.id, "visit_date": date(2026, 5, 4), "csm": 90.0,
              "satisfied": True, "loyalty": None}]
    _bulk_visits(chain, rows, np.full((len(rows), 5), 80.0))
    auth.login("hq@example.com")
    body = client.get(f"/api/hq/insights?month={MONTH}").get_json()
    total = body["loyalty"]["total"]
    assert (total["answered"], total["satisfied"], total["satisfied_not_loyal"]) == (14, 12, 3)
    assert total["share_not_loyal_pct"] == 25.0 and total["loyal"] == 9
    regions = {r["code"]: r for r in body["loyalty"]["regions"]}
    assert regions["EAST"]["share_not_loyal_pct"] == 25.0
    assert regions["NORTH"]["satisfied"] == 0 and regions["NORTH"]["share_not_loyal_pct"] is None
    stores = {r["code"]: r for r in body["loyalty"]["stores"]}
    assert stores[east.code]["satisfied_not_loyal"] == 3
    html = client.get(f"/hq/insights?month={MONTH}").get_data(as_text=True)
    assert "25.0%" in html and "3 of 12 satisfied visits" in html


# --- 3. triangulation --------------------------------------------------------------------------


def test_feeds_that_disagree_flag_exactly_the_chosen_stores(client, auth, chain):
    region = chain.regions[0]
    for i in range(16):
        db.session.add(Store(code=f"X{i:03d}", name=f"Extra {i}", region=region))
    db.session.commit()
    stores = db.session.scalars(select(Store).order_by(Store.code)).all()
    assert len(stores) == 20
    worst = {"yesno": 0, "scale7": -90, "timed": 3000}
    low_ms = {item.code: worst[item.item_type] for item in chain.ms_q.items
              if item.item_type in worst}
    slow = {"speed_total": 3000, "speed_greeted": 0, "courtesy_smile": 0}  # MS ≈ 80
    day = date(2026, 5, 10)
    a, b, c = stores[0], stores[1], stores[2]
    for store in stores:
        ms_values, qa_values, complaints = None, None, 0
        if store is a:  # MS: food quality excellent; QA: a critical food-safety item failed
            qa_values = {"qa_fridge_temp": 12.0}  # outside 0–5 °C: a critical item failed
        elif store is b:  # MS excellent, but the most complaints of the brand this month
            complaints = 3
        elif store is c:  # MS poor while QA is excellent and nobody complained
            ms_values = low_ms
        elif store.code.startswith("X") and int(store.code[1:]) < 5:  # MS ≈ 80, 1 complaint
            ms_values, complaints = slow, 1
        elif store.code.startswith("X"):
            ms_values = slow
        make_visit(chain, store, visit_date=day, values=ms_values)
        make_visit(chain, store, kind="qa", visit_date=day, values=qa_values)
        for k in range(complaints):
            make_complaint(store, datetime(2026, 5, 12, 3 + k))
    # an older month agrees everywhere
    make_visit(chain, a, visit_date=date(2026, 3, 5))
    auth.login("hq@example.com")
    body = client.get(f"/api/hq/insights?month={MONTH}").get_json()
    found = {(f["store"], f["rule"]) for f in body["triangulation"]}
    assert found == {(a.code, "ms_quality_vs_qa"), (b.code, "ms_vs_hotline"),
                     (c.code, "ms_low_vs_qa_hl")}
    assert all(f["month"] == MONTH for f in body["triangulation"])
    html = client.get(f"/hq/insights?month={MONTH}").get_data(as_text=True)
    assert "3 stores flagged" in html
    for store in (a, b, c):
        assert f'data-store="{store.code}"' in html
    assert "the QA audit fails food quality or safety" in html
    # a region's view lists its own stores only
    body = client.get(f"/api/hq/insights?month={MONTH}&region={chain.regions[1].id}").get_json()
    assert {f["store"] for f in body["triangulation"]} == {
        s.code for s in (a, b, c) if s.region_id == chain.regions[1].id}


# --- 4. competitors ----------------------------------------------------------------------------


def test_competitor_gaps_with_n_and_significance(client, auth, chain):
    rng = np.random.default_rng(2)
    n_ours, n_theirs = 200, 12
    ours = rng.normal(75, 10, size=(n_ours, 5))
    ours[:, DIMENSIONS.index("quality")] += 10  # we lead on quality by ~10 points
    rows = [{"store_id": chain.stores[i % 4].id, "visit_date": date(2026, 5, 1 + i % 27),
             "csm": 30.0, "satisfied": True} for i in range(n_ours)]
    _bulk_visits(chain, rows, ours)
    rival = CompetitorStore(competitor="Rival Burger", name="Rival 1",
                            region=chain.regions[0])
    db.session.add(rival)
    db.session.commit()
    theirs = np.full((n_theirs, 5), 75.0) + rng.normal(0, 1, size=(n_theirs, 5))
    rows = [{"kind": COMPETITOR, "competitor_id": rival.id, "store_id": None,
             "visit_date": date(2026, 5, 2 + i)} for i in range(n_theirs)]
    _bulk_visits(chain, rows, theirs)
    auth.login("hq@example.com")
    body = client.get(f"/api/hq/insights?month={MONTH}").get_json()
    gaps = {g["dimension"]: g for g in body["competitors"]}
    assert gaps["quality"]["verdict"] == "lead" and gaps["quality"]["significant"]
    assert gaps["quality"]["n_ours"] == n_ours and gaps["quality"]["n_theirs"] == n_theirs
    assert gaps["speed"]["verdict"] == "level"
    expected = 1.645 * np.std(ours[:, 3], ddof=1) * math.sqrt(1 / n_ours + 1 / n_theirs)
    assert gaps["quality"]["half_width"] == pytest.approx(expected, abs=0.01)
    html = client.get(f"/hq/insights?month={MONTH}").get_data(as_text=True)
    assert "We lead" in html and "No clear difference" in html


# --- 5. item health ----------------------------------------------------------------------------


def test_item_health_flags_uninformative_items(client, auth, chain):
    store = chain.stores[0]
    disputed = []
    for i in range(insights.MIN_N + 2):
        values = {"clean_restroom": "na" if i % 3 else 1,  # N/A two times in three
                  "quality_hot": 0,  # always failed
                  "speed_greeted": i % 2}
        visit = make_visit(chain, store, visit_date=date(2026, 5, 1 + i % 27), values=values)
        if i < 3:
            disputed.append(visit)
    for visit in disputed:
        answer = next(a for a in visit.answers if a.item.code == "accuracy_receipt")
        db.session.add(Dispute(visit=visit, answer=answer, reason="receipt was given",
                               status=DISPUTE_UPHELD))
    db.session.commit()
    auth.login("hq@example.com")
    body = client.get(f"/api/hq/insights?month={MONTH}").get_json()
    version = next(v for v in body["item_health"] if v["kind"] == "mystery")
    flags = {i["item"]: set(i["flags"]) for i in version["items"]}
    assert "often_na" in flags["clean_restroom"]
    assert "never" in flags["quality_hot"]
    assert "disputes" in flags["accuracy_receipt"]
    assert "always" in flags["courtesy_smile"]  # every answer yes: tells nothing apart
    assert "always" not in flags["speed_greeted"] and "never" not in flags["speed_greeted"]
    html = client.get(f"/hq/insights?month={MONTH}").get_data(as_text=True)
    assert "Often N/A" in html and "Failed almost always" in html


def test_the_item_pass_counts_each_answer_as_the_model_does(client, auth, chain):
    """The one pass over the answers (``ix_answers_item_pass``: grouped by item, N/A and
    voided) gives each item's counts exactly as the answers read one by one: N/A,
    voided, a satisfaction level below neutral (failed, SCORING.md §8), full marks, QA
    visits in item health but not in the item drivers, a region's drivers its own."""
    east, north = chain.stores[0], chain.stores[2]
    visits = []
    for i in range(12):
        values = {"speed_satisfaction": (-60, -30, 0, 30, 90)[i % 5],  # scale7: x < 0 fails
                  "quality_taste": "na" if i % 4 == 0 else 60,
                  "speed_greeted": i % 2}
        visits.append(make_visit(chain, (east, north)[i % 2],
                                 visit_date=date(2026, 5, 1 + i), values=values))
    make_visit(chain, east, kind="qa", visit_date=date(2026, 5, 20))
    voided = next(a for a in visits[1].answers if a.item.code == "speed_greeted")
    voided.voided = True  # as an upheld dispute leaves it
    db.session.commit()

    win = insights.window(Period.month(MONTH))
    counted = db.session.scalars(select(Visit).where(
        Visit.counted, win.includes(Visit.visit_date), Visit.score.is_not(None))).all()
    expected: dict[str, list[int]] = {}
    for visit in counted:
        for a in visit.answers:
            answered = not a.na and not a.voided and a.score is not None
            e = expected.setdefault(a.item.code, [0] * 5)
            e[0] += 1
            e[1] += a.na
            e[2] += answered
            e[3] += bool(answered and a.failed)
            e[4] += bool(answered and a.score >= 100)
    auth.login("hq@example.com")
    body = client.get(f"/api/hq/insights?month={MONTH}").get_json()
    got = {i["item"]: [i["answers"], i["na"], i["answered"], i["failed"], i["full_marks"]]
           for v in body["item_health"] for i in v["items"]}
    assert got == expected
    assert got["speed_satisfaction"][3] == 6  # −60 and −30, three times each
    assert got["qa_taste"][0] == 1  # the QA visit
    assert got["speed_greeted"][2] == 11  # one voided

    # the item drivers' n: answered items of mystery visits in scope with a CSM
    for scope, stores in ((insights.BRAND, {east.id, north.id}),
                          (insights.Scope(region_id=east.region_id), {east.id})):
        sums = insights._answer_sums(win, scope)
        expected_n: dict[int, int] = {}
        for visit in counted:
            for a in visit.answers:
                expected_n[a.item_id] = expected_n.get(a.item_id, 0) + (
                    visit.kind == MYSTERY and visit.store_id in stores
                    and visit.csm is not None and not a.na and not a.voided
                    and a.score is not None)
        assert {item_id: int(row[5]) for item_id, row in sums.items()} == expected_n


# --- the shopper's loyalty answer ----------------------------------------------------------------


def _assigned(chain):
    visit = Visit(kind=MYSTERY, store=chain.stores[0], evaluator=chain.shoppers[0],
                  questionnaire=chain.ms_q, month=f"{date.today():%Y-%m}",
                  visit_type="walk_in", due_date=date.today() + timedelta(days=5))
    db.session.add(visit)
    db.session.commit()
    return visit


def _payload(visit, loyalty=None) -> dict:
    answers = {}
    for item in visit.questionnaire.items:
        if item.item_type in ("info", "photo"):
            continue
        answers[str(item.id)] = {"value": default_value(item, {}), "na": False, "comment": ""}
    facts = {"visit_date": date.today().isoformat(), "arrival_time": "00:00",
             "visit_type_confirmed": True}
    if loyalty is not None:
        facts["loyalty"] = loyalty
    return {"answers": answers, "facts": facts}


def _form(visit, loyalty: str) -> dict:
    data = {"action": "submit", "visit_date": date.today().isoformat(),
            "arrival_time": "00:00", "visit_type_confirmed": "1", "loyalty": loyalty}
    for item in visit.questionnaire.items:
        if item.item_type not in ("info", "photo"):
            data[f"v_{item.id}"] = str(default_value(item, {}))
    return data


def test_the_shopper_answers_loyalty_on_the_form_and_through_the_api(client, auth, chain):
    auth.login("MS-101")
    visit = _assigned(chain)
    html = client.get(f"/shopper/visits/{visit.id}").get_data(as_text=True)
    assert 'name="loyalty"' in html and "recommend it to a friend" in html
    # the plain form (no JavaScript): a wrong answer is refused, a good one kept
    response = client.post(f"/shopper/visits/{visit.id}", data=_form(visit, "11"))
    assert "Choose a whole number from 0 to 10" in response.get_data(as_text=True)
    assert db.session.get(Visit, visit.id).loyalty is None
    client.post(f"/shopper/visits/{visit.id}", data=_form(visit, "7"))
    db.session.expire_all()
    assert db.session.get(Visit, visit.id).loyalty == 7
    assert db.session.get(Visit, visit.id).status == "submitted"
    # the API (shopper.js): a fraction is refused, a whole number kept, none allowed
    other = _assigned(chain)
    bad = client.post(f"/api/shopper/visits/{other.id}/submit", json=_payload(other, 7.5))
    assert bad.status_code == 422 and "loyalty" in str(bad.get_json())
    ok = client.post(f"/api/shopper/visits/{other.id}/submit", json=_payload(other, 10))
    assert ok.status_code in (200, 201), ok.get_json()
    db.session.expire_all()
    assert db.session.get(Visit, other.id).loyalty == 10
    third = _assigned(chain)
    ok = client.post(f"/api/shopper/visits/{third.id}/submit", json=_payload(third))
    assert ok.status_code in (200, 201)
    db.session.expire_all()
    assert db.session.get(Visit, third.id).loyalty is None


# --- who sees it; the PDF ------------------------------------------------------------------------


def test_area_managers_see_their_regions_only(client, auth, chain):
    driver_chain(chain)
    east, north = chain.regions
    make_area_manager("area.east@example.com", east)
    auth.login("area.east@example.com")
    response = client.get(f"/manager/insights?month={MONTH}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and east.name in html
    assert "Key drivers of satisfaction" in html
    assert "Against the competitors" not in html and "Item health" not in html
    assert "Alice Shopper" not in html and "MS-101" not in html  # never the shopper
    assert client.get(f"/manager/insights?region={north.id}").status_code == 404
    north_store = next(s for s in chain.stores if s.region_id == north.id)
    assert client.get(f"/manager/insights?store={north_store.code}").status_code == 400
    assert client.get("/hq/insights").status_code == 403
    assert client.get("/api/hq/insights").status_code == 403


def test_brand_summary_pdf_has_the_insights_section(client, auth, chain):
    from .test_reports_pdf import get_pdf, pdf_text

    driver_chain(chain)
    auth.login("hq@example.com")
    text, _pages = pdf_text(get_pdf(client, f"/hq/reports/brand.pdf?month={MONTH}",
                                    "brand-insights.pdf"))
    assert "Insights" in text and "What drives the CSM" in text
    assert "Where the three feeds disagree" in text


def test_brand_summary_pdf_insights_in_chinese(client, auth, chain):
    driver_chain(chain)
    from .test_reports_pdf import get_pdf, pdf_text

    # HQ's own language setting (before the first request: the test's app context keeps
    # the locale of its first request)
    db.session.execute(update(User).where(User.username == "hq@example.com")
                       .values(locale="zh_CN"))
    db.session.commit()
    auth.login("hq@example.com")
    region = db.session.scalar(select(Region).order_by(Region.code))
    text, _pages = pdf_text(get_pdf(
        client, f"/hq/reports/brand.pdf?month={MONTH}&region={region.id}",
        "brand-insights-zh.pdf"))
    assert "洞察" in text and "影响顾客满意级度的因素" in text and "三类数据不一致之处" in text
    html = client.get(f"/hq/insights?month={MONTH}").get_data(as_text=True)
    assert "满意度关键驱动因素" in html and "重点改进" in html


def test_a_window_of_closed_months_is_computed_once(app, chain):
    from auditapp.analytics import Period
    from auditapp.models.months import MonthClosure

    driver_chain(chain, n=60)
    month = Period.month(MONTH)
    with app.test_request_context():
        open_first = insights.build_cached(month, 6)
        assert insights.build_cached(month, 6) is not open_first  # an open month: live
        for p in month.months_back(6):
            db.session.add(MonthClosure(month=p.label, settings={}))
        db.session.commit()
        first = insights.build_cached(month, 6)
        assert insights.build_cached(month, 6) is first
        assert first.drivers["csm"].n == open_first.drivers["csm"].n == 60
        assert insights.build_cached(month, 6, insights.Scope(region_id=chain.regions[0].id)) \
            is not first


def test_hq_sees_the_loyalty_answer_on_the_visit(client, auth, chain):
    visit = make_visit(chain, chain.stores[0])
    db.session.execute(update(Visit).where(Visit.id == visit.id).values(loyalty=8))
    db.session.commit()
    auth.login("hq@example.com")
    html = client.get(f"/hq/visits/{visit.id}").get_data(as_text=True)
    assert 'id="loyalty-answer"' in html and "8<small" in html


def test_the_demo_shows_items_to_reword_or_retire(client, auth):
    """The demo chain plants two patterns for item health: the restroom item is often
    N/A, the condiments item is (almost) always "Yes"; the page and the API flag them."""
    from auditapp.demo import DEMO_PASSWORD, seed_demo

    seed_demo(last_month=date(2026, 10, 1), months=6)
    db.session.commit()
    client.post("/auth/login", data={"username": "hq@example.com", "password": DEMO_PASSWORD})
    body = client.get("/api/hq/insights?month=2026-10").get_json()
    version = next(v for v in body["item_health"] if v["kind"] == "mystery")
    flags = {i["item"]: set(i["flags"]) for i in version["items"]}
    assert "often_na" in flags["clean_restroom"]
    assert "always" in flags["accuracy_condiments"]
    html = client.get("/hq/insights?month=2026-10").get_data(as_text=True)
    section = html[html.index('id="item-health"'):]
    assert "Often N/A" in section and "accuracy_condiments" in section
