"""Scenario shops (issue #24, SCORING.md §13): RS against hand-computed values, the rolling
three-month store RS and its region/brand means in SQL, c_RS = 0 vs > 0 in the BDI, the
scheduling share and rotation over 12 generated months, and the shopper's form (no-JS and
JSON) with the "Complaint handling" section."""

from __future__ import annotations

import math
from datetime import date

import pytest
from sqlalchemy import select

from auditapp import analytics, scenarios, scheduling, scoring, settings
from auditapp.extensions import db
from auditapp.models import Region, Scenario, ScenarioVisit, Store, Visit
from auditapp.models.visit import SUBMITTED

from .factories import make_user, make_visit
from .shopper_helpers import full_payload, make_assignment

# --- pure functions (hand-computed) -----------------------------------------------------------


def test_recovery_score_is_the_share_of_five_steps():
    assert scoring.recovery_score([True, True, False, True, False]) == 60.0
    assert scoring.recovery_score([True] * 5) == 100.0
    assert scoring.recovery_score([False] * 5) == 0.0
    assert scoring.recovery_score([1, 0, 0, 0, 0]) == 20.0


@pytest.mark.parametrize("steps", [[True] * 4, [True] * 6, [True, None, True, True, True],
                                   [True, "na", True, True, True]])
def test_recovery_score_refuses_na_and_a_wrong_number_of_steps(steps):
    with pytest.raises(scoring.ScoringError):
        scoring.recovery_score(steps)


def test_rolling_and_group_recovery():
    rs, n = scoring.rolling_recovery([60.0, 100.0, 40.0])
    assert n == 3 and rs == pytest.approx(200 / 3)
    assert scoring.rolling_recovery([]) == (None, 0)
    assert scoring.group_recovery([60.0, None, 80.0]) == 70.0


def test_bdi_with_rs_weight_zero_is_unchanged_and_above_zero_renormalises():
    # SCORING.md §7: MS 71.25, QA 90, HL 95.5 → BDI 79.575
    zero = scoring.ScoringConfig()
    assert scoring.bdi(71.25, 90, 95.5, zero, rs=60.0) == pytest.approx(79.575)
    weighted = scoring.ScoringConfig(rs_weight=0.2)
    # (0.6·71.25 + 0.25·90 + 0.15·95.5 + 0.2·60) / 1.2 = 91.575 / 1.2
    assert scoring.bdi(71.25, 90, 95.5, weighted, rs=60.0) == pytest.approx(76.3125)
    # no RS in the window: the same as without a weight
    assert scoring.bdi(71.25, 90, 95.5, weighted, rs=None) == pytest.approx(79.575)
    # RS alone never makes a BDI
    assert scoring.bdi(None, None, None, weighted, rs=60.0) is None
    # its share of the error: e = SE·c_MS/Σc with Σc including c_RS
    assert scoring.bdi_error(12, 2, True, weighted, has_rs=True) == pytest.approx(
        12 / math.sqrt(2) * 0.6 / 1.2)


def test_rs_weight_round_trips_and_is_validated():
    config = scoring.ScoringConfig.from_dict({"rs_weight": 0.1})
    assert config.rs_weight == 0.1 and config.to_dict()["rs_weight"] == 0.1
    assert "rs_weight" not in scoring.ScoringConfig().to_dict()
    with pytest.raises(scoring.ScoringError):
        scoring.ScoringConfig(rs_weight=-1).validate()


# --- helpers -------------------------------------------------------------------------------------


def make_scenario(code="SC-COLD", types=("drive_thru", "walk_in", "dine_in"), user_id=None):
    row = scenarios.create_scenario(
        {"code": code, "title": f"Cold fries {code}", "title_zh": f"薯条是凉的 {code}",
         "script": f"Tell the cashier your fries are cold ({code}).",
         "script_zh": f"告诉收银员您的薯条是凉的（{code}）。", "visit_types": list(types)},
        user_id)
    db.session.commit()
    return row


def scenario_visit(chain, store, when: date, steps, handling=30, comment="", scenario=None,
                   **kw) -> Visit:
    visit = make_visit(chain, store, visit_date=when, **kw)
    scenario = scenario or db.session.scalar(select(Scenario).limit(1)) or make_scenario()
    db.session.add(ScenarioVisit(visit_id=visit.id, scenario_id=scenario.id,
                                 step1=steps[0], step2=steps[1], step3=steps[2],
                                 step4=steps[3], step5=steps[4], handling=handling,
                                 comment=comment, rs=scoring.recovery_score(steps)))
    db.session.commit()
    return visit


Y, N = True, False
SCRIPT_START = "Tell the cashier your fries are cold"

# --- figures in SQL ------------------------------------------------------------------------------


def test_store_rs_is_the_rolling_three_month_mean_with_n_and_groups_mean_stores(app, chain):
    e1, e2, n1 = chain.stores[0], chain.stores[1], chain.stores[2]
    scenario_visit(chain, e1, date(2026, 2, 10), [N, N, N, N, N])   # outside the window
    scenario_visit(chain, e1, date(2026, 3, 10), [Y, Y, Y, Y, Y])   # 100
    scenario_visit(chain, e1, date(2026, 5, 10), [Y, Y, N, Y, N])   # 60
    scenario_visit(chain, e2, date(2026, 4, 10), [Y, N, N, N, N])   # 20
    scenario_visit(chain, n1, date(2026, 5, 3), [Y, Y, Y, Y, N])    # 80
    make_visit(chain, n1, visit_date=date(2026, 5, 4))              # a plain shop: no RS
    may = analytics.Period.month("2026-05")
    rows = {r.code: r for r in scenarios.store_recovery(may)}
    assert rows["E001"].rs == pytest.approx(80.0) and rows["E001"].n == 2
    assert rows["E002"].rs == pytest.approx(20.0) and rows["E002"].n == 1
    assert rows["N001"].rs == pytest.approx(80.0) and rows["N001"].rank == 1
    assert rows["E002"].rank == 3
    regions = {r.name: r for r in scenarios.region_recovery(may)}
    assert regions["East 华东"].rs == pytest.approx(50.0)  # (80 + 20) / 2, each store once
    assert regions["North 华北"].rs == pytest.approx(80.0)
    brand = scenarios.brand_recovery(may)
    assert brand.rs == pytest.approx(60.0) and brand.stores == 3 and brand.visits == 4
    steps = {s.number: s for s in scenarios.step_figures(may)}
    assert steps[5].missed == 3 and steps[1].missed == 0 and steps[5].visits == 4
    assert scenarios.step_figures(may)[0].number == 5  # most missed first


def test_bdi_sql_includes_rs_only_with_a_weight(app, chain):
    e1 = chain.stores[0]
    scenario_visit(chain, e1, date(2026, 5, 10), [Y, Y, N, Y, N])  # V 100 (best answers), RS 60
    may = analytics.Period.month("2026-05")
    before = analytics.store_score(e1.id, may)
    assert before.bdi == pytest.approx(100.0)  # MS 100, HL 100
    settings.save_scoring_config(scoring.ScoringConfig(rs_weight=0.2), None, "2026-05")
    db.session.commit()
    after = analytics.store_score(e1.id, may)
    # (0.6·100 + 0.15·100 + 0.2·60) / 0.95
    assert after.bdi == pytest.approx(87 / 0.95)
    assert after.bdi == pytest.approx(scoring.bdi(100, None, 100, settings.scoring_config(
        "2026-05"), rs=60))
    # the score receipt (raw rows through scoring.py) agrees with the SQL
    from auditapp import receipts

    receipt = receipts.store_receipt(e1, may, settings.scoring_config("2026-05"))
    assert receipt.rs == 60.0 and receipt.bdi == pytest.approx(after.bdi)
    # the weight is effective-dated: April keeps c_RS = 0
    assert settings.scoring_config("2026-04").rs_weight == 0


# --- scheduling over 12 months -------------------------------------------------------------------


def test_share_quarter_coverage_and_rotation_over_twelve_generated_months(app, chain):
    region = chain.regions[0]
    for i in range(8):
        db.session.add(Store(code=f"X{i:03d}", name=f"Extra {i}", address="x", region=region,
                             has_drive_thru=i % 2 == 0))
    for i in range(3):
        make_user(f"MS-2{i:02d}", "shopper", f"Shopper {i}")
    db.session.commit()
    for code in ("SC-A", "SC-B", "SC-C"):
        make_scenario(code)
    make_scenario("SC-DT", types=("drive_thru",))
    months = [f"2026-{m:02d}" for m in range(1, 13)]
    for month in months:
        scheduling.generate_month(month)
        db.session.commit()
    stores = list(db.session.scalars(select(Store)))
    rows = db.session.execute(
        select(Visit.store_id, Visit.month, Visit.visit_type, Scenario.code,
               Scenario.visit_types)
        .join(ScenarioVisit, ScenarioVisit.visit_id == Visit.id)
        .join(Scenario, Scenario.id == ScenarioVisit.scenario_id)).all()
    for month in months:
        total = db.session.query(Visit).filter(Visit.month == month).count()
        carried = sum(1 for r in rows if r.month == month)
        assert total == len(stores)
        assert carried >= math.ceil(0.25 * total), month
    for quarter in range(4):
        qmonths = months[quarter * 3:quarter * 3 + 3]
        covered = {r.store_id for r in rows if r.month in qmonths}
        assert covered == {s.id for s in stores}, f"quarter {quarter + 1}"
    by_store: dict[int, list] = {}
    for r in sorted(rows, key=lambda r: r.month):
        assert r.visit_type in r.visit_types  # fits the visit type
        by_store.setdefault(r.store_id, []).append(r.code)
    for codes in by_store.values():
        assert all(a != b for a, b in zip(codes, codes[1:], strict=False)), codes
    # generating a month again adds nothing
    again = len(rows)
    scheduling.generate_month("2026-06")
    db.session.commit()
    assert db.session.query(ScenarioVisit).count() == again


def test_share_is_an_effective_dated_setting(app, chain):
    scenarios.save_share("0.5", None, "2026-07")
    db.session.commit()
    assert scenarios.share("2026-06") == 0.25 and scenarios.share("2026-07") == 0.5
    with pytest.raises(scenarios.ScenarioError):
        scenarios.save_share("1.5", None, None)


def test_an_edit_creates_a_version_and_visits_keep_theirs(app, chain):
    first = make_scenario("SC-V")
    visit = make_assignment(chain)
    scenarios.give_scenario(visit, first, None)
    db.session.commit()
    second = scenarios.update_scenario(first, {
        "title": "Cold burger", "script": "Say the burger is cold.",
        "visit_types": ["walk_in"]}, None)
    db.session.commit()
    assert second.version == 2 and second.code == "SC-V" and first.status == "retired"
    assert scenarios.scenario_for(visit).scenario_id == first.id
    assert [s.id for s in scenarios.active_scenarios()] == [second.id]


# --- the shopper's form --------------------------------------------------------------------------


def _scenario_assignment(chain):
    scenario = make_scenario()
    visit = make_assignment(chain)
    scenarios.give_scenario(visit, scenario, None)
    db.session.commit()
    return visit


def test_the_form_shows_the_script_and_the_section_only_on_a_scenario_visit(client, auth,
                                                                            chain):
    plain = make_assignment(chain, store=chain.stores[1])
    visit = _scenario_assignment(chain)
    auth.login("MS-101")
    page = client.get(f"/shopper/visits/{visit.id}").get_data(as_text=True)
    assert "Tell the cashier your fries are cold" in page
    assert 'id="step-scenario"' in page and 'name="sc_5"' in page and 'name="sc_handling"' in page
    assert 'value="na"' not in page.split('id="step-scenario"')[1].split("</section>")[0]
    other = client.get(f"/shopper/visits/{plain.id}").get_data(as_text=True)
    assert "step-scenario" not in other and "fries are cold" not in other
    listing = client.get("/shopper/").get_data(as_text=True)
    assert "Tell the cashier your fries are cold" in listing


def test_no_js_form_requires_every_step_and_stores_rs(client, auth, chain):
    visit = _scenario_assignment(chain)
    auth.login("MS-101")
    p = full_payload(visit)
    data = {"action": "submit", "client_submission_id": "sc-html",
            **{k: str(v) for k, v in p["facts"].items() if k != "visit_type_confirmed"},
            "visit_type_confirmed": "1"}
    for key, a in p["answers"].items():
        data[f"v_{key}"] = str(a["value"])
    data.update({"sc_1": "1", "sc_2": "1", "sc_3": "0"})
    r = client.post(f"/shopper/visits/{visit.id}", data=data)
    assert r.status_code == 400
    page = r.get_data(as_text=True)
    assert 'id="err-scenario_step4"' in page and 'id="err-scenario_handling"' in page
    assert 'id="err-scenario_step1"' not in page
    data.update({"sc_4": "1", "sc_5": "0", "sc_handling": "-30", "sc_comment": "Got new fries"})
    r = client.post(f"/shopper/visits/{visit.id}", data=data)
    assert r.status_code in (200, 302)
    db.session.expire_all()
    row = scenarios.scenario_for(visit.id)
    assert db.session.get(Visit, visit.id).status == SUBMITTED
    assert row.steps() == [True, True, False, True, False] and row.rs == 60.0
    assert row.handling == -30 and row.comment == "Got new fries"


def test_api_submit_takes_the_scenario_object_and_refuses_na(client, auth, chain):
    visit = _scenario_assignment(chain)
    auth.login("MS-101")
    described = client.get(f"/api/shopper/visits/{visit.id}").get_json()["scenario"]
    assert described["script"].startswith(SCRIPT_START) and len(described["steps"]) == 5
    payload = full_payload(visit)
    payload["scenario"] = {"steps": {"1": True, "2": True, "3": True, "4": "na", "5": True},
                           "handling": 60, "comment": ""}
    r = client.post(f"/api/shopper/visits/{visit.id}/submit", json=payload)
    assert r.status_code == 422 and "scenario_step4" in r.get_json()["errors"]
    payload["scenario"]["steps"]["4"] = False
    r = client.post(f"/api/shopper/visits/{visit.id}/submit", json=payload)
    assert r.status_code == 200, r.get_json()
    db.session.expire_all()
    assert scenarios.scenario_for(visit.id).rs == 80.0


def test_a_plain_visit_ignores_scenario_fields(client, auth, chain):
    visit = make_assignment(chain)
    auth.login("MS-101")
    payload = full_payload(visit)
    payload["scenario"] = {"steps": {}, "handling": None}
    assert client.post(f"/api/shopper/visits/{visit.id}/submit",
                       json=payload).status_code == 200
    assert scenarios.scenario_for(visit.id) is None
    assert client.get(f"/api/shopper/visits/{visit.id}").get_json()["scenario"] is None


def test_draft_keeps_the_scenario_answers(client, auth, chain):
    visit = _scenario_assignment(chain)
    auth.login("MS-101")
    payload = full_payload(visit)
    payload["scenario"] = {"steps": {"1": True, "2": False}, "handling": 30, "comment": "x"}
    assert client.put(f"/api/shopper/visits/{visit.id}/draft",
                      json=payload).status_code == 200
    page = client.get(f"/shopper/visits/{visit.id}").get_data(as_text=True)
    section = page.split('id="step-scenario"')[1]
    assert 'name="sc_1" value="1" checked' in section
    assert 'name="sc_2" value="0" checked' in section
    assert 'name="sc_handling" value="30" checked' in section


def test_region_model_is_used(app, chain):  # keeps the import honest for ruff
    assert db.session.scalar(select(Region).limit(1)) is not None
