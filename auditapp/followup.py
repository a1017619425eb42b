"""After release: corrective actions, disputes and acknowledgements (issue #5).

The views in ``manager/routes.py``, ``hq/disputes.py`` and ``hq/actions.py`` call these
functions; they hold the rules (who may do what, when) and write the audit trail. None of
them commits: the caller does, so a failed step leaves nothing half-done.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from PIL import Image
from sqlalchemy import func, select

from . import item_types, notifications, photos, scoring, storage, visit_states
from .audit import log_change
from .extensions import db
from .i18n import local_dt
from .models import Answer, CorrectiveAction, Dispute, Region, Store, User, Visit, utcnow
from .models.followup import (
    ACTION_DONE,
    ACTION_OPEN,
    ACTION_VERIFIED,
    DISPUTE_OPEN,
    DISPUTE_REJECTED,
    DISPUTE_UPHELD,
    SOURCE_AUTO,
)
from .models.visit import MYSTERY
from .permissions import can_acknowledge, can_follow_up
from .settings import get_setting
from .visits import score_and_store

#: Evidence images: what Pillow must recognise, and the file suffix / type we serve.
EVIDENCE_FORMATS = {"JPEG": (".jpg", "image/jpeg"), "PNG": (".png", "image/png"),
                    "WEBP": (".webp", "image/webp")}
DEFAULT_MAX_EVIDENCE_BYTES = 5 * 1024 * 1024
#: Evidence is stored no larger than this (longest side, pixels).
EVIDENCE_MAX_SIDE = 2400


class FollowupError(ValueError):
    """A request the rules refuse; the message (translated) says why. ``field`` names the
    form field the message belongs next to (None: about the whole request)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


# --- disputes ------------------------------------------------------------------------------


def dispute_window_days(month: object = None) -> int:
    """Days after release a visit may be disputed: the setting in force for ``month`` (the
    visit's month; None: the newest version)."""
    try:
        return max(0, int(get_setting("disputes", month).get("window_days", 7)))
    except (TypeError, ValueError):
        return 7


def dispute_deadline(visit: Visit) -> datetime | None:
    """The moment (naive UTC) after which the visit can no longer be disputed."""
    if visit.released_at is None:
        return None
    return visit.released_at + timedelta(days=dispute_window_days(_visit_month(visit)))


def _visit_month(visit: Visit) -> str | None:
    """The month a visit's figures belong to: its visit date's, else its assignment's."""
    return f"{visit.visit_date:%Y-%m}" if visit.visit_date else visit.month


def dispute_window_open(visit: Visit, now: datetime | None = None) -> bool:
    deadline = dispute_deadline(visit)
    return (
        deadline is not None
        and visit.counted
        and (now or utcnow()) <= deadline
    )


def open_dispute_for(answer: Answer) -> Dispute | None:
    return db.session.scalar(
        select(Dispute).where(Dispute.answer_id == answer.id, Dispute.status == DISPUTE_OPEN)
    )


def max_evidence_bytes() -> int:
    return int(current_app.config.get("MAX_EVIDENCE_BYTES", DEFAULT_MAX_EVIDENCE_BYTES))


def save_evidence(data: bytes) -> str:
    """Check that ``data`` is a real, reasonably sized JPEG/PNG/WebP image and store it;
    returns its storage key."""
    limit = max_evidence_bytes()
    if len(data) > limit:
        raise FollowupError(
            _("The image is too large (%(size)s MB); the limit is %(limit)s MB.",
              size=f"{len(data) / 1048576:.1f}", limit=f"{limit / 1048576:.0f}"),
            "evidence",
        )
    if not data:
        raise FollowupError(_("The file is empty."), "evidence")
    try:
        # Dimensions checked from the header before decoding; pixels only (no metadata).
        image, fmt = photos.open_image(data, EVIDENCE_FORMATS, EVIDENCE_MAX_SIDE)
    except photos.PhotoError as exc:
        message = str(exc)
        if message == photos.not_image_message():
            message = _("This file is not an image we can read (use JPEG, PNG or WebP).")
        raise FollowupError(message, "evidence") from None
    return storage.save(storage.new_key("evidence", EVIDENCE_FORMATS[fmt][0]),
                        _reencode(image, fmt))


def _reencode(image: Image.Image, fmt: str) -> bytes:
    """The image's pixels only, saved afresh: no metadata (GPS, device, names), and nothing
    a polyglot file hides after or around the image (HTML, scripts)."""
    image.thumbnail((EVIDENCE_MAX_SIDE, EVIDENCE_MAX_SIDE), Image.Resampling.LANCZOS)
    if fmt == "JPEG" and image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    out = io.BytesIO()
    photos.pixels_only(image).save(
        out, fmt, **({"quality": 90} if fmt in ("JPEG", "WEBP") else {}))
    return out.getvalue()


def evidence_mimetype(key: str) -> str:
    for suffix, mimetype in EVIDENCE_FORMATS.values():
        if key.endswith(suffix):
            return mimetype
    return "application/octet-stream"


def evidence_response(dispute: Dispute, n: int):
    """The n-th evidence file of a dispute (access already checked by the caller)."""
    from flask import abort

    keys = dispute.evidence_keys or []
    if not 0 <= n < len(keys):
        abort(404)
    return storage.send(keys[n], evidence_mimetype(keys[n]))


def _visit_state(visit: Visit) -> dict:
    return {"status": visit.status, "score": visit.score}


def _answer_state(answer: Answer) -> dict:
    return {"value": answer.value, "voided": answer.voided, "score": answer.score}


def file_dispute(
    visit: Visit,
    answer: Answer,
    reason: str,
    user: User,
    evidence: bytes | None = None,
    now: datetime | None = None,
) -> Dispute:
    """A manager disputes one item of a released visit of their store, within the window.
    The visit becomes ``disputed`` while any of its disputes is open."""
    visit = visit_states.lock(visit.id)  # the same object, refreshed
    if not can_follow_up(user, visit) or not visit_states.allows(visit, visit_states.DISPUTE):
        raise FollowupError(_("You cannot dispute this visit."))
    try:
        visit_states.move(visit, visit_states.DISPUTE)  # refused once the month is closed
    except visit_states.TransitionError as error:
        raise FollowupError(str(error)) from None
    if answer.visit_id != visit.id:
        raise FollowupError(_("This item is not part of the visit."))
    if not dispute_window_open(visit, now):
        deadline = dispute_deadline(visit)
        raise FollowupError(
            _("The dispute window for this visit closed on %(date)s (%(days)s days after "
              "the results were released). Disputes can no longer be filed.",
              date=local_dt(deadline, visit.store.timezone if visit.store else None,
                            "yyyy-MM-dd HH:mm"),
              days=dispute_window_days(_visit_month(visit)))
        )
    if answer.voided:
        raise FollowupError(_("This item has already been voided."))
    if open_dispute_for(answer) is not None:
        raise FollowupError(_("This item already has an open dispute."))
    reason = (reason or "").strip()
    if len(reason) < 10:
        raise FollowupError(_("Explain the reason in at least 10 characters."), "reason")
    keys = [save_evidence(evidence)] if evidence else []
    dispute = Dispute(
        visit=visit, answer=answer, reason=reason, evidence_keys=keys,
        status=DISPUTE_OPEN, created_by_id=user.id,
    )
    db.session.add(dispute)
    db.session.flush()
    log_change("dispute", dispute.id, "file", user.id, None,
               {"answer_id": answer.id, "reason": reason, "evidence": len(keys)})
    status = visit_states.move(visit, visit_states.DISPUTE)
    if visit.status != status:
        before = _visit_state(visit)
        visit.status = status
        log_change("visit", visit.id, "disputed", user.id, before, _visit_state(visit))
    return dispute


def decide_dispute(
    dispute: Dispute,
    upheld: bool,
    note: str,
    user: User,
    corrected_value: float | None = None,
) -> Dispute:
    """HQ upholds or rejects an open dispute. Upheld: the item takes ``corrected_value``,
    or is voided when none is given, and the visit is re-scored. Every change goes to the
    audit trail. When no dispute of the visit stays open, the visit is ``released`` again."""
    visit_states.lock(dispute.visit_id)  # one decision (or filing) of the visit at a time
    db.session.refresh(dispute)
    if dispute.status != DISPUTE_OPEN:
        raise FollowupError(_("This dispute has already been decided."))
    note = (note or "").strip()
    if not note:
        raise FollowupError(_("Write a note explaining the decision."), "note")
    visit, answer = dispute.visit, dispute.answer
    try:
        visit_states.move(visit, visit_states.DECIDE_DISPUTE)  # refused once closed
    except visit_states.TransitionError as error:
        raise FollowupError(str(error)) from None
    visit_before, answer_before = _visit_state(visit), _answer_state(answer)
    if upheld:
        if corrected_value is not None:
            item = answer.item
            try:
                item_types.of(item).score(item, visit.visit_type, corrected_value)
            except scoring.ScoringError as error:
                raise FollowupError(
                    _("The corrected value is not valid for this item: %(why)s", why=str(error)),
                    "corrected_value",
                ) from None
            answer.value = float(corrected_value)
            answer.na = False
            answer.voided = False
        else:
            answer.voided = True
        score_and_store(visit)
    dispute.status = DISPUTE_UPHELD if upheld else DISPUTE_REJECTED
    dispute.corrected_value = corrected_value if upheld else None
    dispute.decision_note = note
    dispute.decided_at = utcnow()
    dispute.decided_by_id = user.id
    db.session.flush()
    still_open = db.session.scalar(
        select(func.count(Dispute.id)).where(
            Dispute.visit_id == visit.id, Dispute.status == DISPUTE_OPEN
        )
    )
    if not still_open and visit_states.allows(visit, visit_states.SETTLE):
        visit.status = visit_states.move(visit, visit_states.SETTLE)
    log_change(
        "dispute", dispute.id, "uphold" if upheld else "reject", user.id,
        {"answer": answer_before, "visit": visit_before},
        {"answer": _answer_state(answer), "visit": _visit_state(visit), "note": note,
         "corrected_value": dispute.corrected_value},
    )
    if _visit_state(visit) != visit_before:
        log_change("visit", visit.id, "rescored" if upheld else "status", user.id,
                   visit_before, _visit_state(visit))
    notifications.notify(notifications.DISPUTE_DECIDED, dispute)
    return dispute


def open_disputes() -> list[Dispute]:
    return list(
        db.session.scalars(
            select(Dispute).where(Dispute.status == DISPUTE_OPEN).order_by(Dispute.created_at)
        )
    )


def decided_disputes(limit: int = 20) -> list[Dispute]:
    """The most recently decided disputes, newest first."""
    return list(db.session.scalars(
        select(Dispute).where(Dispute.status != DISPUTE_OPEN)
        .order_by(Dispute.decided_at.desc()).limit(limit)
    ))


# --- corrective actions --------------------------------------------------------------------


def add_action(
    visit: Visit, answer: Answer, action: str, owner: str, due_date: date | None, user: User
) -> CorrectiveAction:
    """A manager records what will be done about a failed item."""
    if not can_follow_up(user, visit):
        raise FollowupError(_("You cannot add actions to this visit."))
    if answer.visit_id != visit.id:
        raise FollowupError(_("This item is not part of the visit."))
    if not answer.failed:
        raise FollowupError(_("Corrective actions are for failed items."))
    row = CorrectiveAction(
        visit=visit, answer=answer, action=action.strip(), owner=owner.strip(),
        due_date=due_date, status=ACTION_OPEN, created_by_id=user.id,
    )
    db.session.add(row)
    db.session.flush()
    log_change("corrective_action", row.id, "create", user.id, None,
               {"answer_id": answer.id, "action": row.action, "owner": row.owner,
                "due_date": due_date.isoformat() if due_date else None})
    return row


def mark_action_done(row: CorrectiveAction, user: User) -> None:
    if not can_follow_up(user, row.visit):
        raise FollowupError(_("You cannot change this action."))
    if row.status != ACTION_OPEN:
        raise FollowupError(_("Only an open action can be marked done."))
    if row.source == SOURCE_AUTO:
        raise FollowupError(_("Record the root cause, what was done and a photo to mark "
                              "this action done."))
    row.status, row.done_at = ACTION_DONE, utcnow()
    log_change("corrective_action", row.id, "done", user.id,
               {"status": ACTION_OPEN}, {"status": ACTION_DONE})


def verify_action(row: CorrectiveAction, user: User, reopen: bool = False) -> None:
    """HQ verifies a done action, or sends it back to open."""
    if row.status != ACTION_DONE:
        raise FollowupError(_("Only an action marked done can be verified or reopened."))
    if reopen:
        row.status, row.done_at = ACTION_OPEN, None
    else:
        row.status, row.verified_at, row.verified_by_id = ACTION_VERIFIED, utcnow(), user.id
    log_change("corrective_action", row.id, "reopen" if reopen else "verify", user.id,
               {"status": ACTION_DONE}, {"status": row.status})


def is_overdue(row: CorrectiveAction, today: date | None = None) -> bool:
    """Due date past and not yet done."""
    today = today or utcnow().date()
    return row.status == ACTION_OPEN and row.due_date is not None and row.due_date < today


def actions_query(store_ids: list[int] | None = None, statuses: tuple[str, ...] | None = None):
    query = (
        select(CorrectiveAction)
        .join(Visit, Visit.id == CorrectiveAction.visit_id)
        .order_by(CorrectiveAction.due_date.is_(None), CorrectiveAction.due_date,
                  CorrectiveAction.id)
    )
    if store_ids is not None:
        query = query.where(Visit.store_id.in_(store_ids))
    if statuses:
        query = query.where(CorrectiveAction.status.in_(statuses))
    return query


def overdue_count(store_ids: list[int] | None = None, today: date | None = None) -> int:
    today = today or utcnow().date()
    query = (
        select(func.count(CorrectiveAction.id))
        .join(Visit, Visit.id == CorrectiveAction.visit_id)
        .where(CorrectiveAction.status == ACTION_OPEN, CorrectiveAction.due_date < today)
    )
    if store_ids is not None:
        query = query.where(Visit.store_id.in_(store_ids))
    return int(db.session.scalar(query) or 0)


# --- acknowledgement -----------------------------------------------------------------------


def acknowledge(visit: Visit, user: User) -> bool:
    """The manager has read the visit's results. Returns False when it already was."""
    visit = visit_states.lock(visit.id)  # the same object, refreshed
    if not can_acknowledge(user, visit):
        raise FollowupError(_("You cannot acknowledge this visit."))
    if visit.acknowledged_at is not None:
        return False
    visit.acknowledged_at, visit.acknowledged_by_id = utcnow(), user.id
    log_change("visit", visit.id, "acknowledge", user.id, None,
               {"acknowledged_at": visit.acknowledged_at.isoformat()})
    return True


@dataclass(frozen=True)
class UnreadStore:
    store_id: int
    code: str
    name: str
    region_name: str
    unread: int
    oldest_release: datetime | None


def unread_by_store() -> list[UnreadStore]:
    """Stores with released mystery visits their manager has not acknowledged, oldest
    release first (one GROUP BY)."""
    oldest = func.min(Visit.released_at)
    query = (
        select(Store.id, Store.code, Store.name, Region.name, func.count(Visit.id), oldest)
        .join(Visit, Visit.store_id == Store.id)
        .join(Region, Region.id == Store.region_id)
        .where(
            Visit.kind == MYSTERY,
            Visit.counted,
            Visit.acknowledged_at.is_(None),
        )
        .group_by(Store.id, Store.code, Store.name, Region.name)
        .order_by(oldest, Store.code)
    )
    out = []
    for sid, code, name, region, n, first in db.session.execute(query):
        if isinstance(first, str):  # SQLite returns aggregates of datetimes as text
            first = datetime.fromisoformat(first)
        out.append(UnreadStore(sid, code, name, region, int(n), first))
    return out
