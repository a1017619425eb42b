"""QA audits: HQ's own visits with the latest published QA questionnaire, for a store the
auditor chooses (filled with the same form engine as a mystery shop). Not anonymous.
Nothing here commits (see ``auditapp/__init__.py``)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from .audit import log_change
from .extensions import db
from .models import Questionnaire, Store, Visit, utcnow
from .models.questionnaire import KIND_QA, PUBLISHED
from .models.visit import IN_PROGRESS, QA

#: Starting the same QA audit again within this time opens the one just started.
DOUBLE_TAP = timedelta(minutes=2)


def latest_qa_questionnaire() -> Questionnaire | None:
    return db.session.scalar(
        select(Questionnaire)
        .where(Questionnaire.kind == KIND_QA, Questionnaire.status == PUBLISHED)
        .order_by(Questionnaire.published_at.desc(), Questionnaire.version.desc())
        .limit(1)
    )


def start_audit(store: Store, visit_type: str, questionnaire: Questionnaire,
                user_id: int) -> int:
    """Start a QA audit of ``store`` by ``user_id``; returns the visit id. A double tap
    (or a resent form) gets the audit the first tap started for this store and visit type
    a moment ago (``DOUBLE_TAP``) instead of a second one."""
    now = utcnow()
    just_started = db.session.scalar(
        select(Visit.id).where(
            Visit.kind == QA, Visit.evaluator_id == user_id,
            Visit.store_id == store.id, Visit.visit_type == visit_type,
            Visit.status == IN_PROGRESS, Visit.created_at >= now - DOUBLE_TAP)
        .order_by(Visit.id.desc()).limit(1))
    if just_started is not None:
        return just_started
    visit = Visit(kind=QA, store=store, evaluator_id=user_id,
                  questionnaire=questionnaire, month=f"{now:%Y-%m}",
                  visit_type=visit_type, status=IN_PROGRESS,
                  started_at=now, visit_date=now.date())
    db.session.add(visit)
    db.session.flush()
    log_change("visit", visit.id, "create_qa", user_id, None,
               {"status": IN_PROGRESS, "store_id": store.id})
    return visit.id


def audits_of(user_id: int) -> list[Visit]:
    """The QA audits ``user_id`` made, newest first."""
    return list(db.session.scalars(
        select(Visit).where(Visit.kind == QA, Visit.evaluator_id == user_id)
        .order_by(Visit.created_at.desc(), Visit.id.desc())
    ))
