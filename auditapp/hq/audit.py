"""HQ: the audit trail — who changed what, when, from what to what — filterable by entity
(visit, dispute, questionnaire, setting, …) and entity id."""

from __future__ import annotations

import json

from flask import render_template
from sqlalchemy import select
from sqlalchemy.orm import aliased

from .. import params
from ..extensions import db
from ..models import HQ_ADMIN, AuditLog, User
from ..security import roles_required
from . import bp

PER_PAGE = 50


def _compact(value: dict | None) -> str:
    if not value:
        return ""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


@bp.route("/audit")
@roles_required(HQ_ADMIN)
def audit_log():
    entity = params.text("entity")[:40]
    entity_id = params.text("entity_id")[:40]
    action = params.text("action")[:40]
    author = aliased(User)
    q = (select(AuditLog, author.name, author.username)
         .outerjoin(author, author.id == AuditLog.user_id)
         .order_by(AuditLog.at.desc(), AuditLog.id.desc()))
    if entity:
        q = q.where(AuditLog.entity == entity)
    if entity_id:
        q = q.where(AuditLog.entity_id == entity_id)
    if action:
        q = q.where(AuditLog.action == action)
    page = params.page()
    rows = db.session.execute(q.limit(PER_PAGE + 1).offset((page - 1) * PER_PAGE)).all()
    entities = db.session.scalars(
        select(AuditLog.entity).distinct().order_by(AuditLog.entity)).all()
    return render_template(
        "hq/audit.html",
        rows=rows[:PER_PAGE], has_next=len(rows) > PER_PAGE, page=page, entities=entities,
        entity=entity, entity_id=entity_id, action=action, compact=_compact,
    )
