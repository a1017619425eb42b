"""Every path that picks or changes a visit's shopper applies the same workforce rules
(#20: never suspended or blacklisted, not unavailable all month, quiz-certified when the
questionnaire needs it) with a message per refused row, and every new assignment gets the
expense cap: the monthly plan (tests/test_shoppers.py), the single reassign page
(tests/test_shoppers.py), the bulk reassign of the scheduling page (#18) and the extra
visits accepted from the proposals (#16). A visit cancelled in bulk keeps no scenario for
its store's quarter (#24)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select

from auditapp import scheduling, shoppers
from auditapp.extensions import db
from auditapp.models import (
    QuizAttempt,
    QuizSetting,
    Scenario,
    ScenarioVisit,
    Store,
    Visit,
    VisitPay,
)
from auditapp.models.visit import ASSIGNED, CANCELLED

from .factories import make_user
from .test_deadlines import _bulk, _visit
from .test_proposals import THIS, _this_month
from .test_scenarios import make_scenario

TODAY = date.today()


def _require_quiz(chain, *certified):
    db.session.add(QuizSetting(questionnaire_code=chain.ms_q.code, required=True,
                               pass_mark=50))
    for user in certified:
        db.session.add(QuizAttempt(user_id=user.id, questionnaire_code=chain.ms_q.code,
                                   correct=1, total=1, passed=True))
    db.session.commit()


def test_bulk_reassign_refuses_suspended_and_uncertified_shoppers_row_by_row(client, auth,
                                                                             chain):
    alice, bob, carol = chain.shoppers
    a = _visit(chain, chain.stores[0], alice, TODAY + timedelta(days=3))
    b = _visit(chain, chain.stores[1], alice, TODAY + timedelta(days=3))
    shoppers.set_standing(bob, "suspended", "Late twice", chain.hq.id)
    _require_quiz(chain, bob)  # carol is not certified
    auth.login("hq@example.com")
    html = _bulk(client, [a.id, b.id], "reassign", shopper_id=str(bob.id)).get_data(True)
    assert html.count("— MS-102 is suspended.") == 2
    assert "reassigned to MS-102" not in html
    html = _bulk(client, [a.id, b.id], "reassign", shopper_id=str(carol.id)).get_data(True)
    assert html.count("— MS-103 has not passed the certification quiz.") == 2
    db.session.expire_all()
    assert {db.session.get(Visit, v.id).evaluator_id for v in (a, b)} == {alice.id}


def test_an_extra_visit_goes_only_to_an_eligible_shopper_and_gets_the_expense_cap(
        client, auth, chain):
    _this_month(chain)  # MS-101 visits the three stores this month
    alice, bob, carol = chain.shoppers
    _require_quiz(chain, carol)  # MS-102 (first by load and pseudonym) is not certified
    auth.login("hq@example.com")
    first = client.get(f"/hq/scheduling?month={THIS}")
    assert first.status_code == 200
    stores = sorted({v.store_id for v in db.session.scalars(select(Visit))})
    r = client.post("/hq/scheduling/proposals/accept",
                    data={"month": THIS, "store_id": str(stores[0])}, follow_redirects=True)
    assert f"1 extra visit scheduled for {THIS}." in r.get_data(as_text=True)
    extra = db.session.scalar(select(Visit).where(Visit.extra.is_(True)))
    assert extra.evaluator_id == carol.id
    pay = db.session.get(VisitPay, extra.id)
    assert pay is not None and pay.expense_cap == Decimal("60.00") and pay.status is None

    # nobody eligible left: refused, and the message says why for each shopper
    shoppers.set_standing(carol, "suspended", "Late twice", chain.hq.id)
    db.session.commit()
    r = client.post("/hq/scheduling/proposals/accept",
                    data={"month": THIS, "store_id": str(stores[1])}, follow_redirects=True)
    html = r.get_data(as_text=True)
    assert "No eligible shopper for an extra visit" in html
    assert "MS-102 has not passed the certification quiz." in html
    assert "MS-103 is suspended." in html
    assert db.session.scalar(select(Visit).where(Visit.extra.is_(True),
                                                 Visit.store_id == stores[1])) is None


def test_a_store_whose_scenario_visit_was_cancelled_still_gets_one_that_quarter(client, auth,
                                                                                 chain):
    for i in range(3):
        make_user(f"MS-2{i:02d}", "shopper", f"Shopper {i}")
    make_scenario("SC-A")
    months = ["2027-01", "2027-02", "2027-03"]
    scheduling.generate_month(months[0])
    db.session.commit()
    cancelled = list(db.session.scalars(
        select(Visit).join(ScenarioVisit, ScenarioVisit.visit_id == Visit.id)))
    assert cancelled
    auth.login("hq@example.com")
    html = _bulk(client, [v.id for v in cancelled], "cancel",
                 month=months[0]).get_data(as_text=True)
    assert "Not changed" not in html
    db.session.expire_all()
    assert {db.session.get(Visit, v.id).status for v in cancelled} == {CANCELLED}
    for month in months[1:]:
        scheduling.generate_month(month)
        db.session.commit()
    covered = set(db.session.scalars(
        select(Visit.store_id).join(ScenarioVisit, ScenarioVisit.visit_id == Visit.id)
        .join(Scenario, Scenario.id == ScenarioVisit.scenario_id)
        .where(Visit.month.in_(months), Visit.status == ASSIGNED)))
    assert covered == set(db.session.scalars(select(Store.id).where(Store.active.is_(True))))
