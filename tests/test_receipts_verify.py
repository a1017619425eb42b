"""Score receipts (HQ page and API) and ``flask verify``: every figure recomputed from the
raw rows with scoring.py."""

from __future__ import annotations

import re
from datetime import date, datetime

import pytest
from sqlalchemy import select, update

from auditapp.extensions import db
from auditapp.models import Store, Visit, VisitDimensionScore

from .factories import make_complaint, make_visit


@pytest.fixture
def month(chain):
    store = chain.stores[0]
    v1 = make_visit(chain, store, visit_date=date(2026, 5, 3), values={"clean_restroom": 0})
    v2 = make_visit(chain, store, visit_date=date(2026, 5, 8), visit_type="drive_thru",
                    values={"speed_total": 240, "courtesy_thanks": 0})
    make_visit(chain, store, kind="qa", visit_type="dine_in", visit_date=date(2026, 5, 9))
    make_visit(chain, chain.stores[2], visit_date=date(2026, 5, 4), default=0)
    make_complaint(store, datetime(2026, 5, 4, 12), "major", resolved_after_hours=24)
    make_complaint(store, datetime(2026, 5, 6, 12), "minor")
    return chain, v1, v2


def test_visit_receipt_page_and_api(client, auth, month):
    chain, v1, v2 = month
    auth.login("hq@example.com")
    page = client.get(f"/hq/receipts/visits/{v2.id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "How this score was made" in html and "180 / 360" in html  # drive-thru T / L
    assert f"{v2.score:.3f}" in html and "differs" not in html
    data = client.get(f"/api/hq/receipts/visits/{v2.id}").get_json()
    timed = next(i for i in data["items"] if i["code"] == "speed_total")
    assert (timed["value"], timed["target"], timed["limit"]) == (240, 180, 360)
    assert timed["score"] == pytest.approx(100 * 120 / 180)
    assert data["score"] == pytest.approx(v2.score)
    speed = next(d for d in data["dimensions"] if d["code"] == "speed")
    assert speed["weight"] == 20 and speed["score"] == pytest.approx(speed["stored_score"])
    clean = next(d for d in client.get(f"/api/hq/receipts/visits/{v1.id}").get_json()[
        "dimensions"] if d["code"] == "cleanliness")
    assert clean["score"] == 0 and clean["critical_failed"]
    assert client.get("/api/hq/receipts/visits/999999").status_code == 404


def test_store_receipt_page_and_api_match_the_figures(client, auth, runner, month):
    chain, v1, v2 = month
    store = chain.stores[0]
    auth.login("hq@example.com")
    data = client.get(f"/api/hq/receipts/stores/{store.id}?month=2026-05").get_json()
    bdi = client.get("/api/hq/bdi?month=2026-05").get_json()
    row = next(s for s in bdi["stores"] if s["code"] == store.code)
    assert data["components"]["MS"] == pytest.approx(row["ms"])
    assert data["components"]["QA"] == pytest.approx(row["qa"])
    assert data["components"]["HL"] == row["hl"] == 100 - 2.5 - 2
    assert data["bdi"] == pytest.approx(row["bdi"]) and data["band"] == row["band"]
    assert [c["deduction"] for c in data["complaints"]] == [2.5, 2.0]
    assert data["complaints"][0]["quick"] and not data["complaints"][1]["quick"]
    assert data["settings"]["component_weights"] == {"MS": 0.6, "QA": 0.25, "HL": 0.15}
    assert {v["visit_id"] for v in data["mystery"]} == {v1.id, v2.id}
    html = client.get(f"/hq/receipts/stores/{store.id}?month=2026-05").get_data(as_text=True)
    assert "How this BDI was made" in html and f"{row['bdi']:.3f}" in html
    assert f"/hq/receipts/visits/{v1.id}" in html
    bad = client.get(f"/api/hq/receipts/stores/{store.id}?month=2026-13")
    assert bad.status_code == 400 and "YYYY-MM" in bad.get_json()["message"]


def test_verify_passes_on_demo_data(runner):
    assert runner.invoke(args=["seed-demo", "--last-month", "2026-10"]).exit_code == 0
    result = runner.invoke(args=["verify", "--month", "2026-10"])
    assert result.exit_code == 0, result.output
    assert re.search(r"checked [1-9]\d* visits, 36 stores, \d+ regions and the brand; "
                     r"0 differences", result.output), result.output


def test_verify_finds_a_corrupted_score(runner, month):
    chain, v1, v2 = month
    ok = runner.invoke(args=["verify", "--month", "2026-05"])
    assert ok.exit_code == 0, ok.output
    db.session.execute(update(Visit).where(Visit.id == v1.id).values(score=v1.score + 0.01))
    db.session.execute(update(VisitDimensionScore)
                       .where(VisitDimensionScore.visit_id == v2.id,
                              VisitDimensionScore.dimension == "speed").values(score=12.5))
    db.session.commit()
    bad = runner.invoke(args=["verify", "--month", "2026-05"])
    assert bad.exit_code == 1
    assert f"visit {v1.id} V: found" in bad.output
    assert f"visit {v2.id} S_speed: found 12.5" in bad.output
    # the stored score feeds the SQL figures: the store's MS and BDI differ too
    assert f"store {chain.stores[0].code} MS" in bad.output
    assert f"store {chain.stores[0].code} BDI" in bad.output
    assert "brand BDI" in bad.output
    assert runner.invoke(args=["verify", "--month", "2026-04"]).exit_code == 0


def test_verify_counts_a_store_deactivated_later(runner, month):
    chain, _v1, _v2 = month
    store = db.session.scalar(select(Store).where(Store.code == chain.stores[0].code))
    store.active = False
    store.deactivated_on = date(2026, 6, 2)
    db.session.commit()
    result = runner.invoke(args=["verify", "--month", "2026-05"])
    assert result.exit_code == 0, result.output
