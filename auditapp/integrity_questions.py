"""Integrity questions (issue #20): questions HQ attaches to a questionnaire (by its code)
whose correct answer HQ records per store and month (the promotion on the counter, the
badge colour). The shopper answers them on the form; they are never scored into the visit
(their own table, not questionnaire items) but into the shopper's accuracy (profile), and
a wrong answer raises the ``integrity_answer`` flag on the visit (``integrity.py``'s risk
score). HQ only: no store-side page reads these tables. Services never commit.
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from sqlalchemy import delete, select

from .audit import log_change
from .extensions import db
from .models import IntegrityAnswer, IntegrityQuestion, IntegrityTruth, Visit, VisitFlag

FLAG_CODE = "integrity_answer"


class IntegrityQuestionError(ValueError):
    """A change the rules refuse; the message says why."""


def questions(code: str) -> list[IntegrityQuestion]:
    return list(db.session.scalars(
        select(IntegrityQuestion).where(IntegrityQuestion.questionnaire_code == code,
                                        IntegrityQuestion.active.is_(True))
        .order_by(IntegrityQuestion.position, IntegrityQuestion.id)))


def all_active() -> list[IntegrityQuestion]:
    return list(db.session.scalars(
        select(IntegrityQuestion).where(IntegrityQuestion.active.is_(True))
        .order_by(IntegrityQuestion.questionnaire_code, IntegrityQuestion.position,
                  IntegrityQuestion.id)))


def add_question(code: str, text: str, options: list[str], actor_id: int | None
                 ) -> IntegrityQuestion:
    text = (text or "").strip()
    if not text:
        raise IntegrityQuestionError(_("Write the question."))
    q = IntegrityQuestion(questionnaire_code=code, text=text, options=options, active=True,
                          position=len(questions(code)))
    db.session.add(q)
    db.session.flush()
    log_change("integrity_question", q.id, "create", actor_id, None,
               {"code": code, "text": text, "options": options})
    return q


def deactivate(code: str, question_id: int, actor_id: int | None) -> None:
    """Stop asking a question (its answers and truths are kept for the record)."""
    q = db.session.get(IntegrityQuestion, question_id)
    if q is None or q.questionnaire_code != code:
        raise IntegrityQuestionError(_("No such question."))
    q.active = False
    log_change("integrity_question", q.id, "deactivate", actor_id, {"active": True},
               {"active": False})


def truths(month: str) -> dict[tuple[int, int], int]:
    """(question id, store id) → correct option for ``month``."""
    return {(t.question_id, t.store_id): t.correct for t in db.session.scalars(
        select(IntegrityTruth).where(IntegrityTruth.month == month))}


def record_truths(month: str, answers: dict[tuple[int, int], int | None],
                  actor_id: int | None) -> int:
    """Record (or clear, with None) the correct option per question and store for
    ``month``; the answers already given are marked again. Returns how many changed."""
    have = truths(month)
    known = {q.id: q for q in all_active()}
    changed = 0
    for (qid, sid), correct in answers.items():
        q = known.get(qid)
        if q is None:
            raise IntegrityQuestionError(_("No such question."))
        if correct is not None and not 0 <= correct < len(q.options):
            raise IntegrityQuestionError(_("Pick one of the question's options."))
        if have.get((qid, sid)) == correct:
            continue
        db.session.execute(delete(IntegrityTruth).where(
            IntegrityTruth.question_id == qid, IntegrityTruth.store_id == sid,
            IntegrityTruth.month == month))
        if correct is not None:
            db.session.add(IntegrityTruth(question_id=qid, store_id=sid, month=month,
                                          correct=correct))
        log_change("integrity_truth", f"{qid}:{sid}:{month}", "record", actor_id,
                   {"correct": have.get((qid, sid))}, {"correct": correct})
        changed += 1
        _remark(qid, sid, month, correct)
    return changed


def _remark(qid: int, store_id: int, month: str, correct: int | None) -> None:
    visit_ids = select(Visit.id).where(Visit.store_id == store_id, Visit.month == month)
    rows = list(db.session.scalars(select(IntegrityAnswer).where(
        IntegrityAnswer.question_id == qid, IntegrityAnswer.visit_id.in_(visit_ids))))
    for a in rows:
        a.correct = None if correct is None else a.answer == correct
    db.session.flush()
    for visit_id in {a.visit_id for a in rows}:
        _flag(visit_id)


def record_answers(visit: Visit, payload: dict[str, Any]) -> list[IntegrityAnswer]:
    """At submission: keep the shopper's answers to the questionnaire's integrity
    questions (``payload["integrity"]``: question id → option index), mark them against
    the truth for the store and month if HQ recorded it, and flag a wrong one."""
    if visit.store_id is None:
        return []
    asked = {q.id: q for q in questions(visit.questionnaire.code)}
    if not asked:
        return []
    raw = payload.get("integrity") or {}
    if not isinstance(raw, dict):
        raw = {}
    db.session.execute(delete(IntegrityAnswer).where(IntegrityAnswer.visit_id == visit.id))
    known = truths(visit.month)
    rows = []
    for key, value in raw.items():
        try:
            qid, answer = int(key), int(value)
        except (TypeError, ValueError):
            continue
        q = asked.get(qid)
        if q is None or not 0 <= answer < len(q.options):
            continue
        truth = known.get((qid, visit.store_id))
        rows.append(IntegrityAnswer(visit_id=visit.id, question_id=qid, answer=answer,
                                    correct=None if truth is None else truth == answer))
    db.session.add_all(rows)
    db.session.flush()
    _flag(visit.id)
    return rows


def _flag(visit_id: int) -> None:
    """The visit's ``integrity_answer`` flag follows its wrong answers."""
    db.session.execute(delete(VisitFlag).where(VisitFlag.visit_id == visit_id,
                                               VisitFlag.code == FLAG_CODE))
    wrong = list(db.session.scalars(
        select(IntegrityQuestion.text).join(
            IntegrityAnswer, IntegrityAnswer.question_id == IntegrityQuestion.id)
        .where(IntegrityAnswer.visit_id == visit_id, IntegrityAnswer.correct.is_(False))))
    if wrong:
        db.session.add(VisitFlag(visit_id=visit_id, code=FLAG_CODE,
                                 detail={"n": len(wrong), "questions": wrong[:5]}))


def answers_of(visit_id: int) -> list[tuple[IntegrityQuestion, IntegrityAnswer]]:
    return [(q, a) for q, a in db.session.execute(
        select(IntegrityQuestion, IntegrityAnswer)
        .join(IntegrityAnswer, IntegrityAnswer.question_id == IntegrityQuestion.id)
        .where(IntegrityAnswer.visit_id == visit_id).order_by(IntegrityQuestion.position))]
