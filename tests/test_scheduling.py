"""Monthly mystery-shop scheduling: rules over a year, idempotence, unschedulable stores,
the HQ page, reassignment and the ``flask schedule`` command."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from datetime import date

import pytest
from sqlalchemy import select

from auditapp import scheduling
from auditapp.extensions import db
from auditapp.models import SHOPPER, AuditLog, Questionnaire, Store, Visit
from auditapp.models.questionnaire import RETIRED
from auditapp.models.visit import MYSTERY, SUBMITTED
from auditapp.visit_states import TransitionError

from .factories import make_user

MONTHS = [f"2026-{m:02d}" for m in range(1, 13)]



@pytest.fixture
def programme(chain):
    """6 stores (3 with a drive-thru), 4 shoppers, two of them tied to stores."""
    east, north = chain.regions
    extra = [Store(code="E003", name="宁波天一店", region=east, has_drive_thru=True),
             Store(code="N003", name="Dalian Port", region=north)]
    db.session.add_all(extra)
    shoppers = [*chain.shoppers, make_user("MS-104", SHOPPER)]
    stores = {s.code: s for s in [*chain.stores, *extra]}
    shoppers[0].tied_stores.append(stores["E001"])
    shoppers[1].tied_stores.extend([stores["N001"], stores["N002"]])
    db.session.commit()
    return chain, stores, shoppers


def _visits(month: str | None = None) -> list[Visit]:
    q = select(Visit).where(Visit.kind == MYSTERY)
    if month:
        q = q.where(Visit.month == month)
    return list(db.session.scalars(q))


def test_twelve_months_follow_every_rule(runner, programme):
    chain, stores, shoppers = programme
    for month in MONTHS:
        result = runner.invoke(args=["schedule", "--month", month])
        assert result.exit_code == 0, result.output
        assert f"{month}: 0 visits already scheduled, created 6, 0 not schedulable" in result.output

    grid: dict[str, dict[str, Visit]] = defaultdict(dict)  # store code → month → visit
    tokens = set()
    for v in _visits():
        assert v.month not in grid[v.store.code], "two visits for one store in a month"
        grid[v.store.code][v.month] = v
        tokens.add(v.access_token)
        assert v.status == "assigned" and len(v.access_token) >= 40
        assert v.due_date == scheduling.due_date_for(v.month)
        assert v.token_expires_at.date() > v.due_date
        assert v.questionnaire_id == chain.ms_q.id
    assert len(tokens) == 6 * 12

    for code, by_month in grid.items():
        store = stores[code]
        assert sorted(by_month) == MONTHS, code
        types = [by_month[m].visit_type for m in MONTHS]
        cycle = 3 if store.has_drive_thru else 2
        if not store.has_drive_thru:
            assert "drive_thru" not in types, code
        # rotation: every window of `cycle` consecutive months uses each allowed type once
        for i in range(len(types) - cycle + 1):
            assert len(set(types[i:i + cycle])) == cycle, (code, types)
        evaluators = [by_month[m].evaluator_id for m in MONTHS]
        for a, b in zip(evaluators, evaluators[1:], strict=False):
            assert a != b, f"{code}: same shopper two months running"
        for v in by_month.values():
            assert store not in v.evaluator.tied_stores, f"{code}: tied shopper sent"

    for month in MONTHS:
        load = Counter(v.evaluator_id for v in _visits(month))
        counts = [load.get(s.id, 0) for s in shoppers]
        assert sum(counts) == 6 and max(counts) - min(counts) <= 1, (month, counts)


def test_generating_twice_changes_nothing_and_adds_new_stores(runner, programme):
    chain, stores, shoppers = programme
    assert runner.invoke(args=["schedule", "--month", "2026-03"]).exit_code == 0
    first = {(v.id, v.store_id, v.evaluator_id, v.visit_type, v.access_token)
             for v in _visits("2026-03")}
    result = runner.invoke(args=["schedule", "--month", "2026-03"])
    assert "6 visits already scheduled, created 0" in result.output
    db.session.expire_all()
    assert {(v.id, v.store_id, v.evaluator_id, v.visit_type, v.access_token)
            for v in _visits("2026-03")} == first

    db.session.add(Store(code="E004", name="New store", region=chain.regions[0]))
    stores["N003"].active = False
    db.session.commit()
    dry = runner.invoke(args=["schedule", "--month", "2026-03", "--dry-run"])
    assert "would create 1" in dry.output and "E004" in dry.output
    assert len(_visits("2026-03")) == 6
    result = runner.invoke(args=["schedule", "--month", "2026-03"])
    assert "created 1" in result.output
    assert len(_visits("2026-03")) == 7
    assert runner.invoke(args=["schedule", "--month", "2026-3"]).exit_code == 2


def test_unschedulable_stores_are_reported(client, auth, runner, programme):
    chain, stores, shoppers = programme
    for s in shoppers:
        s.tied_stores.append(stores["E002"])
    db.session.commit()
    plan = scheduling.plan_month("2026-05")
    assert [u.store.code for u in plan.unscheduled] == ["E002"]
    assert "must never visit store E002" in plan.unscheduled[0].reason
    result = runner.invoke(args=["schedule", "--month", "2026-05"])
    assert result.exit_code == 1 and "! E002" in result.output and "created 5" in result.output

    auth.login("hq@example.com")
    html = client.get("/hq/scheduling?month=2026-05").get_data(as_text=True)
    assert 'id="unscheduled"' in html and "E002" in html and "No eligible shopper" in html

    # no shopper left at all
    for s in shoppers:
        s.active = False
    db.session.add(Store(code="E005", name="Another", region=chain.regions[0]))
    db.session.commit()
    plan = scheduling.plan_month("2026-05")
    assert {u.store.code: u.reason for u in plan.unscheduled}["E005"] == \
        "No active mystery shopper."


def test_no_published_questionnaire(programme):
    chain, stores, shoppers = programme
    db.session.get(Questionnaire, chain.ms_q.id).status = RETIRED
    db.session.commit()
    plan = scheduling.plan_month("2026-05")
    assert not plan.planned and len(plan.unscheduled) == 6
    assert plan.unscheduled[0].reason == "No published mystery-shop questionnaire."


def test_previous_shopper_is_never_sent_again_next_month(programme):
    chain, stores, shoppers = programme
    # only two shoppers, one tied to E001: MS-102 must alternate with nobody → report
    for s in shoppers[2:]:
        s.active = False
    db.session.commit()
    scheduling.generate_month("2026-01")
    db.session.commit()
    jan = {v.store.code: v.evaluator.username for v in _visits("2026-01")}
    assert jan["E001"] == "MS-102"  # MS-101 is tied to E001
    feb = scheduling.plan_month("2026-02")
    reasons = {u.store.code: u.reason for u in feb.unscheduled}
    assert "E001" in reasons and "month before or after" in reasons["E001"]


def test_hq_page_preview_generate_and_links(client, auth, programme):
    auth.login("hq@example.com")
    html = client.get("/hq/scheduling?month=2036-07").get_data(as_text=True)
    assert "To schedule for 2036-07" in html and "Generate 6 visits" in html
    assert "No assignments yet" in html and not _visits("2036-07")
    r = client.post("/hq/scheduling", data={"month": "2036-07"})
    assert r.status_code == 302 and r.headers["Location"].endswith("month=2036-07")
    html = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "6 visits scheduled for 2036-07" in html
    visits = _visits("2036-07")
    assert len(visits) == 6
    for v in visits:
        assert v.evaluator.username in html
    # every link the page prints opens that visit's form (as the shopper would, logged out)
    links = re.findall(r'class="input link-input"[^>]*value="([^"]+)"', html)
    assert len(links) == 6
    auth.logout()
    by_token = {v.access_token: v for v in visits}
    for link in links:
        token = link.rsplit("/", 1)[-1]
        assert token in by_token
        r = client.get(link)
        assert r.status_code == 200, link
        assert by_token[token].store.name in r.get_data(as_text=True)
    auth.login("hq@example.com")
    assert "上海南京西路店" in html
    assert "Every active store already has its visit" in html
    r = client.post("/hq/scheduling", data={"month": "2036-07"}, follow_redirects=True)
    assert "Nothing new to schedule" in r.get_data(as_text=True)
    assert len(_visits("2036-07")) == 6
    html = client.get("/hq/scheduling?month=2026-13").get_data(as_text=True)
    assert "Write the month as YYYY-MM" in html and 'value="2026-13"' in html
    assert db.session.scalar(select(AuditLog).where(AuditLog.entity == "schedule"))


def test_reassign(client, auth, programme):
    chain, stores, shoppers = programme
    scheduling.generate_month("2026-06")
    db.session.commit()
    visit = next(v for v in _visits("2026-06") if v.store.code == "N001")
    old_token, old_shopper = visit.access_token, visit.evaluator_id
    auth.login("hq@example.com")
    url = f"/hq/scheduling/visits/{visit.id}/reassign"
    html = client.get(url).get_data(as_text=True)
    assert "MS-102: " in html and "must never visit store N001" in html
    # a tied shopper is refused with the reason
    r = client.post(url, data={"shopper_id": shoppers[1].id})
    assert r.status_code == 422
    assert "MS-102 must never visit store N001 (conflict of interest)." in r.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Visit, visit.id).evaluator_id == old_shopper
    # an eligible one gets the visit and a fresh link
    target = next(s for s in shoppers
                  if s.id != old_shopper and scheduling.ineligibility(s, visit.store,
                                                                      "2026-06") is None)
    r = client.post(url, data={"shopper_id": target.id})
    assert r.status_code == 302
    db.session.expire_all()
    visit = db.session.get(Visit, visit.id)
    assert visit.evaluator_id == target.id and visit.access_token != old_token
    assert db.session.scalar(select(AuditLog).where(AuditLog.entity == "visit",
                                                    AuditLog.action == "reassign"))
    # a submitted visit cannot be reassigned
    visit.status = SUBMITTED
    db.session.commit()
    assert "can no longer be reassigned" in client.get(url).get_data(as_text=True)
    other = next(s for s in shoppers if s.id != target.id)
    with pytest.raises(TransitionError, match="no longer be reassigned"):
        scheduling.reassign(visit, other)


def test_next_visit_type_rotation_unit():
    dt = Store(code="X", name="x", has_drive_thru=True)
    walk = Store(code="Y", name="y", has_drive_thru=False)
    assert scheduling.next_visit_type(dt, []) == "drive_thru"
    assert scheduling.next_visit_type(dt, [("2026-01", "drive_thru")]) == "walk_in"
    assert scheduling.next_visit_type(
        dt, [("2026-01", "drive_thru"), ("2026-02", "walk_in")]) == "dine_in"
    assert scheduling.next_visit_type(
        dt, [("2026-01", "dine_in"), ("2026-02", "drive_thru"), ("2026-03", "walk_in")]
    ) == "dine_in"
    assert scheduling.next_visit_type(walk, [("2026-01", "drive_thru")]) == "walk_in"
    assert scheduling.next_visit_type(walk, [("2026-02", "walk_in")]) == "dine_in"
    assert scheduling.due_date_for("2026-02") == date(2026, 2, 28)
    assert scheduling.shift_month("2026-01", -1) == "2025-12"
