"""Notifications: the in-app inbox and the e-mail outbox.

A ``Notification`` is one line in a person's inbox; its text is rendered in the reader's
language when shown (``params`` hold the values). An ``OutboxMessage`` is one e-mail,
rendered in the recipient's language when the event happened and written in the same
transaction as the change, so a message is never lost: the job queue sends it after the
commit and keeps it ``pending`` (with its last error) until a send succeeds or the
attempts run out (``failed``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import utcnow
from .user import User

MAIL_PENDING, MAIL_SENDING, MAIL_SENT, MAIL_FAILED = "pending", "sending", "sent", "failed"
MAIL_STATUSES = (MAIL_PENDING, MAIL_SENDING, MAIL_SENT, MAIL_FAILED)


class Notification(db.Model):
    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         index=True)
    #: The event code (``notifications.EVENTS``).
    event: Mapped[str] = mapped_column(String(40))
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    #: Where to act on it (a path inside the app).
    link: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()


class OutboxMessage(db.Model):
    __tablename__ = "outbox_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    event: Mapped[str] = mapped_column(String(40))
    to_address: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(300))
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default=MAIL_PENDING, index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: When a sender took it (a sender that died leaves it ``sending``: taken again later).
    claimed_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]


class ReminderSent(db.Model):
    """One periodic notice already given (``deadlines.run_periodic``): the unique key makes
    a second run send nothing again. ``stamp`` is what the notice was about (the due date
    it warned of, the time a complaint was received), so a moved due date warns again."""

    __tablename__ = "reminders_sent"
    __table_args__ = (UniqueConstraint("event", "subject_kind", "subject_key", "stamp",
                                       name="uq_reminders_sent_event"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event: Mapped[str] = mapped_column(String(40))
    subject_kind: Mapped[str] = mapped_column(String(20))
    subject_key: Mapped[str] = mapped_column(String(40))
    stamp: Mapped[str] = mapped_column(String(40), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class NotificationPreference(db.Model):
    """A user's choice for one optional event: by e-mail, in the inbox (no row: both)."""

    __tablename__ = "notification_preferences"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         primary_key=True)
    event: Mapped[str] = mapped_column(String(40), primary_key=True)
    email: Mapped[bool] = mapped_column(default=True)
    inbox: Mapped[bool] = mapped_column(default=True)
