"""Demo data for the shopper workforce (issue #20), called by ``demo.seed_demo``: home
cities and payout details, graded reports, one lenient shopper (``LENIENT_SHOPPER``: their
visits are filled in with the best answers, see ``demo.py``), pay for the last two months
(the earlier one approved, batched and paid), a certification quiz and an integrity
question with its correct answers for the current month."""

from __future__ import annotations

import random
from decimal import Decimal

from sqlalchemy import select

from . import integrity_questions, payments, shoppers
from .extensions import db
from .models import (
    QuizAttempt,
    QuizQuestion,
    QuizSetting,
    ShopperProfile,
    Store,
    User,
    Visit,
    VisitPay,
)
from .models.shopper import PAY_APPROVED
from .models.visit import MYSTERY, RELEASED

#: Index (in the demo's shopper list) of the shopper who scores too kindly.
LENIENT_SHOPPER = 4
PAYOUT_METHODS = ("Alipay", "WeChat Pay", "Bank transfer")


def seed_workforce(hq: User, shopper_users: list[User], stores: list[Store], ms_code: str,
                   months: list[str], current_month: str, rng: random.Random) -> None:
    cities = sorted({s.city for s in stores})
    for i, shopper in enumerate(shopper_users):
        db.session.add(ShopperProfile(
            user_id=shopper.id, home_city=cities[i % len(cities)], home_area="",
            standing="active", standing_reason="",
            payout_method=PAYOUT_METHODS[i % 3], payout_name=f"Shopper {i + 1}",
            payout_account=f"6222 0000 {1000 + i:04d}"))
    shoppers.set_standing(shopper_users[-1], "suspended",
                          "Two late reports in a row; on hold until a talk with HQ.", hq.id)

    # grades: every released report of the last two months
    reasons = list(shoppers.GRADE_REASONS)
    recent = list(db.session.scalars(select(Visit).where(
        Visit.kind == MYSTERY, Visit.status == RELEASED, Visit.month.in_(months[-2:]))
        .order_by(Visit.id)))
    lenient_id = shopper_users[LENIENT_SHOPPER].id
    for visit in recent:
        if visit.evaluator_id == lenient_id:
            shoppers.grade_report(visit, hq, 6, ["vague_comments"])
        else:
            grade = rng.choice((6, 7, 8, 8, 9, 9, 10))
            picked = [] if grade >= 8 else [rng.choice(reasons[:6])]
            shoppers.grade_report(visit, hq, grade, picked)

    # pay: both months payable; the earlier one approved, batched and paid
    for visit in recent:
        db.session.add(VisitPay(visit_id=visit.id, currency="CNY",
                                expense_cap=Decimal("60.00")))
    db.session.flush()
    for visit in recent:
        payments.on_release(visit, hq.id)
    db.session.flush()
    earlier = [v.id for v in recent if v.month == months[-2]]
    payments.approve(earlier, hq.id)
    batch = payments.create_batch(hq.id)
    payments.mark_paid(batch, hq.id)
    assert all(db.session.get(VisitPay, i).status != PAY_APPROVED for i in earlier)

    # the certification quiz (every shopper but the suspended one has passed it)
    for n, (text, options, correct) in enumerate((
            ("可以告诉店员您是神秘顾客吗？", ["可以，点餐之后", "任何时候都不可以"], 1),
            ("什么时候填写问卷？", ["访店后 24 小时内", "月底"], 0),
            ("需要拍什么照片？", ["小票和餐品", "店员的脸"], 0),
    )):
        db.session.add(QuizQuestion(questionnaire_code=ms_code, text=text, options=options,
                                    correct=correct, position=n))
    db.session.add(QuizSetting(questionnaire_code=ms_code, required=True, pass_mark=100))
    for shopper in shopper_users[:-1]:
        db.session.add(QuizAttempt(user_id=shopper.id, questionnaire_code=ms_code,
                                   correct=3, total=3, passed=True))

    # an integrity question, with the promotion on each store's counter this month
    question = integrity_questions.add_question(
        ms_code, "柜台上摆的是哪项促销？", ["香辣鸡腿堡", "咖啡免费续杯", "没有促销"], hq.id)
    integrity_questions.record_truths(
        current_month, {(question.id, s.id): rng.randrange(3) for s in stores}, hq.id)
