"""What HQ keeps to judge whether a visit can be trusted, never shown to a store:
the paradata of how the form was filled in, the metadata a photo carried before it was
stripped, and the soft flags computed at submission (``auditapp/integrity.py``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import utcnow
from .visit import Photo

# paradata kinds: stamped by the server ...
OPENED, CHECKIN, DRAFT, SUBMIT = "opened", "checkin", "draft", "submit"
# ... or sent by the JavaScript form (with the phone's time)
TIMER_START, TIMER_STOP, STEP = "timer_start", "timer_stop", "step"
CLIENT_EVENT_KINDS = (TIMER_START, TIMER_STOP, STEP)
EVENT_KINDS = (OPENED, CHECKIN, DRAFT, SUBMIT, *CLIENT_EVENT_KINDS)


class VisitEvent(db.Model):
    """One step of filling in a visit's form (ODK-style audit log), for HQ only."""

    __tablename__ = "visit_events"
    __table_args__ = (Index("ix_visit_events_visit_kind", "visit_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    #: The timed item a timer event is about.
    item_id: Mapped[int | None] = mapped_column(ForeignKey("items.id"))
    #: When the server received it (UTC) and, for events from the phone, the phone's time.
    server_at: Mapped[datetime] = mapped_column(default=utcnow)
    client_at: Mapped[datetime | None]
    #: Kind-specific values: position and accuracy of a check-in, a stopped timer's seconds,
    #: a step's number and seconds spent on it.
    data: Mapped[dict | None] = mapped_column(JSON)


class PhotoMeta(db.Model):
    """What an uploaded photo said about itself before its metadata was stripped, and its
    perceptual hash (to find the same picture sent for another visit). HQ only."""

    __tablename__ = "photo_meta"

    photo_id: Mapped[int] = mapped_column(
        ForeignKey("photos.id", ondelete="CASCADE"), primary_key=True)
    #: The camera's own clock (EXIF DateTimeOriginal: local time, no zone).
    taken_at: Mapped[datetime | None]
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    camera_make: Mapped[str] = mapped_column(String(100), default="")
    camera_model: Mapped[str] = mapped_column(String(100), default="")
    #: 64-bit perceptual hash as 16 hex digits.
    phash: Mapped[str | None] = mapped_column(String(16), index=True)

    photo: Mapped[Photo] = relationship()


class VisitFlag(db.Model):
    """A soft flag raised on a visit at its submission (code from ``integrity.CHECKS``);
    ``detail`` holds the values its plain-language reason is written from."""

    __tablename__ = "visit_flags"

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id", ondelete="CASCADE"),
                                          index=True)
    code: Mapped[str] = mapped_column(String(40), index=True)
    detail: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
