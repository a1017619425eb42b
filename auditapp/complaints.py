"""The complaint hotline's rules: when a complaint is overdue, the store's local time of
receipt and resolution (stored as UTC), and recording, handling and resolving one with
its audit rows. Complaints feed the HL component of the BDI (SCORING.md §6). Nothing
here commits (see ``auditapp/__init__.py``)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy import and_, case, select
from sqlalchemy.orm import selectinload
from sqlalchemy.sql import ColumnElement

from . import notifications
from .analytics import Period
from .audit import log_change
from .extensions import db
from .models import Complaint, Store, utcnow
from .models.complaint import HANDLING_STEPS
from .months import MonthClosedError, ensure_open
from .settings import get_setting, scoring_config, versions

#: A time of receipt or resolution may be this far ahead of the server's clock.
CLOCK_SKEW = timedelta(minutes=5)


class ComplaintError(ValueError):
    """A change the complaint does not allow; the message is for the user."""


def _ensure_open(local: datetime, message: str) -> None:
    try:
        ensure_open(local)
    except MonthClosedError:
        raise ComplaintError(message) from None


def overdue_hours(month: object = None) -> float:
    """Hours after receipt when an open complaint is overdue: the setting in force for
    ``month`` (the complaint's month, store time; None: the newest version)."""
    return float(get_setting("complaints", month).get("overdue_hours", 48))


def overdue_clause(now: datetime | None = None) -> ColumnElement:
    """SQL: the complaint is open and overdue, each by the setting in force for its own
    month (``received_on``, store time): one CASE over the setting's versions."""
    now = now or utcnow()
    starts = sorted({v.effective_from for v in versions("complaints")}, reverse=True)
    limits = [
        (Complaint.received_on >= date.fromisoformat(f"{start}-01"),
         now - timedelta(hours=overdue_hours(start)))
        for start in starts
    ]
    before = now - timedelta(hours=overdue_hours("1900-01"))
    limit = case(*limits, else_=before) if limits else before
    return and_(Complaint.resolved_at.is_(None), Complaint.received_at < limit)


def to_utc(local: datetime, tz: str) -> datetime:
    """A naive local time in the zone ``tz`` as naive UTC."""
    aware = local.replace(tzinfo=ZoneInfo(tz))
    return aware.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)


def to_local(utc: datetime, tz: str) -> datetime:
    return utc.replace(tzinfo=ZoneInfo("UTC")).astimezone(ZoneInfo(tz)).replace(tzinfo=None)


def overdue_limit(now: datetime | None = None, month: object = None) -> datetime:
    """Complaints of ``month`` received before this (UTC) and still open are overdue."""
    return (now or utcnow()) - timedelta(hours=overdue_hours(month))


def is_overdue(complaint: Complaint, now: datetime | None = None) -> bool:
    """Open past the overdue hours in force for the complaint's month (store time)."""
    month = complaint.received_on or (complaint.received_at and complaint.received_at.date())
    return complaint.resolved_at is None and complaint.received_at < overdue_limit(now, month)


def in_the_future(utc: datetime) -> bool:
    """Whether a time (naive UTC) lies ahead of now, beyond the allowed clock skew."""
    return utc > utcnow() + CLOCK_SKEW


def search(*, store_id: int | None = None, period: Period | None = None, status: str = "",
           overdue_before: datetime | None = None, limit: int = 500,
           now: datetime | None = None) -> list[Complaint]:
    """The newest complaints first, of one store, received in ``period``, and ``open``,
    ``resolved`` or ``overdue`` (open and received before ``overdue_before``, by default
    overdue at ``now`` by the setting of each complaint's month: ``overdue_clause``)."""
    query = (
        select(Complaint)
        .options(selectinload(Complaint.store))
        .order_by(Complaint.received_at.desc(), Complaint.id.desc())
    )
    if store_id:
        query = query.where(Complaint.store_id == store_id)
    if period is not None:
        query = query.where(period.includes(Complaint.received_on))  # store's local month
    if status == "open":
        query = query.where(Complaint.resolved_at.is_(None))
    elif status == "resolved":
        query = query.where(Complaint.resolved_at.is_not(None))
    elif status == "overdue":
        query = query.where(
            and_(Complaint.resolved_at.is_(None), Complaint.received_at < overdue_before)
            if overdue_before is not None else overdue_clause(now))
    return list(db.session.scalars(query.limit(limit)))


def _state(c: Complaint) -> dict:
    return {
        "severity": c.severity,
        "steps_done": dict(c.steps_done or {}),
        "handling_notes": c.handling_notes,
        "resolved_at": c.resolved_at.isoformat() if c.resolved_at else None,
    }


def record(store: Store, received_at: datetime, *, channel: str, severity: str,
           category: str, description: str, user_id: int | None) -> Complaint:
    """Log a new complaint about ``store`` received at ``received_at`` (naive UTC).
    Refused (``ComplaintError``) when its month (store time) is closed."""
    local = to_local(received_at, store.timezone)
    _ensure_open(local, _("Complaints received in %(month)s can no longer be recorded: the "
                          "month is closed and its figures are final.",
                          month=f"{local:%Y-%m}"))
    complaint = Complaint(
        store_id=store.id,
        received_at=received_at,
        channel=channel,
        severity=severity,
        category=category,
        description=description.strip(),
        steps_done={},
        created_by_id=user_id,
    )
    db.session.add(complaint)
    db.session.flush()
    log_change("complaint", complaint.id, "create", user_id, None,
               {**_state(complaint), "store_id": store.id,
                "received_at": complaint.received_at.isoformat()})
    notifications.notify(notifications.COMPLAINT_RECORDED, complaint)
    return complaint


def save_handling(complaint: Complaint, ticked: set[str], notes: str,
                  user_id: int | None) -> None:
    """Tick handling steps (each remembers when it was first ticked) and save notes."""
    before = _state(complaint)
    ticked = ticked & set(HANDLING_STEPS)
    old = dict(complaint.steps_done or {})
    now = utcnow().isoformat(timespec="seconds")
    complaint.steps_done = {s: old.get(s, now) for s in HANDLING_STEPS if s in ticked}
    complaint.handling_notes = notes.strip()
    log_change("complaint", complaint.id, "handling", user_id, before, _state(complaint))


def resolve(complaint: Complaint, resolved_at: datetime | None, user_id: int | None) -> None:
    """Mark the complaint resolved at ``resolved_at`` (naive UTC; None: now). Refused
    (``ComplaintError``) before its receipt or in the future."""
    now = utcnow()
    resolved = resolved_at or now
    if resolved < complaint.received_at:
        raise ComplaintError(_("A complaint cannot be resolved before it was received."))
    if resolved > now + CLOCK_SKEW:
        raise ComplaintError(_("The time of resolution cannot be in the future."))
    month = to_local(complaint.received_at, complaint.store.timezone)
    quick_hours = scoring_config(month).quick_resolution_hours
    if resolved - complaint.received_at <= timedelta(hours=quick_hours):
        # a quick resolution halves the deduction: not in a closed month
        _ensure_open(month, _("This complaint's month (%(month)s) is closed: it can only be "
                              "resolved more than %(hours)s hours after its receipt, which "
                              "leaves the month's figures unchanged.",
                              month=f"{month:%Y-%m}", hours=f"{quick_hours:g}"))
    before = _state(complaint)
    complaint.resolved_at = resolved
    log_change("complaint", complaint.id, "resolve", user_id, before, _state(complaint))
