"""What happens after release: corrective actions and disputes by store managers."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import utcnow
from .visit import Answer, Visit

ACTION_OPEN, ACTION_DONE, ACTION_VERIFIED = "open", "done", "verified"
ACTION_STATUSES = (ACTION_OPEN, ACTION_DONE, ACTION_VERIFIED)

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

    visit: Mapped[Visit] = relationship()
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
