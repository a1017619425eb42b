"""Shoppers as a managed workforce (issue #20): grades, leniency (SCORING.md §12), the
shoppers list and profile, standing, availability, the certification quiz and the
scheduler's workforce rules."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from auditapp import scheduling, shoppers
from auditapp.analytics import Period
from auditapp.extensions import db
from auditapp.models import (
    AuditLog,
    QuizAttempt,
    QuizQuestion,
    QuizSetting,
    ReportGrade,
    ShopperProfile,
    Visit,
)
from auditapp.models.visit import RELEASED, SUBMITTED

from .factories import make_visit


def _scored(chain, store, shopper, score, when=date(2026, 5, 10)):
    visit = make_visit(chain, store, shopper=shopper, visit_date=when)
    visit.score = score
    db.session.commit()
    return visit


@pytest.fixture
def lenient_example(chain):
    """The hand-computed example (SCORING.md §12), window 2025-06 … 2026-05:

    E001: A 90, 80; B 70; C 60.  E002: A 100; B 80 (and A 0 in 2025-05: outside).
    N001: A 50 alone (left out).  N002: A 75; B 75.

    A: E001 others (70+60)/2 = 65 → +25, +15; E002 others 80 → +20; N002 others 75 → 0;
       leniency = 60/4 = +15.0, n = 4.
    B: E001 others (90+80+60)/3 = 76.667 → −6.667; E002 others 100 → −20; N002 → 0;
       leniency = −26.667/3 = −8.889, n = 3.
    C: E001 others (90+80+70)/3 = 80 → −20; n = 1.
    """
    a, b, c = chain.shoppers
    e1, e2, n1, n2 = chain.stores
    for store, shopper, score in [(e1, a, 90), (e1, a, 80), (e1, b, 70), (e1, c, 60),
                                  (e2, a, 100), (e2, b, 80), (n1, a, 50), (n2, a, 75),
                                  (n2, b, 75)]:
        _scored(chain, store, shopper, score, date(2026, 3, 5))
    _scored(chain, e2, a, 0, date(2025, 5, 20))  # 12 months back is 2025-06: left out
    return a, b, c


def test_leniency_matches_the_hand_computed_example(lenient_example):
    a, b, c = lenient_example
    result = shoppers.leniency(Period.month("2026-05"))
    assert result[a.id].n == 4 and result[a.id].value == pytest.approx(15.0)
    assert result[b.id].n == 3 and result[b.id].value == pytest.approx(-80 / 9)
    assert result[c.id].n == 1 and result[c.id].value == pytest.approx(-20.0)
    # a year later none of these visits is in the window
    assert shoppers.leniency(Period.month("2027-04")) == {}


def test_leniency_flags_need_six_visits_and_ten_points():
    assert shoppers.leniency_flag(15.0, 5) is None
    assert shoppers.leniency_flag(10.0, 6) == shoppers.LENIENT
    assert shoppers.leniency_flag(9.99, 6) is None
    assert shoppers.leniency_flag(-10.0, 6) == shoppers.HARSH
    assert shoppers.leniency_flag(None, 20) is None


def test_a_lenient_shopper_is_flagged_on_the_list(client, auth, chain):
    a, b, _c = chain.shoppers
    for n in range(6):  # A gives 90 where B gives 70, in six stores' months
        store = chain.stores[n % 4]
        _scored(chain, store, a, 90, date(2026, 1 + n, 3))
        _scored(chain, store, b, 70, date(2026, 1 + n, 4))
    auth.login("hq@example.com")
    html = client.get("/hq/shoppers?month=2026-06&sort=leniency&dir=desc").get_data(as_text=True)
    assert "+20.0" in html and "(6)" in html and "Lenient" in html and "Harsh" in html
    assert html.index("MS-101") < html.index("MS-102")  # most lenient first


def test_shoppers_list_and_profile_show_the_figures(client, auth, lenient_example, chain):
    a, _b, _c = lenient_example
    auth.login("hq@example.com")
    html = client.get("/hq/shoppers?month=2026-05").get_data(as_text=True)
    assert "+15.0" in html and "(4)" in html and "-8.9" in html
    visit = db.session.scalars(select(Visit).where(Visit.evaluator_id == a.id)).first()
    shoppers.grade_report(visit, chain.hq, 4, ["late"])
    db.session.commit()
    html = client.get(f"/hq/shoppers/{a.id}?month=2026-05").get_data(as_text=True)
    assert "4.0" in html and "Late" in html and "+15.0 (4)" in html
    # sorting by grade: the graded shopper first, the ungraded after
    html = client.get("/hq/shoppers?month=2026-05&sort=avg_grade&dir=desc").get_data(
        as_text=True)
    assert html.index(">MS-101<") < html.index(">MS-102<")
    assert client.get("/hq/shoppers?sort=nonsense").status_code == 200


def test_hq_grades_a_report_with_reasons_and_it_is_audited(client, auth, chain):
    visit = make_visit(chain, chain.stores[0], status=SUBMITTED)
    auth.login("hq@example.com")
    page = client.get(f"/hq/visits/{visit.id}").get_data(as_text=True)
    assert "Report grade" in page and "Missing photo" in page
    r = client.post(f"/hq/visits/{visit.id}/grade",
                    data={"grade": "6", "reasons": ["late", "missing_photo"]})
    assert r.status_code == 303
    grade = db.session.get(ReportGrade, visit.id)
    assert (grade.grade, grade.reasons) == (6, ["late", "missing_photo"])
    client.post(f"/hq/visits/{visit.id}/grade", data={"grade": "8"})
    db.session.expire_all()
    assert db.session.get(ReportGrade, visit.id).grade == 8
    log = db.session.scalars(select(AuditLog).where(AuditLog.entity == "report_grade")
                             .order_by(AuditLog.id)).all()
    assert [e.after["grade"] for e in log] == [6, 8] and log[1].before["grade"] == 6
    # out of range, unknown reason: refused
    for data in ({"grade": "11"}, {"grade": "0"}, {"grade": "5", "reasons": "bribe"}):
        client.post(f"/hq/visits/{visit.id}/grade", data=data)
    db.session.expire_all()
    assert db.session.get(ReportGrade, visit.id).grade == 8
    # an assignment not yet submitted cannot be graded
    open_visit = make_visit(chain, chain.stores[1], status="assigned")
    client.post(f"/hq/visits/{open_visit.id}/grade", data={"grade": "5"})
    assert db.session.get(ReportGrade, open_visit.id) is None


def test_managers_and_shoppers_cannot_grade_or_see_shoppers(client, auth, chain):
    visit = make_visit(chain, chain.stores[0], status=SUBMITTED)
    for who in ("m.e001@example.com", "MS-101"):
        auth.login(who)
        assert client.post(f"/hq/visits/{visit.id}/grade", data={"grade": "5"}).status_code == 403
        assert client.get("/hq/shoppers").status_code == 403
        assert client.get(f"/hq/shoppers/{chain.shoppers[0].id}").status_code == 403
        auth.logout()
    assert db.session.get(ReportGrade, visit.id) is None


# --- standing, availability, quiz and the scheduler --------------------------------------------


def _planned(month: str) -> dict[str, str]:
    plan = scheduling.plan_month(month)
    return {p.store.code: p.shopper.username for p in plan.planned}


def test_suspended_and_blacklisted_shoppers_are_never_scheduled(client, auth, chain):
    a, b, c = chain.shoppers
    auth.login("hq@example.com")
    # a reason is required
    client.post(f"/hq/shoppers/{a.id}/standing", data={"standing": "suspended"})
    assert db.session.get(ShopperProfile, a.id) is None
    client.post(f"/hq/shoppers/{a.id}/standing",
                data={"standing": "suspended", "reason": "Late three times"})
    client.post(f"/hq/shoppers/{b.id}/standing",
                data={"standing": "blacklisted", "reason": "Fabricated a visit"})
    assert set(_planned("2027-01").values()) == {"MS-103"}
    # reassigning to a suspended shopper is refused with the reason
    visit = make_visit(chain, chain.stores[0], status="assigned", shopper=c)
    with pytest.raises(scheduling.SchedulingError, match="suspended"):
        scheduling.reassign(visit, a)
    html = client.get(f"/hq/shoppers/{a.id}").get_data(as_text=True)
    assert "Late three times" in html and "Suspended" in html
    assert db.session.scalars(select(AuditLog).where(
        AuditLog.entity == "shopper_profile", AuditLog.action == "standing")).all()
    client.post(f"/hq/shoppers/{a.id}/standing", data={"standing": "active"})
    assert "MS-101" in _planned("2027-01").values()


def test_unavailable_for_the_whole_month_means_not_scheduled(client, auth, chain):
    auth.login("MS-101")
    r = client.post("/shopper/profile", data={"action": "unavailable", "first": "2027-01-01",
                                              "last": "2027-01-31"})
    assert r.status_code == 303
    assert len(shoppers.unavailable_days(chain.shoppers[0].id)) == 31
    assert "MS-101" not in _planned("2027-01").values()
    assert "MS-101" in _planned("2027-02").values()
    # one day free again: the visit can be made that day
    client.post("/shopper/profile", data={"action": "available", "day": "2027-01-15"})
    assert "MS-101" in _planned("2027-01").values()


def test_scheduler_prefers_nearby_then_well_graded_shoppers(client, auth, chain):
    e001, e002 = chain.stores[0], chain.stores[1]
    e002.city = "Hangzhou"
    db.session.commit()
    assert _planned("2027-01")["E002"] == "MS-102"  # load, then pseudonym
    auth.login("MS-103")
    client.post("/shopper/profile", data={"action": "profile", "home_city": "hangzhou "})
    assert _planned("2027-01")["E002"] == "MS-103"  # the nearby shopper
    # well graded: MS-102's reports are graded 9, MS-101's 3 → MS-102 gets the first store
    for shopper, grade in ((chain.shoppers[0], 3), (chain.shoppers[1], 9)):
        visit = make_visit(chain, e001, shopper=shopper, visit_date=date(2025, 1, 5))
        shoppers.grade_report(visit, chain.hq, grade, [])
    db.session.commit()
    assert _planned("2027-01")["E001"] == "MS-102"


def test_quiz_gates_the_scheduler_until_the_shopper_passes(client, auth, chain):
    code = chain.ms_q.code
    auth.login("hq@example.com")
    # a quiz without questions cannot be required
    client.post(f"/hq/questionnaires/{code}/quiz",
                data={"action": "settings", "required": "1", "pass_mark": "100"})
    assert db.session.get(QuizSetting, code) is None
    for text, options, correct in (("Do you tell the staff?", "Yes\nNever", "2"),
                                   ("Keep the receipt?", "Yes\nNo\nMaybe", "1")):
        client.post(f"/hq/questionnaires/{code}/quiz",
                    data={"action": "add", "text": text, "options": options,
                          "correct": correct})
    client.post(f"/hq/questionnaires/{code}/quiz",
                data={"action": "settings", "required": "1", "pass_mark": "100"})
    assert db.session.get(QuizSetting, code).required
    plan = scheduling.plan_month("2027-01")
    assert not plan.planned
    assert "has not passed the certification quiz" in plan.unscheduled[0].reason
    auth.logout()

    auth.login("MS-102")
    assert f"/shopper/quiz/{code}" in client.get("/shopper/").get_data(as_text=True)
    never, yes = db.session.scalars(select(QuizQuestion).order_by(QuizQuestion.id)).all()
    client.post(f"/shopper/quiz/{code}", data={f"q-{never.id}": "0", f"q-{yes.id}": "0"})
    assert _planned("2027-01") == {}  # 1 of 2: not passed
    client.post(f"/shopper/quiz/{code}", data={f"q-{never.id}": "1", f"q-{yes.id}": "0"})
    attempts = db.session.scalars(select(QuizAttempt).order_by(QuizAttempt.id)).all()
    assert [(t.correct, t.passed) for t in attempts] == [(1, False), (2, True)]
    assert set(_planned("2027-01").values()) == {"MS-102"}
    assert f"/shopper/quiz/{code}" not in client.get("/shopper/").get_data(as_text=True)


def test_released_visit_counts_in_the_profile(client, auth, chain):
    visit = make_visit(chain, chain.stores[0], status=SUBMITTED)
    visit.due_date = date(2026, 5, 31)
    db.session.commit()
    auth.login("hq@example.com")
    client.post(f"/hq/visits/{visit.id}/return", data={"reason": "Add the receipt photo"})
    db.session.get(Visit, visit.id).status = SUBMITTED
    db.session.commit()
    client.post(f"/hq/visits/{visit.id}/release")
    assert db.session.get(Visit, visit.id).status == RELEASED
    f = shoppers.figures(Period.month("2026-05"), [chain.shoppers[0].id])[0]
    assert f.returns == 1 and f.by_status == {RELEASED: 1} and f.on_time == 1.0


def test_demo_has_graded_reports_a_lenient_shopper_and_a_paid_batch(runner, app):
    from auditapp import analytics
    from auditapp.models import PaymentBatch, VisitPay

    assert runner.invoke(args=["seed-demo", "--last-month", "2026-10"]).exit_code == 0
    figures = {f.user.username: f for f in shoppers.figures(Period.month("2026-10"))}
    assert [c for c, f in figures.items() if "lenient" in f.flags] == ["MS-005"]
    assert figures["MS-012"].standing == "suspended"
    assert sum(f.graded for f in figures.values()) >= 50
    batch = db.session.scalars(select(PaymentBatch)).one()
    assert batch.paid_at is not None
    assert batch.total == sum(line.amount for line in batch.lines)
    assert {line.status for line in batch.lines} == {"paid"}
    assert db.session.scalars(select(VisitPay).where(VisitPay.status == "new")).first()
    assert analytics.latest_month()


def test_reassign_page_says_who_is_suspended_or_not_certified(client, auth, chain):
    a, b, c = chain.shoppers
    visit = make_visit(chain, chain.stores[0], status="assigned", shopper=a)
    shoppers.set_standing(b, "suspended", "Late twice", chain.hq.id)
    db.session.add_all([QuizSetting(questionnaire_code=chain.ms_q.code, required=True,
                                    pass_mark=50),
                        QuizAttempt(user_id=b.id, questionnaire_code=chain.ms_q.code,
                                    correct=1, total=1, passed=True)])
    db.session.commit()
    auth.login("hq@example.com")
    html = client.get(f"/hq/scheduling/visits/{visit.id}/reassign").get_data(as_text=True)
    assert "MS-102 is suspended." in html
    assert "MS-103 has not passed the certification quiz." in html
    r = client.post(f"/hq/scheduling/visits/{visit.id}/reassign", data={"shopper_id": c.id})
    assert r.status_code == 422
    assert db.session.get(Visit, visit.id).evaluator_id == a.id
