"""Customer complaint hotline records: they feed the HL component of the BDI."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import JSON, ForeignKey, Index, String, Text, event, select
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
    #: The day of receipt in the store's local time zone: the complaint counts in this
    #: day's month (SCORING.md §7a). Kept in step with ``received_at``.
    received_on: Mapped[date] = mapped_column(index=True)
    channel: Mapped[str] = mapped_column(String(20), default="phone")
    severity: Mapped[str] = mapped_column(String(20), default="minor")
    category: Mapped[str] = mapped_column(String(20), default="other")
    description: Mapped[str] = mapped_column(Text, default="")
    #: Handling steps done so far: ``{"thank": "2026-05-01T10:00:00", ...}``.
    steps_done: Mapped[dict | None] = mapped_column(JSON)
    handling_notes: Mapped[str] = mapped_column(Text, default="")
    resolved_at: Mapped[datetime | None]
    #: Seconds from receipt to resolution (to the microsecond, never truncated), kept in
    #: step with ``resolved_at`` so SQL can apply the quick-resolution rule on any database.
    resolution_seconds: Mapped[float | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    store: Mapped[Store] = relationship()

    @property
    def resolution_hours(self) -> float | None:
        return None if self.resolution_seconds is None else self.resolution_seconds / 3600


def local_date(utc: datetime, timezone: str) -> date:
    """The day a naive UTC time falls on in the time zone ``timezone``."""
    return utc.replace(tzinfo=ZoneInfo("UTC")).astimezone(ZoneInfo(timezone)).date()


def resolution_seconds(received_at: datetime, resolved_at: datetime | None) -> float | None:
    """The full duration from receipt to resolution in seconds (microseconds included)."""
    if resolved_at is None:
        return None
    return max(0.0, (resolved_at - received_at).total_seconds())


@event.listens_for(Complaint, "before_insert")
@event.listens_for(Complaint, "before_update")
def _sync_derived_columns(mapper, connection, complaint: Complaint) -> None:
    if complaint.received_at is None:
        complaint.resolution_seconds = None
        return
    complaint.resolution_seconds = resolution_seconds(complaint.received_at,
                                                      complaint.resolved_at)
    store = complaint.__dict__.get("store")  # loaded with the complaint, else ask
    timezone = store.timezone if store is not None else connection.scalar(
        select(Store.timezone).where(Store.id == complaint.store_id)
    )
    complaint.received_on = local_date(complaint.received_at, timezone or "Asia/Shanghai")
