"""Automatic corrective actions (issue #17 item 6).

At a visit's release (``visits.release`` calls ``on_release``):

1. the store's earlier actions about an item this visit answers (same item code) are
   followed up: the item passed → the action is closed as **confirmed**; it failed again →
   the action is **reopened** (``reopened`` counts how often). An action about a dimension
   below HQ's threshold is followed up the same way by the visit's dimension score;
2. every failed critical item (SCORING.md §8, ``scoring.is_failed`` through
   ``Answer.failed``) opens an action for the store, due ``due_days`` after the release,
   carrying the item's evidence (the answer, its comment and photos) — unless step 1 just
   reopened one for the same item;
3. optionally (HQ sets ``dimension_threshold``), every dimension scored below it opens one.

Everything is idempotent: a release seen again (e.g. after a dispute) creates nothing twice
and follows nothing up twice. The manager records the root cause, what was done and an
evidence photo (``storage.py`` through ``followup.save_evidence``) to mark an automatic
action done; HQ verifies it (``followup.verify_action``). Reminders and escalation of due
and overdue actions are ``notifications.py``'s business, not this module's.

Services change the session and never commit.
"""

from __future__ import annotations

from datetime import timedelta

from flask_babel import gettext as _
from sqlalchemy import select

from . import scoring
from .audit import log_change
from .extensions import db
from .followup import FollowupError, save_evidence
from .models import Answer, CorrectiveAction, User, Visit, utcnow
from .models.followup import (
    ACTION_CONFIRMED,
    ACTION_DONE,
    ACTION_OPEN,
    SOURCE_AUTO,
    SOURCE_MANUAL,
)
from .permissions import can_follow_up
from .settings import get_setting, save_setting

SETTING_KEY = "corrective_actions"
DEFAULTS = {"auto": True, "due_days": 14, "dimension_threshold": None}


def config(month: object = None) -> dict:
    """The automatic-action settings in force for ``month`` (effective-dated)."""
    value = {**DEFAULTS, **get_setting(SETTING_KEY, month)}
    try:
        value["due_days"] = max(1, int(value["due_days"]))
    except (TypeError, ValueError):
        value["due_days"] = DEFAULTS["due_days"]
    threshold = value.get("dimension_threshold")
    try:
        value["dimension_threshold"] = None if threshold in (None, "") else float(threshold)
    except (TypeError, ValueError):
        value["dimension_threshold"] = None
    value["auto"] = bool(value.get("auto"))
    return value


def save_config(auto: bool, due_days: object, threshold: object, user_id: int | None,
                effective_from: str | None = None) -> None:
    try:
        days = int(str(due_days).strip())
    except (TypeError, ValueError):
        days = 0
    if not 1 <= days <= 365:
        raise FollowupError(_("Enter the days until an action is due, from 1 to 365."),
                            "due_days")
    text = str(threshold if threshold is not None else "").strip()
    try:
        limit = float(text) if text else None
    except ValueError:
        limit = -1.0
    if limit is not None and not 0 < limit <= 100:
        raise FollowupError(_("The dimension threshold must be a score above 0 and at most "
                              "100, or empty for none."), "dimension_threshold")
    save_setting(SETTING_KEY, {"auto": bool(auto), "due_days": days,
                               "dimension_threshold": limit}, user_id, effective_from)


def _earlier(visit: Visit, row_visit: Visit) -> bool:
    """``row_visit`` took place before ``visit`` (by date, then id)."""
    return ((row_visit.visit_date, row_visit.id) < (visit.visit_date, visit.id)
            if row_visit.visit_date and visit.visit_date else row_visit.id < visit.id)


def _follow_up(row: CorrectiveAction, visit: Visit, passed: bool, due_days: int) -> None:
    """Confirm the action, or reopen it with a fresh due date (from this release)."""
    before = {"status": row.status, "followup_visit_id": row.followup_visit_id,
              "due_date": row.due_date.isoformat() if row.due_date else None}
    row.followup_visit_id = visit.id
    if passed:
        row.status, row.closed_at = ACTION_CONFIRMED, utcnow()
    else:
        row.status, row.done_at, row.closed_at = ACTION_OPEN, None, None
        row.reopened = (row.reopened or 0) + 1
        row.due_date = (visit.released_at or utcnow()).date() + timedelta(days=due_days)
    log_change("corrective_action", row.id, "confirm" if passed else "reopen_failed_again",
               None, before, {"status": row.status, "followup_visit_id": visit.id,
                              "due_date": row.due_date.isoformat() if row.due_date else None})


def on_release(visit: Visit) -> list[CorrectiveAction]:
    """Follow up the store's earlier actions and open the new ones (see the module);
    returns the actions opened."""
    if visit.store_id is None:
        return []
    cfg = config(visit.month)
    answers_by_code = {a.item.code: a for a in visit.answers
                       if not a.na and not a.voided and a.value is not None}
    dimension_scores = {d.dimension: d.score for d in visit.dimension_scores
                        if d.score is not None}
    threshold = cfg["dimension_threshold"]
    # 1. follow up what this visit answers again
    reopened_codes: set[str] = set()
    reopened_dims: set[str] = set()
    earlier = db.session.scalars(
        select(CorrectiveAction).join(Visit, Visit.id == CorrectiveAction.visit_id)
        .where(Visit.store_id == visit.store_id, CorrectiveAction.visit_id != visit.id,
               CorrectiveAction.status != ACTION_CONFIRMED,
               CorrectiveAction.source.in_((SOURCE_AUTO, SOURCE_MANUAL)))
        .order_by(CorrectiveAction.id))
    for row in earlier:
        if row.followup_visit_id == visit.id or not _earlier(visit, row.visit):
            continue
        if row.answer_id is not None:
            code = row.answer.item.code
            again = answers_by_code.get(code)
            if again is None:
                continue
            failed = again.failed
            _follow_up(row, visit, not failed, cfg["due_days"])
            if failed:
                reopened_codes.add(code)
        elif row.dimension and threshold is not None and row.dimension in dimension_scores:
            below = not scoring.at_least(dimension_scores[row.dimension], threshold)
            _follow_up(row, visit, not below, cfg["due_days"])
            if below:
                reopened_dims.add(row.dimension)
    if not cfg["auto"]:
        return []
    # 2. and 3. open what this visit failed (once per visit and item or dimension)
    existing = db.session.execute(
        select(CorrectiveAction.answer_id, CorrectiveAction.dimension)
        .where(CorrectiveAction.visit_id == visit.id, CorrectiveAction.source == SOURCE_AUTO)
    ).all()
    have_answers = {a for a, _d in existing if a is not None}
    have_dims = {d for _a, d in existing if d is not None}
    due = (visit.released_at or utcnow()).date() + timedelta(days=cfg["due_days"])
    opened = []
    for answer in visit.answers:
        if (answer.item.critical and answer.failed and answer.id not in have_answers
                and answer.item.code not in reopened_codes):
            opened.append(_open(visit, due, answer=answer,
                                text=f"{answer.item.code}: {answer.item.text}"))
    if threshold is not None:
        for code, score in sorted(dimension_scores.items()):
            if (not scoring.at_least(score, threshold) and code not in have_dims
                    and code not in reopened_dims):
                opened.append(_open(visit, due, dimension=code, text=code))
    return opened


def _open(visit: Visit, due, *, text: str, answer: Answer | None = None,
          dimension: str | None = None) -> CorrectiveAction:
    row = CorrectiveAction(visit=visit, answer=answer, dimension=dimension, action=text,
                           owner="", due_date=due, status=ACTION_OPEN, source=SOURCE_AUTO,
                           root_cause="", done_note="", reopened=0)
    db.session.add(row)
    db.session.flush()
    log_change("corrective_action", row.id, "auto_open", None, None,
               {"visit_id": visit.id, "answer_id": answer.id if answer else None,
                "dimension": dimension, "due_date": due.isoformat()})
    return row


def complete(row: CorrectiveAction, user: User, root_cause: str, done_note: str,
             evidence: bytes | None) -> None:
    """The manager marks an automatic action done: root cause, what was done and an
    evidence photo are all required."""
    if not can_follow_up(user, row.visit):
        raise FollowupError(_("You cannot change this action."))
    if row.status != ACTION_OPEN:
        raise FollowupError(_("Only an open action can be marked done."))
    root_cause, done_note = (root_cause or "").strip(), (done_note or "").strip()
    if len(root_cause) < 5:
        raise FollowupError(_("Describe the root cause in at least 5 characters."),
                            "root_cause")
    if len(done_note) < 5:
        raise FollowupError(_("Describe what was done in at least 5 characters."),
                            "done_note")
    if not evidence:
        raise FollowupError(_("Add a photo that shows what was done."), "evidence")
    key = save_evidence(evidence)
    row.root_cause, row.done_note, row.evidence_key = root_cause, done_note, key
    row.status, row.done_at = ACTION_DONE, utcnow()
    log_change("corrective_action", row.id, "done", user.id, {"status": ACTION_OPEN},
               {"status": ACTION_DONE, "root_cause": root_cause, "done_note": done_note,
                "evidence": key})


def item_evidence(row: CorrectiveAction) -> dict:
    """What the failed item showed: the answer's value and comment, and the visit's photos
    of that item (ids)."""
    if row.answer is None:
        return {}
    return {"answer": row.answer, "comment": row.answer.comment,
            "photos": [p for p in row.visit.photos if p.item_id == row.answer.item_id]}
