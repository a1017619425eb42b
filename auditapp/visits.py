"""The visit's life: scoring it from its answers and moving it through its statuses.

Every stored score comes from ``score_answers``, which calls ``scoring.score_visit`` with
the answers and the visit's own questionnaire version (as a plain ``ScoringForm``). Two
writers store its result: ``save_scored_answers`` with one statement per table (the
submission, ``submission.submit``) and ``score_and_store`` on ORM objects (re-scoring
after an upheld dispute, demo data, tests); ``tests/test_submission_writes.py`` checks
that they store the same figures.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app
from flask_babel import gettext
from sqlalchemy import Table, func, select, update

from . import (
    audit,
    conditions,
    item_types,
    notifications,
    payments,
    scoring,
    settings,
    visit_states,
)
from .extensions import db
from .models import (
    Answer,
    Dimension,
    Item,
    Questionnaire,
    Visit,
    VisitDimensionScore,
    utcnow,
)
from .models.questionnaire import DRAFT
from .models.visit import SUBMITTED
from .visit_states import TransitionError

TOKEN_LIFETIME = timedelta(days=45)


def new_access_token() -> str:
    """An unguessable link token (256 bits)."""
    return secrets.token_urlsafe(32)


@dataclass(frozen=True)
class FormItem:
    """One questionnaire item as plain values: what scoring and validation need."""

    id: int
    dimension: str
    item_type: str
    weight: float
    critical: bool
    allow_na: bool
    timed_targets: dict | None
    code: str = ""
    #: The type's settings (``Item.config``), its condition and its dimension's.
    config: dict | None = None
    condition: dict | None = None
    dim_condition: dict | None = None
    require_comment: bool = False
    require_photo: bool = False

    @property
    def kind(self) -> item_types.ItemType:
        return item_types.of(self)

    def scoring_answer(self, visit_type: str, value: float | None, na: bool
                       ) -> scoring.ItemAnswer:
        """The answer as the scoring engine sees it (each type adds what it needs: a
        timed item its T and L, a choice its points, a number its range)."""
        return self.kind.answer(self, visit_type, value, na, dimension=self.dimension,
                                weight=self.weight, critical=self.critical)

    def condition_spec(self, visit_type: str) -> dict:
        """The item as ``conditions.visible`` (and conditions.js) reads it."""
        return {"code": self.code, "show": self.condition, "dim_show": self.dim_condition,
                "fail": self.kind.fail_rule(self, visit_type)}


@dataclass(frozen=True)
class ScoringForm:
    """A questionnaire version as plain values: its items in questionnaire order and its
    dimension weights (every dimension, in order, also one without items)."""

    id: int
    items: tuple[FormItem, ...]
    dimension_weights: dict[str, float]

    @classmethod
    def of(cls, questionnaire: Questionnaire) -> ScoringForm:
        """From a loaded questionnaire (its dimensions and items)."""
        return cls(
            questionnaire.id,
            tuple(
                FormItem(item.id, d.code, item.item_type, item.weight, item.critical,
                         item.allow_na, item.timed_targets, item.code, item.config,
                         item.condition, d.condition, bool(item.require_comment),
                         bool(item.require_photo))
                for d in questionnaire.dimensions
                for item in d.items
            ),
            questionnaire.dimension_weights,
        )

    def visible_ids(self, visit_type: str, kind: str,
                    answers: Mapping[str, Mapping]) -> set[int]:
        """The ids of the items asked in a visit of this type and kind with these answers
        (item id as text → {"value", "na"}): ``conditions.visible``."""
        by_code = {item.code: answers.get(str(item.id)) or {} for item in self.items}
        shown = conditions.visible([item.condition_spec(visit_type) for item in self.items],
                                   by_code, visit_type, kind)
        return {item.id for item in self.items if item.code in shown}


def load_form(questionnaire_id: int) -> ScoringForm:
    """A questionnaire version's ``ScoringForm`` in one query, without ORM objects (the
    submission path; same order as ``Questionnaire.dimensions`` / ``Dimension.items``).

    Published and retired versions are read-only (only a draft can be edited, see
    ``hq/questionnaires.py``), so their forms are kept for the life of the app (the
    worker process): a submission then needs no query for its questionnaire. Drafts are
    read every time."""
    cache: dict[int, ScoringForm] = current_app.extensions.setdefault("auditapp.forms", {})
    form = cache.get(questionnaire_id)
    if form is not None:
        return form
    rows = db.session.execute(
        select(Questionnaire.status, Dimension.code, Dimension.weight, Item.id,
               Item.item_type, Item.weight, Item.critical, Item.allow_na, Item.timed_targets,
               Item.code, Item.config, Item.condition, Dimension.condition,
               Item.require_comment, Item.require_photo)
        .select_from(Dimension)
        .join(Questionnaire, Questionnaire.id == Dimension.questionnaire_id)
        .outerjoin(Item, Item.dimension_id == Dimension.id)
        .where(Dimension.questionnaire_id == questionnaire_id)
        .order_by(Dimension.position, Dimension.id, Item.position, Item.id)
    ).all()
    weights: dict[str, float] = {}
    items: list[FormItem] = []
    read_only = False
    for (status, code, dim_weight, item_id, item_type, weight, critical, allow_na, targets,
         item_code, config, condition, dim_condition, require_comment, require_photo) in rows:
        read_only = status != DRAFT
        weights[code] = dim_weight
        if item_id is not None:
            items.append(FormItem(item_id, code, item_type, weight, critical, allow_na,
                                  targets, item_code, config, condition, dim_condition,
                                  bool(require_comment), bool(require_photo)))
    form = ScoringForm(questionnaire_id, tuple(items), weights)
    if read_only:
        cache[questionnaire_id] = form
    return form


def score_answers(
    form: ScoringForm, visit_type: str, answers: Mapping[int, tuple[float | None, bool]]
) -> tuple[list[int], scoring.VisitScore]:
    """Score ``answers`` (item id → (value, N/A)) with the scoring engine. Items without
    an answer are left out. Returns the scored item ids, in questionnaire order (the
    order of ``result.item_scores``), and the result."""
    ids: list[int] = []
    item_answers: list[scoring.ItemAnswer] = []
    for item in form.items:
        answer = answers.get(item.id)
        if answer is None:
            continue
        ids.append(item.id)
        item_answers.append(item.scoring_answer(visit_type, *answer))
    return ids, scoring.score_visit(item_answers, form.dimension_weights)


def to_item_answers(visit: Visit) -> list[tuple[Answer, scoring.ItemAnswer]]:
    """The visit's answers as the scoring engine sees them, in questionnaire order."""
    by_item = {a.item.id if a.item is not None else a.item_id: a for a in visit.answers}
    return [
        (by_item[item.id],
         item.scoring_answer(visit.visit_type, by_item[item.id].value,
                             by_item[item.id].na or by_item[item.id].voided))
        for item in ScoringForm.of(visit.questionnaire).items
        if item.id in by_item
    ]


def score_fields(result: scoring.VisitScore) -> dict:
    """A result's visit-level figures as the visit's column values (V, CSM and its grade,
    satisfied, when scored)."""
    return {"score": result.score, "csm": result.csm, "csm_grade": result.csm_grade,
            "satisfied": result.satisfied, "scored_at": utcnow()}


def _insert_rows(table: Table, rows: list[dict]) -> None:
    """INSERT the rows as one multi-row statement. Asking for the primary key back makes
    SQLAlchemy use its "insertmanyvalues" mode (``INSERT … VALUES (…), (…) RETURNING``,
    compiled once) instead of the driver's executemany, which runs one INSERT per row:
    on the end-of-month benchmark that is about 0.5 ms less application CPU and 0.8 ms
    less PostgreSQL CPU per submission."""
    db.session.execute(table.insert().returning(*table.primary_key.columns), rows).close()


def save_scored_answers(
    visit: Visit, form: ScoringForm, answers: Mapping[int, tuple[float | None, bool, str]]
) -> scoring.VisitScore:
    """Score a submission's answers (item id → (value, N/A, comment)) and write them with
    their scores and the visit's dimension scores: the same figures as ``score_and_store``,
    written with one multi-row INSERT per table instead of an ORM object per row (the
    end-of-month submission load). Returns the result; the caller stores its visit-level
    figures (``score_fields``).

    A visit that was scored before (returned for correction, then submitted again) has
    its answers updated in place (they keep their voided flag) and its dimension scores
    replaced; a visit never scored has neither (both are written only with a score)."""
    answer_table, dimension_table = Answer.__table__, VisitDimensionScore.__table__
    existing: dict[int, tuple[int, bool]] = {}
    if visit.scored_at is not None:
        existing = {
            item_id: (answer_id, voided)
            for item_id, answer_id, voided in db.session.execute(
                select(Answer.item_id, Answer.id, Answer.voided)
                .where(Answer.visit_id == visit.id))
        }
        db.session.execute(dimension_table.delete()
                           .where(dimension_table.c.visit_id == visit.id))
        # an item no longer asked (its condition now hides it) keeps no answer
        stale = [answer_id for item_id, (answer_id, _v) in existing.items()
                 if item_id not in answers]
        if stale:
            db.session.execute(answer_table.delete().where(answer_table.c.id.in_(stale)))
    ids, result = score_answers(form, visit.visit_type, {
        item_id: (value, na or existing.get(item_id, (0, False))[1])
        for item_id, (value, na, _comment) in answers.items()
    })
    new_rows: list[dict] = []
    changed_rows: list[dict] = []
    for item_id, s in zip(ids, result.item_scores, strict=True):
        value, na, comment = answers[item_id]
        text = value if isinstance(value, str) else ""
        row = {"value": None if isinstance(value, str) else value, "na": na,
               "comment": comment, "text": text, "score": s}
        if item_id in existing:
            changed_rows.append({"id": existing[item_id][0], **row})
        else:
            new_rows.append({"visit_id": visit.id, "item_id": item_id, "voided": False, **row})
    if new_rows:
        _insert_rows(answer_table, new_rows)
    if changed_rows:
        db.session.execute(update(Answer), changed_rows)  # ORM bulk UPDATE by primary key
    weights = form.dimension_weights
    if result.dimensions:
        _insert_rows(dimension_table, [
            {"visit_id": visit.id, "dimension": code, "score": s,
             "weight": weights.get(code, 0.0)}
            for code, s in result.dimensions.items()
        ])
    return result


def score_and_store(visit: Visit) -> scoring.VisitScore:
    """Compute the visit's scores with the scoring engine and store them on the visit, its
    answers and its dimension scores (ORM objects; the submission path writes the same
    figures with bulk statements, see ``submission.submit``)."""
    form = ScoringForm.of(visit.questionnaire)
    by_item = {a.item.id if a.item is not None else a.item_id: a for a in visit.answers}
    ids, result = score_answers(
        form, visit.visit_type, {i: (a.value, a.na or a.voided) for i, a in by_item.items()})
    for item_id, s in zip(ids, result.item_scores, strict=True):
        by_item[item_id].score = s
    for key, value in score_fields(result).items():
        setattr(visit, key, value)
    weights = form.dimension_weights
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


# --- review: HQ releases a submitted visit or returns it to the evaluator ------------------


def unreviewed_count() -> int:
    """Submitted visits waiting for an HQ reviewer."""
    return db.session.scalar(select(func.count(Visit.id)).where(Visit.status == SUBMITTED)) or 0


def _review_state(visit: Visit) -> dict:
    return {
        "status": visit.status,
        "released_at": visit.released_at.isoformat() if visit.released_at else None,
        "return_reason": visit.return_reason or "",
    }


def local_now(visit: Visit) -> datetime:
    """Now on the wall clock of the visit's store (or competitor), naive."""
    place = visit.store if visit.store is not None else visit.competitor
    try:
        zone = ZoneInfo(place.timezone if place is not None and place.timezone
                        else current_app.config.get("BABEL_DEFAULT_TIMEZONE", "UTC"))
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return utcnow().replace(tzinfo=UTC).astimezone(zone).replace(tzinfo=None)


def earliest_release(visit: Visit) -> datetime | None:
    """The first moment (store time) the visit may reach its store: its visit date and
    arrival time plus HQ's minimum delay (``privacy.release_delay_hours``), so the store
    cannot tie the report to the customer it just served. None without a delay."""
    hours = settings.get_setting("privacy")["release_delay_hours"]
    if not hours or visit.visit_date is None:
        return None
    return datetime.combine(visit.visit_date, visit.arrival_time or time()) \
        + timedelta(hours=hours)


def release(visit: Visit, user) -> None:
    """Release a submitted visit: from now on it counts and its store's managers see it.
    Refused (TransitionError) before ``earliest_release``."""
    visit = visit_states.lock(visit.id)  # the same object, refreshed
    status = visit_states.move(visit, visit_states.RELEASE)
    if visit.score is None:
        raise TransitionError(gettext("This visit has no score yet and cannot be released."))
    not_before = earliest_release(visit)
    if not_before is not None and local_now(visit) < not_before:
        raise TransitionError(gettext(
            "This visit can be released from %(when)s (store time): a minimum delay after "
            "the visit keeps the shopper anonymous.",
            when=not_before.strftime("%Y-%m-%d %H:%M")))
    before = _review_state(visit)
    visit.status = status
    visit.released_at = utcnow()
    visit.reviewed_by_id = user.id
    visit.return_reason = ""
    audit.log_change("visit", visit.id, "release", user.id, before, _review_state(visit))
    from . import corrective  # (it imports followup, which imports this module)

    corrective.on_release(visit)  # automatic corrective actions (issue #17 item 6)
    payments.on_release(visit, user.id)
    notifications.notify(notifications.VISIT_RELEASED, visit)


def return_to_evaluator(visit: Visit, user, reason: str) -> None:
    """Send a submitted visit back to its shopper or auditor for correction."""
    reason = (reason or "").strip()
    if not reason:
        raise TransitionError(gettext("Say why the visit is returned: the reason is required."))
    visit = visit_states.lock(visit.id)  # the same object, refreshed
    status = visit_states.move(visit, visit_states.RETURN)
    before = _review_state(visit)
    visit.status = status
    visit.return_reason = reason
    visit.reviewed_by_id = user.id
    audit.log_change("visit", visit.id, "return", user.id, before, _review_state(visit))
    notifications.notify(notifications.VISIT_RETURNED, visit)


def reject(visit: Visit, user, reason: str) -> None:
    """Reject a submitted visit: it never counts and never reaches the store, but is kept
    for the record; its evaluator sees the reason on their assignment page."""
    reason = (reason or "").strip()
    if not reason:
        raise TransitionError(gettext("Say why the visit is rejected: the reason is required."))
    visit = visit_states.lock(visit.id)  # the same object, refreshed
    status = visit_states.move(visit, visit_states.REJECT)
    before = _review_state(visit)
    visit.status = status
    visit.return_reason = reason
    visit.reviewed_by_id = user.id
    audit.log_change("visit", visit.id, "reject", user.id, before, _review_state(visit))
    notifications.notify(notifications.VISIT_REJECTED, visit)


#: The visit's texts HQ may correct before release (besides the item comments).
CORRECTABLE_FACTS = ("order_description", "overall_comment")


def correct_text(visit: Visit, user, field: str, text: str) -> None:
    """Before release, HQ corrects a typo in (or redacts words from) a text of the visit:
    ``field`` is a fact of ``CORRECTABLE_FACTS`` or ``comment-<answer id>``. The audit
    trail keeps the text before and after."""
    visit = visit_states.lock(visit.id)
    visit_states.move(visit, visit_states.CORRECT)
    if field in CORRECTABLE_FACTS:
        before = getattr(visit, field) or ""
        setattr(visit, field, text)
        audit.log_change("visit", visit.id, "correct", user.id, {field: before}, {field: text})
        return
    answer = _answer_of(visit, field.removeprefix("comment-"))
    before = answer.comment or ""
    answer.comment = text
    audit.log_change("answer", answer.id, "correct", user.id, {"comment": before},
                     {"comment": text, "visit_id": visit.id})


def void_item(visit: Visit, user, answer_id: str) -> None:
    """Before release, HQ voids an item (e.g. the shopper could not judge it): it is then
    scored as N/A and the visit re-scored."""
    visit = visit_states.lock(visit.id)
    visit_states.move(visit, visit_states.CORRECT)
    answer = _answer_of(visit, answer_id)
    if answer.voided:
        return
    before = {"voided": False, "score": answer.score, "visit_score": visit.score}
    answer.voided = True
    score_and_store(visit)
    audit.log_change("answer", answer.id, "void", user.id, before,
                     {"voided": True, "score": answer.score, "visit_score": visit.score,
                      "visit_id": visit.id})


def _answer_of(visit: Visit, answer_id: str) -> Answer:
    answer = next((a for a in visit.answers if str(a.id) == str(answer_id)), None)
    if answer is None:
        raise TransitionError(gettext("This item is not part of the visit."))
    return answer
