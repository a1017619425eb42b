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

from auditapp import notifications, scheduling, shoppers
from auditapp.extensions import db
from auditapp.models import (
    CorrectiveAction,
    Notification,
    QuizAttempt,
    QuizSetting,
    Scenario,
    ScenarioVisit,
    Store,
    Visit,
    VisitPay,
)
from auditapp.models.followup import (
    ACTION_CONFIRMED,
    ACTION_DONE,
    ACTION_OPEN,
    ACTION_VERIFIED,
    SOURCE_AUTO,
)
from auditapp.models.visit import ASSIGNED, CANCELLED
from auditapp.notifications import ACTION_DUE_SOON, ACTION_ESCALATED, ACTION_OVERDUE

from .factories import make_user, make_visit
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


def test_periodic_run_reminds_only_open_automatic_actions(runner, chain):
    """#17 item 6 next to #18: a confirmed (passed again), done or verified automatic action
    gets no reminder; an open one (also a reopened one) does, once."""
    visit = make_visit(chain, chain.stores[0], visit_date=date(2036, 4, 10))
    statuses = (ACTION_CONFIRMED, ACTION_DONE, ACTION_VERIFIED, ACTION_OPEN)
    rows = {status: CorrectiveAction(visit=visit, action=f"Fix it ({status})", owner="",
                                     due_date=date(2036, 5, 1), status=status,
                                     source=SOURCE_AUTO)
            for status in statuses}
    rows[ACTION_OPEN].reopened = 1
    db.session.add_all(rows.values())
    db.session.commit()
    for _ in range(2):
        result = runner.invoke(args=["notify", "run", "--now", "2036-05-20T08:00"])
        assert result.exit_code == 0, result.output
    told = db.session.execute(select(Notification.event, Notification.params).where(
        Notification.event.in_((ACTION_DUE_SOON, ACTION_OVERDUE, ACTION_ESCALATED)))).all()
    assert told and {p["action"] for _e, p in told} == {f"Fix it ({ACTION_OPEN})"}
    assert sorted(e for e, _p in told if e == ACTION_OVERDUE) == \
        [ACTION_OVERDUE] * len(notifications._store_managers(chain.stores[0].id))


def test_a_visit_cancelled_before_check_in_does_not_block_the_next_month(client, auth, chain):
    """The neighbour rule (no shopper at the same store two months running) counts visits
    made or started, not an assignment cancelled in bulk before the shopper went."""
    alice, bob, _carol = chain.shoppers
    store = chain.stores[0]
    january = _visit(chain, store, alice, date(2027, 1, 31))
    february = _visit(chain, store, bob, date(2027, 2, 28))
    auth.login("hq@example.com")
    url = f"/hq/scheduling/visits/{february.id}/reassign"
    refused = client.post(url, data={"shopper_id": alice.id})
    assert refused.status_code == 422
    assert "MS-101 visits store E001 in the month before or after." in refused.get_data(True)
    _bulk(client, [january.id], "cancel", month="2027-01")
    r = client.post(url, data={"shopper_id": alice.id}, follow_redirects=True)
    assert r.status_code == 200
    db.session.expire_all()
    assert db.session.get(Visit, february.id).evaluator_id == alice.id
