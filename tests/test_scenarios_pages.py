"""Scenario shops on the pages (issue #24): the manager's per-step view with what each
step means and a coaching action, HQ's scenarios, dashboard card and ranking, the store and
brand PDFs, the API — and anonymity: no script, scenario title, shopper comment or
per-visit RS detail reaches a manager (only the store's sum over three months)."""

from __future__ import annotations

import io
from datetime import date

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from auditapp import scenarios
from auditapp.extensions import db
from auditapp.models import CorrectiveAction

from .manager_helpers import SHOPPER_SECRETS, make_area_manager
from .test_scenarios import N, Y, make_scenario, scenario_visit

SCRIPT = "Tell the cashier your fries are cold"
COMMENT = "I wore a red coat and sat by the window"


def pdf_text(data: bytes) -> str:
    return "\n".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(data)).pages)


@pytest.fixture
def shops(chain):
    scenario = make_scenario("SC-COLD")
    e1 = chain.stores[0]
    a = scenario_visit(chain, e1, date(2026, 4, 10), [Y, N, Y, Y, N], comment=COMMENT,
                       scenario=scenario)
    b = scenario_visit(chain, e1, date(2026, 5, 10), [Y, Y, N, Y, N], comment=COMMENT,
                       scenario=scenario)
    c = scenario_visit(chain, chain.stores[2], date(2026, 5, 12), [Y] * 5, scenario=scenario)
    return {"scenario": scenario, "visits": [a, b, c]}


def test_manager_sees_store_rs_and_which_steps_staff_miss_most(client, auth, chain, shops):
    auth.login("m.e001@example.com")
    page = client.get(f"/manager/stores/{chain.stores[0].id}?month=2026-05").get_data(
        as_text=True)
    assert 'id="recovery"' in page
    assert 'id="store-rs">60.0<' in page  # (60 + 60) / 2
    assert "2 scenario visits" in page
    steps = page.split('id="rs-steps"')[1].split("</ul>")[0]
    # step 5 missed twice comes first, then steps 2 and 3 (once each)
    assert steps.index('data-step="5"') < steps.index('data-step="2"') < steps.index(
        'data-step="1"')
    assert "Missed 2 of 2" in steps
    assert "ask whether it is" in steps  # the method's meaning of step 5
    assert "Record a corrective action (training)" in steps
    # record training for step 5
    r = client.post(f"/manager/stores/{chain.stores[0].id}/scenario-actions?month=2026-05",
                    data={"step": "5", "action": "Role-play the remedy question",
                          "owner": "Shift lead", "due_date": "2026-06-30"})
    assert r.status_code == 302
    row = db.session.scalars(select(CorrectiveAction)).one()
    assert row.source == "scenario" and row.scenario_step == 5
    assert row.visit_id == shops["visits"][1].id  # the latest visit that missed it
    page = client.get(f"/manager/stores/{chain.stores[0].id}?month=2026-05").get_data(
        as_text=True)
    assert "Role-play the remedy question" in page
    # a step staff never missed cannot get one
    r = client.post(f"/manager/stores/{chain.stores[0].id}/scenario-actions?month=2026-05",
                    data={"step": "1", "action": "x", "due_date": "2026-06-30"},
                    follow_redirects=True)
    assert "for the steps staff missed" in r.get_data(as_text=True)


@pytest.mark.parametrize("who", ["m.e001@example.com", "area.east@example.com"])
def test_no_scenario_detail_or_shopper_reaches_a_manager(client, auth, chain, shops, who):
    make_area_manager("area.east@example.com", chain.regions[0])
    a, b, _c = shops["visits"]
    auth.login("hq@example.com")
    # HQ sees the script, the steps and the comment …
    assert SCRIPT in client.get("/hq/scenarios").get_data(as_text=True)
    review = client.get(f"/hq/visits/{b.id}").get_data(as_text=True)
    assert SCRIPT in review and COMMENT in review and 'id="scenario-result"' in review
    auth.logout()
    auth.login(who)
    client.post(f"/manager/stores/{chain.stores[0].id}/scenario-actions?month=2026-05",
                data={"step": "5", "action": "Role-play the remedy question",
                      "owner": "Shift lead", "due_date": "2026-06-30"})
    store = chain.stores[0].id
    urls = [f"/manager/stores/{store}?month=2026-05", f"/manager/stores/{store}",
            f"/manager/visits/{a.id}", f"/manager/visits/{b.id}", "/manager/actions",
            "/manager/?month=2026-05", "/manager/reports?month=2026-05",
            "/manager/reports/export/visits.csv?month=2026-05",
            "/manager/reports/export/scores.csv?month=2026-05",
            f"/manager/reports/stores/{store}.pdf?month=2026-05",
            f"/manager/reports/visits/{b.id}.pdf"]
    secrets = [*SHOPPER_SECRETS, SCRIPT, "薯条是凉的", "Cold fries", "SC-COLD", COMMENT,
               "Complaint handling, step", "How satisfied were you with how the problem"]
    for url in urls:
        with client.get(url) as r:
            assert r.status_code == 200, url
            body = r.get_data()
        text = pdf_text(body) if url.split("?")[0].endswith(".pdf") else body.decode()
        for secret in secrets:
            assert secret not in text, (url, secret)
        if "/visits/" in url:  # a visit's page never says it was a scenario shop
            assert "Recovery score" not in text and "Complaint handling" not in text
    # the action list never dates a scenario action (open, then verified)
    action = db.session.scalars(select(CorrectiveAction)).one()
    for status in ("open", "verified"):
        action.status = status
        db.session.commit()
        body = client.get("/manager/actions").get_data(as_text=True)
        assert "Role-play the remedy question" in body
        assert "2026-05-10" not in body and "05/10" not in body, status
    action.status = "open"
    db.session.commit()
    # the store PDF carries the store's RS (summed), not per visit
    with client.get(f"/manager/reports/stores/{store}.pdf?month=2026-05") as r:
        text = pdf_text(r.get_data())
    assert "Recovery score" in text and "60.0" in text
    # the scenario action's visit date is not printed: "–" in its row
    assert "Role-play the remedy question" in text
    assert "2026-05-10" not in text.split("Role-play the remedy question")[1].split("\n")[0]


def test_hq_dashboard_ranking_pdf_and_api(client, auth, chain, shops):
    auth.login("hq@example.com")
    page = client.get("/hq/?month=2026-05").get_data(as_text=True)
    assert 'id="recovery"' in page and 'id="brand-rs">80.0<' in page  # (60 + 100) / 2
    page = client.get("/hq/scenarios/recovery?month=2026-05").get_data(as_text=True)
    ranking = page.split('id="rs-ranking"')[1]
    assert ranking.index("北京王府井店") < ranking.index("上海南京西路店")
    with client.get("/hq/reports/brand.pdf?month=2026-05") as r:
        text = pdf_text(r.get_data())
    assert "Complaint handling (scenario shops)" in text and "80.0" in text
    body = client.get("/api/hq/recovery?month=2026-05").get_json()
    assert body["brand"] == {"rs": 80.0, "stores": 2, "n": 3}
    assert [s["code"] for s in body["stores"]] == ["N001", "E001"]
    assert body["stores"][1] == {"code": "E001", "name": "上海南京西路店",
                                 "region": "East 华东", "rs": 60.0, "n": 2, "rank": 2}
    regions = client.get("/api/hq/recovery?month=2026-05&by=region").get_json()["regions"]
    assert {r["name"]: r["rs"] for r in regions} == {"East 华东": 60.0, "North 华北": 100.0}
    assert client.get("/api/hq/recovery?month=2026-13").status_code == 400
    csv = client.get("/hq/reports/export/scores.csv?month=2026-05").get_data(as_text=True)
    assert "Recovery score (RS, 3 months)" in csv


def test_hq_writes_versions_and_sets_the_weight(client, auth, chain):
    auth.login("hq@example.com")
    r = client.post("/hq/scenarios", data={
        "code": "sc-burger", "title": "Cold burger", "title_zh": "汉堡是凉的",
        "script": "Say your burger is cold.", "script_zh": "说您的汉堡是凉的。",
        "visit_types": ["walk_in", "dine_in"]})
    assert r.status_code == 302
    first = scenarios.active_scenarios()[0]
    assert first.code == "SC-BURGER" and first.visit_types == ["walk_in", "dine_in"]
    r = client.post(f"/hq/scenarios/{first.id}", data={
        "title": "Cold burger", "script": "Say your burger is cold and dry.",
        "visit_types": ["walk_in"]})
    assert r.status_code == 302
    current = scenarios.active_scenarios()[0]
    assert current.version == 2 and current.script == "Say your burger is cold and dry."
    r = client.post("/hq/scenarios", data={"title": "No type", "script": "x"})
    assert r.status_code == 400 and "at least one visit type" in r.get_data(as_text=True)
    client.post("/hq/scenarios/settings", data={"what": "rs_weight", "rs_weight": "0.1"})
    from auditapp.settings import scoring_config

    assert scoring_config().rs_weight == 0.1
    # the general settings page keeps c_RS when it saves the other weights
    page = client.get("/hq/scenarios").get_data(as_text=True)
    assert 'value="0.1"' in page
