"""Visits (assignments and their results), answers, stored scores and photos.

One row is both the assignment HQ schedules and the audit the evaluator fills in.
Lifecycle: assigned → in_progress → submitted → released (or returned to the shopper
by the reviewer, or rejected by the reviewer: kept for the record, never counted; or
disputed by the manager after release). Scores are computed once by
``auditapp.visits.score_answers`` at submission (and again after an upheld dispute)
and stored, so that aggregation stays in SQL.
"""

from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import (
    JSON,
    ForeignKey,
    Index,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    and_,
    false,
    or_,
    select,
)
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .. import scoring
from ..extensions import db
from .base import utcnow
from .org import CompetitorStore, Store
from .questionnaire import Item, Questionnaire
from .user import User

# kinds
MYSTERY, QA, COMPETITOR = "mystery", "qa", "competitor"
VISIT_KINDS = (MYSTERY, QA, COMPETITOR)

# statuses
ASSIGNED, IN_PROGRESS, SUBMITTED, RETURNED, RELEASED, DISPUTED, REJECTED = (
    "assigned",
    "in_progress",
    "submitted",
    "returned",
    "released",
    "disputed",
    "rejected",
)
#: HQ called the assignment off before anything was sent (kept for the record; its link
#: is dead and it never counts).
CANCELLED = "cancelled"
VISIT_STATUSES = (ASSIGNED, IN_PROGRESS, SUBMITTED, RETURNED, RELEASED, DISPUTED, REJECTED,
                  CANCELLED)
#: Statuses whose score counts: released mystery visits (a dispute keeps it released).
COUNTED_STATUSES = (RELEASED, DISPUTED)
#: Statuses in which the evaluator may still edit the visit (the transitions between the
#: statuses are ``auditapp/visit_states.py``).
EDITABLE_STATUSES = (ASSIGNED, IN_PROGRESS, RETURNED)


class Visit(db.Model):
    __tablename__ = "visits"
    __table_args__ = (
        Index("ix_visits_kind_status_date", "kind", "status", "visit_date"),
        Index("ix_visits_store_date", "store_id", "visit_date"),
        # covering the figures' reads (SCORING.md §6, §10: a month's means and σ's 12-month
        # window): the database answers from the index alone
        Index("ix_visits_figures", "kind", "status", "visit_date", "store_id", "score"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), default=MYSTERY)
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id"), index=True)
    competitor_id: Mapped[int | None] = mapped_column(ForeignKey("competitor_stores.id"))
    #: The shopper (mystery / competitor) or the QA auditor.
    evaluator_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    questionnaire_id: Mapped[int] = mapped_column(ForeignKey("questionnaires.id"), index=True)
    #: Assignment month, ``YYYY-MM``.
    month: Mapped[str] = mapped_column(String(7), index=True)
    visit_type: Mapped[str] = mapped_column(String(20))
    due_date: Mapped[date | None]
    status: Mapped[str] = mapped_column(String(20), default=ASSIGNED, index=True)

    #: Unguessable link token for the shopper, and when it stops working.
    access_token: Mapped[str | None] = mapped_column(String(64), unique=True)
    token_expires_at: Mapped[datetime | None]
    #: Client-generated id of the submission: a retry with the same id is the same visit.
    client_submission_id: Mapped[str | None] = mapped_column(String(64), unique=True)

    # visit facts
    visit_date: Mapped[date | None]
    arrival_time: Mapped[time | None]
    visit_type_confirmed: Mapped[bool | None]
    order_description: Mapped[str] = mapped_column(Text, default="")
    receipt_total: Mapped[float | None]
    overall_comment: Mapped[str] = mapped_column(Text, default="")
    #: Unsubmitted answers as the form last sent them (server-side draft).
    draft: Mapped[dict | None] = mapped_column(JSON)

    # check-in (HQ only: never shown to the store)
    started_at: Mapped[datetime | None]
    checkin_latitude: Mapped[float | None]
    checkin_longitude: Mapped[float | None]
    checkin_distance_m: Mapped[float | None]
    location_flagged: Mapped[bool] = mapped_column(default=False)
    #: An extra visit HQ accepted from a proposal (``proposals.py``), on top of the
    #: store's regular one-a-month rotation.
    extra: Mapped[bool] = mapped_column(default=False, server_default=false())

    # lifecycle
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    submitted_at: Mapped[datetime | None]
    #: Submitted after its due date (accepted; shown to HQ, never to the store).
    submitted_late: Mapped[bool] = mapped_column(default=False, server_default=false())
    released_at: Mapped[datetime | None]
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: Why the reviewer returned the visit, or rejected it (shown to its evaluator).
    return_reason: Mapped[str] = mapped_column(Text, default="")
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    # stored scores (full precision; see scoring.py)
    score: Mapped[float | None]
    csm: Mapped[float | None]
    csm_grade: Mapped[int | None]
    satisfied: Mapped[bool | None]
    scored_at: Mapped[datetime | None]
    #: "Would you come back / recommend this store?", 0–10 (``auditapp.loyalty``): asked
    #: beside the questionnaire, never a scored item, never in the BDI. None: not asked.
    loyalty: Mapped[int | None] = mapped_column(SmallInteger)

    store: Mapped[Store | None] = relationship()
    competitor: Mapped[CompetitorStore | None] = relationship()
    evaluator: Mapped[User | None] = relationship(foreign_keys=[evaluator_id])
    reviewed_by: Mapped[User | None] = relationship(foreign_keys=[reviewed_by_id])
    questionnaire: Mapped[Questionnaire] = relationship()
    answers: Mapped[list[Answer]] = relationship(
        back_populates="visit", cascade="all, delete-orphan"
    )
    dimension_scores: Mapped[list[VisitDimensionScore]] = relationship(
        back_populates="visit", cascade="all, delete-orphan"
    )
    photos: Mapped[list[Photo]] = relationship(
        back_populates="visit", cascade="all, delete-orphan", order_by="Photo.id"
    )

    @property
    def place_name(self) -> str:
        if self.store is not None:
            return self.store.name
        if self.competitor is not None:
            return f"{self.competitor.competitor} · {self.competitor.name}"
        return ""

    @hybrid_property
    def counted(self) -> bool:
        """Released (or disputed after release): the visit's results count in figures,
        exports and reports and its store's manager may see it. On the class, the same
        criterion as SQL (``select(Visit).where(Visit.counted)``)."""
        return self.status in COUNTED_STATUSES

    @counted.inplace.expression
    @classmethod
    def _counted_expression(cls):
        return cls.status.in_(COUNTED_STATUSES)

    def answer_for(self, item_id: int) -> Answer | None:
        return next((a for a in self.answers if a.item_id == item_id), None)

    def __repr__(self) -> str:
        return f"<Visit {self.id} {self.kind} {self.month} {self.status}>"


class Answer(db.Model):
    __tablename__ = "answers"
    __table_args__ = (
        UniqueConstraint("visit_id", "item_id", name="uq_answers_visit_item"),
        # The Insights' item pass (``insights._answer_sums``): every column it reads, in
        # its GROUP BY order, so that SQLite reads the answers item by item from the index
        # alone, without a sort.
        Index("ix_answers_item_pass", "item_id", "na", "voided", "visit_id", "score", "value"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id", ondelete="CASCADE"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    #: yes/no as 1/0, the scale7 level (−90…+90), seconds for timed items, the option's
    #: index for a choice, the number for a number item, the photo count for a photo item.
    value: Mapped[float | None]
    na: Mapped[bool] = mapped_column(default=False)
    comment: Mapped[str] = mapped_column(Text, default="")
    #: The answer of a ``text`` item (its ``value`` stays empty).
    text: Mapped[str] = mapped_column(Text, default="", server_default="")
    #: Item score s (0–100), None for N/A. Set by the scoring service.
    score: Mapped[float | None]
    #: Set when an upheld dispute voided this item: it is then scored as N/A.
    voided: Mapped[bool] = mapped_column(default=False)

    visit: Mapped[Visit] = relationship(back_populates="answers")
    item: Mapped[Item] = relationship()

    @hybrid_property
    def failed(self) -> bool:
        """Failed in the sense of SCORING.md §8 (``scoring.is_failed``): answered, not
        N/A, not voided, and "no", below neutral or at/after the time limit. A "Satisfied
        (+60)" or a time between target and limit is not failed. On the class, the same
        criterion in SQL (``select(Answer).where(Answer.failed)``)."""
        if self.na or self.voided or self.value is None:
            return False
        from ..item_types import of  # the registry imports the models

        item = self.item
        return of(item).failed(item, self.visit.visit_type, self.value)

    @failed.inplace.expression
    @classmethod
    def _failed_expression(cls):
        # Stored scores make this exact: s = 0 for "no" and for t ≥ L (and only then: a
        # time below its limit scores above 0), and a satisfaction level below neutral
        # (x < 0) is its answer's value.
        item_type = (select(Item.item_type).where(Item.id == cls.item_id)
                     .correlate_except(Item).scalar_subquery())
        return and_(
            cls.na.is_(False), cls.voided.is_(False), cls.score.is_not(None),
            or_(cls.score == 0, and_(item_type == scoring.SCALE7, cls.value < 0)),
        )


class VisitDimensionScore(db.Model):
    """S_d of one visit, stored so dashboards can aggregate dimensions in SQL."""

    __tablename__ = "visit_dimension_scores"

    visit_id: Mapped[int] = mapped_column(
        ForeignKey("visits.id", ondelete="CASCADE"), primary_key=True
    )
    dimension: Mapped[str] = mapped_column(String(20), primary_key=True)
    #: None when every item of the dimension was N/A.
    score: Mapped[float | None]
    weight: Mapped[float]

    visit: Mapped[Visit] = relationship(back_populates="dimension_scores")


class Photo(db.Model):
    __tablename__ = "photos"

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id", ondelete="CASCADE"), index=True)
    item_id: Mapped[int | None] = mapped_column(ForeignKey("items.id"))
    #: receipt, food, premises, other
    category: Mapped[str] = mapped_column(String(20), default="other")
    #: Key of the file in ``auditapp.storage`` (random, never the uploaded name).
    storage_key: Mapped[str] = mapped_column(String(200), unique=True)
    thumb_key: Mapped[str | None] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(50), default="image/jpeg")
    width: Mapped[int | None]
    height: Mapped[int | None]
    size_bytes: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    visit: Mapped[Visit] = relationship(back_populates="photos")
