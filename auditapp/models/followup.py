"""What happens after release: corrective actions and disputes by store managers."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import utcnow
from .visit import Answer, Visit

ACTION_OPEN, ACTION_DONE, ACTION_VERIFIED = "open", "done", "verified"
#: Closed by the store's next released visit that answered the same item and passed it.
ACTION_CONFIRMED = "confirmed"
ACTION_STATUSES = (ACTION_OPEN, ACTION_DONE, ACTION_VERIFIED, ACTION_CONFIRMED)
#: Where an action came from: recorded by a manager, opened at release (a failed critical
#: item or a dimension below HQ's threshold, issue #17 item 6), or coaching on a missed
#: complaint-handling step of a scenario shop (SCORING.md §13).
SOURCE_MANUAL, SOURCE_AUTO, SOURCE_SCENARIO = "manual", "auto", "scenario"

DISPUTE_OPEN, DISPUTE_UPHELD, DISPUTE_REJECTED = "open", "upheld", "rejected"
DISPUTE_STATUSES = (DISPUTE_OPEN, DISPUTE_UPHELD, DISPUTE_REJECTED)


class CorrectiveAction(db.Model):
    __tablename__ = "corrective_actions"

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id", ondelete="CASCADE"), index=True)
    answer_id: Mapped[int | None] = mapped_column(ForeignKey("answers.id", ondelete="CASCADE"))
    action: Mapped[str] = mapped_column(Text)
    owner: Mapped[str] = mapped_column(String(120), default="")
    due_date: Mapped[date | None]
    status: Mapped[str] = mapped_column(String(20), default=ACTION_OPEN)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    done_at: Mapped[datetime | None]
    verified_at: Mapped[datetime | None]
    verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    source: Mapped[str] = mapped_column(String(20), default=SOURCE_MANUAL)
    #: An automatic action about a whole dimension below HQ's threshold (no answer).
    dimension: Mapped[str | None] = mapped_column(String(20))
    #: A scenario-shop action: the complaint-handling step (1–5) staff missed.
    scenario_step: Mapped[int | None]
    #: What the manager records to mark an automatic action done.
    root_cause: Mapped[str] = mapped_column(Text, default="")
    done_note: Mapped[str] = mapped_column(Text, default="")
    evidence_key: Mapped[str | None] = mapped_column(String(200))
    #: The store's next released visit that answered the same item: it confirmed the
    #: action (passed) or reopened it (failed again); ``reopened`` counts the latter.
    followup_visit_id: Mapped[int | None] = mapped_column(
        ForeignKey("visits.id", ondelete="SET NULL"))
    reopened: Mapped[int] = mapped_column(default=0)
    closed_at: Mapped[datetime | None]

    visit: Mapped[Visit] = relationship(foreign_keys=[visit_id])
    answer: Mapped[Answer | None] = relationship()


class Dispute(db.Model):
    __tablename__ = "disputes"

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id", ondelete="CASCADE"), index=True)
    answer_id: Mapped[int] = mapped_column(ForeignKey("answers.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(Text)
    #: Storage keys of evidence files the manager attached.
    evidence_keys: Mapped[list | None] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20), default=DISPUTE_OPEN)
    #: When upheld: the corrected value, or None to void the item.
    corrected_value: Mapped[float | None]
    decision_note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    visit: Mapped[Visit] = relationship()
    answer: Mapped[Answer] = relationship()
