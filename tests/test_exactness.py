"""SCORING.md §7a: thresholds compared as exact decimals, complaints in the store's local
month, the 48 h rule on the full duration, deactivated stores keep their past months."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import pytest

from auditapp import scoring
from auditapp.extensions import db

from .factories import make_complaint, make_visit

# A visit whose exact V is 83⅓ (stored as 83.33333333333331): with a perfect QA audit and no
# complaint its store's BDI is exactly 90, which floating point computes as 89.99999999999999.
V_83 = {"speed_satisfaction": 90, "courtesy_satisfaction": 30, "quality_taste": 30,
        "speed_greeted": 0, "courtesy_thanks": 0}


@pytest.mark.parametrize("bound, code, below", [
    (90, "excellent", "good"), (80, "good", "fair"), (70, "fair", "needs_improvement"),
])
def test_band_bounds_are_exact_decimals(bound, code, below):
    assert scoring.band(bound) == code
    assert scoring.band(bound - 1e-13) == code  # floating-point error of an exact bound
    assert scoring.band(bound - 1e-6) == below  # a real difference at 6 decimals
    assert scoring.band(bound - 0.05) == below  # shown as the bound, but below it


def test_worked_thresholds_in_floating_point():
    assert scoring.bdi(83.33333333333331, 100.0, 100.0) < 90  # the float trap itself
    assert scoring.band(scoring.bdi(83.33333333333331, 100.0, 100.0)) == "excellent"
    assert scoring.band(scoring.bdi(79.5, None, 82.0)) == "good"  # 79.99999999999999
    assert scoring.band(scoring.bdi(67.0, None, 82.0)) == "fair"  # 69.99999999999999
    assert scoring.is_satisfied(30 - 1e-13) and not scoring.is_satisfied(30 - 1e-6)
    assert scoring.satisfaction_rate([30 - 1e-13, 29.9]) == 50.0


def test_exact_90_is_excellent_on_cli_api_and_dashboard(client, auth, runner, chain):
    store = chain.stores[0]
    visit = make_visit(chain, store, values=V_83)
    make_visit(chain, store, kind="qa", visit_type="dine_in")
    assert visit.score == pytest.approx(250 / 3)
    cli = json.loads(runner.invoke(args=["bdi", "--month", "2026-05", "--format",
                                         "json"]).output)
    row = next(s for s in cli["stores"] if s["code"] == store.code)
    assert row["bdi"] == pytest.approx(90) and row["band"] == "excellent"
    assert cli["brand"]["band"] == "excellent"
    auth.login("hq@example.com")
    api = client.get("/api/hq/bdi?month=2026-05&by=store").get_json()
    assert api["stores"] == cli["stores"]
    assert client.get("/api/hq/bdi?month=2026-05&by=region").get_json()["regions"][0][
        "band"] == "excellent"
    page = client.get("/hq/?month=2026-05").get_data(as_text=True)
    # the band chart counts the store as Excellent (one bar of 1, the others empty)
    assert 'Excellent: 1' in page or "Excellent</text>" in page
    from auditapp import analytics
    assert analytics.band_distribution(analytics.Period.month("2026-05"))["excellent"] == 1


# --- complaints in the store's local month ---------------------------------------------------


@pytest.mark.parametrize("local, month", [
    (datetime(2026, 4, 1, 3, 0), "2026-04"),  # 2026-03-31 19:00 UTC
    (datetime(2026, 4, 1, 0, 0), "2026-04"),  # the first instant of April
    (datetime(2026, 3, 31, 23, 59), "2026-03"),  # the last minute of March
    (datetime(2026, 4, 30, 23, 59), "2026-04"),  # 15:59 UTC, still April
    (datetime(2026, 5, 1, 7, 59), "2026-05"),  # 2026-04-30 23:59 UTC
])
def test_complaint_counts_in_its_local_month(client, auth, runner, chain, local, month):
    store = chain.stores[0]  # Asia/Shanghai, UTC+8
    for m in ("2026-03", "2026-04", "2026-05"):
        make_visit(chain, store, visit_date=date.fromisoformat(f"{m}-10"))
    auth.login("hq@example.com")
    response = client.post("/hq/complaints/new", data={
        "store_id": store.id, "received_at": local.strftime("%Y-%m-%dT%H:%M"),
        "channel": "phone", "severity": "critical", "category": "other",
        "description": "Cold burger",
    })
    assert response.status_code in (302, 303), response.get_data(as_text=True)[:2000]
    for m in ("2026-03", "2026-04", "2026-05"):
        data = json.loads(runner.invoke(args=["bdi", "--month", m, "--format", "json",
                                              "--store", store.code]).output)
        assert data["stores"][0]["complaints"] == (1 if m == month else 0), m
        assert data["stores"][0]["hl"] == (90 if m == month else 100), m


# --- the 48 h rule on the full duration ------------------------------------------------------


@pytest.mark.parametrize("after, hl", [
    (timedelta(hours=48) - timedelta(seconds=0.6), 97.5),
    (timedelta(hours=48), 97.5),  # within 48 h: half of 5
    (timedelta(hours=48, microseconds=1), 95.0),
    (timedelta(hours=48, seconds=0.6), 95.0),  # used to be truncated to 48 h and halved
])
def test_quick_resolution_uses_the_full_duration(runner, chain, after, hl):
    store = chain.stores[0]
    make_visit(chain, store)
    received = datetime(2026, 5, 4, 2, 0, 0)
    make_complaint(store, received, "major",
                   resolved_after_hours=after / timedelta(hours=1))
    data = json.loads(runner.invoke(args=["bdi", "--month", "2026-05", "--format", "json",
                                          "--store", store.code]).output)
    assert data["stores"][0]["hl"] == hl
    assert scoring.complaint_deduction("major", after / timedelta(hours=1)) == 100 - hl


# --- a deactivated store keeps its past months -----------------------------------------------


def test_deactivating_a_store_keeps_past_months(client, auth, runner, chain):
    s1, s2 = chain.stores[0], chain.stores[1]
    for month in (4, 5):
        make_visit(chain, s1, visit_date=date(2026, month, 10))  # V 100
        make_visit(chain, s2, visit_date=date(2026, month, 11), values={"clean_restroom": 0})

    def brand(month: str) -> dict:
        out = runner.invoke(args=["bdi", "--month", month, "--format", "json"]).output
        return json.loads(out)["brand"]

    before = brand("2026-04")
    assert before["stores_scored"] == 2 and before["bdi"] == pytest.approx(92)  # (100 + 84) / 2
    auth.login("hq@example.com")
    client.post(f"/hq/stores/{s2.id}/active", data={"active": "0"})
    db.session.refresh(s2)
    assert s2.active is False and s2.deactivated_on is not None
    # HQ deactivated it in May 2026 (the store's local day)
    s2.deactivated_on = date(2026, 5, 20)
    db.session.commit()
    assert brand("2026-04") == before
    assert brand("2026-05")["stores_scored"] == 2  # the month of deactivation still counts
    make_visit(chain, s1, visit_date=date(2026, 6, 10))
    make_visit(chain, s2, visit_date=date(2026, 6, 11), values={"clean_restroom": 0})
    assert brand("2026-06")["stores_scored"] == 1  # gone from the month after
    client.post(f"/hq/stores/{s2.id}/active", data={"active": "1"})
    db.session.refresh(s2)
    assert s2.active is True and s2.deactivated_on is None


# --- flask bdi --store ranks among the whole chain -------------------------------------------


def test_bdi_for_one_store_shows_its_chain_rank(runner, chain):
    make_visit(chain, chain.stores[0], visit_date=date(2026, 5, 3))  # 100: rank 1
    make_visit(chain, chain.stores[1], visit_date=date(2026, 5, 4), values=V_83)  # rank 2
    make_visit(chain, chain.stores[2], visit_date=date(2026, 5, 5), default=0)  # rank 3
    one = json.loads(runner.invoke(args=["bdi", "--month", "2026-05", "--format", "json",
                                         "--store", chain.stores[2].code]).output)
    assert one["stores"][0]["rank"] == 3
    table = runner.invoke(args=["bdi", "--month", "2026-05", "--store", chain.stores[2].code])
    row = next(line for line in table.output.splitlines() if chain.stores[2].code in line)
    assert row.split()[0] == "3"
