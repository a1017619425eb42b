"""Shoppers as a managed workforce (issue #20), all of it HQ only unless said otherwise:
report grades, the shopper's profile (home area, standing, payout details), unavailable
dates, pay per visit and payment batches, the certification quiz, and integrity questions
with their correct answers per store and month.

None of these tables is read by a page, PDF, export or API answer a store sees.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, ForeignKey, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import utcnow
from .org import Store
from .user import User
from .visit import Visit

#: Money: two decimals, never float.
Money = Numeric(12, 2)

# reasons a reviewer may give with a grade (labels in ``i18n``/``shoppers.GRADE_REASONS``)
GRADE_REASON_CODES: tuple[str, ...] = (
    "late", "missing_photo", "vague_comments", "inconsistent", "wrong_visit_type",
    "incomplete", "excellent_detail",
)

# standing
ACTIVE, SUSPENDED, BLACKLISTED = "active", "suspended", "blacklisted"
STANDINGS: tuple[str, ...] = (ACTIVE, SUSPENDED, BLACKLISTED)

# pay statuses
PAY_NEW, PAY_APPROVED, PAY_PAID = "new", "approved", "paid"
PAY_STATUSES: tuple[str, ...] = (PAY_NEW, PAY_APPROVED, PAY_PAID)


class ReportGrade(db.Model):
    """HQ's grade of one submitted report (1–10) and the reasons picked from a list."""

    __tablename__ = "report_grades"

    visit_id: Mapped[int] = mapped_column(
        ForeignKey("visits.id", ondelete="CASCADE"), primary_key=True)
    grade: Mapped[int]
    #: codes from ``GRADE_REASON_CODES``
    reasons: Mapped[list] = mapped_column(JSON, default=list)
    graded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    graded_at: Mapped[datetime] = mapped_column(default=utcnow)

    visit: Mapped[Visit] = relationship()


class ShopperProfile(db.Model):
    """What HQ keeps about a shopper beyond the login: home area, standing, payout."""

    __tablename__ = "shopper_profiles"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    home_city: Mapped[str] = mapped_column(String(120), default="")
    home_area: Mapped[str] = mapped_column(String(120), default="")
    standing: Mapped[str] = mapped_column(String(20), default=ACTIVE)
    standing_reason: Mapped[str] = mapped_column(Text, default="")
    #: payout details (bank transfer, Alipay, WeChat Pay, PayPal …)
    payout_method: Mapped[str] = mapped_column(String(40), default="")
    payout_name: Mapped[str] = mapped_column(String(120), default="")
    payout_account: Mapped[str] = mapped_column(String(120), default="")

    user: Mapped[User] = relationship()


class ShopperUnavailable(db.Model):
    """A day the shopper cannot take a visit."""

    __tablename__ = "shopper_unavailable"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)


class PaymentBatch(db.Model):
    """Approved visit pay exported together for payout, then marked paid."""

    __tablename__ = "payment_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    total: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    paid_at: Mapped[datetime | None]
    paid_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    lines: Mapped[list[VisitPay]] = relationship(back_populates="batch",
                                                 order_by="VisitPay.visit_id")


class VisitPay(db.Model):
    """A shopper's pay for one visit. The expense cap is set when the visit is scheduled;
    fee, expenses and amount at release (status ``new``); never for a rejected visit."""

    __tablename__ = "visit_pay"

    visit_id: Mapped[int] = mapped_column(
        ForeignKey("visits.id", ondelete="CASCADE"), primary_key=True)
    expense_cap: Mapped[Decimal | None] = mapped_column(Money)
    fee: Mapped[Decimal | None] = mapped_column(Money)
    expenses: Mapped[Decimal | None] = mapped_column(Money)
    amount: Mapped[Decimal | None] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    #: None until the visit is released; then new → approved → paid
    status: Mapped[str | None] = mapped_column(String(20), index=True)
    #: who is paid (the evaluator at release)
    shopper_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("payment_batches.id"), index=True)
    payable_at: Mapped[datetime | None]

    visit: Mapped[Visit] = relationship()
    shopper: Mapped[User | None] = relationship()
    batch: Mapped[PaymentBatch | None] = relationship(back_populates="lines")


class QuizSetting(db.Model):
    """A questionnaire (by its code, so every version) that needs a passed quiz first."""

    __tablename__ = "quiz_settings"

    questionnaire_code: Mapped[str] = mapped_column(String(40), primary_key=True)
    required: Mapped[bool] = mapped_column(default=False)
    #: share of correct answers needed, in per cent
    pass_mark: Mapped[int] = mapped_column(default=80)


class QuizQuestion(db.Model):
    __tablename__ = "quiz_questions"

    id: Mapped[int] = mapped_column(primary_key=True)
    questionnaire_code: Mapped[str] = mapped_column(String(40), index=True)
    text: Mapped[str] = mapped_column(Text)
    options: Mapped[list] = mapped_column(JSON, default=list)
    #: index into ``options``
    correct: Mapped[int] = mapped_column(default=0)
    position: Mapped[int] = mapped_column(default=0)


class QuizAttempt(db.Model):
    __tablename__ = "quiz_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         index=True)
    questionnaire_code: Mapped[str] = mapped_column(String(40))
    correct: Mapped[int]
    total: Mapped[int]
    passed: Mapped[bool]
    taken_at: Mapped[datetime] = mapped_column(default=utcnow)


class IntegrityQuestion(db.Model):
    """A question whose correct answer HQ records per store and month (the promotion on
    the counter, the badge colour): asked on the shopper form, never scored."""

    __tablename__ = "integrity_questions"

    id: Mapped[int] = mapped_column(primary_key=True)
    questionnaire_code: Mapped[str] = mapped_column(String(40), index=True)
    text: Mapped[str] = mapped_column(Text)
    options: Mapped[list] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(default=True)
    position: Mapped[int] = mapped_column(default=0)


class IntegrityTruth(db.Model):
    __tablename__ = "integrity_truths"
    __table_args__ = (UniqueConstraint("question_id", "store_id", "month",
                                       name="uq_integrity_truths_q_store_month"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(
        ForeignKey("integrity_questions.id", ondelete="CASCADE"))
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    month: Mapped[str] = mapped_column(String(7))
    #: index into the question's options
    correct: Mapped[int]

    store: Mapped[Store] = relationship()


class IntegrityAnswer(db.Model):
    __tablename__ = "integrity_answers"

    visit_id: Mapped[int] = mapped_column(
        ForeignKey("visits.id", ondelete="CASCADE"), primary_key=True)
    question_id: Mapped[int] = mapped_column(
        ForeignKey("integrity_questions.id", ondelete="CASCADE"), primary_key=True)
    #: index into the question's options
    answer: Mapped[int]
    #: None while HQ has not recorded the truth for the store and month
    correct: Mapped[bool | None]
