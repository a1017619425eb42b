"""HQ: the audit trail — who changed what, when, from what to what — filterable by entity
(visit, dispute, questionnaire, setting, …) and entity id."""

from __future__ import annotations

import json

from flask import render_template, request
from sqlalchemy import select
from sqlalchemy.orm import aliased

from ..extensions import db
from ..models import AuditLog, User
from ..permissions import Cap, requires
from . import bp

PER_PAGE = 50


def _compact(value: dict | None) -> str:
    if not value:
        return ""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


@bp.route("/audit")
@requires(Cap.VIEW_AUDIT_TRAIL)
def audit_log():
    entity = (request.args.get("entity") or "").strip()[:40]
    entity_id = (request.args.get("entity_id") or "").strip()[:40]
    action = (request.args.get("action") or "").strip()[:40]
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
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    rows = db.session.execute(q.limit(PER_PAGE + 1).offset((page - 1) * PER_PAGE)).all()
    entities = db.session.scalars(
        select(AuditLog.entity).distinct().order_by(AuditLog.entity)).all()
    return render_template(
        "hq/audit.html",
        rows=rows[:PER_PAGE], has_next=len(rows) > PER_PAGE, page=page, entities=entities,
        entity=entity, entity_id=entity_id, action=action, compact=_compact,
    )
