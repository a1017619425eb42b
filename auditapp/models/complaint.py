"""Customer complaint hotline records: they feed the HL component of the BDI."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..scoring import SEVERITIES  # noqa: F401  (minor, major, critical: one tuple, in scoring)
from .base import utcnow
from .org import Store

CHANNELS = ("phone", "email", "app", "social", "in_store", "other")
CATEGORIES = ("speed", "courtesy", "accuracy", "quality", "cleanliness", "other")
#: The seven handling steps, in order.
HANDLING_STEPS = (
    "thank",
    "listen",
    "apologise",
    "gather_facts",
    "propose_solution",
    "follow_up",
    "prevent_recurrence",
)


class Complaint(db.Model):
    __tablename__ = "complaints"
    __table_args__ = (
        Index("ix_complaints_store_received", "store_id", "received_at"),
        # the hotline component of a period's ranking reads complaints by date across stores
        Index("ix_complaints_received", "received_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    #: UTC.
    received_at: Mapped[datetime]
    channel: Mapped[str] = mapped_column(String(20), default="phone")
    severity: Mapped[str] = mapped_column(String(20), default="minor")
    category: Mapped[str] = mapped_column(String(20), default="other")
    description: Mapped[str] = mapped_column(Text, default="")
    #: Handling steps done so far: ``{"thank": "2026-05-01T10:00:00", ...}``.
    steps_done: Mapped[dict | None] = mapped_column(JSON)
    handling_notes: Mapped[str] = mapped_column(Text, default="")
    resolved_at: Mapped[datetime | None]
    #: Seconds from receipt to resolution, kept in step with ``resolved_at`` so SQL can
    #: apply the quick-resolution rule on any database.
    resolution_seconds: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    store: Mapped[Store] = relationship()

    @property
    def resolution_hours(self) -> float | None:
        return None if self.resolution_seconds is None else self.resolution_seconds / 3600


@event.listens_for(Complaint, "before_insert")
@event.listens_for(Complaint, "before_update")
def _sync_resolution_seconds(mapper, connection, complaint: Complaint) -> None:
    if complaint.resolved_at is None or complaint.received_at is None:
        complaint.resolution_seconds = None
    else:
        delta = complaint.resolved_at - complaint.received_at
        complaint.resolution_seconds = max(0, int(delta.total_seconds()))
