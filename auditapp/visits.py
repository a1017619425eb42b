"""The visit's life: scoring it from its answers and moving it through its statuses.

Every stored score is written by ``score_and_store``, which calls ``scoring.score_visit``
with the answers and the visit's own questionnaire version.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from flask_babel import gettext

from . import scoring
from .extensions import db
from .models import Answer, AuditLog, Visit, VisitDimensionScore, utcnow

TOKEN_LIFETIME = timedelta(days=45)


def new_access_token() -> str:
    """An unguessable link token (256 bits)."""
    return secrets.token_urlsafe(32)


def to_item_answers(visit: Visit) -> list[tuple[Answer, scoring.ItemAnswer]]:
    """The visit's answers as the scoring engine sees them, in questionnaire order."""
    by_item = {a.item.id if a.item is not None else a.item_id: a for a in visit.answers}
    pairs: list[tuple[Answer, scoring.ItemAnswer]] = []
    for dimension in visit.questionnaire.dimensions:
        for item in dimension.items:
            answer = by_item.get(item.id)
            if answer is None:
                continue
            target = limit = None
            if item.item_type == "timed":
                target, limit = item.target_limit(visit.visit_type)
            pairs.append(
                (
                    answer,
                    scoring.ItemAnswer(
                        dimension=dimension.code,
                        item_type=item.item_type,
                        value=answer.value,
                        na=answer.na or answer.voided,
                        weight=item.weight,
                        critical=item.critical,
                        target=target,
                        limit=limit,
                    ),
                )
            )
    return pairs


def score_and_store(visit: Visit) -> scoring.VisitScore:
    """Compute the visit's scores with the scoring engine and store them on the visit."""
    pairs = to_item_answers(visit)
    result = scoring.score_visit(
        [ia for _, ia in pairs], visit.questionnaire.dimension_weights
    )
    for (answer, _), s in zip(pairs, result.item_scores, strict=True):
        answer.score = s
    visit.score = result.score
    visit.csm = result.csm
    visit.csm_grade = result.csm_grade
    visit.satisfied = result.satisfied
    visit.scored_at = utcnow()
    weights = visit.questionnaire.dimension_weights
    existing = {ds.dimension: ds for ds in visit.dimension_scores}
    for code, s in result.dimensions.items():
        row = existing.pop(code, None)
        if row is None:
            visit.dimension_scores.append(
                VisitDimensionScore(dimension=code, score=s, weight=weights.get(code, 0.0))
            )
        else:
            row.score = s
            row.weight = weights.get(code, 0.0)
    for stale in existing.values():
        visit.dimension_scores.remove(stale)
    return result


def log_change(
    entity: str,
    entity_id: object,
    action: str,
    user_id: int | None,
    before: dict | None = None,
    after: dict | None = None,
) -> None:
    """Add an audit-trail row to the current transaction."""
    db.session.add(
        AuditLog(
            user_id=user_id,
            entity=entity,
            entity_id=str(entity_id),
            action=action,
            before=before,
            after=after,
        )
    )


# --- review: HQ releases a submitted visit or returns it to the evaluator ------------------


class TransitionError(ValueError):
    """A status change that is not allowed from the visit's current status."""


def _review_state(visit: Visit) -> dict:
    return {
        "status": visit.status,
        "released_at": visit.released_at.isoformat() if visit.released_at else None,
        "return_reason": visit.return_reason or "",
    }


def release(visit: Visit, user) -> None:
    """Release a submitted visit: from now on it counts and its store's managers see it."""
    from .models.visit import RELEASED, SUBMITTED

    if visit.status != SUBMITTED:
        raise TransitionError(
            gettext("Only a submitted visit can be released; this one is %(status)s.",
              status=visit.status)
        )
    if visit.score is None:
        raise TransitionError(gettext("This visit has no score yet and cannot be released."))
    before = _review_state(visit)
    visit.status = RELEASED
    visit.released_at = utcnow()
    visit.reviewed_by_id = user.id
    visit.return_reason = ""
    log_change("visit", visit.id, "release", user.id, before, _review_state(visit))


def return_to_evaluator(visit: Visit, user, reason: str) -> None:
    """Send a submitted visit back to its shopper or auditor for correction."""
    from .models.visit import RETURNED, SUBMITTED

    reason = (reason or "").strip()
    if not reason:
        raise TransitionError(gettext("Say why the visit is returned: the reason is required."))
    if visit.status != SUBMITTED:
        raise TransitionError(
            gettext("Only a submitted visit can be returned; this one is %(status)s.",
              status=visit.status)
        )
    before = _review_state(visit)
    visit.status = RETURNED
    visit.return_reason = reason
    visit.reviewed_by_id = user.id
    log_change("visit", visit.id, "return", user.id, before, _review_state(visit))
